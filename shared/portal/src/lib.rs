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
//! - `assets`: htmx and the CSS, embedded, under content-hashed URLs.
//! - `web`: the caller, forms and their CSRF token, error pages.
//! - `layout`: the page frame (skip link, landmarks, menu, language switch,
//!   signing out) and status badges.
//! - `live`: what the operator pages read of stations now (statuses,
//!   running sessions, power, alarms); `sessions_table`: sessions with
//!   energy and cost.
//! - `pages`: `account` (sign-in, sign-out, language, the start page),
//!   `overview`, `station` (with its commands), `sessions` (the
//!   organisation's sessions with filters and CSV, one session's meter
//!   curve and price), `me` (the driver's page, with rating a session),
//!   `me_bookings` (my bookings, cancelling one), `money` (the driver's
//!   invoices and saved card), `org_money` (the organisation's invoices and
//!   settlement), `laddid`, `users` (people, invitations and roles),
//!   `prices` (tariffs, the price preview, spot prices; a tariff's prices
//!   changed), `reports` (usage, revenue and ratings, with the API's CSV and
//!   XLSX), `load` (load balancing: a site's set-up, its allocation now and
//!   its plan against spot prices).

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
use csms_api::shared::SignInState;
use csms_api::ApiState;
use std::time::Instant;

/// What the pages need: the API's state (store, clock, services) and the
/// sign-in's throttle, shared with `POST /auth/sign-in`.
#[derive(Clone)]
pub struct PortalState {
    pub api: ApiState,
    pub sign_in: SignInState,
}

/// The portal's routes, all under `/portal/` (and `/` sending there). No
/// fallback of its own: merged into the API's app, an unknown path outside
/// `/portal/` stays the API's 404.
pub fn router(state: PortalState) -> Router {
    use pages::{
        account, invoice, laddid, load, me, me_bookings, money, org_money, overview, prices,
        reports, sessions, station, users,
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
        .route("/portal/language", post(account::language))
        .route("/portal/stations", get(overview::page))
        .route("/portal/live/stations", get(overview::live))
        .route("/portal/stations/{id}", get(station::page))
        .route("/portal/live/stations/{id}", get(station::live))
        .route("/portal/stations/{id}/reset", post(station::reset))
        .route("/portal/stations/{id}/unlock", post(station::unlock))
        .route("/portal/live/commands/{id}", get(station::command))
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
