//! Load balancing, `GET /portal/load`: the organisation's load-balanced
//! sites; `GET /portal/load/{siteId}`: a site's set-up (main fuse per
//! phase, boards, each EVSE's limits and priority as `GET /sites/{id}/load`
//! has them), the allocation in force (each EVSE's limit and why, the
//! chargers' total against the fuse, as `GET /sites/{id}/load/allocation`
//! computes it; `GET /portal/live/load/{siteId}` refreshes that part every
//! few seconds) and the price-optimised plan against spot prices
//! (`GET /sites/{id}/load/plan`). For the roles that read the organisation
//! (the API's `read` scope); another organisation's site is a 404.

use crate::chart::{self, Chart, Point};
use crate::i18n::{self, Msg, DISPLAY_ZONE};
use crate::layout::{self, badge};
use crate::web::{caller, encoded, html, Caller, Failure, OrPage};
use crate::PortalState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use csms_api::shared::{
    load_balanced_sites, plan_view, site_allocation, AllocationView, EvseAllocationView, PlanView,
};
use csms_domain::api_key::Scope;
use csms_domain::load::{LoadConfig, LoadMode, PhaseAmps};
use csms_domain::tenant::Language;
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde_json::Value;

pub(crate) fn site_path(id: &str) -> String {
    format!("/portal/load/{}", encoded(id))
}

/// Amperes as the configuration has them: no decimals for whole ones.
pub(crate) fn amps(a: Decimal, lang: Language) -> String {
    let a = a.normalize();
    format!("{} A", i18n::number(a, a.scale().min(2), lang))
}

fn mode_text(mode: LoadMode) -> Msg {
    match mode {
        LoadMode::Static => Msg::LoadModeStatic,
        LoadMode::Dynamic => Msg::LoadModeDynamic,
        LoadMode::TrueDynamic => Msg::LoadModeTrueDynamic,
    }
}

/// An EVSE's state in words, with its badge's colour.
pub(crate) fn state_badge(state: &str, lang: Language) -> Markup {
    let (class, msg) = match state {
        "charging" => ("s-busy", Msg::LoadStateCharging),
        "paused" => ("s-warn", Msg::LoadStatePaused),
        "idle" => ("s-ok", Msg::LoadStateIdle),
        _ => ("s-off", Msg::LoadStateOffline),
    };
    badge(class, msg.text(lang))
}

/// The kind of an allocation's reason in words (`fairShare`, `evseMax`, …).
pub(crate) fn reason_text(e: &EvseAllocationView, lang: Language) -> Option<&'static str> {
    let kind = e.reason.as_ref()?.get("kind")?.as_str()?;
    let msg = match kind {
        "fairShare" => Msg::LoadReasonFairShare,
        "evseMax" => Msg::LoadReasonEvseMax,
        "demand" => Msg::LoadReasonDemand,
        "pvSurplus" => Msg::LoadReasonPv,
        "planned" => Msg::LoadReasonPlanned,
        "paused" => Msg::LoadReasonPaused,
        _ => return None,
    };
    Some(msg.text(lang))
}

