//! TransactionEvent: Started / Updated / Ended in one message type.
//!
//! Chargers resend an event they got no answer for and replay queued events
//! after an offline period (`offline: true`), so `seqNo` makes every event
//! idempotent: a seqNo the session has seen is answered without effect.

use super::types::{readings, Evse, IdToken, IdTokenInfo, MeterValue};
use crate::charger::wire::request_id;
use crate::charger::wire::{require_time, Dropped};
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError, Outcome};
use csms_domain::command::CommandRequest;
use csms_domain::event::{ChargerEvent, TransactionEvent, TransactionPhase};
use csms_domain::station::Connection;
use csms_domain::{IdTokenValue, Timestamp, TransactionId};
use csms_kernel::ports::PageRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    event_type: String,
    timestamp: String,
    seq_no: u64,
    #[serde(default)]
    offline: bool,
    transaction_info: TransactionInfo,
    id_token: Option<IdToken>,
    evse: Option<Evse>,
    #[serde(default)]
    meter_value: Vec<MeterValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionInfo {
    transaction_id: String,
    stopped_reason: Option<String>,
    /// Sent on the first event after a RequestStartTransaction: the id the
    /// CSMS put in it, which names the command and so its id token.
    remote_start_id: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_info: Option<IdTokenInfo>,
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let phase = match req.event_type.as_str() {
        "Started" => TransactionPhase::Started,
        "Updated" => TransactionPhase::Updated,
        "Ended" => TransactionPhase::Ended,
        other => return Err(HandlerError::Invalid(format!("eventType {other:?}"))),
    };
    let (id_token, id_token_type, free_vend) = match &req.id_token {
        Some(t) => match t.typed()? {
            Some((v, kind)) => (Some(v), kind, false),
            None => (None, None, true),
        },
        // Some stations leave the token out of the transaction a remote
        // start began; the command they answered names it.
        None => match req.transaction_info.remote_start_id {
            Some(id) => (remote_start_token(svc, conn, id).await?, None, false),
            None => (None, None, false),
        },
    };
    // Checked before anything is written: a transaction id we could not
    // read back as a session id is refused whole, never half-stored.
    let raw_tx = &req.transaction_info.transaction_id;
    let transaction_id = TransactionId::parse(raw_tx.clone())
        .map_err(|e| HandlerError::field("transactionInfo.transactionId", raw_tx, e))?;
    let mut dropped = Dropped::default();
    let time = require_time("timestamp", &req.timestamp, now, &mut dropped)?;
    let event = TransactionEvent {
        phase,
        transaction_id: Some(transaction_id),
        timestamp: time.at,
        evse_id: req.evse.as_ref().map(|e| e.id),
        connector_id: req.evse.as_ref().and_then(|e| e.connector_id),
        id_token,
        id_token_type,
        meter_start_wh: None,
        meter_stop_wh: None,
        stop_reason: req.transaction_info.stopped_reason,
        readings: readings(&req.meter_value, now, &mut dropped),
        seq_no: Some(req.seq_no),
        offline: req.offline,
        charger_timestamp: time.replaced,
    };
    svc.note_dropped(conn, "TransactionEvent", dropped, now)
        .await;
    match svc
        .apply(conn, ChargerEvent::Transaction(event), now)
        .await?
    {
        Outcome::Transaction { authorization, .. } => {
            let id_token_info = match authorization {
                Some(a) => Some(a.into()),
                None if free_vend => Some(IdTokenInfo::accepted()),
                None => None,
            };
            encode(&Response { id_token_info })
        }
        other => unreachable!("a transaction yields a transaction outcome, not {other:?}"),
    }
}

/// How many of the station's newest commands are searched for the remote
/// start a `remoteStartId` names: a remote start is answered within seconds,
/// so its command is among the last few.
const REMOTE_START_LOOKBACK: u32 = 50;

/// The id token of the RequestStartTransaction whose `remoteStartId` is
/// `id`, among the station's recent commands; `None` when no remote start of
/// this station carried that id (the event is then taken without a token).
async fn remote_start_token<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    id: i32,
) -> Result<Option<IdTokenValue>, HandlerError> {
    let page = svc
        .store()
        .list_station_commands(&conn.station_id, &PageRequest::first(REMOTE_START_LOOKBACK))
        .await?;
    for cmd in page.items {
        if let CommandRequest::RemoteStart { id_token, .. } = &cmd.request {
            if request_id(&cmd.id) == id {
                return IdTokenValue::parse(id_token.clone())
                    .map(Some)
                    .map_err(|e| HandlerError::field("remoteStartId", id_token, e));
            }
        }
    }
    Ok(None)
}
