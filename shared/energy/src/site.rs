//! The site's electrical model: grid connection, distribution boards, EVSEs.
//!
//! [`SiteConfig`] is what an operator writes (serde, ids as strings);
//! [`Site`] is the checked form the engine runs on: every board's parent
//! exists and the tree has no cycle, every EVSE hangs on a known board, and
//! each EVSE's path to the grid is precomputed as node indices so a recompute
//! never walks the tree or hashes a board id.

use crate::units::{Current, Phase, PhaseCurrents, Phases};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// Id of a distribution board, unique within a site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BoardId(String);

/// Id of an EVSE (one charging point of a station), unique within a site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EvseId(String);

macro_rules! id_newtype {
    ($t:ident, $what:literal) => {
        impl $t {
            /// Non-empty, at most 64 characters, no control characters.
            pub fn parse(s: impl Into<String>) -> Result<Self, SiteError> {
                let s = s.into();
                if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
                    return Err(SiteError::BadId { what: $what, id: s });
                }
                Ok($t(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $t {
            type Error = SiteError;
            fn try_from(s: String) -> Result<Self, SiteError> {
                $t::parse(s)
            }
        }

        impl From<$t> for String {
            fn from(id: $t) -> String {
                id.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
id_newtype!(BoardId, "board");
id_newtype!(EvseId, "EVSE");

/// Which grid phase each of the EVSE's terminals L1/L2/L3 is connected to.
///
/// Installers rotate the phases of successive EVSEs so that single-phase
/// cars (which charge on the EVSE's L1) spread over the grid phases instead of
/// all loading grid L1. `L2L3L1` means EVSE L1 is on grid L2, EVSE L2 on grid
/// L3, EVSE L3 on grid L1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rotation {
    #[default]
    L1L2L3,
    L1L3L2,
    L2L1L3,
    L2L3L1,
    L3L1L2,
    L3L2L1,
}

impl Rotation {
    /// The grid phase that the EVSE's terminal `evse_phase` lands on.
    pub const fn grid_phase(self, evse_phase: Phase) -> Phase {
        use Phase::*;
        let map = match self {
            Rotation::L1L2L3 => [L1, L2, L3],
            Rotation::L1L3L2 => [L1, L3, L2],
            Rotation::L2L1L3 => [L2, L1, L3],
            Rotation::L2L3L1 => [L2, L3, L1],
            Rotation::L3L1L2 => [L3, L1, L2],
            Rotation::L3L2L1 => [L3, L2, L1],
        };
        map[evse_phase.index()]
    }
}

/// How the engine learns how much of the fuse is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Mode {
    /// The fuses are the EV chargers' alone (a dedicated connection or a
    /// fixed share): no meter needed.
    Static,
    /// A grid meter reports the building's own load per phase; EVs get
    /// `fuse − building − margin` at the grid connection. The margin absorbs
    /// load that rises between two meter readings.
    Dynamic { margin: Current },
    /// Dynamic, and also each car's measured current: a car that draws less
    /// than it was given (battery nearly full, cold, a slow on-board charger)
    /// is capped at its draw plus `headroom`, and the rest goes to others.
    /// Only after the car has been running `settle_secs`, because a car that
    /// has just been started still ramps up and its draw says nothing yet.
    TrueDynamic {
        margin: Current,
        headroom: Current,
        settle_secs: u32,
    },
}

/// A distribution board (sub-panel) with its own per-phase fuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardConfig {
    pub id: BoardId,
    /// `None`: fed directly from the grid connection.
    pub parent: Option<BoardId>,
    /// Per *grid* phase.
    pub limit: PhaseCurrents,
}

/// One EVSE as installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvseConfig {
    pub id: EvseId,
    /// `None`: fed directly from the grid connection.
    pub board: Option<BoardId>,
    pub phases_wired: Phases,
    #[serde(default)]
    pub rotation: Rotation,
    pub max_current: Current,
    /// IEC 61851 forbids signalling less than 6 A; some cars need more.
    #[serde(default = "default_min_current")]
    pub min_current: Current,
    /// The EVSE can switch between 1 and 3 phases while a car is plugged in
    /// (used by PV-surplus charging).
    #[serde(default)]
    pub phase_switching: bool,
}

fn default_min_current() -> Current {
    Current::amps(6)
}

/// The site as an operator describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteConfig {
    /// The main fuse of the grid connection, per grid phase.
    pub grid: PhaseCurrents,
    #[serde(default)]
    pub boards: Vec<BoardConfig>,
    pub evses: Vec<EvseConfig>,
    pub mode: Mode,
    /// Peak shaving: total import (EVs, plus the building in dynamic modes)
    /// stays at or below this many watts.
    #[serde(default)]
    pub power_cap_w: Option<u32>,
    /// Phase-to-neutral voltage used to turn currents into power.
    #[serde(default = "default_voltage")]
    pub voltage: u32,
    /// How long a car keeps charging before it must give way to a paused car
    /// of the same priority when there is not enough for everybody's minimum.
    /// Too short wears contactors and annoys drivers; too long starves the
    /// paused.
    #[serde(default = "default_rotation_secs")]
    pub rotation_secs: u32,
}

fn default_voltage() -> u32 {
    230
}

fn default_rotation_secs() -> u32 {
    15 * 60
}

/// Why a [`SiteConfig`] is not a usable [`Site`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    #[error("invalid {what} id {id:?}")]
    BadId { what: &'static str, id: String },
    #[error("board {0} is defined twice")]
    DuplicateBoard(BoardId),
    #[error("EVSE {0} is defined twice")]
    DuplicateEvse(EvseId),
    #[error("board {board} names unknown parent {parent}")]
    UnknownParent { board: BoardId, parent: BoardId },
    #[error("board {0} is its own ancestor")]
    Cycle(BoardId),
    #[error("EVSE {evse} is on unknown board {board}")]
    UnknownBoard { evse: EvseId, board: BoardId },
    #[error("EVSE {0}: minimum current must be above 0 and at most the maximum")]
    BadCurrentRange(EvseId),
    #[error("voltage must be between 1 and 1000 V")]
    BadVoltage,
}

/// A node of the supply tree: the grid connection or a board.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum Node {
    Grid,
    Board(BoardId),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Grid => f.write_str("grid connection"),
            Node::Board(b) => write!(f, "board {b}"),
        }
    }
}

