//! Charging sessions and the merge rules that make message handling idempotent.
//!
//! A session is built from a stream of transaction messages that may arrive
//! twice (a charger resends when it missed our answer), late (replayed after an
//! offline period) or without their start (the charger rebooted, or the CSMS
//! lost nothing but the charger thinks so). Every rule here is therefore a
//! merge that gives the same result whatever the order and however often a
//! message is applied: earliest start wins, latest register reading wins,
//! "completed" is sticky, explicit values are set once.
//!
//! A completed session does not move: its stop value is the charger's own
//! (1.6 `meterStop`, the 2.0.1 `Ended` event's reading), and register
//! readings timed after its end (an `Updated` sent a few milliseconds after
//! `Ended`, MeterValues after the stop) are late data: kept as meter values by
//! the caller, flagged here, never counted.
//!
//! Chargers also forget to end sessions (a reset mid-transaction, a refused
//! start). The CSMS then closes them itself on evidence ([`CloseReason`]),
//! priced up to the last register reading; the charger's own end, should it
//! still come, wins over the inferred one whatever the order.
//!
//! Register values come from chargers; they are bounded when read
//! (`meter::normalise`), but records stored before those bounds may hold any
//! `Decimal`, so the arithmetic here is checked (and the lint below keeps it so).

#![deny(clippy::arithmetic_side_effects)]

use crate::user::UserId;
use crate::{OrgId, SessionId, SiteId, StationId, Timestamp, TransactionId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Completed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub station_id: StationId,
    pub org_id: OrgId,
    pub site_id: Option<SiteId>,
    pub transaction_id: String,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub id_token: Option<String>,
    /// The person whose identifier started the session (the token's holder
    /// then): the session is theirs to see, whatever becomes of the token.
    pub user_id: Option<UserId>,
    pub status: SessionStatus,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// `meterStart` of a 1.6 StartTransaction.
    pub explicit_meter_start_wh: Option<Decimal>,
    /// `meterStop` of a 1.6 StopTransaction.
    pub explicit_meter_stop_wh: Option<Decimal>,
    /// Earliest and latest energy register reading seen for the session.
    pub first_register: Option<(Timestamp, Decimal)>,
    pub last_register: Option<(Timestamp, Decimal)>,
    pub stop_reason: Option<String>,
    /// True when the first message we saw about this transaction was not its start.
    pub start_unknown: bool,
    /// 2.0.1 `seqNo`s already applied: a resent TransactionEvent is a no-op.
    pub seen_seq_nos: Vec<u64>,
    /// Some transaction message was sent by the charger while offline.
    pub offline_events: bool,
    /// A start or stop time from the charger was implausible (before
    /// 2000-01-01 or more than a day ahead) and the CSMS's receive time was
    /// used instead. Absent in records written before the flag existed.
    pub charger_clock_replaced: bool,
    /// Register readings timed after the end arrived; they were not counted.
    pub late_readings: bool,
    /// The CSMS closed the session itself because the charger never ended it.
    /// Kept after a late charger end corrected it, as a record.
    pub inferred_end: Option<InferredEnd>,
    /// The charger's own end (StopTransaction / `Ended`) was applied.
    /// Records written before the flag existed and completed had one.
    pub charger_ended: bool,
    /// Optimistic-concurrency version: a store write succeeds only if unchanged.
    pub version: u64,
    pub updated_at: Timestamp,
}

/// Everything one transaction message can tell about a session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionUpdate {
    pub is_start: bool,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub id_token: Option<String>,
    /// The holder of the start's token (set once, like the token).
    pub user_id: Option<UserId>,
    pub started_at: Option<Timestamp>,
    pub meter_start_wh: Option<Decimal>,
    pub end: Option<SessionEnd>,
    pub registers: Vec<(Timestamp, Decimal)>,
    pub seq_no: Option<u64>,
    pub offline: bool,
    /// The message's own time was implausible and replaced by the receive time.
    pub clock_replaced: bool,
    /// Evidence (not from the charger's transaction messages) that the session is over.
    pub inferred_end: Option<InferredEnd>,
}

