//! The local authorization list a station keeps for offline use:
//! SendLocalList, and GetLocalListVersion to see which one it holds.

use super::{call, status_in, time, Call, EncodeError, IdToken201, Token};
use csms_domain::command::LocalListEntry;
use csms_domain::OcppVersion;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendLocalList16<'a> {
    list_version: i32,
    update_type: &'static str,
    local_authorization_list: Vec<Entry16<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry16<'a> {
    id_tag: &'a str,
    /// Absent = remove the entry (differential update).
    #[serde(skip_serializing_if = "Option::is_none")]
    id_tag_info: Option<IdTagInfo16<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdTagInfo16<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_date: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendLocalList201<'a> {
    version_number: i32,
    update_type: &'static str,
    /// The schema wants at least one entry when present: an empty full list
    /// (clear it) leaves the field out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    local_authorization_list: Vec<Entry201<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry201<'a> {
    id_token: IdToken201<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_info: Option<IdTokenInfo201<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdTokenInfo201<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_expiry_date_time: Option<String>,
}

#[derive(Serialize)]
struct GetLocalListVersion {}

pub(super) fn send(
    list_version: i32,
    full: bool,
    entries: &[LocalListEntry],
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    // Stations report 0 for "no list" and -1 for "no support": a list we
    // send needs a version above both to be told apart later.
    if list_version <= 0 {
        return Err(EncodeError::Invalid(format!(
            "version: a list version is > 0 (0 means no list), got {list_version}"
        )));
    }
    for (i, e) in entries.iter().enumerate() {
        match (&e.status, e.expires_at) {
            // A full list replaces everything: an entry without a status
            // would be a removal from a list that no longer exists.
            (None, _) if full => {
                return Err(EncodeError::Invalid(format!(
                    "entries[{i}].status: a full list needs a status for every entry (no status removes an entry in a differential update)"
                )))
            }
            (None, Some(_)) => {
                return Err(EncodeError::Invalid(format!(
                    "entries[{i}].expiresAt: an entry without status is removed; an expiry makes no sense there"
                )))
            }
            _ => {}
        }
    }
    let update_type = if full { "Full" } else { "Differential" };
    match version {
        OcppVersion::V16 => call(
            "SendLocalList",
            &SendLocalList16 {
                list_version,
                update_type,
                local_authorization_list: entries
                    .iter()
                    .map(|e| Entry16 {
                        id_tag: &e.id_token,
                        id_tag_info: e.status.as_deref().map(|status| IdTagInfo16 {
                            status,
                            expiry_date: e.expires_at.map(time),
                        }),
                    })
                    .collect(),
            },
        ),
        OcppVersion::V201 => call(
            "SendLocalList",
            &SendLocalList201 {
                version_number: list_version,
                update_type,
                local_authorization_list: entries
                    .iter()
                    .map(|e| Entry201 {
                        id_token: Token::new(&e.id_token, e.token_type.as_deref()).v201(),
                        id_token_info: e.status.as_deref().map(|status| IdTokenInfo201 {
                            status,
                            cache_expiry_date_time: e.expires_at.map(time),
                        }),
                    })
                    .collect(),
            },
        ),
    }
}

pub(super) fn get_version() -> Result<Call, EncodeError> {
    call("GetLocalListVersion", &GetLocalListVersion {})
}

/// Both versions: Accepted, or Failed / NotSupported / VersionMismatch.
pub(super) fn send_accepted(response: &Value) -> bool {
    status_in(response, &["Accepted"])
}

/// The version number is the answer; there is no refusal (a station
/// without list support says -1).
pub(super) fn get_version_accepted(_response: &Value) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::{CommandRequest, LocalListEntry};
    use serde_json::json;

    fn entry(token: &str, status: Option<&str>, expires: Option<u32>) -> LocalListEntry {
        LocalListEntry {
            id_token: token.into(),
            token_type: None,
            status: status.map(Into::into),
            expires_at: expires.map(t),
        }
    }

    fn list(version: i32, full: bool, entries: Vec<LocalListEntry>) -> CommandRequest {
        CommandRequest::SendLocalList {
            version,
            full,
            entries,
        }
    }

    #[test]
    fn v16_send_local_list() {
        let req = list(
            3,
            false,
            vec![
                entry("A1", Some("Accepted"), Some(5)),
                entry("B2", None, None),
            ],
        );
        let c = ok(&req, V16);
        assert_eq!(c.action, "SendLocalList");
        assert_eq!(
            c.payload,
            json!({
                "listVersion": 3,
                "updateType": "Differential",
                "localAuthorizationList": [
                    {"idTag": "A1", "idTagInfo": {"status": "Accepted", "expiryDate": "2026-11-24T05:00:00.000Z"}},
                    {"idTag": "B2"},
                ],
            })
        );
        assert_eq!(
            ok(&list(4, true, vec![]), V16).payload,
            json!({"listVersion": 4, "updateType": "Full", "localAuthorizationList": []})
        );
    }

    #[test]
    fn v201_send_local_list() {
        let mut typed = entry("A1", Some("NotAtThisTime"), Some(5));
        typed.token_type = Some("KeyCode".into());
        let req = list(3, false, vec![typed, entry("B2", None, None)]);
        let c = ok(&req, V201);
        assert_eq!(
            c.payload,
            json!({
                "versionNumber": 3,
                "updateType": "Differential",
                "localAuthorizationList": [
                    {"idToken": {"idToken": "A1", "type": "KeyCode"},
                     "idTokenInfo": {"status": "NotAtThisTime", "cacheExpiryDateTime": "2026-11-24T05:00:00.000Z"}},
                    {"idToken": {"idToken": "B2", "type": "ISO14443"}},
                ],
            })
        );
        // Clearing the list: the schema refuses an empty array.
        assert_eq!(
            ok(&list(4, true, vec![]), V201).payload,
            json!({"versionNumber": 4, "updateType": "Full"})
        );
    }

    #[test]
    fn refused_lists() {
        for v in [V16, V201] {
            assert!(invalid(&list(0, true, vec![]), v).starts_with("version"));
            let removal_in_full = list(2, true, vec![entry("B2", None, None)]);
            assert!(invalid(&removal_in_full, v).starts_with("entries[0].status"));
            let expiring_removal = list(2, false, vec![entry("B2", None, Some(1))]);
            assert!(invalid(&expiring_removal, v).starts_with("entries[0].expiresAt"));
        }
        // A status only 2.0.1 knows.
        let e = invalid(
            &list(2, true, vec![entry("A1", Some("NoCredit"), None)]),
            V16,
        );
        assert!(
            e.contains("/localAuthorizationList/0/idTagInfo/status"),
            "{e}"
        );
    }

    #[test]
    fn get_local_list_version() {
        for v in [V16, V201] {
            let c = ok(&CommandRequest::GetLocalListVersion, v);
            assert_eq!((c.action, c.payload), ("GetLocalListVersion", json!({})));
        }
        let req = CommandRequest::GetLocalListVersion;
        assert_answers_any(
            &req,
            V16,
            &[json!({"listVersion": 4}), json!({"listVersion": -1})],
            json!({"versionNumber": 4}),
        );
        assert_answers_any(
            &req,
            V201,
            &[json!({"versionNumber": 0})],
            json!({"listVersion": 4}),
        );
    }

    #[test]
    fn send_answers() {
        let req = list(4, true, vec![]);
        for v in [V16, V201] {
            assert_answers(
                &req,
                v,
                json!({"status": "Accepted"}),
                json!({"status": "VersionMismatch"}),
                json!({"status": "Rejected"}),
            );
        }
    }
}
