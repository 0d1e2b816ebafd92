//! A credit note as a PDF, drawn with the invoice's renderer
//! ([`crate::pdf`]: its pen, fonts and writer): the seller, "Kreditfaktura"
//! / "Credit note" with its number, date and the credited invoice's number,
//! the buyer, the reason, a row per line (negative amounts), the VAT per
//! rate and the totals, and what the note takes off. A pure function of the
//! note and the buyer's language; the same note gives the same bytes.

use crate::pdf::{self, Item, Layout, Meta, Metrics, PdfError, Pen, BOTTOM, ROW_H, TABLE_SIZE};
use csms_domain::billing::credit_note::CreditNote;
use csms_domain::billing::invoice::ChargedFor;
use csms_domain::tenant::Language;

struct Words {
    title: &'static str,
    number: &'static str,
    date: &'static str,
    credits: &'static str,
    org_number: &'static str,
    vat_number: &'static str,
    buyer: &'static str,
    customer_id: &'static str,
    reason: &'static str,
    what: &'static str,
    rate: &'static str,
    net: &'static str,
    vat: &'static str,
    gross: &'static str,
    vat_summary: &'static str,
    total_net: &'static str,
    total_vat: &'static str,
    total: &'static str,
    note: &'static str,
    page: &'static str,
    of: &'static str,
}

const SV: Words = Words {
    title: "Kreditfaktura",
    number: "Nummer",
    date: "Datum",
    credits: "Krediterar faktura",
    org_number: "Org.nr",
    vat_number: "Momsreg.nr",
    buyer: "Kund",
    customer_id: "Kundnummer",
    reason: "Orsak",
    what: "Avser",
    rate: "Moms %",
    net: "Netto",
    vat: "Moms",
    gross: "Belopp",
    vat_summary: "Moms per sats",
    total_net: "Summa netto",
    total_vat: "Summa moms",
    total: "Att kreditera",
    note:
        "Beloppet minskar det du är skyldig på fakturan; är den betald har du ett tillgodohavande.",
    page: "Sida",
    of: "av",
};

const EN: Words = Words {
    title: "Credit note",
    number: "Number",
    date: "Date",
    credits: "Credits invoice",
    org_number: "Org. no.",
    vat_number: "VAT no.",
    buyer: "Customer",
    customer_id: "Customer id",
    reason: "Reason",
    what: "Item",
    rate: "VAT %",
    net: "Net",
    vat: "VAT",
    gross: "Amount",
    vat_summary: "VAT per rate",
    total_net: "Total net",
    total_vat: "Total VAT",
    total: "Total credited",
    note: "The amount reduces what you owe on the invoice; if it is paid, it is yours to be refunded or set off.",
    page: "Page",
    of: "of",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::Sv => &SV,
        Language::En => &EN,
    }
}

const PAGE_W: f32 = pdf::PAGE_W;
const PAGE_H: f32 = pdf::PAGE_H;
const MARGIN: f32 = pdf::MARGIN;
const COL_WHAT: f32 = MARGIN;
const COL_RATE: f32 = MARGIN + 110.0;
const COL_NET: f32 = MARGIN + 132.0;
const COL_VAT: f32 = MARGIN + 152.0;
const COL_GROSS: f32 = PAGE_W - MARGIN;

fn header(pen: &mut Pen<'_>, w: &Words, y: f32) {
    let s = TABLE_SIZE;
    pen.text(COL_WHAT, y, s, true, w.what);
    pen.right(COL_RATE, y, s, true, w.rate);
    pen.right(COL_NET, y, s, true, w.net);
    pen.right(COL_VAT, y, s, true, w.vat);
    pen.right(COL_GROSS, y, s, true, w.gross);
    pen.rule(y - 1.6);
}

