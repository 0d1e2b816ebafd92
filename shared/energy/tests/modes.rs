//! Each mode on small sites with hand-computed numbers.

mod common;

use common::*;
use csms_energy::*;
use Phases::{One, Three};
use Rotation::*;

fn run(cfg: SiteConfig, sessions: &[SessionInput], cond: Conditions) -> Vec<EvseAllocation> {
    let site = Site::new(cfg).unwrap();
    allocate(&site, sessions, &cond).unwrap()
}

fn currents(allocs: &[EvseAllocation]) -> Vec<u32> {
    allocs.iter().map(|a| a.current.deciamps()).collect()
}

fn grid_fair_share(phase: Phase) -> Reason {
    Reason::FairShare {
        limit: Limit::Fuse {
            node: Node::Grid,
            phase,
        },
    }
}

fn three_phase_evses(n: usize) -> Vec<EvseConfig> {
    (0..n)
        .map(|i| evse(&format!("e{i}"), None, Three, L1L2L3, 32))
        .collect()
}

#[test]
fn five_three_phase_cars_on_32_a_share_6_4_a() {
    let sessions: Vec<_> = (0..5).map(|i| arrived(&format!("e{i}"), i)).collect();
    let out = run(
        site(32, vec![], three_phase_evses(5), Mode::Static),
        &sessions,
        conditions(100),
    );
    assert_eq!(currents(&out), [64; 5]);
    assert!(out.iter().all(|a| a.phases == Three));
    assert_eq!(out[0].reason, grid_fair_share(Phase::L1));
    assert_eq!(
        out[0].reason.to_string(),
        "fair share of grid connection L1 limit"
    );
}

#[test]
fn a_sixth_car_waits_for_its_turn_instead_of_starving_everybody() {
    let sessions: Vec<_> = (0..6).map(|i| arrived(&format!("e{i}"), i)).collect();
    let out = run(
        site(32, vec![], three_phase_evses(6), Mode::Static),
        &sessions,
        conditions(100),
    );
    // 32 / 6 = 5.3 A < 6 A: the last to arrive is paused, the others get 6.4 A.
    assert_eq!(currents(&out), [64, 64, 64, 64, 64, 0]);
    assert!(matches!(
        &out[5].reason,
        Reason::Paused {
            cause: PauseCause::Limit { .. },
            waiting_since: Timestamp(5),
            ..
        }
    ));
}

#[test]
fn rotation_pauses_the_car_that_has_charged_longest() {
    // Five have been running since 0..40, the sixth waits since 100.
    let mut sessions: Vec<_> = (0..5).map(|i| running(&format!("e{i}"), i * 10)).collect();
    sessions.push(arrived("e5", 100));
    let cfg = site(32, vec![], three_phase_evses(6), Mode::Static);

    // Before the rotation time (900 s) nobody gives way; the hint says when.
    let out = run(cfg.clone(), &sessions, conditions(500));
    assert_eq!(currents(&out), [64, 64, 64, 64, 64, 0]);
    let Reason::Paused { rotation_due, .. } = &out[5].reason else {
        panic!()
    };
    assert_eq!(*rotation_due, Some(Timestamp(900)));
    assert!(out[5].reason.to_string().contains("rotation due at t=900"));

    // After it, the longest-running car (since 0) pauses and the sixth runs.
    let out = run(cfg, &sessions, conditions(1000));
    assert_eq!(currents(&out), [0, 64, 64, 64, 64, 64]);
    assert!(matches!(
        out[0].reason,
        Reason::Paused {
            waiting_since: Timestamp(1000),
            ..
        }
    ));
}

#[test]
fn single_phase_cars_follow_the_evse_rotation() {
    // Single-phase EVSEs rotated over the grid phases: three on grid L1, one
    // on grid L2, none on L3.
    let evses = vec![
        evse("a", None, One, L1L2L3, 16),
        evse("b", None, One, L1L3L2, 16),
        evse("c", None, One, L1L2L3, 16),
        evse("d", None, One, L2L3L1, 16),
    ];
    let sessions: Vec<_> = ["a", "b", "c", "d"].iter().map(|e| arrived(e, 0)).collect();
    let out = run(
        site(32, vec![], evses, Mode::Static),
        &sessions,
        conditions(0),
    );
    // L1: 32 / 3 = 10.66 → 10.6 A; the L2 car gets its EVSE max.
    assert_eq!(currents(&out), [106, 106, 106, 160]);
    assert_eq!(out[0].reason, grid_fair_share(Phase::L1));
    assert_eq!(out[3].reason, Reason::EvseMax);
    assert_eq!(out[3].reason.to_string(), "capped by EVSE max");
}