/// A checked site. Node 0 is the grid connection, node `i + 1` is board `i`.
#[derive(Debug, Clone)]
pub struct Site {
    pub(crate) config: SiteConfig,
    pub(crate) nodes: Vec<Node>,
    pub(crate) node_limits: Vec<PhaseCurrents>,
    /// Per EVSE: node indices from its own board up to and including the grid.
    pub(crate) paths: Vec<Vec<u32>>,
    pub(crate) evse_index: HashMap<EvseId, u32>,
}

impl Site {
    pub fn new(config: SiteConfig) -> Result<Site, SiteError> {
        if config.voltage == 0 || config.voltage > 1000 {
            return Err(SiteError::BadVoltage);
        }
        let mut board_index = HashMap::with_capacity(config.boards.len());
        for (i, b) in config.boards.iter().enumerate() {
            if board_index.insert(b.id.clone(), i as u32 + 1).is_some() {
                return Err(SiteError::DuplicateBoard(b.id.clone()));
            }
        }
        let mut parent = vec![None::<u32>; config.boards.len() + 1];
        for (i, b) in config.boards.iter().enumerate() {
            parent[i + 1] = Some(match &b.parent {
                None => 0,
                Some(p) => *board_index.get(p).ok_or_else(|| SiteError::UnknownParent {
                    board: b.id.clone(),
                    parent: p.clone(),
                })?,
            });
        }
        // Path of every node to the grid; a walk longer than the number of
        // nodes can only mean a cycle.
        let node_path = |start: u32| -> Option<Vec<u32>> {
            let mut path = vec![start];
            let mut at = start;
            while let Some(p) = parent[at as usize] {
                if path.len() > parent.len() {
                    return None;
                }
                path.push(p);
                at = p;
            }
            Some(path)
        };
        let mut board_paths = vec![vec![0u32]];
        for (i, b) in config.boards.iter().enumerate() {
            board_paths
                .push(node_path(i as u32 + 1).ok_or_else(|| SiteError::Cycle(b.id.clone()))?);
        }
        let mut evse_index = HashMap::with_capacity(config.evses.len());
        let mut paths = Vec::with_capacity(config.evses.len());
        for (i, e) in config.evses.iter().enumerate() {
            if evse_index.insert(e.id.clone(), i as u32).is_some() {
                return Err(SiteError::DuplicateEvse(e.id.clone()));
            }
            if e.min_current == Current::ZERO || e.min_current > e.max_current {
                return Err(SiteError::BadCurrentRange(e.id.clone()));
            }
            let node = match &e.board {
                None => 0,
                Some(b) => *board_index.get(b).ok_or_else(|| SiteError::UnknownBoard {
                    evse: e.id.clone(),
                    board: b.clone(),
                })?,
            };
            paths.push(board_paths[node as usize].clone());
        }
        let nodes = std::iter::once(Node::Grid)
            .chain(config.boards.iter().map(|b| Node::Board(b.id.clone())))
            .collect();
        let node_limits = std::iter::once(config.grid)
            .chain(config.boards.iter().map(|b| b.limit))
            .collect();
        Ok(Site {
            config,
            nodes,
            node_limits,
            paths,
            evse_index,
        })
    }

