//! Keeping stations' local authorisation lists in sync (see
//! `csms_domain::local_list` for what a list holds).
//!
//! A station's list is kept once a sync was asked for
//! ([`CommandService::request_local_list_sync`], the API's
//! `POST /stations/{id}/local-list/sync`): that creates its
//! [`LocalListState`]. From then on:
//! - at each boot, and at the sync request, the station is asked for its
//!   list limits (1.6 GetConfiguration `LocalAuthListMaxLength`,
//!   `SendLocalListMaxLength`; 2.0.1 GetVariables
//!   `LocalAuthListCtrlr.ItemsPerMessage`, the size limit being the
//!   `maxLimit` of `LocalAuthListCtrlr.Entries` in its device model) and
//!   then for its list version (GetLocalListVersion);
//! - the version answer decides: another version than the one the station
//!   confirmed last (or a refused update before) is a full update, else the
//!   changes since, as differential updates;
//! - a token change ([`CommandService::local_lists_changed`]) and an access
//!   policy change ([`CommandService::sync_local_list`]) send the changes as
//!   differential updates to the connected stations concerned;
//! - `Accepted` moves the confirmed list; `Failed` / `VersionMismatch`, a
//!   CALLERROR or a lost answer make the next update full (at once, unless
//!   the refused one was full already: then at the next trigger), and
//!   `NotSupported` (or version -1) stops the sync until it is asked for
//!   again.
//!
//! Everything goes through the station's command queue like any command,
//! so nothing here waits for a station; the state is written (versioned)
//! before the updates it records are queued.

use super::{CommandError, CommandService, CommandsStore, SubmitOptions};
use csms_domain::actor::Actor;
use csms_domain::command::{Command, CommandRequest, CommandStatus, ConfigRef};
use csms_domain::local_list::{self, LocalListState, SyncOutcome};
use csms_domain::station::Connection;
use csms_domain::token::IdTokenRecord;
use csms_domain::{OcppVersion, OrgId, StationId};
use csms_kernel::ports::{PageRequest, StoreError};
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

/// The most tokens read for one organisation's lists; beyond, the rest is
/// left off (logged).
const MAX_TOKENS_READ: usize = 20_000;
/// The most stations one token change updates at once; the others catch
/// up at their next boot or sync request (logged).
const MAX_FANOUT: usize = 500;
/// Attempts of a versioned write of a state before giving up.
const WRITE_ATTEMPTS: usize = 8;

const CTRLR: &str = "LocalAuthListCtrlr";

/// The configuration keys that say a station's list limits.
fn limit_keys(version: OcppVersion) -> Vec<ConfigRef> {
    let key = |component: Option<&str>, variable: &str| ConfigRef {
        component: component.map(str::to_owned),
        component_instance: None,
        evse_id: None,
        variable: variable.to_owned(),
        variable_instance: None,
    };
    match version {
        OcppVersion::V16 => vec![
            key(None, "LocalAuthListMaxLength"),
            key(None, "SendLocalListMaxLength"),
        ],
        OcppVersion::V201 => vec![key(Some(CTRLR), "ItemsPerMessage")],
    }
}

/// A positive count as a station wrote it.
fn count(v: &Value) -> Option<u32> {
    v.as_str()?.trim().parse::<u32>().ok().filter(|n| *n > 0)
}

/// The list size limit and entries per message a configuration answer
/// says, where it says them.
pub(crate) fn limits_in_answer(
    version: OcppVersion,
    response: &Value,
) -> (Option<u32>, Option<u32>) {
    let (mut limit, mut per_message) = (None, None);
    match version {
        OcppVersion::V16 => {
            for k in response["configurationKey"]
                .as_array()
                .into_iter()
                .flatten()
            {
                match k["key"].as_str() {
                    Some("LocalAuthListMaxLength") => limit = count(&k["value"]),
                    Some("SendLocalListMaxLength") => per_message = count(&k["value"]),
                    _ => {}
                }
            }
        }
        OcppVersion::V201 => {
            for r in response["getVariableResult"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let ours = r["component"]["name"].as_str() == Some(CTRLR)
                    && r["attributeStatus"].as_str() == Some("Accepted");
                if ours && r["variable"]["name"].as_str() == Some("ItemsPerMessage") {
                    per_message = count(&r["attributeValue"]);
                }
            }
        }
    }
    (limit, per_message)
}

