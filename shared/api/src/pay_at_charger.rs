//! Paying at the charger without an app, behind the EVSE's start link
//! (public routes: the charging key is the permission, the access mode
//! decides who may charge; see `csms_billing::charger_pay`):
//! - `POST /start/{key}/payment` holds the hold amount on the visitor's card
//!   (a Stripe PaymentIntent to confirm with Stripe.js), with the e-mail the
//!   receipt goes to;
//! - `POST /start/{key}/payment/{intentId}/start` starts the charge once the
//!   card holds the money: the intent is read back from Stripe, and the
//!   start is a remote start for a one-off identity that names the hold.
//!   One hold starts one charge; a start the charger or the access mode
//!   refused may be tried again with the same hold.
//!
//! The session's price is captured from the hold when the session is
//! priced, and a receipt is mailed.

use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::start_link::{
    charging_key, launch, refused_response, unknown_link, wait_param, Launched, StartRefused,
    StartView,
};
use crate::util::{json_body, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::TimeDelta;
use csms_charging::start_link;
use csms_domain::access::{AccessMode, AccessRefusal};
use csms_domain::station::StationView;
use csms_domain::tenant::{Email, Language};
use csms_domain::IdTokenValue;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The claim scope of a hold's start: the one-off identity it starts with.
const START_SCOPE: &str = "charger-payment-start";

/// A visitor's payment before a charge.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PaymentInput {
    /// Where the receipt goes.
    #[schema(example = "visitor@example.com")]
    email: String,
    /// The receipt's language: `sv` (default) or `en`.
    #[schema(example = "sv")]
    language: Option<String>,
}

/// What the payment page hands Stripe.js to hold the money.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldView {
    pub payment_intent_id: String,
    pub client_secret: String,
    pub publishable_key: String,
    /// Where the page loads Stripe.js from.
    pub stripe_js_url: String,
    /// The amount held (not taken), a decimal string; the session's price
    /// is captured from it and the rest released.
    pub amount: String,
    pub currency: String,
}

#[utoipa::path(post, path = "/start/{key}/payment", operation_id = "holdPaymentAtCharger", tag = "start links", summary = "Pay at the charger without an app: hold an amount on the visitor's card (confirmed with Stripe.js) before the charge; the session's price is captured from it (public: no key)", params(("key" = String, Path, description = "The charging key from the link or QR code")), request_body = PaymentInput, responses((status = 201, body = HoldView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 403, description = "The access mode does not let visitors charge here now (`reason`)", body = StartRefused), (status = 404, description = "No such start link", body = ErrorBody), (status = 409, description = "The EVSE is booked, offline or out of service (`reason`)", body = StartRefused), (status = 503, description = "Card payments are not set up, or Stripe did not answer", body = ErrorBody)), security(()))]
pub async fn hold(
    State(st): State<ApiState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    charging_key(&raw)?;
    let input: PaymentInput = json_body(&body)?;
    match hold_at_link(&st, &raw, &input.email, input.language.as_deref()).await? {
        Hold::Held(view) => Ok((StatusCode::CREATED, Json(view)).into_response()),
        Hold::Refused {
            reason,
            mode,
            view,
            evse,
        } => Ok(refused_response(reason, mode, &view, evse)),
    }
}

/// What became of asking for a hold.
pub enum Hold {
    /// The hold to confirm with Stripe.js.
    Held(HoldView),
    /// A visitor may not charge here now: nothing was held.
    Refused {
        reason: AccessRefusal,
        mode: AccessMode,
        view: Box<StationView>,
        evse: u32,
    },
}

