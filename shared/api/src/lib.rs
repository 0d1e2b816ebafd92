//! HTTP API v1 of the CSMS as one axum [`Router`], served unchanged by the
//! `http-api` Lambda (through `lambda_http`) and by the local runner.
//!
//! Conventions: JSON with camelCase fields; `Authorization: Bearer <api key>`, or the
//! `csms_session` cookie of a signed-in person (with `X-CSRF-Token` on state-changing requests);
//! errors as `{"error":{"code":"…","message":"…"}}` with 400/401/403/404/409,
//! and 405/413 for a method a path does not have and a body over
//! [`error::MAX_BODY`] (axum makes those; [`error::json_errors`] shapes them);
//! lists as `{"items":[…],"nextCursor":…}` with `limit` (1–500) and `cursor`.
//!
//! Every body is parsed into this crate's own input type and converted into
//! the domain's, a bad value refused with the field it is in
//! (`evses[2].maxA: …`); what the API shows is a view rendered from the
//! domain (this crate's, or one of `csms_kernel::views`, which the webhooks
//! send too). Domain types carry no OpenAPI description, so a public field
//! can be renamed without touching them, and the other way round;
//! `#[schema(as = …)]` keeps the document's component names where an input
//! type's own name differs.
//!
//! # Layout
//! - [`error`]: the error type and its JSON form.
//! - `auth`: the API-key check, the caller's organisation (`X-Organisation`) and the scope check
//!   each route declares (`permit`, next to the routes in [`router`]).
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers' annotations.
//! - `views`: the JSON form of what only the API shows.
//! - `stations`, `tokens`, `sessions`, `commands`, `api_keys`, `webhooks`, `pricing`, `tariffs`: one module per resource with its
//!   handlers, its input types and its JSON views.
//! - `command_input`: the body of `POST /stations/{id}/commands` (`CommandInput`, tagged by `type`) and its
//!   conversion into the domain's `CommandRequest`.
//! - `device_model`: a 2.0.1 station's device model (components and variables).
//! - `billing`: the monthly invoice run, invoices (the organisation's, a person's own) and the ledger of
//!   client funds (balances, reconciliation).
//! - `bookings`: bookings of EVSEs (make, list, read, cancel; the 409 with the free windows).
//! - `local_list`: a station's local authorisation list (state, sync request).
//! - `load`: load balancing of a site (configuration, allocation, meter).
//! - `load_config`: a site's load configuration both ways (`LoadConfigJson`): the body of
//!   `PUT /sites/{id}/load` and the `config` its answers show, with the conversions to and from the domain.
//! - `people`: `/users`, the people of an organisation and their roles; `sign_in`: `/auth/…`, signing in
//!   with e-mail address and password (the session cookie and its CSRF token; `auth` checks them).
//! - `me`: `/me/…`, a signed-in person's own identifiers and sessions, and rating them (any role, no key);
//!   `ratings`: what operators read of the ratings (a station's, a site's average).
//! - `organisations`, `sites`: tenants (the records; a site's load balancing stays in `load`).
//! - `start_link`: an EVSE's charging key and QR code (`qr`: the SVG and PNG drawing) for
//!   operators, and the public start link behind them for drivers (`/start/{key}`).
//! - `spot`: stored spot prices and operator alarms (read-only).
//! - `util`: body/query parsing that answers bad input with our error shape.

mod access;
mod alarm_settings;
mod api_keys;
mod audit;
mod auth;
mod billing;
mod bookings;
mod card_payments;
mod command_input;
mod commands;
mod credit_notes;
mod device_model;
mod dunning;
pub mod error;
mod fees;
mod garage;
mod invitations;
mod load;
mod load_config;
mod local_list;
pub mod map_tiles;
mod me;
pub mod openapi;
mod organisations;
mod outbox;
mod pay_at_charger;
mod payments;
pub mod people;
mod plan;
mod pricing;
pub mod public_url;
mod qr;
mod ratings;
mod refunds;
mod reports;
mod second_factor;
mod sessions;
mod settlements;
mod sign_in;
mod sites;
mod spot;
mod start_link;
mod stations;
mod swish;
mod tariffs;
mod tokens;
mod util;
mod views;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Json, Router};
use csms_commands::service::CommandService;
use csms_kernel::events::EventBus;
use csms_kernel::ports::{Clock, Store};
use csms_load::{LoadService, LoadTrigger};
use csms_notify::mail::Mailer;
use csms_notify::target::TargetPolicy;
use csms_notify::SubscriptionCache;
use error::ApiError;
use std::sync::Arc;

