//! Builders shared by the integration tests, and an independent checker of
//! allocations that recomputes every node's load from the answer alone.

#![allow(dead_code)]

use csms_energy::allocate::grid_phases;
use csms_energy::*;
use std::collections::HashMap;

pub fn a(amps: u32) -> Current {
    Current::amps(amps)
}

pub fn da(deciamps: u32) -> Current {
    Current::from_deciamps(deciamps)
}

pub fn evse(
    id: &str,
    board: Option<&str>,
    phases: Phases,
    rotation: Rotation,
    max: u32,
) -> EvseConfig {
    EvseConfig {
        id: EvseId::parse(id).unwrap(),
        board: board.map(|b| BoardId::parse(b).unwrap()),
        phases_wired: phases,
        rotation,
        max_current: a(max),
        min_current: a(6),
        phase_switching: false,
    }
}

pub fn board(id: &str, parent: Option<&str>, limit: u32) -> BoardConfig {
    BoardConfig {
        id: BoardId::parse(id).unwrap(),
        parent: parent.map(|p| BoardId::parse(p).unwrap()),
        limit: PhaseCurrents::uniform(a(limit)),
    }
}

pub fn site(grid: u32, boards: Vec<BoardConfig>, evses: Vec<EvseConfig>, mode: Mode) -> SiteConfig {
    SiteConfig {
        grid: PhaseCurrents::uniform(a(grid)),
        boards,
        evses,
        mode,
        power_cap_w: None,
        voltage: 230,
        rotation_secs: 900,
    }
}

/// A car that arrived at `since` and has not been given current yet.
pub fn arrived(evse: &str, since: i64) -> SessionInput {
    SessionInput {
        evse: EvseId::parse(evse).unwrap(),
        car_phases: None,
        priority: Priority(0),
        state: ChargeState::Paused(Timestamp(since)),
        measured: None,
        pv: None,
        plan: None,
    }
}

pub fn running(evse: &str, since: i64) -> SessionInput {
    SessionInput {
        state: ChargeState::Running(Timestamp(since)),
        ..arrived(evse, since)
    }
}

pub fn conditions(now: i64) -> Conditions {
    Conditions {
        building_load: None,
        now: Timestamp(now),
    }
}

/// Load in deciamperes per (node, grid phase) and total power in deciwatts,
/// from the allocations alone.
pub struct Loads {
    pub nodes: HashMap<(Node, Phase), i64>,
    pub power_dw: i64,
}

pub fn loads(site: &Site, allocs: &[EvseAllocation]) -> Loads {
    let mut nodes = HashMap::new();
    let mut power_dw = 0;
    for al in allocs {
        add_load(
            site,
            &mut nodes,
            &mut power_dw,
            &al.evse,
            al.phases,
            al.current,
        );
    }
    Loads { nodes, power_dw }
}

pub fn add_load(
    site: &Site,
    nodes: &mut HashMap<(Node, Phase), i64>,
    power_dw: &mut i64,
    evse: &EvseId,
    phases: Phases,
    current: Current,
) {
    let cfg = site.evse(evse).unwrap();
    for node in site.path(evse).unwrap() {
        for &gp in grid_phases(phases, cfg.rotation) {
            *nodes.entry((node.clone(), gp)).or_default() += i64::from(current.deciamps());
        }
    }
    *power_dw += i64::from(current.deciamps())
        * i64::from(phases.count())
        * i64::from(site.config().voltage);
}

/// Room left per (node, phase) and for power; negative means a fuse or the
/// cap is exceeded. The building's load and the margin count at the grid
/// connection in the dynamic modes.
pub fn room(
    site: &Site,
    cond: &Conditions,
    l: &Loads,
) -> (HashMap<(Node, Phase), i64>, Option<i64>) {
    let cfg = site.config();
    let (building, margin) = match cfg.mode {
        Mode::Static => (PhaseCurrents::default(), 0),
        Mode::Dynamic { margin } | Mode::TrueDynamic { margin, .. } => {
            (cond.building_load.unwrap(), i64::from(margin.deciamps()))
        }
    };
    let mut nodes_room = HashMap::new();
    let all_nodes =
        std::iter::once(Node::Grid).chain(cfg.boards.iter().map(|b| Node::Board(b.id.clone())));
    for node in all_nodes {
        let limit = site.limit(&node).unwrap();
        for p in Phase::ALL {
            let mut r = i64::from(limit.get(p).deciamps())
                - l.nodes.get(&(node.clone(), p)).copied().unwrap_or(0);
            if node == Node::Grid {
                r -= i64::from(building.get(p).deciamps()) + margin;
            }
            nodes_room.insert((node.clone(), p), r);
        }
    }
    let building_dw: i64 = building
        .0
        .iter()
        .map(|c| i64::from(c.deciamps()) * i64::from(cfg.voltage))
        .sum();
    let power = cfg
        .power_cap_w
        .map(|w| i64::from(w) * 10 - building_dw - l.power_dw);
    (nodes_room, power)
}
