//! SendLocalList: the authorization list a station keeps for offline use.

use super::{call, time, Call, EncodeError};
use csms_domain::command::LocalListEntry;
use serde_json::{json, Value};

fn info(e: &LocalListEntry, v16: bool) -> Option<Value> {
    // No status = remove the entry (differential update).
    let status = e.status.as_ref()?;
    Some(if v16 {
        json!({"status": status, "expiryDate": e.expires_at.map(time)})
    } else {
        json!({"status": status, "cacheExpiryDateTime": e.expires_at.map(time)})
    })
}

pub(super) fn encode(
    list_version: i32,
    full: bool,
    entries: &[LocalListEntry],
    v16: bool,
) -> Result<Call, EncodeError> {
    if full && entries.iter().any(|e| e.status.is_none()) {
        return Err(EncodeError::Invalid(
            "entries: a full list needs a status for every entry (no status = remove, for differential updates)".into(),
        ));
    }
    let update = if full { "Full" } else { "Differential" };
    Ok(if v16 {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| json!({"idTag": e.id_token, "idTagInfo": info(e, true)}))
            .collect();
        call(
            "SendLocalList",
            json!({"listVersion": list_version, "updateType": update, "localAuthorizationList": list}),
        )
    } else {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "idToken": {"idToken": e.id_token, "type": e.token_type.as_deref().unwrap_or("ISO14443")},
                    "idTokenInfo": info(e, false),
                })
            })
            .collect();
        call(
            "SendLocalList",
            json!({"versionNumber": list_version, "updateType": update, "localAuthorizationList": list}),
        )
    })
}
