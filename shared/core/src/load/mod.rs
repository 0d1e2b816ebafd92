//! Load balancing at run time: the site's configuration and the engine
//! (`csms-energy`) on one side, the chargers on the other.
//!
//! Charger events that change who needs how much — a session starting or
//! ending, a status change, meter values with currents, a station
//! connecting or disconnecting — become [`LoadSignal`]s. A signal is handed
//! to a [`LoadTrigger`]: an in-process debounced worker locally, an SQS FIFO
//! queue (one message group per site) and the `load-balancer` function in
//! AWS. Whoever consumes signals calls [`LoadService::absorb`], which keeps
//! the measurements in the site's state and recomputes once per burst.
//!
//! # Layout
//! - this file: signals, the trigger port, the event-sink decorator that
//!   turns connection events into signals.
//! - [`model`]: configuration → engine site (validation, ampere rounding,
//!   EVSE ids).
//! - [`plan`]: price-optimised plans for sessions with an energy need and
//!   a departure, from the spot prices ahead.
//! - [`service`]: configuration use cases, and the recomputation's I/O:
//!   gather what the site needs into a snapshot, send what was decided.
//! - [`decide`]: the recomputation's decision, pure — snapshot in, limits
//!   to send and state to keep out — and the fuse checks between sends.

pub mod decide;
pub mod model;
pub mod plan;
pub mod service;

pub use service::{LoadError, LoadService};

use crate::webhooks::{Event, EventSink};
use async_trait::async_trait;
use csms_domain::load::ChargingNeed;
use csms_domain::meter::MeterReading;
use csms_domain::webhook::EventType;
use csms_domain::{OrgId, SiteId, StationId, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What happened that may change the allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignalKind {
    Session,
    Status,
    Meter,
    Connection,
    /// The configuration changed, or an operator asked.
    Config,
    /// The periodic recomputation.
    Periodic,
    /// A car or a driver said how much it needs and by when.
    Need,
    /// A charger answered a limit late or not at all: a raise held back
    /// for it may go now, or it is to be held at what it may draw.
    Answer,
}

/// One reason to look at a site again, with what the charger measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadSignal {
    pub kind: SignalKind,
    /// `None` when the sender did not know it (connection events): the
    /// consumer reads it from the station.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station_id: Option<StationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<u32>,
    /// Current per phase (L1, L2, L3 of the charger or meter) when the
    /// message carried `Current.Import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currents_a: Option<[Option<Decimal>; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soc: Option<Decimal>,
    /// The car's energy need and departure (ISO 15118 through 2.0.1
    /// NotifyEVChargingNeeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<ChargingNeed>,
    /// When it happened (the charger's message or the connection came in):
    /// the time of its measurements.
    pub at: Timestamp,
    /// When it was sent, after what it reports was written. A run that
    /// began after this saw it; a run that began after `at` only may not
    /// have (it read the store before the write), so skipping a signal is
    /// judged by this. Absent on signals queued by older senders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
}

impl LoadSignal {
    pub fn new(kind: SignalKind, at: Timestamp) -> Self {
        LoadSignal {
            kind,
            site_id: None,
            station_id: None,
            evse_id: None,
            currents_a: None,
            soc: None,
            need: None,
            at,
            sent_at: None,
        }
    }

    /// Stamps the time it is sent: call after the write it reports.
    pub fn sent(mut self, now: Timestamp) -> Self {
        self.sent_at = Some(now);
        self
    }

    /// The newest time a recomputation must have begun after to have seen
    /// this signal's write.
    pub fn seen_after(&self) -> Timestamp {
        self.sent_at.map_or(self.at, |s| s.max(self.at))
    }

    /// Takes per-phase `Current.Import` and `SoC` from meter readings (the
    /// newest of each when a message carries several samples).
    pub fn with_readings(mut self, readings: &[MeterReading]) -> Self {
        let mut currents: [Option<(Timestamp, Decimal)>; 3] = [None; 3];
        // A grid meter with solar reports export separately: net = import − export.
        let mut exports: [Option<(Timestamp, Decimal)>; 3] = [None; 3];
        let mut soc: Option<(Timestamp, Decimal)> = None;
        for r in readings {
            let newer =
                |slot: &Option<(Timestamp, Decimal)>| slot.is_none_or(|(t, _)| r.timestamp >= t);
            match r.measurand.as_str() {
                "Current.Import" | "Current.Export" if r.unit == "A" => {
                    let Some(phase) = phase_index(r.phase.as_deref()) else {
                        continue;
                    };
                    let slots = if r.measurand == "Current.Import" {
                        &mut currents
                    } else {
                        &mut exports
                    };
                    if newer(&slots[phase]) {
                        slots[phase] = Some((r.timestamp, r.value));
                    }
                }
                "SoC" if newer(&soc) => soc = Some((r.timestamp, r.value)),
                _ => {}
            }
        }
        if currents.iter().chain(&exports).any(Option::is_some) {
            let mut net = [None; 3];
            for p in 0..3 {
                net[p] = match (currents[p], exports[p]) {
                    (None, None) => None,
                    (i, e) => {
                        // Saturating: readings are bounded when read, and a
                        // current beyond `Decimal` is no current anyway.
                        Some(
                            i.map_or(Decimal::ZERO, |x| x.1)
                                .saturating_sub(e.map_or(Decimal::ZERO, |x| x.1)),
                        )
                    }
                };
            }
            self.currents_a = Some(net);
        }
        self.soc = soc.map(|(_, v)| v);
        self
    }