/// Why the CSMS closed a session the charger never ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CloseReason {
    /// The connector (1.6) or EVSE (2.0.1) reported `Available`.
    ConnectorAvailable,
    /// The station sent BootNotification again (reset, power loss).
    StationRebooted,
    /// Another transaction started on the same connector or EVSE.
    NewTransaction,
    /// No message about the transaction for longer than the configured time.
    NoMessages,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ConnectorAvailable => "connectorAvailable",
            CloseReason::StationRebooted => "stationRebooted",
            CloseReason::NewTransaction => "newTransaction",
            CloseReason::NoMessages => "noMessages",
        }
    }
}

/// A close by the CSMS: when the evidence says the session ended, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferredEnd {
    pub at: Timestamp,
    pub reason: CloseReason,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnd {
    pub ended_at: Timestamp,
    pub reason: Option<String>,
    pub meter_stop_wh: Option<Decimal>,
}

impl Session {
    /// An empty session, before any message is applied.
    pub fn blank(
        station_id: &StationId,
        org_id: OrgId,
        site_id: Option<SiteId>,
        transaction_id: &TransactionId,
        now: Timestamp,
    ) -> Self {
        Session {
            id: SessionId::new(station_id, transaction_id),
            station_id: station_id.clone(),
            org_id,
            site_id,
            transaction_id: transaction_id.to_string(),
            evse_id: None,
            connector_id: None,
            id_token: None,
            user_id: None,
            status: SessionStatus::Active,
            started_at: None,
            ended_at: None,
            explicit_meter_start_wh: None,
            explicit_meter_stop_wh: None,
            first_register: None,
            last_register: None,
            stop_reason: None,
            start_unknown: true,
            seen_seq_nos: Vec::new(),
            offline_events: false,
            charger_clock_replaced: false,
            late_readings: false,
            inferred_end: None,
            charger_ended: false,
            version: 0,
            updated_at: now,
        }
    }

    /// Apply one message. Returns false when it changed nothing (a duplicate).
    pub fn apply(&mut self, u: &SessionUpdate) -> bool {
        if let Some(seq) = u.seq_no {
            if self.seen_seq_nos.binary_search(&seq).is_ok() {
                return false;
            }
        }
        let before = self.clone();
        if let Some(seq) = u.seq_no {
            let pos = self.seen_seq_nos.partition_point(|s| *s < seq);
            self.seen_seq_nos.insert(pos, seq);
        }
        if u.is_start {
            self.start_unknown = false;
        }
        set_once(&mut self.evse_id, u.evse_id);
        set_once(&mut self.connector_id, u.connector_id);
        set_once(&mut self.id_token, u.id_token.clone());
        set_once(&mut self.user_id, u.user_id.clone());
        set_once(&mut self.explicit_meter_start_wh, u.meter_start_wh);
        if let Some(t) = u.started_at {
            self.started_at = Some(self.started_at.map_or(t, |s| s.min(t)));
        }
        for &(t, wh) in &u.registers {
            if self.first_register.is_none_or(|(ft, _)| t < ft) {
                self.first_register = Some((t, wh));
            }
            // After the end a reading is late data: it must not become the
            // stop value of a completed session.
            if self.status == SessionStatus::Completed && self.ended_at.is_some_and(|e| t > e) {
                self.late_readings = true;
                continue;
            }
            if self.last_register.is_none_or(|(lt, _)| t >= lt) {
                self.last_register = Some((t, wh));
            }
        }
        if let Some(end) = &u.end {
            // The charger's end replaces an inferred one outright: its time
            // is the real one, even when earlier than our evidence.
            let replaces_inferred = self.ended_by_csms();
            self.status = SessionStatus::Completed;
            self.ended_at = Some(match self.ended_at {
                Some(e) if !replaces_inferred => e.max(end.ended_at),
                _ => end.ended_at,
            });
            self.charger_ended = true;
            set_once(&mut self.stop_reason, end.reason.clone());
            set_once(&mut self.explicit_meter_stop_wh, end.meter_stop_wh);
            // Readings that came before the end but are timed after it.
            if self.last_register.is_some_and(|(t, _)| t > end.ended_at) {
                self.late_readings = true;
            }
        }
        if let Some(inferred) = u.inferred_end {
            if self.status == SessionStatus::Active {
                self.status = SessionStatus::Completed;
                // Never before what we know happened during the session.
                let floor = self.last_register.map(|(t, _)| t).or(self.started_at);
                self.ended_at = Some(floor.map_or(inferred.at, |f| f.max(inferred.at)));
                self.inferred_end = Some(inferred);
            }
        }
        self.offline_events |= u.offline;
        self.charger_clock_replaced |= u.clock_replaced;
        *self != before
    }

