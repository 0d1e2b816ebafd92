//! One invoice whole: `GET /portal/invoices/{id}` (the organisation's, for
//! the roles that read it) and `GET /portal/me/invoices/{id}` (a driver's
//! own). Its session lines, its monthly fee and one-off charge lines (the
//! invoice's `charges`), the VAT per rate and totals, and its credit notes
//! with what they took off and what is left to pay — read through the
//! API's own use cases (`invoice_payments`, `credit_notes`). Another
//! organisation's or person's invoice is the 404 page.

use crate::i18n::{self, Msg};
use crate::layout;
use crate::pages::money::status_badge;
use crate::web::{caller, encoded, html, Caller, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_api::error::ApiError;
use csms_domain::api_key::Scope;
use csms_domain::billing::credit_note::CreditNote;
use csms_domain::billing::invoice::{ChargeKind, Invoice, InvoiceId};
use csms_domain::tenant::Language;
use maud::{html, Markup};

fn not_found(c: &Caller) -> Failure {
    c.fail(ApiError::NotFound("no such invoice".into()))
}

fn percent(rate: rust_decimal::Decimal) -> String {
    format!(
        "{} %",
        (rate * rust_decimal::Decimal::ONE_HUNDRED).normalize()
    )
}

/// Whose invoice page it is: the organisation's (PDF links to the
/// organisation's API paths) or the driver's own.
#[derive(Clone, Copy, PartialEq)]
enum Viewer {
    Organisation,
    Driver,
}

/// `GET /portal/invoices/{id}`.
pub async fn org_page(
    State(st): State<PortalState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/invoices").await?;
    let who = c.permitted(Scope::Read)?;
    let parsed = InvoiceId::parse(&id).map_err(|_| not_found(&c))?;
    let invoice = st
        .api
        .store
        .get_invoice(&parsed)
        .await
        .or_page(&c)?
        .filter(|i| i.org_id == who.org_id)
        .ok_or_else(|| not_found(&c))?;
    page(&st, &c, invoice, Viewer::Organisation, "/portal/invoices").await
}

/// `GET /portal/me/invoices/{id}`.
pub async fn my_page(
    State(st): State<PortalState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/me/invoices").await?;
    let parsed = InvoiceId::parse(&id).map_err(|_| not_found(&c))?;
    let invoice = st
        .api
        .store
        .get_invoice(&parsed)
        .await
        .or_page(&c)?
        .filter(|i| i.user_id == c.user.id)
        .ok_or_else(|| not_found(&c))?;
    page(&st, &c, invoice, Viewer::Driver, "/portal/me/invoices").await
}

async fn page(
    st: &PortalState,
    c: &Caller,
    invoice: Invoice,
    viewer: Viewer,
    nav: &str,
) -> Result<Response, Failure> {
    let lang = c.lang;
    let owed = st
        .api
        .billing
        .invoice_payments(&invoice)
        .await
        .map_err(|e| c.fail(e.into()))?;
    let notes = st
        .api
        .billing
        .credit_notes(&invoice)
        .await
        .map_err(|e| c.fail(e.into()))?;
    let today = st.api.billing.today();
    let title = Msg::InvoiceTitle
        .text(lang)
        .replace("{}", &invoice.number.to_string());
    let body = detail(&invoice, &notes, owed.paid, owed.due, today, viewer, lang);
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(nav), &title, html! { h1 { (title) } (body) }),
    ))
}

