//! The driver's page, `GET /portal/me`: my charging history with energy
//! and cost, and my identifiers — what `GET /me/sessions` and
//! `GET /me/id-tokens` read (the person's own, of every organisation),
//! for any signed-in person whatever their role — and my ratings of my
//! ended sessions, each a form posting to
//! `POST /portal/me/sessions/{id}/rating`, the use case behind
//! `PUT /me/sessions/{id}/rating` (`csms_api::shared::rate_my_session`:
//! once per session, changeable for 7 days; its refusals are the page's).

use crate::i18n;
use crate::i18n::Msg;
use crate::layout::{self, badge};
use crate::live::with_prices;
use crate::sessions_table;
use crate::web::{audit, caller, encoded, html, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::error::ApiError;
use csms_api::shared::{rate_my_session, RatingInput};
use csms_domain::rating::Rating;
use csms_domain::session::{Session, SessionStatus};
use csms_domain::tenant::Language;
use csms_domain::token::TokenStatus;
use csms_domain::Timestamp;
use csms_kernel::ports::PageRequest;
use maud::{html, Markup};

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
    // My rating of each ended session (one read each, at most SHOWN).
    let mut rated = Vec::new();
    for s in sessions
        .iter()
        .filter(|s| s.status == SessionStatus::Completed)
    {
        let rating = store.get_rating(&s.id).await.or_page(&c)?;
        rated.push((s.clone(), rating));
    }
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
        (ratings(&c, &rated, st.api.clock.now()))
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

/// My ended sessions, each with my rating or the form to rate it (and to
/// change it while the API still allows).
fn ratings(c: &crate::web::Caller, rated: &[(Session, Option<Rating>)], now: Timestamp) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    html! {
        section #ratings aria-labelledby="ratings-title" {
            h2 #ratings-title { (t(Msg::RateTitle)) }
            p.hint { (t(Msg::RateHint)) }
            @if rated.is_empty() {
                p.empty { (t(Msg::RateNothing)) }
            }
            @for (i, (s, rating)) in rated.iter().enumerate() {
                @let heading = format!("rate-{i}");
                article.card aria-labelledby=(heading) data-session=(s.id.as_str()) {
                    h3 #(heading) { (session_title(s, lang)) }
                    @match rating {
                        Some(r) => {
                            p.rating { (t(Msg::RateYours).replace("{}", &r.stars.get().to_string())) }
                            @if let Some(comment) = &r.comment { blockquote { (comment) } }
                            @if now < r.editable_until() {
                                details {
                                    summary { (t(Msg::RateChange)) }
                                    p.hint { (t(Msg::RateUntil).replace("{}", &i18n::datetime(r.editable_until(), lang))) }
                                    (rating_form(c, s, i, Some(r)))
                                }
                            }
                        }
                        None => (rating_form(c, s, i, None)),
                    }
                }
            }
        }
    }
}

/// "Station on date" for a session.
fn session_title(s: &Session, lang: Language) -> String {
    let when = s
        .started_at
        .or(s.ended_at)
        .map(|t| i18n::datetime(t, lang))
        .unwrap_or_else(|| "–".into());
    Msg::RateSessionAt
        .text(lang)
        .replacen("{}", s.station_id.as_str(), 1)
        .replacen("{}", &when, 1)
}

/// The form rating session `s` (the `i`th on the page), filled with the
/// rating it has.
fn rating_form(c: &crate::web::Caller, s: &Session, i: usize, now: Option<&Rating>) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let action = format!("/portal/me/sessions/{}/rating", encoded(s.id.as_str()));
    let comment_id = format!("comment-{i}");
    let chosen = now.map(|r| r.stars.get());
    html! {
        form.rate method="post" action=(action) {
            input type="hidden" name="csrf" value=(c.session.csrf_token);
            fieldset.stars {
                legend { (t(Msg::RateStars)) }
                @for n in 1..=5u8 {
                    label {
                        input type="radio" name="stars" value=(n) required checked[chosen == Some(n)];
                        @if n == 1 { (t(Msg::RateOneStar)) } @else { (t(Msg::RateNStars).replace("{}", &n.to_string())) }
                    }
                }
            }
            label for=(comment_id) { (t(Msg::RateComment)) }
            textarea #(comment_id) name="comment" rows="2" maxlength="1000" {
                (now.and_then(|r| r.comment.as_deref()).unwrap_or(""))
            }
            p { button type="submit" { (t(Msg::RateSave)) } }
        }
    }
}

/// `POST /portal/me/sessions/{id}/rating`: `stars` (1 to 5) and an
/// optional `comment`, through the API's use case; its refusals (not mine,
/// still active, the 7 days over, a bad field) are the error page.
pub async fn rate(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/me").await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let stars = form
        .get("stars")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| c.fail(ApiError::BadRequest("stars: choose 1 to 5 stars".into())))?;
    let comment = form
        .get("comment")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    rate_my_session(&st.api, &c.user.id, &id, RatingInput { stars, comment })
        .await
        .or_page(&c)?;
    // Noted like the API's own write, in the caller's organisation.
    if let Some(who) = &c.who {
        let path = format!("/portal/me/sessions/{}/rating", encoded(&id));
        audit(
            &st,
            who,
            "POST /portal/me/sessions/{id}/rating",
            &path,
            &form,
        )
        .await;
    }
    Ok(Redirect::to("/portal/me#ratings").into_response())
}
