//! A station's OCPP local authorisation list, kept in sync with the token
//! registry and the station's access policy.
//!
//! # What the list holds
//! [`desired`]: the station organisation's tokens that are `Accepted` now
//! (with their expiry) or `Blocked` (so that the station refuses them while
//! offline too), admitted by the station's access policy: when the policy
//! is private for some user groups at any time of its schedule, only those
//! groups' tokens. Other organisations' tokens are never listed (a public
//! station asks the CSMS for them). Tokens not valid yet, expired or
//! invalid are left off. When more tokens qualify than the station's limit
//! (or [`MAX_ENTRIES`]), the most recently changed (or created) ones are
//! kept, ties by value.
//!
//! # How it is sent
//! A [`LocalListState`] per station records the version the station
//! confirmed, what it holds at that version, and the updates sent and not
//! answered yet. [`diff`] gives the changes from one list to another,
//! [`plan`] splits them into messages of at most the station's items per
//! message, each with the next version: a full update is a `Full` message
//! with the first part and `Differential` ones with the rest.

use crate::access::{AccessMode, AccessPolicy};
use crate::command::LocalListEntry;
use crate::token::{authorize_registered, AuthorizationStatus, IdTokenRecord, IdTokenType};
use crate::{OcppVersion, OrgId, StationId, Timestamp};
use std::collections::BTreeMap;

/// The most entries the CSMS keeps for one station, whatever the station
/// allows (the state record must stay well inside a DynamoDB item).
pub const MAX_ENTRIES: u32 = 1000;
/// The list size used while the station has not said its limit
/// (1.6 `LocalAuthListMaxLength`, 2.0.1 `LocalAuthListCtrlr.Entries`).
pub const DEFAULT_LIMIT: u32 = 100;
/// Entries per message while the station has not said
/// (1.6 `SendLocalListMaxLength`, 2.0.1 `LocalAuthListCtrlr.ItemsPerMessage`).
pub const DEFAULT_PER_MESSAGE: u32 = 20;

/// The status a listed token has on the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStatus {
    Accepted,
    Blocked,
}

impl ListStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ListStatus::Accepted => "Accepted",
            ListStatus::Blocked => "Blocked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ListStatus::Accepted, ListStatus::Blocked]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One token as the station holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub token_type: IdTokenType,
    pub status: ListStatus,
    pub expires_at: Option<Timestamp>,
}

/// Token value → entry.
pub type ListEntries = BTreeMap<String, ListEntry>;

/// A change: the token and its new entry (`None`: removed).
pub type Change = (String, Option<ListEntry>);

/// An update sent to the station and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentUpdate {
    pub version: i32,
    pub full: bool,
    pub changes: Vec<Change>,
}

/// How the last exchange about the list ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    pub at: Timestamp,
    /// `accepted`, `failed`, `versionMismatch`, `notSupported`, `error`
    /// (a CALLERROR), `timeout`, `offline` (never sent), or `versionChecked`.
    pub result: String,
    /// The version the message was about (sent, or reported by the station).
    pub version: i32,
}

/// The CSMS's record of one station's local list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalListState {
    pub station_id: StationId,
    pub org_id: OrgId,
    /// The version the station last confirmed (0: no list).
    pub version: i32,
    /// What the station holds at `version`.
    pub entries: ListEntries,
    /// Updates sent and not answered yet, oldest first.
    pub in_flight: Vec<SentUpdate>,
    /// The next update must replace the whole list: the station refused
    /// one, or what it holds is not known.
    pub needs_full: bool,
    /// `false` once the station said it has no local list (version -1,
    /// `NotSupported`): nothing is sent until a sync is asked for again.
    pub supported: bool,
    /// The station's list size limit, when it said it.
    pub limit: Option<u32>,
    /// The station's most entries per message, when it said it.
    pub per_message: Option<u32>,
    pub outcome: Option<SyncOutcome>,
    pub updated_at: Timestamp,
    /// For conditional writes: 1 when created, one more at each change.
    pub record_version: u64,
}

