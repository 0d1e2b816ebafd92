//! The composition root: what every binary and the tests share to start.
//!
//! A binary reads [`Settings`] once (every error names its variable), picks
//! its runtime's [`Adapters`] (SQS and the API Gateway Management API in
//! `csms-aws`, in-process channels and sockets in `csms-local`, fakes in
//! tests), and asks the [`Wiring`] for the services it runs. The services
//! themselves live in their contexts (`csms-charging`, `csms-commands`, `csms-pricing`, `csms-load`, `csms-notify`); nothing here decides
//! anything about chargers, prices or loads.
//!
//! # Layout
//! - `settings`: [`Settings`], one typed field per `CSMS_*` variable, with
//!   the defaults that differ per [`Runtime`]; [`Resource`] for the AWS
//!   resources a function may require.
//! - `wiring`: [`Adapters`] (what a runtime plugs in) and [`Wiring`] (the
//!   services built over them, once).
//! - [`http_app`]: the whole HTTP surface (the API and the web portal), served by
//!   `csms-local` and the `http-api` Lambda alike.
//! - `billing_sweep`: the day's billing over every organisation (the
//!   scheduled invoice runs, dunning, the reminders' mail), composed of
//!   the contexts' use cases for the local runner and the sweep function.
//! - `testkit`: [`testkit::NoAdapters`], for tests without chargers,
//!   queues or the network.

pub mod billing_sweep;
pub mod settings;
pub mod testkit;
pub mod wiring;

pub use settings::{Resource, Runtime, Settings, SettingsError};
pub use wiring::{Adapters, Wiring};

/// The whole HTTP surface: the API (`/healthz`, `/api/v1/…`) and the web
/// portal (`/`, `/portal/…`, the mailed links' `/invitation` and
/// `/reset-password`) in one router, the portal's sign-in and link forms
/// counting in the same throttles as `POST /auth/sign-in` and the
/// `/auth/invitations/…`, `/auth/password-reset…` routes.
pub fn http_app(state: csms_api::ApiState) -> axum::Router {
    let sign_in = csms_api::shared::SignInState::new(state.clone());
    let links = csms_api::shared::LinkState::new(state.clone());
    let portal_state = csms_portal::PortalState {
        api: state.clone(),
        sign_in: sign_in.clone(),
        links: links.clone(),
    };
    let portal = csms_portal::router(portal_state.clone());
    // A browser opening a start link gets the portal's start page there.
    csms_portal::with_start_link_pages(
        csms_api::router_with(state, sign_in, links).merge(portal),
        portal_state,
    )
}