    pub fn carries_measurement(&self) -> bool {
        self.currents_a.is_some() || self.soc.is_some() || self.need.is_some()
    }
}

/// Index (0..3) of a reading's phase: `L1`, `L1-N`, … A single value
/// without phase is the charger's L1; `N` and the like are not a phase.
fn phase_index(phase: Option<&str>) -> Option<usize> {
    match phase {
        None => Some(0),
        Some(p) if p.starts_with("L1") => Some(0),
        Some(p) if p.starts_with("L2") => Some(1),
        Some(p) if p.starts_with("L3") => Some(2),
        Some(_) => None,
    }
}

/// Hands signals to whoever recomputes.
#[async_trait]
pub trait LoadTrigger: Send + Sync {
    async fn signal(&self, signal: LoadSignal) -> Result<(), String>;
}

/// For deployments and tests without load balancing.
pub struct NoLoad;

#[async_trait]
impl LoadTrigger for NoLoad {
    async fn signal(&self, _signal: LoadSignal) -> Result<(), String> {
        Ok(())
    }
}

/// Passes every event on to `inner` and turns `station.connected` and
/// `station.disconnected` into signals: the connection code already
/// publishes those, so it needs no second hook.
pub struct LoadEvents {
    inner: Arc<dyn EventSink>,
    trigger: Arc<dyn LoadTrigger>,
}

impl LoadEvents {
    pub fn new(inner: Arc<dyn EventSink>, trigger: Arc<dyn LoadTrigger>) -> Self {
        LoadEvents { inner, trigger }
    }
}

#[async_trait]
impl EventSink for LoadEvents {
    async fn publish(&self, event: Event) {
        if event.event_type == EventType::CommandCompleted && slow_or_refused_limit(&event.data) {
            let station = event
                .data
                .get("stationId")
                .and_then(|v| v.as_str())
                .and_then(|s| StationId::parse(s).ok());
            if let Some(station) = station {
                let mut s =
                    LoadSignal::new(SignalKind::Answer, event.occurred_at).sent(chrono::Utc::now());
                s.station_id = Some(station);
                if let Err(e) = self.trigger.signal(s).await {
                    tracing::warn!(error = %e, "could not signal load balancing");
                }
            }
        }
        if matches!(
            event.event_type,
            EventType::StationConnected | EventType::StationDisconnected
        ) {
            let station = event
                .data
                .get("stationId")
                .and_then(|v| v.as_str())
                .and_then(|s| StationId::parse(s).ok());
            if let Some(station) = station {
                // The event is stamped before the connection was stored.
                let mut s = LoadSignal::new(SignalKind::Connection, event.occurred_at)
                    .sent(chrono::Utc::now());
                s.station_id = Some(station);
                if let Err(e) = self.trigger.signal(s).await {
                    tracing::warn!(error = %e, "could not signal load balancing");
                }
            }
        }
        self.inner.publish(event).await;
    }

    fn subscriptions_changed(&self, org: &OrgId) {
        self.inner.subscriptions_changed(org);
    }
}

/// An answer to a load limit that the recomputation which sent it has
/// likely stopped waiting for (it waits 10 s by default), or a refusal:
/// the site is looked at again at once rather than at the next periodic
/// run. Answers in time need nothing — the recomputation saw them.
fn slow_or_refused_limit(command: &serde_json::Value) -> bool {
    const LATE_S: i64 = 5;
    if command.get("type").and_then(|v| v.as_str()) != Some("loadLimit") {
        return false;
    }
    if command.get("status").and_then(|v| v.as_str()) != Some("accepted") {
        return true;
    }
    let time = |k: &str| {
        command
            .get(k)
            .and_then(|v| v.as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    match (time("sentAt"), time("completedAt")) {
        (Some(sent), Some(done)) => (done - sent).num_seconds() >= LATE_S,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::slow_or_refused_limit;
    use serde_json::json;

    #[test]
    fn only_late_or_refused_load_limits_ask_for_a_recomputation() {
        let limit = |status: &str, sent: &str, done: &str| {
            json!({"type": "loadLimit", "status": status, "stationId": "CP-1",
                   "sentAt": sent, "completedAt": done})
        };
        let t0 = "2026-12-04T20:00:00Z";
        assert!(!slow_or_refused_limit(&limit(
            "accepted",
            t0,
            "2026-12-04T20:00:01Z"
        )));
        assert!(slow_or_refused_limit(&limit(
            "accepted",
            t0,
            "2026-12-04T20:00:12Z"
        )));
        assert!(slow_or_refused_limit(&limit(
            "rejected",
            t0,
            "2026-12-04T20:00:01Z"
        )));
        assert!(slow_or_refused_limit(&limit(
            "timeout",
            t0,
            "2026-12-04T20:00:30Z"
        )));
        let reset = json!({"type": "reset", "status": "rejected", "stationId": "CP-1"});
        assert!(!slow_or_refused_limit(&reset));
    }
}
