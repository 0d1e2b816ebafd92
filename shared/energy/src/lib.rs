//! Load balancing and smart charging that never trips a fuse.
//!
//! A pure library: the caller supplies the site's electrical model, the cars
//! plugged in and the latest meter readings, and gets back one current limit
//! and a number of phases per EVSE, each with a reason an operator can read.
//! No I/O, no clock, no OCPP: the same engine serves the Lambdas and the local
//! runner, and property tests can throw thousands of sites at it.
//!
//! The guarantees, checked by `tests/properties.rs`:
//! - on every supply node (grid connection and every distribution board) and
//!   every grid phase, the allocated currents — after each EVSE's phase
//!   rotation and each car's number of phases — plus, in the dynamic modes,
//!   the building's own load and the margin, stay within the fuse;
//! - every allocation is either 0 (paused) or at least the EVSE's minimum;
//! - a car of higher priority is never worse off than one of lower priority
//!   with the same constraints.
//!
//! # Layout
//! - [`units`]: currents in deciamperes, phases, timestamps.
//! - [`site`]: the site model ([`SiteConfig`] as written, [`Site`] checked):
//!   grid fuse, board tree, EVSE wiring and rotation, mode, power cap.
//! - [`allocate`](mod@allocate): the engine — admission of cars at their minimum in
//!   priority and rotation order, then water-filling per priority class.
//! - [`pv`]: PV-surplus control of one EVSE with 1p/3p switching and
//!   hysteresis, feeding an upper bound into the engine.
//! - [`schedule`]: price-optimised plans in 15-minute slots under the same limits.
//! - [`simulate`]: a day replayed minute by minute, immediate or scheduled.
//! - [`startup`]: the same day under three rules for what an idle EVSE may
//!   draw, and what each costs in energy and in fuse.

pub mod allocate;
pub mod pv;
pub mod schedule;
pub mod simulate;
pub mod site;
pub mod startup;
pub mod units;

pub use allocate::{
    allocate, allocate_with_reserved, excess, AllocateError, ChargeState, Conditions,
    EvseAllocation, Limit, PauseCause, Priority, Reason, Reserved, SessionInput,
};
pub use pv::{PvDecision, PvSettings, PvState};
pub use schedule::{
    plan, Horizon, PlanError, PlanSession, Schedule, SessionPlan, Unmet, SLOT_SECS,
};
pub use site::{
    BoardConfig, BoardId, EvseConfig, EvseId, Mode, Node, Rotation, Site, SiteConfig, SiteError,
};
pub use units::{Current, Phase, PhaseCurrents, Phases, Timestamp};
