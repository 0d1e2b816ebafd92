//! The organisation's LaddID, `GET /portal/laddid`: its identifiers (RFID
//! cards, AutoCharge ids, central identities) with their holder and status,
//! blocked with a reason or unblocked in one click
//! (`POST /portal/laddid/{value}/block`, `…/unblock`), and the cards and
//! cars seen at its stations but not registered, each registered for one of
//! its people in one step (`POST /portal/laddid/seen/{value}/register`).
//! Reading needs the API's `read` scope, changing its `admin` scope, as the
//! API routes; the changes are the API's own use cases
//! (`csms_api::shared::{block_token, …}`: the local lists follow), written
//! to the audit log like the API's writes.

use crate::i18n::Msg;
use crate::layout::{self, badge};
use crate::web::{audit, caller, encoded, html, Caller, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::error::ApiError;
use csms_api::shared::{block_token, register_seen_token, unblock_token, Principal, TokenFields};
use csms_domain::api_key::Scope;
use csms_domain::token::{IdTokenRecord, TokenStatus};
use csms_kernel::ports::PageRequest;
use maud::html;
use std::collections::HashMap;

const PATH: &str = "/portal/laddid";
/// How many of each list the page shows.
const SHOWN: u32 = 200;

fn status(t: &IdTokenRecord, lang: csms_domain::tenant::Language) -> maud::Markup {
    match t.status {
        TokenStatus::Accepted => badge("s-ok", Msg::LaddIdAccepted.text(lang)),
        TokenStatus::Blocked => badge("s-bad", Msg::LaddIdBlocked.text(lang)),
        TokenStatus::Expired => badge("s-warn", Msg::LaddIdExpired.text(lang)),
        TokenStatus::Invalid => badge("s-bad", Msg::LaddIdInvalid.text(lang)),
    }
}

/// `GET /portal/laddid`.
pub async fn page(
    State(st): State<PortalState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let who = c.permitted(Scope::Read)?;
    let may_change = c.may(Scope::Admin);
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let store = &*st.api.store;
    let first = PageRequest::first(SHOWN);
    let tokens = store
        .list_id_tokens(&who.org_id, &first)
        .await
        .or_page(&c)?
        .items;
    let seen = store
        .list_unregistered(&who.org_id, &first)
        .await
        .or_page(&c)?
        .items;
    let people = store
        .list_users(&who.org_id, &first)
        .await
        .or_page(&c)?
        .items;
    let names: HashMap<String, String> = people
        .iter()
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    let csrf = c.session.csrf_token.clone();
    let body = html! {
        h1 { (t(Msg::LaddIdTitle)) }
        @if q.contains_key("done") {
            p role="status" { (t(Msg::LaddIdDone)) }
        }
        @if tokens.is_empty() {
            p.empty { (t(Msg::LaddIdNone)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (t(Msg::LaddIdValue)) }
                    th scope="col" { (t(Msg::LaddIdType)) }
                    th scope="col" { (t(Msg::LaddIdLabel)) }
                    th scope="col" { (t(Msg::LaddIdHolder)) }
                    th scope="col" { (t(Msg::Status)) }
                    @if may_change { th scope="col" { (t(Msg::Actions)) } }
                } }
                tbody {
                    @for tk in &tokens {
                        @let value = tk.token.as_str();
                        tr {
                            td data-label=(t(Msg::LaddIdValue)) { code { (value) } }
                            td data-label=(t(Msg::LaddIdType)) { (tk.token_type.as_str()) }
                            td data-label=(t(Msg::LaddIdLabel)) { (tk.label.clone().unwrap_or_default()) }
                            td data-label=(t(Msg::LaddIdHolder)) {
                                (tk.user_id.as_ref().and_then(|u| names.get(u.as_str()).cloned()).unwrap_or_default())
                            }
                            td data-label=(t(Msg::Status)) {
                                (status(tk, lang))
                                @if let Some(b) = tk.block.as_ref().filter(|b| b.unblocked_at.is_none()) {
                                    " " small { (b.reason) }
                                }
                            }
                            @if may_change {
                                td data-label=(t(Msg::Actions)) {
                                    @if tk.status == TokenStatus::Blocked {
                                        form method="post" action={(PATH) "/" (encoded(value)) "/unblock"} {
                                            input type="hidden" name="csrf" value=(csrf);
                                            button type="submit" aria-label=(Msg::LaddIdUnblockOf.text(lang).replace("{}", value)) {
                                                (t(Msg::LaddIdUnblock))
                                            }
                                        }
                                    } @else {
                                        form.inline method="post" action={(PATH) "/" (encoded(value)) "/block"} {
                                            input type="hidden" name="csrf" value=(csrf);
                                            @let id = format!("reason-{}", encoded(value));
                                            label for=(id) { (t(Msg::LaddIdReason)) }
                                            " "
                                            input id=(id) name="reason" required maxlength="200";
                                            " "
                                            button type="submit" aria-label=(Msg::LaddIdBlockOf.text(lang).replace("{}", value)) {
                                                (t(Msg::LaddIdBlock))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t(Msg::LaddIdSeen)) }
        @if seen.is_empty() {
            p.empty { (t(Msg::LaddIdSeenNone)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (t(Msg::LaddIdValue)) }
                    th scope="col" { (t(Msg::LaddIdStation)) }
                    th scope="col" { (t(Msg::LaddIdSeenAt)) }
                    th scope="col" { (t(Msg::LaddIdTimes)) }
                    @if may_change { th scope="col" { (t(Msg::LaddIdAssign)) } }
                } }
                tbody {
                    @for s in &seen {
                        @let value = s.token.as_str();
                        tr {
                            td data-label=(t(Msg::LaddIdValue)) { code { (value) } }
                            td data-label=(t(Msg::LaddIdStation)) { (s.station_id.as_str()) }
                            td data-label=(t(Msg::LaddIdSeenAt)) {
                                (s.last_seen.with_timezone(&chrono_tz::Europe::Stockholm).format("%Y-%m-%d %H:%M").to_string())
                            }
                            td.num data-label=(t(Msg::LaddIdTimes)) { (s.count) }
                            @if may_change {
                                td data-label=(t(Msg::LaddIdAssign)) {
                                    form.inline method="post" action={(PATH) "/seen/" (encoded(value)) "/register"} {
                                        input type="hidden" name="csrf" value=(csrf);
                                        @let id = format!("holder-{}", encoded(value));
                                        label.visually-hidden for=(id) { (Msg::LaddIdAssignOf.text(lang).replace("{}", value)) }
                                        select id=(id) name="user" {
                                            option value="" { (t(Msg::LaddIdNobody)) }
                                            @for u in &people {
                                                option value=(u.id.as_str()) { (u.name) " (" (u.email.as_str()) ")" }
                                            }
                                        }
                                        " "
                                        button type="submit" { (t(Msg::LaddIdRegister)) }
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
        layout::page(&c.frame(PATH), t(Msg::LaddIdTitle), body),
    ))
}

/// The checks every change on the page makes: signed in, the form's CSRF
/// token, the API's `admin` scope.
async fn changing(
    st: &PortalState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Caller, Form, Principal), Failure> {
    let c = caller(st, headers, PATH).await?;
    let form = Form::parse(body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Admin)?.clone();
    Ok((c, form, who))
}

/// In the organisation's audit log like the API's writes (field names
/// only), then back to the page.
async fn done(
    st: &PortalState,
    who: &Principal,
    form: &Form,
    operation: &str,
    path: String,
) -> Response {
    audit(st, who, operation, &path, form).await;
    Redirect::to(&format!("{PATH}?done=1")).into_response()
}

/// `POST /portal/laddid/{value}/block`: `reason`.
pub async fn block(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(value): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (c, form, who) = changing(&st, &headers, &body).await?;
    let reason = form.get("reason").unwrap_or("").trim().to_owned();
    if reason.is_empty() {
        return Err(c.fail(ApiError::BadRequest(
            "reason: say why the identifier is blocked".into(),
        )));
    }
    block_token(&st.api, &who, &value, &reason)
        .await
        .or_page(&c)?;
    Ok(done(
        &st,
        &who,
        &form,
        "POST /portal/laddid/{value}/block",
        format!("{PATH}/{value}/block"),
    )
    .await)
}

/// `POST /portal/laddid/{value}/unblock`.
pub async fn unblock(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(value): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (c, form, who) = changing(&st, &headers, &body).await?;
    unblock_token(&st.api, &who, &value).await.or_page(&c)?;
    Ok(done(
        &st,
        &who,
        &form,
        "POST /portal/laddid/{value}/unblock",
        format!("{PATH}/{value}/unblock"),
    )
    .await)
}

/// `POST /portal/laddid/seen/{value}/register`: `user` (empty: no holder).
pub async fn register(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(value): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (c, form, who) = changing(&st, &headers, &body).await?;
    let user = form
        .get("user")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    let fields = TokenFields {
        status: Some("Accepted".into()),
        user_id: Some(user),
        ..Default::default()
    };
    register_seen_token(&st.api, &who, &value, None, fields)
        .await
        .or_page(&c)?;
    Ok(done(
        &st,
        &who,
        &form,
        "POST /portal/laddid/seen/{value}/register",
        format!("{PATH}/seen/{value}/register"),
    )
    .await)
}
