//! Organisations and sites as stored: [`StoredOrganisation`],
//! [`StoredSite`]. New with tenants, written with camel-case names; an
//! absent optional value is written as `null`. Every value is read back
//! through the domain's own parser, so a stored value the domain would
//! refuse (a wrong check digit written by hand) is a [`DecodeError`].

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::billing::dunning::DunningSettings;
use csms_domain::billing::settlement::PayoutTerms;
use csms_domain::spot::BiddingZone;
use csms_domain::tenant::{
    time_zone, Address, Bankgiro, Bic, Coordinates, DayInterval, Email, Iban, InvoiceRunDay,
    Language, OpeningHours, OrgKind, Organisation, OrganisationNumber, PaymentTerms, PayoutAccount,
    Site, VatNumber,
};
use csms_domain::{OrgId, SiteId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredOrganisation {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "kind")]
    pub kind: StoredOrgKind,
    #[serde(rename = "legalName")]
    pub legal_name: String,
    #[serde(rename = "organisationNumber", default)]
    pub organisation_number: Option<String>,
    #[serde(rename = "vatNumber", default)]
    pub vat_number: Option<String>,
    #[serde(rename = "address", default)]
    pub address: Option<StoredAddress>,
    #[serde(rename = "contactEmail", default)]
    pub contact_email: Option<String>,
    #[serde(rename = "language")]
    pub language: StoredLanguage,
    #[serde(rename = "payoutAccount", default)]
    pub payout_account: Option<StoredPayoutAccount>,
    /// Absent: the platform's default (records from before it existed).
    #[serde(
        rename = "paymentTermsDays",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_terms_days: Option<u16>,
    /// Absent: the defaults (records from before dunning existed).
    #[serde(rename = "dunning", default, skip_serializing_if = "Option::is_none")]
    pub dunning: Option<StoredDunning>,
    /// Absent: the 1st.
    #[serde(
        rename = "invoiceRunDay",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_run_day: Option<u8>,
    /// Absent: the defaults (records from before settlements existed).
    #[serde(
        rename = "payoutTerms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payout_terms: Option<StoredPayoutTerms>,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

/// An organisation's payout contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPayoutTerms {
    #[serde(rename = "day")]
    pub day: u8,
    /// A decimal string.
    #[serde(rename = "feePercent")]
    pub fee_percent: rust_decimal::Decimal,
    /// A decimal string.
    #[serde(rename = "feePerStation")]
    pub fee_per_station: rust_decimal::Decimal,
}

