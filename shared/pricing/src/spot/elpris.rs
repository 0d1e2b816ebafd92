//! The elprisetjustnu.se day document.
//!
//! `GET {base}/{YYYY}/{MM}-{DD}_{ZONE}.json` answers a JSON array with one
//! object per slot of the zone's local day:
//!
//! ```json
//! [{"SEK_per_kWh":0.2901,"EUR_per_kWh":0.02628,"EXR":11.04,
//!   "time_start":"2025-10-01T00:00:00+02:00","time_end":"2025-10-01T00:15:00+02:00"}, …]
//! ```
//!
//! Quarter-hours since 1 October 2025 (92/96/100 a day), hours before (23/24/25);
//! times carry the local offset, so the repeated hour of an autumn day is two
//! distinct sets of instants. Prices are per kWh excluding VAT; the day is not
//! there (404) until it is published, early afternoon the day before.
//!
//! Prices are read from the number's text (`serde_json`'s `RawValue`), never
//! through an `f64`: a binary float cannot hold most decimal prices, and
//! whether the decimal digits come back unchanged after a float round trip
//! depends on how the JSON parser was built. Reading the text keeps every
//! printed digit by construction.

use super::SourceError;
use chrono::{DateTime, NaiveDate, Utc};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "SEK_per_kWh", default)]
    sek: Option<Box<RawValue>>,
    #[serde(rename = "EUR_per_kWh", default)]
    eur: Option<Box<RawValue>>,
    time_start: String,
    #[serde(default)]
    time_end: Option<String>,
}

/// A JSON number's text as an exact decimal.
pub fn number(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    if !t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(format!("{t} is not a number"));
    }
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        // `_exact`: more digits than a Decimal holds is an error, not a rounding.
        Decimal::from_str_exact(t)
    };
    parsed.map_err(|e| format!("{t}: {e}"))
}

fn instant(s: &str) -> Result<Timestamp, SourceError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| SourceError::Format(format!("{s:?} is not an RFC 3339 time")))
}