    /// The session is closed, by the CSMS, and the charger's end never came.
    pub fn ended_by_csms(&self) -> bool {
        self.inferred_end.is_some() && !self.charger_ended
    }

    /// What a reader of the session (and of its price) must know about how
    /// far its values can be trusted.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(i) = self.inferred_end {
            if self.charger_ended {
                w.push(format!(
                    "closed by the CSMS ({}) at {}, then corrected by the charger's own end",
                    i.reason.as_str(),
                    i.at
                ));
            } else {
                w.push(format!(
                    "the charger never ended the transaction; closed by the CSMS ({}) with the last register reading as the stop value",
                    i.reason.as_str()
                ));
            }
        }
        if self.late_readings {
            w.push(
                "register readings timed after the end arrived; kept as meter values, not counted"
                    .to_owned(),
            );
        }
        w
    }

    /// Register reading at the start: the 1.6 `meterStart`, else the earliest reading.
    pub fn meter_start_wh(&self) -> Option<Decimal> {
        self.explicit_meter_start_wh
            .or(self.first_register.map(|(_, wh)| wh))
    }

    /// Register reading at the end (completed), or the latest one so far (active).
    pub fn meter_stop_wh(&self) -> Option<Decimal> {
        match self.status {
            SessionStatus::Completed => self
                .explicit_meter_stop_wh
                .or(self.last_register.map(|(_, wh)| wh)),
            SessionStatus::Active => None,
        }
    }

    /// Energy charged: stop register − start register (so far, for an active session).
    /// Never negative: a meter that was replaced mid-session yields `None`,
    /// and so does a difference too large for a `Decimal` (only possible in
    /// records stored before readings were bounded).
    pub fn energy_wh(&self) -> Option<Decimal> {
        let start = self.meter_start_wh()?;
        let end = match self.status {
            SessionStatus::Completed => self.meter_stop_wh()?,
            SessionStatus::Active => self.last_register.map(|(_, wh)| wh)?,
        };
        end.checked_sub(start).filter(|e| !e.is_sign_negative())
    }

    /// Sort key used by the listing indexes: sessions whose start we never saw
    /// sort by the earliest time we know of.
    pub fn sort_time(&self) -> Timestamp {
        self.started_at
            .or(self.first_register.map(|(t, _)| t))
            .or(self.ended_at)
            .unwrap_or(self.updated_at)
    }
}

