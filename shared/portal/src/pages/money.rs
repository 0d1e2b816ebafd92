//! A driver's money: `GET /portal/me/invoices` (my invoices of every
//! organisation, their status and PDF, what `GET /me/invoices` reads) and
//! `GET /portal/me/card` (the card my invoices are charged to on the due
//! date: saved through Stripe.js, which keeps the card number in Stripe's
//! own element; `POST /portal/me/card/remove` forgets it). The card page
//! is the only one that loads a script from elsewhere, so its content
//! security policy names Stripe.js's origin and no other page's does.

use crate::assets::CARD_JS;
use crate::i18n::{self, Msg};
use crate::layout::{self, badge};
use crate::web::{caller, encoded, html, html_with_csp, stripe_csp, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_domain::billing::invoice::{Invoice, InvoiceStatus};
use csms_domain::tenant::Language;
use csms_kernel::ports::PageRequest;
use maud::{html, Markup};

/// How many of my invoices the page shows (newest first).
const SHOWN: u32 = 50;

fn date(d: chrono::NaiveDate, lang: Language) -> String {
    match lang {
        Language::Sv => d.format("%Y-%m-%d").to_string(),
        Language::En => d.format("%-d %b %Y").to_string(),
    }
}

pub(crate) fn status_badge(invoice: &Invoice, today: chrono::NaiveDate, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    match invoice.status {
        InvoiceStatus::Paid => badge("s-ok", t(Msg::InvoicePaid)),
        _ if invoice.is_overdue(today) => badge("s-bad", t(Msg::InvoiceOverdue)),
        InvoiceStatus::PartlyPaid => badge("s-warn", t(Msg::InvoicePartlyPaid)),
        InvoiceStatus::Issued => badge("s-busy", t(Msg::InvoiceUnpaid)),
    }
}

/// `GET /portal/me/invoices`.
pub async fn invoices(
    State(st): State<PortalState>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let path = "/portal/me/invoices";
    let c = caller(&st, &headers, path).await?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let store = &*st.api.store;
    let invoices = store
        .list_user_invoices(&c.user.id, &PageRequest::first(SHOWN))
        .await
        .or_page(&c)?
        .items;
    let today = st.api.billing.today();
    let card = c.user.saved_card.as_ref();
    let swish = st.api.billing.swish_enabled();
    let body = html! {
        h1 { (t(Msg::MyInvoices)) }
        p {
            @match card {
                Some(card) => {
                    (t(Msg::PaidByCard)) " " (card_name(card)) ". "
                    a href="/portal/me/card" { (t(Msg::ChangeCard)) }
                }
                None if st.api.billing.stripe_js_url().is_some() => {
                    a href="/portal/me/card" { (t(Msg::SaveCardForAutopay)) }
                }
                None => {}
            }
        }
        @if invoices.is_empty() {
            p.empty { (t(Msg::NoInvoices)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (t(Msg::InvoiceNumber)) }
                    th scope="col" { (t(Msg::InvoiceSeller)) }
                    th scope="col" { (t(Msg::InvoiceDue)) }
                    th scope="col" { (t(Msg::InvoiceAmount)) }
                    th scope="col" { (t(Msg::Status)) }
                    th scope="col" { (t(Msg::InvoiceDocument)) }
                    @if swish { th scope="col" { (t(Msg::Pay)) } }
                } }
                tbody {
                    @for i in &invoices {
                        tr {
                            td data-label=(t(Msg::InvoiceNumber)) {
                                a href={"/portal/me/invoices/" (encoded(i.id.as_str()))} { (i.number.to_string()) }
                            }
                            td data-label=(t(Msg::InvoiceSeller)) { (i.seller.legal_name) }
                            td data-label=(t(Msg::InvoiceDue)) { (date(i.due_date, lang)) }
                            td.num data-label=(t(Msg::InvoiceAmount)) { (i18n::money(i.gross, &i.currency, lang)) }
                            td data-label=(t(Msg::Status)) { (status_badge(i, today, lang)) }
                            td data-label=(t(Msg::InvoiceDocument)) {
                                a href={"/api/v1/me/invoices/" (i.id.as_str()) "/pdf"}
                                    aria-label=(Msg::InvoicePdfOf.text(lang).replace("{}", &i.number.to_string())) {
                                    "PDF"
                                }
                            }
                            @if swish {
                                td data-label=(t(Msg::Pay)) {
                                    @if i.status != InvoiceStatus::Paid {
                                        a href=(pay_path(i.id.as_str()))
                                            aria-label=(Msg::PayInvoiceBySwish.text(lang).replace("{}", &i.number.to_string())) {
                                            (t(Msg::PayBySwish))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(path), t(Msg::MyInvoices), body),
    ))
}

fn card_name(card: &csms_domain::user::SavedCard) -> String {
    let mut brand = card.brand.clone();
    if let Some(first) = brand.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!(
        "{brand} •••• {} ({:02}/{})",
        card.last4, card.exp_month, card.exp_year
    )
}

/// `GET /portal/me/card`.
pub async fn card(State(st): State<PortalState>, headers: HeaderMap) -> Result<Response, Failure> {
    let path = "/portal/me/card";
    let c = caller(&st, &headers, path).await?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let js = st.api.billing.stripe_js_url();
    let body = html! {
        h1 { (t(Msg::SavedCard)) }
        p { (t(Msg::SavedCardText)) }
        @if let Some(card) = &c.user.saved_card {
            section aria-labelledby="current" {
                h2 #current { (t(Msg::CurrentCard)) }
                p.card-now { (card_name(card)) }
                form method="post" action="/portal/me/card/remove" {
                    input type="hidden" name="csrf" value=(c.session.csrf_token);
                    button type="submit" { (t(Msg::RemoveCard)) }
                }
            }
        }
        @match js {
            None => p.empty { (t(Msg::CardsOff)) },
            Some(js) => {
                section aria-labelledby="new-card" {
                    h2 #new-card {
                        @if c.user.saved_card.is_some() { (t(Msg::ReplaceCard)) } @else { (t(Msg::AddCard)) }
                    }
                    form #card-form data-csrf=(c.session.csrf_token)
                        data-saving=(t(Msg::CardSaving)) data-failed=(t(Msg::CardFailed)) {
                        p #card-label { (t(Msg::CardDetails)) }
                        div #card-element.card-element role="group" aria-labelledby="card-label" {}
                        button type="submit" disabled { (t(Msg::SaveCard)) }
                        p #card-status role="status" aria-live="polite" {}
                    }
                }
                script src=(js) defer {}
                script src=(CARD_JS.url()) defer {}
            }
        }
    };
    let page = layout::page(&c.frame(path), t(Msg::SavedCard), body);
    Ok(match js.and_then(stripe_csp) {
        // Stripe.js from its origin, its frames, and its calls to Stripe's
        // API (localstripe's mock calls the origin it came from).
        Some(csp) => html_with_csp(StatusCode::OK, page, &csp),
        None => html(StatusCode::OK, page),
    })
}

/// `POST /portal/me/card/remove`: forgets the saved card, back to the page.
pub async fn remove_card(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let path = "/portal/me/card";
    let c = caller(&st, &headers, path).await?;
    c.check_csrf(&Form::parse(&body))?;
    st.api
        .billing
        .remove_card(&c.user.id)
        .await
        .map_err(|e| c.fail(e.into()))?;
    Ok(Redirect::to(path).into_response())
}

/// The person's own invoice `id` (another's, or none, is the 404 page).
async fn my_invoice(
    st: &PortalState,
    c: &crate::web::Caller,
    id: &str,
) -> Result<Invoice, Failure> {
    let parsed = csms_domain::billing::invoice::InvoiceId::parse(id).map_err(|_| {
        c.fail(csms_api::error::ApiError::NotFound(
            "no such invoice".into(),
        ))
    })?;
    st.api
        .store
        .get_invoice(&parsed)
        .await
        .or_page(c)?
        .filter(|i| i.user_id == c.user.id)
        .ok_or_else(|| {
            c.fail(csms_api::error::ApiError::NotFound(
                "no such invoice".into(),
            ))
        })
}

/// The live status of my invoice, polling itself until it is paid.
fn invoice_status(i: &Invoice, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let url = format!("/portal/live/invoices/{}", encoded(i.id.as_str()));
    html! {
        @if i.status == InvoiceStatus::Paid {
            div #pay-status.card role="status" data-status="paid" { p { (badge("s-ok", t(Msg::InvoicePaid))) " " (t(Msg::ThanksPaid)) } }
        } @else {
            div #pay-status.card role="status" data-status="waiting" hx-get=(url) hx-trigger="every 2s" hx-swap="outerHTML" {
                p { (t(Msg::SwishWaiting)) }
            }
        }
    }
}

fn pay_form(
    c: &crate::web::Caller,
    i: &Invoice,
    due: rust_decimal::Decimal,
    error: Option<&str>,
    payer: &str,
) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    html! {
        h1 { (Msg::PayInvoiceBySwish.text(lang).replace("{}", &i.number.to_string())) }
        p { (t(Msg::InvoiceAmountDue)) ": " strong { (i18n::money(due, &i.currency, lang)) } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action=(pay_path(i.id.as_str())) {
            input type="hidden" name="csrf" value=(c.session.csrf_token);
            label for="payer" { (t(Msg::SwishNumber)) }
            input #payer type="tel" name="payer" value=(payer) autocomplete="tel" inputmode="tel" aria-describedby="payer-hint";
            p #payer-hint.hint { (t(Msg::SwishNumberHint)) }
            button type="submit" { (t(Msg::PayBySwish)) }
        }
    }
}

fn pay_path(id: &str) -> String {
    format!("/portal/me/invoices/{}/pay", encoded(id))
}

fn pay_title(invoice: &Invoice, lang: Language) -> String {
    Msg::PayInvoiceBySwish
        .text(lang)
        .replace("{}", &invoice.number.to_string())
}

/// The pay page with its form (what is due, the number typed, what was
/// wrong with it), answered with `status`.
async fn form_page(
    st: &PortalState,
    c: &crate::web::Caller,
    invoice: &Invoice,
    error: Option<&str>,
    payer: &str,
    status: StatusCode,
) -> Result<Response, Failure> {
    let due = st
        .api
        .billing
        .invoice_payments(invoice)
        .await
        .map_err(|e| c.fail(e.into()))?
        .due;
    let path = pay_path(invoice.id.as_str());
    let body = pay_form(c, invoice, due, error, payer);
    Ok(html(
        status,
        layout::page(&c.frame(&path), &pay_title(invoice, c.lang), body),
    ))
}

/// `GET /portal/me/invoices/{id}/pay`: paying my invoice by Swish.
pub async fn pay_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, Failure> {
    let path = pay_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let invoice = my_invoice(&st, &c, &id).await?;
    if invoice.status != InvoiceStatus::Paid {
        return form_page(&st, &c, &invoice, None, "", StatusCode::OK).await;
    }
    let body = invoice_status(&invoice, c.lang);
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), &pay_title(&invoice, c.lang), body),
    ))
}