/// An organisation's reminders, fee and block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDunning {
    #[serde(rename = "reminderDays")]
    pub reminder_days: Vec<u16>,
    /// A decimal string.
    #[serde(
        rename = "reminderFee",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reminder_fee: Option<rust_decimal::Decimal>,
    /// Absent: no block.
    #[serde(rename = "blockDays", default, skip_serializing_if = "Option::is_none")]
    pub block_days: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredOrgKind {
    #[serde(rename = "brf")]
    Brf,
    #[serde(rename = "company")]
    Company,
    #[serde(rename = "cpo")]
    Cpo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredLanguage {
    #[serde(rename = "sv")]
    Sv,
    #[serde(rename = "en")]
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAddress {
    #[serde(rename = "street")]
    pub street: String,
    #[serde(rename = "postalCode")]
    pub postal_code: String,
    #[serde(rename = "city")]
    pub city: String,
    #[serde(rename = "country")]
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredPayoutAccount {
    #[serde(rename = "bankgiro")]
    Bankgiro {
        #[serde(rename = "number")]
        number: String,
    },
    #[serde(rename = "iban")]
    Iban {
        #[serde(rename = "iban")]
        iban: String,
        #[serde(rename = "bic", default)]
        bic: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSite {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "address")]
    pub address: StoredAddress,
    #[serde(rename = "coordinates", default)]
    pub coordinates: Option<StoredCoordinates>,
    /// IANA name.
    #[serde(rename = "timeZone")]
    pub time_zone: String,
    #[serde(rename = "biddingZone", default)]
    pub bidding_zone: Option<String>,
    #[serde(rename = "openingHours", default)]
    pub opening_hours: Option<StoredOpeningHours>,
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredCoordinates {
    #[serde(rename = "lat")]
    pub lat: f64,
    #[serde(rename = "lon")]
    pub lon: f64,
}

/// Each day's intervals as `HH:MM-HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StoredOpeningHours {
    #[serde(rename = "alwaysOpen")]
    AlwaysOpen,
    #[serde(rename = "weekly")]
    Weekly {
        #[serde(rename = "mon", default)]
        mon: Vec<String>,
        #[serde(rename = "tue", default)]
        tue: Vec<String>,
        #[serde(rename = "wed", default)]
        wed: Vec<String>,
        #[serde(rename = "thu", default)]
        thu: Vec<String>,
        #[serde(rename = "fri", default)]
        fri: Vec<String>,
        #[serde(rename = "sat", default)]
        sat: Vec<String>,
        #[serde(rename = "sun", default)]
        sun: Vec<String>,
    },
}

// ---- domain → stored ----

impl From<&Address> for StoredAddress {
    fn from(a: &Address) -> Self {
        let Address {
            street,
            postal_code,
            city,
            country,
        } = a;
        StoredAddress {
            street: street.clone(),
            postal_code: postal_code.clone(),
            city: city.clone(),
            country: country.as_str().to_owned(),
        }
    }
}

impl From<&PayoutAccount> for StoredPayoutAccount {
    fn from(p: &PayoutAccount) -> Self {
        match p {
            PayoutAccount::Bankgiro(b) => StoredPayoutAccount::Bankgiro {
                number: b.as_str().to_owned(),
            },
            PayoutAccount::Iban { iban, bic } => StoredPayoutAccount::Iban {
                iban: iban.as_str().to_owned(),
                bic: bic.as_ref().map(|b| b.as_str().to_owned()),
            },
        }
    }
}

impl From<&OpeningHours> for StoredOpeningHours {
    fn from(h: &OpeningHours) -> Self {
        match h {
            OpeningHours::AlwaysOpen => StoredOpeningHours::AlwaysOpen,
            OpeningHours::Weekly(days) => {
                let [mon, tue, wed, thu, fri, sat, sun] = days
                    .clone()
                    .map(|d| d.iter().map(ToString::to_string).collect());
                StoredOpeningHours::Weekly {
                    mon,
                    tue,
                    wed,
                    thu,
                    fri,
                    sat,
                    sun,
                }
            }
        }
    }
}

impl From<&Organisation> for StoredOrganisation {
    fn from(o: &Organisation) -> Self {
        let Organisation {
            id,
            kind,
            legal_name,
            organisation_number,
            vat_number,
            address,
            contact_email,
            language,
            payout_account,
            payment_terms,
            dunning,
            invoice_run_day,
            payout_terms,
            created_at,
            updated_at,
            version,
        } = o;
        StoredOrganisation {
            id: id.as_str().to_owned(),
            kind: match kind {
                OrgKind::Brf => StoredOrgKind::Brf,
                OrgKind::Company => StoredOrgKind::Company,
                OrgKind::Cpo => StoredOrgKind::Cpo,
            },
            legal_name: legal_name.clone(),
            organisation_number: organisation_number.as_ref().map(|n| n.as_str().to_owned()),
            vat_number: vat_number.as_ref().map(|n| n.as_str().to_owned()),
            address: address.as_ref().map(Into::into),
            contact_email: contact_email.as_ref().map(|e| e.as_str().to_owned()),
            language: match language {
                Language::Sv => StoredLanguage::Sv,
                Language::En => StoredLanguage::En,
            },
            payout_account: payout_account.as_ref().map(Into::into),
            payment_terms_days: payment_terms.map(PaymentTerms::days),
            dunning: dunning.as_ref().map(|d| StoredDunning {
                reminder_days: d.reminder_days().to_vec(),
                reminder_fee: d.reminder_fee(),
                block_days: d.block_days(),
            }),
            invoice_run_day: invoice_run_day.map(InvoiceRunDay::day),
            payout_terms: payout_terms.as_ref().map(|t| StoredPayoutTerms {
                day: t.day(),
                fee_percent: t.fee_percent(),
                fee_per_station: t.fee_per_station(),
            }),
            created_at: *created_at,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

impl From<&Site> for StoredSite {
    fn from(s: &Site) -> Self {
        let Site {
            id,
            org_id,
            name,
            address,
            coordinates,
            time_zone,
            bidding_zone,
            opening_hours,
            created_at,
            updated_at,
            version,
        } = s;
        StoredSite {
            id: id.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            name: name.clone(),
            address: address.into(),
            coordinates: coordinates.map(|c| StoredCoordinates {
                lat: c.lat(),
                lon: c.lon(),
            }),
            time_zone: time_zone.name().to_owned(),
            bidding_zone: bidding_zone.map(|z| z.code().to_owned()),
            opening_hours: opening_hours.as_ref().map(Into::into),
            created_at: *created_at,
            updated_at: *updated_at,
            version: *version,
        }
    }
}

// ---- stored → domain ----

fn value<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, DecodeError> {
    r.map_err(|e| DecodeError::new(format!("{what}: {e}")))
}

impl TryFrom<StoredAddress> for Address {
    type Error = DecodeError;

    fn try_from(a: StoredAddress) -> Result<Self, DecodeError> {
        let StoredAddress {
            street,
            postal_code,
            city,
            country,
        } = a;
        Address::parse(&street, &postal_code, &city, &country)
            .map_err(|(part, e)| DecodeError::new(format!("address {part}: {e}")))
    }
}

impl TryFrom<StoredPayoutAccount> for PayoutAccount {
    type Error = DecodeError;

    fn try_from(p: StoredPayoutAccount) -> Result<Self, DecodeError> {
        Ok(match p {
            StoredPayoutAccount::Bankgiro { number } => {
                PayoutAccount::Bankgiro(value("bankgiro", Bankgiro::parse(&number))?)
            }
            StoredPayoutAccount::Iban { iban, bic } => PayoutAccount::Iban {
                iban: value("iban", Iban::parse(&iban))?,
                bic: bic.map(|b| value("bic", Bic::parse(&b))).transpose()?,
            },
        })
    }
}

impl TryFrom<StoredOpeningHours> for OpeningHours {
    type Error = DecodeError;

    fn try_from(h: StoredOpeningHours) -> Result<Self, DecodeError> {
        let StoredOpeningHours::Weekly {
            mon,
            tue,
            wed,
            thu,
            fri,
            sat,
            sun,
        } = h
        else {
            return Ok(OpeningHours::AlwaysOpen);
        };
        let mut days: [Vec<DayInterval>; 7] = Default::default();
        for (day, texts) in days.iter_mut().zip([mon, tue, wed, thu, fri, sat, sun]) {
            *day = texts
                .iter()
                .map(|t| value("opening hours", DayInterval::parse(t)))
                .collect::<Result<_, _>>()?;
        }
        OpeningHours::weekly(days)
            .map_err(|(day, e)| DecodeError::new(format!("opening hours {day}: {e}")))
    }
}

impl TryFrom<StoredOrganisation> for Organisation {
    type Error = DecodeError;

    fn try_from(o: StoredOrganisation) -> Result<Self, DecodeError> {
        let StoredOrganisation {
            id,
            kind,
            legal_name,
            organisation_number,
            vat_number,
            address,
            contact_email,
            language,
            payout_account,
            payment_terms_days,
            dunning,
            invoice_run_day,
            payout_terms,
            created_at,
            updated_at,
            version,
        } = o;
        Ok(Organisation {
            id: parse("organisation id", id, OrgId::parse)?,
            kind: match kind {
                StoredOrgKind::Brf => OrgKind::Brf,
                StoredOrgKind::Company => OrgKind::Company,
                StoredOrgKind::Cpo => OrgKind::Cpo,
            },
            legal_name,
            organisation_number: organisation_number
                .map(|n| value("organisation number", OrganisationNumber::parse(&n)))
                .transpose()?,
            vat_number: vat_number
                .map(|n| value("VAT number", VatNumber::parse(&n)))
                .transpose()?,
            address: address.map(TryInto::try_into).transpose()?,
            contact_email: contact_email
                .map(|e| value("contact e-mail", Email::parse(&e)))
                .transpose()?,
            language: match language {
                StoredLanguage::Sv => Language::Sv,
                StoredLanguage::En => Language::En,
            },
            payout_account: payout_account.map(TryInto::try_into).transpose()?,
            payment_terms: payment_terms_days
                .map(|d| value("payment terms", PaymentTerms::new(i64::from(d))))
                .transpose()?,
            dunning: dunning
                .map(|d| {
                    let days: Vec<i64> = d.reminder_days.iter().map(|d| i64::from(*d)).collect();
                    DunningSettings::new(&days, d.reminder_fee, d.block_days.map(i64::from))
                        .map_err(|(field, e)| DecodeError::new(format!("dunning {field}: {e}")))
                })
                .transpose()?,
            invoice_run_day: invoice_run_day
                .map(|d| value("invoice run day", InvoiceRunDay::new(i64::from(d))))
                .transpose()?,
            payout_terms: payout_terms
                .map(|t| {
                    PayoutTerms::new(i64::from(t.day), t.fee_percent, t.fee_per_station).map_err(
                        |(field, e)| DecodeError::new(format!("payout terms {field}: {e}")),
                    )
                })
                .transpose()?,
            created_at,
            updated_at,
            version,
        })
    }
}

impl TryFrom<StoredSite> for Site {
    type Error = DecodeError;

    fn try_from(s: StoredSite) -> Result<Self, DecodeError> {
        let StoredSite {
            id,
            org_id,
            name,
            address,
            coordinates,
            time_zone: tz,
            bidding_zone,
            opening_hours,
            created_at,
            updated_at,
            version,
        } = s;
        Ok(Site {
            id: parse("site id", id, SiteId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            name,
            address: address.try_into()?,
            coordinates: coordinates
                .map(|c| {
                    Coordinates::new(c.lat, c.lon)
                        .map_err(|(part, e)| DecodeError::new(format!("coordinates {part}: {e}")))
                })
                .transpose()?,
            time_zone: value("time zone", time_zone(&tz))?,
            bidding_zone: bidding_zone
                .map(|z| value("bidding zone", BiddingZone::parse(&z)))
                .transpose()?,
            opening_hours: opening_hours.map(TryInto::try_into).transpose()?,
            created_at,
            updated_at,
            version,
        })
    }
}

impl Record for Organisation {
    type Stored = StoredOrganisation;
}

impl Record for Site {
    type Stored = StoredSite;
}
