//! An invoice as a PDF: a pure function of the issued [`Invoice`], the
//! buyer's language, the Bankgiro it is paid to and the organisation's time
//! zone, laid out as a Swedish invoice on A4: the seller (name,
//! organisation and VAT numbers, address), the buyer, "Faktura"/"Invoice"
//! with its number and dates, the payment box (amount, Bankgiro, OCR, due
//! date), a table with a row per session, the VAT per rate and the totals.
//! Rows that do not fit flow onto further pages, each with the table's
//! header again and "page n of m".
//!
//! Laying out ([`layout`]) is apart from drawing ([`render`]): the layout is
//! a list of pages of positioned texts and rules, which the tests read, and
//! drawing writes it with `printpdf` in the embedded Liberation Sans (SIL
//! Open Font License, `fonts/LICENSE`), so å, ä and ö need no system fonts.
//! The same invoice always gives the same bytes (the document's id and
//! dates come from the invoice).
//!
//! The organisation has no logo setting yet, so no logo is drawn.

use chrono_tz::Tz;
use csms_domain::billing::invoice::{ChargeKind, ChargeLine, ChargedFor, Invoice, InvoiceLine};
use csms_domain::tenant::{Bankgiro, Language};
use csms_domain::Timestamp;
use rust_decimal::Decimal;

const REGULAR: &[u8] = include_bytes!("../fonts/LiberationSans-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/LiberationSans-Bold.ttf");

/// A4 in millimetres.
pub(crate) const PAGE_W: f32 = 210.0;
pub(crate) const PAGE_H: f32 = 297.0;
pub(crate) const MARGIN: f32 = 18.0;
/// Where the table ends on every page: below it the footer.
pub(crate) const BOTTOM: f32 = 24.0;
pub(crate) const ROW_H: f32 = 5.2;
pub(crate) const TABLE_SIZE: f32 = 7.5;
/// A cell's text is made smaller down to this before it is cut.
const MIN_SIZE: f32 = 5.0;
const PT_PER_MM: f32 = 72.0 / 25.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One thing drawn on a page; positions in mm from the page's bottom left.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        align: Align,
        text: String,
    },
    /// A horizontal rule.
    Rule { x1: f32, x2: f32, y: f32 },
    /// An outlined box.
    Frame { x: f32, y: f32, w: f32, h: f32 },
}

/// The pages of an invoice, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub pages: Vec<Vec<Item>>,
}

