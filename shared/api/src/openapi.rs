//! The OpenAPI 3.1 document of API v1, generated from the handlers'
//! `#[utoipa::path]` annotations and the views' schemas, and served at
//! `GET /api/v1/openapi.json` (no key needed: it is public documentation).

use crate::command_input::CommandInput;
use crate::{
    access, alarm_settings, api_keys, audit, billing, bookings, commands, device_model, garage,
    invitations, load, local_list, me, organisations, outbox, payments, people, plan, pricing,
    ratings, reports, second_factor, sessions, sign_in, sites, spot, start_link, stations, tariffs,
    tokens, views, webhooks,
};
use crate::{
    card_payments, credit_notes, dunning, fees, pay_at_charger, refunds, settlements, swish,
};
use axum::http::header;
use axum::response::IntoResponse;
use csms_kernel::views::{
    CommandView, ConnectionEventView, RegistrationEventView, SessionView, StatusEventView,
};
use serde::Serialize;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error: a stable machine code and a message for people.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `precondition_failed` (412, `If-Match`), `method_not_allowed` (405, with
    /// `Allow`), `payload_too_large` (413, a body over 2 MiB), `too_many_requests` (429),
    /// `second_factor_required` (401: sign in with the app's `code` too),
    /// `not_configured` (503: a setting the request needs is not made, e.g. the public
    /// address or the mail sender), `upstream_failed` (502, the mail service failed),
    /// `internal`.
    pub code: String,
    pub message: String,
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListOf<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A whole (unpaged) list.
#[derive(Serialize, ToSchema)]
pub struct ItemsOf<T> {
    pub items: Vec<T>,
}

/// The body of a webhook delivery (`POST` to the webhook's URL), signed in
/// `Csms-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"
/// keyed with the webhook secret}`; `Csms-Webhook-Id` names the delivery
/// (the same on every retry), `Csms-Event-Type` the event. `data` is a
/// `Session` (session.*), `Command` (command.completed),
/// `StationStatusEvent` (station.status), `StationRegistrationEvent`
/// (station.registration), `StationConnectionEvent`
/// (station.connected/disconnected), `Booking` (booking.refused) or
/// `AlarmView` (alarm.opened, alarm.resolved: once per change, not per
/// evaluation or repeat) or `InvoiceSummary` (invoice.issued, invoice.paid,
/// invoice.reminded, invoice.blocked: once, after the write that did it;
/// a re-run that finds it done sends nothing).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// The event's id, the same in every webhook's delivery of it.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

struct BearerKey;

/// Every operation that takes a body can answer 413 (the API's body
/// limit, [`crate::error::MAX_BODY`]), in the usual error shape.
struct BodyLimit;

impl Modify for BodyLimit {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let too_large = ResponseBuilder::new()
            .description("The request body is larger than 2 MiB")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.post, &mut item.put, &mut item.patch]
                .into_iter()
                .flatten()
            {
                if op.request_body.is_some() {
                    op.responses
                        .responses
                        .insert("413".into(), too_large.clone().into());
                }
            }
        }
    }
}

/// The request body enums tagged by a field (`type`, `kind`): serde
/// refuses unknown fields in each variant (`deny_unknown_fields` on the
/// enum), but utoipa does not say so on the variants' object schemas.
const CLOSED_TAGGED_ENUMS: &[&str] = &["CommandRequest", "PriceComponentInput", "EnergyPriceInput"];

/// Says `additionalProperties: false` on the variants of
/// [`CLOSED_TAGGED_ENUMS`], as on every other request body object.
struct ClosedVariants;

