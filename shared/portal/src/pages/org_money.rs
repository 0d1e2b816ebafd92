//! An organisation's money, `GET /portal/invoices`: the last month's
//! settlement (what drivers paid in, what was paid at the chargers, the
//! platform's fee and the payout, as `GET /settlements/{period}` reads them
//! from the ledger, with the self-invoice's PDF once settled) and the
//! organisation's invoices with their status and PDF (`GET /invoices`).
//! For the roles that read the organisation (the API's `read` scope).
//! `?period=YYYY-MM` shows another month's settlement (a month that is not
//! one is a 400 naming the field).

use crate::i18n::{self, Msg};
use crate::layout;
use crate::pages::money::status_badge;
use crate::web::{caller, encoded, html, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_api::error::ApiError;
use csms_domain::api_key::Scope;
use csms_domain::billing::period::Period;
use csms_kernel::ports::{InvoiceQuery, PageRequest};
use maud::html;
use std::collections::HashMap;

/// How many invoices the page shows (highest number first).
const SHOWN: u32 = 100;

/// `GET /portal/invoices`.
pub async fn page(
    State(st): State<PortalState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let path = "/portal/invoices";
    let c = caller(&st, &headers, path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let today = st.api.billing.today();
    let last = match q.get("period").map(|p| p.trim()).filter(|p| !p.is_empty()) {
        Some(raw) => Some(
            Period::parse(raw)
                .map_err(|e| ApiError::BadRequest(format!("period: {e}")))
                .or_page(&c)?,
        ),
        None => Period::of(today).and_then(Period::previous),
    };
    let settlement = match last {
        Some(p) => Some(
            st.api
                .billing
                .settlement(&who.org_id, p)
                .await
                .or_page(&c)?,
        ),
        None => None,
    };
    let invoices = st
        .api
        .store
        .list_invoices(&InvoiceQuery {
            org_id: who.org_id.clone(),
            period: None,
            user_id: None,
            status: None,
            page: PageRequest::first(SHOWN),
        })
        .await
        .or_page(&c)?
        .items;
    let money = |d: rust_decimal::Decimal| i18n::money(d, "SEK", lang);
    let body = html! {
        h1 { (t(Msg::OrgInvoices)) }
        @if let Some(s) = &settlement {
            section aria-labelledby="settlement" {
                h2 #settlement { (Msg::SettlementOf.text(lang).replace("{}", &s.period.to_string())) }
                @if !s.fee_booked && s.payout_booked_at.is_none() {
                    p { (t(Msg::SettlementNotYet)) }
                }
                dl.facts {
                    dt { (t(Msg::SettlementPaidIn)) } dd.num { (money(s.paid_in)) }
                    dt { (t(Msg::SettlementPublic)) } dd.num { (money(s.public_revenue)) }
                    dt { (t(Msg::SettlementUnpaid)) } dd.num { (money(s.unpaid_at_end)) }
                    dt { (t(Msg::SettlementFee)) } dd.num { (money(s.fee.gross)) }
                    @match &s.payout_blocked {
                        Some(why) => {
                            dt { (t(Msg::SettlementBlocked)) } dd { (why) }
                        }
                        None => {
                            dt { (t(Msg::SettlementPayout)) } dd.num { (money(s.payout)) }
                        }
                    }
                    dt { (t(Msg::SettlementHeld)) } dd.num { (money(s.held)) }
                }
                @if s.fee_booked || s.payout_booked_at.is_some() {
                    p {
                        a href={"/api/v1/settlements/" (s.period.to_string()) "/pdf"} { (t(Msg::SelfInvoicePdf)) }
                    }
                }
            }
        }
        h2 { (t(Msg::InvoicesHeading)) }
        @if invoices.is_empty() {
            p.empty { (t(Msg::OrgNoInvoices)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (t(Msg::InvoiceNumber)) }
                    th scope="col" { (t(Msg::InvoiceDriver)) }
                    th scope="col" { (t(Msg::InvoicePeriod)) }
                    th scope="col" { (t(Msg::InvoiceDue)) }
                    th scope="col" { (t(Msg::InvoiceAmount)) }
                    th scope="col" { (t(Msg::Status)) }
                    th scope="col" { (t(Msg::InvoiceDocument)) }
                } }
                tbody {
                    @for i in &invoices {
                        tr {
                            td data-label=(t(Msg::InvoiceNumber)) {
                                a href={"/portal/invoices/" (encoded(i.id.as_str()))} { (i.number.to_string()) }
                            }
                            td data-label=(t(Msg::InvoiceDriver)) { (i.buyer.name) }
                            td data-label=(t(Msg::InvoicePeriod)) { (i.period.to_string()) }
                            td data-label=(t(Msg::InvoiceDue)) { (i.due_date.to_string()) }
                            td.num data-label=(t(Msg::InvoiceAmount)) { (i18n::money(i.gross, &i.currency, lang)) }
                            td data-label=(t(Msg::Status)) { (status_badge(i, today, lang)) }
                            td data-label=(t(Msg::InvoiceDocument)) {
                                a href={"/api/v1/invoices/" (i.id.as_str()) "/pdf"}
                                    aria-label=(Msg::InvoicePdfOf.text(lang).replace("{}", &i.number.to_string())) {
                                    "PDF"
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
        layout::page(&c.frame(path), t(Msg::OrgInvoices), body),
    ))
}
