//! Tariffs: what charging costs, when, and for whom.
//!
//! A tariff is an ordered list of [`TariffElement`]s. Each element holds price
//! components and the restrictions under which they apply (weekdays, local time
//! of day, validity dates). For each kind of component, the *first* element
//! that has one and whose restrictions hold at an instant sets the price at
//! that instant — so a scheduled price is an element with restrictions placed
//! before the unrestricted default. Times are evaluated in the tariff's time
//! zone (Europe/Stockholm unless set).
//!
//! Tariffs reach drivers through [`TariffAssignment`]s: to a station, a site or
//! the whole organisation, for everyone or for one user group. The resolution
//! order is fixed and explained by [`resolve`].
//!
//! Tariffs are versioned: an update stores a new version and keeps the old
//! one, and a session is priced with the version in force when it started.
//!
//! How tariffs and assignments are written to a store is not decided here:
//! the stored JSON form is `csms_store_records::tariff`.

use crate::spot::BiddingZone;
use crate::{OrgId, SiteId, StationId, Timestamp};
use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Per-unit prices are stored exactly as given; amounts are rounded only when
/// a line is priced.
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    pub id: String,
    pub org_id: OrgId,
    pub name: String,
    /// ISO 4217, upper case ("SEK").
    pub currency: String,
    /// 0.25 for 25 %.
    pub vat_rate: Decimal,
    /// IANA name; restrictions are evaluated in this zone. `None`: in the
    /// time zone of the site where the session happens
    /// ([`Tariff::in_site_zone`]), `Europe/Stockholm` without a site.
    pub time_zone: Option<String>,
    pub elements: Vec<TariffElement>,
    /// Bounds on the session's net price (before VAT).
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    /// 1, 2, …: every update is a new version; old ones are kept.
    pub version: u64,
    /// When this version came into force.
    pub effective_at: Timestamp,
    pub created_at: Timestamp,
    /// A deleted tariff prices nothing new; its versions stay readable.
    pub deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TariffElement {
    pub components: Vec<PriceComponent>,
    pub restrictions: Restrictions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeUnit {
    Minute,
    Hour,
}

impl TimeUnit {
    pub fn seconds(self) -> i64 {
        match self {
            TimeUnit::Minute => 60,
            TimeUnit::Hour => 3600,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Minute => "min",
            TimeUnit::Hour => "h",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PriceComponent {
    /// Per kWh delivered.
    Energy { price: EnergyPrice },
    /// Per minute or hour from start to end of the session; the first
    /// `free_minutes` of the session are free.
    Time {
        price: Decimal,
        per: TimeUnit,
        free_minutes: u32,
    },
    /// Once per session, from the element in force when the session started.
    SessionFee { price: Decimal },
    /// Per minute or hour from `grace_minutes` after charging stopped (the
    /// last time the energy register rose) until the session ended.
    Idle {
        price: Decimal,
        per: TimeUnit,
        grace_minutes: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ComponentKind {
    Energy,
    Time,
    SessionFee,
    Idle,
}

impl PriceComponent {
    pub fn kind(&self) -> ComponentKind {
        match self {
            PriceComponent::Energy { .. } => ComponentKind::Energy,
            PriceComponent::Time { .. } => ComponentKind::Time,
            PriceComponent::SessionFee { .. } => ComponentKind::SessionFee,
            PriceComponent::Idle { .. } => ComponentKind::Idle,
        }
    }
}

/// The energy price: fixed, or following the spot price of a bidding zone.
#[derive(Debug, Clone, PartialEq)]
pub enum EnergyPrice {
    Fixed { per_kwh: Decimal },
    Spot(SpotFormula),
}

/// `clamp(spot × factor + markup, floor, ceiling) + grid_fee + energy_tax`, per kWh.
///
/// The floor is how negative spot prices are handled: with the default floor
/// of 0 a negative spot price makes the spot part free, never a credit; an
/// operator who wants to pass negative prices on sets a negative floor.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotFormula {
    pub zone: BiddingZone,
    pub factor: Decimal,
    pub markup: Decimal,
    pub grid_fee: Decimal,
    pub energy_tax: Decimal,
    pub floor: Option<Decimal>,
    pub ceiling: Option<Decimal>,
}

impl SpotFormula {
    /// Price per kWh for a spot price per kWh; `None` when it does not fit
    /// a decimal (a spot price or factor far beyond any real one).
    pub fn apply(&self, spot: Decimal) -> Option<Decimal> {
        let mut p = spot.checked_mul(self.factor)?.checked_add(self.markup)?;
        if let Some(f) = self.floor {
            p = p.max(f);
        }
        if let Some(c) = self.ceiling {
            p = p.min(c);
        }
        p.checked_add(self.grid_fee)?.checked_add(self.energy_tax)
    }
}

/// When an element applies. Empty restrictions always hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Local weekdays; empty: every day.
    pub days_of_week: Vec<Weekday>,
    /// Local time of day, inclusive. With `end_time` earlier than
    /// `start_time` the window wraps midnight (22:00–06:00); the weekday is
    /// that of the instant itself.
    pub start_time: Option<NaiveTime>,
    /// Exclusive.
    pub end_time: Option<NaiveTime>,
    /// Local date, inclusive.
    pub start_date: Option<NaiveDate>,
    /// Local date, exclusive.
    pub end_date: Option<NaiveDate>,
}

impl Restrictions {
    pub fn is_empty(&self) -> bool {
        *self == Restrictions::default()
    }

    /// Whether the element applies at `t` (in `tz`).
    pub fn holds(&self, t: Timestamp, tz: Tz) -> bool {
        let local = crate::spot::local_time(t, tz);
        let date = local.date();
        if self.start_date.is_some_and(|d| date < d) || self.end_date.is_some_and(|d| date >= d) {
            return false;
        }
        if !self.days_of_week.is_empty() && !self.days_of_week.contains(&date.weekday()) {
            return false;
        }
        let time = local.time();
        match (self.start_time, self.end_time) {
            (None, None) => true,
            (Some(s), None) => time >= s,
            (None, Some(e)) => time < e,
            (Some(s), Some(e)) if s <= e => time >= s && time < e,
            (Some(s), Some(e)) => time >= s || time < e,
        }
    }

    /// Local times of day at which this element can switch on or off.
    pub fn times_of_day(&self) -> impl Iterator<Item = NaiveTime> + '_ {
        self.start_time.into_iter().chain(self.end_time)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("{0}")]
    Invalid(String),
}

impl Tariff {
    pub fn tz(&self) -> Tz {
        self.time_zone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Europe::Stockholm)
    }

    /// This tariff as it prices a session at a site in `site_zone`: a tariff
    /// that names no zone of its own takes the site's.
    pub fn in_site_zone(mut self, site_zone: Option<Tz>) -> Self {
        if self.time_zone.is_none() {
            self.time_zone = site_zone.map(|z| z.name().to_owned());
        }
        self
    }

    /// The component of `kind` in force at `t`: from the first element that
    /// has one and whose restrictions hold. Returns the element's index too,
    /// for the explanation of a price.
    pub fn component_at(
        &self,
        kind: ComponentKind,
        t: Timestamp,
    ) -> Option<(usize, &PriceComponent)> {
        let tz = self.tz();
        self.elements.iter().enumerate().find_map(|(i, e)| {
            let c = e.components.iter().find(|c| c.kind() == kind)?;
            e.restrictions.holds(t, tz).then_some((i, c))
        })
    }

    /// Bidding zones whose spot prices pricing with this tariff needs.
    pub fn spot_zones(&self) -> Vec<BiddingZone> {
        let mut zones: Vec<BiddingZone> = self
            .elements
            .iter()
            .flat_map(|e| &e.components)
            .filter_map(|c| match c {
                PriceComponent::Energy {
                    price: EnergyPrice::Spot(f),
                } => Some(f.zone),
                _ => None,
            })
            .collect();
        zones.sort();
        zones.dedup();
        zones
    }

    /// Checks everything a parser cannot: the rules a tariff must follow to
    /// price every instant unambiguously.
    pub fn validate(&self) -> Result<(), TariffError> {
        let bad = |m: String| Err(TariffError::Invalid(m));
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return bad("name must be 1–200 characters".into());
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return bad(format!(
                "currency must be an ISO 4217 code like \"SEK\", got {:?}",
                self.currency
            ));
        }
        if self.vat_rate < Decimal::ZERO || self.vat_rate >= Decimal::ONE {
            return bad("vatRate must be a fraction in [0, 1), e.g. 0.25 for 25 %".into());
        }
        if let Some(zone) = &self.time_zone {
            if zone.parse::<Tz>().is_err() {
                return bad(format!("timeZone {zone:?} is not an IANA time zone name"));
            }
        }
        if self.elements.is_empty() {
            return bad("a tariff needs at least one element".into());
        }
        if self.elements.len() > 100 {
            return bad("at most 100 elements".into());
        }
        for (i, e) in self.elements.iter().enumerate() {
            if e.components.is_empty() {
                return bad(format!("elements[{i}] has no components"));
            }
            let mut kinds: Vec<ComponentKind> = e.components.iter().map(|c| c.kind()).collect();
            kinds.sort();
            if kinds.windows(2).any(|w| w[0] == w[1]) {
                return bad(format!("elements[{i}] has two components of one type"));
            }
            let r = &e.restrictions;
            if let (Some(s), Some(en)) = (r.start_date, r.end_date) {
                if en <= s {
                    return bad(format!("elements[{i}]: endDate must be after startDate"));
                }
            }
            if let (Some(s), Some(en)) = (r.start_time, r.end_time) {
                if s == en {
                    return bad(format!(
                        "elements[{i}]: startTime equals endTime (leave both out for all day)"
                    ));
                }
            }
            for c in &e.components {
                let negative = |p: &Decimal| *p < Decimal::ZERO;
                match c {
                    PriceComponent::Energy {
                        price: EnergyPrice::Fixed { per_kwh },
                    } if negative(per_kwh) => {
                        return bad(format!("elements[{i}]: energy price must not be negative"));
                    }
                    PriceComponent::Energy {
                        price: EnergyPrice::Spot(f),
                    } => {
                        if let (Some(lo), Some(hi)) = (f.floor, f.ceiling) {
                            if hi < lo {
                                return bad(format!("elements[{i}]: ceiling is below floor"));
                            }
                        }
                        if negative(&f.grid_fee) || negative(&f.energy_tax) {
                            return bad(format!(
                                "elements[{i}]: gridFee and energyTax must not be negative"
                            ));
                        }
                        if f.zone.currency() != self.currency {
                            return bad(format!(
                                "elements[{i}]: zone {} is priced in {}, the tariff in {}",
                                f.zone,
                                f.zone.currency(),
                                self.currency
                            ));
                        }
                    }
                    PriceComponent::Time { price, .. }
                    | PriceComponent::SessionFee { price }
                    | PriceComponent::Idle { price, .. }
                        if negative(price) =>
                    {
                        return bad(format!("elements[{i}]: prices must not be negative"));
                    }
                    _ => {}
                }
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_price, self.max_price) {
            if hi < lo {
                return bad("maxPrice is below minPrice".into());
            }
        }
        if self.min_price.is_some_and(|p| p < Decimal::ZERO)
            || self.max_price.is_some_and(|p| p < Decimal::ZERO)
        {
            return bad("minPrice and maxPrice must not be negative".into());
        }
        Ok(())
    }
}

/// What a tariff is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AssignmentTarget {
    Station(StationId),
    Site(SiteId),
    /// Every station of the organisation.
    Organisation,
}

/// "Tariff T applies at target X to group G (or to everyone)."
#[derive(Debug, Clone, PartialEq)]
pub struct TariffAssignment {
    pub id: String,
    pub org_id: OrgId,
    pub tariff_id: String,
    pub target: AssignmentTarget,
    /// `None`: everyone, including drivers in no group and roaming guests.
    pub group: Option<String>,
    pub created_at: Timestamp,
}

/// A user group name: 1–64 letters, digits, `.`, `_` or `-`.
pub fn validate_group(g: &str) -> Result<(), String> {
    if g.is_empty() || g.len() > 64 {
        return Err("must be 1–64 characters".into());
    }
    if !g
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("may only contain letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

/// One step of the resolution, as the API explains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolutionStep {
    /// "station CP1, group residents", …
    pub looked_for: String,
    /// The assignment found there, if any.
    pub assignment_id: Option<String>,
    pub tariff_id: Option<String>,
}

/// The outcome of tariff resolution with its reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    pub tariff_id: Option<String>,
    pub assignment_id: Option<String>,
    pub steps: Vec<ResolutionStep>,
    /// The user group whose own assignment matched; `None`: one for
    /// everyone did (or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Which tariff applies to a driver in `group` at `station` (on `site`).
///
/// Order, most specific first: station + group, station, site + group, site,
/// organisation + group, organisation. Within one step the newest assignment
/// wins. Steps are listed up to the one that matched.
pub fn resolve(
    assignments: &[TariffAssignment],
    station: &StationId,
    site: Option<&SiteId>,
    group: Option<&str>,
) -> Resolution {
    let mut targets: Vec<(AssignmentTarget, String)> = vec![(
        AssignmentTarget::Station(station.clone()),
        format!("station {station}"),
    )];
    if let Some(site) = site {
        targets.push((AssignmentTarget::Site(site.clone()), format!("site {site}")));
    }
    targets.push((AssignmentTarget::Organisation, "organisation".to_owned()));
    let mut steps = Vec::new();
    for (target, label) in targets {
        let groups: Vec<Option<&str>> = match group {
            Some(g) => vec![Some(g), None],
            None => vec![None],
        };
        for g in groups {
            let found = assignments
                .iter()
                .filter(|a| a.target == target && a.group.as_deref() == g)
                .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            let looked_for = match g {
                Some(g) => format!("{label}, group {g}"),
                None => format!("{label}, everyone"),
            };
            steps.push(ResolutionStep {
                looked_for,
                assignment_id: found.map(|a| a.id.clone()),
                tariff_id: found.map(|a| a.tariff_id.clone()),
            });
            if let Some(a) = found {
                return Resolution {
                    tariff_id: Some(a.tariff_id.clone()),
                    assignment_id: Some(a.id.clone()),
                    steps,
                    group: g.map(str::to_owned),
                };
            }
        }
    }
    Resolution {
        tariff_id: None,
        assignment_id: None,
        steps,
        group: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn stockholm(y: i32, m: u32, d: u32, h: u32, min: u32) -> Timestamp {
        chrono_tz::Europe::Stockholm
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn restrictions_use_local_time_and_wrap_midnight() {
        let tz = chrono_tz::Europe::Stockholm;
        let night = Restrictions {
            start_time: NaiveTime::from_hms_opt(22, 0, 0),
            end_time: NaiveTime::from_hms_opt(6, 0, 0),
            ..Default::default()
        };
        assert!(night.holds(stockholm(2026, 1, 5, 23, 0), tz));
        assert!(night.holds(stockholm(2026, 1, 5, 5, 59), tz));
        assert!(!night.holds(stockholm(2026, 1, 5, 6, 0), tz));
        // 21:30 UTC in winter is 22:30 in Stockholm.
        assert!(night.holds(Utc.with_ymd_and_hms(2026, 1, 5, 21, 30, 0).unwrap(), tz));
        let weekend = Restrictions {
            days_of_week: vec![Weekday::Sat, Weekday::Sun],
            start_date: NaiveDate::from_ymd_opt(2026, 1, 1),
            end_date: NaiveDate::from_ymd_opt(2026, 2, 1),
            ..Default::default()
        };
        assert!(weekend.holds(stockholm(2026, 1, 10, 12, 0), tz)); // Saturday
        assert!(!weekend.holds(stockholm(2026, 1, 12, 12, 0), tz)); // Monday
        assert!(!weekend.holds(stockholm(2026, 2, 7, 12, 0), tz)); // past endDate
    }

    fn assignment(id: &str, target: AssignmentTarget, group: Option<&str>) -> TariffAssignment {
        TariffAssignment {
            id: id.into(),
            org_id: OrgId::default_org(),
            tariff_id: format!("t-{id}"),
            target,
            group: group.map(Into::into),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn resolution_goes_from_specific_to_general() {
        let st = StationId::parse("CP1").unwrap();
        let site = SiteId::parse("brf").unwrap();
        let all = vec![
            assignment("org", AssignmentTarget::Organisation, None),
            assignment(
                "site-res",
                AssignmentTarget::Site(site.clone()),
                Some("residents"),
            ),
            assignment("station", AssignmentTarget::Station(st.clone()), None),
        ];
        let r = resolve(&all, &st, Some(&site), Some("residents"));
        assert_eq!(r.assignment_id.as_deref(), Some("station"));
        assert_eq!(r.steps.len(), 2);
        assert_eq!(r.group, None, "the station's assignment is for everyone");
        let r = resolve(&all[..2], &st, Some(&site), Some("residents"));
        assert_eq!(r.assignment_id.as_deref(), Some("site-res"));
        assert_eq!(r.group.as_deref(), Some("residents"));
        assert_eq!(r.steps[2].looked_for, "site brf, group residents");
        let r = resolve(&all[..2], &st, Some(&site), None);
        assert_eq!(r.assignment_id.as_deref(), Some("org"));
        assert_eq!(r.steps.len(), 3);
        let r = resolve(&[], &st, None, Some("g"));
        assert_eq!(r.tariff_id, None);
        assert_eq!(r.steps.len(), 4);
    }

    #[test]
    fn first_matching_element_per_component_wins() {
        let peak = TariffElement {
            components: vec![PriceComponent::Energy {
                price: EnergyPrice::Fixed {
                    per_kwh: Decimal::from(5),
                },
            }],
            restrictions: Restrictions {
                start_time: NaiveTime::from_hms_opt(17, 0, 0),
                end_time: NaiveTime::from_hms_opt(20, 0, 0),
                ..Default::default()
            },
        };
        let base = TariffElement {
            components: vec![
                PriceComponent::Energy {
                    price: EnergyPrice::Fixed {
                        per_kwh: Decimal::from(3),
                    },
                },
                PriceComponent::SessionFee {
                    price: Decimal::from(10),
                },
            ],
            restrictions: Restrictions::default(),
        };
        let t = Tariff {
            id: "t".into(),
            org_id: OrgId::default_org(),
            name: "n".into(),
            currency: "SEK".into(),
            vat_rate: Decimal::new(25, 2),
            time_zone: Some("Europe/Stockholm".into()),
            elements: vec![peak, base],
            min_price: None,
            max_price: None,
            version: 1,
            effective_at: Utc::now(),
            created_at: Utc::now(),
            deleted_at: None,
        };
        assert!(t.validate().is_ok());
        let (i, _) = t
            .component_at(ComponentKind::Energy, stockholm(2026, 3, 2, 18, 0))
            .unwrap();
        assert_eq!(i, 0);
        let (i, _) = t
            .component_at(ComponentKind::Energy, stockholm(2026, 3, 2, 20, 0))
            .unwrap();
        assert_eq!(i, 1);
        let (i, _) = t
            .component_at(ComponentKind::SessionFee, stockholm(2026, 3, 2, 18, 0))
            .unwrap();
        assert_eq!(i, 1);
        assert!(t
            .component_at(ComponentKind::Idle, stockholm(2026, 3, 2, 18, 0))
            .is_none());
    }
}
