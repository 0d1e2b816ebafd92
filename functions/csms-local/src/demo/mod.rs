//! `csms-local --demo` (or `CSMS_DEMO=true`): a living portal for a
//! newcomer. On a fresh data dir it seeds two organisations — the housing
//! co-operative BRF Solrosen (Swedish) and the operator Voltway Charging AB
//! (English) — with sites, stations, people, RFID tags and tariffs, all
//! through this process's own HTTP API ([`api::Api`]: the same handlers,
//! rules and audit log as any client). Then it starts a simulated charger
//! per station ([`charger`]) that dials the OCPP endpoint; on the first
//! start each replays a month of past sessions ([`history`]), which the
//! CSMS records and prices like any charger's. From then on a conductor
//! hands a driver's tag to a charger with a free connector every
//! `CSMS_DEMO_SESSION_EVERY_SECONDS`, so sessions start, meter and stop.
//!
//! A second start with the same data dir seeds nothing again (an
//! organisation that exists is left as it is; a station with sessions
//! replays none) but starts the chargers again, with fresh passwords.
//!
//! Layout: [`world`] the fixed data, [`history`] the past month,
//! [`charger`] the simulated charger, [`api`] the in-process API client.

pub mod api;
pub mod charger;
pub mod history;
pub mod world;

use anyhow::{anyhow, Context};
use axum::http::{Method, StatusCode};
use chrono::Utc;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use api::Api;
use charger::{Charger, Order, Pace, Seen};
use world::{Version, ORGANISATIONS, PEOPLE, SITES, STATIONS, TAGS, TARIFFS};

/// The demo's settings.
#[derive(Debug, Clone, Copy)]
pub struct DemoSettings {
    /// How often a new live session starts (`CSMS_DEMO_SESSION_EVERY_SECONDS`,
    /// default 180).
    pub session_every: Duration,
}

impl DemoSettings {
    /// Charging connectors send their meter this often: every 30 s, or
    /// faster when sessions come faster (a test's few seconds).
    fn pace(&self) -> Pace {
        Pace {
            meter_every: self.session_every.min(Duration::from_secs(30)),
        }
    }
}

/// Starts the demo in the background: seeding, the chargers and the
/// conductor. Aborting the handle stops every charger.
pub fn spawn(
    settings: DemoSettings,
    api: Api,
    ocpp_base: String,
    portal_url: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tasks = JoinSet::new();
        if let Err(e) = run(settings, api, ocpp_base, portal_url, &mut tasks).await {
            tracing::error!(error = %format!("{e:#}"), "the demo could not start");
            return;
        }
        // The chargers and the conductor run until the process stops
        // (dropping the set aborts them).
        while tasks.join_next().await.is_some() {}
    })
}

