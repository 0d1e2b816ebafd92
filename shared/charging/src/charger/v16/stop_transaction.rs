//! StopTransaction: close the session with its final register reading.
//! A stop for a transaction we never saw is still answered and recorded (the
//! session appears with its start unknown): losing a charged session is worse
//! than showing an incomplete one.

use super::types::{readings, IdTagInfo, MeterValue};
use crate::charger::wire::{register_wh, require_time, Dropped};
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError, Outcome};
use csms_domain::event::{ChargerEvent, TransactionEvent, TransactionPhase};
use csms_domain::station::Connection;
use csms_domain::{Timestamp, TransactionId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    id_tag: Option<String>,
    meter_stop: i64,
    timestamp: String,
    transaction_id: i64,
    reason: Option<String>,
    #[serde(default)]
    transaction_data: Vec<MeterValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(skip_serializing_if = "Option::is_none")]
    id_tag_info: Option<IdTagInfo>,
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let (id_token, id_token_type) = match req.id_tag.as_deref().map(super::types::id_tag) {
        Some(t) => {
            let (v, kind) = t?;
            (Some(v), kind)
        }
        None => (None, None),
    };
    let mut dropped = Dropped::default();
    let time = require_time("timestamp", &req.timestamp, now, &mut dropped)?;
    let event = TransactionEvent {
        phase: TransactionPhase::Ended,
        transaction_id: Some(TransactionId::from(req.transaction_id)),
        timestamp: time.at,
        evse_id: None,
        connector_id: None,
        id_token,
        id_token_type,
        meter_start_wh: None,
        meter_stop_wh: register_wh("meterStop", req.meter_stop, &mut dropped),
        // 1.6: an absent reason means "Local".
        stop_reason: Some(req.reason.unwrap_or_else(|| "Local".into())),
        readings: readings(&req.transaction_data, now, &mut dropped),
        seq_no: None,
        offline: false,
        charger_timestamp: time.replaced,
    };
    svc.note_dropped(conn, "StopTransaction", dropped, now)
        .await;
    match svc
        .apply(conn, ChargerEvent::Transaction(event), now)
        .await?
    {
        Outcome::Transaction { authorization, .. } => encode(&Response {
            id_tag_info: authorization.map(Into::into),
        }),
        other => unreachable!("a transaction yields a transaction outcome, not {other:?}"),
    }
}
