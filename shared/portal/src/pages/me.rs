//! The driver's page, `GET /portal/me`: my charging history with energy
//! and cost, and my identifiers — what `GET /me/sessions` and
//! `GET /me/id-tokens` read (the person's own, of every organisation),
//! for any signed-in person whatever their role.

use crate::i18n::Msg;
use crate::layout::{self, badge};
use crate::live::with_prices;
use crate::sessions_table;
use crate::web::{caller, html, Failure, OrPage};
use crate::PortalState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_domain::token::TokenStatus;
use csms_kernel::ports::PageRequest;
use maud::html;

/// How many of my sessions and identifiers the page shows.
const SHOWN: u32 = 50;

/// `GET /portal/me`.
pub async fn page(State(st): State<PortalState>, headers: HeaderMap) -> Result<Response, Failure> {
    let path = "/portal/me";
    let c = caller(&st, &headers, path).await?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let store = &*st.api.store;
    let sessions = store
        .list_user_sessions(&c.user.id, &PageRequest::first(SHOWN))
        .await
        .or_page(&c)?
        .items;
    let sessions = with_prices(store, sessions).await.or_page(&c)?;
    let tokens = store
        .list_user_id_tokens(&c.user.id, &PageRequest::first(SHOWN))
        .await
        .or_page(&c)?
        .items;
    let body = html! {
        h1 { (t(Msg::MyCharging)) }
        section aria-labelledby="history" {
            h2 #history { (t(Msg::MyHistory)) }
            (sessions_table::table(lang, &sessions, sessions_table::Columns { station: true, identifier: false, link: false }))
        }
        section aria-labelledby="identifiers" {
            h2 #identifiers { (t(Msg::MyIdentifiers)) }
            @if tokens.is_empty() {
                p.empty { (t(Msg::NoIdentifiers)) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (t(Msg::Identifier)) }
                        th scope="col" { (t(Msg::Kind)) }
                        th scope="col" { (t(Msg::Label)) }
                        th scope="col" { (t(Msg::Status)) }
                    } }
                    tbody {
                        @for tok in &tokens {
                            tr {
                                td data-label=(t(Msg::Identifier)) { code { (tok.token.as_str()) } }
                                td data-label=(t(Msg::Kind)) { (tok.token_type.as_str()) }
                                td data-label=(t(Msg::Label)) { (tok.label.as_deref().unwrap_or("–")) }
                                td data-label=(t(Msg::Status)) {
                                    @match tok.status {
                                        TokenStatus::Accepted => (badge("s-ok", t(Msg::TokenAccepted))),
                                        TokenStatus::Blocked => (badge("s-bad", t(Msg::TokenBlocked))),
                                        TokenStatus::Expired => (badge("s-off", t(Msg::TokenExpired))),
                                        TokenStatus::Invalid => (badge("s-bad", t(Msg::TokenInvalid))),
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
        layout::page(&c.frame(path), t(Msg::MyCharging), body),
    ))
}
