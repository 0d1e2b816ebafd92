//! The public pages behind an EVSE's start link, for whoever scans its QR
//! code with a phone: no sign-in needed, small, server-rendered.
//!
//! - The start page is served at the start link itself,
//!   `GET /api/v1/start/{key}`, to a browser (its `Accept` prefers HTML;
//!   [`html_at_start_links`] decides before the API's route would answer
//!   JSON, which every other client keeps getting). It shows what
//!   `GET /start/{key}` shows (`csms_api::shared::start_info`): the station
//!   and EVSE, the site's address, the status and access mode in words,
//!   whether this visitor may start and if not why; and the public price
//!   now (the price preview's use case, excluding and including VAT).
//! - A signed-in person who may start gets **Start charging**
//!   (`POST /portal/start/{key}`, with the CSRF token: the use case of
//!   `POST /start/{key}`); a visitor who is not signed in gets the **pay**
//!   flow: e-mail and the receipt's language (`POST /portal/start/{key}/pay`,
//!   the use case of `POST /start/{key}/payment`), then Stripe.js's card
//!   element on a page whose content security policy alone names Stripe's
//!   origin, then `POST /portal/start/{key}/pay/{intentId}/start` (the use
//!   case of `POST /start/{key}/payment/{intentId}/start`). Where card
//!   payments are off, a visitor starts like a signed-in person, as the API
//!   allows. Either start goes back to the start page with the start, whose
//!   outcome htmx fetches (`GET /portal/live/start/{key}/{commandId}`) until
//!   the charger has answered.
//! - The station's status page, `GET /portal/status/{key}`: every EVSE of
//!   the link's station with its status in words, refreshed every 5 s;
//!   nothing private (no station id, no identifiers, no sessions).
//!
//! The language is a signed-in person's own, else the `csms_lang` cookie
//! (the switch), else the browser's `Accept-Language`, else Swedish.

use crate::assets::START_JS;
use crate::i18n::{self, Msg};
use crate::layout::{self, badge, Frame};
use crate::pages::prices::{kind_name, unit_price};
use crate::web::{self, encoded, html, html_with_csp, stripe_csp, Caller, Failure, Form};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::error::ApiError;
use csms_api::shared::{
    hold_at_link, link_price, start_by_link, start_info, start_of_link, start_paid,
    station_statuses, Hold, Launched, StartInfoView,
};
use csms_domain::charging_key::EvseChargingKey;
use csms_domain::command::{Command, CommandStatus};
use csms_domain::tariff::ComponentKind;
use csms_domain::tenant::Language;
use csms_domain::user::User;
use maud::{html, Markup};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;

/// The start link's path prefix: `{prefix}{key}` is an EVSE's link.
const LINK_PREFIX: &str = "/api/v1/start/";

/// The start link's page path of `key`.
fn link_path(key: &str) -> String {
    format!("{LINK_PREFIX}{}", encoded(key))
}

/// The key of a start link's own path (`/api/v1/start/{key}`, nothing
/// after it).
fn link_key(path: &str) -> Option<&str> {
    let key = path.strip_prefix(LINK_PREFIX)?;
    (!key.is_empty() && !key.contains('/')).then_some(key)
}

/// Who is looking: a signed-in person (their language, menu and CSRF
/// token), or a visitor.
struct Viewer {
    caller: Option<Caller>,
    lang: Language,
}

impl Viewer {
    async fn of(st: &PortalState, headers: &HeaderMap, path: &str) -> Result<Viewer, Failure> {
        match web::caller(st, headers, path).await {
            Ok(c) => Ok(Viewer {
                lang: c.lang,
                caller: Some(c),
            }),
            Err(Failure::SignIn { .. }) => Ok(Viewer {
                caller: None,
                lang: web::visitor_lang(headers),
            }),
            Err(e) => Err(e),
        }
    }

    fn frame<'a>(&'a self, path: &'a str) -> Frame<'a> {
        match &self.caller {
            Some(c) => c.frame(path),
            None => Frame {
                lang: self.lang,
                path,
                user: None,
            },
        }
    }

    fn fail(&self, e: ApiError) -> Failure {
        match &self.caller {
            Some(c) => c.fail(e),
            None => Failure::Page(self.lang, e),
        }
    }
}

