//! Wire helpers shared by both versions' action modules.
//!
//! Numbers and times from a charger are outside data: parsing here never
//! panics, and the bounds every handler applies live here too.
//!
//! Charger clocks are wrong in the field (a lost RTC battery gives 1970 or
//! 2000-01-01, a bad NTP answer any year). A time is *plausible* from
//! [`EARLIEST`] (2000-01-01T00:00:00Z) to one day ([`MAX_AHEAD_HOURS`])
//! after the CSMS's own clock. Outside that, a meter reading is dropped with
//! a warning, a status time is replaced by the receive time, and so is the
//! time of a transaction message, which the session then records
//! (`charger_clock_replaced`) so that operators see why its times are ours.

#![deny(clippy::arithmetic_side_effects)]

use super::HandlerError;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use csms_domain::command::CommandId;
use csms_domain::meter::{
    default_unit, limits, normalise, MeterReading, ENERGY_IMPORT_REGISTER, MAX_ENERGY_WH,
};
use csms_domain::Timestamp;
use rust_decimal::Decimal;
use std::str::FromStr;

/// The earliest charger time believed, as Unix seconds: 2000-01-01T00:00:00Z.
pub const EARLIEST: i64 = 946_684_800;

/// How far ahead of the CSMS's clock a charger's clock may run, in hours.
pub const MAX_AHEAD_HOURS: i64 = 24;

/// Longest numeric string read as a meter value: a `Decimal` has 28 digits,
/// so anything longer than this is either padding or an attack.
const MAX_NUMBER_CHARS: usize = 64;

