//! The decision without a store: snapshots built by hand, the send phase
//! played by [`play`] with answers chosen by the test.

use super::*;
use chrono::{TimeDelta, TimeZone, Utc};
use csms_domain::load::{ChargingNeed, LoadMode, NeedSource, PhaseAmps};
use csms_domain::{OrgId, SiteId};
use csms_energy::Rotation;
use proptest::prelude::*;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

fn station(n: usize) -> StationId {
    StationId::parse(format!("CP-{n}")).unwrap()
}

fn evse(station_no: usize, evse_id: u32, phases: u8, max_a: i64) -> LoadEvse {
    LoadEvse {
        phases,
        ..LoadEvse::three_phase(station(station_no), evse_id, Decimal::from(max_a))
    }
}

fn config(fuse_a: i64, evses: Vec<LoadEvse>) -> LoadConfig {
    LoadConfig::new(
        LoadMode::Static,
        PhaseAmps::uniform(Decimal::from(fuse_a)),
        evses,
    )
}

fn site_id() -> SiteId {
    SiteId::parse("SITE-1").unwrap()
}

fn online(tx: Option<&str>) -> Live {
    Live {
        version: Some(OcppVersion::V16),
        transaction: tx.map(|t| (t.to_owned(), now() - TimeDelta::minutes(5))),
        plugged: None,
        booted_at: None,
        energy_wh: None,
        priority: 0,
    }
}

fn offline(tx: Option<&str>) -> Live {
    Live {
        version: None,
        ..online(tx)
    }
}

fn snapshot(cfg: LoadConfig, state: LoadState, live: Vec<Live>) -> SiteSnapshot {
    let live = cfg
        .evses
        .iter()
        .zip(live)
        .map(|(c, l)| ((c.station_id.clone(), c.evse_id), l))
        .collect();
    SiteSnapshot {
        config: LoadSite {
            site_id: site_id(),
            org_id: OrgId::default_org(),
            config: cfg,
            updated_at: now() - TimeDelta::days(1),
            version: 1,
        },
        state,
        live,
        answers: BTreeMap::new(),
        spot: None,
    }
}

fn sent(limit_a: i64, phases: u8, tx: Option<&str>, status: SentStatus) -> SentLimit {
    SentLimit {
        limit_a: Decimal::from(limit_a),
        phases,
        transaction_id: tx.map(str::to_owned),
        command_id: "01JAAAAAAAAAAAAAAAAAAAAAAA".into(),
        status,
        sent_at: now() - TimeDelta::seconds(30),
        before: Some(HeldLimit {
            limit_a: Decimal::from(limit_a),
            phases,
        }),
    }
}

/// An EVSE known to the state: its transaction, TxProfile and default.
fn known(
    state: &mut LoadState,
    c: &LoadEvse,
    tx: Option<&str>,
    profile: Option<SentLimit>,
    default: Option<SentLimit>,
) {
    let es = state.evse_mut(&c.station_id, c.evse_id);
    es.transaction_id = tx.map(str::to_owned);
    es.charge = tx.map(|_| ChargeState::Running(engine_time(now() - TimeDelta::minutes(5))));
    es.profile = profile;
    es.default_profile = default;
}

fn find(limits: &[Limit], station_no: usize, purpose: ProfilePurpose) -> Option<&Limit> {
    limits
        .iter()
        .find(|l| l.station == station(station_no) && l.purpose == purpose)
}

fn amps_of(l: &Limit) -> Decimal {
    amps(l.limit)
}

/// Two cars on a 32 A fuse: the first charges at 32 A, the second has just
/// started. The first is lowered before the second is raised.
fn two_cars() -> SiteSnapshot {
    let cfg = config(32, vec![evse(1, 1, 3, 32), evse(2, 1, 3, 32)]);
    let mut state = LoadState::new(site_id());
    let ok = SentStatus::Accepted;
    known(
        &mut state,
        &cfg.evses[0],
        Some("T1"),
        Some(sent(32, 3, Some("T1"), ok)),
        Some(sent(0, 3, None, ok)),
    );
    known(
        &mut state,
        &cfg.evses[1],
        None,
        None,
        Some(sent(0, 3, None, ok)),
    );
    // Station limits in force: 32 A and 0 A.
    for (no, a) in [(1, 32), (2, 0)] {
        state.stations.push(StationLoadState {
            station_id: station(no),
            max_profile: sent(a, 3, None, ok),
        });
    }
    snapshot(cfg, state, vec![online(Some("T1")), online(Some("T2"))])
}

