//! Tenants: organisations (a housing co-operative, a company, a charge point
//! operator) and their sites (a car park, a building), with the values they
//! are made of, each parsed once at the edge.
//!
//! Every `parse` answers what is wrong without naming the field (the caller
//! knows it: the API prefixes `organisationNumber: …`), and normalises what
//! has more than one spelling (an organisation number with or without its
//! hyphen, an IBAN with spaces, a VAT number in lower case).

use crate::billing::dunning::DunningSettings;
use crate::billing::settlement::PayoutTerms;
use crate::spot::BiddingZone;
use crate::{OrgId, SiteId, Timestamp};
use chrono_tz::Tz;
use std::fmt;

/// Why a value was refused, without the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid<T>(why: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(why.into()))
}

/// A trimmed text of 1..=`max` characters without control characters.
pub fn text(s: &str, max: usize) -> Result<String, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return invalid("must not be empty");
    }
    if s.chars().count() > max {
        return invalid(format!("at most {max} characters"));
    }
    if s.chars().any(char::is_control) {
        return invalid("must not contain control characters");
    }
    Ok(s.to_owned())
}

/// The Luhn (mod 10) check over ASCII digits, the check digit last.
fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// A Swedish organisationsnummer (or a sole trader's personnummer):
    /// ten digits, the last a Luhn check digit, kept as `NNNNNN-NNNN`.
    OrganisationNumber
);

impl OrganisationNumber {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let digits: String = match s.split_once('-') {
            Some((a, b)) if a.len() == 6 && b.len() == 4 => format!("{a}{b}"),
            Some(_) => return invalid("ten digits as NNNNNN-NNNN (or without the hyphen)"),
            None => s.to_owned(),
        };
        if digits.len() != 10 || !all_digits(&digits) {
            return invalid("ten digits as NNNNNN-NNNN (or without the hyphen)");
        }
        if !luhn_ok(&digits) {
            return invalid("check digit is wrong");
        }
        Ok(Self(format!("{}-{}", &digits[..6], &digits[6..])))
    }
}

text_value!(
    /// An EU VAT registration number: a two-letter country prefix and 2 to
    /// 12 letters or digits, kept in upper case without spaces. A Swedish
    /// one is `SE`, an organisation number's ten digits (Luhn-checked) and
    /// `01`.
    VatNumber
);

impl VatNumber {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let v: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let format = "a two-letter country prefix and 2 to 12 letters or digits";
        if v.len() < 4 || !v.is_ascii() {
            return invalid(format);
        }
        let (country, rest) = v.split_at(2);
        if !country.bytes().all(|b| b.is_ascii_uppercase())
            || rest.len() > 12
            || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return invalid(format);
        }
        if country == "SE" {
            if rest.len() != 12 || !all_digits(rest) || !rest.ends_with("01") {
                return invalid("a Swedish VAT number is SE, ten digits and 01");
            }
            if !luhn_ok(&rest[..10]) {
                return invalid("check digit is wrong");
            }
        }
        Ok(Self(v))
    }
}

text_value!(
    /// An e-mail address: one `@`, a local part of 1 to 64 characters
    /// without spaces, a domain of dot-separated labels (letters, digits,
    /// hyphens) with at least one dot; at most 254 characters. The domain
    /// is kept in lower case.
    Email
);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let bad = || invalid("an e-mail address like name@example.com");
        if s.len() > 254 {
            return invalid("at most 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad();
        };
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
        {
            return bad();
        }
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        {
            return bad();
        }
        Ok(Self(format!("{local}@{domain}")))
    }
}

/// ISO 3166-1 alpha-2 codes officially assigned.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

text_value!(
    /// An ISO 3166-1 alpha-2 country code, kept in upper case.
    Country
);

