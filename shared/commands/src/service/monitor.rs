//! Alarms about a station from its commands' outcomes.
//!
//! - **Commands time out** (`commandTimeouts`, warning): a command that
//!   times out reads the station's latest commands (one query; timeouts are
//!   rare) and raises the alarm when the last `commandTimeoutsInARow`
//!   (the organisation's setting, 2 to 10, default 3; read only once two
//!   in a row have timed out) that ended all timed out: the station is
//!   connected (or was when they were sent) but does not answer, which a
//!   reset or a look at its connection fixes. A further timeout counts on
//!   the open alarm. The next command the
//!   station answers (accepted or rejected) resolves it (a read of the
//!   alarm; commands are few).

use super::{CommandService, CommandsStore};
use csms_domain::alarm::{Alarm, InARow, Severity};
use csms_domain::command::{Command, CommandStatus};
use csms_domain::{StationId, Timestamp};
use csms_kernel::events::{raise_alarm, resolve_alarm};
use csms_kernel::ports::PageRequest;

/// Alarm kind of a station that leaves its commands unanswered.
pub const TIMEOUTS_KIND: &str = "commandTimeouts";

/// The station's command-timeout alarm: one per station.
pub fn timeouts_alarm_id(station: &StationId) -> String {
    format!("command-timeouts:{station}")
}

/// The newest ended commands of `latest` (newest first, as listed) that
/// timed out in a row; commands still pending are passed over, and a
/// station gone offline is not one that leaves calls unanswered (`Offline`
/// ends the row).
fn timed_out_in_a_row(latest: &[Command]) -> Vec<&Command> {
    latest
        .iter()
        .filter(|c| c.status.is_final())
        .take_while(|c| c.status == CommandStatus::Timeout)
        .collect()
}

/// The alarm when the newest ended commands of `latest` (newest first, as
/// listed) are `in_a_row` timeouts or more in a row.
pub fn timeouts_alarm(latest: &[Command], in_a_row: InARow, now: Timestamp) -> Option<Alarm> {
    let row = timed_out_in_a_row(latest);
    if row.len() < usize::from(in_a_row.count()) {
        return None;
    }
    let newest = row[0];
    let station = &newest.station_id;
    let commands: Vec<serde_json::Value> = row
        .iter()
        .map(|c| {
            serde_json::json!({
                "commandId": c.id.as_str(),
                "type": c.request.type_name(),
                "action": c.action,
                "sentAt": c.sent_at.map(rfc3339),
                "timeoutSeconds": c.timeout_s,
            })
        })
        .collect();
    Some(Alarm {
        title: Some(format!("Station {station} does not answer commands")),
        message: format!(
            "the last {} commands sent to station {station} got no answer within their timeout (the latest: {})",
            row.len(),
            newest.request.type_name()
        ),
        action: Some(
            "check the station's connection (signal, network) and its event log; a hard reset from the site or by a technician may be needed if it does not answer a soft reset either"
                .to_owned(),
        ),
        details: serde_json::json!({
            "stationId": station.as_str(),
            "timeoutsInARow": row.len(),
            "threshold": in_a_row.count(),
            "commands": commands,
        }),
        ..Alarm::opened(
            timeouts_alarm_id(station),
            newest.org_id.clone(),
            TIMEOUTS_KIND,
            Severity::Warning,
            now,
        )
    })
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl<S: CommandsStore + ?Sized> CommandService<S> {
    /// Raises or resolves the station's command-timeout alarm from the
    /// outcome of `done`. A store failure is logged: the outcome stands.
    pub(super) async fn watch_answers(&self, done: &Command, now: Timestamp) {
        let outcome = match done.status {
            CommandStatus::Timeout => self.raise_if_unanswered(done, now).await,
            CommandStatus::Accepted | CommandStatus::Rejected => {
                resolve_alarm(
                    &*self.store,
                    &*self.events,
                    &timeouts_alarm_id(&done.station_id),
                    now,
                )
                .await
                .map(|resolved| {
                    if resolved.is_some() {
                        tracing::info!(station = %done.station_id, "station answers commands again: alarm resolved");
                    }
                })
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            tracing::warn!(station = %done.station_id, error = %e, "could not update the command-timeout alarm");
        }
    }

    async fn raise_if_unanswered(
        &self,
        done: &Command,
        now: Timestamp,
    ) -> Result<(), csms_kernel::StoreError> {
        // Room for the longest row a setting asks for, and commands still
        // pending among them.
        let page = PageRequest {
            limit: u32::from(InARow::MAX) * 2,
            cursor: None,
        };
        let latest = self
            .store
            .list_station_commands(&done.station_id, &page)
            .await?;
        // The listing is an index (DynamoDB: eventually consistent): the
        // command just ended counts as it ended, listed or not yet.
        let mut latest: Vec<Command> = latest
            .items
            .into_iter()
            .filter(|c| c.id != done.id)
            .collect();
        let at = latest
            .iter()
            .position(|c| c.created_at <= done.created_at)
            .unwrap_or(latest.len());
        latest.insert(at, done.clone());
        // The organisation's threshold only when a row has begun: no
        // setting allows fewer than two.
        if timed_out_in_a_row(&latest).len() < usize::from(InARow::MIN) {
            return Ok(());
        }
        let in_a_row = self
            .store
            .get_alarm_settings(&done.org_id)
            .await?
            .map_or(InARow::COMMAND_TIMEOUTS, |s| s.command_timeouts);
        if let Some(alarm) = timeouts_alarm(&latest, in_a_row, now) {
            if raise_alarm(&*self.store, &*self.events, &alarm, now).await? {
                tracing::warn!(station = %done.station_id, "station does not answer commands: alarm raised");
            }
        }
        Ok(())
    }
}
