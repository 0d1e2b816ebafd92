//! The ENTSO-E Transparency Platform day-ahead price document (A44).
//!
//! `GET {base}?securityToken=…&documentType=A44&in_Domain={eic}&out_Domain={eic}
//! &periodStart=yyyyMMddHHmm&periodEnd=yyyyMMddHHmm` (UTC) answers a
//! `Publication_MarketDocument`:
//!
//! ```xml
//! <TimeSeries>
//!   <in_Domain.mRID codingScheme="A01">10Y1001A1001A46L</in_Domain.mRID>
//!   <currency_Unit.name>EUR</currency_Unit.name>
//!   <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
//!   <curveType>A03</curveType>
//!   <Period>
//!     <timeInterval><start>2025-09-30T22:00Z</start><end>2025-10-01T22:00Z</end></timeInterval>
//!     <resolution>PT15M</resolution>
//!     <Point><position>1</position><price.amount>28.52</price.amount></Point> …
//! ```
//!
//! or, when there is nothing, an `Acknowledgement_MarketDocument` whose
//! `Reason/code` 999 means "no matching data" (not published yet).
//!
//! What the parser copes with:
//! - several `TimeSeries` and `Period`s: the platform answers per delivery
//!   day of the market (CET), so a zone in another time zone (FI) gets two
//!   days and its local day is cut out of both;
//! - curve type A03 (variable-sized blocks): a position whose price equals
//!   the previous one may be left out, and is filled forward; A01 must list
//!   every position;
//! - both a PT15M and a PT60M series for the same day (published side by side
//!   around the move to quarter-hours): the finest series that covers the
//!   whole local day wins; PT30M becomes two equal quarter-hours;
//! - EUR/MWh becomes currency/kWh with the configured exchange rate. The
//!   product is exact (`price × rate / 1000` of two finite decimals), so it
//!   is not rounded: nothing is lost, and the pricing engine rounds money
//!   where its rule says.
//!
//! Elements are matched by local name, so the namespace version (7:0, 7:3)
//! does not matter.

use super::SourceError;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::Timestamp;
use roxmltree::Node;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// What an answer said.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    Prices(Vec<Series>),
    Acknowledgement { code: String, text: String },
}

/// One `Period` of one `TimeSeries`, with A03 gaps already filled.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `in_Domain.mRID`, when given.
    pub domain: Option<String>,
    pub currency: String,
    /// `price_Measure_Unit.name`, e.g. `MWH`.
    pub unit: String,
    pub start: Timestamp,
    pub resolution: TimeDelta,
    /// One per position, in order.
    pub prices: Vec<Decimal>,
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text<'a>(n: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(n, name).and_then(|c| c.text()).map(str::trim)
}

fn required<'a>(n: Node<'a, '_>, name: &str, within: &str) -> Result<&'a str, SourceError> {
    text(n, name).ok_or_else(|| SourceError::Format(format!("{within} without {name}")))
}

/// `2025-09-30T22:00Z` (no seconds, as the platform writes it) or full RFC 3339.
fn instant(s: &str) -> Result<Timestamp, SourceError> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%#z"))
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ").map(|t| t.and_utc())
        })
        .map_err(|_| SourceError::Format(format!("{s:?} is not a UTC time")))
}

/// ISO 8601 durations the platform uses for resolutions: `PT15M`, `PT60M`, `PT1H`.
fn resolution(s: &str) -> Result<TimeDelta, SourceError> {
    let bad = || SourceError::Format(format!("resolution {s:?} is not supported"));
    let rest = s.strip_prefix("PT").ok_or_else(bad)?;
    let (n, unit) = rest.split_at(rest.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "M" => n,
        "H" => n * 60,
        _ => return Err(bad()),
    };
    if minutes <= 0 || minutes % 15 != 0 || minutes > 24 * 60 {
        return Err(bad());
    }
    Ok(TimeDelta::minutes(minutes))
}

