//! An issued invoice as a Peppol BIS Billing 3.0 document: a UBL 2.1
//! `Invoice` that a company's accounts-payable system (or a Peppol access
//! point) reads without retyping anything. A pure function of the invoice,
//! the seller's organisation record and the Bankgiro it is paid to.
//!
//! What goes where:
//! - **Seller**: the legal name, organisation number and VAT number as the
//!   invoice was issued (the organisation's record fills in the numbers if
//!   the invoice has none); the organisation number is the electronic
//!   address (`EndpointID`, scheme `0007`, the Swedish organisation number)
//!   and the legal entity's id; the postal address is the record's.
//! - **Buyer**: the company the driver charges for (`PUT /me/company`): its
//!   organisation number as the electronic address and legal id (scheme
//!   `0007`), its legal name, Sweden as its country (its address is not
//!   kept), and the driver as the contact (name, e-mail). A driver who
//!   charges privately gets no file: Peppol has no electronic address scheme
//!   for a person (e-mail, `EM`, is in EN 16931's list but not in Peppol's,
//!   PEPPOL-EN16931-CL008), and a file without one is refused by every
//!   access point (PEPPOL-EN16931-R010).
//! - **Payment**: credit transfer (`30`) to the Bankgiro (`SE:BANKGIRO`)
//!   with the OCR reference as the payment id.
//! - **Figures**: one `InvoiceLine` per session (its energy in `KWH` at the
//!   session's average net price, or one piece, `C62`, for a session without
//!   energy), then one per monthly fee and one-off charge (one piece at its
//!   net, its days or date as the description), one `TaxSubtotal` per VAT rate, and the totals; every amount
//!   is the invoice's own figure with two decimals, never rounded here. The
//!   invoice has no öre rounding (its gross is what is paid), so there is no
//!   `PayableRoundingAmount`.
//!
//! What the file cannot say truthfully is refused with the field it needs
//! ([`PeppolError`]) instead of writing a file a receiver would reject.

use csms_domain::billing::invoice::{ChargeKind, ChargeLine, Invoice, InvoiceLine};
use csms_domain::tenant::{Address, Bankgiro, Organisation, OrganisationNumber, VatNumber};
use csms_domain::user::BuyerCompany;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use rust_decimal::{Decimal, RoundingStrategy};
use std::io;

/// EN 16931 with the Peppol BIS Billing 3.0 CIUS.
pub const CUSTOMIZATION_ID: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0";
/// Peppol's billing process (P01).
pub const PROFILE_ID: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";
pub const XML_TYPE: &str = "application/xml";

const INVOICE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const CAC_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const CBC_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";
/// The Swedish organisation number in Peppol's code list of identifier
/// schemes (ICD).
const SCHEME_SE_ORG: &str = "0007";
/// UN/ECE rec. 20: kilowatt hour, and one piece ("unit").
const UNIT_KWH: &str = "KWH";
const UNIT_PIECE: &str = "C62";
/// The decimals of a line's average price per kWh: enough that quantity ×
/// price is the line's net within a hundredth for any session under
/// 20 000 kWh (Peppol allows 0.02, PEPPOL-EN16931-R120).
const PRICE_DECIMALS: u32 = 6;

/// Why an invoice has no Peppol file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeppolError {
    /// The seller or the buyer lacks what a Peppol invoice must hold; the
    /// field is the API's name of what to fill in.
    #[error("{field}: {why}")]
    Missing { field: &'static str, why: String },
    /// Figures that EN 16931 cannot carry as they are; names which.
    #[error("{0}")]
    Figures(String),
}

/// What the file needs besides the invoice.
pub struct PeppolContext<'a> {
    /// The seller's current record (its postal address, and the numbers if
    /// the invoice was issued without them).
    pub seller: &'a Organisation,
    /// The Bankgiro the invoice is paid to (`CSMS_BANKGIRO`).
    pub bankgiro: &'a Bankgiro,
    /// The company the driver charges for, from their record.
    pub buyer_company: Option<&'a BuyerCompany>,
}

/// The file's name: `faktura-17.xml`.
pub fn filename(invoice: &Invoice) -> String {
    format!("faktura-{}.xml", invoice.number)
}

/// The invoice as a Peppol BIS Billing 3.0 UBL document (UTF-8).
pub fn invoice_xml(invoice: &Invoice, ctx: &PeppolContext<'_>) -> Result<Vec<u8>, PeppolError> {
    let doc = Document::of(invoice, ctx)?;
    doc.write()
        .map_err(|e| PeppolError::Figures(format!("the XML could not be written: {e}")))
}

/// Everything the document says, checked and formatted before a byte is
/// written.
struct Document<'a> {
    invoice: &'a Invoice,
    org_number: String,
    vat_number: String,
    address: &'a Address,
    company: &'a BuyerCompany,
    company_number: String,
    buyer_email: &'a str,
    buyer_name: &'a str,
    bankgiro: String,
    lines: Vec<Line>,
    subtotals: Vec<Subtotal>,
    line_total: String,
    tax_total: String,
    gross: String,
}

