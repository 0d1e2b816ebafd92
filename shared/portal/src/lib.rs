//! The web portal: server-rendered HTML pages for operators and drivers,
//! in Swedish and English, served by the same process as the API
//! (`csms-local`, the `http-api` Lambda) and merged into its axum app
//! (`csms_app::http_app`).
//!
//! The pages call what the API's handlers call — the same store ports
//! with the same owner checks (`csms_api::shared::own_station_view`), the
//! same services (`CommandService::submit` with the caller's `Actor`), the
//! same sign-in use case and session (`csms_api::shared::authenticate`,
//! `new_session`), the same role scopes (`person_principal`,
//! `Scope::covers`) — never a second copy of the rules and never an HTTP
//! call to the API. Templates are [maud] macros, checked by the compiler;
//! live parts are fragments that [htmx](https://htmx.org) fetches again
//! every few seconds. No Node toolchain: htmx and the style sheet are
//! embedded in the binary (`assets`).
//!
//! Every state-changing form posts the session's CSRF token (a hidden
//! `csrf` field) and the portal checks it; a person who is not signed in is
//! sent to the sign-in page; a page their role does not give is a 403
//! page, another organisation's station a 404 page.
//!
//! # Layout
//! - [`i18n`]: the message catalogue (`Msg::text(lang)`) and the locale's
//!   numbers, money and times.
//! - `assets`: htmx, the CSS, the card page's script and the overview's map
//!   (Leaflet and `map.js`), embedded, under content-hashed URLs.
//! - `web`: the caller, forms and their CSRF token, error pages.
//! - `layout`: the page frame (skip link, landmarks, menu, language switch,
//!   signing out) and status badges.
//! - `live`: what the operator pages read of stations now (statuses,
//!   running sessions, power, alarms); `sessions_table`: sessions with
//!   energy and cost.
//! - `pages`: `account` (sign-in, sign-out, language, the start page),
//!   `links` (the pages behind the mailed links: accepting an invitation,
//!   asking for and using a password reset link),
//!   `overview` (with the map), `station` (with its events and its site's
//!   allocation), `station_commands` (the station page's commands), `sessions` (the
//!   organisation's sessions with filters and CSV, one session's meter
//!   curve and price), `me` (the driver's page, with rating a session),
//!   `me_bookings` (my bookings, cancelling one), `money` (the driver's
//!   invoices and saved card), `org_money` (the organisation's invoices and
//!   settlement), `laddid`, `users` (people, invitations and roles),
//!   `prices` (tariffs, the price preview, spot prices; a tariff's prices
//!   changed), `reports` (usage, revenue and ratings, with the API's CSV and
//!   XLSX), `load` (load balancing: a site's set-up, its allocation now and
//!   its plan against spot prices), `access` (access modes: each station's
//!   mode now, a policy's week view and editor, refused attempts),
//!   `bookings` (the operators' bookings calendar: booking and cancelling),
//!   `public` (the pages behind an EVSE's
//!   start link for whoever scans its QR code: starting, paying at the
//!   charger, the station's status; no sign-in needed), `qr_sheet` (a
//!   station's QR codes to print, and replacing one).

mod assets;
mod chart;
pub mod i18n;
mod layout;
mod live;
mod pages;
mod sessions_table;
mod web;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use csms_api::shared::{LinkState, SignInState};
use csms_api::ApiState;
use std::time::Instant;

/// What the pages need: the API's state (store, clock, services), the
/// sign-in's throttle, shared with `POST /auth/sign-in`, and the mailed
/// links' throttles, shared with the `/auth/invitations/…` and
/// `/auth/password-reset…` routes.
#[derive(Clone)]
pub struct PortalState {
    pub api: ApiState,
    pub sign_in: SignInState,
    pub links: LinkState,
}