impl Layout {
    /// Every text of a page, in drawing order.
    pub fn texts(&self, page: usize) -> Vec<&str> {
        self.pages[page]
            .iter()
            .filter_map(|i| match i {
                Item::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// What the PDF needs besides the invoice.
#[derive(Debug, Clone, Copy)]
pub struct PdfContext<'a> {
    /// The buyer's language.
    pub language: Language,
    /// The account the invoice is paid to (the platform's client funds).
    pub bankgiro: &'a Bankgiro,
    /// The organisation's time zone: the sessions' times are shown in it.
    pub zone: Tz,
}

#[derive(Debug, thiserror::Error)]
#[error("the invoice PDF could not be made: {0}")]
pub struct PdfError(pub(crate) String);

/// The words of the invoice in one language.
struct Words {
    title: &'static str,
    number: &'static str,
    invoice_date: &'static str,
    due_date: &'static str,
    period: &'static str,
    org_number: &'static str,
    vat_number: &'static str,
    buyer: &'static str,
    customer_id: &'static str,
    to_pay: &'static str,
    bankgiro: &'static str,
    ocr: &'static str,
    terms: &'static str,
    days_net: &'static str,
    late: &'static str,
    session: &'static str,
    station: &'static str,
    time: &'static str,
    kwh: &'static str,
    net: &'static str,
    vat_rate: &'static str,
    gross: &'static str,
    vat_summary: &'static str,
    vat_base: &'static str,
    vat: &'static str,
    total_net: &'static str,
    total_vat: &'static str,
    total: &'static str,
    page: &'static str,
    of: &'static str,
    continued: &'static str,
    /// After a fee's days of the month: `15 of 30 days`.
    days: &'static str,
}

const SV: Words = Words {
    title: "Faktura",
    number: "Fakturanummer",
    invoice_date: "Fakturadatum",
    due_date: "Förfallodatum",
    period: "Period",
    org_number: "Org.nr",
    vat_number: "Momsreg.nr",
    buyer: "Kund",
    customer_id: "Kundnummer",
    to_pay: "Att betala",
    bankgiro: "Bankgiro",
    ocr: "OCR-nummer",
    terms: "Betalningsvillkor",
    days_net: "dagar netto",
    late: "Ange OCR-numret vid betalning. Vid sen betalning debiteras dröjsmålsränta enligt räntelagen.",
    session: "Laddning",
    station: "Laddstation",
    time: "Start – slut",
    kwh: "kWh",
    net: "Netto",
    vat_rate: "Moms",
    gross: "Belopp",
    vat_summary: "Moms per sats",
    vat_base: "underlag",
    vat: "moms",
    total_net: "Summa exkl. moms",
    total_vat: "Moms",
    total: "Att betala",
    page: "Sida",
    of: "av",
    continued: "forts.",
    days: "dagar",
};

const EN: Words = Words {
    title: "Invoice",
    number: "Invoice number",
    invoice_date: "Invoice date",
    due_date: "Due date",
    period: "Period",
    org_number: "Reg. no.",
    vat_number: "VAT no.",
    buyer: "Bill to",
    customer_id: "Customer id",
    to_pay: "Amount due",
    bankgiro: "Bankgiro",
    ocr: "OCR reference",
    terms: "Payment terms",
    days_net: "days net",
    late: "Quote the OCR reference when paying. Interest is charged on late payment under the Swedish Interest Act.",
    session: "Session",
    station: "Station",
    time: "Start – end",
    kwh: "kWh",
    net: "Net",
    vat_rate: "VAT",
    gross: "Amount",
    vat_summary: "VAT per rate",
    vat_base: "base",
    vat: "VAT",
    total_net: "Total excl. VAT",
    total_vat: "VAT",
    total: "Amount due",
    page: "Page",
    of: "of",
    continued: "cont.",
    days: "days",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::Sv => &SV,
        Language::En => &EN,
    }
}

/// `value` with `dp` decimals and grouped thousands: `1 234,50` in
/// Swedish, `1,234.50` in English.
pub fn number(value: Decimal, dp: u32, language: Language) -> String {
    let rounded =
        value.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.*}", dp as usize, rounded.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let (group, point) = match language {
        Language::Sv => (' ', ','),
        Language::En => (',', '.'),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}{point}{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// An amount with its currency: `1 234,50 kr` (Swedish, in kronor),
/// `1 234,50 EUR`, `SEK 1,234.50` (English).
pub fn money(value: Decimal, currency: &str, language: Language) -> String {
    let n = number(value, 2, language);
    match language {
        Language::Sv if currency == "SEK" => format!("{n} kr"),
        Language::Sv => format!("{n} {currency}"),
        Language::En => format!("{currency} {n}"),
    }
}

/// A VAT rate (0.25) as a percentage (`25 %`, `25%`).
pub(crate) fn percent(rate: Decimal, language: Language) -> String {
    let p = (rate * Decimal::ONE_HUNDRED).normalize();
    let p = number(p, p.scale(), language);
    match language {
        Language::Sv => format!("{p} %"),
        Language::En => format!("{p}%"),
    }
}

fn local(at: Timestamp, zone: Tz) -> chrono::DateTime<Tz> {
    at.with_timezone(&zone)
}

/// `2026-11-03 18:00–20:15`, or with the end's date when it differs.
fn span(line: &InvoiceLine, zone: Tz) -> String {
    let (s, e) = (local(line.started_at, zone), local(line.ended_at, zone));
    let end = if s.date_naive() == e.date_naive() {
        e.format("%H:%M").to_string()
    } else {
        e.format("%m-%d %H:%M").to_string()
    };
    format!("{}–{end}", s.format("%Y-%m-%d %H:%M"))
}

/// A fee's days (`2026-11-16 – 11-30, 15/30 dagar`) or a charge's date.
fn charge_span(line: &ChargeLine, w: &Words) -> String {
    match &line.kind {
        ChargeKind::Fee {
            from,
            to,
            days,
            days_in_month,
            ..
        } => format!(
            "{} – {}, {days}/{days_in_month} {}",
            from.format("%Y-%m-%d"),
            to.format("%m-%d"),
            w.days
        ),
        ChargeKind::OneOff { date, .. } => date.format("%Y-%m-%d").to_string(),
    }
}

/// Text widths in the embedded fonts.
pub(crate) struct Metrics {
    regular: owned_ttf_parser::Face<'static>,
    bold: owned_ttf_parser::Face<'static>,
}

impl Metrics {
    pub(crate) fn new() -> Result<Self, PdfError> {
        let face = |data| {
            owned_ttf_parser::Face::parse(data, 0).map_err(|e| PdfError(format!("font: {e}")))
        };
        Ok(Metrics {
            regular: face(REGULAR)?,
            bold: face(BOLD)?,
        })
    }

    /// Width of `text` at `size` pt, in mm.
    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold { &self.bold } else { &self.regular };
        let per_em = f32::from(face.units_per_em());
        let units: f32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map(f32::from)
                    .unwrap_or(per_em / 2.0)
            })
            .sum();
        units / per_em * size / PT_PER_MM
    }
}

/// Builds pages of items.
pub(crate) struct Pen<'m> {
    pub(crate) metrics: &'m Metrics,
    pub(crate) items: Vec<Item>,
}

