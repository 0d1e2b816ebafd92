//! The organisation's prices. `GET /portal/prices`: its tariffs with the
//! prices in force now in plain words and where each is assigned; what a
//! driver pays now at a station and why (`?station=…`, the API's price
//! preview); the day-ahead spot prices of its sites' bidding zones (and of
//! the zones its tariffs follow) for today and, once published, tomorrow,
//! as bars per hour. `GET /portal/prices/{id}`: one tariff's elements,
//! assignments and versions, and for the organisation's admins a form that
//! changes its prices (`POST /portal/prices/{id}`).
//!
//! Reading needs the API's `read` scope, changing its `admin` scope, as the
//! API routes. The change is `PUT /tariffs/{id}`'s own use case
//! (`csms_api::shared::update_tariff`): the tariff as that route takes it
//! (`tariff_body`) with the form's values put in at their fields, so the
//! same parser names a bad value's field, the whole is checked before
//! anything is written, and the result is one new version based on the
//! version the form showed (a form left open while someone else saved is
//! refused, not written over). The form's fields are named by their path in
//! that body, so an error of the parser is shown at the field it names.

use crate::chart::{self, Chart, Point};
use crate::i18n::{self, Msg};
use crate::layout::{self, badge};
use crate::web::{audit, caller, encoded, html, Caller, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Days, NaiveDate, NaiveTime, Timelike, Weekday};
use csms_api::error::ApiError;
use csms_api::shared::{
    price_preview, spot_day, tariff_assignments, tariff_body, tariff_versions, tariffs_of,
    update_tariff,
};
use csms_domain::api_key::Scope;
use csms_domain::spot::{BiddingZone, SpotDay};
use csms_domain::tariff::{
    AssignmentTarget, ComponentKind, EnergyPrice, PriceComponent, Restrictions, Tariff,
    TariffAssignment, TimeUnit,
};
use csms_domain::tenant::Language;
use csms_domain::Timestamp;
use csms_kernel::ports::PageRequest;
use maud::{html, Markup};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

const PATH: &str = "/portal/prices";
/// How many tariffs the page lists.
const SHOWN: u32 = 200;

fn tariff_path(id: &str) -> String {
    format!("{PATH}/{}", encoded(id))
}

// ---------------------------------------------------------------- words

/// A price per unit: at least two decimals, up to four when the price has
/// them (`0,2901 kr`, a spot price), in the locale's format like
/// [`i18n::money`].
pub(crate) fn unit_price(amount: Decimal, currency: &str, lang: Language) -> String {
    let decimals = amount.normalize().scale().clamp(2, 4);
    let n = i18n::number(amount, decimals, lang);
    match lang {
        Language::Sv if currency == "SEK" => format!("{n} kr"),
        Language::Sv => format!("{n} {currency}"),
        Language::En => format!("{currency} {n}"),
    }
}

fn weekday(d: Weekday, lang: Language) -> &'static str {
    const SV: [&str; 7] = ["mån", "tis", "ons", "tor", "fre", "lör", "sön"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let i = d.num_days_from_monday() as usize;
    match lang {
        Language::Sv => SV[i],
        Language::En => EN[i],
    }
}

fn hhmm(t: NaiveTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// When an element applies, in words: "always", or its days, hours and
/// dates (`mån, fre 17:00–20:00`).
pub(crate) fn when(r: &Restrictions, lang: Language) -> String {
    if r.is_empty() {
        return Msg::PricesAlways.text(lang).to_owned();
    }
    let mut parts = Vec::new();
    if !r.days_of_week.is_empty() {
        let days: Vec<&str> = r.days_of_week.iter().map(|d| weekday(*d, lang)).collect();
        parts.push(days.join(", "));
    }
    match (r.start_time, r.end_time) {
        (None, None) => {}
        (s, e) => parts.push(format!(
            "{}–{}",
            hhmm(s.unwrap_or(NaiveTime::MIN)),
            hhmm(e.unwrap_or(NaiveTime::MIN))
        )),
    }
    if let Some(d) = r.start_date {
        parts.push(Msg::PricesFrom.text(lang).replace("{}", &d.to_string()));
    }
    if let Some(d) = r.end_date {
        parts.push(Msg::PricesUntil.text(lang).replace("{}", &d.to_string()));
    }
    parts.join(" ")
}

fn per(u: TimeUnit, lang: Language) -> &'static str {
    match u {
        TimeUnit::Minute => Msg::PricesPerMinute.text(lang),
        TimeUnit::Hour => Msg::PricesPerHour.text(lang),
    }
}