#[test]
fn a_single_phase_car_on_a_three_phase_evse_loads_one_rotated_phase() {
    let evses = vec![
        evse("a", None, Three, L3L1L2, 32),
        evse("b", None, Three, L1L2L3, 32),
    ];
    let mut one = arrived("a", 0);
    one.car_phases = Some(One);
    let out = run(
        site(20, vec![], evses, Mode::Static),
        &[one, arrived("b", 0)],
        conditions(0),
    );
    // Car a loads grid L3 only: L3 is shared (10 A each), L1/L2 only carry b,
    // but b is one current on all three phases, so both stop at 10 A.
    assert_eq!(currents(&out), [100, 100]);
    assert_eq!(out[0].phases, One);
    assert_eq!(out[0].reason, grid_fair_share(Phase::L3));
}

#[test]
fn board_tree_limits_apply_at_every_level() {
    let boards = vec![board("main", None, 40), board("garage", Some("main"), 16)];
    let evses = vec![
        evse("g1", Some("garage"), Three, L1L2L3, 32),
        evse("g2", Some("garage"), Three, L1L2L3, 32),
        evse("m1", Some("main"), Three, L1L2L3, 32),
        evse("m2", Some("main"), Three, L1L2L3, 32),
        evse("x", None, Three, L1L2L3, 32),
    ];
    let sessions: Vec<_> = ["g1", "g2", "m1", "m2", "x"]
        .iter()
        .map(|e| arrived(e, 0))
        .collect();
    let out = run(
        site(63, boards, evses, Mode::Static),
        &sessions,
        conditions(0),
    );
    // garage: 16 / 2 = 8 A. main: 40 − 16 = 24 / 2 = 12 A. grid: 63 − 40 = 23 A.
    assert_eq!(currents(&out), [80, 80, 120, 120, 230]);
    assert_eq!(
        out[0].reason.to_string(),
        "fair share of board garage L1 limit"
    );
    assert_eq!(
        out[2].reason.to_string(),
        "fair share of board main L1 limit"
    );
    assert_eq!(out[4].reason, grid_fair_share(Phase::L1));
}

#[test]
fn dynamic_mode_leaves_the_building_load_and_the_margin() {
    let cfg = site(
        40,
        vec![],
        three_phase_evses(2),
        Mode::Dynamic { margin: a(2) },
    );
    let sessions = [arrived("e0", 0), arrived("e1", 0)];
    let cond = Conditions {
        building_load: Some(PhaseCurrents([a(20), a(10), a(5)])),
        now: Timestamp(0),
    };
    let out = run(cfg.clone(), &sessions, cond);
    // L1: 40 − 20 − 2 = 18 A for two three-phase cars.
    assert_eq!(currents(&out), [90, 90]);
    assert_eq!(out[0].reason, grid_fair_share(Phase::L1));

    // Building at 30 A: 8 A left, not 2 × 6 A: one car pauses.
    let busy = Conditions {
        building_load: Some(PhaseCurrents([a(30), a(10), a(5)])),
        now: Timestamp(0),
    };
    assert_eq!(currents(&run(cfg.clone(), &sessions, busy)), [80, 0]);

    let site_ = Site::new(cfg).unwrap();
    assert_eq!(
        allocate(&site_, &sessions, &conditions(0)),
        Err(AllocateError::MissingBuildingLoad)
    );
}

#[test]
fn true_dynamic_hands_unused_current_to_others() {
    let mode = Mode::TrueDynamic {
        margin: a(0),
        headroom: a(1),
        settle_secs: 60,
    };
    let cfg = site(32, vec![], three_phase_evses(3), mode);
    let cond = Conditions {
        building_load: Some(PhaseCurrents::default()),
        now: Timestamp(1000),
    };
    // e0 has run for long and draws 4.2 A on its busiest phase: capped at
    // max(4.2 + 1, 6) = 6 A; the others share 32 − 6 = 26 A.
    let mut slow = running("e0", 0);
    slow.measured = Some(PhaseCurrents([da(42), da(40), da(38)]));
    let sessions = [slow.clone(), running("e1", 0), running("e2", 0)];
    let out = run(cfg.clone(), &sessions, cond);
    assert_eq!(currents(&out), [60, 130, 130]);
    assert_eq!(out[0].reason, Reason::Demand);

    // Drawing 9 A: capped at 10 A.
    slow.measured = Some(PhaseCurrents::uniform(a(9)));
    let out = run(
        cfg.clone(),
        &[slow.clone(), running("e1", 0), running("e2", 0)],
        cond,
    );
    assert_eq!(currents(&out), [100, 110, 110]);

    // A car that has just started is still ramping up: its draw is ignored.
    slow.state = ChargeState::Running(Timestamp(980));
    let out = run(cfg, &[slow, running("e1", 0), running("e2", 0)], cond);
    assert_eq!(currents(&out), [106, 106, 106]);
}