impl LocalListState {
    pub fn new(station_id: StationId, org_id: OrgId, now: Timestamp) -> Self {
        LocalListState {
            station_id,
            org_id,
            version: 0,
            entries: ListEntries::new(),
            in_flight: Vec::new(),
            needs_full: true,
            supported: true,
            limit: None,
            per_message: None,
            outcome: None,
            updated_at: now,
            record_version: 0,
        }
    }

    /// How many entries the station is given at most.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_ENTRIES)
    }

    pub fn effective_per_message(&self) -> u32 {
        self.per_message.unwrap_or(DEFAULT_PER_MESSAGE).max(1)
    }

    /// What the station will hold once the updates in flight are accepted.
    pub fn projected(&self) -> ListEntries {
        let mut entries = self.entries.clone();
        for u in &self.in_flight {
            apply(&mut entries, u.full, &u.changes);
        }
        entries
    }

    /// The version after the last one sent or confirmed; `None` at the end
    /// of the version range.
    pub fn next_version(&self) -> Option<i32> {
        self.in_flight
            .iter()
            .map(|u| u.version)
            .chain([self.version, 0])
            .max()
            .and_then(|v| v.checked_add(1))
    }

    /// The station accepted the update with `version`: what it holds now.
    /// `false` when no such update is in flight (answered before, or sent
    /// by someone else): nothing changes.
    pub fn accepted(&mut self, version: i32) -> bool {
        let Some(i) = self.in_flight.iter().position(|u| u.version == version) else {
            return false;
        };
        let done: Vec<SentUpdate> = self.in_flight.drain(..=i).collect();
        // Earlier ones were answered in order before this one, or lost:
        // applying them too is what a station that took this one holds
        // only if it took them; a lost one leaves the list unknown.
        if done.len() > 1 {
            self.needs_full = true;
        }
        for u in &done {
            apply(&mut self.entries, u.full, &u.changes);
        }
        self.version = version;
        true
    }

    /// The station refused an update or its answer was lost: what it holds
    /// is not known; the next update is full.
    pub fn refused(&mut self) {
        self.in_flight.clear();
        self.needs_full = true;
    }

    /// Whether the station holds what it should, as far as the CSMS knows.
    pub fn in_sync(&self, desired: &ListEntries) -> bool {
        self.supported && !self.needs_full && self.in_flight.is_empty() && &self.entries == desired
    }
}

/// Applies `changes` to `entries` (a full update replaces them).
pub fn apply(entries: &mut ListEntries, full: bool, changes: &[Change]) {
    if full {
        entries.clear();
    }
    for (token, entry) in changes {
        match entry {
            Some(e) => {
                entries.insert(token.clone(), e.clone());
            }
            None => {
                entries.remove(token);
            }
        }
    }
}

/// The user groups the list is limited to: those of the policy when it is
/// private at some time of its schedule and names groups; else none (every
/// token of the organisation).
fn limiting_groups(policy: &AccessPolicy) -> Option<&[String]> {
    let s = &policy.schedule;
    let private_sometimes = s.default_mode() == AccessMode::Private
        || s.rules().iter().any(|r| r.mode == AccessMode::Private)
        || s.exceptions().iter().any(|e| e.mode == AccessMode::Private);
    (private_sometimes && !policy.groups.is_empty()).then_some(policy.groups.as_slice())
}

/// The longest token value a station of `version` takes in its list
/// (1.6 `idTag` is 20 characters, 2.0.1 `idToken` 36).
pub fn max_token_len(version: OcppVersion) -> usize {
    match version {
        OcppVersion::V16 => 20,
        OcppVersion::V201 => 36,
    }
}

