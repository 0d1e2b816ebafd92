//! The `session-sweep` function: EventBridge Scheduler invokes it (every
//! `SessionSweepMinutes`, see `template.yaml`); each invocation closes the
//! open sessions that heard nothing for `CSMS_SESSION_IDLE_SECONDS` (reason
//! `noMessages`) through [`ChargerService::close_idle_sessions`], which
//! announces and queues them for pricing like any other ended session. The
//! schedule's payload carries nothing.
//!
//! Idempotent: a session closed by one run is no longer open for the next,
//! and a run that fails half-way is finished by the next one.

use crate::config::ConfigError;
use chrono::TimeDelta;
use csms_core::charger::{ChargerService, HandlerError, IDLE_SWEEP_LOOKBACK};
use csms_core::ports::Store;
use csms_domain::{OrgId, Timestamp};
use serde_json::{json, Value};

/// The default idle time: a day. Chargers send meter values every few
/// minutes while charging, but a full car may be left plugged in overnight.
pub const DEFAULT_IDLE_SECONDS: i64 = 86_400;
/// At most 90 days, at least one second.
const IDLE_SECONDS: std::ops::RangeInclusive<i64> = 1..=90 * 86_400;

/// What the sweep closes: open sessions quiet for `idle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    pub idle: TimeDelta,
}

impl SweepSettings {
    /// From `CSMS_SESSION_IDLE_SECONDS` (whole seconds, 1 to 7776000;
    /// default a day), as `csms-local` reads it.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        const VAR: &str = "CSMS_SESSION_IDLE_SECONDS";
        let seconds = match get(VAR) {
            None => DEFAULT_IDLE_SECONDS,
            Some(s) => s
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| IDLE_SECONDS.contains(n))
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        VAR,
                        format!(
                            "{s:?} is not whole seconds from {} to {}",
                            IDLE_SECONDS.start(),
                            IDLE_SECONDS.end()
                        ),
                    )
                })?,
        };
        Ok(SweepSettings {
            idle: TimeDelta::seconds(seconds),
        })
    }
}

/// One scheduled run at `now`: how many sessions it closed. A store error
/// fails the invocation (it shows in the function's error metric); the next
/// run tries again.
pub async fn handle_sweep(
    charger: &ChargerService<dyn Store>,
    settings: SweepSettings,
    now: Timestamp,
) -> Result<Value, HandlerError> {
    // One organisation until tenancy lands: every session is in it.
    let org = OrgId::default_org();
    let closed = charger
        .close_idle_sessions(&org, settings.idle, IDLE_SWEEP_LOOKBACK, now)
        .await?;
    tracing::info!(closed, "idle-session sweep done");
    Ok(json!({"closed": closed}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: Option<&str>) -> Result<SweepSettings, ConfigError> {
        SweepSettings::from_lookup(|_| v.map(str::to_owned))
    }

    #[test]
    fn idle_time_defaults_to_a_day_and_is_checked() {
        assert_eq!(read(None).unwrap().idle, TimeDelta::days(1));
        assert_eq!(read(Some("3600")).unwrap().idle, TimeDelta::hours(1));
        for bad in ["0", "-5", "1.5", "a day", "7776001", ""] {
            let e = read(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("CSMS_SESSION_IDLE_SECONDS"), "{bad}: {e}");
        }
    }
}