impl Pen<'_> {
    fn aligned(&mut self, align: Align, x: f32, y: f32, size: f32, bold: bool, text: String) {
        self.items.push(Item::Text {
            x,
            y,
            size,
            bold,
            align,
            text,
        });
    }

    pub(crate) fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: impl Into<String>) {
        self.aligned(Align::Left, x, y, size, bold, text.into());
    }

    /// Text that ends at `x`.
    pub(crate) fn right(&mut self, x: f32, y: f32, size: f32, bold: bool, text: impl Into<String>) {
        self.aligned(Align::Right, x, y, size, bold, text.into());
    }

    /// A text that must fit `width`: made smaller, then cut with `…`.
    pub(crate) fn fitted(&mut self, x: f32, y: f32, width: f32, text: &str) {
        let mut size = TABLE_SIZE;
        while size > MIN_SIZE && self.metrics.width(text, size, false) > width {
            size -= 0.25;
        }
        let mut shown = text.to_owned();
        if self.metrics.width(&shown, size, false) > width {
            while shown.chars().count() > 1
                && self.metrics.width(&format!("{shown}…"), size, false) > width
            {
                shown.pop();
            }
            shown.push('…');
        }
        self.text(x, y, size, false, shown);
    }

    pub(crate) fn rule(&mut self, y: f32) {
        self.items.push(Item::Rule {
            x1: MARGIN,
            x2: PAGE_W - MARGIN,
            y,
        });
    }
}

/// The table's columns: left edge (texts left-aligned) or right edge
/// (numbers right-aligned).
const COL_SESSION: f32 = MARGIN;
const COL_STATION: f32 = MARGIN + 44.0;
const COL_TIME: f32 = MARGIN + 74.0;
const COL_KWH: f32 = MARGIN + 124.0;
const COL_NET: f32 = MARGIN + 142.0;
const COL_RATE: f32 = MARGIN + 156.0;
const COL_GROSS: f32 = PAGE_W - MARGIN;

fn table_header(pen: &mut Pen<'_>, w: &Words, y: f32) {
    let s = TABLE_SIZE;
    pen.text(COL_SESSION, y, s, true, w.session);
    pen.text(COL_STATION, y, s, true, w.station);
    pen.text(COL_TIME, y, s, true, w.time);
    pen.right(COL_KWH, y, s, true, w.kwh);
    pen.right(COL_NET, y, s, true, w.net);
    pen.right(COL_RATE, y, s, true, w.vat_rate);
    pen.right(COL_GROSS, y, s, true, w.gross);
    pen.rule(y - 1.6);
}

fn table_row(pen: &mut Pen<'_>, line: &InvoiceLine, currency: &str, ctx: &PdfContext<'_>, y: f32) {
    let l = ctx.language;
    pen.fitted(
        COL_SESSION,
        y,
        COL_STATION - COL_SESSION - 2.0,
        line.session_id.as_str(),
    );
    pen.fitted(
        COL_STATION,
        y,
        COL_TIME - COL_STATION - 2.0,
        line.station_id.as_str(),
    );
    pen.text(COL_TIME, y, TABLE_SIZE, false, span(line, ctx.zone));
    pen.right(COL_KWH, y, TABLE_SIZE, false, number(line.energy_kwh, 3, l));
    pen.right(COL_NET, y, TABLE_SIZE, false, number(line.net, 2, l));
    pen.right(COL_RATE, y, TABLE_SIZE, false, percent(line.vat_rate, l));
    pen.right(
        COL_GROSS,
        y,
        TABLE_SIZE,
        false,
        money(line.gross, currency, l),
    );
}

/// A fee's or charge's row: its name across the session and station
/// columns, its days or date, no energy.
fn charge_row(pen: &mut Pen<'_>, line: &ChargeLine, currency: &str, ctx: &PdfContext<'_>, y: f32) {
    let l = ctx.language;
    let w = words(l);
    pen.fitted(
        COL_SESSION,
        y,
        COL_TIME - COL_SESSION - 2.0,
        &line.description,
    );
    pen.fitted(
        COL_TIME,
        y,
        COL_KWH - COL_TIME - 2.0, // no energy: the kWh column is free
        &charge_span(line, w),
    );
    pen.right(COL_NET, y, TABLE_SIZE, false, number(line.net, 2, l));
    pen.right(COL_RATE, y, TABLE_SIZE, false, percent(line.vat_rate, l));
    pen.right(
        COL_GROSS,
        y,
        TABLE_SIZE,
        false,
        money(line.gross, currency, l),
    );
}