impl Country {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let c = s.trim().to_ascii_uppercase();
        if c.len() == 2 && c.is_ascii() && COUNTRIES.split(' ').any(|k| k == c) {
            Ok(Self(c))
        } else {
            invalid("an ISO 3166-1 alpha-2 country code, e.g. SE")
        }
    }

    pub fn sweden() -> Self {
        Self("SE".into())
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub street: String,
    /// For Sweden five digits kept as `NNN NN`; elsewhere 1 to 16 letters,
    /// digits, spaces or hyphens.
    pub postal_code: String,
    pub city: String,
    pub country: Country,
}

impl Address {
    /// Which part is wrong is the error's first element: `street`,
    /// `postalCode`, `city` or `country`.
    pub fn parse(
        street: &str,
        postal_code: &str,
        city: &str,
        country: &str,
    ) -> Result<Self, (&'static str, Invalid)> {
        let country = Country::parse(country).map_err(|e| ("country", e))?;
        let street = text(street, 200).map_err(|e| ("street", e))?;
        let city = text(city, 100).map_err(|e| ("city", e))?;
        let postal_code = postal_code_of(&country, postal_code).map_err(|e| ("postalCode", e))?;
        Ok(Address {
            street,
            postal_code,
            city,
            country,
        })
    }
}

fn postal_code_of(country: &Country, s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if country.as_str() == "SE" {
        let digits: String = s.chars().filter(|c| *c != ' ').collect();
        if digits.len() != 5 || !all_digits(&digits) {
            return invalid("a Swedish postal code is five digits, e.g. 123 45");
        }
        return Ok(format!("{} {}", &digits[..3], &digits[3..]));
    }
    if s.is_empty()
        || s.len() > 16
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
    {
        return invalid("1 to 16 letters, digits, spaces or hyphens");
    }
    Ok(s.to_ascii_uppercase())
}

text_value!(
    /// A Swedish Bankgiro number: seven or eight digits, the last a Luhn
    /// check digit, kept as `NNN-NNNN` or `NNNN-NNNN`.
    Bankgiro
);

impl Bankgiro {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let digits: String = s.trim().chars().filter(|c| *c != '-').collect();
        if !(7..=8).contains(&digits.len()) || !all_digits(&digits) {
            return invalid("seven or eight digits as NNN-NNNN or NNNN-NNNN");
        }
        if !luhn_ok(&digits) {
            return invalid("check digit is wrong");
        }
        let split = digits.len() - 4;
        Ok(Self(format!("{}-{}", &digits[..split], &digits[split..])))
    }
}

text_value!(
    /// An IBAN: country code, two check digits and up to 30 letters or
    /// digits (15 to 34 in all), mod-97 checked, kept in upper case without
    /// spaces.
    Iban
);

impl Iban {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let v: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if !(15..=34).contains(&v.len())
            || !v.is_ascii()
            || !v[..2].bytes().all(|b| b.is_ascii_uppercase())
            || !v[2..4].bytes().all(|b| b.is_ascii_digit())
            || !v.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return invalid("an IBAN: country code, check digits and account, 15 to 34 characters");
        }
        let rearranged = v[4..].bytes().chain(v[..4].bytes());
        let mut rem: u32 = 0;
        for b in rearranged {
            let n = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                u32::from(b - b'A') + 10
            };
            rem = if n >= 10 {
                (rem * 100 + n) % 97
            } else {
                (rem * 10 + n) % 97
            };
        }
        if rem != 1 {
            return invalid("check digits are wrong");
        }
        Ok(Self(v))
    }
}

text_value!(
    /// A BIC (SWIFT code): 4 letters (bank), 2 letters (country), 2 letters
    /// or digits (location) and optionally 3 more (branch); upper case.
    Bic
);

impl Bic {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let v = s.trim().to_ascii_uppercase();
        let ok = (v.len() == 8 || v.len() == 11)
            && v.is_ascii()
            && v[..6].bytes().all(|b| b.is_ascii_uppercase())
            && v[6..].bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(v))
        } else {
            invalid("a BIC of 8 or 11 characters, e.g. ESSESESS")
        }
    }
}