/// `GET /portal/load`.
pub async fn page(State(st): State<PortalState>, headers: HeaderMap) -> Result<Response, Failure> {
    let path = "/portal/load";
    let c = caller(&st, &headers, path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let sites = load_balanced_sites(&st.api, &who.org_id)
        .await
        .or_page(&c)?;
    let body = html! {
        h1 { (t(Msg::LoadTitle)) }
        @if sites.is_empty() {
            p.empty { (t(Msg::LoadNoSites)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (t(Msg::LoadSite)) }
                    th scope="col" { (t(Msg::LoadMode)) }
                    th scope="col" { (t(Msg::LoadGridFuse)) }
                    th scope="col" { (t(Msg::LoadEvses)) }
                } }
                tbody {
                    @for (site, load) in &sites {
                        tr {
                            td data-label=(t(Msg::LoadSite)) {
                                a href=(site_path(site.id.as_str())) { (site.name) }
                            }
                            td data-label=(t(Msg::LoadMode)) { (t(mode_text(load.config.mode))) }
                            td.num data-label=(t(Msg::LoadGridFuse)) { (per_phase(load.config.grid_fuse_a, lang)) }
                            td.num data-label=(t(Msg::LoadEvses)) { (load.config.evses.len()) }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(path), t(Msg::LoadTitle), body),
    ))
}

/// `16 / 16 / 16 A`.
fn per_phase(p: PhaseAmps, lang: Language) -> String {
    let n = |a: Decimal| {
        let a = a.normalize();
        i18n::number(a, a.scale().min(2), lang)
    };
    format!("{} / {} / {} A", n(p.l1), n(p.l2), n(p.l3))
}

/// `GET /portal/load/{siteId}`.
pub async fn site(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let path = site_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let (load, state, allocation) = site_allocation(&st.api, &who.org_id, &id)
        .await
        .or_page(&c)?;
    let name = st
        .api
        .store
        .get_site(&load.site_id)
        .await
        .or_page(&c)?
        .map_or_else(|| load.site_id.to_string(), |s| s.name);
    let plan = plan_view(&load.site_id, &state);
    let title = Msg::LoadSiteTitle.text(lang).replace("{}", &name);
    let body = html! {
        p { a href="/portal/load" { (t(Msg::LoadBack)) } }
        h1 { (title) }
        (setup(&load.config, lang))
        (live_part(&c, &id, &allocation))
        (plan_part(&plan, lang))
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), &title, body),
    ))
}

/// `GET /portal/live/load/{siteId}`: the allocation alone.
pub async fn live(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, &site_path(&id)).await?;
    let who = c.permitted(Scope::Read)?;
    let (_, _, allocation) = site_allocation(&st.api, &who.org_id, &id)
        .await
        .or_page(&c)?;
    Ok(html(StatusCode::OK, live_part(&c, &id, &allocation)))
}

/// The installation as configured.
fn setup(config: &LoadConfig, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let fuse = config.grid_fuse_a;
    html! {
        section aria-labelledby="setup" {
            h2 #setup { (t(Msg::LoadSetup)) }
            dl.facts {
                dt { (t(Msg::LoadMode)) } dd { (t(mode_text(config.mode))) }
                dt { (t(Msg::LoadVoltage)) } dd.num { (config.voltage) " V" }
                @if let Some(w) = config.power_cap_w {
                    dt { (t(Msg::LoadPowerCap)) } dd.num { (i18n::kw(Decimal::from(w), lang)) }
                }
                @if let Some(zone) = &config.bidding_zone {
                    dt { (t(Msg::LoadBiddingZone)) } dd { (zone) }
                }
            }
            table #fuse {
                caption { (t(Msg::LoadFuseCaption)) }
                thead { tr {
                    th scope="col" { (t(Msg::LoadFeeder)) }
                    th scope="col" { (t(Msg::LoadFedFrom)) }
                    th scope="col" { "L1" }
                    th scope="col" { "L2" }
                    th scope="col" { "L3" }
                } }
                tbody {
                    tr {
                        th scope="row" { (t(Msg::LoadGridFuse)) }
                        td data-label=(t(Msg::LoadFedFrom)) { "–" }
                        td.num data-label="L1" { (amps(fuse.l1, lang)) }
                        td.num data-label="L2" { (amps(fuse.l2, lang)) }
                        td.num data-label="L3" { (amps(fuse.l3, lang)) }
                    }
                    @for b in &config.boards {
                        tr {
                            th scope="row" { (t(Msg::LoadBoard)) " " (b.id) }
                            td data-label=(t(Msg::LoadFedFrom)) {
                                @match &b.parent {
                                    Some(p) => { (t(Msg::LoadBoard)) " " (p) }
                                    None => { (t(Msg::LoadGridFuse)) }
                                }
                            }
                            td.num data-label="L1" { (amps(b.fuse_a.l1, lang)) }
                            td.num data-label="L2" { (amps(b.fuse_a.l2, lang)) }
                            td.num data-label="L3" { (amps(b.fuse_a.l3, lang)) }
                        }
                    }
                }
            }
            table #evses {
                caption { (t(Msg::LoadEvses)) }
                thead { tr {
                    th scope="col" { (t(Msg::Station)) }
                    th scope="col" { (t(Msg::Evse)) }
                    th scope="col" { (t(Msg::LoadFedFrom)) }
                    th scope="col" { (t(Msg::LoadPhases)) }
                    th scope="col" { (t(Msg::LoadMin)) }
                    th scope="col" { (t(Msg::LoadMax)) }
                    th scope="col" { (t(Msg::LoadPriority)) }
                } }
                tbody {
                    @for e in &config.evses {
                        tr {
                            td data-label=(t(Msg::Station)) {
                                a href={"/portal/stations/" (encoded(e.station_id.as_str()))} { (e.station_id.as_str()) }
                            }
                            td.num data-label=(t(Msg::Evse)) { (e.evse_id) }
                            td data-label=(t(Msg::LoadFedFrom)) {
                                @match &e.board {
                                    Some(b) => { (t(Msg::LoadBoard)) " " (b) }
                                    None => { (t(Msg::LoadGridFuse)) }
                                }
                            }
                            td.num data-label=(t(Msg::LoadPhases)) { (e.phases) }
                            td.num data-label=(t(Msg::LoadMin)) { (amps(e.min_a, lang)) }
                            td.num data-label=(t(Msg::LoadMax)) { (amps(e.max_a, lang)) }
                            td.num data-label=(t(Msg::LoadPriority)) { (e.priority) }
                        }
                    }
                }
            }
        }
    }
}

