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
//! - **Buyer**: the company the driver charged for (`PUT /me/company`) when
//!   the invoice was issued, kept with the invoice
//!   ([`csms_domain::billing::invoice::ChargedFor`]; only an
//!   invoice issued before that was kept reads the driver's record now):
//!   its organisation number as the electronic address and legal id (scheme
//!   `0007`), its legal name, Sweden as its country (its address is not
//!   kept), and the driver as the contact (name, e-mail). A driver who
//!   charged privately gets no file: Peppol has no electronic address scheme
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
//! - **Credit notes** ([`credit_note_xml`]): a UBL `CreditNote` (type
//!   `381`) with the same parties as its invoice (both as issued), a
//!   `BillingReference` to the invoice's number and date, the reason as its
//!   note, no payment means (nothing is to be paid), and its figures as
//!   positive amounts, as the document kind states them: a credited session
//!   or fee line as the invoice wrote it, a credited amount as one piece.
//!
//! What the file cannot say truthfully is refused with the field it needs
//! ([`PeppolError`]) instead of writing a file a receiver would reject.

use chrono::NaiveDate;
use csms_domain::billing::credit_note::{CreditNote, CreditedItem};
use csms_domain::billing::invoice::{
    Buyer, ChargeKind, ChargeLine, Invoice, InvoiceLine, Seller, VatAmount,
};
use csms_domain::billing::period::Period;
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
const CREDIT_NOTE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
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

/// What the file needs besides the document.
pub struct PeppolContext<'a> {
    /// The seller's current record (its postal address, and the numbers if
    /// the document was issued without them).
    pub seller: &'a Organisation,
    /// The Bankgiro the invoice is paid to (`CSMS_BANKGIRO`).
    pub bankgiro: &'a Bankgiro,
    /// The company on the driver's record now: read only for a document
    /// issued before the buyer's company was kept with it
    /// (`ChargedFor::Unrecorded`); every later one names its own.
    pub current_company: Option<&'a BuyerCompany>,
}

/// The file's name: `faktura-17.xml`.
pub fn filename(invoice: &Invoice) -> String {
    format!("faktura-{}.xml", invoice.number)
}

/// A credit note's file name: `kreditfaktura-K1.xml`.
pub fn credit_note_filename(note: &CreditNote) -> String {
    format!("kreditfaktura-{}.xml", note.number)
}

/// The invoice as a Peppol BIS Billing 3.0 UBL document (UTF-8).
pub fn invoice_xml(invoice: &Invoice, ctx: &PeppolContext<'_>) -> Result<Vec<u8>, PeppolError> {
    let doc = Document::of_invoice(invoice, ctx)?;
    doc.write()
        .map_err(|e| PeppolError::Figures(format!("the XML could not be written: {e}")))
}

/// The credit note of `invoice` (the invoice it credits) as a Peppol BIS
/// Billing 3.0 UBL `CreditNote` (UTF-8): type 381, a billing reference to
/// the invoice's number and date, the same parties as the invoice, and its
/// amounts positive, as a credit note document states them (the note's own
/// figures are negative: what it takes off).
pub fn credit_note_xml(
    note: &CreditNote,
    invoice: &Invoice,
    ctx: &PeppolContext<'_>,
) -> Result<Vec<u8>, PeppolError> {
    let doc = Document::of_credit_note(note, invoice, ctx)?;
    doc.write()
        .map_err(|e| PeppolError::Figures(format!("the XML could not be written: {e}")))
}

/// Everything the document says, checked and formatted before a byte is
/// written.
struct Document<'a> {
    kind: Kind<'a>,
    number: String,
    issue_date: NaiveDate,
    currency: &'a str,
    /// The buyer's reference: no purchase order exists, so the driver's id.
    buyer_reference: String,
    period: Period,
    parties: Parties<'a>,
    lines: Vec<Line>,
    subtotals: Vec<Subtotal>,
    line_total: String,
    tax_total: String,
    gross: String,
}

/// What an invoice and a credit note say differently.
enum Kind<'a> {
    Invoice {
        due_date: NaiveDate,
        ocr: &'a str,
        bankgiro: String,
    },
    CreditNote {
        reason: &'a str,
        invoice_number: String,
        invoice_date: NaiveDate,
    },
}