/// `POST /portal/me/invoices/{id}/pay`: the Swish request made; the page
/// then waits for it to be paid.
pub async fn pay(
    State(st): State<PortalState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let path = pay_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let invoice = my_invoice(&st, &c, &id).await?;
    let lang = c.lang;
    let raw = form.get("payer").unwrap_or("").trim();
    let payer = match raw {
        "" => None,
        raw => match csms_billing::swish::PayerAlias::parse(raw) {
            Ok(p) => Some(p),
            Err(_) => {
                let invalid = Some(Msg::SwishNumberInvalid.text(lang));
                return form_page(&st, &c, &invoice, invalid, raw, StatusCode::BAD_REQUEST).await;
            }
        },
    };
    let callback = csms_api::shared::swish_callback_url(&st.api).map_err(|e| c.fail(e))?;
    let started = st
        .api
        .billing
        .start_swish(&invoice, payer, &callback)
        .await
        .map_err(|e| c.fail(e.into()))?;
    let title = pay_title(&invoice, lang);
    let body = html! {
        h1 { (title) }
        p { (Msg::InvoiceAmountDue.text(lang)) ": " strong { (i18n::money(started.amount, &invoice.currency, lang)) } }
        @match &started.app_url {
            Some(url) => p { a.button href=(url) { (Msg::OpenSwish.text(lang)) } },
            None => p { (Msg::SwishApprove.text(lang)) },
        }
        (invoice_status(&invoice, lang))
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), &title, body),
    ))
}

/// `GET /portal/live/invoices/{id}`: the invoice's status, for the page
/// that waits for a payment.
pub async fn live_invoice(
    State(st): State<PortalState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/me/invoices").await?;
    let invoice = my_invoice(&st, &c, &id).await?;
    Ok(html(StatusCode::OK, invoice_status(&invoice, c.lang)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_js_s_origin_and_no_other_is_allowed() {
        let csp = stripe_csp("https://js.stripe.com/v3/").unwrap();
        assert!(
            csp.contains("script-src 'self' https://js.stripe.com;"),
            "{csp}"
        );
        let csp = stripe_csp("http://127.0.0.1:8420/js.stripe.com/v3/").unwrap();
        assert!(
            csp.contains("script-src 'self' http://127.0.0.1:8420;"),
            "{csp}"
        );
        assert!(stripe_csp("nonsense").is_none());
    }
}