struct Line {
    quantity: String,
    unit: &'static str,
    net: String,
    price: String,
    percent: String,
    name: String,
    description: String,
    session: String,
}

struct Subtotal {
    taxable: String,
    tax: String,
    percent: String,
}

fn missing(field: &'static str, why: &str) -> PeppolError {
    PeppolError::Missing {
        field,
        why: why.to_owned(),
    }
}

/// An amount with exactly two decimals, as the invoice holds it: one with
/// more is refused, not rounded.
fn amount(what: &str, v: Decimal) -> Result<String, PeppolError> {
    let two = v.round_dp(2);
    if two != v {
        return Err(PeppolError::Figures(format!(
            "{what} {v} has more than two decimals"
        )));
    }
    Ok(format!("{two:.2}"))
}

/// A VAT rate as a percentage: 0.25 → `25`, 0.125 → `12.5`.
fn percent(rate: Decimal) -> Result<String, PeppolError> {
    let p = rate
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or_else(|| PeppolError::Figures(format!("VAT rate {rate} overflows")))?;
    Ok(p.normalize().to_string())
}

impl<'a> Document<'a> {
    fn of(invoice: &'a Invoice, ctx: &PeppolContext<'a>) -> Result<Self, PeppolError> {
        let org = ctx.seller;
        let org_number = match (&invoice.seller.organisation_number, &org.organisation_number) {
            (Some(n), _) => OrganisationNumber::parse(n).map_err(|e| {
                PeppolError::Figures(format!("the invoice's organisation number {n}: {}", e.0))
            })?,
            (None, Some(n)) => n.clone(),
            (None, None) => {
                return Err(missing(
                    "organisationNumber",
                    "the seller has no organisation number, the Peppol file's electronic address and legal id",
                ))
            }
        };
        let vat_number =
            match (&invoice.seller.vat_number, &org.vat_number) {
                (Some(n), _) => VatNumber::parse(n).map_err(|e| {
                    PeppolError::Figures(format!("the invoice's VAT number {n}: {}", e.0))
                })?,
                (None, Some(n)) => n.clone(),
                (None, None) => return Err(missing(
                    "vatNumber",
                    "the seller has no VAT number, which an invoice with VAT must state (BR-S-02)",
                )),
            };
        let address = org.address.as_ref().ok_or_else(|| {
            missing(
                "address",
                "the seller has no postal address (its country is required, BR-09)",
            )
        })?;
        let company = ctx.buyer_company.ok_or_else(|| {
            missing(
                "company",
                "the driver charges privately; a Peppol invoice's buyer is a company with an organisation number (PUT /me/company), as Peppol has no electronic address for a person",
            )
        })?;
        let buyer_email = invoice.buyer.email.trim();
        let buyer_name = invoice.buyer.name.trim();
        let sessions = invoice.lines.len();
        let lines = invoice
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| Line::of(i + 1, l))
            .chain(
                invoice
                    .charges
                    .iter()
                    .enumerate()
                    .map(|(i, l)| Line::of_charge(sessions + i + 1, l)),
            )
            .collect::<Result<Vec<_>, _>>()?;
        let mut subtotals = Vec::with_capacity(invoice.vat.len());
        for v in &invoice.vat {
            // BR-CO-17: a rate's VAT is its taxable amount times the rate,
            // within one unit. The invoice's VAT is the sum of its lines'
            // (each rounded to öre), which stays within that unless a rate
            // has some two hundred lines; then the file would not be true to
            // the invoice and the rules at once, so there is none.
            let of_sum = v
                .net
                .checked_mul(v.rate)
                .ok_or_else(|| PeppolError::Figures("the VAT overflows".into()))?
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            if (v.vat - of_sum).abs() >= Decimal::ONE {
                return Err(PeppolError::Figures(format!(
                    "the VAT at {} % is {} as the sum of the lines but {of_sum} on their sum: more than EN 16931 allows (BR-CO-17)",
                    percent(v.rate)?,
                    v.vat
                )));
            }
            subtotals.push(Subtotal {
                taxable: amount("the taxable amount", v.net)?,
                tax: amount("the VAT", v.vat)?,
                percent: percent(v.rate)?,
            });
        }
        // BR-CO-10: the lines' sum is the invoice's net, as issued.
        let line_sum = invoice
            .lines
            .iter()
            .map(|l| l.net)
            .chain(invoice.charges.iter().map(|l| l.net))
            .try_fold(Decimal::ZERO, |s, net| s.checked_add(net))
            .ok_or_else(|| PeppolError::Figures("the lines' sum overflows".into()))?;
        if line_sum != invoice.net
            || invoice.net.checked_add(invoice.vat_total) != Some(invoice.gross)
        {
            return Err(PeppolError::Figures(format!(
                "invoice {}: its totals are not its lines' sums",
                invoice.number
            )));
        }
        Ok(Document {
            invoice,
            org_number: org_number.as_str().replace('-', ""),
            vat_number: vat_number.as_str().to_owned(),
            address,
            company,
            company_number: company.organisation_number.as_str().replace('-', ""),
            buyer_email,
            buyer_name,
            bankgiro: ctx.bankgiro.as_str().replace('-', ""),
            lines,
            subtotals,
            line_total: amount("the net total", invoice.net)?,
            tax_total: amount("the VAT total", invoice.vat_total)?,
            gross: amount("the gross total", invoice.gross)?,
        })
    }

    fn write(&self) -> io::Result<Vec<u8>> {
        let inv = self.invoice;
        let cur = inv.currency.as_str();
        let mut w = Xml(Writer::new_with_indent(Vec::new(), b' ', 2));
        w.0.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.0.write_event(Event::Start(BytesStart::new("Invoice").with_attributes([
            ("xmlns", INVOICE_NS),
            ("xmlns:cac", CAC_NS),
            ("xmlns:cbc", CBC_NS),
        ])))?;
        w.leaf("cbc:CustomizationID", CUSTOMIZATION_ID)?;
        w.leaf("cbc:ProfileID", PROFILE_ID)?;
        w.leaf("cbc:ID", &inv.number.to_string())?;
        w.leaf("cbc:IssueDate", &inv.issue_date.to_string())?;
        w.leaf("cbc:DueDate", &inv.due_date.to_string())?;
        // A commercial invoice.
        w.leaf("cbc:InvoiceTypeCode", "380")?;
        w.leaf("cbc:DocumentCurrencyCode", cur)?;
        // The buyer's own reference: no purchase order exists, so their id.
        w.leaf("cbc:BuyerReference", inv.user_id.as_str())?;
        w.open("cac:InvoicePeriod")?;
        w.leaf("cbc:StartDate", &inv.period.first_day().to_string())?;
        w.leaf("cbc:EndDate", &inv.period.last_day().to_string())?;
        w.close("cac:InvoicePeriod")?;

        w.open("cac:AccountingSupplierParty")?;
        w.open("cac:Party")?;
        w.leaf_with(
            "cbc:EndpointID",
            ("schemeID", SCHEME_SE_ORG),
            &self.org_number,
        )?;
        w.open("cac:PartyName")?;
        w.leaf("cbc:Name", &inv.seller.legal_name)?;
        w.close("cac:PartyName")?;
        w.open("cac:PostalAddress")?;
        w.leaf("cbc:StreetName", &self.address.street)?;
        w.leaf("cbc:CityName", &self.address.city)?;
        w.leaf("cbc:PostalZone", &self.address.postal_code)?;
        w.country(self.address.country.as_str())?;
        w.close("cac:PostalAddress")?;
        w.open("cac:PartyTaxScheme")?;
        w.leaf("cbc:CompanyID", &self.vat_number)?;
        w.tax_scheme()?;
        w.close("cac:PartyTaxScheme")?;
        w.open("cac:PartyLegalEntity")?;
        w.leaf("cbc:RegistrationName", &inv.seller.legal_name)?;
        w.leaf_with(
            "cbc:CompanyID",
            ("schemeID", SCHEME_SE_ORG),
            &self.org_number,
        )?;
        w.close("cac:PartyLegalEntity")?;
        w.close("cac:Party")?;
        w.close("cac:AccountingSupplierParty")?;

        w.open("cac:AccountingCustomerParty")?;
        w.open("cac:Party")?;
        w.leaf_with(
            "cbc:EndpointID",
            ("schemeID", SCHEME_SE_ORG),
            &self.company_number,
        )?;
        w.open("cac:PartyName")?;
        w.leaf("cbc:Name", &self.company.legal_name)?;
        w.close("cac:PartyName")?;
        w.open("cac:PostalAddress")?;
        // A Swedish organisation number's company.
        w.country("SE")?;
        w.close("cac:PostalAddress")?;
        w.open("cac:PartyLegalEntity")?;
        w.leaf("cbc:RegistrationName", &self.company.legal_name)?;
        w.leaf_with(
            "cbc:CompanyID",
            ("schemeID", SCHEME_SE_ORG),
            &self.company_number,
        )?;
        w.close("cac:PartyLegalEntity")?;
        if !(self.buyer_name.is_empty() && self.buyer_email.is_empty()) {
            w.open("cac:Contact")?;
            if !self.buyer_name.is_empty() {
                w.leaf("cbc:Name", self.buyer_name)?;
            }
            if !self.buyer_email.is_empty() {
                w.leaf("cbc:ElectronicMail", self.buyer_email)?;
            }
            w.close("cac:Contact")?;
        }
        w.close("cac:Party")?;
        w.close("cac:AccountingCustomerParty")?;

        w.open("cac:PaymentMeans")?;
        // Credit transfer; the Bankgiro named as Peppol's Swedish rules ask.
        w.leaf("cbc:PaymentMeansCode", "30")?;
        w.leaf("cbc:PaymentID", inv.ocr.as_str())?;
        w.open("cac:PayeeFinancialAccount")?;
        w.leaf("cbc:ID", &self.bankgiro)?;
        w.open("cac:FinancialInstitutionBranch")?;
        w.leaf("cbc:ID", "SE:BANKGIRO")?;
        w.close("cac:FinancialInstitutionBranch")?;
        w.close("cac:PayeeFinancialAccount")?;
        w.close("cac:PaymentMeans")?;

        w.open("cac:TaxTotal")?;
        w.amount("cbc:TaxAmount", cur, &self.tax_total)?;
        for s in &self.subtotals {
            w.open("cac:TaxSubtotal")?;
            w.amount("cbc:TaxableAmount", cur, &s.taxable)?;
            w.amount("cbc:TaxAmount", cur, &s.tax)?;
            w.open("cac:TaxCategory")?;
            w.leaf("cbc:ID", "S")?;
            w.leaf("cbc:Percent", &s.percent)?;
            w.tax_scheme()?;
            w.close("cac:TaxCategory")?;
            w.close("cac:TaxSubtotal")?;
        }
        w.close("cac:TaxTotal")?;

        w.open("cac:LegalMonetaryTotal")?;
        w.amount("cbc:LineExtensionAmount", cur, &self.line_total)?;
        w.amount("cbc:TaxExclusiveAmount", cur, &self.line_total)?;
        w.amount("cbc:TaxInclusiveAmount", cur, &self.gross)?;
        w.amount("cbc:PayableAmount", cur, &self.gross)?;
        w.close("cac:LegalMonetaryTotal")?;

        for (i, l) in self.lines.iter().enumerate() {
            w.open("cac:InvoiceLine")?;
            w.leaf("cbc:ID", &(i + 1).to_string())?;
            w.leaf_with("cbc:InvoicedQuantity", ("unitCode", l.unit), &l.quantity)?;
            w.amount("cbc:LineExtensionAmount", cur, &l.net)?;
            w.open("cac:Item")?;
            w.leaf("cbc:Description", &l.description)?;
            w.leaf("cbc:Name", &l.name)?;
            w.open("cac:SellersItemIdentification")?;
            w.leaf("cbc:ID", &l.session)?;
            w.close("cac:SellersItemIdentification")?;
            w.open("cac:ClassifiedTaxCategory")?;
            w.leaf("cbc:ID", "S")?;
            w.leaf("cbc:Percent", &l.percent)?;
            w.tax_scheme()?;
            w.close("cac:ClassifiedTaxCategory")?;
            w.close("cac:Item")?;
            w.open("cac:Price")?;
            w.amount("cbc:PriceAmount", cur, &l.price)?;
            w.close("cac:Price")?;
            w.close("cac:InvoiceLine")?;
        }
        w.close("Invoice")?;
        Ok(w.0.into_inner())
    }
}