/// The middleware in front of the API that serves the start page to a
/// browser at the start link itself: a `GET` of `/api/v1/start/{key}` whose
/// `Accept` prefers HTML is the page; anything else goes on to the API
/// (JSON, as before). Both answers say they vary by `Accept`.
pub async fn html_at_start_links(
    State(st): State<PortalState>,
    req: Request,
    next: Next,
) -> Response {
    let key = match (req.method(), link_key(req.uri().path())) {
        (&Method::GET, Some(key)) => Some(key.to_owned()),
        _ => None,
    };
    let Some(key) = key else {
        return next.run(req).await;
    };
    let mut resp = if web::prefers_html(req.headers()) {
        let started = std::time::Instant::now();
        let query: HashMap<String, String> = req
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let resp = match start_page(&st, req.headers(), &key, query.get("start"), None).await {
            Ok(r) => r,
            Err(f) => f.into_response(),
        };
        tracing::info!(
            path = %req.uri().path(),
            status = resp.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "portal page"
        );
        resp
    } else {
        next.run(req).await
    };
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

/// A status word of `GET /start/{key}` in the visitor's language, with
/// its badge's colour.
fn status_words(status: &str, lang: Language) -> (&'static str, &'static str) {
    let (class, msg) = match status {
        "available" => ("s-ok", Msg::PubStAvailable),
        "preparing" => ("s-busy", Msg::PubStPreparing),
        "charging" => ("s-busy", Msg::PubStCharging),
        "suspended" => ("s-warn", Msg::PubStSuspended),
        "finishing" => ("s-busy", Msg::PubStFinishing),
        "occupied" => ("s-busy", Msg::PubStOccupied),
        "reserved" => ("s-busy", Msg::PubStReserved),
        "faulted" => ("s-bad", Msg::PubStFaulted),
        "unavailable" => ("s-off", Msg::PubStUnavailable),
        "offline" => ("s-off", Msg::PubStOffline),
        _ => ("s-off", Msg::PubStUnknown),
    };
    (class, msg.text(lang))
}

fn refusal_words(reason: &str, lang: Language) -> &'static str {
    match reason {
        "signInRequired" => Msg::PubRefSignIn,
        "otherOrganisation" => Msg::PubRefOtherOrg,
        "groupNotAllowed" => Msg::PubRefGroup,
        "booked" => Msg::PubRefBooked,
        "occupied" => Msg::PubRefOccupied,
        _ => Msg::PubRefUnavailable,
    }
    .text(lang)
}

fn mode_words(mode: &str, lang: Language) -> &'static str {
    match mode {
        "public" => Msg::PubModePublic,
        "semiPublic" => Msg::PubModeSemiPublic,
        _ => Msg::PubModePrivate,
    }
    .text(lang)
}

/// The page's heading: the station's name, else the site's, else a word.
fn station_title(info: &StartInfoView, lang: Language) -> String {
    info.station_name
        .clone()
        .or_else(|| info.site.as_ref().map(|s| s.name.clone()))
        .unwrap_or_else(|| Msg::PubStation.text(lang).to_owned())
}

