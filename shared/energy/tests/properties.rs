//! The engine's guarantees over generated sites, loads and sessions.
//!
//! Sites are drawn from small value sets on purpose (few boards, a handful of
//! maxima, rotations and priorities) so that many pairs of EVSEs share the
//! same constraints and the priority and fairness properties get exercised.

mod common;

use common::*;
use csms_energy::allocate::grid_phases;
use csms_energy::*;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Case {
    cfg: SiteConfig,
    sessions: Vec<SessionInput>,
    cond: Conditions,
}

fn phases() -> impl Strategy<Value = Phases> {
    prop_oneof![Just(Phases::One), Just(Phases::Three)]
}

fn rotation() -> impl Strategy<Value = Rotation> {
    prop_oneof![
        Just(Rotation::L1L2L3),
        Just(Rotation::L2L3L1),
        Just(Rotation::L3L1L2),
        Just(Rotation::L1L3L2),
    ]
}

fn limits() -> impl Strategy<Value = PhaseCurrents> {
    prop_oneof![
        (0u32..=1000).prop_map(|d| PhaseCurrents::uniform(da(d))),
        [0u32..=1000, 0u32..=1000, 0u32..=1000].prop_map(|[x, y, z]| PhaseCurrents([
            da(x),
            da(y),
            da(z)
        ])),
    ]
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Static),
        (0u32..=50).prop_map(|m| Mode::Dynamic { margin: da(m) }),
        (0u32..=50, 0u32..=30, 0u32..=120).prop_map(|(m, h, s)| Mode::TrueDynamic {
            margin: da(m),
            headroom: da(h),
            settle_secs: s,
        }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let boards = prop::collection::vec(
        (any::<prop::sample::Index>(), any::<bool>(), limits()),
        0..5,
    );
    let evses = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<bool>(),
            phases(),
            rotation(),
            prop_oneof![Just(16u32), Just(32), 6u32..=40],
            prop_oneof![4 => Just(6u32), 1 => 6u32..=10],
        ),
        1..25,
    );
    let sessions = prop::collection::vec(
        (
            any::<bool>(),
            prop::option::of(phases()),
            0u8..3,
            any::<bool>(),
            0i64..2000,
            prop::option::of([0u32..=400, 0u32..=400, 0u32..=400]),
            prop::option::of((phases(), 0u32..=200)),
        ),
        25,
    );
    (
        limits(),
        boards,
        evses,
        mode(),
        prop::option::of(0u32..=60_000),
        sessions,
        [0u32..=800, 0u32..=800, 0u32..=800],
    )
        .prop_map(
            |(grid, boards, evses, mode, power_cap_w, sessions, building)| {
                let board_id = |i: usize| format!("b{i}");
                let boards: Vec<BoardConfig> = boards
                    .into_iter()
                    .enumerate()
                    .map(|(i, (parent, on_grid, limit))| BoardConfig {
                        id: BoardId::parse(board_id(i)).unwrap(),
                        parent: (i > 0 && !on_grid)
                            .then(|| BoardId::parse(board_id(parent.index(i))).unwrap()),
                        limit,
                    })
                    .collect();
                let n_boards = boards.len();
                let evses: Vec<EvseConfig> = evses
                    .into_iter()
                    .enumerate()
                    .map(|(i, (b, on_grid, wired, rotation, max, min))| EvseConfig {
                        id: EvseId::parse(format!("e{i}")).unwrap(),
                        board: (n_boards > 0 && !on_grid)
                            .then(|| BoardId::parse(board_id(b.index(n_boards))).unwrap()),
                        phases_wired: wired,
                        rotation,
                        max_current: a(max.max(min)),
                        min_current: a(min),
                        phase_switching: true,
                    })
                    .collect();
                let sessions = sessions
                    .into_iter()
                    .zip(&evses)
                    .filter(|(s, _)| s.0)
                    .map(
                        |((_, car_phases, prio, is_running, since, measured, pv), e)| {
                            SessionInput {
                                evse: e.id.clone(),
                                car_phases,
                                priority: Priority(prio),
                                state: if is_running {
                                    ChargeState::Running(Timestamp(since))
                                } else {
                                    ChargeState::Paused(Timestamp(since))
                                },
                                measured: measured
                                    .map(|[x, y, z]| PhaseCurrents([da(x), da(y), da(z)])),
                                pv: pv.map(|(phases, max)| PvDecision {
                                    phases,
                                    max_current: da(max),
                                }),
                                plan: None,
                            }
                        },
                    )
                    .collect();
                Case {
                    cfg: SiteConfig {
                        grid,
                        boards,
                        evses,
                        mode,
                        power_cap_w,
                        voltage: 230,
                        rotation_secs: 900,
                    },
                    sessions,
                    cond: Conditions {
                        building_load: Some(PhaseCurrents(building.map(da))),
                        now: Timestamp(1500),
                    },
                }
            },
        )
}