impl Line {
    /// A fee's or one-off charge's line: one piece (`C62`) at its net, its
    /// name as the item's name, its days or date as the description, its
    /// id as the seller's item id.
    fn of_charge(n: usize, l: &ChargeLine) -> Result<Self, PeppolError> {
        let net = amount(&format!("line {n}'s net"), l.net)?;
        if l.net.is_sign_negative() || l.vat_rate <= Decimal::ZERO {
            return Err(PeppolError::Figures(format!(
                "line {n} ({}) is at {} % VAT and {} net: only standard-rated, non-negative lines are written",
                l.source_id(),
                percent(l.vat_rate)?,
                l.net
            )));
        }
        let description = match &l.kind {
            ChargeKind::Fee {
                from,
                to,
                days,
                days_in_month,
                ..
            } => format!("monthly fee {from} – {to}, {days} of {days_in_month} days"),
            ChargeKind::OneOff { date, .. } => format!("one-off charge of {date}"),
        };
        Ok(Line {
            quantity: "1".to_owned(),
            unit: UNIT_PIECE,
            net: net.clone(),
            price: net,
            percent: percent(l.vat_rate)?,
            name: l.description.clone(),
            description,
            session: l.source_id().to_owned(),
        })
    }

    fn of(n: usize, l: &InvoiceLine) -> Result<Self, PeppolError> {
        let net = amount(&format!("line {n}'s net"), l.net)?;
        if l.net.is_sign_negative() || l.vat_rate <= Decimal::ZERO {
            // Category S is for a positive rate; a line at 0 % needs a
            // category (zero-rated, exempt) and reason the invoice does not
            // hold, and a negative line a credit note.
            return Err(PeppolError::Figures(format!(
                "line {n} ({}) is at {} % VAT and {} net: only standard-rated, non-negative lines are written",
                l.session_id,
                percent(l.vat_rate)?,
                l.net
            )));
        }
        let average = (l.energy_kwh > Decimal::ZERO)
            .then(|| l.net.checked_div(l.energy_kwh))
            .flatten()
            .map(|p| {
                p.round_dp_with_strategy(PRICE_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
            })
            .filter(|p| {
                // PEPPOL-EN16931-R120: quantity × price is the net within 0.02.
                l.energy_kwh
                    .checked_mul(*p)
                    .is_some_and(|x| (x - l.net).abs() <= Decimal::new(1, 2))
            });
        let (quantity, unit, price) = match average {
            Some(p) => (l.energy_kwh.normalize().to_string(), UNIT_KWH, p),
            // A session without energy (a fee, a minimum price): one piece.
            None => ("1".to_owned(), UNIT_PIECE, l.net),
        };
        // At least two decimals, like the other amounts.
        let mut price = price.normalize();
        if price.scale() < 2 {
            price.rescale(2);
        }
        Ok(Line {
            quantity,
            unit,
            net,
            price: price.to_string(),
            percent: percent(l.vat_rate)?,
            name: format!("{} {}", l.station_id, l.tariff_name),
            description: format!(
                "{} – {}, {} kWh",
                l.started_at.format("%Y-%m-%d %H:%M UTC"),
                l.ended_at.format("%Y-%m-%d %H:%M UTC"),
                l.energy_kwh.normalize()
            ),
            session: l.session_id.to_string(),
        })
    }
}

/// The writer with the few shapes UBL needs; no element is ever empty
/// (Peppol refuses empty elements, PEPPOL-EN16931-R008).
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn open(&mut self, name: &str) -> io::Result<()> {
        self.0.write_event(Event::Start(BytesStart::new(name)))
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.0.write_event(Event::End(BytesEnd::new(name)))
    }