    pub fn config(&self) -> &SiteConfig {
        &self.config
    }

    pub fn evse(&self, id: &EvseId) -> Option<&EvseConfig> {
        self.evse_index
            .get(id)
            .map(|&i| &self.config.evses[i as usize])
    }

    /// The supply nodes an EVSE's current flows through, its own board
    /// first and the grid connection last.
    pub fn path(&self, id: &EvseId) -> Option<impl Iterator<Item = &Node> + '_> {
        let i = *self.evse_index.get(id)?;
        Some(
            self.paths[i as usize]
                .iter()
                .map(|&n| &self.nodes[n as usize]),
        )
    }

    /// Limit of a node, per grid phase.
    pub fn limit(&self, node: &Node) -> Option<PhaseCurrents> {
        self.nodes
            .iter()
            .position(|n| n == node)
            .map(|i| self.node_limits[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(id: &str, parent: Option<&str>) -> BoardConfig {
        BoardConfig {
            id: BoardId::parse(id).unwrap(),
            parent: parent.map(|p| BoardId::parse(p).unwrap()),
            limit: PhaseCurrents::uniform(Current::amps(63)),
        }
    }

    fn site(boards: Vec<BoardConfig>) -> SiteConfig {
        SiteConfig {
            grid: PhaseCurrents::uniform(Current::amps(100)),
            boards,
            evses: vec![],
            mode: Mode::Static,
            power_cap_w: None,
            voltage: 230,
            rotation_secs: 900,
        }
    }

    #[test]
    fn rejects_cycles_and_unknown_parents() {
        let cyc = site(vec![board("a", Some("b")), board("b", Some("a"))]);
        assert!(matches!(Site::new(cyc), Err(SiteError::Cycle(_))));
        let orphan = site(vec![board("a", Some("zz"))]);
        assert!(matches!(
            Site::new(orphan),
            Err(SiteError::UnknownParent { .. })
        ));
        let dup = site(vec![board("a", None), board("a", None)]);
        assert!(matches!(Site::new(dup), Err(SiteError::DuplicateBoard(_))));
    }

    #[test]
    fn evse_path_runs_from_its_board_to_the_grid() {
        let mut cfg = site(vec![board("main", None), board("garage", Some("main"))]);
        cfg.evses.push(EvseConfig {
            id: EvseId::parse("e1").unwrap(),
            board: Some(BoardId::parse("garage").unwrap()),
            phases_wired: Phases::Three,
            rotation: Rotation::L2L3L1,
            max_current: Current::amps(16),
            min_current: Current::amps(6),
            phase_switching: false,
        });
        let s = Site::new(cfg).unwrap();
        let path: Vec<String> = s
            .path(&EvseId::parse("e1").unwrap())
            .unwrap()
            .map(ToString::to_string)
            .collect();
        assert_eq!(path, ["board garage", "board main", "grid connection"]);
        assert_eq!(Rotation::L2L3L1.grid_phase(Phase::L1), Phase::L2);
        assert_eq!(Rotation::L3L1L2.grid_phase(Phase::L1), Phase::L3);
    }

    #[test]
    fn ids_are_checked_when_deserialised() {
        assert!(serde_json::from_str::<BoardId>("\"\"").is_err());
    }
}