pub use map_tiles::MapTiles;
pub use public_url::PublicUrl;

/// What the web portal (`csms-portal`) shares with the API, so a page and
/// its API route run the same checks: the signed-in person and their
/// scopes, the CSRF token, the sign-in use case and its session, the
/// owner check of a station, the use cases of the pages that change
/// something (tariffs, identifiers, invitations, roles), the sessions'
/// search (list and export), meter readings and price, and the usage
/// report (its query, figures and files), a site's load balancing
/// (its configuration, allocation and plan), a station's access policy
/// (read, mode now, refused attempts, changed) and bookings (listed, made,
/// cancelled).
pub mod shared {
    pub use crate::auth::{
        constant_time_eq, cookie, csrf_matches, person_principal, role_scopes, signed_in,
        Principal, SESSION_COOKIE,
    };
    pub use crate::invitations::invite;
    // The access and bookings pages: a station's policy, its mode now, the
    // refused attempts, changing a policy; booking and cancelling.
    pub use crate::access::{
        access_attempts, access_now, change_access, station_access, AccessPolicyView,
    };
    pub use crate::bookings::{book_evse, cancel_booking, org_bookings};
    // The pages behind the mailed links: an invitation, a password reset.
    pub use crate::invitations::{
        accept_invitation, ask_password_reset, check_reset_link, inspect_invitation,
        reset_password, InvitationOffer, LinkRefusal, LinkState,
    };
    pub use crate::load::{
        load_balanced_sites, site_allocation, AllocationView, EvseAllocationView,
    };
    pub use csms_charging::access::ModeNow;
    pub use csms_charging::booking::BookingError;
    // The driver's pages: rating a session, cancelling a booking.
    pub use crate::me::{cancel_mine as cancel_my_booking, rate_mine as rate_my_session};
    pub use crate::people::{change_person, UserPatch};
    pub use crate::plan::{plan_view, PlanView};
    pub use crate::pricing::price_preview;
    // The public pages behind a start link and the QR codes to print.
    pub use crate::pay_at_charger::{hold_at_link, start_paid, Hold, HoldView};
    pub use crate::reports::{usage_file, usage_report, usage_request, UsageFile};
    pub use crate::sign_in::{
        authenticate, clear_cookie, new_session, random_token, Refusal, SignInState,
    };
    pub use crate::spot::spot_day;
    pub use crate::start_link::{
        evse_qr, link_caller, link_price, resolve_link, rotate_key, start_by_link, start_info,
        start_of_link, station_statuses, ChargingKeyView, Launched, StartInfoView, START_GAP,
    };
    pub use crate::stations::own_station_view;
    pub use crate::swish::callback_url as swish_callback_url;
    pub use crate::tariffs::{
        tariff_assignments, tariff_body, tariff_versions, tariffs_of, update_tariff,
    };
    pub use crate::tokens::{block_token, register_seen_token, unblock_token};
    pub use csms_charging::laddid::TokenFields;
    pub use csms_charging::rating::RatingInput;
    // The sessions pages: the search of the list and export, a session's
    // readings and price.
    pub use crate::pricing::session_price;
    pub use crate::sessions::{
        export_sessions, find as own_session, list_sessions, meter_readings,
        search as session_search, SessionSearch,
    };
}