fn detail(
    i: &Invoice,
    notes: &[CreditNote],
    paid: rust_decimal::Decimal,
    due: rust_decimal::Decimal,
    today: chrono::NaiveDate,
    viewer: Viewer,
    lang: Language,
) -> Markup {
    let t = |m: Msg| m.text(lang);
    let money = |d: rust_decimal::Decimal| i18n::money(d, &i.currency, lang);
    let base = match viewer {
        Viewer::Organisation => format!("/api/v1/invoices/{}", encoded(i.id.as_str())),
        Viewer::Driver => format!("/api/v1/me/invoices/{}", encoded(i.id.as_str())),
    };
    let pdf = format!("{base}/pdf");
    html! {
        dl.facts {
            dt { (t(Msg::InvoiceSeller)) } dd { (i.seller.legal_name) }
            dt { (t(Msg::InvoiceDriver)) } dd { (i.buyer.name) }
            dt { (t(Msg::InvoicePeriod)) } dd { (i.period.to_string()) }
            dt { (t(Msg::InvoiceDue)) } dd { (i.due_date.to_string()) }
            dt { (t(Msg::Status)) } dd { (status_badge(i, today, lang)) }
        }
        p { a href=(pdf) aria-label=(Msg::InvoicePdfOf.text(lang).replace("{}", &i.number.to_string())) { "PDF" } }
        @if !i.lines.is_empty() {
            h2 #sessions { (t(Msg::InvSessionLines)) }
            table aria-labelledby="sessions" {
                thead { tr {
                    th scope="col" { (t(Msg::InvStation)) }
                    th scope="col" { (t(Msg::InvWhen)) }
                    th scope="col" { "kWh" }
                    th scope="col" { (t(Msg::InvVatRate)) }
                    th scope="col" { (t(Msg::InvNet)) }
                    th scope="col" { (t(Msg::InvVat)) }
                    th scope="col" { (t(Msg::InvoiceAmount)) }
                } }
                tbody {
                    @for l in &i.lines {
                        tr {
                            td data-label=(t(Msg::InvStation)) { (l.station_id.to_string()) }
                            td data-label=(t(Msg::InvWhen)) { (i18n::datetime(l.started_at, lang)) }
                            td.num data-label="kWh" { (i18n::number(l.energy_kwh, 3, lang)) }
                            td.num data-label=(t(Msg::InvVatRate)) { (percent(l.vat_rate)) }
                            td.num data-label=(t(Msg::InvNet)) { (money(l.net)) }
                            td.num data-label=(t(Msg::InvVat)) { (money(l.vat)) }
                            td.num data-label=(t(Msg::InvoiceAmount)) { (money(l.gross)) }
                        }
                    }
                }
            }
        }
        @if !i.charges.is_empty() {
            h2 #charges { (t(Msg::InvChargeLines)) }
            table aria-labelledby="charges" {
                thead { tr {
                    th scope="col" { (t(Msg::InvWhat)) }
                    th scope="col" { (t(Msg::InvKind)) }
                    th scope="col" { (t(Msg::InvWhen)) }
                    th scope="col" { (t(Msg::InvVatRate)) }
                    th scope="col" { (t(Msg::InvNet)) }
                    th scope="col" { (t(Msg::InvVat)) }
                    th scope="col" { (t(Msg::InvoiceAmount)) }
                } }
                tbody {
                    @for l in &i.charges {
                        tr {
                            td data-label=(t(Msg::InvWhat)) { (l.description) }
                            @match &l.kind {
                                ChargeKind::Fee { from, to, days, days_in_month, .. } => {
                                    td data-label=(t(Msg::InvKind)) { (t(Msg::InvFee)) }
                                    td data-label=(t(Msg::InvWhen)) {
                                        (from.to_string()) " – " (to.to_string()) ", "
                                        (Msg::InvDays.text(lang).replacen("{}", &days.to_string(), 1).replacen("{}", &days_in_month.to_string(), 1))
                                    }
                                }
                                ChargeKind::OneOff { date, .. } => {
                                    td data-label=(t(Msg::InvKind)) { (t(Msg::InvCharge)) }
                                    td data-label=(t(Msg::InvWhen)) { (date.to_string()) }
                                }
                            }
                            td.num data-label=(t(Msg::InvVatRate)) { (percent(l.vat_rate)) }
                            td.num data-label=(t(Msg::InvNet)) { (money(l.net)) }
                            td.num data-label=(t(Msg::InvVat)) { (money(l.vat)) }
                            td.num data-label=(t(Msg::InvoiceAmount)) { (money(l.gross)) }
                        }
                    }
                }
            }
        }
        h2 #totals { (t(Msg::InvTotals)) }
        dl.facts aria-labelledby="totals" {
            @for v in &i.vat {
                dt { (Msg::InvVatOf.text(lang).replace("{}", &percent(v.rate))) }
                dd.num { (money(v.vat)) }
            }
            dt { (t(Msg::InvNet)) } dd.num { (money(i.net)) }
            dt { (t(Msg::InvTotal)) } dd.num { (money(i.gross)) }
            @if !notes.is_empty() {
                dt { (t(Msg::InvCredited)) } dd.num { (money(-i.credited().unwrap_or_default())) }
            }
            dt { (t(Msg::InvPaid)) } dd.num { (money(paid)) }
            dt { (t(Msg::InvLeft)) } dd.num #amount-due { (money(due)) }
        }
        h2 #credit-notes { (t(Msg::InvCreditNotes)) }
        @if notes.is_empty() {
            p.empty { (t(Msg::InvNoCreditNotes)) }
        } @else {
            table aria-labelledby="credit-notes" {
                thead { tr {
                    th scope="col" { (t(Msg::InvoiceNumber)) }
                    th scope="col" { (t(Msg::InvDate)) }
                    th scope="col" { (t(Msg::InvReason)) }
                    th scope="col" { (t(Msg::InvoiceAmount)) }
                    th scope="col" { (t(Msg::InvoiceDocument)) }
                } }
                tbody {
                    @for n in notes {
                        tr {
                            td data-label=(t(Msg::InvoiceNumber)) { (n.number.to_string()) }
                            td data-label=(t(Msg::InvDate)) { (n.issue_date.to_string()) }
                            td data-label=(t(Msg::InvReason)) { (n.reason) }
                            td.num data-label=(t(Msg::InvoiceAmount)) { (money(n.gross)) }
                            td data-label=(t(Msg::InvoiceDocument)) {
                                a href={(base) "/credit-notes/" (n.number.to_string()) "/pdf"}
                                    aria-label=(Msg::InvCreditNotePdfOf.text(lang).replace("{}", &n.number.to_string())) {
                                    "PDF"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