/// The first page's head: seller, title and facts, buyer, payment box.
/// Returns where the table starts.
fn head(pen: &mut Pen<'_>, invoice: &Invoice, ctx: &PdfContext<'_>) -> f32 {
    let w = words(ctx.language);
    let l = ctx.language;
    let top = PAGE_H - MARGIN;
    // The seller, top left.
    let s = &invoice.seller;
    pen.text(MARGIN, top - 5.0, 15.0, true, s.legal_name.clone());
    let mut y = top - 11.0;
    if let Some(address) = &s.address {
        pen.text(MARGIN, y, 9.0, false, address.clone());
        y -= 4.5;
    }
    if let Some(n) = &s.organisation_number {
        pen.text(MARGIN, y, 9.0, false, format!("{}: {n}", w.org_number));
        y -= 4.5;
    }
    if let Some(n) = &s.vat_number {
        pen.text(MARGIN, y, 9.0, false, format!("{}: {n}", w.vat_number));
    }
    // The title and the invoice's facts, top right.
    let right = PAGE_W - MARGIN;
    pen.right(right, top - 6.0, 20.0, true, w.title.to_uppercase());
    let facts = [
        (w.number, invoice.number.to_string()),
        (w.invoice_date, invoice.issue_date.to_string()),
        (w.due_date, invoice.due_date.to_string()),
        (w.period, invoice.period.to_string()),
    ];
    let mut fy = top - 14.0;
    for (label, value) in facts {
        pen.text(right - 62.0, fy, 9.0, false, label);
        pen.right(right, fy, 9.0, true, value);
        fy -= 4.8;
    }
    // The buyer.
    let by = top - 42.0;
    pen.text(MARGIN, by, 8.0, true, w.buyer.to_uppercase());
    pen.text(MARGIN, by - 5.5, 11.0, false, invoice.buyer.name.clone());
    pen.text(MARGIN, by - 10.5, 9.0, false, invoice.buyer.email.clone());
    pen.text(
        MARGIN,
        by - 15.0,
        8.0,
        false,
        format!("{}: {}", w.customer_id, invoice.buyer.user_id),
    );
    // The company the driver charged for, as the invoice was issued.
    if let ChargedFor::Company(c) = &invoice.buyer.charged_for {
        pen.text(MARGIN, by - 20.0, 9.0, true, c.legal_name.clone());
        pen.text(
            MARGIN,
            by - 24.5,
            8.5,
            false,
            format!("{}: {}", w.org_number, c.organisation_number),
        );
    }
    // The payment box, right.
    let (bx, bw, bh) = (right - 82.0, 82.0, 36.0);
    let box_top = by + 4.0;
    pen.items.push(Item::Frame {
        x: bx,
        y: box_top - bh,
        w: bw,
        h: bh,
    });
    let lx = bx + 3.0;
    let rx = right - 3.0;
    pen.text(lx, box_top - 7.0, 10.0, true, w.to_pay);
    pen.right(
        rx,
        box_top - 7.0,
        13.0,
        true,
        money(invoice.gross, &invoice.currency, l),
    );
    let rows = [
        (w.bankgiro, ctx.bankgiro.as_str().to_owned()),
        (w.ocr, invoice.ocr.as_str().to_owned()),
        (w.due_date, invoice.due_date.to_string()),
    ];
    let mut ry = box_top - 15.0;
    for (label, value) in rows {
        pen.text(lx, ry, 9.5, false, label);
        pen.right(rx, ry, 11.0, true, value);
        ry -= 6.0;
    }
    let days = (invoice.due_date - invoice.issue_date).num_days();
    pen.text(
        MARGIN,
        box_top - bh - 6.0,
        8.5,
        false,
        format!("{}: {days} {}", w.terms, w.days_net),
    );
    pen.text(MARGIN, box_top - bh - 10.5, 7.5, false, w.late);
    box_top - bh - 20.0
}

/// The VAT per rate and the totals, under the table. Its height.
fn summary_height(invoice: &Invoice) -> f32 {
    12.0 + 5.0 * invoice.vat.len() as f32 + 20.0
}

fn summary(pen: &mut Pen<'_>, invoice: &Invoice, ctx: &PdfContext<'_>, mut y: f32) {
    let w = words(ctx.language);
    let l = ctx.language;
    let c = invoice.currency.as_str();
    let right = PAGE_W - MARGIN;
    y -= 4.0;
    pen.text(MARGIN, y, 8.5, true, w.vat_summary);
    y -= 5.0;
    for v in &invoice.vat {
        pen.text(
            MARGIN,
            y,
            8.5,
            false,
            format!(
                "{} {}: {} {}, {} {}",
                w.vat_rate,
                percent(v.rate, l),
                w.vat_base,
                money(v.net, c, l),
                w.vat,
                money(v.vat, c, l)
            ),
        );
        y -= 5.0;
    }
    let lx = right - 80.0;
    y -= 3.0;
    pen.text(lx, y, 9.5, false, w.total_net);
    pen.right(right, y, 9.5, false, money(invoice.net, c, l));
    y -= 5.5;
    pen.text(lx, y, 9.5, false, w.total_vat);
    pen.right(right, y, 9.5, false, money(invoice.vat_total, c, l));
    y -= 2.5;
    pen.items.push(Item::Rule {
        x1: lx,
        x2: right,
        y,
    });
    y -= 5.5;
    pen.text(lx, y, 11.0, true, w.total);
    pen.right(right, y, 11.0, true, money(invoice.gross, c, l));
}