/// A component in plain words, net of VAT (`3,50 kr per kWh`).
pub(crate) fn component_words(c: &PriceComponent, currency: &str, lang: Language) -> String {
    let p = |d: Decimal| unit_price(d, currency, lang);
    match c {
        PriceComponent::Energy {
            price: EnergyPrice::Fixed { per_kwh },
        } => Msg::PricesEnergyFixed
            .text(lang)
            .replace("{}", &p(*per_kwh)),
        PriceComponent::Energy {
            price: EnergyPrice::Spot(f),
        } => {
            let mut s = Msg::PricesEnergySpot
                .text(lang)
                .replacen("{}", f.zone.code(), 1)
                .replacen("{}", &i18n::number(f.factor, 2, lang), 1)
                .replacen("{}", &p(f.markup), 1)
                .replacen("{}", &p(f.grid_fee), 1)
                .replacen("{}", &p(f.energy_tax), 1);
            if let Some(floor) = f.floor {
                s.push_str(&Msg::PricesSpotFloor.text(lang).replace("{}", &p(floor)));
            }
            if let Some(ceiling) = f.ceiling {
                s.push_str(&Msg::PricesSpotCeiling.text(lang).replace("{}", &p(ceiling)));
            }
            s
        }
        PriceComponent::Time {
            price,
            per: u,
            free_minutes,
        } => {
            let mut s = format!("{} {}", p(*price), per(*u, lang));
            if *free_minutes > 0 {
                s.push_str(
                    &Msg::PricesFreeMinutes
                        .text(lang)
                        .replace("{}", &free_minutes.to_string()),
                );
            }
            s
        }
        PriceComponent::SessionFee { price } => Msg::PricesSessionFeeWords
            .text(lang)
            .replace("{}", &p(*price)),
        PriceComponent::Idle {
            price,
            per: u,
            grace_minutes,
        } => Msg::PricesIdleWords
            .text(lang)
            .replacen("{}", &format!("{} {}", p(*price), per(*u, lang)), 1)
            .replacen("{}", &grace_minutes.to_string(), 1),
    }
}

pub(crate) fn kind_name(k: ComponentKind, lang: Language) -> &'static str {
    match k {
        ComponentKind::Energy => Msg::PricesEnergy.text(lang),
        ComponentKind::Time => Msg::PricesTime.text(lang),
        ComponentKind::SessionFee => Msg::PricesSessionFee.text(lang),
        ComponentKind::Idle => Msg::PricesIdle.text(lang),
    }
}

const KINDS: [ComponentKind; 4] = [
    ComponentKind::SessionFee,
    ComponentKind::Energy,
    ComponentKind::Time,
    ComponentKind::Idle,
];

/// The components of `t` in force at `now`, in words, one per kind.
fn now_words(t: &Tariff, now: Timestamp, lang: Language) -> Vec<(ComponentKind, String)> {
    KINDS
        .iter()
        .filter_map(|k| {
            t.component_at(*k, now)
                .map(|(_, c)| (*k, component_words(c, &t.currency, lang)))
        })
        .collect()
}

fn target_words(a: &TariffAssignment, lang: Language) -> String {
    let target = match &a.target {
        AssignmentTarget::Station(s) => Msg::PricesAtStation.text(lang).replace("{}", s.as_str()),
        AssignmentTarget::Site(s) => Msg::PricesAtSite.text(lang).replace("{}", s.as_str()),
        AssignmentTarget::Organisation => Msg::PricesAtOrganisation.text(lang).to_owned(),
    };
    match &a.group {
        Some(g) => Msg::PricesForGroup
            .text(lang)
            .replacen("{}", &target, 1)
            .replacen("{}", g, 1),
        None => Msg::PricesForEveryone.text(lang).replace("{}", &target),
    }
}

// ---------------------------------------------------------------- spot

/// A day's prices as one bar per local hour: an hour of quarter-hours is
/// their mean (rounded to 0.0001); on a day with 25 hours the repeated
/// hour is two bars with the same label.
pub(crate) fn hourly(day: &SpotDay) -> Vec<Point> {
    let tz = day.zone.tz();
    let mut hours: Vec<(String, Decimal, u32)> = Vec::new();
    let mut last_start: Option<Timestamp> = None;
    for s in &day.slots {
        let local = s.start.with_timezone(&tz);
        let label = format!("{:02}", local.hour());
        // A new bar at each whole hour (by the clock of the instant, so the
        // repeated hour of a DST day starts a bar of its own).
        let hour_start = s.start - chrono::TimeDelta::minutes(i64::from(local.minute()));
        let new = last_start != Some(hour_start);
        last_start = Some(hour_start);
        match hours.last_mut() {
            Some((_, sum, n)) if !new => {
                *sum = sum.checked_add(s.price).unwrap_or(*sum);
                *n += 1;
            }
            _ => hours.push((label, s.price, 1)),
        }
    }
    hours
        .into_iter()
        .map(|(label, sum, n)| Point {
            label,
            value: (sum / Decimal::from(n))
                .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero),
        })
        .collect()
}

fn per_kwh_unit(currency: &str, lang: Language) -> String {
    match lang {
        Language::Sv if currency == "SEK" => "kr/kWh".to_owned(),
        _ => format!("{currency}/kWh"),
    }
}

/// The zones whose spot prices the organisation's pages show: its sites'
/// and those its tariffs follow.
fn zones_of(sites: &[csms_domain::tenant::Site], tariffs: &[Tariff]) -> Vec<BiddingZone> {
    let set: BTreeSet<BiddingZone> = sites
        .iter()
        .filter_map(|s| s.bidding_zone)
        .chain(tariffs.iter().flat_map(Tariff::spot_zones))
        .collect();
    set.into_iter().collect()
}

