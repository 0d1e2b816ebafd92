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
//! - this file: signals, the trigger port, and the subscriber that turns
//!   domain events into signals.
//! - [`model`]: configuration → engine site (validation, ampere rounding,
//!   EVSE ids).
//! - [`plan`]: price-optimised plans for sessions with an energy need and
//!   a departure, from the spot prices ahead.
//! - [`service`]: configuration use cases, and the recomputation's I/O:
//!   gather what the site needs into a snapshot, send what was decided.
//! - [`decide`]: the recomputation's decision, pure — snapshot in, limits
//!   to send and state to keep out — and the fuse checks between sends.

pub mod alarms;
pub mod decide;
pub mod model;
pub mod plan;
pub mod service;

pub use service::{LoadError, LoadService};

use async_trait::async_trait;
use csms_domain::command::{Command, CommandRequest, CommandStatus};
use csms_domain::load::ChargingNeed;
use csms_domain::meter::MeterReading;
use csms_domain::{SiteId, StationId, Timestamp};
use csms_kernel::events::{DomainEvent, StationRef, Subscriber};
use csms_kernel::ports::Clock;
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
    /// The charger's total power in W when the message carried
    /// `Power.Active.Import` (a total, else the sum of its phases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<Decimal>,
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
            power_w: None,
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

    /// Takes per-phase `Current.Import`, `Power.Active.Import` (W or kW) and
    /// `SoC` from meter readings (the newest of each when a message carries
    /// several samples).
    pub fn with_readings(mut self, readings: &[MeterReading]) -> Self {
        let mut currents: [Option<(Timestamp, Decimal)>; 3] = [None; 3];
        // The total power, and per phase when a charger reports those.
        let mut power: Option<(Timestamp, Decimal)> = None;
        let mut phase_power: [Option<(Timestamp, Decimal)>; 3] = [None; 3];
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
                "Power.Active.Import" => {
                    let watts = match r.unit.as_str() {
                        "W" => Some(r.value),
                        "kW" => r.value.checked_mul(Decimal::ONE_THOUSAND),
                        _ => None,
                    };
                    let Some(watts) = watts else {
                        continue;
                    };
                    let slot = match r.phase.as_deref() {
                        None => &mut power,
                        Some(p) => match phase_index(Some(p)) {
                            Some(i) => &mut phase_power[i],
                            None => continue,
                        },
                    };
                    if newer(slot) {
                        *slot = Some((r.timestamp, watts));
                    }
                }
                "SoC" if newer(&soc) => soc = Some((r.timestamp, r.value)),
                _ => {}
            }
        }
        self.power_w = power.map(|(_, w)| w).or_else(|| {
            phase_power
                .iter()
                .flatten()
                .map(|(_, w)| *w)
                .reduce(|a, b| a.saturating_add(b))
        });
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
        self.currents_a.is_some()
            || self.power_w.is_some()
            || self.soc.is_some()
            || self.need.is_some()
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

/// Load balancing's subscription to the domain events: the ones that
/// change who may draw how much become [`LoadSignal`]s on the trigger, each
/// stamped with the time it is sent (after the write the event reports).
pub struct LoadSubscriber {
    trigger: Arc<dyn LoadTrigger>,
    clock: Arc<dyn Clock>,
}

impl LoadSubscriber {
    pub fn new(trigger: Arc<dyn LoadTrigger>, clock: Arc<dyn Clock>) -> Self {
        LoadSubscriber { trigger, clock }
    }