impl Kind<'_> {
    /// The root element and its namespace, the type code's element and
    /// value, the line's element and its quantity's.
    fn names(
        &self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        match self {
            Kind::Invoice { .. } => (
                "Invoice",
                INVOICE_NS,
                "cbc:InvoiceTypeCode",
                "380",
                "cac:InvoiceLine",
                "cbc:InvoicedQuantity",
            ),
            Kind::CreditNote { .. } => (
                "CreditNote",
                CREDIT_NOTE_NS,
                "cbc:CreditNoteTypeCode",
                "381",
                "cac:CreditNoteLine",
                "cbc:CreditedQuantity",
            ),
        }
    }
}

/// The seller and the buyer, as the document was issued.
struct Parties<'a> {
    seller_name: &'a str,
    org_number: String,
    vat_number: String,
    address: &'a Address,
    company: &'a BuyerCompany,
    company_number: String,
    buyer_email: &'a str,
    buyer_name: &'a str,
}

struct Line {
    quantity: String,
    unit: &'static str,
    net: String,
    price: String,
    percent: String,
    name: String,
    description: String,
    /// The seller's id of the item (a session's, a fee's or charge's);
    /// none for a credited amount.
    item_id: Option<String>,
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

impl<'a> Parties<'a> {
    /// The seller as `seller` was printed (the record filling in missing
    /// numbers, and giving the address) and the buyer as `buyer` was
    /// issued.
    fn of(
        seller: &'a Seller,
        buyer: &'a Buyer,
        ctx: &PeppolContext<'a>,
    ) -> Result<Self, PeppolError> {
        let org = ctx.seller;
        let org_number = match (&seller.organisation_number, &org.organisation_number) {
            (Some(n), _) => OrganisationNumber::parse(n).map_err(|e| {
                PeppolError::Figures(format!("the document's organisation number {n}: {}", e.0))
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
            match (&seller.vat_number, &org.vat_number) {
                (Some(n), _) => VatNumber::parse(n).map_err(|e| {
                    PeppolError::Figures(format!("the document's VAT number {n}: {}", e.0))
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
        let company = buyer
            .charged_for
            .company(ctx.current_company)
            .ok_or_else(|| {
                missing(
                    "company",
                    "the driver charged privately when it was issued; a Peppol invoice's buyer is a company with an organisation number (PUT /me/company), as Peppol has no electronic address for a person",
                )
            })?;
        Ok(Parties {
            seller_name: &seller.legal_name,
            org_number: org_number.as_str().replace('-', ""),
            vat_number: vat_number.as_str().to_owned(),
            address,
            company,
            company_number: company.organisation_number.as_str().replace('-', ""),
            buyer_email: buyer.email.trim(),
            buyer_name: buyer.name.trim(),
        })
    }
}

/// A `TaxSubtotal` per rate, after BR-CO-17's check: a rate's VAT is its
/// taxable amount times the rate, within one unit. A document's VAT is the
/// sum of its lines' (each rounded to öre), which stays within that unless
/// a rate has some two hundred lines; then the file would not be true to
/// the document and the rules at once, so there is none.
fn subtotals(vat: &[VatAmount]) -> Result<Vec<Subtotal>, PeppolError> {
    let mut out = Vec::with_capacity(vat.len());
    for v in vat {
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
        out.push(Subtotal {
            taxable: amount("the taxable amount", v.net)?,
            tax: amount("the VAT", v.vat)?,
            percent: percent(v.rate)?,
        });
    }
    Ok(out)
}

/// BR-CO-10 and BR-CO-15: the lines' nets sum to the net, and net and VAT
/// to the gross, as issued.
fn check_sums(
    what: &str,
    mut nets: impl Iterator<Item = Decimal>,
    net: Decimal,
    vat: Decimal,
    gross: Decimal,
) -> Result<(), PeppolError> {
    let line_sum = nets
        .try_fold(Decimal::ZERO, |s, n| s.checked_add(n))
        .ok_or_else(|| PeppolError::Figures("the lines' sum overflows".into()))?;
    if line_sum != net || net.checked_add(vat) != Some(gross) {
        return Err(PeppolError::Figures(format!(
            "{what}: its totals are not its lines' sums"
        )));
    }
    Ok(())
}

impl<'a> Document<'a> {
    fn of_invoice(invoice: &'a Invoice, ctx: &PeppolContext<'a>) -> Result<Self, PeppolError> {
        let parties = Parties::of(&invoice.seller, &invoice.buyer, ctx)?;
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
        check_sums(
            &format!("invoice {}", invoice.number),
            invoice
                .lines
                .iter()
                .map(|l| l.net)
                .chain(invoice.charges.iter().map(|l| l.net)),
            invoice.net,
            invoice.vat_total,
            invoice.gross,
        )?;
        Ok(Document {
            kind: Kind::Invoice {
                due_date: invoice.due_date,
                ocr: invoice.ocr.as_str(),
                bankgiro: ctx.bankgiro.as_str().replace('-', ""),
            },
            number: invoice.number.to_string(),
            issue_date: invoice.issue_date,
            currency: &invoice.currency,
            buyer_reference: invoice.user_id.to_string(),
            period: invoice.period,
            parties,
            lines,
            subtotals: subtotals(&invoice.vat)?,
            line_total: amount("the net total", invoice.net)?,
            tax_total: amount("the VAT total", invoice.vat_total)?,
            gross: amount("the gross total", invoice.gross)?,
        })
    }

    /// The note's figures negated (a credit note states what it credits as
    /// positive amounts); a credited session or fee line is written as the
    /// invoice wrote it, an amount as one piece.
    fn of_credit_note(
        note: &'a CreditNote,
        invoice: &'a Invoice,
        ctx: &PeppolContext<'a>,
    ) -> Result<Self, PeppolError> {
        if note.invoice_id != invoice.id {
            return Err(PeppolError::Figures(format!(
                "credit note {} credits invoice {}, not {}",
                note.number, note.invoice_id, invoice.id
            )));
        }
        let parties = Parties::of(&note.seller, &note.buyer, ctx)?;
        let neg = |what: &str, v: Decimal| -> Result<Decimal, PeppolError> {
            if v.is_sign_positive() && !v.is_zero() {
                return Err(PeppolError::Figures(format!(
                    "credit note {}: {what} {v} is not a credit",
                    note.number
                )));
            }
            Ok(-v)
        };
        let mut lines = Vec::with_capacity(note.lines.len());
        for (i, l) in note.lines.iter().enumerate() {
            let n = i + 1;
            let net = neg(&format!("line {n}'s net"), l.net)?;
            let line = match &l.item {
                CreditedItem::Session(id) => {
                    let line = invoice
                        .lines
                        .iter()
                        .find(|x| &x.session_id == id)
                        .ok_or_else(|| {
                            PeppolError::Figures(format!(
                            "credit note {} credits session {id}, which invoice {} does not have",
                            note.number, invoice.number
                        ))
                        })?;
                    Line::of(n, line).and_then(|w| w.crediting(net, line.net))?
                }
                CreditedItem::Charge(id) => {
                    let line = invoice
                        .charges
                        .iter()
                        .find(|x| x.source_id() == id)
                        .ok_or_else(|| {
                            PeppolError::Figures(format!(
                                "credit note {} credits {id}, which invoice {} does not have",
                                note.number, invoice.number
                            ))
                        })?;
                    Line::of_charge(n, line).and_then(|w| w.crediting(net, line.net))?
                }
                CreditedItem::Amount => Line::of_amount(n, net, l.vat_rate, &l.description)?,
            };
            lines.push(line);
        }
        let vat = note
            .vat
            .iter()
            .map(|v| {
                Ok(VatAmount {
                    rate: v.rate,
                    net: neg("a rate's net", v.net)?,
                    vat: neg("a rate's VAT", v.vat)?,
                    gross: neg("a rate's gross", v.gross)?,
                })
            })
            .collect::<Result<Vec<_>, PeppolError>>()?;
        let (net, vat_total, gross) = (
            neg("the net", note.net)?,
            neg("the VAT", note.vat_total)?,
            neg("the gross", note.gross)?,
        );
        check_sums(
            &format!("credit note {}", note.number),
            note.lines.iter().map(|l| -l.net),
            net,
            vat_total,
            gross,
        )?;
        Ok(Document {
            kind: Kind::CreditNote {
                reason: &note.reason,
                invoice_number: invoice.number.to_string(),
                invoice_date: invoice.issue_date,
            },
            number: note.number.to_string(),
            issue_date: note.issue_date,
            currency: &note.currency,
            buyer_reference: note.user_id.to_string(),
            period: invoice.period,
            parties,
            lines,
            subtotals: subtotals(&vat)?,
            line_total: amount("the net total", net)?,
            tax_total: amount("the VAT total", vat_total)?,
            gross: amount("the gross total", gross)?,
        })
    }

    fn write(&self) -> io::Result<Vec<u8>> {
        let cur = self.currency;
        let (root, ns, type_element, type_code, line_element, quantity_element) = self.kind.names();
        let mut w = Xml(Writer::new_with_indent(Vec::new(), b' ', 2));
        w.0.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.0.write_event(Event::Start(BytesStart::new(root).with_attributes([
            ("xmlns", ns),
            ("xmlns:cac", CAC_NS),
            ("xmlns:cbc", CBC_NS),
        ])))?;
        w.leaf("cbc:CustomizationID", CUSTOMIZATION_ID)?;
        w.leaf("cbc:ProfileID", PROFILE_ID)?;
        w.leaf("cbc:ID", &self.number)?;
        w.leaf("cbc:IssueDate", &self.issue_date.to_string())?;
        if let Kind::Invoice { due_date, .. } = &self.kind {
            w.leaf("cbc:DueDate", &due_date.to_string())?;
        }
        // 380: a commercial invoice; 381: a credit note.
        w.leaf(type_element, type_code)?;
        if let Kind::CreditNote { reason, .. } = &self.kind {
            // Why it was credited (BT-22, one note at most: PEPPOL-EN16931-R002).
            w.leaf("cbc:Note", reason)?;
        }
        w.leaf("cbc:DocumentCurrencyCode", cur)?;
        w.leaf("cbc:BuyerReference", &self.buyer_reference)?;
        w.open("cac:InvoicePeriod")?;
        w.leaf("cbc:StartDate", &self.period.first_day().to_string())?;
        w.leaf("cbc:EndDate", &self.period.last_day().to_string())?;
        w.close("cac:InvoicePeriod")?;
        if let Kind::CreditNote {
            invoice_number,
            invoice_date,
            ..
        } = &self.kind
        {
            // The invoice it credits (BT-25, BT-26).
            w.open("cac:BillingReference")?;
            w.open("cac:InvoiceDocumentReference")?;
            w.leaf("cbc:ID", invoice_number)?;
            w.leaf("cbc:IssueDate", &invoice_date.to_string())?;
            w.close("cac:InvoiceDocumentReference")?;
            w.close("cac:BillingReference")?;
        }

        self.parties.write(&mut w)?;

        if let Kind::Invoice { ocr, bankgiro, .. } = &self.kind {
            w.open("cac:PaymentMeans")?;
            // Credit transfer; the Bankgiro named as Peppol's Swedish rules ask.
            w.leaf("cbc:PaymentMeansCode", "30")?;
            w.leaf("cbc:PaymentID", ocr)?;
            w.open("cac:PayeeFinancialAccount")?;
            w.leaf("cbc:ID", bankgiro)?;
            w.open("cac:FinancialInstitutionBranch")?;
            w.leaf("cbc:ID", "SE:BANKGIRO")?;
            w.close("cac:FinancialInstitutionBranch")?;
            w.close("cac:PayeeFinancialAccount")?;
            w.close("cac:PaymentMeans")?;
        }

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
            w.open(line_element)?;
            w.leaf("cbc:ID", &(i + 1).to_string())?;
            w.leaf_with(quantity_element, ("unitCode", l.unit), &l.quantity)?;
            w.amount("cbc:LineExtensionAmount", cur, &l.net)?;
            w.open("cac:Item")?;
            w.leaf("cbc:Description", &l.description)?;
            w.leaf("cbc:Name", &l.name)?;
            if let Some(id) = &l.item_id {
                w.open("cac:SellersItemIdentification")?;
                w.leaf("cbc:ID", id)?;
                w.close("cac:SellersItemIdentification")?;
            }
            w.open("cac:ClassifiedTaxCategory")?;
            w.leaf("cbc:ID", "S")?;
            w.leaf("cbc:Percent", &l.percent)?;
            w.tax_scheme()?;
            w.close("cac:ClassifiedTaxCategory")?;
            w.close("cac:Item")?;
            w.open("cac:Price")?;
            w.amount("cbc:PriceAmount", cur, &l.price)?;
            w.close("cac:Price")?;
            w.close(line_element)?;
        }
        w.close(root)?;
        Ok(w.0.into_inner())
    }
}

impl Parties<'_> {
    /// `AccountingSupplierParty` and `AccountingCustomerParty`, the same
    /// in an invoice and a credit note.
    fn write(&self, w: &mut Xml) -> io::Result<()> {
        w.open("cac:AccountingSupplierParty")?;
        w.open("cac:Party")?;
        w.leaf_with(
            "cbc:EndpointID",
            ("schemeID", SCHEME_SE_ORG),
            &self.org_number,
        )?;
        w.open("cac:PartyName")?;
        w.leaf("cbc:Name", self.seller_name)?;
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
        w.leaf("cbc:RegistrationName", self.seller_name)?;
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
        w.close("cac:AccountingCustomerParty")
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
            item_id: Some(l.source_id().to_owned()),
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
            item_id: Some(l.session_id.to_string()),
        })
    }

    /// This invoice line in a credit note that credits it whole: its net
    /// (`credited`, positive) must be the invoice line's.
    fn crediting(self, credited: Decimal, invoiced: Decimal) -> Result<Self, PeppolError> {
        if credited != invoiced {
            return Err(PeppolError::Figures(format!(
                "a credited line of {credited} is not its invoice line's {invoiced}"
            )));
        }
        Ok(self)
    }

    /// A credited amount: one piece at its net (positive), at its rate,
    /// named by the note's reason.
    fn of_amount(
        n: usize,
        net: Decimal,
        rate: Decimal,
        description: &str,
    ) -> Result<Self, PeppolError> {
        let net_text = amount(&format!("line {n}'s net"), net)?;
        if rate <= Decimal::ZERO || net.is_sign_negative() {
            return Err(PeppolError::Figures(format!(
                "line {n} is at {} % VAT and {net} net: only standard-rated credits are written",
                percent(rate)?
            )));
        }
        Ok(Line {
            quantity: "1".to_owned(),
            unit: UNIT_PIECE,
            net: net_text.clone(),
            price: net_text,
            description: format!("an amount credited at {} % VAT", percent(rate)?),
            percent: percent(rate)?,
            name: description.to_owned(),
            item_id: None,
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
    use csms_domain::billing::credit_note::{self, CreditAmount, CreditHeader, CreditRequest};
    use csms_domain::billing::invoice::{Buyer, ChargedFor, InvoiceNumber, InvoiceParts, Seller};
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
                charged_for: ChargedFor::Company(company()),
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
        let mut inv = inv.clone();
        inv.buyer.charged_for = ChargedFor::of(company);
        invoice_xml(
            &inv,
            &PeppolContext {
                seller: org,
                bankgiro: &bankgiro,
                current_company: None,
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

    fn credit(inv: &Invoice, seq: u64, request: &CreditRequest) -> CreditNote {
        credit_note::credit(
            inv,
            &[],
            request,
            CreditHeader {
                number: credit_note::number(seq).unwrap(),
                issue_date: "2026-12-10".parse().unwrap(),
                created_by: "user:a".into(),
                created_at: "2026-12-10T09:00:00Z".parse().unwrap(),
            },
        )
        .unwrap()
    }

    fn note_xml(note: &CreditNote, inv: &Invoice, current: Option<&BuyerCompany>) -> String {
        let bankgiro = Bankgiro::parse("5050-1055").unwrap();
        let bytes = credit_note_xml(
            note,
            inv,
            &PeppolContext {
                seller: &org(),
                bankgiro: &bankgiro,
                current_company: current,
            },
        )
        .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_credit_note_is_a_ubl_credit_note_of_positive_amounts_referring_to_its_invoice() {
        let inv = two_rates();
        // The 6 % session whole, and 12.50 including VAT at 25 %.
        let note = credit(
            &inv,
            1,
            &CreditRequest {
                sessions: vec![inv.lines[2].session_id.clone()],
                charges: vec![],
                amount: Some(CreditAmount {
                    amount: dec("12.50"),
                    includes_vat: true,
                    vat_rate: dec("0.25"),
                }),
                reason: "Fel pris".into(),
            },
        );
        assert_eq!(note.gross, dec("-118.50"));
        let s = note_xml(&note, &inv, None);
        let doc = roxmltree::Document::parse(&s).unwrap();
        let root = doc.root_element();
        assert!(root.has_tag_name((CREDIT_NOTE_NS, "CreditNote")));
        let names: Vec<&str> = root
            .children()
            .filter(|c| c.is_element())
            .map(|c| c.tag_name().name())
            .collect();
        assert_eq!(
            names,
            [
                "CustomizationID",
                "ProfileID",
                "ID",
                "IssueDate",
                "CreditNoteTypeCode",
                "Note",
                "DocumentCurrencyCode",
                "BuyerReference",
                "InvoicePeriod",
                "BillingReference",
                "AccountingSupplierParty",
                "AccountingCustomerParty",
                "TaxTotal",
                "LegalMonetaryTotal",
                "CreditNoteLine",
                "CreditNoteLine",
            ]
        );
        assert_eq!(text(root, &[(CBC, "ID")]), "K1");
        assert_eq!(text(root, &[(CBC, "CreditNoteTypeCode")]), "381");
        assert_eq!(text(root, &[(CBC, "Note")]), "Fel pris");
        let reference = child(
            child(root, CAC, "BillingReference"),
            CAC,
            "InvoiceDocumentReference",
        );
        assert_eq!(text(reference, &[(CBC, "ID")]), "F-17");
        assert_eq!(text(reference, &[(CBC, "IssueDate")]), "2026-12-01");
        let buyer = child(child(root, CAC, "AccountingCustomerParty"), CAC, "Party");
        assert_eq!(text(buyer, &[(CBC, "EndpointID")]), "5566778899");
        let tax = child(root, CAC, "TaxTotal");
        assert_eq!(text(tax, &[(CBC, "TaxAmount")]), "8.50");
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
            [("100.00", "6.00", "6"), ("10.00", "2.50", "25")]
        );
        let totals = child(root, CAC, "LegalMonetaryTotal");
        assert_eq!(text(totals, &[(CBC, "LineExtensionAmount")]), "110.00");
        assert_eq!(text(totals, &[(CBC, "PayableAmount")]), "118.50");
        let lines: Vec<_> = root
            .children()
            .filter(|c| c.has_tag_name((CAC, "CreditNoteLine")))
            .collect();
        // The session as the invoice wrote it; the amount as one piece.
        let q = child(lines[0], CBC, "CreditedQuantity");
        assert_eq!(
            (q.text(), q.attribute("unitCode")),
            (Some("10"), Some("KWH"))
        );
        assert_eq!(text(lines[0], &[(CBC, "LineExtensionAmount")]), "100.00");
        let q = child(lines[1], CBC, "CreditedQuantity");
        assert_eq!(
            (q.text(), q.attribute("unitCode")),
            (Some("1"), Some("C62"))
        );
        assert_eq!(text(lines[1], &[(CAC, "Item"), (CBC, "Name")]), "Fel pris");
        assert_eq!(
            text(lines[1], &[(CAC, "Price"), (CBC, "PriceAmount")]),
            "10.00"
        );
        assert_eq!(credit_note_filename(&note), "kreditfaktura-K1.xml");
    }

    #[test]
    fn the_buyer_is_the_company_as_issued_and_only_old_documents_read_the_record() {
        let other = BuyerCompany {
            legal_name: "Nya Bolaget AB".into(),
            organisation_number: OrganisationNumber::parse("556036-0793").unwrap(),
        };
        let bankgiro = Bankgiro::parse("5050-1055").unwrap();
        let with = |inv: &Invoice, current: Option<&BuyerCompany>| {
            invoice_xml(
                inv,
                &PeppolContext {
                    seller: &org(),
                    bankgiro: &bankgiro,
                    current_company: current,
                },
            )
            .map(|b| String::from_utf8(b).unwrap())
        };
        // Kept at issue: the record's company now changes nothing.
        let inv = two_rates();
        let s = with(&inv, Some(&other)).unwrap();
        assert!(
            s.contains(">Bergs Bygg AB<") && !s.contains("Nya Bolaget"),
            "{s}"
        );
        // Private at issue: no file, whatever the record says now.
        let mut private = two_rates();
        private.buyer.charged_for = ChargedFor::Private;
        assert!(matches!(
            with(&private, Some(&other)),
            Err(PeppolError::Missing {
                field: "company",
                ..
            })
        ));
        // Issued before the company was kept: the record, as before.
        let mut old = two_rates();
        old.buyer.charged_for = ChargedFor::Unrecorded;
        assert!(with(&old, Some(&other))
            .unwrap()
            .contains(">Nya Bolaget AB<"));
        assert!(with(&old, None).is_err());
        // A credit note names its own buyer the same way.
        let note = credit(
            &inv,
            1,
            &CreditRequest {
                sessions: vec![],
                charges: vec![],
                amount: Some(CreditAmount {
                    amount: dec("5"),
                    includes_vat: true,
                    vat_rate: dec("0.25"),
                }),
                reason: "Rabatt".into(),
            },
        );
        assert!(note_xml(&note, &inv, Some(&other)).contains(">Bergs Bygg AB<"));
    }

    #[test]
    fn one_invoice_gives_the_same_bytes() {
        let inv = two_rates();
        assert_eq!(xml(&inv, &org()), xml(&inv, &org()));
        assert_eq!(filename(&inv), "faktura-F-17.xml");
    }
}