/// The invoice's pages: the head on the first, the table's rows as many as
/// fit on each (its header again on every page), the VAT summary and
/// totals after the last row (on a page of their own if they do not fit),
/// and a footer with "page n of m" on every page.
pub fn layout(invoice: &Invoice, ctx: &PdfContext<'_>) -> Result<Layout, PdfError> {
    let metrics = Metrics::new()?;
    let w = words(ctx.language);
    let mut pages: Vec<Vec<Item>> = Vec::new();
    let mut pen = Pen {
        metrics: &metrics,
        items: Vec::new(),
    };
    let mut y = head(&mut pen, invoice, ctx);
    table_header(&mut pen, w, y);
    y -= ROW_H + 1.0;
    let continued_top = PAGE_H - MARGIN - 12.0;
    enum Row<'a> {
        Session(&'a InvoiceLine),
        Charge(&'a ChargeLine),
    }
    let rows =
        (invoice.lines.iter().map(Row::Session)).chain(invoice.charges.iter().map(Row::Charge));
    for row in rows {
        if y < BOTTOM {
            pages.push(std::mem::take(&mut pen.items));
            pen.text(
                MARGIN,
                PAGE_H - MARGIN - 4.0,
                9.0,
                true,
                format!("{} {} ({})", w.title, invoice.number, w.continued),
            );
            y = continued_top;
            table_header(&mut pen, w, y);
            y -= ROW_H + 1.0;
        }
        match row {
            Row::Session(line) => table_row(&mut pen, line, &invoice.currency, ctx, y),
            Row::Charge(line) => charge_row(&mut pen, line, &invoice.currency, ctx, y),
        }
        y -= ROW_H;
    }
    pen.rule(y + ROW_H - 1.6);
    if y - summary_height(invoice) < BOTTOM {
        pages.push(std::mem::take(&mut pen.items));
        pen.text(
            MARGIN,
            PAGE_H - MARGIN - 4.0,
            9.0,
            true,
            format!("{} {} ({})", w.title, invoice.number, w.continued),
        );
        y = continued_top + ROW_H;
    }
    summary(&mut pen, invoice, ctx, y);
    pages.push(pen.items);
    // Footers, now that the pages are counted.
    let count = pages.len();
    let s = &invoice.seller;
    let mut who = vec![s.legal_name.clone()];
    who.extend(
        s.organisation_number
            .iter()
            .map(|n| format!("{} {n}", w.org_number)),
    );
    who.extend(s.vat_number.iter().map(|n| format!("{} {n}", w.vat_number)));
    let who = who.join(" · ");
    for (i, page) in pages.iter_mut().enumerate() {
        page.push(Item::Rule {
            x1: MARGIN,
            x2: PAGE_W - MARGIN,
            y: 16.0,
        });
        page.push(Item::Text {
            x: MARGIN,
            y: 11.5,
            size: 7.5,
            bold: false,
            align: Align::Left,
            text: who.clone(),
        });
        page.push(Item::Text {
            x: PAGE_W - MARGIN,
            y: 11.5,
            size: 7.5,
            bold: false,
            align: Align::Right,
            text: format!("{} {} {} {count}", w.page, i + 1, w.of),
        });
    }
    Ok(Layout { pages })
}

fn pdf_time(at: Timestamp) -> Result<printpdf::OffsetDateTime, PdfError> {
    printpdf::OffsetDateTime::from_unix_timestamp(at.timestamp())
        .map_err(|e| PdfError(format!("date: {e}")))
}

/// The invoice as PDF bytes.
pub fn render(invoice: &Invoice, ctx: &PdfContext<'_>) -> Result<Vec<u8>, PdfError> {
    let layout = layout(invoice, ctx)?;
    let w = words(ctx.language);
    draw(
        &layout,
        &Meta {
            title: format!("{} {}", w.title, invoice.number),
            author: &invoice.seller.legal_name,
            created: invoice.created_at,
            id: document_id(invoice.id.as_str()),
        },
    )
}

/// What a PDF says of itself.
pub(crate) struct Meta<'a> {
    pub title: String,
    pub author: &'a str,
    pub created: Timestamp,
    /// 32 hex digits: the same document, the same id ([`document_id`]).
    pub id: String,
}