/// Reads a document; does not look at zone or day yet.
pub fn parse_document(xml: &str) -> Result<Document, SourceError> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| SourceError::Format(format!("not XML: {e}")))?;
    let root = doc.root_element();
    match root.tag_name().name() {
        "Acknowledgement_MarketDocument" => {
            let reason = child(root, "Reason");
            Ok(Document::Acknowledgement {
                code: reason
                    .and_then(|r| text(r, "code"))
                    .unwrap_or("")
                    .to_owned(),
                text: reason
                    .and_then(|r| text(r, "text"))
                    .unwrap_or("")
                    .to_owned(),
            })
        }
        "Publication_MarketDocument" => {
            let mut out = Vec::new();
            for ts in children(root, "TimeSeries") {
                let curve = text(ts, "curveType").unwrap_or("A01");
                let currency = required(ts, "currency_Unit.name", "TimeSeries")?;
                let unit = required(ts, "price_Measure_Unit.name", "TimeSeries")?;
                let domain = text(ts, "in_Domain.mRID").map(str::to_owned);
                for period in children(ts, "Period") {
                    out.push(read_period(period, curve, currency, unit, domain.clone())?);
                }
            }
            Ok(Document::Prices(out))
        }
        other => Err(SourceError::Format(format!(
            "{other} is neither a Publication_ nor an Acknowledgement_MarketDocument"
        ))),
    }
}

fn read_period(
    period: Node<'_, '_>,
    curve: &str,
    currency: &str,
    unit: &str,
    domain: Option<String>,
) -> Result<Series, SourceError> {
    let interval = child(period, "timeInterval")
        .ok_or_else(|| SourceError::Format("Period without timeInterval".into()))?;
    let start = instant(required(interval, "start", "timeInterval")?)?;
    let end = instant(required(interval, "end", "timeInterval")?)?;
    let res = resolution(required(period, "resolution", "Period")?)?;
    let span = end - start;
    if span <= TimeDelta::zero() || span.num_minutes() % res.num_minutes() != 0 {
        return Err(SourceError::Format(format!(
            "Period {start}–{end} is not a whole number of {} min",
            res.num_minutes()
        )));
    }
    let n = (span.num_minutes() / res.num_minutes()) as usize;
    let mut given: Vec<Option<Decimal>> = vec![None; n];
    for point in children(period, "Point") {
        let pos: usize = required(point, "position", "Point")?
            .parse()
            .map_err(|_| SourceError::Format("Point position is not a number".into()))?;
        let amount = required(point, "price.amount", "Point")?;
        let price: Decimal = amount.parse().map_err(|_| {
            SourceError::Format(format!("price.amount {amount:?} is not a decimal"))
        })?;
        let slot = pos
            .checked_sub(1)
            .and_then(|i| given.get_mut(i))
            .ok_or_else(|| SourceError::Format(format!("position {pos} outside 1..={n}")))?;
        *slot = Some(price);
    }
    let fill_forward = curve == "A03";
    let mut prices = Vec::with_capacity(n);
    for (i, p) in given.into_iter().enumerate() {
        match (p, prices.last()) {
            (Some(p), _) => prices.push(p),
            (None, Some(prev)) if fill_forward => prices.push(*prev),
            (None, _) => {
                return Err(SourceError::Format(format!(
                    "position {} missing (curve type {curve})",
                    i + 1
                )))
            }
        }
    }
    Ok(Series {
        domain,
        currency: currency.to_owned(),
        unit: unit.to_owned(),
        start,
        resolution: res,
        prices,
    })
}