fn set_once<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, Utc};

    fn wh(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn order_and_repetition_do_not_matter() {
        let st = StationId::parse("CP1").unwrap();
        let t0 = Utc::now();
        let start = SessionUpdate {
            is_start: true,
            connector_id: Some(1),
            id_token: Some("TAG".into()),
            started_at: Some(t0),
            meter_start_wh: Some(wh(1000)),
            ..Default::default()
        };
        let mid = SessionUpdate {
            registers: vec![(t0 + TimeDelta::minutes(5), wh(3000))],
            ..Default::default()
        };
        let stop = SessionUpdate {
            end: Some(SessionEnd {
                ended_at: t0 + TimeDelta::minutes(10),
                reason: Some("Local".into()),
                meter_stop_wh: Some(wh(8500)),
            }),
            registers: vec![(t0 + TimeDelta::minutes(10), wh(8500))],
            ..Default::default()
        };
        let orders = [
            vec![&start, &mid, &stop],
            vec![&stop, &mid, &start],
            vec![&mid, &stop, &start, &stop, &mid],
        ];
        let mut results = vec![];
        for order in orders {
            let mut s = Session::blank(
                &st,
                OrgId::default_org(),
                None,
                &TransactionId::parse("7").unwrap(),
                t0,
            );
            for u in order {
                s.apply(u);
            }
            s.updated_at = t0;
            results.push(s);
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0], results[2]);
        assert_eq!(results[0].energy_wh(), Some(wh(7500)));
        assert_eq!(results[0].status, SessionStatus::Completed);
        assert!(!results[0].start_unknown);
    }

    #[test]
    fn seq_no_duplicates_are_ignored() {
        let t0 = Utc::now();
        let mut s = blank(t0);
        let u = SessionUpdate {
            seq_no: Some(1),
            registers: vec![(t0, wh(5))],
            ..Default::default()
        };
        assert!(s.apply(&u));
        assert!(!s.apply(&u));
        let later = SessionUpdate {
            seq_no: Some(1),
            registers: vec![(t0 + TimeDelta::hours(1), wh(50))],
            ..Default::default()
        };
        assert!(
            !s.apply(&later),
            "same seqNo with other content is still a resend"
        );
        assert_eq!(s.last_register, Some((t0, wh(5))));
    }

    #[test]
    fn energy_from_registers_when_no_explicit_values() {
        let t0 = Utc::now();
        let mut s = blank(t0);
        s.apply(&SessionUpdate {
            registers: vec![(t0, wh(2000))],
            ..Default::default()
        });
        s.apply(&SessionUpdate {
            registers: vec![(t0 + TimeDelta::minutes(1), wh(2600))],
            ..Default::default()
        });
        assert_eq!(s.energy_wh(), Some(wh(600)));
        assert_eq!(s.meter_stop_wh(), None);
        s.apply(&SessionUpdate {
            end: Some(SessionEnd {
                ended_at: t0 + TimeDelta::minutes(2),
                reason: None,
                meter_stop_wh: None,
            }),
            registers: vec![(t0 + TimeDelta::minutes(2), wh(9000))],
            ..Default::default()
        });
        assert_eq!(s.energy_wh(), Some(wh(7000)));
    }

    #[test]
    fn registers_from_minus_max_to_max_give_no_energy_instead_of_a_panic() {
        let t0 = Utc::now();
        let mut s = blank(t0);
        s.explicit_meter_start_wh = Some(Decimal::MIN);
        s.last_register = Some((t0, Decimal::MAX));
        assert_eq!(s.energy_wh(), None);
        s.status = SessionStatus::Completed;
        s.explicit_meter_stop_wh = Some(Decimal::MAX);
        assert_eq!(s.energy_wh(), None);
        s.explicit_meter_start_wh = Some(Decimal::ZERO);
        assert_eq!(s.energy_wh(), Some(Decimal::MAX));
    }

    #[test]
    fn a_replaced_charger_clock_is_remembered() {
        let t0 = Utc::now();
        let mut s = blank(t0);
        s.apply(&SessionUpdate {
            clock_replaced: true,
            started_at: Some(t0),
            ..Default::default()
        });
        s.apply(&SessionUpdate {
            registers: vec![(t0, wh(1))],
            ..Default::default()
        });
        assert!(s.charger_clock_replaced);
    }

    fn blank(t0: Timestamp) -> Session {
        Session::blank(
            &StationId::parse("CP1").unwrap(),
            OrgId::default_org(),
            None,
            &TransactionId::parse("TX").unwrap(),
            t0,
        )
    }

    fn ended(at: Timestamp, stop: i64) -> SessionUpdate {
        SessionUpdate {
            seq_no: Some(3),
            end: Some(SessionEnd {
                ended_at: at,
                reason: Some("EVDisconnected".into()),
                meter_stop_wh: Some(wh(stop)),
            }),
            registers: vec![(at, wh(stop))],
            ..Default::default()
        }
    }

    #[test]
    fn an_updated_arriving_after_ended_does_not_change_the_completed_session() {
        let t0 = Utc::now();
        let start = SessionUpdate {
            is_start: true,
            seq_no: Some(1),
            started_at: Some(t0),
            registers: vec![(t0, wh(1000))],
            ..Default::default()
        };
        let end = ended(t0 + TimeDelta::minutes(10), 1123);
        let late = SessionUpdate {
            seq_no: Some(4),
            registers: vec![(t0 + TimeDelta::milliseconds(600_005), wh(1191))],
            ..Default::default()
        };
        for order in [
            [&start, &end, &late],
            [&start, &late, &end],
            [&late, &end, &start],
        ] {
            let mut s = blank(t0);
            for u in order {
                s.apply(u);
            }
            assert_eq!(s.status, SessionStatus::Completed);
            assert_eq!(s.meter_stop_wh(), Some(wh(1123)), "order {order:?}");
            assert_eq!(s.energy_wh(), Some(wh(123)));
            assert_eq!(s.ended_at, Some(t0 + TimeDelta::minutes(10)));
            assert!(s.late_readings);
            assert_eq!(s.warnings().len(), 1);
        }
    }

    #[test]
    fn a_reading_after_the_end_without_a_stop_value_is_not_the_stop_value() {
        let t0 = Utc::now();
        let mut s = blank(t0);
        s.apply(&SessionUpdate {
            registers: vec![(t0, wh(10)), (t0 + TimeDelta::minutes(1), wh(20))],
            ..Default::default()
        });
        s.apply(&SessionUpdate {
            end: Some(SessionEnd {
                ended_at: t0 + TimeDelta::minutes(1),
                reason: None,
                meter_stop_wh: None,
            }),
            ..Default::default()
        });
        assert!(!s.late_readings);
        assert!(s.apply(&SessionUpdate {
            registers: vec![(t0 + TimeDelta::minutes(2), wh(99))],
            ..Default::default()
        }));
        assert_eq!(s.energy_wh(), Some(wh(10)));
        assert!(s.late_readings);
    }

    #[test]
    fn an_inferred_end_closes_with_the_last_reading_and_the_charger_end_corrects_it() {
        let t0 = Utc::now();
        let reading = SessionUpdate {
            is_start: true,
            started_at: Some(t0),
            meter_start_wh: Some(wh(100)),
            registers: vec![(t0 + TimeDelta::minutes(5), wh(400))],
            ..Default::default()
        };
        let inferred = SessionUpdate {
            inferred_end: Some(InferredEnd {
                at: t0 + TimeDelta::minutes(30),
                reason: CloseReason::StationRebooted,
            }),
            ..Default::default()
        };
        let stop = SessionUpdate {
            end: Some(SessionEnd {
                ended_at: t0 + TimeDelta::minutes(8),
                reason: Some("Local".into()),
                meter_stop_wh: Some(wh(500)),
            }),
            ..Default::default()
        };
        let mut s = blank(t0);
        s.apply(&reading);
        assert!(s.apply(&inferred));
        assert_eq!(s.status, SessionStatus::Completed);
        assert!(s.ended_by_csms());
        assert_eq!(s.ended_at, Some(t0 + TimeDelta::minutes(30)));
        assert_eq!(s.energy_wh(), Some(wh(300)));
        assert!(s.warnings()[0].contains("stationRebooted"));
        assert!(
            !s.apply(&inferred),
            "a second piece of evidence changes nothing"
        );

        assert!(s.apply(&stop));
        assert!(!s.ended_by_csms());
        assert_eq!(s.ended_at, Some(t0 + TimeDelta::minutes(8)));
        assert_eq!(s.energy_wh(), Some(wh(400)));
        assert_eq!(s.stop_reason.as_deref(), Some("Local"));
        assert!(s.warnings()[0].contains("corrected"));

        // The other way round the charger's end stands and nothing is inferred.
        let mut r = blank(t0);
        r.apply(&reading);
        r.apply(&stop);
        assert!(!r.apply(&inferred));
        assert_eq!(r.ended_at, s.ended_at);
        assert_eq!(r.energy_wh(), s.energy_wh());
        assert!(r.warnings().is_empty());
    }

    #[test]
    fn an_inferred_end_is_never_before_the_last_reading() {
        let t0 = Utc::now();
        let mut s = blank(t0);
        s.apply(&SessionUpdate {
            registers: vec![(t0 + TimeDelta::minutes(9), wh(7))],
            ..Default::default()
        });
        s.apply(&SessionUpdate {
            inferred_end: Some(InferredEnd {
                at: t0,
                reason: CloseReason::NewTransaction,
            }),
            ..Default::default()
        });
        assert_eq!(s.ended_at, Some(t0 + TimeDelta::minutes(9)));
    }
}
