//! Times a recompute for a site with 1,000 EVSEs on a board tree.
//!
//! `cargo run --release -p csms-energy --example allocate-bench`
//!
//! The site is built to be hard rather than typical: true-dynamic mode with a
//! different measured draw for almost every car (so water-filling takes one
//! step per car), single- and three-phase cars on rotated EVSEs, three
//! priority classes, a power cap, and fuses tight enough that a good share of
//! the cars have to be paused in rotation.

use csms_energy::*;
use std::time::{Duration, Instant};

/// A small deterministic generator, so that runs compare and no dependency
/// is needed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % u64::from(n)) as u32
    }
}

fn main() {
    let mut rng = Lcg(42);
    let rotations = [Rotation::L1L2L3, Rotation::L2L3L1, Rotation::L3L1L2];
    let mut boards = Vec::new();
    let mut evses = Vec::new();
    // 10 feeders of 630 A, each with 5 car-park boards of 160 A holding 20 EVSEs.
    for f in 0..10 {
        let feeder = BoardId::parse(format!("feeder-{f}")).unwrap();
        boards.push(BoardConfig {
            id: feeder.clone(),
            parent: None,
            limit: PhaseCurrents::uniform(Current::amps(630)),
        });
        for b in 0..5 {
            let board = BoardId::parse(format!("board-{f}-{b}")).unwrap();
            boards.push(BoardConfig {
                id: board.clone(),
                parent: Some(feeder.clone()),
                limit: PhaseCurrents::uniform(Current::amps(160)),
            });
            for e in 0..20 {
                evses.push(EvseConfig {
                    id: EvseId::parse(format!("evse-{f}-{b}-{e}")).unwrap(),
                    board: Some(board.clone()),
                    phases_wired: if e % 4 == 0 {
                        Phases::One
                    } else {
                        Phases::Three
                    },
                    rotation: rotations[e % 3],
                    max_current: Current::amps(if e % 2 == 0 { 16 } else { 32 }),
                    min_current: Current::amps(6),
                    phase_switching: false,
                });
            }
        }
    }
    let site = Site::new(SiteConfig {
        grid: PhaseCurrents::uniform(Current::amps(4000)),
        boards,
        evses,
        mode: Mode::TrueDynamic {
            margin: Current::amps(20),
            headroom: Current::amps(2),
            settle_secs: 60,
        },
        power_cap_w: Some(2_500_000),
        voltage: 230,
        rotation_secs: 900,
    })
    .unwrap();

    let mut sessions: Vec<SessionInput> = site
        .config()
        .evses
        .iter()
        .map(|e| SessionInput {
            evse: e.id.clone(),
            car_phases: if rng.next(5) == 0 {
                Some(Phases::One)
            } else {
                None
            },
            priority: Priority(rng.next(3) as u8),
            state: if rng.next(4) == 0 {
                ChargeState::Paused(Timestamp(i64::from(rng.next(3600))))
            } else {
                ChargeState::Running(Timestamp(i64::from(rng.next(3600))))
            },
            measured: None,
            pv: None,
            plan: None,
        })
        .collect();

    let rounds = 500;
    let mut times = Vec::with_capacity(rounds);
    let mut paused = 0;
    for round in 0..rounds {
        // New meter readings every round, as in production.
        for s in &mut sessions {
            let draw = Current::from_deciamps(rng.next(330));
            s.measured = Some(PhaseCurrents([
                draw,
                draw,
                Current::from_deciamps(rng.next(330)),
            ]));
        }
        let cond = Conditions {
            building_load: Some(PhaseCurrents([
                Current::amps(100 + rng.next(200)),
                Current::amps(100 + rng.next(200)),
                Current::amps(100 + rng.next(200)),
            ])),
            now: Timestamp(3600 + round as i64 * 30),
        };
        let start = Instant::now();
        let out = allocate(&site, &sessions, &cond).expect("valid input");
        times.push(start.elapsed());
        paused = out.iter().filter(|a| a.is_paused()).count();
        // Feed the answer back, as the caller would.
        for (s, a) in sessions.iter_mut().zip(&out) {
            s.state = match (s.state, a.is_paused()) {
                (ChargeState::Running(_), true) => ChargeState::Paused(cond.now),
                (ChargeState::Paused(_), false) => ChargeState::Running(cond.now),
                (same, _) => same,
            };
        }
    }
    let total: Duration = times.iter().sum();
    let worst = times.iter().max().copied().unwrap_or_default();
    println!(
        "{} EVSEs, {} boards, {rounds} recomputes: mean {:?}, worst {:?} ({paused} paused in the last round)",
        sessions.len(),
        site.config().boards.len(),
        total / rounds as u32,
        worst,
    );
}