#[test]
fn a_switch_to_more_phases_at_a_lower_current_is_lowered_first_then_switched() {
    let held = |a: i64, phases: u8| HeldLimit {
        limit_a: Decimal::from(a),
        phases,
    };
    let six = Current::from_deciamps(60);
    // 1 × 16 A → 3 × 6 A: first 1 × 6 A, a decrease.
    assert_eq!(
        tx_step(six, Phases::Three, held(16, 1)),
        (Phases::One, true)
    );
    // Once 1 × 6 A is in force, 3 × 6 A is an increase (checked for the fuse).
    assert_eq!(
        tx_step(six, Phases::Three, held(6, 1)),
        (Phases::Three, false)
    );
    // Fewer phases at a lower current, or the same phases: as decided.
    assert_eq!(tx_step(six, Phases::One, held(16, 3)), (Phases::One, true));
    assert_eq!(
        tx_step(six, Phases::Three, held(16, 3)),
        (Phases::Three, true)
    );
    let twenty = Current::from_deciamps(200);
    assert_eq!(
        tx_step(twenty, Phases::Three, held(16, 1)),
        (Phases::Three, false)
    );
}

#[test]
fn an_unusable_configuration_sends_nothing_and_says_why() {
    let snap = snapshot(config(32, Vec::new()), LoadState::new(site_id()), vec![]);
    let d = decide(&snap, now(), &Settings::default());
    assert!(d.sends.is_none());
    assert!(d.state.warnings[0].starts_with("configuration unusable: evses"));
    assert_eq!(d.state.computed_at, Some(now()));
    assert_eq!(spot_request(&snap, now(), &Settings::default()), None);
}

#[test]
fn a_car_that_starts_waits_until_the_running_one_is_lowered() {
    let snap = two_cars();
    let d = decide(&snap, now(), &Settings::default());
    let sends = d.sends.as_ref().unwrap();
    // The running car goes from 32 A to 16 A: a decrease, sent first.
    let lower = find(&sends.decreases, 1, ProfilePurpose::TxProfile).unwrap();
    assert_eq!(amps_of(lower), Decimal::from(16));
    assert_eq!(lower.transaction_id.as_deref(), Some("T1"));
    // The new car's 16 A and its station's limit rise after it; the
    // station's own limit first.
    let raise_tx = find(&sends.increases, 2, ProfilePurpose::TxProfile).unwrap();
    assert_eq!(amps_of(raise_tx), Decimal::from(16));
    assert_eq!(sends.increases[0].purpose, ProfilePurpose::StationMax);
    // The new transaction starts paused, with its allocation recorded.
    let es = d.state.evse(&station(2), 1).unwrap();
    assert_eq!(es.transaction_id.as_deref(), Some("T2"));
    assert_eq!(es.allocation.as_ref().unwrap().current_a, Decimal::from(16));

    // While the decrease is unanswered, the car may still draw 32 A: the
    // raise waits.
    let cfg = &snap.config.config;
    let mut state = d.state.clone();
    record(
        &mut state,
        lower,
        "C-LOWER".into(),
        SentStatus::Pending,
        now(),
    );
    assert!(matches!(
        raise(sends, cfg, &state, raise_tx),
        Raise::Wait(why) if why.contains("until the lower limits of others are in force")
    ));
    // Once it is accepted, the raise goes.
    settle(
        &mut state,
        &BTreeMap::from([("C-LOWER".to_owned(), CommandStatus::Accepted)]),
    );
    assert_eq!(raise(sends, cfg, &state, raise_tx), Raise::Send);
    // Refused: it may still draw 32 A, so the raise waits again.
    let mut refused = d.state.clone();
    record(
        &mut refused,
        lower,
        "C-LOWER".into(),
        SentStatus::Pending,
        now(),
    );
    settle(&mut refused, &BTreeMap::new());
    assert!(matches!(
        raise(sends, cfg, &refused, raise_tx),
        Raise::Wait(_)
    ));
}