/// The zone's prices of `date` from an elprisetjustnu.se day document, in the
/// zone's currency (SEK for Swedish zones). An empty array is "not published".
pub fn parse_day(
    body: &str,
    zone: BiddingZone,
    date: NaiveDate,
    fetched_at: Timestamp,
) -> Result<Option<SpotDay>, SourceError> {
    let entries: Vec<Entry> = serde_json::from_str(body)
        .map_err(|e| SourceError::Format(format!("not an elprisetjustnu.se price list: {e}")))?;
    if entries.is_empty() {
        return Ok(None);
    }
    let currency = zone.currency();
    let mut rows = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let raw = match currency {
            "SEK" => e.sek.as_ref(),
            "EUR" => e.eur.as_ref(),
            other => {
                return Err(SourceError::Format(format!(
                    "elprisetjustnu.se quotes SEK and EUR, not {other}"
                )))
            }
        }
        .ok_or_else(|| SourceError::Format(format!("entry {i}: no {currency}_per_kWh")))?;
        let price = number(raw.get())
            .map_err(|m| SourceError::Format(format!("entry {i}: {currency}_per_kWh {m}")))?;
        let start = instant(&e.time_start)?;
        let end = e.time_end.as_deref().map(instant).transpose()?;
        rows.push((start, end, price));
    }
    rows.sort_by_key(|r| r.0);
    // Every slot has the same length: from `time_end` where given, else the
    // distance to the next slot (the last one repeats its predecessor's).
    let mut lengths = Vec::with_capacity(rows.len());
    for (i, (start, end, _)) in rows.iter().enumerate() {
        let len = match (end, rows.get(i + 1), i.checked_sub(1)) {
            (Some(end), _, _) => *end - *start,
            (None, Some(next), _) => next.0 - *start,
            (None, None, Some(_)) => *lengths.last().expect("previous slot measured"),
            (None, None, None) => {
                return Err(SourceError::Format(
                    "a single slot without time_end has no length".into(),
                ))
            }
        };
        lengths.push(len);
    }
    let minutes = lengths[0].num_minutes();
    if lengths.iter().any(|l| *l != lengths[0]) || minutes <= 0 {
        return Err(SourceError::Format(
            "slots of different or no length".into(),
        ));
    }
    let step = lengths[0];
    let day = SpotDay {
        zone,
        date,
        currency: currency.to_owned(),
        resolution_minutes: u32::try_from(minutes).unwrap_or(0),
        slots: rows
            .into_iter()
            .map(|(start, _, price)| SpotSlot {
                start,
                end: start + step,
                price,
            })
            .collect(),
        source: SpotSource::Elprisetjustnu,
        fetched_at,
    };
    day.validate()?;
    Ok(Some(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spot::tests::fixture;
    use csms_domain::spot::SpotDayError;

    fn zone(z: &str) -> BiddingZone {
        BiddingZone::parse(z).unwrap()
    }

    fn at() -> Timestamp {
        "2026-01-01T12:00:00Z".parse().unwrap()
    }

    fn parse(file: &str, z: &str, d: &str) -> SpotDay {
        parse_day(&fixture(file), zone(z), d.parse().unwrap(), at())
            .unwrap()
            .unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_quarter_hour_day_keeps_every_printed_digit() {
        let d = parse("elpris-2025-10-01-SE3.json", "SE3", "2025-10-01");
        assert_eq!(d.slots.len(), 96);
        assert_eq!(d.resolution_minutes, 15);
        assert_eq!(d.currency, "SEK");
        assert_eq!(d.source, SpotSource::Elprisetjustnu);
        assert_eq!(d.fetched_at, at());
        assert_eq!(
            d.slots[0].start,
            "2025-09-30T22:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            d.slots[95].end,
            "2025-10-01T22:00:00Z".parse::<Timestamp>().unwrap()
        );
        // Exactly the text of the document, no binary float in between.
        let body = fixture("elpris-2025-10-01-SE3.json");
        let first = body.split("\"SEK_per_kWh\":").nth(1).unwrap();
        let text = &first[..first.find(',').unwrap()];
        assert_eq!(d.slots[0].price.to_string(), text);
    }

    #[test]
    fn dst_days_have_92_and_100_quarter_hours_and_negative_prices_stay() {
        let spring = parse("elpris-2026-03-29-SE3.json", "SE3", "2026-03-29");
        assert_eq!(spring.slots.len(), 92);
        // 01:45+01:00 is followed by 03:00+02:00: one instant apart.
        assert_eq!(spring.slots[7].end, spring.slots[8].start);
        assert_eq!(
            spring.slots[8].start,
            "2026-03-29T01:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(spring.slots.iter().any(|s| s.price < Decimal::ZERO));
        assert_eq!(
            spring
                .slots
                .iter()
                .find(|s| s.price < Decimal::ZERO)
                .unwrap()
                .price,
            dec("-0.0501")
        );

        let autumn = parse("elpris-2026-10-25-SE4.json", "SE4", "2026-10-25");
        assert_eq!(autumn.slots.len(), 100);
        // 02:00 local twice: 00:00Z (+02:00) and 01:00Z (+01:00).
        assert_eq!(
            autumn.slots[8].start,
            "2026-10-25T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            autumn.slots[12].start,
            "2026-10-25T01:00:00Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn an_hourly_day_before_october_2025() {
        let d = parse("elpris-2025-09-30-SE1.json", "SE1", "2025-09-30");
        assert_eq!(d.resolution_minutes, 60);
        assert_eq!(d.slots.len(), 24);
        assert!(d.validate().is_ok());
    }

    #[test]
    fn time_end_may_be_absent() {
        let body = r#"[{"SEK_per_kWh":0.5,"time_start":"2025-09-30T00:00:00+02:00"},
                       {"SEK_per_kWh":-0.25,"time_start":"2025-09-30T01:00:00+02:00"}]"#;
        // Two hours do not make a day: the day check says so.
        let err = parse_day(body, zone("SE1"), "2025-09-30".parse().unwrap(), at()).unwrap_err();
        assert!(matches!(
            err,
            SourceError::Invalid(SpotDayError::SlotCount {
                expected: 24,
                got: 2,
                ..
            })
        ));
    }

    #[test]
    fn the_wrong_day_or_a_broken_document_is_an_error() {
        let body = fixture("elpris-2025-10-01-SE3.json");
        assert!(matches!(
            parse_day(&body, zone("SE3"), "2025-10-02".parse().unwrap(), at()),
            Err(SourceError::Invalid(SpotDayError::Gap { .. }))
        ));
        assert_eq!(
            parse_day("[]", zone("SE3"), "2025-10-02".parse().unwrap(), at()),
            Ok(None)
        );
        for bad in [
            "<html>",
            r#"{"error":"x"}"#,
            r#"[{"SEK_per_kWh":"0.5","time_start":"2025-10-01T00:00:00+02:00"}]"#,
            r#"[{"EUR_per_kWh":0.5,"time_start":"2025-10-01T00:00:00+02:00"}]"#,
            r#"[{"SEK_per_kWh":0.5,"time_start":"yesterday"}]"#,
        ] {
            assert!(
                matches!(
                    parse_day(bad, zone("SE3"), "2025-10-01".parse().unwrap(), at()),
                    Err(SourceError::Format(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers_are_read_exactly() {
        assert_eq!(number("0.29010").unwrap().to_string(), "0.29010");
        assert_eq!(number("-0.00123").unwrap(), dec("-0.00123"));
        assert_eq!(number("1e-5").unwrap(), dec("0.00001"));
        assert_eq!(number("12").unwrap(), dec("12"));
        assert!(number("\"1\"").is_err());
        assert!(number("0.1234567890123456789012345678901").is_err());
    }
}