/// What the list of a station of `org` with `policy` (`None`: none stored,
/// private to the organisation) should hold, at most `cap` entries of
/// values at most `max_len` characters (longer ones cannot be sent to the
/// station: left off), `NoAuthorization` and `Central` tokens never; see the module
/// documentation.
pub fn desired<'a>(
    tokens: impl IntoIterator<Item = &'a IdTokenRecord>,
    org: &OrgId,
    policy: Option<&AccessPolicy>,
    cap: u32,
    max_len: usize,
    now: Timestamp,
) -> ListEntries {
    let groups = policy.and_then(limiting_groups);
    let mut picked: Vec<(Timestamp, &str, ListEntry)> = tokens
        .into_iter()
        .filter(|t| &t.org_id == org)
        .filter(|t| t.token_type != IdTokenType::NoAuthorization)
        // Central identities (a start link's one-off identity) are the
        // CSMS's to authorise when used; a station never holds them.
        .filter(|t| t.token_type != IdTokenType::Central)
        // An e-mail identity is a garage station's to start for without a
        // card; no charger presents it (and no OCPP type names it).
        .filter(|t| t.token_type != IdTokenType::EMail)
        .filter(|t| t.token.as_str().chars().count() <= max_len)
        .filter(|t| groups.is_none_or(|g| t.group.as_ref().is_some_and(|tg| g.contains(tg))))
        .filter_map(|t| {
            let auth = authorize_registered(Some(t), now);
            let (status, expires_at) = match auth.status {
                AuthorizationStatus::Accepted => (ListStatus::Accepted, auth.expires_at),
                AuthorizationStatus::Blocked => (ListStatus::Blocked, None),
                _ => return None,
            };
            let entry = ListEntry {
                token_type: t.token_type,
                status,
                expires_at,
            };
            Some((
                t.updated_at.unwrap_or(t.created_at),
                t.token.as_str(),
                entry,
            ))
        })
        .collect();
    picked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    picked
        .into_iter()
        .take(usize::try_from(cap).unwrap_or(usize::MAX))
        .map(|(_, token, entry)| (token.to_owned(), entry))
        .collect()
}