#[test]
fn a_transaction_keeps_its_default_until_its_profile_is_in_force_then_it_goes_to_zero() {
    let cfg = config(32, vec![evse(1, 1, 3, 16)]);
    let mut state = LoadState::new(site_id());
    known(
        &mut state,
        &cfg.evses[0],
        None,
        None,
        Some(sent(16, 3, None, SentStatus::Accepted)),
    );
    let snap = snapshot(cfg.clone(), state, vec![online(Some("T1"))]);
    let settings = Settings::default();
    let d = decide(&snap, now(), &settings);
    let sends = d.sends.as_ref().unwrap();
    // Its default stays (no send); its TxProfile is not lower than the
    // default it runs on: an increase.
    assert!(find(&sends.decreases, 1, ProfilePurpose::TxDefault).is_none());
    assert!(find(&sends.increases, 1, ProfilePurpose::TxDefault).is_none());
    let tx = find(&sends.increases, 1, ProfilePurpose::TxProfile).unwrap();
    let mut state = d.state.clone();
    // Pending: the default stays.
    record(&mut state, tx, "C-TX".into(), SentStatus::Pending, now());
    assert!(defaults_to_zero(&cfg, &state, &snap.live, now(), &settings).is_empty());
    // Accepted: the default goes to 0, recorded as a decrease from 16 A.
    settle(
        &mut state,
        &BTreeMap::from([("C-TX".to_owned(), CommandStatus::Accepted)]),
    );
    let zero = defaults_to_zero(&cfg, &state, &snap.live, now(), &settings);
    assert_eq!(zero.len(), 1);
    assert_eq!(zero[0].limit, Current::ZERO);
    assert!(zero[0].decrease);
    assert_eq!(zero[0].before.unwrap().limit_a, Decimal::from(16));
}

#[test]
fn an_offline_station_and_a_refusing_charger_are_held_until_the_retry() {
    let cfg = config(32, vec![evse(1, 1, 3, 16), evse(2, 1, 3, 16)]);
    let mut state = LoadState::new(site_id());
    known(
        &mut state,
        &cfg.evses[0],
        Some("T1"),
        Some(sent(10, 3, Some("T1"), SentStatus::Accepted)),
        Some(sent(0, 3, None, SentStatus::Accepted)),
    );
    known(
        &mut state,
        &cfg.evses[1],
        Some("T2"),
        Some(sent(6, 3, Some("T2"), SentStatus::Failed)),
        Some(sent(0, 3, None, SentStatus::Accepted)),
    );
    let live = vec![offline(Some("T1")), online(Some("T2"))];
    let snap = snapshot(cfg, state, live);
    let d = decide(&snap, now(), &Settings::default());
    let sends = d.sends.as_ref().unwrap();
    // Nothing for the offline station; no EVSE limit for the refusing
    // charger before a minute has passed (only its station's own limit, of
    // what it is held at).
    let all: Vec<&Limit> = sends.decreases.iter().chain(&sends.increases).collect();
    assert!(all.iter().all(|l| l.station == station(2)));
    assert!(all.iter().all(|l| l.purpose == ProfilePurpose::StationMax));
    assert_eq!(
        all.iter().map(|l| amps_of(l)).collect::<Vec<_>>(),
        [Decimal::from(6)]
    );
    let why = |no| {
        d.state
            .evse(&station(no), 1)
            .unwrap()
            .allocation
            .clone()
            .unwrap()
            .explanation
    };
    assert!(why(1).starts_with("station offline: held at 10 A"));
    assert!(why(2).starts_with("its charger did not take its last limit: held at 6 A"));
    // A minute after it was refused, it is tried again.
    let later = now() + TimeDelta::seconds(31);
    let d = decide(&snap, later, &Settings::default());
    let sends = d.sends.unwrap();
    assert!(sends
        .decreases
        .iter()
        .chain(&sends.increases)
        .any(|l| l.station == station(2) && l.purpose == ProfilePurpose::TxProfile));
}