    /// The signal an event asks for, if any.
    fn signal_for(event: &DomainEvent) -> Option<LoadSignal> {
        // A charger's signal is for its station's site: only stations on a
        // site can be balanced.
        let on_site = |station: &StationRef, kind, evse_id: Option<u32>, at| {
            let site = station.site_id.clone()?;
            let mut s = LoadSignal::new(kind, at);
            s.site_id = Some(site);
            s.station_id = Some(station.station_id.clone());
            s.evse_id = evse_id;
            Some(s)
        };
        // With measurements, or nothing to say: a meter message without
        // currents, SoC or need changes nothing.
        let measured = |s: LoadSignal| {
            Some(s).filter(|s| s.kind != SignalKind::Meter || s.carries_measurement())
        };
        match event {
            // The station's site is read by the consumer.
            DomainEvent::StationConnected { connection } => {
                let mut s = LoadSignal::new(SignalKind::Connection, connection.connected_at);
                s.station_id = Some(connection.station_id.clone());
                Some(s)
            }
            DomainEvent::StationDisconnected { connection, at } => {
                let mut s = LoadSignal::new(SignalKind::Connection, *at);
                s.station_id = Some(connection.station_id.clone());
                Some(s)
            }
            DomainEvent::CommandCompleted { command, at } if slow_or_refused_limit(command) => {
                let mut s = LoadSignal::new(SignalKind::Answer, *at);
                s.station_id = Some(command.station_id.clone());
                Some(s)
            }
            DomainEvent::ConnectorStatus {
                station,
                status,
                at,
            } => on_site(station, SignalKind::Status, Some(status.evse_id), *at),
            DomainEvent::MeterValues {
                station,
                evse_id,
                readings,
                at,
            } => measured(
                on_site(station, SignalKind::Meter, Some(*evse_id), *at)?.with_readings(readings),
            ),
            DomainEvent::Transaction {
                station,
                evse_id,
                started_or_ended,
                readings,
                at,
            } => {
                let kind = if *started_or_ended {
                    SignalKind::Session
                } else {
                    SignalKind::Meter
                };
                measured(on_site(station, kind, *evse_id, *at)?.with_readings(readings))
            }
            DomainEvent::ChargingNeed {
                station,
                evse_id,
                need,
                at,
            } => {
                let mut s = on_site(station, SignalKind::Need, Some(*evse_id), *at)?;
                s.need = Some(need.clone());
                Some(s)
            }
            DomainEvent::CommandCompleted { .. }
            | DomainEvent::BookingRefused { .. }
            | DomainEvent::AlarmOpened { .. }
            | DomainEvent::AlarmResolved { .. }
            | DomainEvent::Invoice { .. }
            | DomainEvent::StationRegistration { .. }
            | DomainEvent::SessionStarted { .. }
            | DomainEvent::SessionEnded { .. }
            | DomainEvent::SessionPriced { .. } => None,
        }
    }
}

#[async_trait]
impl Subscriber for LoadSubscriber {
    async fn on(&self, event: &DomainEvent) {
        let Some(signal) = Self::signal_for(event) else {
            return;
        };
        // A lost signal is logged: the periodic recomputation catches up.
        if let Err(e) = self.trigger.signal(signal.sent(self.clock.now())).await {
            tracing::warn!(event = event.name(), error = %e, "could not signal load balancing");
        }
    }
}