/// The allocation in force, polling itself.
fn live_part(c: &Caller, id: &str, a: &AllocationView) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let computed = a
        .computed_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| i18n::datetime(d.with_timezone(&chrono::Utc), lang));
    let fuse = &a.grid_fuse_a;
    let used = &a.allocated_a;
    let free = |f: Decimal, u: Decimal| f.checked_sub(u).unwrap_or(Decimal::ZERO);
    html! {
        section #allocation aria-labelledby="live" hx-get={"/portal/live/load/" (encoded(id))} hx-trigger="every 5s" hx-swap="outerHTML" {
            h2 #live { (t(Msg::LoadLive)) }
            p.hint {
                @match &computed {
                    Some(at) => { (t(Msg::LoadComputedAt)) " " (at) }
                    None => { (t(Msg::LoadNotComputed)) }
                }
            }
            table #total {
                caption { (t(Msg::LoadTotalCaption)) }
                thead { tr {
                    th scope="col" { (t(Msg::LoadPhase)) }
                    th scope="col" { (t(Msg::LoadGridFuse)) }
                    @if a.grid_meter.is_some() {
                        th scope="col" { (t(Msg::LoadMeter)) }
                    }
                    th scope="col" { (t(Msg::LoadAllocated)) }
                    th scope="col" { (t(Msg::LoadFree)) }
                } }
                tbody {
                    @for (phase, f, u, m) in [
                        ("L1", fuse.l1, used.l1, a.grid_meter.as_ref().map(|g| g.current_a.l1)),
                        ("L2", fuse.l2, used.l2, a.grid_meter.as_ref().map(|g| g.current_a.l2)),
                        ("L3", fuse.l3, used.l3, a.grid_meter.as_ref().map(|g| g.current_a.l3)),
                    ] {
                        tr {
                            th scope="row" { (phase) }
                            td.num data-label=(t(Msg::LoadGridFuse)) { (amps(f, lang)) }
                            @if let Some(m) = m {
                                td.num data-label=(t(Msg::LoadMeter)) { (amps(m, lang)) }
                            }
                            td.num data-label=(t(Msg::LoadAllocated)) { (amps(u, lang)) }
                            td.num data-label=(t(Msg::LoadFree)) { (amps(free(f, u), lang)) }
                        }
                    }
                }
            }
            @if !a.warnings.is_empty() {
                ul.warnings lang="en" {
                    @for w in &a.warnings { li { (w) } }
                }
            }
            table #allocations {
                caption { (t(Msg::LoadAllocationCaption)) }
                thead { tr {
                    th scope="col" { (t(Msg::Station)) }
                    th scope="col" { (t(Msg::Evse)) }
                    th scope="col" { (t(Msg::Status)) }
                    th scope="col" { (t(Msg::LoadLimit)) }
                    th scope="col" { (t(Msg::LoadWhy)) }
                } }
                tbody {
                    @for e in &a.evses {
                        tr data-evse={(e.station_id) "/" (e.evse_id)} {
                            td data-label=(t(Msg::Station)) { (e.station_id) }
                            td.num data-label=(t(Msg::Evse)) { (e.evse_id) }
                            td data-label=(t(Msg::Status)) { (state_badge(&e.state, lang)) }
                            (limit_and_why(e, lang))
                        }
                    }
                }
            }
        }
    }
}