/// The zone's local `date` out of a document's series, converted to the
/// zone's currency per kWh (`eur_rate`: units of the zone's currency per
/// EUR). `None` when the document has nothing of the day, or only its
/// beginning (the rest belongs to a market day not published yet).
pub fn day_from(
    series: &[Series],
    zone: BiddingZone,
    date: NaiveDate,
    eur_rate: Decimal,
    fetched_at: Timestamp,
) -> Result<Option<SpotDay>, SourceError> {
    let day_start = zone.day_start(date);
    let day_end = zone.day_start(date.succ_opt().expect("date in range"));
    // Per output resolution (15 or 60 min): slot start → price per kWh.
    let mut grids: BTreeMap<i64, BTreeMap<Timestamp, Decimal>> = BTreeMap::new();
    for s in series {
        if s.domain.as_deref().is_some_and(|d| d != zone.eic()) {
            continue;
        }
        if !s.unit.eq_ignore_ascii_case("MWH") {
            return Err(SourceError::Format(format!(
                "prices per {}, expected per MWH",
                s.unit
            )));
        }
        let rate = if s.currency.eq_ignore_ascii_case(zone.currency()) {
            Decimal::ONE
        } else if s.currency.eq_ignore_ascii_case("EUR") {
            eur_rate
        } else {
            return Err(SourceError::Format(format!(
                "prices in {}, expected EUR or {}",
                s.currency,
                zone.currency()
            )));
        };
        let res = s.resolution.num_minutes();
        let out = if res % 60 == 0 { 60 } else { 15 };
        let grid = grids.entry(out).or_default();
        let step = TimeDelta::minutes(out);
        for (i, eur_mwh) in s.prices.iter().enumerate() {
            let from = s.start + s.resolution * i as i32;
            let to = from + s.resolution;
            let per_kwh = (eur_mwh * rate / Decimal::ONE_THOUSAND).normalize();
            let mut at = from;
            while at < to {
                if at >= day_start && at < day_end {
                    // The first series to give a slot keeps it.
                    grid.entry(at).or_insert(per_kwh);
                }
                at += step;
            }
        }
    }
    let expected = |out: i64| ((day_end - day_start).num_minutes() / out) as usize;
    // The finest resolution that covers the whole day.
    for (&out, grid) in &grids {
        if grid.len() == expected(out) {
            let step = TimeDelta::minutes(out);
            let day = SpotDay {
                zone,
                date,
                currency: zone.currency().to_owned(),
                resolution_minutes: out as u32,
                slots: grid
                    .iter()
                    .map(|(&start, &price)| SpotSlot {
                        start,
                        end: start + step,
                        price,
                    })
                    .collect(),
                source: SpotSource::Entsoe,
                fetched_at,
            };
            day.validate()?;
            return Ok(Some(day));
        }
    }
    // Not complete at any resolution. Only a tail missing means the next
    // market day is not out yet; a hole in the middle is a broken answer.
    let Some((&out, grid)) = grids.iter().max_by_key(|(_, g)| g.len()) else {
        return Ok(None);
    };
    let step = TimeDelta::minutes(out);
    let prefix = grid
        .keys()
        .enumerate()
        .all(|(i, &t)| t == day_start + step * i as i32);
    if grid.is_empty() || prefix {
        Ok(None)
    } else {
        Err(SourceError::Incomplete(format!(
            "{} of {} slots of {} min for {} {date}",
            grid.len(),
            expected(out),
            out,
            zone.code()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spot::tests::fixture;

    fn zone(z: &str) -> BiddingZone {
        BiddingZone::parse(z).unwrap()
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn series_of(file: &str) -> Vec<Series> {
        match parse_document(&fixture(file)).unwrap() {
            Document::Prices(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn day(file: &str, z: &str, d: &str, rate: &str) -> SpotDay {
        day_from(
            &series_of(file),
            zone(z),
            d.parse().unwrap(),
            dec(rate),
            t("2026-01-01T00:00:00Z"),
        )
        .unwrap()
        .unwrap()
    }

    /// A one-series document, for the edge cases.
    fn doc(start: &str, end: &str, res: &str, curve: &str, points: &[(u32, &str)]) -> String {
        let pts: String = points
            .iter()
            .map(|(p, a)| {
                format!("<Point><position>{p}</position><price.amount>{a}</price.amount></Point>")
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:0">
<type>A44</type>
<TimeSeries><in_Domain.mRID codingScheme="A01">10Y1001A1001A46L</in_Domain.mRID>
<currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>
<curveType>{curve}</curveType>
<Period><timeInterval><start>{start}</start><end>{end}</end></timeInterval><resolution>{res}</resolution>{pts}</Period>
</TimeSeries></Publication_MarketDocument>"#
        )
    }

    fn se3(xml: &str, d: &str) -> Result<Option<SpotDay>, SourceError> {
        match parse_document(xml)? {
            Document::Prices(s) => day_from(
                &s,
                zone("SE3"),
                d.parse().unwrap(),
                dec("11.05"),
                t("2026-01-01T00:00:00Z"),
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a03_positions_are_filled_forward_and_quarter_hours_win_over_hours() {
        let xml = fixture("entsoe-2025-10-01-SE3.xml");
        // Not every position is listed (A03)…
        assert!(xml.matches("<Point>").count() < 96 + 24);
        let s = series_of("entsoe-2025-10-01-SE3.xml");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].prices.len(), 24);
        assert_eq!(s[1].prices.len(), 96);
        // …and each left-out one repeats the previous price.
        let d = day("entsoe-2025-10-01-SE3.xml", "SE3", "2025-10-01", "11.05");
        assert_eq!(d.resolution_minutes, 15);
        assert_eq!(d.slots.len(), 96);
        assert_eq!(d.source, SpotSource::Entsoe);
        assert_eq!(d.currency, "SEK");
        for (slot, eur) in d.slots.iter().zip(&s[1].prices) {
            assert_eq!(slot.price, eur * dec("11.05") / dec("1000"));
        }
    }

    #[test]
    fn eur_per_mwh_becomes_sek_per_kwh_exactly() {
        let xml = doc(
            "2025-09-30T22:00Z",
            "2025-10-01T22:00Z",
            "PT60M",
            "A03",
            &[(1, "28.52"), (5, "-1.05"), (6, "0")],
        );
        let d = se3(&xml, "2025-10-01").unwrap().unwrap();
        assert_eq!(d.resolution_minutes, 60);
        assert_eq!(d.slots[0].price, dec("0.315146"));
        assert_eq!(d.slots[3].price, dec("0.315146"));
        assert_eq!(d.slots[4].price, dec("-0.0116025"));
        assert_eq!(d.slots[23].price, Decimal::ZERO);
    }

    #[test]
    fn the_long_autumn_day_has_100_quarter_hours_and_negative_prices() {
        let d = day("entsoe-2026-10-25-SE3.xml", "SE3", "2026-10-25", "11.2");
        assert_eq!(d.slots.len(), 100);
        assert!(d.slots.iter().any(|s| s.price < Decimal::ZERO));
        assert_eq!(d.slots[99].end, t("2026-10-25T23:00:00Z"));
    }

    #[test]
    fn a_zone_in_another_time_zone_is_cut_out_of_two_market_days() {
        // FI, 29 March 2026 (EET→EEST): 23 hours, 22:00Z to 21:00Z, from the
        // CET days of the 28th (its last hour) and the 29th.
        let s = series_of("entsoe-2026-03-29-FI.xml");
        assert_eq!(s.len(), 2);
        let d = day_from(
            &s,
            zone("FI"),
            "2026-03-29".parse().unwrap(),
            Decimal::ONE,
            t("2026-03-28T12:00:00Z"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.slots.len(), 92);
        assert_eq!(d.currency, "EUR");
        assert_eq!(d.slots[0].start, t("2026-03-28T22:00:00Z"));
        assert_eq!(d.slots[0].price, s[0].prices[92] / dec("1000"));
        assert_eq!(d.slots[4].price, s[1].prices[0] / dec("1000"));
        // With only the first market day out, the local day is not there yet.
        assert_eq!(
            day_from(
                &s[..1],
                zone("FI"),
                "2026-03-29".parse().unwrap(),
                Decimal::ONE,
                t("2026-03-28T12:00:00Z")
            ),
            Ok(None)
        );
    }

    #[test]
    fn no_data_is_an_acknowledgement_with_reason_999() {
        let d = parse_document(&fixture("entsoe-no-data.xml")).unwrap();
        let Document::Acknowledgement { code, text } = d else {
            panic!()
        };
        assert_eq!(code, "999");
        assert!(text.starts_with("No matching data found"));
    }

    #[test]
    fn other_zones_series_are_ignored_and_holes_are_errors() {
        let xml = doc(
            "2025-09-30T22:00Z",
            "2025-10-01T22:00Z",
            "PT60M",
            "A03",
            &[(1, "10")],
        )
        .replace("10Y1001A1001A46L", "10Y1001A1001A47J");
        assert_eq!(se3(&xml, "2025-10-01"), Ok(None));
        // A01 must list every position.
        let xml = doc(
            "2025-09-30T22:00Z",
            "2025-10-01T22:00Z",
            "PT60M",
            "A01",
            &[(1, "10"), (3, "11")],
        );
        assert!(
            matches!(se3(&xml, "2025-10-01"), Err(SourceError::Format(m)) if m.contains("position 2"))
        );
        // A hole in the middle of the day (not just a tail not published).
        let xml = doc(
            "2025-10-01T02:00Z",
            "2025-10-01T22:00Z",
            "PT60M",
            "A03",
            &[(1, "10")],
        );
        assert!(matches!(
            se3(&xml, "2025-10-01"),
            Err(SourceError::Incomplete(_))
        ));
        let xml = doc(
            "2025-09-30T22:00Z",
            "2025-10-01T12:00Z",
            "PT60M",
            "A03",
            &[(1, "10")],
        );
        assert_eq!(se3(&xml, "2025-10-01"), Ok(None));
        // A03 with the first position left out has nothing to fill from.
        let xml = doc(
            "2025-09-30T22:00Z",
            "2025-10-01T22:00Z",
            "PT60M",
            "A03",
            &[(2, "10")],
        );
        assert!(matches!(
            se3(&xml, "2025-10-01"),
            Err(SourceError::Format(_))
        ));
        let xml = doc(
            "2025-09-30T22:00Z",
            "2025-10-01T22:00Z",
            "PT60M",
            "A03",
            &[(25, "10")],
        );
        assert!(matches!(
            se3(&xml, "2025-10-01"),
            Err(SourceError::Format(_))
        ));
    }

    #[test]
    fn half_hours_become_quarter_hours() {
        let xml = doc(
            "2025-09-30T22:00Z",
            "2025-10-01T22:00Z",
            "PT30M",
            "A03",
            &[(1, "10"), (2, "20")],
        );
        let d = se3(&xml, "2025-10-01").unwrap().unwrap();
        assert_eq!(d.resolution_minutes, 15);
        assert_eq!(d.slots.len(), 96);
        assert_eq!(d.slots[1].price, dec("0.1105"));
        assert_eq!(d.slots[2].price, dec("0.221"));
    }

    #[test]
    fn garbage_is_a_format_error() {
        for bad in [
            "",
            "<html><body>Service unavailable</body></html>",
            "{\"json\":1}",
            "<Publication_MarketDocument><TimeSeries/></Publication_MarketDocument>",
        ] {
            assert!(
                matches!(parse_document(bad), Err(SourceError::Format(_))),
                "{bad}"
            );
        }
        assert!(resolution("PT7M").is_err());
        assert_eq!(resolution("PT1H").unwrap(), TimeDelta::hours(1));
        assert_eq!(
            instant("2025-09-30T22:00Z").unwrap(),
            t("2025-09-30T22:00:00Z")
        );
    }
}