/// The price now, excluding and including VAT, of a start through the link
/// by this viewer (`csms_api::shared::link_price`: a signed-in member's
/// user group may have a price of its own; a visitor's is the public
/// price); or that it is not shown (no tariff, or a spot price not stored).
async fn price_section(
    st: &PortalState,
    k: &EvseChargingKey,
    user: Option<&User>,
    lang: Language,
) -> Markup {
    let t = |m: Msg| m.text(lang);
    // No tariff, or a spot price not stored for now: the price is not
    // shown, and the page still is.
    let preview = match link_price(&st.api, k, user).await {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = ?e, station = %k.station_id, "start page: no price to show");
            None
        }
    };
    let priced = preview
        .as_ref()
        .and_then(|p| p.tariff.as_ref().map(|tf| (p, tf)));
    // A user group's own tariff: the page says it is this driver's price.
    let group = preview.as_ref().and_then(|p| p.resolution.group.as_deref());
    html! {
        section.card aria-labelledby="price-h" {
            h2 #price-h { (t(if user.is_some() { Msg::PubPriceYours } else { Msg::PubPriceNow })) }
            @if let (Some(g), Some(_)) = (group, priced) {
                p #price-group data-group=(g) { (Msg::PubPriceGroup.text(lang).replace("{}", g)) }
            }
            @match priced {
                Some((p, tariff)) if !p.prices.is_empty() => {
                    @let vat = tariff.vat_rate;
                    table #price {
                        thead { tr {
                            th scope="col" { span.visually-hidden { (t(Msg::PricesComponent)) } }
                            th scope="col" { (t(Msg::PubPriceExcl)) }
                            th scope="col" { (t(Msg::PubPriceIncl)) }
                        } }
                        tbody {
                            @for cp in &p.prices {
                                @let unit = match cp.unit {
                                    "kWh" => t(Msg::PricesPerKwh),
                                    "min" => t(Msg::PricesPerMinute),
                                    "h" => t(Msg::PricesPerHour),
                                    _ => t(Msg::PricesPerSession),
                                };
                                @let incl = cp.unit_price.checked_mul(Decimal::ONE + vat)
                                    .map(|x| x.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero));
                                tr {
                                    th scope="row" data-label=(t(Msg::PricesComponent)) {
                                        (kind_name(cp.kind, lang))
                                        @if cp.free_minutes > 0 {
                                            br;
                                            span.muted {
                                                @if cp.kind == ComponentKind::Idle {
                                                    (Msg::PricesGraceNow.text(lang).replace("{}", &cp.free_minutes.to_string()))
                                                } @else {
                                                    (Msg::PricesFreeNow.text(lang).replace("{}", &cp.free_minutes.to_string()))
                                                }
                                            }
                                        }
                                    }
                                    td.num data-label=(t(Msg::PubPriceExcl)) { (unit_price(cp.unit_price, &tariff.currency, lang)) " " (unit) }
                                    td.num data-label=(t(Msg::PubPriceIncl)) {
                                        @match incl { Some(x) => { (unit_price(x, &tariff.currency, lang)) " " (unit) } None => "–" }
                                    }
                                }
                            }
                        }
                    }
                }
                _ => p { (t(Msg::PubPriceNone)) },
            }
        }
    }
}

/// A start's outcome in words, fetched again every second while the
/// charger has not answered.
fn outcome(key: &str, cmd: &Command, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let (class, msg) = match cmd.status {
        CommandStatus::Pending => ("s-busy", Msg::PubOutPending),
        CommandStatus::Accepted => ("s-ok", Msg::PubOutAccepted),
        CommandStatus::Rejected => ("s-warn", Msg::PubOutRejected),
        CommandStatus::Failed => ("s-bad", Msg::PubOutFailed),
        CommandStatus::Timeout => ("s-bad", Msg::PubOutTimeout),
        CommandStatus::Offline => ("s-off", Msg::PubOutOffline),
    };
    let url = format!("/portal/live/start/{}/{}", encoded(key), cmd.id);
    html! {
        @if cmd.status.is_final() {
            div #outcome.card role="status" data-status=(cmd.status.as_str()) {
                h2 { (t(Msg::PubOutcome)) }
                p class={"notice " (class)} { (t(msg)) }
            }
        } @else {
            div #outcome.card role="status" data-status=(cmd.status.as_str()) hx-get=(url) hx-trigger="every 1s" hx-swap="outerHTML" {
                h2 { (t(Msg::PubOutcome)) }
                p class={"notice " (class)} { (t(msg)) }
            }
        }
    }
}

/// What the start page says above its form: a refusal, or the answer to a
/// form that could not be done.
struct Notice {
    status: StatusCode,
    text: String,
    /// A paid start to try again (its form's action): the card may be
    /// approved by now.
    retry: Option<String>,
}

