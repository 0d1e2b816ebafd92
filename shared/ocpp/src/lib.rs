//! OCPP-J (JSON over WebSocket) for OCPP 1.6 and 2.0.1: framing, error codes,
//! the action catalogue and validation against the official JSON schemas.
//!
//! This crate knows the wire format only; what a message *means* is decided in
//! `csms-charging`. It never panics on input: any text a charger sends turns into
//! either a [`Frame`] or a [`CallError`] to send back.
//!
//! # Layout
//! - [`frame`]: parsing `[2,id,action,payload]` / `[3,id,payload]` /
//!   `[4,id,code,description,details]` and rendering replies.
//! - [`error`]: CALLERROR codes and how each version spells them.
//! - [`catalog`]: which actions exist per version and which side sends them.
//! - [`schema`]: the embedded official schemas and the mapping of schema
//!   violations to OCPP error codes.
//!
//! # Why not the `rust-ocpp` crate
//! `rust-ocpp` (3.x) has serde types for every 1.6, 2.0.1 and 2.1 message, and
//! we evaluated it as the message layer. We do not use it because:
//! - a serde decode error cannot tell `OccurrenceConstraintViolation` from
//!   `TypeConstraintViolation` or `PropertyConstraintViolation`, and the CSMS
//!   owes the charger the right one; validating the raw JSON against the
//!   official schemas gives the failing keyword, so the code is exact;
//! - its timestamps are strict `chrono` fields, while real chargers send
//!   times without zone or with odd precision that we accept and normalise
//!   (`csms-charging`'s `charger::wire` module) instead of refusing a whole StopTransaction;
//! - each handler reads a handful of fields into a small struct of its own
//!   (`csms-charging`'s `charger::{v16,v201}`), so full message types would buy little
//!   and add `validator`/`regex` to every Lambda's build.
//!
//! The CSMS-initiated calls (remote start, …) will need full request types; the
//! decision is worth revisiting then.

pub mod catalog;
pub mod error;
pub mod frame;
pub mod schema;

pub use error::{CallError, ErrorCode};
pub use frame::{parse_frame, Frame};

/// The two protocol versions, independent of the domain crate so this crate
/// stays a pure wire-format library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V16,
    V201,
}