/// An answer to a load limit that the recomputation which sent it has
/// likely stopped waiting for (it waits 10 s by default), or a refusal:
/// the site is looked at again at once rather than at the next periodic
/// run. Answers in time need nothing — the recomputation saw them.
fn slow_or_refused_limit(command: &Command) -> bool {
    const LATE_S: i64 = 5;
    if !matches!(command.request, CommandRequest::LoadLimit { .. }) {
        return false;
    }
    if command.status != CommandStatus::Accepted {
        return true;
    }
    match (command.sent_at, command.completed_at) {
        (Some(sent), Some(done)) => (done - sent).num_seconds() >= LATE_S,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::slow_or_refused_limit;
    use csms_domain::command::{
        ChargingProfile, Command, CommandId, CommandRequest, CommandStatus, ProfileKind,
        ProfilePurpose, RateUnit, SchedulePeriod,
    };
    use csms_domain::{OrgId, StationId, Timestamp};
    use rust_decimal::Decimal;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn command(request: CommandRequest, status: CommandStatus, done: &str) -> Command {
        Command {
            id: CommandId::new(),
            station_id: StationId::parse("CP-1").unwrap(),
            org_id: OrgId::default_org(),
            request,
            status,
            created_at: t("2026-12-04T20:00:00Z"),
            sent_at: Some(t("2026-12-04T20:00:00Z")),
            completed_at: Some(t(done)),
            timeout_s: 10,
            action: None,
            response: None,
            error: None,
            progress: Vec::new(),
            version: 2,
        }
    }

    fn limit() -> CommandRequest {
        CommandRequest::LoadLimit {
            evse_id: 1,
            profile: ChargingProfile {
                id: 1_000_001,
                stack_level: 1,
                purpose: ProfilePurpose::TxDefault,
                kind: ProfileKind::Absolute,
                recurrency: None,
                valid_from: None,
                valid_to: None,
                transaction_id: None,
                start_schedule: None,
                duration_s: None,
                rate_unit: RateUnit::A,
                periods: vec![SchedulePeriod {
                    start_period_s: 0,
                    limit: Decimal::from(16),
                    number_phases: Some(3),
                }],
                min_charging_rate: None,
            },
        }
    }

    #[test]
    fn only_late_or_refused_load_limits_ask_for_a_recomputation() {
        use CommandStatus::{Accepted, Rejected, Timeout};
        assert!(!slow_or_refused_limit(&command(
            limit(),
            Accepted,
            "2026-12-04T20:00:01Z"
        )));
        assert!(slow_or_refused_limit(&command(
            limit(),
            Accepted,
            "2026-12-04T20:00:12Z"
        )));
        assert!(slow_or_refused_limit(&command(
            limit(),
            Rejected,
            "2026-12-04T20:00:01Z"
        )));
        assert!(slow_or_refused_limit(&command(
            limit(),
            Timeout,
            "2026-12-04T20:00:30Z"
        )));
        let reset = CommandRequest::Reset {
            kind: None,
            when: None,
            evse_id: None,
        };
        assert!(!slow_or_refused_limit(&command(
            reset,
            Rejected,
            "2026-12-04T20:00:01Z"
        )));
    }

    use super::{LoadSubscriber, SignalKind};
    use csms_domain::meter::MeterReading;
    use csms_domain::station::{Approval, Connection, ConnectorStatus};
    use csms_domain::{OcppVersion, SiteId};
    use csms_kernel::events::{DomainEvent, StationRef};

    fn station(site: Option<&str>) -> StationRef {
        StationRef {
            org_id: OrgId::default_org(),
            station_id: StationId::parse("CP-1").unwrap(),
            site_id: site.map(|s| SiteId::parse(s).unwrap()),
        }
    }

    fn reading(measurand: &str, unit: &str, phase: Option<&str>, value: i64) -> MeterReading {
        MeterReading {
            timestamp: t("2026-12-04T20:00:00Z"),
            measurand: measurand.into(),
            phase: phase.map(Into::into),
            location: None,
            context: None,
            value: Decimal::from(value),
            unit: unit.into(),
        }
    }

    fn signal(event: &DomainEvent) -> Option<super::LoadSignal> {
        LoadSubscriber::signal_for(event)
    }

    #[test]
    fn charger_events_of_a_station_on_a_site_are_signalled_for_that_site() {
        let at = t("2026-12-04T20:00:01Z");
        let status = DomainEvent::ConnectorStatus {
            station: station(Some("GARAGE")),
            status: ConnectorStatus {
                evse_id: 2,
                connector_id: 1,
                status: "Charging".into(),
                error_code: None,
                info: None,
                updated_at: at,
            },
            at,
        };
        let s = signal(&status).expect("a status change is signalled");
        assert_eq!(s.kind, SignalKind::Status);
        assert_eq!(s.site_id.as_ref().map(|x| x.as_str()), Some("GARAGE"));
        assert_eq!(s.station_id.as_ref().map(|x| x.as_str()), Some("CP-1"));
        assert_eq!((s.evse_id, s.at, s.sent_at), (Some(2), at, None));

        // Off any site: nothing to balance.
        let DomainEvent::ConnectorStatus { status, .. } = status else {
            unreachable!()
        };
        let off_site = DomainEvent::ConnectorStatus {
            station: station(None),
            status,
            at,
        };
        assert_eq!(signal(&off_site), None);
    }

    #[test]
    fn power_is_taken_in_watts_as_a_total_else_summed_over_its_phases() {
        let at = t("2026-12-04T20:00:01Z");
        let of = |readings: &[MeterReading]| {
            super::LoadSignal::new(SignalKind::Meter, at)
                .with_readings(readings)
                .power_w
        };
        assert_eq!(
            of(&[reading("Power.Active.Import", "W", None, 7400)]),
            Some(Decimal::from(7400))
        );
        assert_eq!(
            of(&[reading("Power.Active.Import", "kW", None, 11)]),
            Some(Decimal::from(11_000))
        );
        assert_eq!(
            of(&[
                reading("Power.Active.Import", "W", Some("L1-N"), 3000),
                reading("Power.Active.Import", "W", Some("L2-N"), 3100),
                reading("Power.Active.Import", "W", Some("L3-N"), 2900),
            ]),
            Some(Decimal::from(9000))
        );
        // A total beats its phases; an energy register or an unknown unit is
        // no power.
        assert_eq!(
            of(&[
                reading("Power.Active.Import", "W", Some("L1"), 3000),
                reading("Power.Active.Import", "W", None, 9500),
            ]),
            Some(Decimal::from(9500))
        );
        assert_eq!(
            of(&[reading("Energy.Active.Import.Register", "Wh", None, 5)]),
            None
        );
        assert_eq!(of(&[reading("Power.Active.Import", "VA", None, 5)]), None);
        let s = super::LoadSignal::new(SignalKind::Meter, at).with_readings(&[reading(
            "Power.Active.Import",
            "W",
            None,
            1,
        )]);
        assert!(s.carries_measurement(), "power alone is a measurement");
    }

    #[test]
    fn meter_values_are_signalled_only_with_a_measurement_and_transactions_always() {
        let at = t("2026-12-04T20:00:01Z");
        let energy_only = vec![reading("Energy.Active.Import.Register", "Wh", None, 1200)];
        let meter = |readings: Vec<MeterReading>| DomainEvent::MeterValues {
            station: station(Some("GARAGE")),
            evse_id: 1,
            readings,
            at,
        };
        assert_eq!(signal(&meter(energy_only.clone())), None);
        let currents = vec![
            reading("Current.Import", "A", Some("L1"), 15),
            reading("Current.Import", "A", Some("L2"), 14),
        ];
        let s = signal(&meter(currents.clone())).expect("currents are signalled");
        assert_eq!(s.kind, SignalKind::Meter);
        assert_eq!(
            s.currents_a,
            Some([Some(Decimal::from(15)), Some(Decimal::from(14)), None])
        );

        let tx = |started_or_ended, readings| DomainEvent::Transaction {
            station: station(Some("GARAGE")),
            evse_id: Some(1),
            started_or_ended,
            readings,
            at,
        };
        // A start or an end changes who draws, measured or not.
        let s = signal(&tx(true, energy_only.clone())).expect("a start is signalled");
        assert_eq!(s.kind, SignalKind::Session);
        // An update is a measurement like MeterValues.
        assert_eq!(signal(&tx(false, energy_only)), None);
        assert_eq!(
            signal(&tx(false, currents)).map(|s| s.kind),
            Some(SignalKind::Meter)
        );
    }

    #[test]
    fn connections_and_late_or_refused_limits_name_the_station_and_leave_the_site_to_the_consumer()
    {
        let at = t("2026-12-04T20:00:01Z");
        let connection = Connection {
            connection_id: "c-1".into(),
            station_id: StationId::parse("CP-1").unwrap(),
            org_id: OrgId::default_org(),
            site_id: Some(SiteId::parse("GARAGE").unwrap()),
            ocpp_version: OcppVersion::V201,
            connected_at: at,
            last_seen_at: at,
            previous_seen_at: None,
            second_previous_seen_at: None,
            approval: Approval::Accepted,
            clock: None,
            messages: 0,
            flood: None,
        };
        for event in [
            DomainEvent::StationConnected {
                connection: connection.clone(),
            },
            DomainEvent::StationDisconnected { connection, at },
        ] {
            let s = signal(&event).expect("a connection change is signalled");
            assert_eq!(s.kind, SignalKind::Connection);
            assert_eq!(s.station_id.as_ref().map(|x| x.as_str()), Some("CP-1"));
            assert_eq!((s.site_id, s.at), (None, at));
        }
        let refused = command(limit(), CommandStatus::Rejected, "2026-12-04T20:00:01Z");
        let s = signal(&DomainEvent::CommandCompleted {
            command: refused,
            at,
        })
        .expect("a refused limit is signalled");
        assert_eq!(s.kind, SignalKind::Answer);
        let in_time = command(limit(), CommandStatus::Accepted, "2026-12-04T20:00:01Z");
        assert_eq!(
            signal(&DomainEvent::CommandCompleted {
                command: in_time,
                at,
            }),
            None
        );
    }
}