/// The pages of `layout` as PDF bytes.
pub(crate) fn draw(layout: &Layout, meta: &Meta<'_>) -> Result<Vec<u8>, PdfError> {
    use printpdf::{
        path::PaintMode, CustomPdfConformance, Line, Mm, PdfConformance, PdfDocument, Point, Rect,
    };
    let metrics = Metrics::new()?;
    let (doc, first_page, first_layer) =
        PdfDocument::new(meta.title.as_str(), Mm(PAGE_W), Mm(PAGE_H), "1");
    let created = pdf_time(meta.created)?;
    // No ICC profile or XMP metadata (which would carry a random id):
    // small, and the same bytes for the same document.
    let doc = doc
        .with_conformance(PdfConformance::Custom(CustomPdfConformance {
            requires_icc_profile: false,
            requires_xmp_metadata: false,
            ..Default::default()
        }))
        .with_document_id(meta.id.clone())
        .with_creation_date(created)
        .with_mod_date(created)
        .with_metadata_date(created)
        .with_author(meta.author)
        .with_creator("csms")
        .with_producer("csms");
    let regular = doc
        .add_external_font(REGULAR)
        .map_err(|e| PdfError(format!("font: {e}")))?;
    let bold = doc
        .add_external_font(BOLD)
        .map_err(|e| PdfError(format!("font: {e}")))?;
    for (i, items) in layout.pages.iter().enumerate() {
        let layer = if i == 0 {
            doc.get_page(first_page).get_layer(first_layer)
        } else {
            let (page, layer) = doc.add_page(Mm(PAGE_W), Mm(PAGE_H), format!("{}", i + 1));
            doc.get_page(page).get_layer(layer)
        };
        layer.set_outline_thickness(0.5);
        for item in items {
            match item {
                Item::Text {
                    x,
                    y,
                    size,
                    bold: b,
                    align,
                    text,
                } => {
                    let font = if *b { &bold } else { &regular };
                    let x = match align {
                        Align::Left => *x,
                        Align::Right => *x - metrics.width(text, *size, *b),
                    };
                    layer.use_text(text.as_str(), *size, Mm(x), Mm(*y), font);
                }
                Item::Rule { x1, x2, y } => layer.add_line(Line {
                    points: vec![
                        (Point::new(Mm(*x1), Mm(*y)), false),
                        (Point::new(Mm(*x2), Mm(*y)), false),
                    ],
                    is_closed: false,
                }),
                Item::Frame { x, y, w, h } => layer.add_rect(
                    Rect::new(Mm(*x), Mm(*y), Mm(x + w), Mm(y + h)).with_mode(PaintMode::Stroke),
                ),
            }
        }
    }
    let bytes = doc
        .save_to_bytes()
        .map_err(|e| PdfError(format!("write: {e}")))?;
    finish(&bytes, &meta.id)
}

/// printpdf's output made final with lopdf (which printpdf writes with):
/// the trailer's second id, which printpdf draws at random, is the
/// document's id too (the same invoice, the same bytes), and every stream,
/// the embedded fonts' included, is compressed (about a third of the size).
fn finish(bytes: &[u8], id: &str) -> Result<Vec<u8>, PdfError> {
    use printpdf::lopdf::{Document, Object, StringFormat};
    let mut doc = Document::load_mem(bytes).map_err(|e| PdfError(format!("read back: {e}")))?;
    let id = || Object::String(id.as_bytes().to_vec(), StringFormat::Literal);
    doc.trailer.set("ID", Object::Array(vec![id(), id()]));
    doc.prune_objects();
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| PdfError(format!("write: {e}")))?;
    Ok(out)
}

