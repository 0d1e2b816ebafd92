//! The pricing engine: a completed session, its meter curve, a tariff and the
//! spot prices in, an itemised price out. Pure and deterministic — the same
//! inputs in any order give the same lines — so pricing can be repeated
//! safely and checked by property tests.
//!
//! How a session is cut: the time from start to end is split at every instant
//! where some price can change — local midnights and the elements' start and
//! end times (so weekday, date and time-of-day restrictions are honoured on
//! the local clock, across DST changes), spot-price slot boundaries, the end
//! of the free minutes and the start of idle time. Within a piece every price
//! is constant; neighbouring pieces with the same price are joined into one
//! line. Energy per piece comes from the interpolated meter curve.
//!
//! Charger clocks and registers are outside data: a session is priced over at
//! most [`PricingInput::max_duration`] (default [`DEFAULT_MAX_DURATION`],
//! 31 days) from its start — a longer one is priced as if it ended then, with
//! all its metered energy and a warning — so the number of pieces, and the
//! time pricing takes, is bounded whatever the timestamps say. Every sum and
//! product of amounts is checked: what does not fit a decimal is refused
//! with [`PricingError::OutOfRange`], never a panic (clippy's
//! `arithmetic_side_effects` is denied in this module).
#![deny(clippy::arithmetic_side_effects)]

use super::curve::EnergyCurve;
use super::{LineKind, PriceLine};
use crate::session::{Session, SessionStatus};
use crate::spot::{BiddingZone, SpotDay, SpotSlot};
use crate::tariff::{ComponentKind, EnergyPrice, PriceComponent, Tariff, TimeUnit};
use crate::Timestamp;
use chrono::{NaiveDate, TimeDelta, TimeZone};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("session is not completed")]
    NotCompleted,
    #[error("no spot price for {zone} at {at}")]
    MissingSpotPrice { zone: String, at: Timestamp },
    /// An amount that does not fit a decimal (absurd prices or registers).
    #[error("{0} is out of range")]
    OutOfRange(String),
}

/// How much of a session is priced unless configured otherwise.
pub const DEFAULT_MAX_DURATION: TimeDelta = TimeDelta::days(31);

/// The end a session is priced up to: its end, or `max` after its start when
/// it lasted longer (or when that is past the last instant chrono knows).
pub fn priced_end(start: Timestamp, end: Timestamp, max: TimeDelta) -> Timestamp {
    let max = max.max(TimeDelta::zero());
    match start.checked_add_signed(max) {
        Some(cap) => end.min(cap),
        None => end,
    }
}

fn checked(v: Option<Decimal>, what: &str) -> Result<Decimal, PricingError> {
    v.ok_or_else(|| PricingError::OutOfRange(what.to_owned()))
}

/// Spot prices by zone, for lookups by instant.
#[derive(Debug, Clone, Default)]
pub struct SpotTable {
    slots: BTreeMap<BiddingZone, Vec<SpotSlot>>,
}

impl SpotTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_day(&mut self, day: &SpotDay) {
        let slots = self.slots.entry(day.zone).or_default();
        slots.extend(day.slots.iter().cloned());
        slots.sort_by_key(|s| s.start);
        slots.dedup_by_key(|s| s.start);
    }

    /// The slot of `zone` containing `t`.
    pub fn slot(&self, zone: BiddingZone, t: Timestamp) -> Option<&SpotSlot> {
        let slots = self.slots.get(&zone)?;
        let i = slots.partition_point(|s| s.end <= t);
        slots.get(i).filter(|s| s.start <= t)
    }

    /// Slot boundaries of `zone` strictly inside `(from, to)`.
    fn boundaries(&self, zone: BiddingZone, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let Some(slots) = self.slots.get(&zone) else {
            return Vec::new();
        };
        let i = slots.partition_point(|s| s.end <= from);
        slots[i..]
            .iter()
            .take_while(|s| s.start < to)
            .flat_map(|s| [s.start, s.end])
            .filter(|t| *t > from && *t < to)
            .collect()
    }

    /// Local days of `zone` that a session over `[from, to]` needs.
    pub fn days_needed(zone: BiddingZone, from: Timestamp, to: Timestamp) -> Vec<NaiveDate> {
        let mut d = zone.local_date(from);
        let last = zone.local_date(to);
        let mut days = vec![d];
        // Callers cap the span (see `priced_end`); the bound is a second line
        // of defence against a caller that did not.
        while d < last && days.len() <= MAX_DAYS {
            let Some(next) = d.succ_opt() else { break };
            d = next;
            days.push(d);
        }
        days
    }
}

/// Days any one pricing walks at most, whatever the caller asks.
const MAX_DAYS: usize = 400;