#[test]
fn the_answers_settle_limits_in_flight_and_a_command_not_found_failed() {
    let cfg = config(32, vec![evse(1, 1, 3, 16), evse(2, 1, 3, 16)]);
    let mut state = LoadState::new(site_id());
    let pending = |id: &str| SentLimit {
        command_id: id.into(),
        ..sent(6, 3, None, SentStatus::Pending)
    };
    let a = "01JAAAAAAAAAAAAAAAAAAAAAAA";
    let b = "01JBBBBBBBBBBBBBBBBBBBBBBB";
    known(&mut state, &cfg.evses[0], None, None, Some(pending(a)));
    known(&mut state, &cfg.evses[1], None, None, Some(pending(b)));
    // An EVSE that left the configuration is not asked about.
    let gone = evse(3, 1, 3, 16);
    known(&mut state, &gone, None, None, Some(pending("not-an-id")));
    let ids: Vec<String> = pending_commands(&state, &cfg)
        .into_iter()
        .map(|(recorded, _)| recorded)
        .collect();
    assert_eq!(ids, [a, b]);
    settle(
        &mut state,
        &BTreeMap::from([(a.to_owned(), CommandStatus::Accepted)]),
    );
    let status = |no| {
        state
            .evse(&station(no), 1)
            .unwrap()
            .default_profile
            .as_ref()
            .unwrap()
            .status
    };
    assert_eq!(status(1), SentStatus::Accepted);
    assert_eq!(status(2), SentStatus::Failed);
}

#[test]
fn a_plan_due_asks_for_the_spot_days_up_to_the_departure_and_none_otherwise() {
    let mut cfg = config(32, vec![evse(1, 1, 3, 16)]);
    cfg.bidding_zone = Some("SE3".into());
    let mut state = LoadState::new(site_id());
    known(&mut state, &cfg.evses[0], Some("T1"), None, None);
    let settings = Settings::default();
    let no_need = snapshot(cfg.clone(), state.clone(), vec![online(Some("T1"))]);
    assert_eq!(spot_request(&no_need, now(), &settings), None);
    state.evse_mut(&station(1), 1).need = Some(ChargingNeed {
        source: NeedSource::Driver,
        transaction_id: Some("T1".into()),
        energy_wh: Some(Decimal::from(20_000)),
        target_soc: None,
        battery_wh: None,
        soc: None,
        departure_at: Some(now() + TimeDelta::hours(20)),
        car_max_a: None,
        set_at: now() - TimeDelta::minutes(1),
        base_wh: Some(Decimal::ZERO),
    });
    let snap = snapshot(cfg, state, vec![online(Some("T1"))]);
    let req = spot_request(&snap, now(), &settings).unwrap();
    assert_eq!(req.zone.code(), "SE3");
    assert_eq!(req.first.to_string(), "2026-03-02");
    assert_eq!(req.last.to_string(), "2026-03-03");
    // Without the prices, the car charges at once and the operator is told.
    let d = decide(&snap, now(), &settings);
    assert!(d.state.plan.is_none());
    assert!(d
        .state
        .warnings
        .iter()
        .any(|w| w.contains("no SE3 spot prices for 2026-03-02")));
    let mut failed = snap.clone();
    failed.spot = Some(Err("spot prices: unavailable".into()));
    let d = decide(&failed, now(), &settings);
    assert!(d
        .state
        .warnings
        .iter()
        .any(|w| w.contains("spot prices: unavailable; cars with a need charge at once")));
}

#[test]
fn the_profile_sent_is_the_limit_decided() {
    let l = Limit {
        station: station(1),
        evse_id: 2,
        purpose: ProfilePurpose::TxProfile,
        transaction_id: Some("T1".into()),
        limit: Current::from_deciamps(105),
        phases: Phases::One,
        decrease: false,
        before: None,
    };
    let CommandRequest::LoadLimit { evse_id, profile } = request(&l, now()) else {
        panic!("a load limit");
    };
    assert_eq!(evse_id, 2);
    assert_eq!(profile.id, profile_id(ProfilePurpose::TxProfile, 2));
    assert_eq!(profile.stack_level, LOAD_STACK_LEVEL);
    assert_eq!(profile.kind, ProfileKind::Relative);
    assert_eq!(profile.start_schedule, None);
    assert_eq!(profile.periods[0].limit, Decimal::new(105, 1));
    assert_eq!(profile.periods[0].number_phases, Some(1));
    let station_max = Limit {
        purpose: ProfilePurpose::StationMax,
        evse_id: 0,
        transaction_id: None,
        ..l
    };
    let CommandRequest::LoadLimit { profile, .. } = request(&station_max, now()) else {
        panic!("a load limit");
    };
    assert_eq!(profile.kind, ProfileKind::Absolute);
    assert_eq!(profile.start_schedule, Some(now()));
}