/// A PDF's document id: 32 hex digits from the document's own id (an
/// invoice's), so the same document makes the same file.
pub(crate) fn document_id(of: &str) -> String {
    // FNV-1a, twice with different offsets: not a security matter, only
    // stable across builds (std's hasher is not).
    let fnv = |seed: u64| {
        of.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x8422_2325_cbf2_9ce4)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::billing::invoice::{Buyer, InvoiceNumber, InvoiceParts, Seller};
    use csms_domain::billing::ocr::OcrReference;
    use csms_domain::billing::period::{Period, DEFAULT_ZONE};
    use csms_domain::user::UserId;
    use csms_domain::{OrgId, SessionId, StationId};

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn line(i: usize) -> InvoiceLine {
        let start: Timestamp = "2026-11-03T17:00:00Z".parse().unwrap();
        let start = start + chrono::TimeDelta::hours(i as i64 * 3);
        InvoiceLine {
            session_id: SessionId::parse(format!("CP-101~{}", 100 + i)).unwrap(),
            station_id: StationId::parse("CP-101").unwrap(),
            started_at: start,
            ended_at: start + chrono::TimeDelta::minutes(135),
            energy_kwh: dec("12.345"),
            tariff_name: "Hem".into(),
            price_revision: 1,
            vat_rate: dec("0.25"),
            net: dec("987.60"),
            vat: dec("246.90"),
            gross: dec("1234.50"),
        }
    }

    fn invoice(lines: usize) -> Invoice {
        let mut inv = Invoice::issue(InvoiceParts {
            org_id: OrgId::parse("brf-solsidan").unwrap(),
            period: Period::parse("2026-11").unwrap(),
            number: InvoiceNumber::new("", 17).unwrap(),
            currency: "SEK".into(),
            issue_date: "2026-12-01".parse().unwrap(),
            due_date: "2026-12-31".parse().unwrap(),
            seller: Seller {
                legal_name: "Bostadsrättsföreningen Solsidan i Växjö".into(),
                organisation_number: Some("769600-1234".into()),
                vat_number: Some("SE769600123401".into()),
                address: Some("Storgatan 1, 352 30 Växjö".into()),
            },
            buyer: Buyer {
                user_id: UserId::parse("usr_01JABCDEFGHJKMNPQRSTVWXYZ0").unwrap(),
                name: "Åsa Öberg".into(),
                email: "asa@example.se".into(),
                charged_for: ChargedFor::Private,
            },
            lines: (0..lines).map(line).collect(),
            charges: Vec::new(),
            created_at: "2026-12-01T06:00:00Z".parse().unwrap(),
        })
        .unwrap();
        inv.ocr = OcrReference::for_invoice(3, 17).unwrap();
        inv
    }

    fn ctx(bankgiro: &Bankgiro, language: Language) -> PdfContext<'_> {
        PdfContext {
            language,
            bankgiro,
            zone: DEFAULT_ZONE,
        }
    }

    fn all_text(layout: &Layout) -> String {
        (0..layout.pages.len())
            .flat_map(|p| layout.texts(p))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn numbers_are_written_the_swedish_way_in_swedish() {
        assert_eq!(money(dec("1234.5"), "SEK", Language::Sv), "1 234,50 kr");
        assert_eq!(
            money(dec("1234567.891"), "EUR", Language::Sv),
            "1 234 567,89 EUR"
        );
        assert_eq!(money(dec("1234.5"), "SEK", Language::En), "SEK 1,234.50");
        assert_eq!(money(dec("-5"), "SEK", Language::Sv), "-5,00 kr");
        assert_eq!(money(dec("0.004"), "SEK", Language::Sv), "0,00 kr");
        assert_eq!(number(dec("999.9996"), 3, Language::Sv), "1 000,000");
        assert_eq!(percent(dec("0.25"), Language::Sv), "25 %");
        assert_eq!(percent(dec("0.125"), Language::En), "12.5%");
    }

    #[test]
    fn the_layout_holds_the_invoice_in_swedish() {
        let bg = Bankgiro::parse("5050-1055").unwrap();
        let inv = invoice(3);
        let layout = layout(&inv, &ctx(&bg, Language::Sv)).unwrap();
        assert_eq!(layout.pages.len(), 1);
        let text = all_text(&layout);
        for wanted in [
            "FAKTURA",
            "Bostadsrättsföreningen Solsidan i Växjö",
            "Org.nr: 769600-1234",
            "Momsreg.nr: SE769600123401",
            "Storgatan 1, 352 30 Växjö",
            "Åsa Öberg",
            "17",
            "2026-12-01",
            "2026-12-31",
            "5050-1055",
            inv.ocr.as_str(),
            "3 703,50 kr",
            "Betalningsvillkor: 30 dagar netto",
            "CP-101~100",
            "CP-101~101",
            "CP-101~102",
            // 17:00 UTC is 18:00 in Stockholm in November.
            "2026-11-03 18:00–20:15",
            "Moms 25 %: underlag 2 962,80 kr, moms 740,70 kr",
            "Sida 1 av 1",
        ] {
            assert!(text.contains(wanted), "{wanted:?} missing from:\n{text}");
        }
    }

    #[test]
    fn fees_and_charges_have_rows_after_the_sessions() {
        use csms_domain::billing::fee::{ChargeId, FeeId};
        let bg = Bankgiro::parse("5050-1055").unwrap();
        let mut parts_inv = invoice(1);
        parts_inv.charges = vec![
            ChargeLine {
                kind: ChargeKind::Fee {
                    fee_id: FeeId::generate(),
                    from: "2026-11-16".parse().unwrap(),
                    to: "2026-11-30".parse().unwrap(),
                    days: 15,
                    days_in_month: 30,
                },
                description: "Parkeringsplats 12".into(),
                vat_rate: dec("0.25"),
                net: dec("200.00"),
                vat: dec("50.00"),
                gross: dec("250.00"),
            },
            ChargeLine {
                kind: ChargeKind::OneOff {
                    charge_id: ChargeId::generate(),
                    date: "2026-11-20".parse().unwrap(),
                },
                description: "Ny nyckelbricka".into(),
                vat_rate: dec("0.25"),
                net: dec("80.00"),
                vat: dec("20.00"),
                gross: dec("100.00"),
            },
        ];
        let layout = layout(&parts_inv, &ctx(&bg, Language::Sv)).unwrap();
        let texts = layout.texts(0);
        let at = |t: &str| texts.iter().position(|x| *x == t);
        for wanted in [
            "Parkeringsplats 12",
            "2026-11-16 – 11-30, 15/30 dagar",
            "250,00 kr",
            "Ny nyckelbricka",
            "2026-11-20",
            "100,00 kr",
        ] {
            assert!(at(wanted).is_some(), "{wanted:?} missing from {texts:?}");
        }
        assert!(at("CP-101~100") < at("Parkeringsplats 12"));
        assert!(at("Parkeringsplats 12") < at("Ny nyckelbricka"));
    }

    #[test]
    fn the_layout_speaks_english_to_an_english_buyer() {
        let bg = Bankgiro::parse("5050-1055").unwrap();
        let layout = layout(&invoice(1), &ctx(&bg, Language::En)).unwrap();
        let text = all_text(&layout);
        for wanted in [
            "INVOICE",
            "Amount due",
            "SEK 1,234.50",
            "Page 1 of 1",
            "25%",
        ] {
            assert!(text.contains(wanted), "{wanted:?} missing from:\n{text}");
        }
        assert!(!text.contains("Faktura"), "{text}");
    }

    #[test]
    fn many_lines_flow_onto_pages_with_the_header_again() {
        let bg = Bankgiro::parse("5050-1055").unwrap();
        let inv = invoice(200);
        let layout = layout(&inv, &ctx(&bg, Language::Sv)).unwrap();
        let n = layout.pages.len();
        assert!(n >= 4, "{n} pages");
        for p in 0..n {
            let texts = layout.texts(p);
            assert!(
                texts.contains(&format!("Sida {} av {n}", p + 1).as_str()),
                "page {p}: {texts:?}"
            );
            if p < n - 1 || texts.iter().any(|t| t.starts_with("CP-101~")) {
                assert!(texts.contains(&"Laddning"), "page {p} lacks the header");
            }
            // Nothing is drawn into the footer or off the page.
            for item in &layout.pages[p] {
                if let Item::Text { y, text, .. } = item {
                    assert!(*y <= PAGE_H - MARGIN, "{text} at {y}");
                    if text.starts_with("CP-101~") {
                        assert!(*y >= BOTTOM - 0.01, "{text} at {y} on page {p}");
                    }
                }
            }
        }
        // Every session once, in order.
        let sessions: Vec<String> = (0..n)
            .flat_map(|p| layout.texts(p))
            .filter(|t| t.starts_with("CP-101~"))
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = (0..200).map(|i| format!("CP-101~{}", 100 + i)).collect();
        assert_eq!(sessions, expected);
        assert!(all_text(&layout).contains("246 900,00 kr"));
    }

    #[test]
    fn long_ids_are_made_to_fit_their_column() {
        let bg = Bankgiro::parse("5050-1055").unwrap();
        let mut inv = invoice(1);
        inv.lines[0].session_id =
            SessionId::parse("STATION-WITH-A-LONG-NAME~0f8fad5b-d9cb-469f-a165-70867728950e")
                .unwrap();
        let layout = layout(&inv, &ctx(&bg, Language::Sv)).unwrap();
        let metrics = Metrics::new().unwrap();
        let cell = layout.pages[0]
            .iter()
            .find_map(|i| match i {
                Item::Text { text, size, x, .. } if text.starts_with("STATION-WITH") => {
                    Some((text.clone(), *size, *x))
                }
                _ => None,
            })
            .unwrap();
        assert!(metrics.width(&cell.0, cell.1, false) <= COL_STATION - COL_SESSION - 2.0);
        assert!(cell.0.ends_with('…'), "{}", cell.0);
    }

    #[test]
    fn the_pdf_parses_has_its_pages_and_is_the_same_each_time() {
        let bg = Bankgiro::parse("5050-1055").unwrap();
        let one = render(&invoice(3), &ctx(&bg, Language::Sv)).unwrap();
        assert!(one.starts_with(b"%PDF-"));
        let doc = printpdf::lopdf::Document::load_mem(&one).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        assert_eq!(one, render(&invoice(3), &ctx(&bg, Language::Sv)).unwrap());
        let many = render(&invoice(200), &ctx(&bg, Language::Sv)).unwrap();
        let doc = printpdf::lopdf::Document::load_mem(&many).unwrap();
        let expected = layout(&invoice(200), &ctx(&bg, Language::Sv)).unwrap();
        assert_eq!(doc.get_pages().len(), expected.pages.len());
        assert!(expected.pages.len() >= 4);
        // The fonts are embedded and compressed: well under their 800 kB.
        assert!(one.len() < 600_000, "{} bytes", one.len());
    }
}