/// The note's pages (see the module).
pub fn layout(note: &CreditNote, language: Language) -> Result<Layout, PdfError> {
    let metrics = Metrics::new()?;
    let w = words(language);
    let l = language;
    let c = note.currency.as_str();
    let mut pen = Pen {
        metrics: &metrics,
        items: Vec::new(),
    };
    let top = PAGE_H - MARGIN;
    let s = &note.seller;
    pen.text(MARGIN, top - 5.0, 15.0, true, s.legal_name.clone());
    let mut y = top - 11.0;
    for line in [
        s.address.clone(),
        s.organisation_number
            .as_ref()
            .map(|n| format!("{}: {n}", w.org_number)),
        s.vat_number
            .as_ref()
            .map(|n| format!("{}: {n}", w.vat_number)),
    ]
    .into_iter()
    .flatten()
    {
        pen.text(MARGIN, y, 9.0, false, line);
        y -= 4.5;
    }
    let right = PAGE_W - MARGIN;
    pen.right(right, top - 6.0, 20.0, true, w.title.to_uppercase());
    let mut fy = top - 14.0;
    for (label, value) in [
        (w.number, note.number.to_string()),
        (w.date, note.issue_date.to_string()),
        (w.credits, note.invoice_number.to_string()),
    ] {
        pen.text(right - 62.0, fy, 9.0, false, label);
        pen.right(right, fy, 9.0, true, value);
        fy -= 4.8;
    }
    let by = top - 42.0;
    pen.text(MARGIN, by, 8.0, true, w.buyer.to_uppercase());
    pen.text(MARGIN, by - 5.5, 11.0, false, note.buyer.name.clone());
    pen.text(MARGIN, by - 10.5, 9.0, false, note.buyer.email.clone());
    pen.text(
        MARGIN,
        by - 15.0,
        8.0,
        false,
        format!("{}: {}", w.customer_id, note.buyer.user_id),
    );
    y = by - 24.0;
    // The company the driver charged for, as the note was issued.
    if let ChargedFor::Company(c) = &note.buyer.charged_for {
        pen.text(MARGIN, by - 20.0, 9.0, true, c.legal_name.clone());
        pen.text(
            MARGIN,
            by - 24.5,
            8.5,
            false,
            format!("{}: {}", w.org_number, c.organisation_number),
        );
        y = by - 33.0;
    }
    pen.fitted(
        MARGIN,
        y,
        PAGE_W - 2.0 * MARGIN,
        &format!("{}: {}", w.reason, note.reason),
    );
    y -= 9.0;
    header(&mut pen, w, y);
    y -= ROW_H + 1.0;
    let mut pages: Vec<Vec<Item>> = Vec::new();
    for line in &note.lines {
        if y < BOTTOM {
            pages.push(std::mem::take(&mut pen.items));
            y = top - 12.0;
            header(&mut pen, w, y);
            y -= ROW_H + 1.0;
        }
        pen.fitted(COL_WHAT, y, COL_RATE - COL_WHAT - 14.0, &line.description);
        pen.right(
            COL_RATE,
            y,
            TABLE_SIZE,
            false,
            pdf::percent(line.vat_rate, l),
        );
        pen.right(COL_NET, y, TABLE_SIZE, false, pdf::number(line.net, 2, l));
        pen.right(COL_VAT, y, TABLE_SIZE, false, pdf::number(line.vat, 2, l));
        pen.right(
            COL_GROSS,
            y,
            TABLE_SIZE,
            false,
            pdf::money(line.gross, c, l),
        );
        y -= ROW_H;
    }
    pen.rule(y + ROW_H - 1.6);
    let summary = 40.0 + 5.0 * note.vat.len() as f32;
    if y - summary < BOTTOM {
        pages.push(std::mem::take(&mut pen.items));
        y = top - 12.0;
    }
    y -= 4.0;
    pen.text(MARGIN, y, 8.5, true, w.vat_summary);
    y -= 5.0;
    for v in &note.vat {
        pen.text(
            MARGIN,
            y,
            8.5,
            false,
            format!(
                "{} {}: {} {}, {} {}",
                w.vat,
                pdf::percent(v.rate, l),
                w.net,
                pdf::money(v.net, c, l),
                w.vat,
                pdf::money(v.vat, c, l)
            ),
        );
        y -= 5.0;
    }
    let lx = right - 80.0;
    y -= 3.0;
    pen.text(lx, y, 9.5, false, w.total_net);
    pen.right(right, y, 9.5, false, pdf::money(note.net, c, l));
    y -= 5.5;
    pen.text(lx, y, 9.5, false, w.total_vat);
    pen.right(right, y, 9.5, false, pdf::money(note.vat_total, c, l));
    y -= 2.5;
    pen.items.push(Item::Rule {
        x1: lx,
        x2: right,
        y,
    });
    y -= 5.5;
    pen.text(lx, y, 11.0, true, w.total);
    pen.right(right, y, 11.0, true, pdf::money(note.gross, c, l));
    y -= 9.0;
    pen.fitted(MARGIN, y, PAGE_W - 2.0 * MARGIN, w.note);
    pages.push(pen.items);
    let count = pages.len();
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
            align: pdf::Align::Left,
            text: format!("{} {}", w.title, note.number),
        });
        page.push(Item::Text {
            x: PAGE_W - MARGIN,
            y: 11.5,
            size: 7.5,
            bold: false,
            align: pdf::Align::Right,
            text: format!("{} {} {} {count}", w.page, i + 1, w.of),
        });
    }
    Ok(Layout { pages })
}

/// The note as PDF bytes.
pub fn render(note: &CreditNote, language: Language) -> Result<Vec<u8>, PdfError> {
    let layout = layout(note, language)?;
    let w = words(language);
    pdf::draw(
        &layout,
        &Meta {
            title: format!("{} {}", w.title, note.number),
            author: &note.seller.legal_name,
            created: note.created_at,
            id: pdf::document_id(&format!("{}~{}", note.org_id, note.number)),
        },
    )
}

/// The PDF's file name: `kreditfaktura-K1.pdf`, `credit-note-K1.pdf`.
pub fn filename(note: &CreditNote, language: Language) -> String {
    match language {
        Language::Sv => format!("kreditfaktura-{}.pdf", note.number),
        Language::En => format!("credit-note-{}.pdf", note.number),
    }
}