/// An API key kept out of logs and `Debug` output.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(Arc::from(s.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// The operator's admin key; `None` refuses every authenticated request.
    pub admin_key: Option<Secret>,
    /// The sign-in cookie is marked `Secure` (`CSMS_SECURE_COOKIES`).
    pub secure_cookies: bool,
    /// Commands to stations: queueing, sending, outcomes.
    pub commands: CommandService<dyn Store>,
    /// Where what the API changed is published (a repricing's `SessionPriced`).
    pub events: Arc<dyn EventBus>,
    /// Told when webhooks change, so this process's cache follows.
    pub webhook_subscriptions: Arc<dyn SubscriptionCache>,
    /// Which webhook URLs are accepted.
    pub webhook_policy: TargetPolicy,
    /// Load balancing: configuration, allocation, meter readings.
    pub load: LoadService<dyn Store>,
    /// Where configuration changes are signalled for recomputation.
    pub load_trigger: Arc<dyn LoadTrigger>,
    /// Where people reach this service, for links in QR codes and e-mails
    /// (`CSMS_PUBLIC_URL`); `None` where it is not configured.
    pub public_url: Option<PublicUrl>,
    /// `CSMS_MAP_TILE_URL`: the tile server of the portal's map (and the
    /// overview's content security policy).
    pub map_tiles: MapTiles,
    /// Where invitations and password resets are mailed.
    pub mailer: Arc<dyn Mailer>,
    /// The platform's offline grace (`CSMS_OFFLINE_GRACE_SECONDS`): an
    /// organisation's until it sets its own (`PUT /alarm-settings`).
    pub offline_grace: csms_domain::alarm::OfflineGrace,
    /// Invoices and the ledger of client funds.
    pub billing: csms_billing::BillingService<dyn Store>,
    /// The mail of the reminders of unpaid invoices.
    pub reminder_mail: Arc<csms_notify::mail::reminders::ReminderMail<dyn Store>>,
}

/// Each route's methods with the permission each needs, declared here
/// next to the route: a method is served only through [`permit`], which
/// checks the scope before the handler runs and gives it the caller's
/// [`auth::Principal`] (no `Principal`, no handler: `tests/scopes.rs`
/// walks the OpenAPI document to prove every operation declares one).
mod permit {
    use crate::{auth, ApiState};
    use axum::handler::Handler;
    use axum::middleware;
    use axum::routing::{on, MethodFilter, MethodRouter};
    use csms_domain::api_key::Scope;

    fn allow<H, T>(needed: Scope, filter: MethodFilter, handler: H) -> MethodRouter<ApiState>
    where
        H: Handler<T, ApiState>,
        T: 'static,
    {
        // `route_layer`: a method the path lacks still answers 405, not 403.
        on(filter, handler).route_layer(middleware::from_fn_with_state(needed, auth::require_scope))
    }

    /// `GET` (and so `HEAD`) needing `needed`.
    pub fn get<H: Handler<T, ApiState>, T: 'static>(needed: Scope, h: H) -> MethodRouter<ApiState> {
        allow(needed, MethodFilter::GET, h)
    }

    pub fn post<H: Handler<T, ApiState>, T: 'static>(
        needed: Scope,
        h: H,
    ) -> MethodRouter<ApiState> {
        allow(needed, MethodFilter::POST, h)
    }

    pub fn put<H: Handler<T, ApiState>, T: 'static>(needed: Scope, h: H) -> MethodRouter<ApiState> {
        allow(needed, MethodFilter::PUT, h)
    }

    pub fn patch<H: Handler<T, ApiState>, T: 'static>(
        needed: Scope,
        h: H,
    ) -> MethodRouter<ApiState> {
        allow(needed, MethodFilter::PATCH, h)
    }

    pub fn delete<H: Handler<T, ApiState>, T: 'static>(
        needed: Scope,
        h: H,
    ) -> MethodRouter<ApiState> {
        allow(needed, MethodFilter::DELETE, h)
    }

    /// A person's own things (`/me/…`): any signed-in person, no key.
    fn own<H, T>(filter: MethodFilter, handler: H) -> MethodRouter<ApiState>
    where
        H: Handler<T, ApiState>,
        T: 'static,
    {
        on(filter, handler).route_layer(middleware::from_fn(auth::require_person))
    }

    /// `GET` of the caller's own things.
    pub fn own_get<H: Handler<T, ApiState>, T: 'static>(h: H) -> MethodRouter<ApiState> {
        own(MethodFilter::GET, h)
    }

    /// `POST` of the caller's own things.
    pub fn own_post<H: Handler<T, ApiState>, T: 'static>(h: H) -> MethodRouter<ApiState> {
        own(MethodFilter::POST, h)
    }

    /// `PUT` of the caller's own things.
    pub fn own_put<H: Handler<T, ApiState>, T: 'static>(h: H) -> MethodRouter<ApiState> {
        own(MethodFilter::PUT, h)
    }

    /// `DELETE` of the caller's own things.
    pub fn own_delete<H: Handler<T, ApiState>, T: 'static>(h: H) -> MethodRouter<ApiState> {
        own(MethodFilter::DELETE, h)
    }
}