/// The list version a GetLocalListVersion answer reports.
pub(crate) fn reported_version(version: OcppVersion, response: &Value) -> Option<i32> {
    let field = match version {
        OcppVersion::V16 => "listVersion",
        OcppVersion::V201 => "versionNumber",
    };
    i32::try_from(response[field].as_i64()?).ok()
}

/// A SendLocalList answer's status, as the outcome names it.
fn send_outcome(response: Option<&Value>) -> &'static str {
    match response.and_then(|r| r["status"].as_str()) {
        Some("Accepted") => "accepted",
        Some("VersionMismatch") => "versionMismatch",
        Some("NotSupported") => "notSupported",
        Some("Failed") => "failed",
        _ => "error",
    }
}

/// A station's list as [`CommandService::local_list_report`] sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalListReport {
    pub state: Option<LocalListState>,
    /// Entries the list should hold now.
    pub desired: usize,
    pub in_sync: bool,
}

impl<S: CommandsStore + ?Sized> CommandService<S> {
    /// Reads, changes and writes a station's state under its version,
    /// again from a fresh read when another writer got there first.
    /// `change` returns false to leave it as it is. `None`: the station
    /// has no state.
    async fn change_local_list(
        &self,
        station: &StationId,
        mut change: impl FnMut(&mut LocalListState) -> bool,
    ) -> Result<Option<LocalListState>, CommandError> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(mut state) = self.store.get_local_list(station).await? else {
                return Ok(None);
            };
            let expected = state.record_version;
            if !change(&mut state) {
                return Ok(Some(state));
            }
            state.record_version = expected + 1;
            state.updated_at = self.clock.now();
            match self.store.put_local_list(&state, expected).await {
                Ok(()) => return Ok(Some(state)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(format!("local list of {station} kept changing")).into())
    }