/// The changes that make `from` into `to`, by token value.
pub fn diff(from: &ListEntries, to: &ListEntries) -> Vec<Change> {
    let removed = from
        .keys()
        .filter(|k| !to.contains_key(*k))
        .map(|k| (k.clone(), None));
    let changed = to
        .iter()
        .filter(|(k, e)| from.get(*k) != Some(*e))
        .map(|(k, e)| (k.clone(), Some(e.clone())));
    let mut all: Vec<Change> = removed.chain(changed).collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// The messages that send `changes` (a full list when `full`), at most
/// `per_message` entries each, versions from `first_version` on. A full
/// update of an empty list is one message that clears it; no changes and
/// not full is no message. `None` when the versions would overflow.
pub fn plan(
    first_version: i32,
    full: bool,
    changes: Vec<Change>,
    per_message: u32,
) -> Option<Vec<SentUpdate>> {
    let size = usize::try_from(per_message.max(1)).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut version = first_version;
    let mut rest = changes.into_iter().peekable();
    if full {
        out.push(SentUpdate {
            version,
            full: true,
            changes: rest.by_ref().take(size).collect(),
        });
        version = version.checked_add(1)?;
    }
    while rest.peek().is_some() {
        out.push(SentUpdate {
            version,
            full: false,
            changes: rest.by_ref().take(size).collect(),
        });
        version = version.checked_add(1)?;
    }
    Some(out)
}

/// The command entries of an update.
pub fn wire_entries(changes: &[Change]) -> Vec<LocalListEntry> {
    changes
        .iter()
        .map(|(token, entry)| LocalListEntry {
            id_token: token.clone(),
            token_type: entry.as_ref().map(|e| e.token_type.as_str().to_owned()),
            status: entry.as_ref().map(|e| e.status.as_str().to_owned()),
            expires_at: entry.as_ref().and_then(|e| e.expires_at),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Schedule;
    use crate::token::TokenStatus;
    use crate::IdTokenValue;
    use chrono::{TimeZone, Utc};

    fn t(secs: i64) -> Timestamp {
        Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap()
    }

    fn org(s: &str) -> OrgId {
        OrgId::parse(s).unwrap()
    }

    fn token(v: &str, o: &str, status: TokenStatus, created: i64) -> IdTokenRecord {
        IdTokenRecord {
            token: IdTokenValue::parse(v).unwrap(),
            token_type: IdTokenType::ISO14443,
            status,
            valid_from: None,
            valid_to: None,
            org_id: org(o),
            group: None,
            parent_id: None,
            emaid: None,
            payment_hold: None,
            label: None,
            user_id: None,
            block: None,
            created_at: t(created),
            updated_at: None,
            version: 1,
        }
    }

    fn entry(status: ListStatus) -> ListEntry {
        ListEntry {
            token_type: IdTokenType::ISO14443,
            status,
            expires_at: None,
        }
    }

    #[test]
    fn the_list_holds_the_organisations_accepted_and_blocked_tokens() {
        let mut expiring = token("EXP", "a", TokenStatus::Accepted, 1);
        expiring.valid_to = Some(t(500));
        let mut expired = token("OLD", "a", TokenStatus::Accepted, 1);
        expired.valid_to = Some(t(50));
        let mut later = token("LATER", "a", TokenStatus::Accepted, 1);
        later.valid_from = Some(t(500));
        let mut central = token("SLONEOFF", "a", TokenStatus::Accepted, 1);
        central.token_type = IdTokenType::Central;
        let tokens = [
            token("A1", "a", TokenStatus::Accepted, 1),
            token("B1", "a", TokenStatus::Blocked, 1),
            token("I1", "a", TokenStatus::Invalid, 1),
            token("X1", "b", TokenStatus::Accepted, 1),
            expiring,
            expired,
            later,
            central,
        ];
        let list = desired(&tokens, &org("a"), None, 100, 20, t(100));
        assert_eq!(
            list.keys().map(String::as_str).collect::<Vec<_>>(),
            ["A1", "B1", "EXP"]
        );
        assert_eq!(list["B1"].status, ListStatus::Blocked);
        assert_eq!(list["EXP"].expires_at, Some(t(500)));
    }

    #[test]
    fn values_a_station_cannot_take_are_left_off() {
        let long = "L".repeat(21);
        let mut none = token("NOAUTH", "a", TokenStatus::Accepted, 1);
        none.token_type = IdTokenType::NoAuthorization;
        let tokens = [token(&long, "a", TokenStatus::Accepted, 1), none];
        let max16 = max_token_len(OcppVersion::V16);
        assert!(desired(&tokens, &org("a"), None, 100, max16, t(0)).is_empty());
        let max201 = max_token_len(OcppVersion::V201);
        let list = desired(&tokens, &org("a"), None, 100, max201, t(0));
        assert_eq!(list.keys().collect::<Vec<_>>(), [&long]);
    }

    #[test]
    fn a_private_policy_for_groups_limits_the_list_to_them() {
        let mut staff = token("S1", "a", TokenStatus::Accepted, 1);
        staff.group = Some("staff".into());
        let tokens = [staff, token("N1", "a", TokenStatus::Accepted, 1)];
        let private = AccessPolicy {
            schedule: Schedule::always(AccessMode::Private),
            groups: vec!["staff".into()],
        };
        let list = desired(&tokens, &org("a"), Some(&private), 100, 20, t(0));
        assert_eq!(list.keys().collect::<Vec<_>>(), ["S1"]);
        // Public all the time: the groups do not limit anything.
        let public = AccessPolicy {
            schedule: Schedule::always(AccessMode::Public),
            groups: vec!["staff".into()],
        };
        assert_eq!(
            desired(&tokens, &org("a"), Some(&public), 100, 20, t(0)).len(),
            2
        );
    }

    #[test]
    fn over_the_limit_the_most_recently_changed_stay() {
        let mut changed = token("A", "a", TokenStatus::Accepted, 1);
        changed.updated_at = Some(t(90));
        let tokens = [
            changed,
            token("B", "a", TokenStatus::Accepted, 10),
            token("C", "a", TokenStatus::Accepted, 20),
            token("D", "a", TokenStatus::Accepted, 20),
        ];
        let list = desired(&tokens, &org("a"), None, 3, 20, t(100));
        assert_eq!(list.keys().collect::<Vec<_>>(), ["A", "C", "D"]);
        assert!(desired(&tokens, &org("a"), None, 0, 20, t(100)).is_empty());
    }

    #[test]
    fn diff_removes_adds_and_changes() {
        let from: ListEntries = [
            ("A".to_owned(), entry(ListStatus::Accepted)),
            ("B".to_owned(), entry(ListStatus::Accepted)),
            ("C".to_owned(), entry(ListStatus::Accepted)),
        ]
        .into();
        let to: ListEntries = [
            ("B".to_owned(), entry(ListStatus::Blocked)),
            ("C".to_owned(), entry(ListStatus::Accepted)),
            ("D".to_owned(), entry(ListStatus::Accepted)),
        ]
        .into();
        let changes = diff(&from, &to);
        assert_eq!(
            changes,
            vec![
                ("A".to_owned(), None),
                ("B".to_owned(), Some(entry(ListStatus::Blocked))),
                ("D".to_owned(), Some(entry(ListStatus::Accepted))),
            ]
        );
        let mut applied = from.clone();
        apply(&mut applied, false, &changes);
        assert_eq!(applied, to);
        assert!(diff(&to, &to).is_empty());
    }

    #[test]
    fn plan_splits_by_items_per_message() {
        let changes: Vec<Change> = (0..5)
            .map(|i| (format!("T{i}"), Some(entry(ListStatus::Accepted))))
            .collect();
        let full = plan(7, true, changes.clone(), 2).unwrap();
        assert_eq!(
            full.iter()
                .map(|u| (u.version, u.full, u.changes.len()))
                .collect::<Vec<_>>(),
            [(7, true, 2), (8, false, 2), (9, false, 1)]
        );
        let diffs = plan(3, false, changes, 5).unwrap();
        assert_eq!(diffs.len(), 1);
        assert!(!diffs[0].full);
        // Clearing: one full message without entries; nothing to say: none.
        let clear = plan(1, true, Vec::new(), 5).unwrap();
        assert_eq!((clear.len(), clear[0].changes.len()), (1, 0));
        assert!(plan(1, false, Vec::new(), 5).unwrap().is_empty());
        let one = vec![("A".to_owned(), None)];
        assert!(plan(i32::MAX, false, one.clone(), 5).is_none());
        assert!(plan(i32::MAX - 1, false, one, 5).is_some());
    }

    #[test]
    fn answers_move_the_confirmed_list() {
        let station = StationId::parse("CP1").unwrap();
        let mut s = LocalListState::new(station, org("a"), t(0));
        assert_eq!(s.next_version(), Some(1));
        let a = ("A".to_owned(), Some(entry(ListStatus::Accepted)));
        let b = ("B".to_owned(), Some(entry(ListStatus::Accepted)));
        s.in_flight = plan(1, true, vec![a.clone(), b], 1).unwrap();
        s.needs_full = false;
        assert_eq!(s.next_version(), Some(3));
        assert_eq!(s.projected().len(), 2);
        assert!(s.accepted(1));
        assert_eq!((s.version, s.entries.len(), s.in_flight.len()), (1, 1, 1));
        assert!(!s.accepted(1), "answered already");
        assert!(s.accepted(2));
        assert_eq!((s.version, s.entries.len()), (2, 2));
        assert!(s.in_sync(&s.entries.clone()));
        s.in_flight = plan(3, false, vec![("A".to_owned(), None)], 5).unwrap();
        s.refused();
        assert!(s.needs_full && s.in_flight.is_empty());
        assert_eq!(s.entries.len(), 2, "the confirmed list stays");
    }

    #[test]
    fn wire_entries_carry_status_and_removals() {
        let mut e = entry(ListStatus::Accepted);
        e.expires_at = Some(t(5));
        let w = wire_entries(&[("A".into(), Some(e)), ("B".into(), None)]);
        assert_eq!(w[0].status.as_deref(), Some("Accepted"));
        assert_eq!(w[0].token_type.as_deref(), Some("ISO14443"));
        assert_eq!(w[0].expires_at, Some(t(5)));
        assert_eq!(
            (w[1].status.as_ref(), w[1].token_type.as_ref()),
            (None, None)
        );
    }
}