    fn leaf(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.nonempty(name, text)?;
        self.0
            .create_element(name)
            .write_text_content(BytesText::new(text))?;
        Ok(())
    }

    fn leaf_with(&mut self, name: &str, attr: (&str, &str), text: &str) -> io::Result<()> {
        self.nonempty(name, text)?;
        self.0
            .create_element(name)
            .with_attribute(attr)
            .write_text_content(BytesText::new(text))?;
        Ok(())
    }

    fn amount(&mut self, name: &str, currency: &str, value: &str) -> io::Result<()> {
        self.leaf_with(name, ("currencyID", currency), value)
    }

    fn country(&mut self, code: &str) -> io::Result<()> {
        self.open("cac:Country")?;
        self.leaf("cbc:IdentificationCode", code)?;
        self.close("cac:Country")
    }

    fn tax_scheme(&mut self) -> io::Result<()> {
        self.open("cac:TaxScheme")?;
        self.leaf("cbc:ID", "VAT")?;
        self.close("cac:TaxScheme")
    }

    fn nonempty(&self, name: &str, text: &str) -> io::Result<()> {
        if text.trim().is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{name} would be empty"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::billing::invoice::{Buyer, InvoiceNumber, InvoiceParts, Seller};
    use csms_domain::billing::ocr::OcrReference;
    use csms_domain::billing::period::Period;
    use csms_domain::tenant::{Language, OrgKind};
    use csms_domain::user::UserId;
    use csms_domain::{OrgId, SessionId, StationId, Timestamp};

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn line(i: usize, kwh: &str, rate: &str, net: &str, vat: &str) -> InvoiceLine {
        let start: Timestamp = "2026-11-03T17:00:00Z".parse().unwrap();
        let start = start + chrono::TimeDelta::hours(i as i64 * 3);
        InvoiceLine {
            session_id: SessionId::parse(format!("CP-101~{}", 100 + i)).unwrap(),
            station_id: StationId::parse("CP-101").unwrap(),
            started_at: start,
            ended_at: start + chrono::TimeDelta::minutes(135),
            energy_kwh: dec(kwh),
            tariff_name: "Hem".into(),
            price_revision: 1,
            vat_rate: dec(rate),
            net: dec(net),
            vat: dec(vat),
            gross: dec(net) + dec(vat),
        }
    }

    fn invoice(lines: Vec<InvoiceLine>) -> Invoice {
        invoice_with(lines, Vec::new())
    }

    fn invoice_with(lines: Vec<InvoiceLine>, charges: Vec<ChargeLine>) -> Invoice {
        let mut inv = Invoice::issue(InvoiceParts {
            org_id: OrgId::parse("brf-solsidan").unwrap(),
            period: Period::parse("2026-11").unwrap(),
            number: InvoiceNumber::new("F-", 17).unwrap(),
            currency: "SEK".into(),
            issue_date: "2026-12-01".parse().unwrap(),
            due_date: "2026-12-31".parse().unwrap(),
            seller: Seller {
                legal_name: "Bostadsrättsföreningen Solsidan & Co".into(),
                organisation_number: Some("769600-1234".into()),
                vat_number: Some("SE769600123401".into()),
                address: Some("Storgatan 1, 352 30 Växjö".into()),
            },
            buyer: Buyer {
                user_id: UserId::parse("usr_01JABCDEFGHJKMNPQRSTVWXYZ0").unwrap(),
                name: "Åsa <Öberg>".into(),
                email: "asa@example.se".into(),
            },
            lines,
            charges,
            created_at: "2026-12-01T06:00:00Z".parse().unwrap(),
        })
        .unwrap();
        inv.ocr = OcrReference::for_invoice(3, 17).unwrap();
        inv
    }

    fn org() -> Organisation {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        Organisation {
            id: OrgId::parse("brf-solsidan").unwrap(),
            kind: OrgKind::Brf,
            legal_name: "Bostadsrättsföreningen Solsidan & Co".into(),
            organisation_number: Some(OrganisationNumber::parse("769600-1234").unwrap()),
            vat_number: Some(VatNumber::parse("SE769600123401").unwrap()),
            address: Some(Address::parse("Storgatan 1", "35230", "Växjö", "SE").unwrap()),
            contact_email: None,
            language: Language::Sv,
            payout_account: None,
            payment_terms: None,
            dunning: None,
            invoice_run_day: None,
            payout_terms: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn company() -> BuyerCompany {
        BuyerCompany {
            legal_name: "Bergs Bygg AB".into(),
            organisation_number: OrganisationNumber::parse("556677-8899").unwrap(),
        }
    }

    fn xml_for(
        inv: &Invoice,
        org: &Organisation,
        company: Option<&BuyerCompany>,
    ) -> Result<String, PeppolError> {
        let bankgiro = Bankgiro::parse("5050-1055").unwrap();
        invoice_xml(
            inv,
            &PeppolContext {
                seller: org,
                bankgiro: &bankgiro,
                buyer_company: company,
            },
        )
        .map(|b| String::from_utf8(b).unwrap())
    }

    fn xml(inv: &Invoice, org: &Organisation) -> Result<String, PeppolError> {
        xml_for(inv, org, Some(&company()))
    }

    fn two_rates() -> Invoice {
        invoice(vec![
            line(0, "12.345", "0.25", "40.00", "10.00"),
            line(1, "0", "0.25", "8.00", "2.00"),
            line(2, "10", "0.06", "100.00", "6.00"),
        ])
    }

    const CBC: &str = CBC_NS;
    const CAC: &str = CAC_NS;

    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> roxmltree::Node<'a, 'i> {
        n.children()
            .find(|c| c.has_tag_name((ns, name)))
            .unwrap_or_else(|| panic!("{name} under {:?}", n.tag_name().name()))
    }

    fn text<'a>(n: roxmltree::Node<'a, '_>, path: &[(&str, &str)]) -> &'a str {
        let mut n = n;
        for (ns, name) in path {
            n = child(n, ns, name);
        }
        n.text().unwrap_or("")
    }

    #[test]
    fn the_document_holds_the_invoice_s_parties_payment_and_figures() {
        let inv = two_rates();
        let s = xml(&inv, &org()).unwrap();
        let doc = roxmltree::Document::parse(&s).unwrap();
        let root = doc.root_element();
        assert!(root.has_tag_name((INVOICE_NS, "Invoice")));
        let names: Vec<&str> = root
            .children()
            .filter(|c| c.is_element())
            .map(|c| c.tag_name().name())
            .collect();
        // The UBL schema's order.
        assert_eq!(
            names,
            [
                "CustomizationID",
                "ProfileID",
                "ID",
                "IssueDate",
                "DueDate",
                "InvoiceTypeCode",
                "DocumentCurrencyCode",
                "BuyerReference",
                "InvoicePeriod",
                "AccountingSupplierParty",
                "AccountingCustomerParty",
                "PaymentMeans",
                "TaxTotal",
                "LegalMonetaryTotal",
                "InvoiceLine",
                "InvoiceLine",
                "InvoiceLine",
            ]
        );
        assert_eq!(text(root, &[(CBC, "CustomizationID")]), CUSTOMIZATION_ID);
        assert_eq!(text(root, &[(CBC, "ProfileID")]), PROFILE_ID);
        assert_eq!(text(root, &[(CBC, "ID")]), "F-17");
        assert_eq!(text(root, &[(CBC, "IssueDate")]), "2026-12-01");
        assert_eq!(text(root, &[(CBC, "DueDate")]), "2026-12-31");
        assert_eq!(text(root, &[(CBC, "DocumentCurrencyCode")]), "SEK");
        assert_eq!(
            text(root, &[(CAC, "InvoicePeriod"), (CBC, "EndDate")]),
            "2026-11-30"
        );

        let seller = child(child(root, CAC, "AccountingSupplierParty"), CAC, "Party");
        let endpoint = child(seller, CBC, "EndpointID");
        assert_eq!(
            (endpoint.attribute("schemeID"), endpoint.text()),
            (Some("0007"), Some("7696001234"))
        );
        assert_eq!(
            text(
                seller,
                &[(CAC, "PartyLegalEntity"), (CBC, "RegistrationName")]
            ),
            "Bostadsrättsföreningen Solsidan & Co"
        );
        let legal_id = child(child(seller, CAC, "PartyLegalEntity"), CBC, "CompanyID");
        assert_eq!(legal_id.attribute("schemeID"), Some("0007"));
        assert_eq!(
            text(seller, &[(CAC, "PartyTaxScheme"), (CBC, "CompanyID")]),
            "SE769600123401"
        );
        assert_eq!(
            text(seller, &[(CAC, "PostalAddress"), (CBC, "PostalZone")]),
            "352 30"
        );
        assert_eq!(
            text(
                seller,
                &[
                    (CAC, "PostalAddress"),
                    (CAC, "Country"),
                    (CBC, "IdentificationCode")
                ]
            ),
            "SE"
        );

        let buyer = child(child(root, CAC, "AccountingCustomerParty"), CAC, "Party");
        let endpoint = child(buyer, CBC, "EndpointID");
        assert_eq!(
            (endpoint.attribute("schemeID"), endpoint.text()),
            (Some("0007"), Some("5566778899"))
        );
        assert_eq!(
            text(
                buyer,
                &[(CAC, "PartyLegalEntity"), (CBC, "RegistrationName")]
            ),
            "Bergs Bygg AB"
        );
        assert_eq!(
            text(buyer, &[(CAC, "Contact"), (CBC, "Name")]),
            "Åsa <Öberg>",
            "escaped and read back"
        );
        assert_eq!(
            text(buyer, &[(CAC, "Contact"), (CBC, "ElectronicMail")]),
            "asa@example.se"
        );

        let pay = child(root, CAC, "PaymentMeans");
        assert_eq!(text(pay, &[(CBC, "PaymentMeansCode")]), "30");
        assert_eq!(text(pay, &[(CBC, "PaymentID")]), inv.ocr.as_str());
        assert_eq!(
            text(pay, &[(CAC, "PayeeFinancialAccount"), (CBC, "ID")]),
            "50501055"
        );
        assert_eq!(
            text(
                pay,
                &[
                    (CAC, "PayeeFinancialAccount"),
                    (CAC, "FinancialInstitutionBranch"),
                    (CBC, "ID")
                ]
            ),
            "SE:BANKGIRO"
        );

        let tax = child(root, CAC, "TaxTotal");
        let amount = child(tax, CBC, "TaxAmount");
        assert_eq!(
            (amount.attribute("currencyID"), amount.text()),
            (Some("SEK"), Some("18.00"))
        );
        let subtotals: Vec<(&str, &str, &str)> = tax
            .children()
            .filter(|c| c.has_tag_name((CAC, "TaxSubtotal")))
            .map(|s| {
                (
                    text(s, &[(CBC, "TaxableAmount")]),
                    text(s, &[(CBC, "TaxAmount")]),
                    text(s, &[(CAC, "TaxCategory"), (CBC, "Percent")]),
                )
            })
            .collect();
        assert_eq!(
            subtotals,
            [("100.00", "6.00", "6"), ("48.00", "12.00", "25")]
        );

        let totals = child(root, CAC, "LegalMonetaryTotal");
        for (name, want) in [
            ("LineExtensionAmount", "148.00"),
            ("TaxExclusiveAmount", "148.00"),
            ("TaxInclusiveAmount", "166.00"),
            ("PayableAmount", "166.00"),
        ] {
            assert_eq!(text(totals, &[(CBC, name)]), want, "{name}");
        }
        assert!(totals
            .children()
            .all(|c| !c.has_tag_name((CBC, "PayableRoundingAmount"))));

        let lines: Vec<(&str, Option<&str>, &str, &str, &str)> = root
            .children()
            .filter(|c| c.has_tag_name((CAC, "InvoiceLine")))
            .map(|l| {
                let q = child(l, CBC, "InvoicedQuantity");
                (
                    q.text().unwrap(),
                    q.attribute("unitCode"),
                    text(l, &[(CBC, "LineExtensionAmount")]),
                    text(l, &[(CAC, "Price"), (CBC, "PriceAmount")]),
                    text(
                        l,
                        &[
                            (CAC, "Item"),
                            (CAC, "ClassifiedTaxCategory"),
                            (CBC, "Percent"),
                        ],
                    ),
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                // 40.00 / 12.345 kWh = 3.240178…; × 12.345 = 39.99999…
                ("12.345", Some("KWH"), "40.00", "3.240178", "25"),
                ("1", Some("C62"), "8.00", "8.00", "25"),
                ("10", Some("KWH"), "100.00", "10.00", "6"),
            ]
        );
    }

    #[test]
    fn fees_and_charges_are_lines_of_one_piece_after_the_sessions() {
        use csms_domain::billing::fee::{ChargeId, FeeId};
        let fee_id = FeeId::generate();
        let inv = invoice_with(
            vec![line(0, "12.345", "0.25", "40.00", "10.00")],
            vec![
                ChargeLine {
                    kind: ChargeKind::Fee {
                        fee_id: fee_id.clone(),
                        from: "2026-11-16".parse().unwrap(),
                        to: "2026-11-30".parse().unwrap(),
                        days: 15,
                        days_in_month: 30,
                    },
                    description: "Parkeringsplats 12".into(),
                    vat_rate: "0.25".parse().unwrap(),
                    net: "200.00".parse().unwrap(),
                    vat: "50.00".parse().unwrap(),
                    gross: "250.00".parse().unwrap(),
                },
                ChargeLine {
                    kind: ChargeKind::OneOff {
                        charge_id: ChargeId::generate(),
                        date: "2026-11-20".parse().unwrap(),
                    },
                    description: "Ny nyckelbricka".into(),
                    vat_rate: "0.25".parse().unwrap(),
                    net: "80.00".parse().unwrap(),
                    vat: "20.00".parse().unwrap(),
                    gross: "100.00".parse().unwrap(),
                },
            ],
        );
        let s = xml(&inv, &org()).unwrap();
        let doc = roxmltree::Document::parse(&s).unwrap();
        let root = doc.root_element();
        let lines: Vec<_> = root
            .children()
            .filter(|c| c.has_tag_name((CAC, "InvoiceLine")))
            .collect();
        assert_eq!(lines.len(), 3);
        let fee = lines[1];
        assert_eq!(text(fee, &[(CBC, "ID")]), "2");
        assert_eq!(
            child(fee, CBC, "InvoicedQuantity").attribute("unitCode"),
            Some("C62")
        );
        assert_eq!(text(fee, &[(CBC, "LineExtensionAmount")]), "200.00");
        assert_eq!(
            text(fee, &[(CAC, "Item"), (CBC, "Name")]),
            "Parkeringsplats 12"
        );
        assert_eq!(
            text(
                fee,
                &[
                    (CAC, "Item"),
                    (CAC, "SellersItemIdentification"),
                    (CBC, "ID")
                ]
            ),
            fee_id.as_str()
        );
        let totals = child(root, CAC, "LegalMonetaryTotal");
        assert_eq!(text(totals, &[(CBC, "LineExtensionAmount")]), "320.00");
        assert_eq!(text(totals, &[(CBC, "PayableAmount")]), "400.00");
    }

    #[test]
    fn quantity_times_price_is_the_line_s_net_within_peppol_s_slack() {
        for (kwh, net) in [
            ("0.001", "0.01"),
            ("7.777", "23.45"),
            ("19999.999", "54321.99"),
            ("3", "10.00"),
        ] {
            let l = Line::of(1, &line(0, kwh, "0.25", net, "0.00")).unwrap();
            let q: Decimal = l.quantity.parse().unwrap();
            let p: Decimal = l.price.parse().unwrap();
            assert!(
                (q * p - dec(net)).abs() <= dec("0.02"),
                "{kwh} kWh × {} is not {net}",
                l.price
            );
        }
    }

    #[test]
    fn a_seller_without_an_organisation_number_gets_no_file() {
        let mut inv = two_rates();
        inv.seller.organisation_number = None;
        let mut o = org();
        // The record's number stands in for one the invoice was issued without.
        assert!(xml(&inv, &o).unwrap().contains(">7696001234<"));
        o.organisation_number = None;
        match xml(&inv, &o) {
            Err(PeppolError::Missing { field, .. }) => assert_eq!(field, "organisationNumber"),
            other => panic!("{other:?}"),
        }
        let mut o = org();
        o.address = None;
        assert!(matches!(
            xml(&two_rates(), &o),
            Err(PeppolError::Missing {
                field: "address",
                ..
            })
        ));
        let mut inv = two_rates();
        inv.seller.vat_number = None;
        let mut o = org();
        o.vat_number = None;
        assert!(matches!(
            xml(&inv, &o),
            Err(PeppolError::Missing {
                field: "vatNumber",
                ..
            })
        ));
        // A driver who charges privately has no Peppol address.
        assert!(matches!(
            xml_for(&two_rates(), &org(), None),
            Err(PeppolError::Missing {
                field: "company",
                ..
            })
        ));
    }

    #[test]
    fn figures_the_rules_cannot_carry_are_refused_not_rounded() {
        // Three decimals: refused.
        let inv = invoice(vec![line(0, "1", "0.25", "40.001", "10.00")]);
        assert!(matches!(xml(&inv, &org()), Err(PeppolError::Figures(_))));
        // A 0 % line has no category in the invoice.
        let inv = invoice(vec![line(0, "1", "0", "40.00", "0.00")]);
        assert!(matches!(xml(&inv, &org()), Err(PeppolError::Figures(_))));
        // 250 lines of 0.02 net each with 0.01 VAT (0.005 rounded up): the
        // lines' VAT is 2.50, the rate on the sum (5.00) gives 1.25: more than
        // BR-CO-17's one unit apart.
        let lines = (0..250)
            .map(|i| line(i, "0.01", "0.25", "0.02", "0.01"))
            .collect();
        let err = xml(&invoice(lines), &org()).unwrap_err();
        assert!(err.to_string().contains("BR-CO-17"), "{err}");
        // 40 such lines stay within it and are written as issued.
        let lines = (0..40)
            .map(|i| line(i, "0.01", "0.25", "0.02", "0.01"))
            .collect();
        let s = xml(&invoice(lines), &org()).unwrap();
        assert!(
            s.contains(r#"<cbc:TaxAmount currencyID="SEK">0.40</cbc:TaxAmount>"#),
            "{s}"
        );
    }

    #[test]
    fn one_invoice_gives_the_same_bytes() {
        let inv = two_rates();
        assert_eq!(xml(&inv, &org()), xml(&inv, &org()));
        assert_eq!(filename(&inv), "faktura-F-17.xml");
    }
}
