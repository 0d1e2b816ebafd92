//! StartTransaction: authorize the tag and allocate a transaction id.
//! A non-accepted tag still gets an id: the charger then stops the
//! transaction itself (reason DeAuthorized), and we want that on record.

use super::types::IdTagInfo;
use crate::charger::wire::{register_wh, require_time, Dropped};
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError, Outcome};
use csms_domain::event::{ChargerEvent, TransactionEvent, TransactionPhase};
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    connector_id: u32,
    id_tag: String,
    meter_start: i64,
    #[allow(dead_code)]
    reservation_id: Option<i64>,
    timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    id_tag_info: IdTagInfo,
    transaction_id: i64,
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let (id_token, id_token_type) = super::types::id_tag(&req.id_tag)?;
    let mut dropped = Dropped::default();
    let time = require_time("timestamp", &req.timestamp, now, &mut dropped)?;
    let event = TransactionEvent {
        phase: TransactionPhase::Started,
        transaction_id: None,
        timestamp: time.at,
        // 1.6 connector N is EVSE N, connector N (README, "EVSE and connector numbers").
        evse_id: Some(req.connector_id),
        connector_id: Some(req.connector_id),
        id_token: Some(id_token),
        id_token_type,
        meter_start_wh: register_wh("meterStart", req.meter_start, &mut dropped),
        meter_stop_wh: None,
        stop_reason: None,
        readings: vec![],
        seq_no: None,
        offline: false,
        charger_timestamp: time.replaced,
    };
    svc.note_dropped(conn, "StartTransaction", dropped, now)
        .await;
    match svc
        .apply(conn, ChargerEvent::Transaction(event), now)
        .await?
    {
        Outcome::Transaction {
            transaction_id,
            authorization,
        } => {
            let transaction_id = transaction_id.as_str().parse().map_err(|_| {
                HandlerError::Invalid(format!("transaction id {transaction_id} is not an integer"))
            })?;
            let id_tag_info = authorization.expect("a start carries an id tag").into();
            encode(&Response {
                id_tag_info,
                transaction_id,
            })
        }
        other => unreachable!("a transaction yields a transaction outcome, not {other:?}"),
    }
}