/// The start page of `key`, with the start `start_id` (from the redirect
/// after a start) and a notice (the form's refusal).
async fn start_page(
    st: &PortalState,
    headers: &HeaderMap,
    key: &str,
    start_id: Option<&String>,
    notice: Option<Notice>,
) -> Result<Response, Failure> {
    let path = link_path(key);
    let viewer = Viewer::of(st, headers, &path).await?;
    let lang = viewer.lang;
    let t = |m: Msg| m.text(lang);
    let user = viewer.caller.as_ref().map(|c| &c.user);
    let (k, info) = start_info(&st.api, key, user)
        .await
        .map_err(|e| viewer.fail(e))?;
    let started = match start_id {
        Some(id) => start_of_link(&st.api, key, id).await.ok(),
        None => None,
    };
    let title = station_title(&info, lang);
    let evse_name = Msg::PubEvse
        .text(lang)
        .replace("{}", &info.evse_id.to_string());
    let (class, status) = status_words(&info.status, lang);
    let price = price_section(st, &k, user, lang).await;
    let stripe_js = st.api.billing.stripe_js_url();
    let status_code = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    let body = html! {
        h1 { (title) " " span.sub { (evse_name) } }
        @if let Some(site) = &info.site {
            p.where {
                span.visually-hidden { (t(Msg::PubWhere)) ": " }
                (site.name) br; (site.street) ", " (site.postal_code) " " (site.city)
            }
        }
        @if let Some(n) = &notice {
            p.error role="alert" { (n.text) }
            @if let Some(action) = &n.retry {
                form #retry method="post" action=(action) {
                    button.big type="submit" { (t(Msg::PubStartPaid)) }
                }
            }
        }
        @if let Some(cmd) = &started { (outcome(key, cmd, lang)) }
        section.card aria-labelledby="now-h" {
            h2 #now-h { (t(Msg::PubStatusNow)) }
            p #status data-status=(info.status) { (badge(class, status)) }
            dl.facts {
                dt { (t(Msg::PubAccessNow)) }
                dd #mode data-mode=(info.mode) {
                    (mode_words(&info.mode, lang))
                    @if let Some(until) = info.mode_until.as_deref().and_then(|u| u.parse::<csms_domain::Timestamp>().ok()) {
                        " " (Msg::PubModeUntil.text(lang).replace("{}", &i18n::datetime(until, lang)))
                    }
                }
            }
            @if info.booked { p { (t(Msg::PubBooked)) } }
        }
        (price)
        // A start just sent that the charger took (or has not answered
        // yet) is not offered again: the page follows it instead.
        @if started.as_ref().is_none_or(|c| !matches!(c.status, CommandStatus::Pending | CommandStatus::Accepted)) {
        section.card #start aria-labelledby="start-h" {
            h2 #start-h { @if info.can_start { (t(Msg::PubYouMayStart)) } @else { (t(Msg::PubCannotStart)) } }
            @if let Some(r) = &info.refusal {
                p #refusal data-reason=(r.reason) { (refusal_words(&r.reason, lang)) }
                @if r.reason == "signInRequired" {
                    p { a.button href={"/portal/sign-in?next=" (encoded(&path))} { (t(Msg::PubSignInToStart)) } }
                }
            } @else if let Some(c) = &viewer.caller {
                form method="post" action={"/portal/start/" (encoded(key))} {
                    input type="hidden" name="csrf" value=(c.session.csrf_token);
                    button.big type="submit" { (t(Msg::PubStart)) }
                }
            } @else if stripe_js.is_some() {
                h3 { (t(Msg::PubPayTitle)) }
                p.hint { (Msg::PubPayHint.text(lang).replace("{}", &i18n::money(st.api.billing.charger_hold(), "SEK", lang))) }
                form #pay method="post" action={"/portal/start/" (encoded(key)) "/pay"} {
                    label for="email" { (t(Msg::PubReceiptEmail)) }
                    input #email type="email" name="email" autocomplete="email" inputmode="email" required;
                    label for="language" { (t(Msg::PubReceiptLanguage)) }
                    select #language name="language" {
                        option value="sv" selected[lang == Language::Sv] { (t(Msg::PubLangSv)) }
                        option value="en" selected[lang == Language::En] { (t(Msg::PubLangEn)) }
                    }
                    div.actions { button.big type="submit" { (t(Msg::PubGoToCard)) } }
                }
                p { a href={"/portal/sign-in?next=" (encoded(&path))} { (t(Msg::PubSignInToStart)) } }
            } @else {
                form method="post" action={"/portal/start/" (encoded(key))} {
                    button.big type="submit" { (t(Msg::PubStart)) }
                }
            }
        }
        }
        p { a href={"/portal/status/" (encoded(key))} { (t(Msg::PubStatusPage)) } }
    };
    let frame = viewer.frame(&path);
    let title_text = format!("{title} – {evse_name}");
    Ok(html(status_code, layout::page(&frame, &title_text, body)))
}