async fn spot_section(
    st: &PortalState,
    c: &Caller,
    zones: &[BiddingZone],
    now: Timestamp,
) -> Result<Markup, Failure> {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let mut charts = Vec::new();
    for zone in zones {
        let today = zone.local_date(now);
        let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
        let today_day = spot_day(&st.api, *zone, today).await.or_page(c)?;
        let tomorrow_day = spot_day(&st.api, *zone, tomorrow).await.or_page(c)?;
        charts.push((*zone, today, today_day, tomorrow, tomorrow_day));
    }
    let chart_of = |zone: BiddingZone, date: NaiveDate, day: &SpotDay, which: Msg| {
        let id = format!("spot-{}-{}", zone.code().to_ascii_lowercase(), date);
        let title = Msg::PricesSpotChart
            .text(lang)
            .replacen("{}", zone.code(), 1)
            .replacen("{}", t(which), 1)
            .replacen("{}", &date.to_string(), 1);
        let unit = per_kwh_unit(&day.currency, lang);
        chart::bars(
            &Chart {
                id: &id,
                title: &title,
                unit: &unit,
                decimals: 4,
                label_heading: t(Msg::PricesHour),
                lang,
            },
            &hourly(day),
        )
    };
    Ok(html! {
        h2 #spot { (t(Msg::PricesSpotTitle)) }
        @if zones.is_empty() {
            p.empty { (t(Msg::PricesSpotNoZone)) }
        } @else {
            p.hint { (t(Msg::PricesSpotHint)) }
            @for (zone, today, today_day, tomorrow, tomorrow_day) in &charts {
                @match today_day {
                    Some(day) => {
                        (chart_of(*zone, *today, day, Msg::PricesToday))
                        @if day.source.is_fallback() {
                            p.hint { (t(Msg::PricesSpotFallback)) }
                        }
                    }
                    None => p.empty { (Msg::PricesSpotMissing.text(lang).replacen("{}", zone.code(), 1).replacen("{}", &today.to_string(), 1)) },
                }
                @match tomorrow_day {
                    Some(day) => (chart_of(*zone, *tomorrow, day, Msg::PricesTomorrow)),
                    None => p.hint { (Msg::PricesSpotTomorrowMissing.text(lang).replace("{}", zone.code())) },
                }
            }
        }
    })
}

// ---------------------------------------------------------------- the list