/// An EVSE's limit now (or its own limit while idle) and why, as two
/// cells: the load page's allocation and the station page's share them.
pub(crate) fn limit_and_why(e: &EvseAllocationView, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        td.num.limit data-label=(t(Msg::LoadLimit)) {
            @match (e.current_a, &e.default_profile) {
                (Some(a), _) => { (amps(a, lang)) }
                (None, Some(d)) => { (amps(d.limit_a, lang)) " " (t(Msg::LoadOwnLimit)) }
                (None, None) => { "–" }
            }
        }
        td.why data-label=(t(Msg::LoadWhy)) {
            @if let Some(r) = reason_text(e, lang) { (r) }
            // The balancer's own sentence is the API's (English, kept
            // stable); in Swedish the page says it from the reason's facts,
            // and the English one only for a reason it has no words for.
            @match (lang, swedish_explanation(e)) {
                (Language::Sv, Some(x)) => { " " span.hint.explanation { (x) } }
                _ => @if let Some(x) = &e.explanation {
                    " " span.hint.explanation lang="en" { (x) }
                },
            }
        }
    }
}

/// A bound of the supply in Swedish: `huvudsäkringen L1`, `gruppcentral
/// B1 L2`, `platsens effekttak` (the API's `limit`: `{"kind":"fuse",
/// "node":{"kind":"grid"},"phase":"L1"}` or `{"kind":"powerCap"}`).
fn limit_sv(limit: &Value) -> Option<String> {
    match limit.get("kind")?.as_str()? {
        "powerCap" => Some("platsens effekttak".to_owned()),
        "fuse" => {
            let node = limit.get("node")?;
            let phase = limit.get("phase")?.as_str()?;
            let what = match node.get("kind")?.as_str()? {
                "grid" => "huvudsäkringen".to_owned(),
                "board" => format!("gruppcentral {}", node.get("id")?.as_str()?),
                _ => return None,
            };
            Some(format!("{what} {phase}"))
        }
        _ => None,
    }
}

/// The balancer's explanation of an EVSE's limit in Swedish, from the
/// reason's facts (the API's `reason`) — the same sentence as the API's
/// English `explanation`, which stays as it is for the API's clients.
/// `None` for a reason it does not know.
pub(crate) fn swedish_explanation(e: &EvseAllocationView) -> Option<String> {
    let reason = e.reason.as_ref()?;
    let time = |k: &str| {
        reason
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<csms_domain::Timestamp>().ok())
            .map(|t| i18n::datetime(t, Language::Sv))
    };
    // A limit held while the charger cannot be given a new one: the API
    // says so in its sentence (the reason is the EVSE's maximum).
    if let (Some(x), Some(a)) = (&e.explanation, e.current_a) {
        if x.contains(": held at ") {
            let why = if x.starts_with("station offline") {
                "stationen är inte ansluten"
            } else {
                "laddaren tog inte emot sin senaste gräns"
            };
            return Some(format!(
                "{why}: hålls vid {}, det mesta den får dra under det den senast fick",
                amps(a, Language::Sv)
            ));
        }
    }
    Some(match reason.get("kind")?.as_str()? {
        "fairShare" => match reason.get("limit").and_then(limit_sv)? {
            cap if cap == "platsens effekttak" => "begränsad av platsens effekttak".to_owned(),
            limit => format!("rättvis andel av gränsen för {limit}"),
        },
        "evseMax" => "begränsad av laddpunktens högsta ström".to_owned(),
        "demand" => "begränsad till bilens uppmätta förbrukning plus marginal".to_owned(),
        "pvSurplus" => "solöverskott".to_owned(),
        "planned" => "enligt planen för den här perioden".to_owned(),
        "paused" => {
            let cause = reason.get("cause")?;
            let mut x = match cause.get("kind")?.as_str()? {
                "limit" => format!(
                    "pausad: inget utrymme inom gränsen för {}",
                    limit_sv(cause.get("limit")?)?
                ),
                "pvSurplus" => "pausad: inte tillräckligt solöverskott".to_owned(),
                "planned" => "pausad: planen laddar den i billigare perioder senare".to_owned(),
                _ => return None,
            };
            if let Some(since) = time("waitingSince") {
                x.push_str(&format!(", väntar sedan {since}"));
            }
            if let Some(due) = time("rotationDue") {
                x.push_str(&format!(", turen väntas {due}"));
            }
            x
        }
        _ => return None,
    })
}