/// Whether a charger time lies in 2000-01-01 ..= `now` + 1 day.
pub fn plausible(t: Timestamp, now: Timestamp) -> bool {
    let earliest = DateTime::from_timestamp(EARLIEST, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let latest = now
        .checked_add_signed(TimeDelta::hours(MAX_AHEAD_HOURS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    t >= earliest && t <= latest
}

/// What one message sent that the CSMS did not use as sent: a value out of
/// range or no number, a wrong clock. Each is logged (a warning) when noted,
/// and the message's notes become one `ImplausibleValues` station event
/// (`GET /stations/{id}/events`), so the operator sees a misbehaving charger.
#[derive(Debug, Default)]
pub struct Dropped {
    notes: Vec<serde_json::Value>,
    omitted: usize,
}

impl Dropped {
    /// Notes kept per message; beyond, only counted (a message may carry
    /// thousands of samples).
    const KEPT: usize = 20;

    pub fn note(&mut self, field: &str, value: &str, problem: &str) {
        // At most 64 characters of a value and 20 log lines per message: one
        // frame must not write megabytes of log or event.
        if self.notes.len() < Self::KEPT {
            let shown: String = value.chars().take(MAX_NUMBER_CHARS).collect();
            tracing::warn!(field, value = ?shown, problem, "implausible value from the charger");
            self.notes.push(serde_json::json!({
                "field": field,
                "value": shown,
                "problem": problem,
            }));
        } else {
            self.omitted = self.omitted.saturating_add(1);
        }
    }

    /// The station event's payload, or `None` when nothing was dropped.
    pub fn into_payload(self, action: &str) -> Option<serde_json::Value> {
        if self.notes.is_empty() {
            return None;
        }
        if self.omitted > 0 {
            tracing::warn!(
                action,
                omitted = self.omitted,
                "more implausible values from the charger, not logged one by one"
            );
        }
        Some(serde_json::json!({
            "action": action,
            "values": self.notes,
            "omitted": self.omitted,
        }))
    }
}

/// A charger time for data that can do without it being ours (a meter
/// reading, a status): parsed and plausible, or `None`, noted.
pub fn charger_time(
    field: &str,
    s: &str,
    now: Timestamp,
    dropped: &mut Dropped,
) -> Option<Timestamp> {
    match parse_time(s) {
        Some(t) if plausible(t, now) => Some(t),
        Some(_) => {
            dropped.note(field, s, "outside 2000-01-01 .. now + 1 day");
            None
        }
        None => {
            dropped.note(field, s, "not a timestamp");
            None
        }
    }
}

/// The time of a message the CSMS cannot do without (a transaction's start
/// or end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTime {
    /// The time to use: the charger's if plausible, else the receive time.
    pub at: Timestamp,
    /// The charger's own time when it was replaced.
    pub replaced: Option<Timestamp>,
}

/// Parse a required time field. Unreadable is a CALLERROR naming the field
/// (as the schema would); readable but implausible is replaced by `now`,
/// noted, and reported in [`MessageTime::replaced`].
pub fn require_time(
    field: &str,
    s: &str,
    now: Timestamp,
    dropped: &mut Dropped,
) -> Result<MessageTime, HandlerError> {
    let t = parse_time(s)
        .ok_or_else(|| HandlerError::Invalid(format!("{field}: {s:?} is not a timestamp")))?;
    if plausible(t, now) {
        return Ok(MessageTime {
            at: t,
            replaced: None,
        });
    }
    dropped.note(
        field,
        s,
        "outside 2000-01-01 .. now + 1 day: replaced by the receive time",
    );
    Ok(MessageTime {
        at: now,
        replaced: Some(t),
    })
}

/// A 1.6 `meterStart`/`meterStop` in Wh, or `None` (noted) outside
/// ±[`MAX_ENERGY_WH`]: the session then falls back on its register readings.
/// Dropped rather than refused, because a refused StopTransaction is resent
/// by the charger for ever and the session would never close.
pub fn register_wh(field: &str, wh: i64, dropped: &mut Dropped) -> Option<Decimal> {
    let (min, max) = limits("Wh");
    let v = Decimal::from(wh);
    if v >= min && v <= max {
        Some(v)
    } else {
        dropped.note(
            field,
            &wh.to_string(),
            &format!("outside -{MAX_ENERGY_WH}..={MAX_ENERGY_WH} Wh"),
        );
        None
    }
}

/// Parse an OCPP timestamp. RFC 3339 as the specs require; a timestamp
/// without offset (seen in the field) is taken as UTC, which is what OCPP
/// mandates chargers use anyway.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .map(|n| n.and_utc())
}

/// Timestamps we send: RFC 3339, UTC, millisecond precision, `Z`.
pub fn format_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A decimal from a JSON number without going through a float.
pub fn decimal_from_json(n: &serde_json::Number) -> Option<Decimal> {
    decimal_from_str(&n.to_string())
}

/// A decimal from a charger's string ("12.5", "1e3", " 7 "); `None` for
/// anything else, including numbers beyond `Decimal`'s range ("1e99999"),
/// "NaN", "inf" and strings too long to be a reading.
pub fn decimal_from_str(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_NUMBER_CHARS {
        return None;
    }
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

/// A sampled value as both versions carry it once its number is read, with
/// the version's own unit fields (1.6 `unit`, 2.0.1 `unitOfMeasure`) mapped.
pub struct Sample<'a> {
    pub raw: Decimal,
    pub measurand: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub multiplier: i32,
    pub phase: &'a Option<String>,
    pub location: &'a Option<String>,
    pub context: &'a Option<String>,
}

/// One sample as a reading in base units (a missing measurand is the energy
/// register, a missing unit the measurand's default), or `None`, noted in
/// `dropped`, when the value is implausible for its unit.
pub fn reading(timestamp: Timestamp, s: Sample<'_>, dropped: &mut Dropped) -> Option<MeterReading> {
    let measurand = s.measurand.unwrap_or(ENERGY_IMPORT_REGISTER).to_owned();
    let unit = s
        .unit
        .map_or_else(|| default_unit(&measurand).to_owned(), str::to_owned);
    match normalise(s.raw, &unit, s.multiplier) {
        Ok((value, unit)) => Some(MeterReading {
            timestamp,
            measurand,
            phase: s.phase.clone(),
            location: s.location.clone(),
            context: s.context.clone(),
            value,
            unit,
        }),
        Err(e) => {
            dropped.note(&measurand, &s.raw.to_string(), &e.to_string());
            None
        }
    }
}

/// 32-bit FNV-1a: tiny, stable across builds and platforms (unlike std's
/// hasher), which the derived ids below rely on.
pub fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A positive 31-bit number derived from the command id, for the request
/// ids 2.0.1 wants (`remoteStartId`, `requestId`): the same command always
/// gets the same one, so the CALL sent matches the one checked at submit.
/// The `requestId` a 2.0.1 message about this command carries (GetLog,
/// UpdateFirmware), so status notifications can be matched to it.
pub fn request_id(id: &CommandId) -> i32 {
    // Masked to 31 bits and made odd: positive, never 0.
    ((fnv1a(id.as_str()) & 0x7fff_ffff) | 1) as i32
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn lenient_times() {
        let a = parse_time("2026-03-29T01:30:00Z").unwrap();
        assert_eq!(parse_time("2026-03-29T03:30:00+02:00"), Some(a));
        assert_eq!(parse_time("2026-03-29T01:30:00"), Some(a));
        assert_eq!(parse_time("2026-03-29T01:30:00.000"), Some(a));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(format_time(a), "2026-03-29T01:30:00.000Z");
    }

    #[test]
    fn decimals_without_floats() {
        let n: serde_json::Number = serde_json::from_str("1234.5").unwrap();
        assert_eq!(
            decimal_from_json(&n),
            Some(Decimal::from_str("1234.5").unwrap())
        );
        let n: serde_json::Number = serde_json::from_str("1e3").unwrap();
        assert_eq!(decimal_from_json(&n), Some(Decimal::from(1000)));
    }

    #[test]
    fn hostile_number_strings_are_none_not_a_panic() {
        for s in [
            "1e99999",
            "-1e99999",
            "1e-99999",
            "1E+2147483647",
            "1e-2147483648",
            "1e9223372036854775807",
            "79228162514264337593543950336",
            "-79228162514264337593543950336",
            "0.00000000000000000000000000001",
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "",
            " ",
            "1e",
            "e5",
            "--1",
            "1..2",
            "١٢٣",
            &"9".repeat(65),
            &"9".repeat(10_000),
        ] {
            let _ = decimal_from_str(s);
        }
        assert_eq!(decimal_from_str("NaN"), None);
        assert_eq!(decimal_from_str("1e99999"), None);
        assert_eq!(decimal_from_str(" 7 "), Some(Decimal::from(7)));
        assert_eq!(decimal_from_str("-1.5e2"), Some(Decimal::from(-150)));
        for json in [
            "1e300",
            "-1e300",
            "1.7976931348623157e308",
            "5e-324",
            "18446744073709551615",
            "-9223372036854775808",
        ] {
            let n: serde_json::Number = serde_json::from_str(json).unwrap();
            let _ = decimal_from_json(&n);
        }
    }

    #[test]
    fn charger_times_are_plausible_from_2000_to_a_day_ahead() {
        let now = parse_time("2026-06-01T12:00:00Z").unwrap();
        assert!(plausible(parse_time("2000-01-01T00:00:00Z").unwrap(), now));
        assert!(!plausible(parse_time("1999-12-31T23:59:59Z").unwrap(), now));
        assert!(plausible(parse_time("2026-06-02T12:00:00Z").unwrap(), now));
        assert!(!plausible(parse_time("2026-06-02T12:00:01Z").unwrap(), now));
        assert!(!plausible(DateTime::<Utc>::MIN_UTC, now));
        assert!(!plausible(DateTime::<Utc>::MAX_UTC, now));
        assert!(
            plausible(DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MAX_UTC),
            "no overflow at chrono's end"
        );
        let mut dropped = Dropped::default();
        let d = &mut dropped;
        assert_eq!(charger_time("t", "0001-01-01T00:00:00Z", now, d), None);
        assert_eq!(charger_time("t", "+262142-12-31T00:00:00Z", now, d), None);
        let r = require_time("timestamp", "0001-01-01T00:00:00Z", now, d).unwrap();
        assert_eq!(r.at, now);
        assert!(r.replaced.is_some());
        let ok = require_time("timestamp", "2026-06-01T11:00:00Z", now, d).unwrap();
        assert_eq!(ok.replaced, None);
        assert!(
            matches!(require_time("timestamp", "soon", now, d), Err(HandlerError::Invalid(m)) if m.starts_with("timestamp"))
        );
        let payload = dropped.into_payload("StartTransaction").unwrap();
        assert_eq!(payload["values"].as_array().unwrap().len(), 3);
        assert_eq!(payload["values"][2]["field"], "timestamp");
        assert_eq!(Dropped::default().into_payload("X"), None);
    }

    #[test]
    fn register_values_beyond_a_terawatt_hour_are_dropped() {
        let d = &mut Dropped::default();
        assert_eq!(
            register_wh("meterStart", 1_000_000_000_000, d),
            Some(Decimal::from(1_000_000_000_000i64))
        );
        assert_eq!(register_wh("meterStart", 1_000_000_000_001, d), None);
        assert_eq!(register_wh("meterStop", i64::MIN, d), None);
        assert_eq!(register_wh("meterStop", i64::MAX, d), None);
    }

    #[test]
    fn a_message_keeps_twenty_notes_and_counts_the_rest() {
        let mut d = Dropped::default();
        for _ in 0..1000 {
            d.note(
                "meterValue.sampledValue.value",
                &"9".repeat(10_000),
                "no number",
            );
        }
        let p = d.into_payload("MeterValues").unwrap();
        assert_eq!(p["values"].as_array().unwrap().len(), 20);
        assert_eq!(p["omitted"], 980);
        assert_eq!(p["values"][0]["value"].as_str().unwrap().len(), 64);
    }
}