/// `POST /start/{key}/payment`'s use case: the receipt's `email` and
/// `language` (`None`: Swedish) parsed (a 400 names the field), then a
/// hold on the visitor's card where an anonymous start would be let in.
pub async fn hold_at_link(
    st: &ApiState,
    raw: &str,
    email: &str,
    language: Option<&str>,
) -> Result<Hold, ApiError> {
    let key = charging_key(raw)?;
    let email = Email::parse(email).map_err(|e| ApiError::BadRequest(format!("email: {e}")))?;
    let language = match language {
        None => Language::Sv,
        Some(l) => {
            Language::parse(l.trim()).map_err(|e| ApiError::BadRequest(format!("language: {e}")))?
        }
    };
    let (k, view) = start_link::resolve(&*st.store, &key)
        .await?
        .ok_or_else(unknown_link)?;
    let now = st.clock.now();
    // As an anonymous start would be decided: nothing is held where a
    // visitor may not charge now.
    let visitor = start_link::one_off_identity(&k, None, now);
    let decision = start_link::decide(&*st.store, &k, &view, None, &visitor, now).await?;
    if let Some(reason) = decision.refusal {
        return Ok(Hold::Refused {
            reason,
            mode: decision.mode,
            view: Box::new(view),
            evse: k.evse_id,
        });
    }
    let held = st
        .billing
        .hold_at_charger(&k.org_id, &k.station_id, k.evse_id, &email, language)
        .await?;
    Ok(Hold::Held(HoldView {
        payment_intent_id: held.intent_id,
        client_secret: held.client_secret,
        publishable_key: held.publishable_key,
        stripe_js_url: st.billing.stripe_js_url().unwrap_or_default().to_owned(),
        amount: held.amount.to_string(),
        currency: held.currency,
    }))
}

#[utoipa::path(post, path = "/start/{key}/payment/{intentId}/start", operation_id = "startPaidAtCharger", tag = "start links", summary = "Start the charge a held card payment pays for (once per payment; public: no key)", params(("key" = String, Path, description = "The charging key from the link or QR code"), ("intentId" = String, Path, description = "`paymentIntentId` of the hold"), ("wait" = Option<u32>, Query, maximum = 25, description = "Seconds to wait for the station's answer")), responses((status = 200, description = "The station has answered (`status`)", body = StartView), (status = 202, description = "Sent; the station has not answered yet: poll `GET /start/{key}/starts/{commandId}`", body = StartView), (status = 400, description = "Invalid input; the message says which field and why", body = ErrorBody), (status = 403, description = "The access mode does not let visitors charge here now (`reason`)", body = StartRefused), (status = 404, description = "No such start link, or no such payment at its EVSE", body = ErrorBody), (status = 409, description = "The card holds nothing yet, the payment started a charge already, or the EVSE is booked, offline or out of service", body = ErrorBody), (status = 429, description = "A start through a link was made at this EVSE less than 30 s ago; `Retry-After`", body = ErrorBody), (status = 503, description = "Card payments are not set up", body = ErrorBody)), security(()))]
pub async fn start(
    State(st): State<ApiState>,
    Path((raw, intent)): Path<(String, String)>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Result<Response, ApiError> {
    charging_key(&raw)?;
    let wait = wait_param(&params)?;
    let (launched, view, evse) = start_paid(&st, &raw, &intent, wait, &body).await?;
    launched.into_response(&view, evse)
}

/// `POST /start/{key}/payment/{intentId}/start`'s use case: the charge a
/// held payment pays for, once per payment; with the link's station and
/// EVSE (for the answer's words).
pub async fn start_paid(
    st: &ApiState,
    raw: &str,
    intent: &str,
    wait: Option<std::time::Duration>,
    body: &[u8],
) -> Result<(Launched, StationView, u32), ApiError> {
    let key = charging_key(raw)?;
    let (k, view) = start_link::resolve(&*st.store, &key)
        .await?
        .ok_or_else(unknown_link)?;
    let intent = st
        .billing
        .held_at_charger(intent.trim(), &k.station_id, k.evse_id)
        .await?;
    let now = st.clock.now();
    let mut visitor = start_link::one_off_identity(&k, None, now);
    // One identity per hold: the first start claims it; a start that was
    // refused before the identity was made may go again with it.
    let claimed = st
        .store
        .claim(
            START_SCOPE,
            &intent,
            visitor.token.as_str(),
            TimeDelta::days(30),
        )
        .await?;
    if let Some(earlier) = claimed {
        let token = IdTokenValue::parse(&earlier)
            .map_err(|e| ApiError::Internal(format!("the claimed identity of {intent}: {e}")))?;
        if st.store.get_id_token(&token).await?.is_some() {
            return Err(ApiError::Conflict(format!(
                "payment {intent} has started a charge already; pay again for another"
            )));
        }
        visitor.token = token;
    }
    visitor.payment_hold = Some(intent);
    visitor.label = Some(format!(
        "paid at the charger: EVSE {} of station {}",
        k.evse_id, k.station_id
    ));
    let launched = launch(st, raw, &k, &view, None, visitor, true, wait, body).await?;
    Ok((launched, view, k.evse_id))
}