// --- properties ------------------------------------------------------------

/// One generated EVSE: its wiring and what its charger was told and does.
#[derive(Debug, Clone)]
struct Gen {
    phases: u8,
    rotation: Rotation,
    max_a: i64,
    /// Its share of the fuse when the run begins (a weight among all).
    share: i64,
    /// What the state says: a transaction, and the TxProfile / default sent
    /// (limit and the limit before, in percent of its share; status;
    /// seconds ago).
    old_tx: bool,
    profile: Option<Slot>,
    default: Option<Slot>,
    /// What the store says now: 0 no transaction, 1 the same, 2 a new one.
    live_tx: u8,
    connected: bool,
    plugged: bool,
    priority: u8,
}

type Slot = (i64, u8, i64, i64);

fn percent() -> impl Strategy<Value = i64> {
    prop_oneof![Just(100i64), Just(0), 0i64..=100]
}

fn gen_evse() -> impl Strategy<Value = Gen> {
    let slot = || (percent(), 0u8..3, percent(), 0i64..120);
    (
        (
            prop_oneof![Just(1u8), Just(3u8)],
            prop_oneof![
                Just(Rotation::L1L2L3),
                Just(Rotation::L2L3L1),
                Just(Rotation::L3L1L2)
            ],
            prop_oneof![Just(10i64), Just(16), Just(32)],
            1i64..=8,
        ),
        prop::bool::weighted(0.7),
        proptest::option::of(slot()),
        proptest::option::of(slot()),
        prop_oneof![2 => Just(1u8), 1 => Just(0), 1 => Just(2)],
        prop::bool::weighted(0.8),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(
            |(
                (phases, rotation, max_a, share),
                old_tx,
                profile,
                default,
                live_tx,
                connected,
                plugged,
                priority,
            )| Gen {
                phases,
                rotation,
                max_a,
                share,
                old_tx,
                profile,
                default,
                live_tx,
                connected,
                plugged,
                priority,
            },
        )
}

/// A site whose chargers together may draw at most the fuse when the run
/// begins (each at most its share): what the run sends must keep it so at
/// every step. With it, the answer to each limit sent, in turn: accepted,
/// refused, still pending.
fn gen_site() -> impl Strategy<Value = (i64, Vec<Gen>, Vec<u8>)> {
    (
        16i64..=80,
        prop::collection::vec(gen_evse(), 1..=6),
        prop::collection::vec(0u8..3, 64),
    )
}

fn status_of(n: u8) -> SentStatus {
    match n {
        0 => SentStatus::Accepted,
        1 => SentStatus::Failed,
        _ => SentStatus::Pending,
    }
}

fn build(fuse: i64, gens: &[Gen]) -> SiteSnapshot {
    // Two EVSEs a station, so that station limits cap more than one.
    let evses: Vec<LoadEvse> = gens
        .iter()
        .enumerate()
        .map(|(i, g)| LoadEvse {
            rotation: g.rotation,
            priority: g.priority,
            ..evse(i / 2, (i % 2) as u32 + 1, g.phases, g.max_a)
        })
        .collect();
    let cfg = config(fuse, evses);
    let weights: i64 = gens.iter().map(|g| g.share).sum();
    let mut state = LoadState::new(site_id());
    let mut live = Vec::new();
    for (i, (g, c)) in gens.iter().zip(&cfg.evses).enumerate() {
        let old_tx = format!("T{i}");
        // Whole amperes: what chargers are usually given.
        let share = (fuse * g.share / weights).min(g.max_a);
        let amps = |percent: i64| Decimal::from(share * percent / 100);
        let slot = |s: &Slot, tx: Option<&str>| SentLimit {
            limit_a: amps(s.0),
            phases: g.phases,
            transaction_id: tx.map(str::to_owned),
            command_id: "01JAAAAAAAAAAAAAAAAAAAAAAA".into(),
            status: status_of(s.1),
            sent_at: now() - TimeDelta::seconds(s.3),
            before: Some(HeldLimit {
                limit_a: amps(s.2),
                phases: g.phases,
            }),
        };
        let tx = g.old_tx.then_some(old_tx.as_str());
        // Every charger was told something: nothing sent means its maximum.
        let default = g.default.unwrap_or((0, 0, 0, 0));
        known(
            &mut state,
            c,
            tx,
            g.profile.filter(|_| g.old_tx).map(|p| slot(&p, tx)),
            Some(slot(&default, None)),
        );
        let live_tx = match g.live_tx {
            0 => None,
            1 if g.old_tx => Some(old_tx.clone()),
            _ => Some(format!("U{i}")),
        };
        // A station is connected or not as a whole.
        let mut l = if gens[i / 2 * 2].connected {
            online(live_tx.as_deref())
        } else {
            offline(live_tx.as_deref())
        };
        if live_tx.is_none() && g.plugged {
            l.plugged = Some(now() - TimeDelta::seconds(10 * i as i64));
        }
        live.push(l);
    }
    snapshot(cfg, state, live)
}

/// Amperes each grid phase may carry at most, with every charger at what
/// it may draw under what it was told: per profile, the limit once
/// accepted, else the higher of it and what it held before; the
/// transaction's TxProfile over the default (which a car may start on at
/// any time); capped by its station's limit once accepted.
fn worst_per_phase(cfg: &LoadConfig, state: &LoadState) -> [Decimal; 3] {
    let mut sum = [Decimal::ZERO; 3];
    for c in &cfg.evses {
        let most = |s: &Option<SentLimit>, otherwise: (Decimal, u8)| match s {
            None => otherwise,
            Some(s) if s.status == SentStatus::Accepted => (s.limit_a, s.phases),
            Some(s) => {
                let b = s.before.map_or(otherwise, |b| (b.limit_a, b.phases));
                (s.limit_a.max(b.0), s.phases.max(b.1))
            }
        };
        let es = state.evse(&c.station_id, c.evse_id);
        let wired = (c.max_a, c.phases);
        let default = es.map_or(wired, |e| most(&e.default_profile, wired));
        let (mut a, phases) = match es {
            Some(e) if e.transaction_id.is_some() => {
                let tx = most(&e.profile, default);
                (tx.0.max(default.0), tx.1.max(default.1))
            }
            _ => default,
        };
        let cap = state
            .stations
            .iter()
            .find(|s| s.station_id == c.station_id)
            .filter(|s| s.max_profile.status == SentStatus::Accepted)
            .map(|s| s.max_profile.limit_a);
        if let Some(cap) = cap {
            a = a.min(cap);
        }
        if phases == 3 {
            for s in &mut sum {
                *s += a;
            }
        } else {
            sum[c.rotation.grid_phase(Phase::L1).index()] += a;
        }
    }
    sum
}

/// The send phase without a store: each limit recorded as sent (the
/// charger may apply it at once), then answered from `answers` in turn.
/// `check` runs at every instant something changes.
fn play(
    snap: &SiteSnapshot,
    d: &Decision,
    answers: &[u8],
    check: &mut dyn FnMut(&str, &LoadState),
) {
    let cfg = &snap.config.config;
    let mut state = d.state.clone();
    check("decided", &state);
    let Some(sends) = &d.sends else {
        return;
    };
    let mut answer = answers.iter().cycle().map(|n| match n {
        0 => CommandStatus::Accepted,
        1 => CommandStatus::Rejected,
        _ => CommandStatus::Pending,
    });
    let mut n = 0;
    let mut sent = Vec::new();
    for s in &sends.decreases {
        n += 1;
        record(&mut state, s, format!("C{n}"), SentStatus::Pending, now());
        sent.push(format!("C{n}"));
        check("decrease sent", &state);
    }
    let mut answered: BTreeMap<String, CommandStatus> = BTreeMap::new();
    answered.extend(sent.drain(..).map(|id| (id, answer.next().unwrap())));
    settle(&mut state, &answered);
    check("decreases answered", &state);
    for s in &sends.increases {
        if raise(sends, cfg, &state, s) == Raise::Send {
            n += 1;
            record(&mut state, s, format!("C{n}"), SentStatus::Pending, now());
            sent.push(format!("C{n}"));
            check("increase sent", &state);
        }
    }
    answered.extend(sent.drain(..).map(|id| (id, answer.next().unwrap())));
    settle(&mut state, &answered);
    check("increases answered", &state);
    for s in defaults_to_zero(cfg, &state, &snap.live, now(), &Settings::default()) {
        n += 1;
        record(&mut state, &s, format!("C{n}"), SentStatus::Pending, now());
        sent.push(format!("C{n}"));
        check("default to 0 sent", &state);
    }
    answered.extend(sent.drain(..).map(|id| (id, answer.next().unwrap())));
    settle(&mut state, &answered);
    check("defaults answered", &state);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// At no step of the run — a decrease sent, a raise sent, answers in,
    /// in any mix of accepted, refused and unanswered — may the chargers
    /// together draw more than the fuse on any phase.
    #[test]
    fn no_step_of_a_run_allows_more_than_the_fuse((fuse, gens, answers) in gen_site()) {
        let snap = build(fuse, &gens);
        let cfg = &snap.config.config;
        let start = worst_per_phase(cfg, &snap.state);
        prop_assert!(start.iter().all(|a| *a <= Decimal::from(fuse)), "generated over the fuse: {start:?}");
        let d = decide(&snap, now(), &Settings::default());
        let mut failure = None;
        play(&snap, &d, &answers, &mut |what, state| {
            let worst = worst_per_phase(cfg, state);
            if failure.is_none() && worst.iter().any(|a| *a > Decimal::from(fuse)) {
                failure = Some(format!("{what}: {worst:?} on a {fuse} A fuse"));
            }
        });
        prop_assert!(failure.is_none(), "{}", failure.unwrap_or_default());
    }

    /// Every limit an EVSE is sent is 0 (paused) or at least its minimum.
    #[test]
    fn no_evse_is_given_less_than_its_minimum_unless_paused((fuse, gens, answers) in gen_site()) {
        let snap = build(fuse, &gens);
        let cfg = &snap.config.config;
        let d = decide(&snap, now(), &Settings::default());
        let mut sent = Vec::new();
        if let Some(s) = &d.sends {
            sent.extend(s.decreases.iter().chain(&s.increases).cloned());
        }
        // And the defaults lowered once the TxProfiles are in force.
        let mut state = d.state.clone();
        play(&snap, &d, &answers, &mut |_, s| state = s.clone());
        sent.extend(defaults_to_zero(cfg, &state, &snap.live, now(), &Settings::default()));
        for l in sent.iter().filter(|l| l.purpose != ProfilePurpose::StationMax) {
            let c = cfg.evses.iter().find(|c| c.station_id == l.station && c.evse_id == l.evse_id).unwrap();
            prop_assert!(
                l.limit == Current::ZERO || amps(l.limit) >= c.min_a,
                "{l:?} is below the minimum of {} A", c.min_a
            );
        }
        for es in &d.state.evses {
            if let Some(a) = &es.allocation {
                let c = cfg.evses.iter().find(|c| c.station_id == es.station_id && c.evse_id == es.evse_id).unwrap();
                let held = a.explanation.contains("held at");
                prop_assert!(held || a.current_a.is_zero() || a.current_a >= c.min_a, "{a:?}");
            }
        }
    }

    /// The same snapshot at the same time gives the same decision.
    #[test]
    fn the_decision_is_the_same_for_the_same_snapshot((fuse, gens, _answers) in gen_site()) {
        let snap = build(fuse, &gens);
        let a = decide(&snap, now(), &Settings::default());
        let b = decide(&snap.clone(), now(), &Settings::default());
        prop_assert_eq!(&a.state, &b.state);
        let limits = |d: &Decision| d.sends.as_ref().map(|s| (s.decreases.clone(), s.increases.clone(), s.cond));
        prop_assert_eq!(limits(&a), limits(&b));
    }
}
