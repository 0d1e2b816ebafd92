//! Wire helpers shared by both versions' action modules.

use super::HandlerError;
use chrono::{NaiveDateTime, SecondsFormat, Utc};
use csms_domain::Timestamp;
use rust_decimal::Decimal;
use std::str::FromStr;

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

pub fn require_time(field: &str, s: &str) -> Result<Timestamp, HandlerError> {
    parse_time(s).ok_or_else(|| HandlerError::Invalid(format!("{field}: {s:?} is not a timestamp")))
}

/// Timestamps we send: RFC 3339, UTC, millisecond precision, `Z`.
pub fn format_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A decimal from a JSON number without going through a float.
pub fn decimal_from_json(n: &serde_json::Number) -> Option<Decimal> {
    let s = n.to_string();
    Decimal::from_str(&s)
        .ok()
        .or_else(|| Decimal::from_scientific(&s).ok())
}

#[cfg(test)]
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
}