/// The portal's routes, all under `/portal/` (and `/` sending there, and
/// the mailed links' `/invitation` and `/reset-password` sending to their
/// pages). No
/// fallback of its own: merged into the API's app, an unknown path outside
/// `/portal/` stays the API's 404.
pub fn router(state: PortalState) -> Router {
    use pages::{
        access, account, bookings, invoice, laddid, links, load, me, me_bookings, money, org_money,
        overview, prices, public, qr_sheet, reports, sessions, station, station_commands, users,
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/portal/") }))
        .route("/portal", get(|| async { Redirect::to("/portal/") }))
        .route("/portal/", get(account::home))
        .route("/portal/assets/{name}", get(assets::serve))
        .route(
            "/portal/sign-in",
            get(account::sign_in_get).post(account::sign_in_post),
        )
        .route("/portal/sign-out", post(account::sign_out))
        // The addresses in the mails stay where they are (csms_api::invitations).
        .route("/invitation", get(links::invitation_link))
        .route("/reset-password", get(links::reset_link))
        .route(
            "/portal/invitation",
            get(links::invitation_get).post(links::invitation_post),
        )
        .route(
            "/portal/forgot-password",
            get(links::forgot_get).post(links::forgot_post),
        )
        .route(
            "/portal/reset-password",
            get(links::reset_get).post(links::reset_post),
        )
        .route("/portal/language", post(account::language))
        .route("/portal/stations", get(overview::page))
        .route("/portal/live/stations", get(overview::live))
        .route("/portal/stations/{id}", get(station::page))
        .route("/portal/live/stations/{id}", get(station::live))
        .route("/portal/stations/{id}/reset", post(station_commands::reset))
        .route(
            "/portal/stations/{id}/unlock",
            post(station_commands::unlock),
        )
        .route("/portal/stations/{id}/start", post(station_commands::start))
        .route("/portal/stations/{id}/stop", post(station_commands::stop))
        .route("/portal/stations/{id}/pause", post(station_commands::pause))
        .route(
            "/portal/stations/{id}/resume",
            post(station_commands::resume),
        )
        .route(
            "/portal/stations/{id}/availability",
            post(station_commands::availability),
        )
        .route(
            "/portal/stations/{id}/configuration/read",
            post(station_commands::read_configuration),
        )
        .route(
            "/portal/stations/{id}/configuration/change",
            post(station_commands::change_configuration),
        )
        .route(
            "/portal/stations/{id}/diagnostics",
            post(station_commands::diagnostics),
        )
        .route(
            "/portal/stations/{id}/firmware",
            post(station_commands::firmware),
        )
        .route("/portal/live/commands/{id}", get(station_commands::command))
        .route("/portal/stations/{id}/qr", get(qr_sheet::page))
        .route(
            "/portal/stations/{id}/qr/{evse}/rotate",
            post(qr_sheet::rotate),
        )
        // The public pages behind a start link (the start page itself is
        // served at the link, see `html_at_start_links`).
        .route("/portal/start/{key}", post(public::start))
        .route("/portal/start/{key}/pay", post(public::pay))
        .route(
            "/portal/start/{key}/pay/{intent}/start",
            post(public::start_paid_charge),
        )
        .route("/portal/live/start/{key}/{id}", get(public::live_start))
        .route("/portal/status/{key}", get(public::status_page))
        .route("/portal/live/status/{key}", get(public::live_status))
        .route("/portal/sessions", get(sessions::page))
        .route("/portal/sessions/export", get(sessions::export))
        .route("/portal/sessions/{id}", get(sessions::session))
        .route("/portal/me", get(me::page))
        .route("/portal/me/sessions/{id}/rating", post(me::rate))
        .route("/portal/me/bookings", get(me_bookings::page))
        .route("/portal/me/bookings/{id}/cancel", post(me_bookings::cancel))
        .route("/portal/invoices", get(org_money::page))
        .route("/portal/invoices/{id}", get(invoice::org_page))
        .route("/portal/reports", get(reports::page))
        .route("/portal/reports/usage.csv", get(reports::csv))
        .route("/portal/reports/usage.xlsx", get(reports::xlsx))
        .route("/portal/users", get(users::page))
        .route("/portal/users/invite", post(users::invite_person))
        .route("/portal/users/{id}/role", post(users::change_role))
        .route("/portal/load", get(load::page))
        .route("/portal/load/{id}", get(load::site))
        .route("/portal/live/load/{id}", get(load::live))
        .route("/portal/prices", get(prices::page))
        .route(
            "/portal/prices/{id}",
            get(prices::tariff_page).post(prices::change),
        )
        .route("/portal/access", get(access::page))
        .route(
            "/portal/stations/{id}/access",
            get(access::station_page).post(access::change),
        )
        .route("/portal/bookings", get(bookings::page).post(bookings::book))
        .route("/portal/bookings/{id}/cancel", post(bookings::cancel))
        .route("/portal/laddid", get(laddid::page))
        .route("/portal/laddid/{value}/block", post(laddid::block))
        .route("/portal/laddid/{value}/unblock", post(laddid::unblock))
        .route(
            "/portal/laddid/seen/{value}/register",
            post(laddid::register),
        )
        .route("/portal/me/invoices", get(money::invoices))
        .route("/portal/me/invoices/{id}", get(invoice::my_page))
        .route(
            "/portal/me/invoices/{id}/pay",
            get(money::pay_page).post(money::pay),
        )
        .route("/portal/live/invoices/{id}", get(money::live_invoice))
        .route("/portal/me/card", get(money::card))
        .route("/portal/me/card/remove", post(money::remove_card))
        .route("/portal/{*rest}", get(pages::not_found))
        .layer(middleware::from_fn(timed))
        .with_state(state)
}

/// Wraps the whole app (API and portal) so that a browser opening an EVSE's
/// start link, `GET /api/v1/start/{key}`, gets the start page, while API
/// clients keep getting the API's JSON there (see `pages::public`).
pub fn with_start_link_pages(app: Router, state: PortalState) -> Router {
    app.layer(middleware::from_fn_with_state(
        state,
        pages::public::html_at_start_links,
    ))
}

/// Logs each page's server time (assets aside).
async fn timed(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let started = Instant::now();
    let resp = next.run(req).await;
    if !path.starts_with("/portal/assets/") {
        tracing::info!(
            %method,
            path,
            status = resp.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "portal page"
        );
    }
    resp
}