/// `GET /portal/prices[?station=…]`.
pub async fn page(
    State(st): State<PortalState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let station = q.get("station").map(|s| s.trim()).filter(|s| !s.is_empty());
    let path = match station {
        Some(s) => format!("{PATH}?station={}", encoded(s)),
        None => PATH.to_owned(),
    };
    let c = caller(&st, &headers, &path).await?;
    let who = c.permitted(Scope::Read)?.clone();
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let now = st.api.clock.now();
    let tariffs = tariffs_of(&st.api, &who, SHOWN).await.or_page(&c)?;
    let assignments = tariff_assignments(&st.api, &who, None).await.or_page(&c)?;
    let all = PageRequest::first(PageRequest::MAX_LIMIT);
    let stations = st
        .api
        .store
        .list_stations(&who.org_id, &all)
        .await
        .or_page(&c)?
        .items;
    let sites = st
        .api
        .store
        .list_sites(&who.org_id, &all)
        .await
        .or_page(&c)?
        .items;
    let preview = match station {
        Some(s) => Some(preview_section(&st, &c, s).await?),
        None => None,
    };
    let spot = spot_section(&st, &c, &zones_of(&sites, &tariffs), now).await?;
    let body = html! {
        h1 { (t(Msg::PricesTitle)) }
        h2 { (t(Msg::PricesTariffs)) }
        @if tariffs.is_empty() {
            p.empty { (t(Msg::PricesNoTariffs)) }
        } @else {
            p.hint { (t(Msg::PricesExclVat)) }
            table {
                thead { tr {
                    th scope="col" { (t(Msg::Name)) }
                    th scope="col" { (t(Msg::PricesCurrency)) }
                    th scope="col" { (t(Msg::PricesNow)) }
                    th scope="col" { (t(Msg::PricesAssigned)) }
                } }
                tbody {
                    @for tf in &tariffs {
                        @let here: Vec<&TariffAssignment> = assignments.iter().filter(|a| a.tariff_id == tf.id).collect();
                        tr {
                            td data-label=(t(Msg::Name)) { a href=(tariff_path(&tf.id)) { (tf.name) } }
                            td data-label=(t(Msg::PricesCurrency)) { (tf.currency) }
                            td data-label=(t(Msg::PricesNow)) {
                                @let words = now_words(tf, now, lang);
                                @if words.is_empty() {
                                    span.muted { (t(Msg::PricesNothingNow)) }
                                } @else {
                                    ul.plain {
                                        @for (k, w) in &words {
                                            li { (kind_name(*k, lang)) ": " (w) }
                                        }
                                    }
                                }
                            }
                            td data-label=(t(Msg::PricesAssigned)) {
                                @if here.is_empty() {
                                    span.muted { (t(Msg::PricesNotAssigned)) }
                                } @else {
                                    ul.plain { @for a in &here { li { (target_words(a, lang)) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 #preview { (t(Msg::PricesPreviewTitle)) }
        @if stations.is_empty() {
            p.empty { (t(Msg::NoStations)) }
        } @else {
            form.filter method="get" action=(PATH) {
                div {
                    label for="station" { (t(Msg::Station)) }
                    select #station name="station" {
                        @for v in &stations {
                            @let id = v.station.id.as_str();
                            option value=(id) selected[station == Some(id)] {
                                (v.station.name.clone().unwrap_or_else(|| id.to_owned()))
                                @if v.station.name.is_some() { " (" (id) ")" }
                            }
                        }
                    }
                }
                button type="submit" { (t(Msg::PricesShowPreview)) }
            }
            @if let Some(p) = preview { (p) }
        }
        (spot)
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), t(Msg::PricesTitle), body),
    ))
}

/// What a driver without a group pays now at `station`, and why.
async fn preview_section(st: &PortalState, c: &Caller, station: &str) -> Result<Markup, Failure> {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let who = c.permitted(Scope::Read)?;
    let (station_id, _, p) = match price_preview(&st.api, who, station, None, None).await {
        Ok(found) => found,
        // A station that is not there is the page's 404, like the API's.
        Err(e) => return Err(c.fail(e)),
    };
    let Some(tariff) = &p.tariff else {
        return Ok(html! {
            section.card aria-labelledby="preview-result" {
                h3 #preview-result { (Msg::PricesPreviewAt.text(lang).replace("{}", station_id.as_str())) }
                p { (t(Msg::PricesPreviewNone)) }
                (steps(&p.resolution.steps, lang))
            }
        });
    };
    let vat = tariff.vat_rate;
    let incl = |d: Decimal| {
        d.checked_mul(Decimal::ONE + vat)
            .map(|x| x.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero))
    };
    let unit_words = |unit: &str| match unit {
        "kWh" => t(Msg::PricesPerKwh),
        "min" => t(Msg::PricesPerMinute),
        "h" => t(Msg::PricesPerHour),
        _ => t(Msg::PricesPerSession),
    };
    Ok(html! {
        section.card aria-labelledby="preview-result" {
            h3 #preview-result { (Msg::PricesPreviewAt.text(lang).replace("{}", station_id.as_str())) }
            p {
                (Msg::PricesPreviewTariff.text(lang)
                    .replacen("{}", &tariff.name, 1)
                    .replacen("{}", &tariff.version.to_string(), 1)
                    .replacen("{}", &i18n::datetime(p.at, lang), 1))
                " "
                a href=(tariff_path(&tariff.id)) { (t(Msg::PricesOpenTariff)) }
            }
            @if p.prices.is_empty() {
                p.empty { (t(Msg::PricesNothingNow)) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (t(Msg::PricesComponent)) }
                        th scope="col" { (t(Msg::PricesExclVatShort)) }
                        th scope="col" { (Msg::PricesInclVat.text(lang).replace("{}", &i18n::number(vat * Decimal::ONE_HUNDRED, 0, lang))) }
                        th scope="col" { (t(Msg::PricesWhy)) }
                    } }
                    tbody {
                        @for cp in &p.prices {
                            tr {
                                td data-label=(t(Msg::PricesComponent)) { (kind_name(cp.kind, lang)) }
                                td.num data-label=(t(Msg::PricesExclVatShort)) {
                                    (unit_price(cp.unit_price, &tariff.currency, lang)) " " (unit_words(cp.unit))
                                }
                                td.num data-label=(t(Msg::PricesInclVatShort)) {
                                    @match incl(cp.unit_price) {
                                        Some(x) => { (unit_price(x, &tariff.currency, lang)) " " (unit_words(cp.unit)) }
                                        None => "–",
                                    }
                                }
                                td data-label=(t(Msg::PricesWhy)) {
                                    @let element = tariff.elements.get(cp.element);
                                    (Msg::PricesElement.text(lang).replace("{}", &(cp.element + 1).to_string()))
                                    @if let Some(e) = element { ": " (when(&e.restrictions, lang)) }
                                    @if let Some(spot) = cp.spot_price {
                                        br;
                                        (Msg::PricesSpotNow.text(lang).replace("{}", &unit_price(spot, &tariff.currency, lang)))
                                    }
                                    @if cp.free_minutes > 0 {
                                        br;
                                        @if cp.kind == ComponentKind::Idle {
                                            (Msg::PricesGraceNow.text(lang).replace("{}", &cp.free_minutes.to_string()))
                                        } @else {
                                            (Msg::PricesFreeNow.text(lang).replace("{}", &cp.free_minutes.to_string()))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (steps(&p.resolution.steps, lang))
        }
    })
}

/// A step of the resolution in the page's language: the domain says
/// where it looked as `station X, everyone`, `site Y, group g`,
/// `organisation, everyone`; anything else is shown as it is.
pub(crate) fn step_words(looked_for: &str, lang: Language) -> String {
    let Some((target, group)) = looked_for.rsplit_once(", ") else {
        return looked_for.to_owned();
    };
    let target = if target == "organisation" {
        Msg::PricesAtOrganisation.text(lang).to_owned()
    } else if let Some(id) = target.strip_prefix("station ") {
        Msg::PricesAtStation.text(lang).replace("{}", id)
    } else if let Some(id) = target.strip_prefix("site ") {
        Msg::PricesAtSite.text(lang).replace("{}", id)
    } else {
        return looked_for.to_owned();
    };
    match group {
        "everyone" => Msg::PricesForEveryone.text(lang).replace("{}", &target),
        g => match g.strip_prefix("group ") {
            Some(g) => Msg::PricesForGroup
                .text(lang)
                .replacen("{}", &target, 1)
                .replacen("{}", g, 1),
            None => looked_for.to_owned(),
        },
    }
}

/// The resolution, most specific first: where a tariff was looked for and
/// what was found there.
fn steps(steps: &[csms_domain::tariff::ResolutionStep], lang: Language) -> Markup {
    html! {
        p { (Msg::PricesResolution.text(lang)) }
        ol {
            @for s in steps {
                li {
                    (step_words(&s.looked_for, lang)) ": "
                    @match &s.tariff_id {
                        Some(id) => { (Msg::PricesFound.text(lang)) " " a href=(tariff_path(id)) { code { (id) } } }
                        None => (Msg::PricesNotFoundHere.text(lang)),
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- one tariff

/// A value of the tariff the form changes: its path in the body
/// `PUT /tariffs/{id}` takes (the field's name), its label, whether it is
/// a whole number of minutes (else a decimal), and its value now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Editable {
    pub path: String,
    pub label: String,
    pub minutes: bool,
    pub value: String,
}

/// The values of `t` the form offers, element by element.
pub(crate) fn editables(t: &Tariff, lang: Language) -> Vec<Editable> {
    let many = t.elements.len() > 1;
    let mut out = Vec::new();
    for (i, e) in t.elements.iter().enumerate() {
        let suffix = if many {
            format!(" ({})", when(&e.restrictions, lang))
        } else {
            String::new()
        };
        for (j, c) in e.components.iter().enumerate() {
            let base = format!("elements[{i}].components[{j}]");
            let mut push = |field: &str, label: Msg, minutes: bool, value: String| {
                out.push(Editable {
                    path: format!("{base}.{field}"),
                    label: format!("{}{suffix}", label.text(lang)),
                    minutes,
                    // With the locale's decimal sign (`3,50` in Swedish).
                    value: match lang {
                        Language::Sv => value.replace('.', ","),
                        Language::En => value,
                    },
                })
            };
            match c {
                PriceComponent::Energy {
                    price: EnergyPrice::Fixed { per_kwh },
                } => push(
                    "price.perKwh",
                    Msg::PricesFieldPerKwh,
                    false,
                    per_kwh.to_string(),
                ),
                PriceComponent::Energy {
                    price: EnergyPrice::Spot(f),
                } => {
                    push(
                        "price.markup",
                        Msg::PricesFieldMarkup,
                        false,
                        f.markup.to_string(),
                    );
                    push(
                        "price.gridFee",
                        Msg::PricesFieldGridFee,
                        false,
                        f.grid_fee.to_string(),
                    );
                    push(
                        "price.energyTax",
                        Msg::PricesFieldEnergyTax,
                        false,
                        f.energy_tax.to_string(),
                    );
                }
                PriceComponent::Time {
                    price,
                    per: u,
                    free_minutes,
                } => {
                    let label = match u {
                        TimeUnit::Minute => Msg::PricesFieldTimeMinute,
                        TimeUnit::Hour => Msg::PricesFieldTimeHour,
                    };
                    push("price", label, false, price.to_string());
                    push(
                        "freeMinutes",
                        Msg::PricesFieldFree,
                        true,
                        free_minutes.to_string(),
                    );
                }
                PriceComponent::SessionFee { price } => push(
                    "price",
                    Msg::PricesFieldSessionFee,
                    false,
                    price.to_string(),
                ),
                PriceComponent::Idle {
                    price,
                    per: u,
                    grace_minutes,
                } => {
                    let label = match u {
                        TimeUnit::Minute => Msg::PricesFieldIdleMinute,
                        TimeUnit::Hour => Msg::PricesFieldIdleHour,
                    };
                    push("price", label, false, price.to_string());
                    push(
                        "graceMinutes",
                        Msg::PricesFieldGrace,
                        true,
                        grace_minutes.to_string(),
                    );
                }
            }
        }
    }
    out
}

/// The field's id in the page (its path with only letters, digits and `-`).
fn field_id(path: &str) -> String {
    let mut id = String::from("f-");
    id.extend(
        path.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }),
    );
    id
}

/// Puts `value` at `path` (`elements[0].components[1].price.perKwh`) of
/// `body`; `false` when the body has no such place.
pub(crate) fn put_at(body: &mut Value, path: &str, value: Value) -> bool {
    let mut at = body;
    let parts: Vec<&str> = path.split('.').collect();
    for (n, part) in parts.iter().enumerate() {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => {
                match rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()) {
                    Some(i) => (name, Some(i)),
                    None => return false,
                }
            }
            None => (*part, None),
        };
        let last = n + 1 == parts.len() && index.is_none();
        let Some(obj) = at.as_object_mut() else {
            return false;
        };
        if last {
            if !obj.contains_key(name) {
                return false;
            }
            obj.insert(name.to_owned(), value);
            return true;
        }
        let Some(next) = obj.get_mut(name) else {
            return false;
        };
        at = match index {
            Some(i) => match next.get_mut(i) {
                Some(v) => v,
                None => return false,
            },
            None => next,
        };
    }
    false
}

/// A refused change: which field (if the error names one of the form's)
/// and the message, with what was typed.
struct Refused<'a> {
    field: Option<String>,
    message: String,
    form: &'a Form,
}

/// A decimal as typed, with a comma as its decimal sign (`3,50`, as a
/// Swedish person writes it) taken as the point the API's parser reads;
/// anything else is left for that parser to judge.
pub(crate) fn decimal_sign(raw: &str) -> String {
    if !raw.contains('.') && raw.matches(',').count() == 1 {
        raw.replace(',', ".")
    } else {
        raw.to_owned()
    }
}

/// The form's values put into `body`; an error naming the field if a
/// number of minutes is not one (decimals are the API parser's to check).
pub(crate) fn apply_form(
    body: &mut Value,
    fields: &[Editable],
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    for f in fields {
        let Some(raw) = get(&f.path) else { continue };
        let raw = raw.trim().to_owned();
        let value = if f.minutes {
            match raw.parse::<u32>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    return Err((
                        f.path.clone(),
                        format!("{}: {raw:?} is not a whole number of minutes", f.path),
                    ))
                }
            }
        } else {
            Value::String(decimal_sign(&raw))
        };
        if !put_at(body, &f.path, value) {
            return Err((f.path.clone(), format!("{}: not in this tariff", f.path)));
        }
    }
    Ok(())
}

/// The field of `fields` an error message of the API's parser begins with.
fn field_of(message: &str, fields: &[Editable]) -> Option<String> {
    fields
        .iter()
        .find(|f| {
            message
                .strip_prefix(&f.path)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .map(|f| f.path.clone())
}

/// `GET /portal/prices/{id}[?saved=…]`.
pub async fn tariff_page(
    State(st): State<PortalState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let path = tariff_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let saved = q.get("saved").and_then(|v| v.parse::<u64>().ok());
    render_tariff(&st, &c, &id, saved, None).await
}

async fn render_tariff(
    st: &PortalState,
    c: &Caller,
    id: &str,
    saved: Option<u64>,
    refused: Option<Refused<'_>>,
) -> Result<Response, Failure> {
    let who = c.permitted(Scope::Read)?.clone();
    let may_change = c.may(Scope::Admin);
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let path = tariff_path(id);
    let versions = tariff_versions(&st.api, &who, id).await.or_page(c)?;
    let Some(latest) = versions.last() else {
        return Err(c.fail(ApiError::NotFound(format!("tariff {id:?} not found"))));
    };
    let assignments = tariff_assignments(&st.api, &who, Some(id))
        .await
        .or_page(c)?;
    let now = st.api.clock.now();
    let fields = editables(latest, lang);
    let error_id = "change-error";
    let body = html! {
        p { a href=(PATH) { (t(Msg::PricesBack)) } }
        h1 { (latest.name) }
        @if let Some(v) = saved {
            p role="status" { (Msg::PricesSaved.text(lang).replace("{}", &v.to_string())) }
        }
        @if latest.deleted_at.is_some() {
            p { (badge("s-off", t(Msg::PricesDeleted))) }
        }
        dl.facts {
            dt { (t(Msg::PricesCurrency)) } dd { (latest.currency) }
            dt { (t(Msg::PricesVat)) } dd { (i18n::number(latest.vat_rate * Decimal::ONE_HUNDRED, 0, lang)) " %" }
            dt { (t(Msg::PricesVersion)) } dd { (latest.version) }
            dt { (t(Msg::PricesEffective)) } dd { (i18n::datetime(latest.effective_at, lang)) }
            dt { (t(Msg::PricesTimeZone)) } dd { (latest.time_zone.clone().unwrap_or_else(|| t(Msg::PricesSiteZone).to_owned())) }
            @if let Some(m) = latest.min_price {
                dt { (t(Msg::PricesMin)) } dd { (i18n::money(m, &latest.currency, lang)) }
            }
            @if let Some(m) = latest.max_price {
                dt { (t(Msg::PricesMax)) } dd { (i18n::money(m, &latest.currency, lang)) }
            }
        }
        h2 { (t(Msg::PricesElements)) }
        p.hint { (t(Msg::PricesElementsHint)) }
        table {
            thead { tr {
                th scope="col" { "#" }
                th scope="col" { (t(Msg::PricesWhen)) }
                th scope="col" { (t(Msg::PricesComponents)) }
                th scope="col" { (t(Msg::PricesInForce)) }
            } }
            tbody {
                @for (i, e) in latest.elements.iter().enumerate() {
                    tr {
                        td.num data-label="#" { (i + 1) }
                        td data-label=(t(Msg::PricesWhen)) { (when(&e.restrictions, lang)) }
                        td data-label=(t(Msg::PricesComponents)) {
                            ul.plain {
                                @for comp in &e.components {
                                    li { (kind_name(comp.kind(), lang)) ": " (component_words(comp, &latest.currency, lang)) }
                                }
                            }
                        }
                        td data-label=(t(Msg::PricesInForce)) {
                            @let live: Vec<&str> = KINDS.iter()
                                .filter(|k| latest.component_at(**k, now).is_some_and(|(el, _)| el == i))
                                .map(|k| kind_name(*k, lang)).collect();
                            @if live.is_empty() { span.muted { "–" } }
                            @else { (badge("s-ok", &live.join(", "))) }
                        }
                    }
                }
            }
        }
        @if may_change && latest.deleted_at.is_none() {
            h2 #change { (t(Msg::PricesChange)) }
            p.hint { (t(Msg::PricesChangeHint)) }
            @if let Some(r) = &refused {
                div.error #(error_id) role="alert" {
                    @let label = r.field.as_ref().and_then(|p| fields.iter().find(|f| &f.path == p)).map(|f| f.label.clone());
                    @if let Some(l) = label { strong { (l) } ": " }
                    (r.message)
                }
            }
            form method="post" action=(path) novalidate {
                input type="hidden" name="csrf" value=(c.session.csrf_token);
                input type="hidden" name="version" value=(latest.version);
                @for f in &fields {
                    @let fid = field_id(&f.path);
                    @let bad = refused.as_ref().is_some_and(|r| r.field.as_deref() == Some(f.path.as_str()));
                    @let value = refused.as_ref().and_then(|r| r.form.get(&f.path)).map(str::to_owned).unwrap_or_else(|| f.value.clone());
                    label for=(fid) { (f.label) }
                    @if bad {
                        input id=(fid) name=(f.path) value=(value) inputmode=(if f.minutes { "numeric" } else { "decimal" }) autocomplete="off" aria-invalid="true" aria-describedby=(error_id);
                    } @else {
                        input id=(fid) name=(f.path) value=(value) inputmode=(if f.minutes { "numeric" } else { "decimal" }) autocomplete="off";
                    }
                }
                div.actions { button type="submit" { (t(Msg::PricesSave)) } }
            }
        }
        h2 { (t(Msg::PricesAssignments)) }
        @if assignments.is_empty() {
            p.empty { (t(Msg::PricesNotAssigned)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (t(Msg::PricesAssigned)) }
                    th scope="col" { (t(Msg::PricesSince)) }
                } }
                tbody {
                    @for a in &assignments {
                        tr {
                            td data-label=(t(Msg::PricesAssigned)) { (target_words(a, lang)) }
                            td data-label=(t(Msg::PricesSince)) { (i18n::datetime(a.created_at, lang)) }
                        }
                    }
                }
            }
        }
        h2 { (t(Msg::PricesVersions)) }
        table {
            thead { tr {
                th scope="col" { (t(Msg::PricesVersion)) }
                th scope="col" { (t(Msg::PricesEffective)) }
                th scope="col" { (t(Msg::PricesComponents)) }
            } }
            tbody {
                @for v in versions.iter().rev() {
                    tr {
                        td.num data-label=(t(Msg::PricesVersion)) {
                            (v.version)
                            @if v.deleted_at.is_some() { " " (badge("s-off", t(Msg::PricesDeleted))) }
                        }
                        td data-label=(t(Msg::PricesEffective)) { (i18n::datetime(v.effective_at, lang)) }
                        td data-label=(t(Msg::PricesComponents)) {
                            ul.plain {
                                @for e in &v.elements {
                                    @for comp in &e.components {
                                        li {
                                            (kind_name(comp.kind(), lang)) ": " (component_words(comp, &v.currency, lang))
                                            @if !e.restrictions.is_empty() { " (" (when(&e.restrictions, lang)) ")" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(html(
        status,
        layout::page(&c.frame(&path), &latest.name, body),
    ))
}

/// `POST /portal/prices/{id}`: `version` (the one the form showed) and the
/// values of [`editables`] by their paths.
pub async fn change(
    State(st): State<PortalState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let path = tariff_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Admin)?.clone();
    let based_on = form
        .get("version")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            c.fail(ApiError::BadRequest(
                "version: the form's tariff version is missing".into(),
            ))
        })?;
    let versions = tariff_versions(&st.api, &who, &id).await.or_page(&c)?;
    let Some(latest) = versions.last() else {
        return Err(c.fail(ApiError::NotFound(format!("tariff {id:?} not found"))));
    };
    let fields = editables(latest, c.lang);
    let mut tariff = tariff_body(latest);
    // The field is named by its label on the page: the message need not
    // repeat its path.
    let refused = |field: Option<String>, message: String| {
        let message = match &field {
            Some(f) => message
                .strip_prefix(f.as_str())
                .and_then(|m| m.strip_prefix(": "))
                .map_or(message.clone(), str::to_owned),
            None => message,
        };
        Refused {
            field,
            message,
            form: &form,
        }
    };
    if let Err((field, message)) =
        apply_form(&mut tariff, &fields, |p| form.get(p).map(str::to_owned))
    {
        return render_tariff(&st, &c, &id, None, Some(refused(Some(field), message))).await;
    }
    let body = serde_json::to_vec(&tariff).expect("JSON serialises");
    match update_tariff(&st.api, &who, &id, Some(based_on), &body).await {
        Ok(next) => {
            audit(&st, &who, "POST /portal/prices/{id}", &path, &form).await;
            Ok(Redirect::to(&format!("{path}?saved={}", next.version)).into_response())
        }
        Err(ApiError::BadRequest(m)) => {
            let field = field_of(&m, &fields);
            render_tariff(&st, &c, &id, None, Some(refused(field, m))).await
        }
        Err(e) => Err(c.fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::tariff::{SpotFormula, TariffElement};
    use csms_domain::OrgId;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn tariff() -> Tariff {
        let at: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        Tariff {
            id: "trf_1".into(),
            org_id: OrgId::parse("org-a").unwrap(),
            name: "Publik".into(),
            currency: "SEK".into(),
            vat_rate: d("0.25"),
            time_zone: None,
            elements: vec![
                TariffElement {
                    components: vec![PriceComponent::Energy {
                        price: EnergyPrice::Spot(SpotFormula {
                            zone: BiddingZone::parse("SE3").unwrap(),
                            factor: d("1"),
                            markup: d("0.5"),
                            grid_fee: d("0.2"),
                            energy_tax: d("0.439"),
                            floor: Some(d("0")),
                            ceiling: None,
                        }),
                    }],
                    restrictions: Restrictions {
                        days_of_week: vec![Weekday::Mon, Weekday::Fri],
                        start_time: NaiveTime::from_hms_opt(17, 0, 0),
                        end_time: NaiveTime::from_hms_opt(20, 0, 0),
                        ..Default::default()
                    },
                },
                TariffElement {
                    components: vec![
                        PriceComponent::Energy {
                            price: EnergyPrice::Fixed { per_kwh: d("3.5") },
                        },
                        PriceComponent::Idle {
                            price: d("1"),
                            per: TimeUnit::Minute,
                            grace_minutes: 15,
                        },
                    ],
                    restrictions: Restrictions::default(),
                },
            ],
            min_price: None,
            max_price: None,
            version: 2,
            effective_at: at,
            created_at: at,
            deleted_at: None,
        }
    }

    #[test]
    fn unit_prices_keep_up_to_four_decimals_in_the_locales_format() {
        assert_eq!(unit_price(d("3.5"), "SEK", Language::Sv), "3,50 kr");
        assert_eq!(unit_price(d("0.2901"), "SEK", Language::Sv), "0,2901 kr");
        assert_eq!(unit_price(d("0.29015"), "EUR", Language::En), "EUR 0.2902");
        assert_eq!(unit_price(d("1234"), "SEK", Language::En), "SEK 1,234.00");
    }

    #[test]
    fn components_and_their_times_read_as_words() {
        let t = tariff();
        assert_eq!(
            when(&t.elements[0].restrictions, Language::Sv),
            "mån, fre 17:00–20:00"
        );
        assert_eq!(when(&t.elements[1].restrictions, Language::En), "Always");
        assert_eq!(
            component_words(&t.elements[1].components[0], "SEK", Language::Sv),
            "3,50 kr per kWh"
        );
        let spot = component_words(&t.elements[0].components[0], "SEK", Language::En);
        assert!(spot.contains("SE3") && spot.contains("SEK 0.439"), "{spot}");
        let idle = component_words(&t.elements[1].components[1], "SEK", Language::En);
        assert!(
            idle.contains("SEK 1.00 per minute") && idle.contains("15"),
            "{idle}"
        );
    }

    #[test]
    fn the_form_offers_each_price_by_its_path_and_puts_it_back_there() {
        let t = tariff();
        let fields = editables(&t, Language::En);
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "elements[0].components[0].price.markup",
                "elements[0].components[0].price.gridFee",
                "elements[0].components[0].price.energyTax",
                "elements[1].components[0].price.perKwh",
                "elements[1].components[1].price",
                "elements[1].components[1].graceMinutes",
            ]
        );
        // Two elements: each label says when its element applies.
        assert!(fields[3].label.ends_with("(Always)"), "{}", fields[3].label);
        assert_eq!(fields[3].value, "3.5");
        assert_eq!(editables(&t, Language::Sv)[3].value, "3,5");
        let mut body = tariff_body(&t);
        let typed: HashMap<&str, &str> = [
            ("elements[1].components[0].price.perKwh", " 4,25 "),
            ("elements[1].components[1].graceMinutes", "20"),
        ]
        .into();
        apply_form(&mut body, &fields, |p| typed.get(p).map(|v| v.to_string())).unwrap();
        assert_eq!(
            body["elements"][1]["components"][0]["price"]["perKwh"],
            "4.25"
        );
        assert_eq!(body["elements"][1]["components"][1]["graceMinutes"], 20);
        assert_eq!(decimal_sign("1,2,3"), "1,2,3");
        assert_eq!(decimal_sign("1.5"), "1.5");
        // Untouched values stay as they were.
        assert_eq!(
            body["elements"][0]["components"][0]["price"]["markup"],
            "0.5"
        );
        let bad: HashMap<&str, &str> = [("elements[1].components[1].graceMinutes", "a lot")].into();
        let err =
            apply_form(&mut body, &fields, |p| bad.get(p).map(|v| v.to_string())).unwrap_err();
        assert_eq!(err.0, "elements[1].components[1].graceMinutes");
        assert!(!put_at(
            &mut body,
            "elements[7].components[0].price",
            Value::Null
        ));
        assert!(!put_at(&mut body, "elements[0].nothing", Value::Null));
        assert_eq!(
            field_of(
                "elements[1].components[0].price.perKwh: \"x\" is not a decimal",
                &fields
            ),
            Some("elements[1].components[0].price.perKwh".to_owned())
        );
        assert_eq!(field_of("name: too long", &fields), None);
    }

    #[test]
    fn the_resolutions_steps_read_in_the_pages_language() {
        assert_eq!(
            step_words("station CP-1, everyone", Language::Sv),
            "station CP-1, alla förare"
        );
        assert_eq!(
            step_words("site hus-a, group residents", Language::En),
            "site hus-a, group residents"
        );
        assert_eq!(
            step_words("organisation, group boende", Language::Sv),
            "hela organisationen, gruppen boende"
        );
        assert_eq!(step_words("somewhere else", Language::Sv), "somewhere else");
    }

    #[test]
    fn quarter_hours_are_shown_as_the_mean_of_each_hour() {
        use csms_domain::spot::{SpotSlot, SpotSource};
        let zone = BiddingZone::parse("SE3").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let start = zone.day_start(date);
        let step = chrono::TimeDelta::minutes(15);
        let slots = (0..96)
            .map(|i| SpotSlot {
                start: start + step * i,
                end: start + step * (i + 1),
                // Hour h's quarters cost h, h+0.1, h+0.2, h+0.3: mean h+0.15.
                price: Decimal::from(i / 4) + Decimal::new(i64::from(i % 4), 1),
            })
            .collect();
        let day = SpotDay {
            zone,
            date,
            currency: "SEK".into(),
            resolution_minutes: 15,
            slots,
            source: SpotSource::Manual,
            fetched_at: start,
        };
        let bars = hourly(&day);
        assert_eq!(bars.len(), 24);
        assert_eq!(bars[0].label, "00");
        assert_eq!(bars[0].value, d("0.15"));
        assert_eq!(bars[23].label, "23");
        assert_eq!(bars[23].value, d("23.15"));
    }
}