/// After a start: the start page showing it, or the page with what went
/// wrong.
async fn after_start(
    st: &PortalState,
    headers: &HeaderMap,
    key: &str,
    launched: Result<Launched, ApiError>,
    retry: Option<String>,
) -> Result<Response, Failure> {
    let lang = Viewer::of(st, headers, &link_path(key)).await?.lang;
    let notice = match launched {
        Ok(Launched::Sent(cmd)) => {
            return Ok(
                Redirect::to(&format!("{}?start={}", link_path(key), cmd.id)).into_response(),
            )
        }
        Ok(Launched::Refused { reason, .. }) => Notice {
            status: match reason.as_str() {
                "booked" | "unavailable" | "occupied" => StatusCode::CONFLICT,
                _ => StatusCode::FORBIDDEN,
            },
            text: refusal_words(reason.as_str(), lang).to_owned(),
            retry: None,
        },
        Ok(Launched::TooSoon) => Notice {
            status: StatusCode::TOO_MANY_REQUESTS,
            text: Msg::PubTooSoon.text(lang).to_owned(),
            retry,
        },
        Err(ApiError::Conflict(_)) => Notice {
            status: StatusCode::CONFLICT,
            text: Msg::PubNotPaid.text(lang).to_owned(),
            retry,
        },
        Err(e) => return Err(Failure::Page(lang, e)),
    };
    start_page(st, headers, key, None, Some(notice)).await
}

/// `POST /portal/start/{key}`: a start through the link, as
/// `POST /start/{key}` (a signed-in person's form carries the CSRF token).
pub async fn start(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let path = link_path(&key);
    let viewer = Viewer::of(&st, &headers, &path).await?;
    let form = Form::parse(&body);
    if let Some(c) = &viewer.caller {
        c.check_csrf(&form)?;
    }
    let (k, view) = csms_api::shared::resolve_link(&st.api, &key)
        .await
        .map_err(|e| viewer.fail(e))?;
    let user = viewer.caller.as_ref().map(|c| &c.user);
    let launched = start_by_link(&st.api, &key, &k, &view, user, None, None, b"").await;
    after_start(&st, &headers, &key, launched, None).await
}

/// `POST /portal/start/{key}/pay`: `email` and `language` for the receipt;
/// the card page with Stripe.js's element, or the start page saying why
/// nothing was held.
pub async fn pay(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let path = link_path(&key);
    let viewer = Viewer::of(&st, &headers, &path).await?;
    let lang = viewer.lang;
    let t = |m: Msg| m.text(lang);
    let form = Form::parse(&body);
    let email = form.get("email").unwrap_or("").trim();
    let held = hold_at_link(&st.api, &key, email, form.get("language"))
        .await
        .map_err(|e| viewer.fail(e))?;
    let hold = match held {
        Hold::Held(h) => h,
        Hold::Refused { reason, .. } => {
            let notice = Notice {
                status: match reason.as_str() {
                    "booked" | "unavailable" | "occupied" => StatusCode::CONFLICT,
                    _ => StatusCode::FORBIDDEN,
                },
                text: refusal_words(reason.as_str(), lang).to_owned(),
                retry: None,
            };
            return start_page(&st, &headers, &key, None, Some(notice)).await;
        }
    };
    let amount = hold
        .amount
        .parse::<Decimal>()
        .map(|a| i18n::money(a, &hold.currency, lang))
        .unwrap_or_else(|_| format!("{} {}", hold.amount, hold.currency));
    let start_action = format!(
        "/portal/start/{}/pay/{}/start",
        encoded(&key),
        encoded(&hold.payment_intent_id)
    );
    let body = html! {
        h1 { (t(Msg::PubPayTitle)) }
        p { (Msg::PubPayHint.text(lang).replace("{}", &amount)) }
        form #card-form data-key=(hold.publishable_key) data-secret=(hold.client_secret)
            data-intent=(hold.payment_intent_id) data-email=(email)
            data-working=(t(Msg::PubCardWorking)) data-failed=(t(Msg::PubCardFailed)) data-held=(t(Msg::PubCardHeld)) {
            p #card-label { (t(Msg::PubCardDetails)) }
            div #card-element.card-element role="group" aria-labelledby="card-label" {}
            button.big type="submit" disabled { (t(Msg::PubConfirmCard)) }
            p #card-status role="status" aria-live="polite" {}
        }
        form #start-form method="post" action=(start_action) {
            p.hint { (t(Msg::PubStartPaidHint)) }
            button.big type="submit" { (t(Msg::PubStartPaid)) }
        }
        script src=(hold.stripe_js_url) defer {}
        script src=(START_JS.url()) defer {}
    };
    let page = layout::page(&viewer.frame(&path), t(Msg::PubPayTitle), body);
    Ok(match stripe_csp(&hold.stripe_js_url) {
        Some(csp) => html_with_csp(StatusCode::OK, page, &csp),
        None => return Err(viewer.fail(ApiError::Internal("Stripe.js has no origin".into()))),
    })
}

