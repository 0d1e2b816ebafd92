//! OCPP-J (JSON over WebSocket) for OCPP 1.6 and 2.0.1: framing, error codes,
//! the action catalogue and validation against the official JSON schemas.
//!
//! This crate knows the wire format only; what a message *means* is decided in
//! `csms-core`. It never panics on input: any text a charger sends turns into
//! either a [`Frame`] or a [`CallError`] to send back.
//!
//! # Layout
//! - [`frame`]: parsing `[2,id,action,payload]` / `[3,id,payload]` /
//!   `[4,id,code,description,details]` and rendering replies.
//! - [`error`]: CALLERROR codes and how each version spells them.
//! - [`catalog`]: which actions exist per version and which side sends them.
//! - [`schema`]: the embedded official schemas and the mapping of schema
//!   violations to OCPP error codes.

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
