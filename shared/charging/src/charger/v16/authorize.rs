//! Authorize: may this id tag charge?

use super::types::IdTagInfo;
use crate::charger::ChargingStore;
use crate::charger::{encode, ChargerService, HandlerError, Outcome};
use csms_domain::event::ChargerEvent;
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    id_tag: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    id_tag_info: IdTagInfo,
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload)?;
    let (id_token, token_type) = super::types::id_tag(&req.id_tag)?;
    match svc
        .apply(
            conn,
            ChargerEvent::AuthorizeRequested {
                id_token,
                token_type,
            },
            now,
        )
        .await?
    {
        Outcome::Authorization(a) => encode(&Response {
            id_tag_info: a.into(),
        }),
        other => unreachable!("authorize yields an authorization, not {other:?}"),
    }
}