    /// Starts (or restarts) keeping `station_id`'s list: the next update
    /// is full, and a connected station is asked for its limits and
    /// version now. A station of another organisation is `NotFound`.
    pub async fn request_local_list_sync(
        &self,
        actor: &Actor,
        station_id: &StationId,
    ) -> Result<LocalListState, CommandError> {
        let view = self
            .store
            .get_station_view(station_id)
            .await?
            .filter(|v| actor.owns(&v.station.org_id))
            .ok_or_else(|| {
                CommandError::NotFound(format!("station {:?} not found", station_id.as_str()))
            })?;
        if view.station.is_decommissioned() {
            return Err(CommandError::Conflict(format!(
                "station {station_id} is decommissioned: put it back in service first"
            )));
        }
        let org = view.station.org_id.clone();
        let now = self.clock.now();
        let state = match self
            .change_local_list(station_id, |s| {
                s.org_id = org.clone();
                s.needs_full = true;
                s.supported = true;
                true
            })
            .await?
        {
            Some(s) => s,
            None => {
                let mut fresh = LocalListState::new(station_id.clone(), org.clone(), now);
                fresh.record_version = 1;
                match self.store.put_local_list(&fresh, 0).await {
                    Ok(()) => fresh,
                    // Created meanwhile: mark that one.
                    Err(StoreError::Conflict(_)) => self
                        .change_local_list(station_id, |s| {
                            s.needs_full = true;
                            s.supported = true;
                            true
                        })
                        .await?
                        .ok_or_else(|| {
                            StoreError::Conflict(format!("local list of {station_id} vanished"))
                        })?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        // A station not accepted yet is asked at its accepted boot.
        let accepted = view.station.approval == csms_domain::station::Approval::Accepted;
        if let Some(conn) = view.connection.filter(|c| accepted && c.is_live(now)) {
            self.ask_local_list_version(&conn).await?;
        }
        Ok(state)
    }

    /// Queues the limits read and the version question.
    async fn ask_local_list_version(&self, conn: &Connection) -> Result<(), CommandError> {
        let actor = Actor::system(conn.org_id.clone());
        let keys = limit_keys(conn.ocpp_version);
        self.submit(
            &actor,
            &conn.station_id,
            CommandRequest::GetConfiguration { keys },
            SubmitOptions::default(),
        )
        .await?;
        self.submit(
            &actor,
            &conn.station_id,
            CommandRequest::GetLocalListVersion,
            SubmitOptions::default(),
        )
        .await?;
        Ok(())
    }

    /// At boot: a station whose list is kept is asked for its limits and
    /// version (the answer decides what is sent).
    pub(crate) async fn local_list_booted(&self, conn: &Connection) -> Result<(), CommandError> {
        let Some(state) = self.store.get_local_list(&conn.station_id).await? else {
            return Ok(());
        };
        if !state.supported {
            return Ok(());
        }
        // Updates in flight went down with the old connection.
        if !state.in_flight.is_empty() {
            self.change_local_list(&conn.station_id, |s| {
                let lost = !s.in_flight.is_empty();
                if lost {
                    s.refused();
                }
                lost
            })
            .await?;
        }
        self.ask_local_list_version(conn).await
    }

    /// All tokens of `org` (up to [`MAX_TOKENS_READ`]).
    async fn org_tokens(&self, org: &OrgId) -> Result<Vec<IdTokenRecord>, CommandError> {
        let mut all = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let got = self.store.list_id_tokens(org, &page).await?;
            all.extend(got.items);
            if all.len() >= MAX_TOKENS_READ {
                tracing::warn!(org = %org, "more tokens than a local list reads; the rest is left off");
                all.truncate(MAX_TOKENS_READ);
                return Ok(all);
            }
            match got.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// The size limit a 2.0.1 station's device model gives
    /// (`LocalAuthListCtrlr.Entries` `maxLimit`).
    async fn model_limit(&self, station: &StationId) -> Result<Option<u32>, CommandError> {
        let Some(model) = self.store.get_device_model(station).await? else {
            return Ok(None);
        };
        Ok(model
            .variables
            .iter()
            .find(|v| v.component.name.as_str() == CTRLR && v.variable.name.as_str() == "Entries")
            .and_then(|v| v.characteristics.as_ref()?.max_limit)
            .and_then(|d| d.trunc().to_u32())
            .filter(|n| *n > 0))
    }

    /// Brings one station's list up to date: differential updates of what
    /// changed, or a full update when `full` or when the state needs one.
    /// Nothing for a station that is not connected, not accepted, or whose
    /// list is not kept. `tokens`: the organisation's, when the caller has
    /// them already.
    pub async fn sync_local_list(
        &self,
        station_id: &StationId,
        full: bool,
    ) -> Result<(), CommandError> {
        self.sync_local_list_with(station_id, full, None).await
    }

    async fn sync_local_list_with(
        &self,
        station_id: &StationId,
        full: bool,
        tokens: Option<&[IdTokenRecord]>,
    ) -> Result<(), CommandError> {
        let now = self.clock.now();
        let Some(view) = self.store.get_station_view(station_id).await? else {
            return Ok(());
        };
        let Some(conn) = view.connection.filter(|c| c.is_live(now)) else {
            return Ok(());
        };
        if view.station.approval != csms_domain::station::Approval::Accepted
            || view.station.is_decommissioned()
        {
            return Ok(());
        }
        let org = view.station.org_id.clone();
        let Some(first) = self.store.get_local_list(station_id).await? else {
            return Ok(());
        };
        if !first.supported {
            return Ok(());
        }
        let read;
        let tokens = match tokens {
            Some(t) => t,
            None => {
                read = self.org_tokens(&org).await?;
                &read
            }
        };
        let policy = self.store.get_station_access(station_id).await?;
        let model_limit = match conn.ocpp_version {
            OcppVersion::V201 => self.model_limit(station_id).await?,
            OcppVersion::V16 => None,
        };
        let mut planned = Vec::new();
        let mut overflow = false;
        let written = self
            .change_local_list(station_id, |s| {
                planned.clear();
                if s.org_id != org {
                    // The station moved: the old organisation's list goes.
                    *s = LocalListState {
                        record_version: s.record_version,
                        ..LocalListState::new(station_id.clone(), org.clone(), now)
                    };
                }
                if !s.supported {
                    return false;
                }
                // A 2.0.1 station's model says its limit as it is now.
                if model_limit.is_some() {
                    s.limit = model_limit;
                }
                let desired = local_list::desired(
                    tokens,
                    &org,
                    policy.as_ref().map(|a| &a.policy),
                    s.effective_limit(),
                    local_list::max_token_len(conn.ocpp_version),
                    now,
                );
                let whole = full || s.needs_full;
                let changes = if whole {
                    desired.into_iter().map(|(k, e)| (k, Some(e))).collect()
                } else {
                    local_list::diff(&s.projected(), &desired)
                };
                let Some(first_version) = s.next_version() else {
                    overflow = true;
                    return false;
                };
                let Some(updates) =
                    local_list::plan(first_version, whole, changes, s.effective_per_message())
                else {
                    overflow = true;
                    return false;
                };
                if updates.is_empty() {
                    return false;
                }
                if whole {
                    s.in_flight.clear();
                }
                s.needs_full = false;
                s.in_flight.extend(updates.iter().cloned());
                planned = updates;
                true
            })
            .await?;
        if overflow {
            tracing::error!(station = %station_id, "local list version range exhausted; clear the station's list by hand");
            return Ok(());
        }
        if written.is_none() || planned.is_empty() {
            return Ok(());
        }
        let actor = Actor::system(org);
        for update in &planned {
            let request = CommandRequest::SendLocalList {
                version: update.version,
                full: update.full,
                entries: local_list::wire_entries(&update.changes),
            };
            let cmd = self
                .submit(&actor, station_id, request, SubmitOptions::default())
                .await;
            let gone = match &cmd {
                Ok(c) => c.status.is_final() && c.status != CommandStatus::Accepted,
                Err(_) => true,
            };
            if gone {
                // Not sent: what the station holds is not known any more.
                self.change_local_list(station_id, |s| {
                    s.refused();
                    true
                })
                .await?;
                cmd?;
                return Ok(());
            }
        }
        tracing::info!(station = %station_id, updates = planned.len(), full = planned[0].full, "local list updates queued");
        Ok(())
    }

    /// What `actor` may see of a station's list: its state (`None`: not
    /// kept), how many entries it should hold now, and whether it holds
    /// them as far as the CSMS knows. Another organisation's station is
    /// `NotFound`.
    pub async fn local_list_report(
        &self,
        actor: &Actor,
        station_id: &StationId,
    ) -> Result<LocalListReport, CommandError> {
        let station = self
            .store
            .get_station(station_id)
            .await?
            .filter(|s| actor.owns(&s.org_id))
            .ok_or_else(|| {
                CommandError::NotFound(format!("station {:?} not found", station_id.as_str()))
            })?;
        let Some(state) = self.store.get_local_list(station_id).await? else {
            return Ok(LocalListReport {
                state: None,
                desired: 0,
                in_sync: false,
            });
        };
        let tokens = self.org_tokens(&station.org_id).await?;
        let policy = self.store.get_station_access(station_id).await?;
        // The version the station last spoke (2.0.1 takes longer values).
        let max_len = local_list::max_token_len(station.ocpp_version.unwrap_or(OcppVersion::V16));
        let desired = local_list::desired(
            &tokens,
            &station.org_id,
            policy.as_ref().map(|a| &a.policy),
            state.effective_limit(),
            max_len,
            self.clock.now(),
        );
        Ok(LocalListReport {
            desired: desired.len(),
            in_sync: state.org_id == station.org_id && state.in_sync(&desired),
            state: Some(state),
        })
    }

    /// The organisation's tokens changed: every connected station of it
    /// whose list is kept gets the changes (up to [`MAX_FANOUT`] stations).
    /// A station that fails is logged; the others go on.
    pub async fn local_lists_changed(&self, org: &OrgId) -> Result<(), CommandError> {
        let mut stations = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let got = self.store.list_local_lists(org, &page).await?;
            stations.extend(
                got.items
                    .into_iter()
                    .filter(|s| s.supported)
                    .map(|s| s.station_id),
            );
            match got.next_cursor {
                Some(c) if stations.len() < MAX_FANOUT => page.cursor = Some(c),
                Some(_) => {
                    tracing::warn!(org = %org, "more stations with a local list than one change updates; the rest catch up at their next boot");
                    break;
                }
                None => break,
            }
        }
        stations.truncate(MAX_FANOUT);
        if stations.is_empty() {
            return Ok(());
        }
        let tokens = self.org_tokens(org).await?;
        for station in &stations {
            if let Err(e) = self
                .sync_local_list_with(station, false, Some(&tokens))
                .await
            {
                tracing::warn!(station = %station, error = %e, "could not update the local list");
            }
        }
        Ok(())
    }

    /// An update that got no answer (timeout) or was never sent (the
    /// station went offline): what the station holds is not known, the
    /// next update is full. Only the state is written: the next boot,
    /// change or sync request sends it.
    pub(crate) async fn local_list_lost(&self, cmd: &Command) -> Result<(), CommandError> {
        let CommandRequest::SendLocalList { version, .. } = &cmd.request else {
            return Ok(());
        };
        let now = self.clock.now();
        let result = match cmd.status {
            CommandStatus::Offline => "offline",
            _ => "timeout",
        };
        self.change_local_list(&cmd.station_id, |s| {
            if !s.in_flight.iter().any(|u| u.version == *version) {
                return false;
            }
            s.refused();
            s.outcome = Some(SyncOutcome {
                at: now,
                result: result.into(),
                version: *version,
            });
            true
        })
        .await?;
        Ok(())
    }

    /// A station answered a command: what it means for its list, if the
    /// command was about it. `response`: the CALLRESULT's payload (`None`
    /// for a CALLERROR).
    pub(crate) async fn local_list_answer(
        &self,
        conn: &Connection,
        request: &CommandRequest,
        status: CommandStatus,
        response: Option<&Value>,
    ) -> Result<(), CommandError> {
        let now = self.clock.now();
        let station = &conn.station_id;
        match request {
            CommandRequest::GetConfiguration { keys } if !keys.is_empty() => {
                let Some(response) = response.filter(|_| status == CommandStatus::Accepted) else {
                    return Ok(());
                };
                let (limit, per_message) = limits_in_answer(conn.ocpp_version, response);
                if limit.is_none() && per_message.is_none() {
                    return Ok(());
                }
                self.change_local_list(station, |s| {
                    let before = (s.limit, s.per_message);
                    s.limit = limit.or(s.limit);
                    s.per_message = per_message.or(s.per_message);
                    before != (s.limit, s.per_message)
                })
                .await?;
                Ok(())
            }
            CommandRequest::GetLocalListVersion => {
                let reported = response
                    .filter(|_| status == CommandStatus::Accepted)
                    .and_then(|r| reported_version(conn.ocpp_version, r));
                let Some(state) = self
                    .change_local_list(station, |s| {
                        match reported {
                            // 1.6: no local list on this station.
                            Some(v) if v < 0 => s.supported = false,
                            // Another version than the one confirmed: Full.
                            Some(v) if v != s.version => s.refused(),
                            Some(_) => {}
                            // A CALLERROR (NotImplemented): no list either.
                            None if response.is_none() => s.supported = false,
                            None => {}
                        }
                        let result = match reported {
                            _ if !s.supported => "notSupported",
                            Some(_) => "versionChecked",
                            None => "error",
                        };
                        s.outcome = Some(SyncOutcome {
                            at: now,
                            result: result.into(),
                            version: reported.unwrap_or(-1),
                        });
                        true
                    })
                    .await?
                else {
                    return Ok(());
                };
                if state.supported && reported.is_some() {
                    self.sync_local_list(station, false).await?;
                }
                Ok(())
            }
            CommandRequest::SendLocalList { version, full, .. } => {
                let result = if response.is_some() {
                    send_outcome(response)
                } else {
                    "error"
                };
                let accepted = status == CommandStatus::Accepted;
                let Some(state) = self
                    .change_local_list(station, |s| {
                        if accepted {
                            s.accepted(*version);
                        } else {
                            s.refused();
                            if result == "notSupported" {
                                s.supported = false;
                            }
                        }
                        s.outcome = Some(SyncOutcome {
                            at: now,
                            result: result.into(),
                            version: *version,
                        });
                        true
                    })
                    .await?
                else {
                    return Ok(());
                };
                // One full retry after a refused differential update; a
                // refused full one waits for the next trigger.
                if !accepted && !*full && state.supported {
                    self.sync_local_list(station, true).await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_are_read_from_both_versions_answers() {
        let v16 = json!({"configurationKey": [
            {"key": "LocalAuthListMaxLength", "readonly": true, "value": "3"},
            {"key": "SendLocalListMaxLength", "readonly": true, "value": " 2 "},
            {"key": "Other", "readonly": true, "value": "9"},
        ]});
        assert_eq!(limits_in_answer(OcppVersion::V16, &v16), (Some(3), Some(2)));
        let silly = json!({"configurationKey": [
            {"key": "LocalAuthListMaxLength", "value": "-3"},
            {"key": "SendLocalListMaxLength", "value": "0"},
        ]});
        assert_eq!(limits_in_answer(OcppVersion::V16, &silly), (None, None));
        assert_eq!(
            limits_in_answer(OcppVersion::V16, &json!({"configurationKey": "x"})),
            (None, None)
        );
        let v201 = json!({"getVariableResult": [
            {"attributeStatus": "Accepted", "component": {"name": "LocalAuthListCtrlr"},
             "variable": {"name": "ItemsPerMessage"}, "attributeValue": "5"},
        ]});
        assert_eq!(limits_in_answer(OcppVersion::V201, &v201), (None, Some(5)));
        let refused = json!({"getVariableResult": [
            {"attributeStatus": "UnknownVariable", "component": {"name": "LocalAuthListCtrlr"},
             "variable": {"name": "ItemsPerMessage"}, "attributeValue": "5"},
        ]});
        assert_eq!(limits_in_answer(OcppVersion::V201, &refused), (None, None));
    }

    #[test]
    fn versions_are_read_in_range() {
        assert_eq!(
            reported_version(OcppVersion::V16, &json!({"listVersion": -1})),
            Some(-1)
        );
        assert_eq!(
            reported_version(OcppVersion::V201, &json!({"versionNumber": 7})),
            Some(7)
        );
        assert_eq!(
            reported_version(
                OcppVersion::V201,
                &json!({"versionNumber": 4_294_967_296_i64})
            ),
            None
        );
        assert_eq!(
            reported_version(OcppVersion::V16, &json!({"versionNumber": 7})),
            None
        );
    }
}