impl Modify for ClosedVariants {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AdditionalProperties, Schema};
        use utoipa::openapi::RefOr;
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        for name in CLOSED_TAGGED_ENUMS {
            let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(*name) else {
                continue;
            };
            for variant in &mut one_of.items {
                if let RefOr::T(Schema::Object(o)) = variant {
                    o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
    }
}

impl Modify for BearerKey {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator's admin key (the platform admin; `X-Organisation` chooses the organisation it acts in), or a partner key `csk_{id}_{secret}` from POST /api-keys (bound to its organisation)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CSMS API",
        version = "1",
        description = "Organisations and their sites, stations, id tokens, sessions, commands to chargers, partner API keys, webhooks, tariffs and load balancing. \
JSON with camelCase fields; lists are paged with `limit` and `cursor`; errors are `{\"error\":{\"code\",\"message\"}}`, \
also a 405 `method_not_allowed` (a method the path does not have; `Allow` lists those it has) and a 413 `payload_too_large` (a body over 2 MiB). \
Scopes: `read` (every GET, exports, webhooks), `commands` (POST commands; implies read), `admin` (everything). \
Organisations: a request acts in one organisation and sees only its records; an id of another organisation answers 404 like a missing one. \
A partner key acts in its own organisation. The configured admin key (the platform admin) acts in `default`, or in the organisation \
an `X-Organisation: <organisation id>` header (or an `org` query parameter) names (400 if malformed); a partner key naming another organisation there gets 404. \
Only the platform admin may store spot prices (`PUT /spot-prices/{zone}/{date}`), create organisations and list them all \
(`/organisations`; a partner key sees its own organisation and, with `admin`, may change it).",
        license(name = "Apache-2.0")
    ),
    servers((url = "/api/v1")),
    security(("apiKey" = [])),
    modifiers(&BearerKey, &BodyLimit, &ClosedVariants),
    paths(
        stations::list, stations::create, stations::get, stations::update, stations::delete,
        stations::rotate_password, stations::decommission, stations::recommission, stations::events, device_model::get,
        local_list::get, local_list::sync,
        access::get, access::put, access::put_evse, access::delete_evse, access::now, access::attempts, access::org_attempts,
        garage::get, garage::put, garage::delete,
        bookings::create, bookings::list_evse, bookings::list, bookings::get, bookings::cancel,
        commands::create, commands::list_for_station, commands::get,
        tokens::list, tokens::create,
        tokens::get, tokens::update, tokens::delete, tokens::block, tokens::unblock,
        tokens::list_unregistered, tokens::register_unregistered,
        sessions::list, sessions::export, sessions::get, sessions::meter_values,
        api_keys::list, api_keys::create, api_keys::get, api_keys::revoke,
        webhooks::list, webhooks::create, webhooks::get, webhooks::delete, webhooks::deliveries,
        tariffs::list, tariffs::create, tariffs::get, tariffs::update, tariffs::delete, tariffs::versions,
        tariffs::list_assignments, tariffs::create_assignment, tariffs::delete_assignment,
        pricing::get_price, pricing::revisions, pricing::reprice, pricing::preview,
        spot::get_spot_day, pricing::put_spot_day, spot::list_alarms,
        spot::get_alarm, spot::acknowledge_alarm, spot::resolve_alarm,
        alarm_settings::get, alarm_settings::put,
        reports::usage,
        load::put, load::get, load::delete, load::allocation, load::recompute, load::meter,
        plan::site_plan, plan::put_need, plan::get_need, plan::delete_need,
        organisations::list, organisations::create, organisations::get, organisations::update,
        sites::list, sites::create, sites::get, sites::update, sites::delete,
        audit::list,
        people::list, people::create, people::get, people::update, people::delete, people::remove_second_factor,
        sign_in::sign_in, sign_in::me, sign_in::sign_out, sign_in::sign_out_everywhere,
        second_factor::set_up, second_factor::confirm, second_factor::disable,
        invitations::create, invitations::list, invitations::get, invitations::revoke,
        invitations::inspect, invitations::accept, invitations::request_reset, invitations::complete_reset,
        outbox::list, outbox::get,
        me::id_tokens, me::sessions, me::session, me::rate, me::my_bookings, me::book, me::my_booking_get, me::my_booking_cancel, ratings::station, ratings::site,
        start_link::get_key, start_link::rotate, start_link::qr_svg, start_link::qr_png,
        start_link::info, start_link::start, start_link::get_start,
        billing::run, billing::list, billing::get, billing::pdf, billing::peppol, billing::mine, billing::my_pdf, billing::my_peppol, billing::set_my_company, billing::my_company, billing::remove_my_company, billing::ledger_accounts, billing::reconciliation,
        payments::import_bankgiro, payments::unmatched, payments::match_payment,
        card_payments::pay_by_card, card_payments::stripe_webhook,
        card_payments::start_saving_card, card_payments::save_card, card_payments::my_card, card_payments::remove_card,
        swish::pay_by_swish, swish::swish_callback,
        dunning::run, dunning::unblock, dunning::dispute, dunning::resolve_dispute,
        settlements::run, settlements::get, settlements::pdf, settlements::payout_file,
        pay_at_charger::hold, pay_at_charger::start,
        fees::list_fees, fees::create_fee, fees::get_fee, fees::update_fee, fees::delete_fee,
        fees::list_charges, fees::create_charge, fees::get_charge, fees::delete_charge,
        credit_notes::create, credit_notes::list, credit_notes::get, credit_notes::pdf, credit_notes::my_pdf, credit_notes::peppol, credit_notes::my_peppol,
        refunds::create, refunds::list,
    ),
    components(schemas(
        ErrorBody, CommandInput, SessionView, CommandView, StatusEventView, RegistrationEventView, ConnectionEventView,
        WebhookEvent, views::Station,
    )),
    tags(
        (name = "stations"), (name = "commands"), (name = "id-tokens"), (name = "sessions"),
        (name = "api-keys"), (name = "webhooks"), (name = "pricing"), (name = "tariffs"),
        (name = "alarms"), (name = "load"), (name = "organisations"), (name = "sites"),
        (name = "audit"),
        (name = "users"), (name = "auth"),
        (name = "access"),
        (name = "me"), (name = "ratings"),
        (name = "bookings"),
        (name = "start links"),
        (name = "billing"),
        (name = "reports"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