#[test]
fn higher_priority_is_served_first() {
    let evses = vec![
        evse("vip", None, Three, L1L2L3, 16),
        evse("lo1", None, Three, L1L2L3, 32),
        evse("lo2", None, Three, L1L2L3, 32),
    ];
    let mut vip = arrived("vip", 50);
    vip.priority = Priority(2);
    let sessions = [vip, arrived("lo1", 0), arrived("lo2", 0)];
    // 32 A: vip reaches its EVSE max, the others share 16 A.
    let out = run(
        site(32, vec![], evses.clone(), Mode::Static),
        &sessions,
        conditions(60),
    );
    assert_eq!(currents(&out), [160, 80, 80]);
    assert_eq!(out[0].reason, Reason::EvseMax);
    // 20 A: everybody gets the minimum (18 A), the 2 A left go to vip.
    let out = run(
        site(20, vec![], evses.clone(), Mode::Static),
        &sessions,
        conditions(60),
    );
    assert_eq!(currents(&out), [80, 60, 60]);
    // 15 A: vip first, then the low car that arrived first; the other waits.
    let out = run(
        site(15, vec![], evses, Mode::Static),
        &sessions,
        conditions(60),
    );
    assert_eq!(currents(&out), [90, 60, 0]);
}

#[test]
fn the_site_power_cap_shaves_the_peak() {
    let mut cfg = site(63, vec![], three_phase_evses(2), Mode::Static);
    cfg.power_cap_w = Some(11_000);
    let out = run(
        cfg.clone(),
        &[arrived("e0", 0), arrived("e1", 0)],
        conditions(0),
    );
    // 11 000 W / (2 cars × 3 × 230 V) = 7.97 A → 7.9 A.
    assert_eq!(currents(&out), [79, 79]);
    assert_eq!(out[0].reason.to_string(), "limited by site power cap");

    // In dynamic mode the building's power counts too: 10 A × 3 × 230 V =
    // 6.9 kW leaves 4.1 kW, less than one car's minimum (6 A × 690 V = 4.14 kW).
    cfg.mode = Mode::Dynamic { margin: a(0) };
    let cond = Conditions {
        building_load: Some(PhaseCurrents::uniform(a(10))),
        now: Timestamp(0),
    };
    let out = run(cfg.clone(), &[arrived("e0", 0), arrived("e1", 0)], cond);
    assert_eq!(currents(&out), [0, 0]);
    assert_eq!(
        out[0].reason.to_string(),
        "paused: no room in site power cap, waiting since t=0"
    );
    // With a 13 kW cap: 6.1 kW left → one car at 6100 / 690 = 8.8 A.
    cfg.power_cap_w = Some(13_000);
    let out = run(cfg, &[arrived("e0", 0), arrived("e1", 0)], cond);
    assert_eq!(currents(&out), [88, 0]);
}

#[test]
fn pv_decision_bounds_current_and_phases() {
    let mut e = evse("pv", None, Three, L2L3L1, 16);
    e.phase_switching = true;
    let cfg = site(32, vec![], vec![e], Mode::Static);
    let mut pv_state = PvState::new(Three);
    let settings = PvSettings::default();
    let mut s = running("pv", 0);

    // 2.5 kW of surplus: switch to one phase, 10.8 A; the EVSE's L1 is grid L2.
    s.pv = Some(pv_state.decide(&settings, 2500, Timestamp(0)));
    let out = run(cfg.clone(), std::slice::from_ref(&s), conditions(0));
    assert_eq!((out[0].current, out[0].phases), (da(108), One));
    assert_eq!(out[0].reason.to_string(), "PV surplus");

    // Clouds: 800 W is not enough for 6 A on one phase.
    s.pv = Some(pv_state.decide(&settings, 800, Timestamp(400)));
    let out = run(cfg, &[s], conditions(400));
    assert!(out[0].is_paused());
    assert_eq!(
        out[0].reason.to_string(),
        "paused: not enough PV surplus, waiting since t=400"
    );
}