/// A plan slot's start in the display zone, `14:15`.
fn slot_label(start: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(start)
        .map(|d| d.with_timezone(&DISPLAY_ZONE).format("%H:%M").to_string())
        .unwrap_or_else(|_| start.to_owned())
}

/// The plan against spot prices: the prices of its slots, the amperes
/// planned in each (all sessions together) and each session's plan.
fn plan_part(plan: &PlanView, lang: Language) -> Markup {
    let t = |m: Msg| m.text(lang);
    let currency = plan.currency.as_deref().unwrap_or("SEK");
    let unit = match lang {
        Language::Sv if currency == "SEK" => "kr/kWh".to_owned(),
        _ => format!("{currency}/kWh"),
    };
    let prices: Vec<Point> = plan
        .slots
        .iter()
        .map(|s| Point {
            label: slot_label(&s.start),
            value: s.price,
        })
        .collect();
    let planned: Vec<Point> = plan
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| Point {
            label: slot_label(&s.start),
            value: plan
                .sessions
                .iter()
                .filter_map(|p| p.currents_a.get(i))
                .fold(Decimal::ZERO, |sum, a| sum.checked_add(*a).unwrap_or(sum)),
        })
        .collect();
    let zone = plan.bidding_zone.as_deref().unwrap_or("");
    html! {
        section aria-labelledby="plan" {
            h2 #plan { (t(Msg::LoadPlan)) }
            @if plan.slots.is_empty() {
                p.empty { (t(Msg::LoadNoPlan)) }
                @if !plan.warnings.is_empty() {
                    ul.warnings lang="en" {
                        @for w in &plan.warnings { li { (w) } }
                    }
                }
            } @else {
                p.hint { (Msg::LoadPlanHint.text(lang).replace("{}", zone)) }
                (chart::bars(&Chart {
                    id: "plan-prices",
                    title: &Msg::LoadPlanPrices.text(lang).replace("{}", zone),
                    unit: &unit,
                    decimals: 4,
                    label_heading: t(Msg::LoadSlot),
                    lang,
                }, &prices))
                (chart::bars(&Chart {
                    id: "plan-amps",
                    title: t(Msg::LoadPlanAmps),
                    unit: "A",
                    decimals: 1,
                    label_heading: t(Msg::LoadSlot),
                    lang,
                }, &planned))
                table #plan-sessions {
                    caption { (t(Msg::LoadPlanSessions)) }
                    thead { tr {
                        th scope="col" { (t(Msg::Station)) }
                        th scope="col" { (t(Msg::Evse)) }
                        th scope="col" { (t(Msg::LoadDeparture)) }
                        th scope="col" { (t(Msg::LoadNeed)) }
                        th scope="col" { (t(Msg::LoadPlanned)) }
                        th scope="col" { (t(Msg::LoadCost)) }
                    } }
                    tbody {
                        @for s in &plan.sessions {
                            tr {
                                td data-label=(t(Msg::Station)) { (s.station_id) }
                                td.num data-label=(t(Msg::Evse)) { (s.evse_id) }
                                td data-label=(t(Msg::LoadDeparture)) {
                                    (chrono::DateTime::parse_from_rfc3339(&s.departure_at)
                                        .map(|d| i18n::datetime(d.with_timezone(&chrono::Utc), lang))
                                        .unwrap_or_else(|_| s.departure_at.clone()))
                                }
                                td.num data-label=(t(Msg::LoadNeed)) { (i18n::number(s.need_kwh, 1, lang)) " kWh" }
                                td.num data-label=(t(Msg::LoadPlanned)) {
                                    (i18n::number(s.planned_kwh, 1, lang)) " kWh"
                                    @if let Some(u) = &s.unmet { " " span.hint lang="en" { (u) } }
                                }
                                td.num data-label=(t(Msg::LoadCost)) { (i18n::money_dp(s.cost, currency, 2, lang)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evse(reason: Value, explanation: &str, current: Option<i64>) -> EvseAllocationView {
        EvseAllocationView {
            station_id: "CP1".into(),
            evse_id: 1,
            connected: true,
            state: "charging".into(),
            transaction_id: Some("7".into()),
            current_a: current.map(Decimal::from),
            phases: Some(3),
            reason: Some(reason),
            explanation: Some(explanation.into()),
            measured_a: None,
            soc: None,
            profile: None,
            default_profile: None,
        }
    }

    #[test]
    fn the_balancer_s_reasons_are_said_in_swedish_too() {
        let grid = json!({"kind": "fuse", "node": {"kind": "grid"}, "phase": "L1"});
        let board = json!({"kind": "fuse", "node": {"kind": "board", "id": "B2"}, "phase": "L3"});
        let cases = [
            (json!({"kind": "fairShare", "limit": grid}), "fair share of grid connection L1 limit",
             "rättvis andel av gränsen för huvudsäkringen L1"),
            (json!({"kind": "fairShare", "limit": {"kind": "powerCap"}}), "limited by site power cap",
             "begränsad av platsens effekttak"),
            (json!({"kind": "evseMax"}), "capped by EVSE max", "begränsad av laddpunktens högsta ström"),
            (json!({"kind": "demand"}), "capped at measured draw plus headroom",
             "begränsad till bilens uppmätta förbrukning plus marginal"),
            (json!({"kind": "planned"}), "as planned for this slot", "enligt planen för den här perioden"),
            (json!({"kind": "paused", "cause": {"kind": "limit", "limit": board},
                    "waitingSince": "2026-12-07T13:05:00Z", "rotationDue": "2026-12-07T13:35:00Z"}),
             "paused: no room in board B2 L3 limit, waiting since …",
             "pausad: inget utrymme inom gränsen för gruppcentral B2 L3, väntar sedan 2026-12-07 14:05, turen väntas 2026-12-07 14:35"),
        ];
        for (reason, english, swedish) in cases {
            let e = evse(reason, english, Some(10));
            assert_eq!(swedish_explanation(&e).as_deref(), Some(swedish));
            // The page says it in its language; the API's sentence is untouched.
            let sv = limit_and_why(&e, Language::Sv).into_string();
            assert!(sv.contains(swedish) && !sv.contains(english), "{sv}");
            let en = limit_and_why(&e, Language::En).into_string();
            assert!(en.contains(english) && !en.contains(swedish), "{en}");
            assert_eq!(e.explanation.as_deref(), Some(english));
        }
        let held = evse(
            json!({"kind": "evseMax"}),
            "station offline: held at 16 A, the most it may draw under what it was last given",
            Some(16),
        );
        let x = swedish_explanation(&held).unwrap();
        assert!(
            x.starts_with("stationen är inte ansluten: hålls vid 16"),
            "{x}"
        );
        // A reason the page has no words for: the API's sentence, marked English.
        let odd = evse(json!({"kind": "somethingNew"}), "something new", None);
        assert_eq!(swedish_explanation(&odd), None);
        assert!(limit_and_why(&odd, Language::Sv)
            .into_string()
            .contains(r#"lang="en">something new"#));
    }
}