/// Same min, max, wiring path and grid phases, and no per-car bound
/// (measured draw, PV): the engine has no reason to treat them differently.
fn same_constraints(
    site: &Site,
    x: &SessionInput,
    y: &SessionInput,
    ax: &EvseAllocation,
    ay: &EvseAllocation,
) -> bool {
    let (ex, ey) = (site.evse(&x.evse).unwrap(), site.evse(&y.evse).unwrap());
    let true_dynamic = matches!(site.config().mode, Mode::TrueDynamic { .. });
    let unbounded = |s: &SessionInput| s.pv.is_none() && (s.measured.is_none() || !true_dynamic);
    unbounded(x)
        && unbounded(y)
        && ex.board == ey.board
        && ex.min_current == ey.min_current
        && ex.max_current == ey.max_current
        && ax.phases == ay.phases
        && grid_phases(ax.phases, ex.rotation) == grid_phases(ay.phases, ey.rotation)
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let site = Site::new(case.cfg.clone()).unwrap();
    let out = allocate(&site, &case.sessions, &case.cond).unwrap();
    prop_assert_eq!(out.len(), case.sessions.len());
    let l = loads(&site, &out);
    let (rooms, power_room) = room(&site, &case.cond, &l);

    // 1. No fuse exceeded: wherever EVs draw, EV load + building + margin ≤ fuse.
    for ((node, phase), load) in &l.nodes {
        if *load > 0 {
            prop_assert!(
                rooms[&(node.clone(), *phase)] >= 0,
                "{node} {phase} over by {}",
                -rooms[&(node.clone(), *phase)]
            );
        }
    }
    if let (Some(r), true) = (power_room, l.power_dw > 0) {
        prop_assert!(r >= 0, "power cap exceeded by {} dW", -r);
    }

    // 2. Zero or between the minimum and the maximum (and the PV bound).
    for (s, al) in case.sessions.iter().zip(&out) {
        let e = site.evse(&s.evse).unwrap();
        prop_assert_eq!(&al.evse, &s.evse);
        prop_assert_eq!(al.is_paused(), matches!(al.reason, Reason::Paused { .. }));
        if !al.is_paused() {
            prop_assert!(
                al.current >= e.min_current && al.current <= e.max_current,
                "{al:?}"
            );
            if let Some(pv) = s.pv {
                prop_assert!(al.current <= pv.max_current);
            }
        }
        prop_assert!(al.phases <= e.phases_wired);
    }

    // 3. Nobody is paused needlessly: a paused car's minimum would not fit.
    for (s, al) in case.sessions.iter().zip(&out) {
        if let Reason::Paused {
            cause: PauseCause::Limit { .. },
            ..
        } = al.reason
        {
            let e = site.evse(&s.evse).unwrap();
            let mut nodes = HashMap::new();
            let mut power = 0;
            add_load(
                &site,
                &mut nodes,
                &mut power,
                &s.evse,
                al.phases,
                e.min_current,
            );
            let node_full = nodes.iter().any(|(k, v)| rooms[k] < *v);
            let power_full = power_room.is_some_and(|r| r < power);
            prop_assert!(
                node_full || power_full,
                "{} paused although its minimum fits",
                s.evse
            );
        }
    }

    // 4. The balancer's fuse check (`excess`) sees exactly what this test
    //    sees: every bound the allocated loads (and the building) exceed,
    //    by as much — and nothing else.
    let held: Vec<Reserved> = out
        .iter()
        .filter(|a| !a.is_paused())
        .map(|a| Reserved {
            evse: a.evse.clone(),
            current: a.current,
            phases: a.phases,
        })
        .collect();
    let over = excess(&site, &held, &case.cond).unwrap();
    for ((node, phase), r) in &rooms {
        let limit = Limit::Fuse {
            node: node.clone(),
            phase: *phase,
        };
        let found = over.iter().find(|(l, _)| *l == limit).map(|(_, o)| *o);
        prop_assert_eq!(found, (*r < 0).then_some(-*r), "{}", limit);
    }
    let found = over
        .iter()
        .find(|(l, _)| *l == Limit::PowerCap)
        .map(|(_, o)| *o);
    prop_assert_eq!(found, power_room.filter(|r| *r < 0).map(|r| -r));

    // 5. Priority and fairness between cars with the same constraints.
    for (i, (x, ax)) in case.sessions.iter().zip(&out).enumerate() {
        for (y, ay) in case.sessions.iter().zip(&out).skip(i + 1) {
            if !same_constraints(&site, x, y, ax, ay) {
                continue;
            }
            if x.priority > y.priority {
                prop_assert!(ax.current >= ay.current, "{ax:?} worse than lower {ay:?}");
            } else if y.priority > x.priority {
                prop_assert!(ay.current >= ax.current, "{ay:?} worse than lower {ax:?}");
            } else if !ax.is_paused() && !ay.is_paused() {
                prop_assert_eq!(ax.current, ay.current, "unequal shares in one class");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn allocations_respect_fuses_minimums_and_priorities(case in case()) {
        check(&case)?;
    }

    /// The same with many cars on tight single-board sites, where pausing
    /// and rotation dominate.
    #[test]
    fn crowded_sites_behave_too(mut case in case(), grid in 60u32..=400, board_limit in 60u32..=300) {
        case.cfg.grid = PhaseCurrents::uniform(da(grid));
        for b in &mut case.cfg.boards {
            b.limit = PhaseCurrents::uniform(da(board_limit));
        }
        check(&case)?;
    }

    /// Every car gets a twin: an identical EVSE on the same board with a
    /// car of a random priority, so that the priority and fairness checks
    /// always have pairs to compare.
    #[test]
    fn twins_are_ranked_by_priority_only(mut case in case(), prios in prop::collection::vec(0u8..3, 25)) {
        let mut twins = Vec::new();
        for (s, prio) in case.sessions.iter_mut().zip(prios) {
            s.pv = None;
            s.measured = None;
            let mut e = case.cfg.evses.iter().find(|e| e.id == s.evse).unwrap().clone();
            e.id = EvseId::parse(format!("twin-{}", e.id)).unwrap();
            twins.push(SessionInput { evse: e.id.clone(), priority: Priority(prio), ..s.clone() });
            case.cfg.evses.push(e);
        }
        case.sessions.extend(twins);
        check(&case)?;
    }
}