#[test]
fn a_plan_caps_its_car_and_the_rest_goes_to_the_others() {
    let cfg = site(32, vec![], three_phase_evses(3), Mode::Static);
    let mut planned = running("e0", 0);
    // Its plan wants 8 A now: the other two share the remaining 24 A.
    planned.plan = Some(da(80));
    let sessions = [planned.clone(), running("e1", 0), running("e2", 0)];
    let out = run(cfg.clone(), &sessions, conditions(10));
    assert_eq!(currents(&out), [80, 120, 120]);
    assert_eq!(out[0].reason, Reason::Planned);
    assert_eq!(out[0].reason.to_string(), "as planned for this slot");
    // A plan above the fair share changes nothing: the fuse still rules.
    planned.plan = Some(da(300));
    let sessions = [planned.clone(), running("e1", 0), running("e2", 0)];
    assert_eq!(
        currents(&run(cfg.clone(), &sessions, conditions(10))),
        [106, 106, 106]
    );
    // Nothing planned in this slot: paused, and it says why.
    planned.plan = Some(Current::ZERO);
    let sessions = [planned, running("e1", 0), running("e2", 0)];
    let out = run(cfg, &sessions, conditions(10));
    assert_eq!(currents(&out), [0, 160, 160]);
    assert_eq!(
        out[0].reason.to_string(),
        "paused: its plan charges it in cheaper slots later, waiting since t=10"
    );
}

#[test]
fn bad_session_lists_are_rejected() {
    let site_ = Site::new(site(32, vec![], three_phase_evses(1), Mode::Static)).unwrap();
    assert_eq!(
        allocate(&site_, &[arrived("nope", 0)], &conditions(0)),
        Err(AllocateError::UnknownEvse(EvseId::parse("nope").unwrap()))
    );
    assert!(matches!(
        allocate(
            &site_,
            &[arrived("e0", 0), arrived("e0", 1)],
            &conditions(0)
        ),
        Err(AllocateError::DuplicateSession(_))
    ));
}

#[test]
fn the_site_model_round_trips_as_json() {
    let mut cfg = site(
        63,
        vec![board("main", None, 50)],
        vec![evse("e1", Some("main"), One, L3L1L2, 16)],
        Mode::TrueDynamic {
            margin: a(2),
            headroom: a(1),
            settle_secs: 60,
        },
    );
    cfg.power_cap_w = Some(20_000);
    let json = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<SiteConfig>(&json).unwrap(), cfg);
}

#[test]
fn inputs_and_answers_round_trip_as_json() {
    let mut s = running("e0", 10);
    s.measured = Some(PhaseCurrents::uniform(a(7)));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json["state"],
        serde_json::json!({"state": "running", "since": 10})
    );
    assert_eq!(serde_json::from_value::<SessionInput>(json).unwrap(), s);

    let cfg = site(32, vec![], three_phase_evses(7), Mode::Static);
    let sessions: Vec<_> = (0..7).map(|i| arrived(&format!("e{i}"), i)).collect();
    for al in run(cfg, &sessions, conditions(0)) {
        let json = serde_json::to_string(&al).unwrap();
        assert_eq!(serde_json::from_str::<EvseAllocation>(&json).unwrap(), al);
    }
}

#[test]
fn an_offline_evse_keeps_its_reserved_load_and_a_single_phase_one_only_on_its_phase() {
    // Three-phase e0 is offline at 10 A; single-phase e1 (rotation L2L3L1: its L1 is grid L2)
    // is offline at 16 A. Two cars on e2/e3 share what is left: L2 is the tight phase.
    let mut evses = three_phase_evses(4);
    evses[1] = evse("e1", None, One, L2L3L1, 16);
    let site = Site::new(site(32, vec![], evses, Mode::Static)).unwrap();
    let reserved = [
        Reserved {
            evse: EvseId::parse("e0").unwrap(),
            current: Current::amps(10),
            phases: Three,
        },
        Reserved {
            evse: EvseId::parse("e1").unwrap(),
            current: Current::amps(16),
            phases: Three,
        },
    ];
    let sessions = [arrived("e2", 1), arrived("e3", 2)];
    let out = allocate_with_reserved(&site, &sessions, &conditions(100), &reserved).unwrap();
    // L2: 32 - 10 - 16 = 6 A for two cars at 6 A minimum: one waits.
    assert_eq!(currents(&out), vec![60, 0]);
    assert!(out[1].is_paused());
    // A session on a reserved EVSE is a caller error.
    let clash = [arrived("e0", 1)];
    assert!(allocate_with_reserved(&site, &clash, &conditions(100), &reserved).is_err());
}
