//! A station's local authorisation list state as stored:
//! [`StoredLocalList`]. New with local list sync, written with camel-case
//! names. Entries are kept as a map from token value to entry; updates in
//! flight with their changes (an entry without status is a removal).
//! Every value is read back through the domain's types, so a status or a
//! token type this version does not know is a [`DecodeError`].

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::local_list::{
    Change, ListEntry, ListStatus, LocalListState, SentUpdate, SyncOutcome,
};
use csms_domain::token::IdTokenType;
use csms_domain::{OrgId, StationId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLocalList {
    #[serde(rename = "stationId")]
    pub station_id: String,
    #[serde(rename = "orgId")]
    pub org_id: String,
    #[serde(rename = "listVersion")]
    pub list_version: i32,
    #[serde(rename = "entries", default)]
    pub entries: BTreeMap<String, StoredListEntry>,
    #[serde(rename = "inFlight", default)]
    pub in_flight: Vec<StoredSentUpdate>,
    #[serde(rename = "needsFull")]
    pub needs_full: bool,
    #[serde(rename = "supported")]
    pub supported: bool,
    #[serde(rename = "limit", default)]
    pub limit: Option<u32>,
    #[serde(rename = "perMessage", default)]
    pub per_message: Option<u32>,
    #[serde(rename = "outcome", default)]
    pub outcome: Option<StoredSyncOutcome>,
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "version")]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredListEntry {
    #[serde(rename = "type")]
    pub token_type: String,
    #[serde(rename = "status")]
    pub status: String,
    #[serde(rename = "expiresAt", default)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChange {
    #[serde(rename = "idToken")]
    pub id_token: String,
    /// Absent: the entry is removed.
    #[serde(rename = "entry", default)]
    pub entry: Option<StoredListEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSentUpdate {
    #[serde(rename = "listVersion")]
    pub list_version: i32,
    #[serde(rename = "full")]
    pub full: bool,
    #[serde(rename = "changes", default)]
    pub changes: Vec<StoredChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSyncOutcome {
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "result")]
    pub result: String,
    #[serde(rename = "listVersion")]
    pub list_version: i32,
}

impl From<&ListEntry> for StoredListEntry {
    fn from(e: &ListEntry) -> Self {
        let ListEntry {
            token_type,
            status,
            expires_at,
        } = e;
        StoredListEntry {
            token_type: token_type.as_str().to_owned(),
            status: status.as_str().to_owned(),
            expires_at: *expires_at,
        }
    }
}

impl TryFrom<StoredListEntry> for ListEntry {
    type Error = DecodeError;

    fn try_from(e: StoredListEntry) -> Result<Self, DecodeError> {
        Ok(ListEntry {
            token_type: IdTokenType::parse(&e.token_type)
                .ok_or_else(|| DecodeError::new(format!("token type {:?}", e.token_type)))?,
            status: ListStatus::parse(&e.status)
                .ok_or_else(|| DecodeError::new(format!("list status {:?}", e.status)))?,
            expires_at: e.expires_at,
        })
    }
}

impl From<&SentUpdate> for StoredSentUpdate {
    fn from(u: &SentUpdate) -> Self {
        let SentUpdate {
            version,
            full,
            changes,
        } = u;
        StoredSentUpdate {
            list_version: *version,
            full: *full,
            changes: changes
                .iter()
                .map(|(token, entry)| StoredChange {
                    id_token: token.clone(),
                    entry: entry.as_ref().map(Into::into),
                })
                .collect(),
        }
    }
}

impl TryFrom<StoredSentUpdate> for SentUpdate {
    type Error = DecodeError;

    fn try_from(u: StoredSentUpdate) -> Result<Self, DecodeError> {
        let changes = u
            .changes
            .into_iter()
            .map(|c| Ok((c.id_token, c.entry.map(ListEntry::try_from).transpose()?)))
            .collect::<Result<Vec<Change>, DecodeError>>()?;
        Ok(SentUpdate {
            version: u.list_version,
            full: u.full,
            changes,
        })
    }
}

impl From<&LocalListState> for StoredLocalList {
    fn from(s: &LocalListState) -> Self {
        let LocalListState {
            station_id,
            org_id,
            version,
            entries,
            in_flight,
            needs_full,
            supported,
            limit,
            per_message,
            outcome,
            updated_at,
            record_version,
        } = s;
        StoredLocalList {
            station_id: station_id.to_string(),
            org_id: org_id.to_string(),
            list_version: *version,
            entries: entries.iter().map(|(k, e)| (k.clone(), e.into())).collect(),
            in_flight: in_flight.iter().map(Into::into).collect(),
            needs_full: *needs_full,
            supported: *supported,
            limit: *limit,
            per_message: *per_message,
            outcome: outcome.as_ref().map(|o| StoredSyncOutcome {
                at: o.at,
                result: o.result.clone(),
                list_version: o.version,
            }),
            updated_at: *updated_at,
            version: *record_version,
        }
    }
}

impl TryFrom<StoredLocalList> for LocalListState {
    type Error = DecodeError;

    fn try_from(s: StoredLocalList) -> Result<Self, DecodeError> {
        let StoredLocalList {
            station_id,
            org_id,
            list_version,
            entries,
            in_flight,
            needs_full,
            supported,
            limit,
            per_message,
            outcome,
            updated_at,
            version,
        } = s;
        Ok(LocalListState {
            station_id: parse("station id", station_id, StationId::parse)?,
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            version: list_version,
            entries: entries
                .into_iter()
                .map(|(k, e)| Ok((k, e.try_into()?)))
                .collect::<Result<_, DecodeError>>()?,
            in_flight: in_flight
                .into_iter()
                .map(SentUpdate::try_from)
                .collect::<Result<_, _>>()?,
            needs_full,
            supported,
            limit,
            per_message,
            outcome: outcome.map(|o| SyncOutcome {
                at: o.at,
                result: o.result,
                version: o.list_version,
            }),
            updated_at,
            record_version: version,
        })
    }
}

impl Record for LocalListState {
    type Stored = StoredLocalList;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_json, to_json};
    use chrono::TimeZone;

    #[test]
    fn a_state_reads_back_and_unknown_values_do_not_decode() {
        let at = Utc.timestamp_opt(1_790_000_000, 0).unwrap();
        let entry = ListEntry {
            token_type: IdTokenType::KeyCode,
            status: ListStatus::Blocked,
            expires_at: Some(at),
        };
        let mut s = LocalListState::new(
            StationId::parse("CP1").unwrap(),
            OrgId::parse("org-a").unwrap(),
            at,
        );
        s.version = 4;
        s.entries.insert("A".into(), entry.clone());
        s.in_flight.push(SentUpdate {
            version: 5,
            full: false,
            changes: vec![("A".into(), None), ("B".into(), Some(entry))],
        });
        s.limit = Some(10);
        s.outcome = Some(SyncOutcome {
            at,
            result: "accepted".into(),
            version: 4,
        });
        s.record_version = 3;
        let json = to_json(&s).unwrap();
        assert_eq!(from_json::<LocalListState>(json.as_bytes()).unwrap(), s);
        let bad = json.replace("\"Blocked\"", "\"Maybe\"");
        assert!(from_json::<LocalListState>(bad.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("list status"));
    }
}