/// `POST /portal/start/{key}/pay/{intentId}/start`: the charge the held
/// payment pays for.
pub async fn start_paid_charge(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path((key, intent)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let launched = start_paid(&st.api, &key, &intent, None, b"")
        .await
        .map(|(l, _, _)| l);
    let retry = format!(
        "/portal/start/{}/pay/{}/start",
        encoded(&key),
        encoded(&intent)
    );
    after_start(&st, &headers, &key, launched, Some(retry)).await
}

/// `GET /portal/live/start/{key}/{commandId}`: a start's outcome, for htmx.
pub async fn live_start(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let viewer = Viewer::of(&st, &headers, &link_path(&key)).await?;
    let cmd = start_of_link(&st.api, &key, &id)
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok(html(StatusCode::OK, outcome(&key, &cmd, viewer.lang)))
}

/// The EVSEs' statuses, fetched again every 5 s.
fn statuses(key: &str, list: &[(u32, &'static str)], lang: Language) -> Markup {
    html! {
        ul #evses.plain.evses hx-get={"/portal/live/status/" (encoded(key))} hx-trigger="every 5s" hx-swap="outerHTML" {
            @for (evse, status) in list {
                @let (class, words) = status_words(status, lang);
                li.card data-evse=(evse) data-status=(status) {
                    strong { (Msg::PubEvse.text(lang).replace("{}", &evse.to_string())) }
                    " " (badge(class, words))
                }
            }
        }
    }
}

/// `GET /portal/status/{key}`: the link's station's EVSEs and their status.
pub async fn status_page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(_): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let path = format!("/portal/status/{}", encoded(&key));
    let viewer = Viewer::of(&st, &headers, &path).await?;
    let lang = viewer.lang;
    let t = |m: Msg| m.text(lang);
    let (k, view, list) = station_statuses(&st.api, &key)
        .await
        .map_err(|e| viewer.fail(e))?;
    let site = match &view.station.site_id {
        Some(s) => st
            .api
            .store
            .get_site(s)
            .await
            .map_err(|e| viewer.fail(e.into()))?
            .filter(|s| s.org_id == k.org_id),
        None => None,
    };
    let title = view
        .station
        .name
        .clone()
        .or_else(|| site.as_ref().map(|s| s.name.clone()))
        .unwrap_or_else(|| t(Msg::PubStation).to_owned());
    let body = html! {
        h1 { (title) " " span.sub { (t(Msg::PubStatusTitle)) } }
        @if let Some(site) = &site {
            p.where { (site.name) br; (site.address.street) ", " (site.address.postal_code) " " (site.address.city) }
        }
        p.hint { (t(Msg::PubStatusHint)) }
        (statuses(&key, &list, lang))
        p { a href=(link_path(&key)) { (t(Msg::PubBackToStart)) } }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&viewer.frame(&path), &title, body),
    ))
}

/// `GET /portal/live/status/{key}`: the statuses alone.
pub async fn live_status(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, Failure> {
    let lang = Viewer::of(&st, &headers, &link_path(&key)).await?.lang;
    let (_, _, list) = station_statuses(&st.api, &key)
        .await
        .map_err(|e| Failure::Page(lang, e))?;
    Ok(html(StatusCode::OK, statuses(&key, &list, lang)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_start_link_s_own_path_is_a_page() {
        assert_eq!(link_key("/api/v1/start/abc"), Some("abc"));
        assert_eq!(link_key("/api/v1/start/abc/payment"), None);
        assert_eq!(link_key("/api/v1/start/"), None);
        assert_eq!(link_key("/api/v1/stations"), None);
    }

    #[test]
    fn every_status_of_the_api_has_words() {
        for s in [
            "available",
            "preparing",
            "charging",
            "suspended",
            "finishing",
            "occupied",
            "reserved",
            "faulted",
            "unavailable",
            "offline",
        ] {
            let (_, sv) = status_words(s, Language::Sv);
            assert_ne!(sv, Msg::PubStUnknown.text(Language::Sv), "{s}");
        }
    }
}