/// Where an organisation's payouts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutAccount {
    Bankgiro(Bankgiro),
    Iban { iban: Iban, bic: Option<Bic> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgKind {
    /// A housing co-operative (bostadsrättsförening).
    Brf,
    Company,
    /// A charge point operator.
    Cpo,
}

impl OrgKind {
    pub const ALL: [OrgKind; 3] = [OrgKind::Brf, OrgKind::Company, OrgKind::Cpo];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Brf => "brf",
            OrgKind::Company => "company",
            OrgKind::Cpo => "cpo",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid("one of brf, company, cpo".into()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Sv,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Sv, Language::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Sv => "sv",
            Language::En => "en",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| Invalid("one of sv, en".into()))
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Organisation {
    pub id: OrgId,
    pub kind: OrgKind,
    pub legal_name: String,
    /// `None` only on the placeholder of the default organisation made at
    /// upgrade ([`Organisation::default_placeholder`]); the API asks for it
    /// when an organisation is created.
    pub organisation_number: Option<OrganisationNumber>,
    pub vat_number: Option<VatNumber>,
    /// `None` only on the default organisation's placeholder, like the number.
    pub address: Option<Address>,
    /// `None` only on the default organisation's placeholder, like the number.
    pub contact_email: Option<Email>,
    pub language: Language,
    pub payout_account: Option<PayoutAccount>,
    /// Days from an invoice's date to its due date; `None`: the platform's
    /// default ([`PaymentTerms::DEFAULT`]).
    pub payment_terms: Option<PaymentTerms>,
    /// Reminders, their fee and the block of unpaid invoices; `None`: the
    /// defaults ([`DunningSettings::default`]).
    pub dunning: Option<DunningSettings>,
    /// The day of the month its previous month is invoiced on by itself;
    /// `None`: the 1st ([`InvoiceRunDay::DEFAULT`]).
    pub invoice_run_day: Option<InvoiceRunDay>,
    /// The platform's payout contract (settlement day and fee); `None`:
    /// the defaults ([`PayoutTerms::default`]). Set by platform admins only.
    pub payout_terms: Option<PayoutTerms>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// 1 when created, one more at each update.
    pub version: u64,
}

/// The payment terms of an organisation's invoices: days from the invoice
/// date to the due date, 1 to 365.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentTerms(u16);

impl PaymentTerms {
    pub const DEFAULT: PaymentTerms = PaymentTerms(30);

    pub fn new(days: i64) -> Result<Self, Invalid> {
        u16::try_from(days)
            .ok()
            .filter(|d| (1..=365).contains(d))
            .map(PaymentTerms)
            .ok_or_else(|| Invalid("a whole number of days from 1 to 365".into()))
    }

    pub fn days(self) -> u16 {
        self.0
    }
}

/// The day of the month (1 to 28, so every month has it) an
/// organisation's monthly invoice run happens by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceRunDay(u8);

impl InvoiceRunDay {
    pub const DEFAULT: InvoiceRunDay = InvoiceRunDay(1);

    pub fn new(day: i64) -> Result<Self, Invalid> {
        u8::try_from(day)
            .ok()
            .filter(|d| (1..=28).contains(d))
            .map(InvoiceRunDay)
            .ok_or_else(|| Invalid("a day of the month from 1 to 28".into()))
    }

    pub fn day(self) -> u8 {
        self.0
    }
}

impl Organisation {
    /// The payment terms of its invoices: its own, else the default.
    pub fn payment_terms(&self) -> PaymentTerms {
        self.payment_terms.unwrap_or(PaymentTerms::DEFAULT)
    }

    /// Its dunning settings: its own, else the defaults.
    pub fn dunning(&self) -> DunningSettings {
        self.dunning.clone().unwrap_or_default()
    }

    /// The day of the month of its invoice run: its own, else the 1st.
    pub fn invoice_run_day(&self) -> InvoiceRunDay {
        self.invoice_run_day.unwrap_or(InvoiceRunDay::DEFAULT)
    }

    /// Its payout contract: its own, else the defaults.
    pub fn payout_terms(&self) -> PayoutTerms {
        self.payout_terms.unwrap_or_default()
    }

    /// The record of the organisation that owned everything before tenants
    /// had records: made at upgrade, to be filled in by the operator.
    pub fn default_placeholder(now: Timestamp) -> Self {
        Organisation {
            id: OrgId::default_org(),
            kind: OrgKind::Cpo,
            legal_name: "Default organisation".into(),
            organisation_number: None,
            vat_number: None,
            address: None,
            contact_email: None,
            language: Language::En,
            payout_account: None,
            payment_terms: None,
            dunning: None,
            invoice_run_day: None,
            payout_terms: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

/// A point on earth, WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

impl Coordinates {
    /// Which is wrong is the error's first element: `lat` or `lon`.
    pub fn new(lat: f64, lon: f64) -> Result<Self, (&'static str, Invalid)> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(("lat", Invalid("from -90 to 90".into())));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(("lon", Invalid("from -180 to 180".into())));
        }
        Ok(Coordinates { lat, lon })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }
}

/// A stretch of a day, `start < end`, in minutes since midnight; `end` may
/// be 1440 (`24:00`, the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayInterval {
    start: u16,
    end: u16,
}

impl DayInterval {
    pub const END_OF_DAY: u16 = 24 * 60;

    pub fn new(start: u16, end: u16) -> Result<Self, Invalid> {
        if end > Self::END_OF_DAY || start >= end {
            return invalid("the start must come before the end, both from 00:00 to 24:00");
        }
        Ok(DayInterval { start, end })
    }

    /// `HH:MM-HH:MM` (an en dash is read too).
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid(format!("{s:?} is not HH:MM-HH:MM"));
        let (a, b) = s.trim().split_once(['-', '–']).ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            if h.len() != 2 || m.len() != 2 || !all_digits(h) || !all_digits(m) {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (start, end) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        Self::new(start, end).map_err(|e| Invalid(format!("{s}: {e}")))
    }

    pub fn start(self) -> u16 {
        self.start
    }

    pub fn end(self) -> u16 {
        self.end
    }
}

impl fmt::Display for DayInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// When a site is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpeningHours {
    AlwaysOpen,
    /// Per weekday, Monday first: the day's intervals, sorted and
    /// non-overlapping (an empty day: closed).
    Weekly([Vec<DayInterval>; 7]),
}

impl OpeningHours {
    /// The weekday names, Monday first, as the API spells them.
    pub const DAYS: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// Sorts each day's intervals; refuses overlapping ones (touching ones,
    /// `08:00-12:00` and `12:00-18:00`, are fine), naming the day.
    pub fn weekly(mut days: [Vec<DayInterval>; 7]) -> Result<Self, (&'static str, Invalid)> {
        for (day, intervals) in Self::DAYS.iter().zip(days.iter_mut()) {
            intervals.sort();
            if let Some(w) = intervals.windows(2).find(|w| w[1].start < w[0].end) {
                return Err((day, Invalid(format!("{} overlaps {}", w[0], w[1]))));
            }
        }
        Ok(OpeningHours::Weekly(days))
    }
}

/// A place an organisation's stations stand: a car park, a building.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: SiteId,
    pub org_id: OrgId,
    pub name: String,
    pub address: Address,
    pub coordinates: Option<Coordinates>,
    pub time_zone: Tz,
    pub bidding_zone: Option<BiddingZone>,
    /// `None`: not given.
    pub opening_hours: Option<OpeningHours>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// 1 when created, one more at each update.
    pub version: u64,
}

/// An IANA time zone name, e.g. `Europe/Stockholm`.
pub fn time_zone(s: &str) -> Result<Tz, Invalid> {
    s.trim()
        .parse()
        .map_err(|_| Invalid("an IANA time zone, e.g. Europe/Stockholm".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<T: fmt::Debug>(r: Result<T, Invalid>) -> String {
        r.unwrap_err().0
    }

    #[test]
    fn organisation_numbers_are_luhn_checked_and_normalised() {
        for ok in ["556036-0793", "5560360793", " 212000-1355 ", "811218-9876"] {
            let n = OrganisationNumber::parse(ok).unwrap();
            assert_eq!(n.as_str().len(), 11, "{ok}");
            assert_eq!(n.as_str().as_bytes()[6], b'-');
        }
        assert_eq!(
            OrganisationNumber::parse("5560360793").unwrap().as_str(),
            "556036-0793"
        );
        assert_eq!(
            msg(OrganisationNumber::parse("556036-0794")),
            "check digit is wrong"
        );
        for bad in ["", "55603-60793", "556036079", "55603607933", "55603a-0793"] {
            assert!(
                msg(OrganisationNumber::parse(bad)).contains("ten digits"),
                "{bad}"
            );
        }
    }

    #[test]
    fn vat_numbers_check_the_format_and_swedish_ones_the_number() {
        assert_eq!(
            VatNumber::parse("se 556036079301").unwrap().as_str(),
            "SE556036079301"
        );
        for ok in ["DE123456789", "FI12345678", "ATU12345678", "NL123456789B01"] {
            VatNumber::parse(ok).unwrap();
        }
        assert_eq!(
            msg(VatNumber::parse("SE556036079401")),
            "check digit is wrong"
        );
        assert!(msg(VatNumber::parse("SE556036079302")).contains("SE, ten digits and 01"));
        for bad in [
            "",
            "1234567",
            "D1234",
            "DE",
            "DE1",
            "DE1234567890123",
            "DE12-3",
        ] {
            assert!(
                msg(VatNumber::parse(bad)).contains("country prefix"),
                "{bad}"
            );
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(
            Email::parse(" Styrelsen@BRF-Solsidan.SE ")
                .unwrap()
                .as_str(),
            "Styrelsen@brf-solsidan.se"
        );
        Email::parse("a.b+tag@mail.example.com").unwrap();
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@exa mple.com",
            "a@-x.com",
            "a@x..com",
            ".a@x.com",
            "a..b@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn bankgiro_numbers_are_luhn_checked_and_hyphenated() {
        assert_eq!(Bankgiro::parse("5050-1055").unwrap().as_str(), "5050-1055");
        assert_eq!(Bankgiro::parse("50501055").unwrap().as_str(), "5050-1055");
        assert_eq!(Bankgiro::parse("991-2346").unwrap().as_str(), "991-2346");
        assert_eq!(msg(Bankgiro::parse("5050-1056")), "check digit is wrong");
        for bad in ["", "123456", "123456789", "5050-105x"] {
            assert!(msg(Bankgiro::parse(bad)).contains("digits"), "{bad}");
        }
    }

    #[test]
    fn ibans_are_mod_97_checked_and_bics_formatted() {
        assert_eq!(
            Iban::parse("se45 5000 0000 0583 9825 7466")
                .unwrap()
                .as_str(),
            "SE4550000000058398257466"
        );
        Iban::parse("GB82 WEST 1234 5698 7654 32").unwrap();
        Iban::parse("DE89370400440532013000").unwrap();
        assert_eq!(
            msg(Iban::parse("SE4550000000058398257467")),
            "check digits are wrong"
        );
        for bad in [
            "",
            "SE45",
            "S545500000000583982574",
            "SE4X5000000005839825746",
        ] {
            assert!(msg(Iban::parse(bad)).contains("IBAN"), "{bad}");
        }
        assert_eq!(Bic::parse("essesess").unwrap().as_str(), "ESSESESS");
        Bic::parse("DEUTDEFF500").unwrap();
        for bad in ["", "ESSESES", "ESSE5ESS", "ESSESESS5", "ESSESESS50!"] {
            assert!(Bic::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_check_each_part_and_swedish_postal_codes() {
        let a = Address::parse("Storgatan 1", "11122", "Stockholm", "se").unwrap();
        assert_eq!(
            (a.postal_code.as_str(), a.country.as_str()),
            ("111 22", "SE")
        );
        let a = Address::parse("1 Main St", "sw1a 1aa", "London", "GB").unwrap();
        assert_eq!(a.postal_code, "SW1A 1AA");
        assert_eq!(
            Address::parse("x", "111 22", "y", "XX").unwrap_err().0,
            "country"
        );
        assert_eq!(
            Address::parse(" ", "111 22", "y", "SE").unwrap_err().0,
            "street"
        );
        assert_eq!(
            Address::parse("x", "1112", "y", "SE").unwrap_err().0,
            "postalCode"
        );
        assert_eq!(
            Address::parse("x", "111 22", "", "SE").unwrap_err().0,
            "city"
        );
        assert!(Country::parse("SE").is_ok() && Country::parse("se").is_ok());
        assert!(Country::parse("SWE").is_err() && Country::parse("ZZ").is_err());
    }

    #[test]
    fn coordinates_stay_on_earth() {
        let c = Coordinates::new(59.33, 18.06).unwrap();
        assert_eq!((c.lat(), c.lon()), (59.33, 18.06));
        Coordinates::new(-90.0, 180.0).unwrap();
        assert_eq!(Coordinates::new(90.1, 0.0).unwrap_err().0, "lat");
        assert_eq!(Coordinates::new(0.0, -180.5).unwrap_err().0, "lon");
        assert_eq!(Coordinates::new(f64::NAN, 0.0).unwrap_err().0, "lat");
    }

    #[test]
    fn opening_hours_are_sorted_and_may_not_overlap() {
        let i = |s: &str| DayInterval::parse(s).unwrap();
        assert_eq!(i("08:00-18:30").to_string(), "08:00-18:30");
        assert_eq!(i("00:00–24:00").end(), DayInterval::END_OF_DAY);
        for bad in [
            "",
            "8:00-18:00",
            "08:00",
            "18:00-08:00",
            "08:00-08:00",
            "24:30-25:00",
            "08:60-09:00",
        ] {
            assert!(DayInterval::parse(bad).is_err(), "{bad}");
        }
        let mut days: [Vec<DayInterval>; 7] = Default::default();
        days[0] = vec![i("13:00-18:00"), i("08:00-12:00"), i("12:00-13:00")];
        let OpeningHours::Weekly(sorted) = OpeningHours::weekly(days.clone()).unwrap() else {
            unreachable!()
        };
        assert_eq!(sorted[0][0], i("08:00-12:00"));
        days[4] = vec![i("08:00-12:00"), i("11:00-13:00")];
        let (day, why) = OpeningHours::weekly(days).unwrap_err();
        assert_eq!(day, "fri");
        assert_eq!(why.0, "08:00-12:00 overlaps 11:00-13:00");
    }

    #[test]
    fn kinds_languages_and_time_zones_parse() {
        assert_eq!(OrgKind::parse("brf").unwrap(), OrgKind::Brf);
        assert!(OrgKind::parse("BRF").is_err());
        assert_eq!(Language::parse("sv").unwrap(), Language::Sv);
        assert!(Language::parse("de").is_err());
        assert_eq!(
            time_zone("Europe/Stockholm").unwrap(),
            chrono_tz::Europe::Stockholm
        );
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(text("  ", 10).is_err() && text("a\nb", 10).is_err());
        assert_eq!(text(" ab ", 2).unwrap(), "ab");
        assert!(text("abc", 2).is_err());
    }
}