/// The whole HTTP surface: `/healthz` and `/api/v1/…`.
///
/// Scopes: `read` reads (and manages webhooks: they push what the key may
/// read anyway); `commands` sends commands and sets a session's charging
/// need (when a car must be ready is a driver's app's business, like
/// starting the charge); `admin` changes everything else and manages keys.
pub fn router(state: ApiState) -> Router {
    router_with(
        state.clone(),
        sign_in::SignInState::new(state.clone()),
        invitations::LinkState::new(state),
    )
}

/// [`router`] with the sign-in's and the mailed links' throttles given, so
/// the web portal's forms count in the same throttles as `POST
/// /auth/sign-in` and the `/auth/invitations/…` and `/auth/password-reset…`
/// routes.
pub fn router_with(
    state: ApiState,
    sign_in: sign_in::SignInState,
    links: invitations::LinkState,
) -> Router {
    use csms_domain::api_key::Scope::{Admin, Commands, Read};
    use permit::{delete, get, own_delete, own_get, own_post, own_put, patch, post, put};
    let v1 = Router::new()
        .route(
            "/stations",
            get(Read, stations::list).merge(post(Admin, stations::create)),
        )
        .route(
            "/stations/{id}",
            get(Read, stations::get)
                .merge(patch(Admin, stations::update))
                .merge(delete(Admin, stations::delete)),
        )
        .route(
            "/stations/{id}/password",
            post(Admin, stations::rotate_password),
        )
        .route(
            "/stations/{id}/decommission",
            post(Admin, stations::decommission),
        )
        .route(
            "/stations/{id}/recommission",
            post(Admin, stations::recommission),
        )
        .route("/stations/{id}/events", get(Read, stations::events))
        .route(
            "/stations/{id}/access",
            get(Read, access::get).merge(put(Admin, access::put)),
        )
        .route("/stations/{id}/access/now", get(Read, access::now))
        .route(
            "/stations/{id}/evses/{evseId}/access",
            put(Admin, access::put_evse).merge(delete(Admin, access::delete_evse)),
        )
        .route(
            "/stations/{id}/garage-identity",
            get(Read, garage::get)
                .merge(put(Admin, garage::put))
                .merge(delete(Admin, garage::delete)),
        )
        .route("/stations/{id}/attempts", get(Read, access::attempts))
        .route("/access-attempts", get(Read, access::org_attempts))
        .route(
            "/stations/{id}/evses/{evseId}/bookings",
            get(Read, bookings::list_evse).merge(post(Commands, bookings::create)),
        )
        .route("/bookings", get(Read, bookings::list))
        .route("/bookings/{id}", get(Read, bookings::get))
        .route("/bookings/{id}/cancel", post(Commands, bookings::cancel))
        .route("/stations/{id}/device-model", get(Read, device_model::get))
        .route("/stations/{id}/local-list", get(Read, local_list::get))
        .route(
            "/stations/{id}/local-list/sync",
            post(Commands, local_list::sync),
        )
        .route(
            "/stations/{id}/commands",
            get(Read, commands::list_for_station).merge(post(Commands, commands::create)),
        )
        .route("/commands/{id}", get(Read, commands::get))
        .route(
            "/api-keys",
            get(Admin, api_keys::list).merge(post(Admin, api_keys::create)),
        )
        .route(
            "/api-keys/{id}",
            get(Admin, api_keys::get).merge(delete(Admin, api_keys::revoke)),
        )
        .route(
            "/webhooks",
            get(Read, webhooks::list).merge(post(Read, webhooks::create)),
        )
        .route(
            "/webhooks/{id}",
            get(Read, webhooks::get).merge(delete(Read, webhooks::delete)),
        )
        .route("/webhooks/{id}/deliveries", get(Read, webhooks::deliveries))
        .route(
            "/tariffs",
            get(Read, tariffs::list).merge(post(Admin, tariffs::create)),
        )
        .route(
            "/tariffs/{id}",
            get(Read, tariffs::get)
                .merge(put(Admin, tariffs::update))
                .merge(delete(Admin, tariffs::delete)),
        )
        .route("/tariffs/{id}/versions", get(Read, tariffs::versions))
        .route(
            "/tariff-assignments",
            get(Read, tariffs::list_assignments).merge(post(Admin, tariffs::create_assignment)),
        )
        .route(
            "/tariff-assignments/{id}",
            delete(Admin, tariffs::delete_assignment),
        )
        .route(
            "/id-tokens",
            get(Read, tokens::list).merge(post(Admin, tokens::create)),
        )
        // LaddID life cycle (issue 17.3).
        .route(
            "/id-tokens/{value}",
            get(Read, tokens::get)
                .merge(patch(Admin, tokens::update))
                .merge(delete(Admin, tokens::delete)),
        )
        .route("/id-tokens/{value}/block", post(Admin, tokens::block))
        .route("/id-tokens/{value}/unblock", post(Admin, tokens::unblock))
        .route(
            "/unregistered-id-tokens",
            get(Read, tokens::list_unregistered),
        )
        .route(
            "/unregistered-id-tokens/{value}/register",
            post(Admin, tokens::register_unregistered),
        )
        .route("/sessions", get(Read, sessions::list))
        .route("/sessions/export", get(Read, sessions::export))
        .route("/sessions/{id}", get(Read, sessions::get))
        .route(
            "/sessions/{id}/meter-values",
            get(Read, sessions::meter_values),
        )
        .route(
            "/sessions/{id}/charging-need",
            get(Read, plan::get_need)
                .merge(put(Commands, plan::put_need))
                .merge(delete(Commands, plan::delete_need)),
        )
        .route("/sessions/{id}/price", get(Read, pricing::get_price))
        .route(
            "/sessions/{id}/price/revisions",
            get(Read, pricing::revisions),
        )
        .route("/sessions/{id}/reprice", post(Admin, pricing::reprice))
        .route("/stations/{id}/price-preview", get(Read, pricing::preview))
        .route(
            "/spot-prices/{zone}/{date}",
            get(Read, spot::get_spot_day).merge(put(Admin, pricing::put_spot_day)),
        )
        .route(
            "/alarm-settings",
            get(Read, alarm_settings::get).merge(put(Admin, alarm_settings::put)),
        )
        // Reports: whoever may read the organisation's records.
        .route("/reports/usage", get(Read, reports::usage))
        .route("/alarms", get(Read, spot::list_alarms))
        .route("/alarms/{id}", get(Read, spot::get_alarm))
        // Acknowledging and resolving alarms is an operator's work.
        .route(
            "/alarms/{id}/acknowledge",
            post(Commands, spot::acknowledge_alarm),
        )
        .route("/alarms/{id}/resolve", post(Commands, spot::resolve_alarm))
        .route(
            "/sites/{id}/load",
            get(Read, load::get)
                .merge(put(Admin, load::put))
                .merge(delete(Admin, load::delete)),
        )
        .route("/sites/{id}/load/allocation", get(Read, load::allocation))
        .route("/sites/{id}/load/plan", get(Read, plan::site_plan))
        .route("/sites/{id}/load/recompute", post(Admin, load::recompute))
        .route("/sites/{id}/load/meter", post(Admin, load::meter))
        // Tenants: creating an organisation and listing them all is the
        // platform admin's (checked in the handlers: 403 for other keys).
        .route(
            "/organisations",
            get(Read, organisations::list).merge(post(Admin, organisations::create)),
        )
        .route(
            "/organisations/{id}",
            get(Read, organisations::get).merge(patch(Admin, organisations::update)),
        )
        .route(
            "/sites",
            get(Read, sites::list).merge(post(Admin, sites::create)),
        )
        .route(
            "/sites/{id}",
            get(Read, sites::get)
                .merge(patch(Admin, sites::update))
                .merge(delete(Admin, sites::delete)),
        )
        .route("/audit-log", get(Admin, audit::list))
        // People: an organisation's admin manages its members.
        .route(
            "/users",
            get(Admin, people::list).merge(post(Admin, people::create)),
        )
        .route(
            "/users/{id}",
            get(Admin, people::get)
                .merge(patch(Admin, people::update))
                .merge(delete(Admin, people::delete)),
        )
        .route(
            "/users/{id}/second-factor",
            delete(Admin, people::remove_second_factor),
        )
        // Invitations by e-mail: an organisation's admin invites.
        .route(
            "/invitations",
            get(Admin, invitations::list).merge(post(Admin, invitations::create)),
        )
        .route(
            "/invitations/{id}",
            get(Admin, invitations::get).merge(delete(Admin, invitations::revoke)),
        )
        // The local runner's mail (the handlers let the platform admin only).
        .route("/outbox", get(Admin, outbox::list))
        .route("/outbox/{id}", get(Admin, outbox::get))
        // A signed-in person's own things, whatever their role.
        .route("/invoice-runs", post(Admin, billing::run))
        .route("/invoices", get(Read, billing::list))
        .route("/invoices/{id}", get(Read, billing::get))
        .route("/invoices/{id}/pdf", get(Read, billing::pdf))
        .route("/invoices/{id}/peppol", get(Read, billing::peppol))
        .route("/invoices/{id}/unblock", post(Admin, dunning::unblock))
        .route(
            "/invoices/{id}/dispute",
            post(Admin, dunning::dispute).merge(delete(Admin, dunning::resolve_dispute)),
        )
        // Credit notes: an organisation admin credits, readers read.
        .route(
            "/invoices/{id}/credit-notes",
            get(Read, credit_notes::list).merge(post(Admin, credit_notes::create)),
        )
        .route(
            "/invoices/{id}/credit-notes/{number}",
            get(Read, credit_notes::get),
        )
        .route(
            "/invoices/{id}/credit-notes/{number}/pdf",
            get(Read, credit_notes::pdf),
        )
        .route(
            "/invoices/{id}/credit-notes/{number}/peppol",
            get(Read, credit_notes::peppol),
        )
        // Refunds: an organisation admin refunds, readers read.
        .route(
            "/invoices/{id}/refunds",
            get(Read, refunds::list).merge(post(Admin, refunds::create)),
        )
        .route("/dunning-runs", post(Admin, dunning::run))
        // Settling a month and its bank file are the platform admin's (the
        // handlers check); its figures and self-invoice are the organisation's.
        .route("/settlement-runs", post(Admin, settlements::run))
        .route("/settlements/{period}", get(Read, settlements::get))
        .route("/settlements/{period}/pdf", get(Read, settlements::pdf))
        .route(
            "/settlements/{period}/payout-file",
            get(Read, settlements::payout_file),
        )
        // Monthly fees and one-off charges on the drivers' invoices.
        .route(
            "/fees",
            get(Read, fees::list_fees).merge(post(Admin, fees::create_fee)),
        )
        .route(
            "/fees/{id}",
            get(Read, fees::get_fee)
                .merge(patch(Admin, fees::update_fee))
                .merge(delete(Admin, fees::delete_fee)),
        )
        .route(
            "/one-off-charges",
            get(Read, fees::list_charges).merge(post(Admin, fees::create_charge)),
        )
        .route(
            "/one-off-charges/{id}",
            get(Read, fees::get_charge).merge(delete(Admin, fees::delete_charge)),
        )
        .route("/ledger/accounts", get(Read, billing::ledger_accounts))
        .route("/ledger/reconciliation", get(Read, billing::reconciliation))
        .route("/me/invoices", own_get(billing::mine))
        .route("/me/invoices/{id}/pdf", own_get(billing::my_pdf))
        .route("/me/invoices/{id}/peppol", own_get(billing::my_peppol))
        .route(
            "/me/invoices/{id}/credit-notes/{number}/pdf",
            own_get(credit_notes::my_pdf),
        )
        .route(
            "/me/invoices/{id}/credit-notes/{number}/peppol",
            own_get(credit_notes::my_peppol),
        )
        .route(
            "/me/company",
            own_get(billing::my_company)
                .merge(own_put(billing::set_my_company))
                .merge(own_delete(billing::remove_my_company)),
        )
        .route(
            "/me/invoices/{id}/card-payment",
            own_post(card_payments::pay_by_card),
        )
        .route("/me/invoices/{id}/swish", own_post(swish::pay_by_swish))
        .route(
            "/me/card",
            own_get(card_payments::my_card)
                .merge(own_post(card_payments::start_saving_card))
                .merge(own_put(card_payments::save_card))
                .merge(own_delete(card_payments::remove_card)),
        )
        // The client-funds Bankgiro is the platform's (the handlers let the
        // platform admin only).
        .route("/payments/bankgiro", post(Admin, payments::import_bankgiro))
        .route("/payments/unmatched", get(Admin, payments::unmatched))
        .route("/payments/{id}/match", post(Admin, payments::match_payment))
        .route("/me/id-tokens", own_get(me::id_tokens))
        .route("/me/sessions", own_get(me::sessions))
        .route("/me/sessions/{id}", own_get(me::session))
        .route("/me/sessions/{id}/rating", own_put(me::rate))
        .route(
            "/me/bookings",
            own_get(me::my_bookings).merge(own_post(me::book)),
        )
        .route("/me/bookings/{id}", own_get(me::my_booking_get))
        .route("/me/bookings/{id}/cancel", own_post(me::my_booking_cancel))
        .route(
            "/stations/{id}/evses/{evseId}/charging-key",
            get(Read, start_link::get_key),
        )
        .route(
            "/stations/{id}/evses/{evseId}/charging-key/rotate",
            post(Admin, start_link::rotate),
        )
        .route(
            "/stations/{id}/evses/{evseId}/qr.svg",
            get(Read, start_link::qr_svg),
        )
        .route(
            "/stations/{id}/evses/{evseId}/qr.png",
            get(Read, start_link::qr_png),
        )
        .route("/stations/{id}/ratings", get(Read, ratings::station))
        .route("/sites/{id}/ratings", get(Read, ratings::site))
        .fallback(not_found)
        // Inside the key check: stores what a successful write left for it.
        .layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(middleware::from_fn_with_state(
            auth::AuthState::new(state.clone()),
            auth::require_api_key,
        ))
        // After the layer: the description needs no key, and signing in
        // and out act on the caller's own session only (no scope: a driver
        // may sign in too).
        .route("/openapi.json", axum::routing::get(openapi::serve))
        .route(
            "/auth/sign-in",
            axum::routing::post(sign_in::sign_in).with_state(sign_in),
        )
        // Stripe's events: the signature is the credential.
        .route(
            "/providers/stripe/webhook",
            axum::routing::post(card_payments::stripe_webhook),
        )
        // Swish's callbacks: read back from Swish before anything is done.
        .route(
            "/providers/swish/callback",
            axum::routing::post(swish::swish_callback),
        )
        // Single-use links from e-mails: the token is the credential.
        .merge(
            Router::new()
                .route(
                    "/auth/invitations/inspect",
                    axum::routing::post(invitations::inspect),
                )
                .route(
                    "/auth/invitations/accept",
                    axum::routing::post(invitations::accept),
                )
                .route(
                    "/auth/password-reset",
                    axum::routing::post(invitations::request_reset),
                )
                .route(
                    "/auth/password-reset/complete",
                    axum::routing::post(invitations::complete_reset),
                )
                .with_state(links),
        )
        .route("/auth/me", axum::routing::get(sign_in::me))
        .route(
            "/auth/second-factor",
            axum::routing::post(second_factor::set_up),
        )
        .route(
            "/auth/second-factor/confirm",
            axum::routing::post(second_factor::confirm),
        )
        .route(
            "/auth/second-factor/disable",
            axum::routing::post(second_factor::disable),
        )
        // The start link is public: its key is the permission to see the
        // EVSE, the access mode decides who may start; a signed-in person
        // is recognised by the cookie (a POST with it needs the CSRF token).
        .route(
            "/start/{key}",
            axum::routing::get(start_link::info).post(start_link::start),
        )
        .route(
            "/start/{key}/starts/{commandId}",
            axum::routing::get(start_link::get_start),
        )
        // Paying at the charger: a visitor's card hold, then the start.
        .route(
            "/start/{key}/payment",
            axum::routing::post(pay_at_charger::hold),
        )
        .route(
            "/start/{key}/payment/{intentId}/start",
            axum::routing::post(pay_at_charger::start),
        )
        .route("/auth/sign-out", axum::routing::post(sign_in::sign_out))
        .route(
            "/auth/sign-out-everywhere",
            axum::routing::post(sign_in::sign_out_everywhere),
        )
        .with_state(state);
    Router::new()
        .route(
            "/healthz",
            axum::routing::get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .nest("/api/v1", v1)
        .fallback(not_found)
        // Outermost: axum's own answers (405, 413, rejections) in our shape.
        .layer(middleware::map_response(error::json_errors))
        .layer(DefaultBodyLimit::max(error::MAX_BODY))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