async fn run(
    settings: DemoSettings,
    api: Api,
    ocpp_base: String,
    portal_url: String,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<()> {
    let began = Instant::now();
    let seeded = seed(&api).await?;
    print_people(&portal_url);
    let now = Utc::now();
    let mut chargers: Vec<(watch::Receiver<Seen>, mpsc::Sender<Order>, &'static str)> = Vec::new();
    let mut ready = Vec::new();
    let mut replayed = 0;
    for station in STATIONS {
        // A fresh password each start: the CSMS makes it up and answers it once.
        let rotated = api
            .ok(
                Method::POST,
                &format!("/stations/{}/password", station.id),
                Some(station.org),
                Some(&json!({"graceHours": 0})),
                StatusCode::OK,
            )
            .await?;
        let password = rotated
            .get("password")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                anyhow!(
                    "the password rotation of {} answered no password",
                    station.id
                )
            })?
            .to_owned();
        let has_sessions = api
            .ok(
                Method::GET,
                &format!("/sessions?stationId={}&limit=1", station.id),
                Some(station.org),
                None,
                StatusCode::OK,
            )
            .await?
            .get("items")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let tags = world::tags_of(station.org);
        let history = (!has_sessions).then(|| history::month_of(station, &tags, now));
        replayed += history.as_ref().map_or(0, Vec::len);
        let register_from = match history {
            Some(_) => now - chrono::Duration::days(history::DAYS),
            None => now,
        };
        let (charger, seen) = Charger::new(
            station,
            format!("{ocpp_base}/{}", station.id),
            password,
            settings.pace(),
            register_at(register_from),
        );
        let (orders_tx, orders_rx) = mpsc::channel(8);
        let (ready_tx, ready_rx) = oneshot::channel();
        ready.push(ready_rx);
        tasks.spawn(charger.run(history, Some(ready_tx), orders_rx));
        chargers.push((seen, orders_tx, station.org));
    }
    let n = ready.len();
    let all = async {
        for r in ready {
            let _ = r.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(600), all)
        .await
        .is_err()
    {
        tracing::warn!("demo: not every charger connected within 10 minutes");
    }
    tracing::info!(
        seeded,
        chargers = n,
        replayed_sessions = replayed,
        secs = format!("{:.1}", began.elapsed().as_secs_f64()),
        "demo: seeded and all chargers connected"
    );
    tasks.spawn(conduct(settings, chargers));
    Ok(())
}

/// A plausible energy register at `at`, Wh: it grows by half a watt-hour a
/// second since 2024, more than a connector's month of sessions adds, so a
/// register never goes back between a replayed month and a later start.
fn register_at(at: chrono::DateTime<Utc>) -> f64 {
    const SINCE: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z
    (at.timestamp() - SINCE).max(0) as f64 * 0.5
}

/// Every `session_every`, one charger with a free connector starts
/// charging for a driver of its organisation (the first right away).
async fn conduct(
    settings: DemoSettings,
    chargers: Vec<(watch::Receiver<Seen>, mpsc::Sender<Order>, &'static str)>,
) {
    let mut tick = tokio::time::interval(settings.session_every);
    loop {
        tick.tick().await;
        let order = {
            let mut rng = rand::thread_rng();
            let free: Vec<_> = chargers
                .iter()
                .filter(|(seen, _, _)| {
                    let s = *seen.borrow();
                    s.booted && s.free_connectors > 0
                })
                .collect();
            if free.is_empty() {
                continue;
            }
            let (_, tx, org) = free[rng.gen_range(0..free.len())];
            let tags = world::tags_of(org);
            let tag = tags[rng.gen_range(0..tags.len())];
            // A live session lasts 3 to 8 of the intervals (9–24 min by default).
            let for_how_long = settings.session_every * rng.gen_range(3..=8);
            (tx.clone(), Order::Charge { tag, for_how_long })
        };
        let _ = order.0.try_send(order.1);
    }
}

/// Seeds what is missing; `true` when anything was made. An organisation
/// that exists is taken as seeded, with everything in it.
async fn seed(api: &Api) -> anyhow::Result<bool> {
    let mut fresh = Vec::new();
    for org in ORGANISATIONS {
        if api
            .exists(&format!("/organisations/{}", org.id), None)
            .await?
        {
            continue;
        }
        api.ok(
            Method::POST,
            "/organisations",
            None,
            Some(&(org.body)()),
            StatusCode::CREATED,
        )
        .await?;
        fresh.push(org.id);
    }
    if fresh.is_empty() {
        tracing::info!("demo: the organisations exist already; nothing seeded");
        return Ok(false);
    }
    let is_fresh = |org: &str| fresh.contains(&org);
    for site in SITES.iter().filter(|s| is_fresh(s.org)) {
        api.ok(
            Method::POST,
            "/sites",
            Some(site.org),
            Some(&site.body()),
            StatusCode::CREATED,
        )
        .await?;
    }
    for st in STATIONS.iter().filter(|s| is_fresh(s.org)) {
        api.ok(
            Method::POST,
            "/stations",
            Some(st.org),
            Some(&json!({"id": st.id, "name": st.name, "siteId": st.site})),
            StatusCode::CREATED,
        )
        .await?;
    }
    // Person ids by e-mail, for their tags.
    let mut ids: HashMap<&str, String> = HashMap::new();
    for p in PEOPLE {
        for (org, role) in p.roles.iter().filter(|(o, _)| is_fresh(o)) {
            let made = add_person(api, p, org, role, ids.contains_key(p.email)).await?;
            let id = made
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("POST /users answered no id: {made}"))?;
            ids.insert(p.email, id.to_owned());
        }
    }
    for tag in TAGS.iter().filter(|t| is_fresh(t.org)) {
        let holder = PEOPLE
            .iter()
            .find(|p| p.email == tag.holder)
            .ok_or_else(|| anyhow!("tag {} has no holder", tag.value))?;
        api.ok(
            Method::POST,
            "/id-tokens",
            Some(tag.org),
            Some(
                &json!({"idToken": tag.value, "type": "ISO14443", "status": "Accepted",
                         "userId": ids.get(tag.holder), "label": holder.name}),
            ),
            StatusCode::CREATED,
        )
        .await?;
    }
    for t in TARIFFS.iter().filter(|t| is_fresh(t.org)) {
        let made = api
            .ok(
                Method::POST,
                "/tariffs",
                Some(t.org),
                Some(&(t.body)()),
                StatusCode::CREATED,
            )
            .await?;
        let id = made
            .get("id")
            .cloned()
            .context("POST /tariffs answered no id")?;
        api.ok(
            Method::POST,
            "/tariff-assignments",
            Some(t.org),
            Some(&json!({"tariffId": id, "target": {"kind": "organisation"}})),
            StatusCode::CREATED,
        )
        .await?;
    }
    tracing::info!(organisations = ?fresh, "demo: seeded");
    Ok(true)
}

/// Makes the person in `org` with `role`, or — when they have an account
/// already (made for the other organisation) — adds the role only.
async fn add_person(
    api: &Api,
    p: &world::Person,
    org: &str,
    role: &str,
    known: bool,
) -> anyhow::Result<Value> {
    let role_only = json!({"email": p.email, "role": role});
    if !known {
        let full = json!({"email": p.email, "name": p.name, "password": p.password,
                          "language": p.language, "role": role});
        let (status, body) = api
            .call(Method::POST, "/users", Some(org), Some(&full))
            .await?;
        match status {
            StatusCode::CREATED => return Ok(body),
            // Made by an earlier, interrupted start for the other organisation.
            StatusCode::BAD_REQUEST if body.to_string().contains("has an account") => {}
            s => anyhow::bail!("POST /users {}: HTTP {s}: {body}", p.email),
        }
    }
    api.ok(
        Method::POST,
        "/users",
        Some(org),
        Some(&role_only),
        StatusCode::OK,
    )
    .await
}

/// The table of demo people a newcomer signs in as.
fn print_people(portal_url: &str) {
    fn org_name(id: &str) -> &str {
        match id {
            world::SOLROSEN => "BRF Solrosen",
            world::VOLTWAY => "Voltway Charging AB",
            other => other,
        }
    }
    let mut lines = vec![
        String::new(),
        "Demo: sign in at ".to_owned() + portal_url,
        String::new(),
        format!(
            "  {:<28} {:<24} {:<10} {}",
            "e-mail", "password", "role", "organisation"
        ),
    ];
    for p in PEOPLE {
        let roles: Vec<String> = p.roles.iter().map(|(_, r)| (*r).to_owned()).collect();
        let orgs: Vec<&str> = p.roles.iter().map(|(o, _)| org_name(o)).collect();
        lines.push(format!(
            "  {:<28} {:<24} {:<10} {}",
            p.email,
            p.password,
            roles[0],
            orgs.join(" + ")
        ));
    }
    let versions: Vec<String> = STATIONS
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                s.id,
                match s.version {
                    Version::V16 => "1.6",
                    Version::V201 => "2.0.1",
                }
            )
        })
        .collect();
    lines.push(String::new());
    lines.push(format!("  simulated chargers: {}", versions.join(", ")));
    lines.push(String::new());
    println!("{}", lines.join("\n"));
}