/// Everything the engine needs.
pub struct PricingInput<'a> {
    pub session: &'a Session,
    /// Energy register readings of the session, any order.
    pub registers: &'a [(Timestamp, Decimal)],
    pub tariff: &'a Tariff,
    pub spot: &'a SpotTable,
    /// At most this much of the session is priced, from its start.
    pub max_duration: TimeDelta,
}

/// The engine's result, before it is stamped with ids and audit data.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceBreakdown {
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub charging_ended_at: Timestamp,
    pub energy_wh: Decimal,
    pub lines: Vec<PriceLine>,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
    pub warnings: Vec<String>,
}

/// Round an amount the one way priced sessions do.
pub fn round_amount(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The unit price a component has at `t`, with the spot price it came from.
fn unit_price(
    c: &PriceComponent,
    zone_lookup: &SpotTable,
    t: Timestamp,
) -> Result<(Decimal, Option<Decimal>), PricingError> {
    Ok(match c {
        PriceComponent::Energy {
            price: EnergyPrice::Fixed { per_kwh },
        } => (*per_kwh, None),
        PriceComponent::Energy {
            price: EnergyPrice::Spot(f),
        } => {
            let slot =
                zone_lookup
                    .slot(f.zone, t)
                    .ok_or_else(|| PricingError::MissingSpotPrice {
                        zone: f.zone.code().to_owned(),
                        at: t,
                    })?;
            let p = checked(f.apply(slot.price), "the spot-based energy price")?;
            (p, Some(slot.price))
        }
        PriceComponent::Time { price, .. }
        | PriceComponent::SessionFee { price }
        | PriceComponent::Idle { price, .. } => (*price, None),
    })
}

/// Instants inside `(from, to)` where an element of `tariff` may switch on or
/// off: local midnights and the elements' times of day, on every local day.
fn tariff_boundaries(tariff: &Tariff, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
    let tz = tariff.tz();
    let times: BTreeSet<chrono::NaiveTime> = tariff
        .elements
        .iter()
        .flat_map(|e| e.restrictions.times_of_day())
        .chain(std::iter::once(chrono::NaiveTime::MIN))
        .collect();
    let mut out = Vec::new();
    let mut day = crate::spot::local_time(from, tz).date();
    let last = crate::spot::local_time(to, tz).date();
    let mut walked = 0usize;
    while day <= last && walked <= MAX_DAYS {
        walked = walked.saturating_add(1);
        for time in &times {
            let naive = day.and_time(*time);
            let mut instants: Vec<Timestamp> = Vec::new();
            match tz.from_local_datetime(&naive) {
                // Falls back: the local time happens twice, both are boundaries.
                chrono::LocalResult::Ambiguous(a, b) => {
                    instants.push(a.with_timezone(&chrono::Utc));
                    instants.push(b.with_timezone(&chrono::Utc));
                }
                chrono::LocalResult::Single(a) => instants.push(a.with_timezone(&chrono::Utc)),
                // Springs forward past it: the element switches when the
                // clock jumps, the first local minute that exists after it.
                chrono::LocalResult::None => {
                    let mut n = naive;
                    for _ in 0..180 {
                        let Some(next) = n.checked_add_signed(TimeDelta::minutes(1)) else {
                            break;
                        };
                        n = next;
                        if let Some(t) = tz.from_local_datetime(&n).earliest() {
                            // Gaps end on a whole minute, so this is the jump itself.
                            instants.push(t.with_timezone(&chrono::Utc));
                            break;
                        }
                    }
                }
            }
            out.extend(instants.into_iter().filter(|t| *t > from && *t < to));
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    out
}

/// A line being built: the key says what must match to join pieces.
#[derive(Debug, Clone, PartialEq)]
struct Open {
    kind: LineKind,
    element: usize,
    unit_price: Decimal,
    spot: Option<Decimal>,
    start: Timestamp,
    end: Timestamp,
    /// Wh for energy, milliseconds for time and idle.
    amount: Decimal,
    per: Option<TimeUnit>,
}

fn push(lines: &mut Vec<Open>, piece: Open) -> Result<(), PricingError> {
    if let Some(last) = lines.iter_mut().rev().find(|l| l.kind == piece.kind) {
        if last.end == piece.start
            && last.element == piece.element
            && last.unit_price == piece.unit_price
            && last.spot == piece.spot
            && last.per == piece.per
        {
            last.end = piece.end;
            last.amount = checked(last.amount.checked_add(piece.amount), "a line's quantity")?;
            return Ok(());
        }
    }
    lines.push(piece);
    Ok(())
}

/// Price a completed session.
pub fn price(input: &PricingInput<'_>) -> Result<PriceBreakdown, PricingError> {
    let s = input.session;
    if s.status != SessionStatus::Completed {
        return Err(PricingError::NotCompleted);
    }
    let tariff = input.tariff;
    let reported_end = s.ended_at.unwrap_or(s.updated_at);
    let started_at = s
        .started_at
        .unwrap_or_else(|| s.sort_time())
        .min(reported_end);
    let ended_at = priced_end(started_at, reported_end, input.max_duration);
    let curve = EnergyCurve::build(
        started_at,
        ended_at,
        s.meter_start_wh(),
        s.meter_stop_wh(),
        input.registers,
    );
    let mut warnings = curve.warnings.clone();
    if ended_at < reported_end {
        warnings.push(format!(
            "the session ran from {started_at} to {reported_end}, longer than the {} days pricing covers: priced as if it ended at {ended_at}, with all its metered energy",
            input.max_duration.num_days()
        ));
    }
    warnings.extend(s.warnings());
    if s.start_unknown {
        warnings.push(
            "the start of the transaction was never received: priced from the earliest known time"
                .to_owned(),
        );
    }
    let charging_ended_at = curve.last_rise();

    // Session-level values fixed by the elements in force at the start.
    let free_until = match tariff.component_at(ComponentKind::Time, started_at) {
        Some((_, PriceComponent::Time { free_minutes, .. })) => started_at
            .checked_add_signed(TimeDelta::minutes(i64::from(*free_minutes)))
            .unwrap_or(ended_at),
        _ => started_at,
    };
    let idle_from = match tariff.component_at(ComponentKind::Idle, charging_ended_at) {
        Some((_, PriceComponent::Idle { grace_minutes, .. })) => charging_ended_at
            .checked_add_signed(TimeDelta::minutes(i64::from(*grace_minutes)))
            .unwrap_or(ended_at),
        _ => charging_ended_at,
    };

    // Every instant where something may change.
    let mut cuts: Vec<Timestamp> = vec![started_at, ended_at];
    cuts.extend(tariff_boundaries(tariff, started_at, ended_at));
    for zone in tariff.spot_zones() {
        cuts.extend(input.spot.boundaries(zone, started_at, ended_at));
    }
    for t in [free_until, idle_from] {
        if t > started_at && t < ended_at {
            cuts.push(t);
        }
    }
    cuts.sort();
    cuts.dedup();

    let mut open: Vec<Open> = Vec::new();
    if let Some((element, c)) = tariff.component_at(ComponentKind::SessionFee, started_at) {
        let (p, _) = unit_price(c, input.spot, started_at)?;
        open.push(Open {
            kind: LineKind::SessionFee,
            element,
            unit_price: p,
            spot: None,
            start: started_at,
            end: ended_at,
            amount: Decimal::ONE,
            per: None,
        });
    }
    if cuts.len() == 1 && curve.total() > Decimal::ZERO {
        // A session without duration: its energy is priced at its instant.
        if let Some((element, c)) = tariff.component_at(ComponentKind::Energy, started_at) {
            let (p, spot) = unit_price(c, input.spot, started_at)?;
            push(
                &mut open,
                Open {
                    kind: LineKind::Energy,
                    element,
                    unit_price: p,
                    spot,
                    start: started_at,
                    end: ended_at,
                    amount: curve.total(),
                    per: None,
                },
            )?;
        }
    }
    let mut energy_before = curve.at(started_at);
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let energy_after = curve.at(b);
        // Both lie in [0, total]: the difference cannot overflow.
        let wh = checked(energy_after.checked_sub(energy_before), "a piece's energy")?;
        energy_before = energy_after;
        let ms = Decimal::from(b.signed_duration_since(a).num_milliseconds());
        if wh > Decimal::ZERO {
            if let Some((element, c)) = tariff.component_at(ComponentKind::Energy, a) {
                let (p, spot) = unit_price(c, input.spot, a)?;
                push(
                    &mut open,
                    Open {
                        kind: LineKind::Energy,
                        element,
                        unit_price: p,
                        spot,
                        start: a,
                        end: b,
                        amount: wh,
                        per: None,
                    },
                )?;
            }
        }
        // Time and idle are priced alike: per minute or hour of the piece,
        // each from its own starting instant.
        for (kind, line, from) in [
            (ComponentKind::Time, LineKind::Time, free_until),
            (ComponentKind::Idle, LineKind::Idle, idle_from),
        ] {
            if a < from {
                continue;
            }
            if let Some((element, c)) = tariff.component_at(kind, a) {
                let (PriceComponent::Time { per, .. } | PriceComponent::Idle { per, .. }) = c
                else {
                    continue;
                };
                let (p, _) = unit_price(c, input.spot, a)?;
                push(
                    &mut open,
                    Open {
                        kind: line,
                        element,
                        unit_price: p,
                        spot: None,
                        start: a,
                        end: b,
                        amount: ms,
                        per: Some(*per),
                    },
                )?;
            }
        }
    }

    let mut lines: Vec<PriceLine> = open.into_iter().map(finish).collect::<Result<_, _>>()?;
    lines.sort_by_key(|l| (l.start, kind_order(l.kind)));
    let mut net = Decimal::ZERO;
    for l in &lines {
        net = checked(net.checked_add(l.net), "the net total")?;
    }
    let adjust = |kind: LineKind, target: Decimal, net: Decimal| {
        let diff = checked(target.checked_sub(net), "a price-cap adjustment")?;
        Ok::<_, PricingError>(PriceLine {
            kind,
            start: started_at,
            end: ended_at,
            quantity: Decimal::ONE,
            unit: "session".to_owned(),
            unit_price: diff,
            net: diff,
            element: None,
            spot_price: None,
        })
    };
    if let Some(min) = tariff.min_price.map(round_amount) {
        if net < min {
            lines.push(adjust(LineKind::MinimumPriceAdjustment, min, net)?);
            net = min;
        }
    }
    if let Some(max) = tariff.max_price.map(round_amount) {
        if net > max {
            lines.push(adjust(LineKind::MaximumPriceAdjustment, max, net)?);
            net = max;
        }
    }
    let vat = round_amount(checked(net.checked_mul(tariff.vat_rate), "the VAT")?);
    let gross = checked(net.checked_add(vat), "the gross total")?;
    Ok(PriceBreakdown {
        started_at,
        ended_at,
        charging_ended_at,
        energy_wh: curve.total(),
        lines,
        net,
        vat,
        gross,
        warnings,
    })
}

fn kind_order(k: LineKind) -> u8 {
    match k {
        LineKind::SessionFee => 0,
        LineKind::Energy => 1,
        LineKind::Time => 2,
        LineKind::Idle => 3,
        LineKind::MinimumPriceAdjustment => 4,
        LineKind::MaximumPriceAdjustment => 5,
    }
}

fn finish(o: Open) -> Result<PriceLine, PricingError> {
    let (quantity, unit, exact) = match o.kind {
        LineKind::Energy => {
            let kwh = checked(
                o.amount.checked_div(Decimal::ONE_THOUSAND),
                "an energy line",
            )?;
            let exact = checked(kwh.checked_mul(o.unit_price), "an energy line's amount")?;
            (kwh.normalize(), "kWh".to_owned(), exact)
        }
        LineKind::Time | LineKind::Idle => {
            let per = o.per.unwrap_or(TimeUnit::Minute);
            let unit_ms = Decimal::from(per.seconds().saturating_mul(1000));
            // The amount is computed from exact milliseconds; the quantity
            // shown is rounded to six decimals for reading only.
            let exact = checked(
                o.amount
                    .checked_mul(o.unit_price)
                    .and_then(|v| v.checked_div(unit_ms)),
                "a time line's amount",
            )?;
            let quantity = checked(o.amount.checked_div(unit_ms), "a time line's quantity")?;
            (
                quantity.round_dp(6).normalize(),
                per.as_str().to_owned(),
                exact,
            )
        }
        _ => (Decimal::ONE, "session".to_owned(), o.unit_price),
    };
    Ok(PriceLine {
        kind: o.kind,
        start: o.start,
        end: o.end,
        quantity,
        unit,
        unit_price: o.unit_price.normalize(),
        net: round_amount(exact),
        element: Some(o.element),
        spot_price: o.spot.map(|s| s.normalize()),
    })
}

/// What a component costs at one instant: for the price preview.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentPrice {
    pub kind: ComponentKind,
    pub element: usize,
    /// Net per unit.
    pub unit_price: Decimal,
    pub unit: &'static str,
    pub spot_price: Option<Decimal>,
    /// Idle: minutes of grace; time: free minutes.
    pub free_minutes: u32,
}

/// The prices of every component in force at `at`.
pub fn prices_at(
    tariff: &Tariff,
    spot: &SpotTable,
    at: Timestamp,
) -> Result<Vec<CurrentPrice>, PricingError> {
    let mut out = Vec::new();
    for kind in [
        ComponentKind::SessionFee,
        ComponentKind::Energy,
        ComponentKind::Time,
        ComponentKind::Idle,
    ] {
        if let Some((element, c)) = tariff.component_at(kind, at) {
            let (unit_price, spot_price) = unit_price(c, spot, at)?;
            let (unit, free_minutes) = match c {
                PriceComponent::Energy { .. } => ("kWh", 0),
                PriceComponent::Time {
                    per, free_minutes, ..
                } => (per.as_str(), *free_minutes),
                PriceComponent::Idle {
                    per, grace_minutes, ..
                } => (per.as_str(), *grace_minutes),
                PriceComponent::SessionFee { .. } => ("session", 0),
            };
            out.push(CurrentPrice {
                kind,
                element,
                unit_price: unit_price.normalize(),
                unit,
                spot_price,
                free_minutes,
            });
        }
    }
    Ok(out)
}
