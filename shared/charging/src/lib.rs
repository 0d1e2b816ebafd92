//! Charging: what stations say and who they are. Every charger-initiated
//! OCPP message from the raw frame to the reply, the WebSocket handshake,
//! the stations and id tokens the operator registers, and 2.0.1 device
//! models.
//!
//! It depends on the kernel only. What other contexts do about a charger's
//! message (balance load, price a session, notify a partner) they do as
//! subscribers of the typed events published here; the charger's replies to
//! CSMS calls go to the commands context through the kernel's `CallReplies`
//! port.
//!
//! # Layout
//! - [`charger`]: the charger service; one module per action and version
//!   (`v16/`, `v201/`), the wire helpers both share (`wire.rs`).
//! - [`connect`]: the WebSocket handshake decision (identity, auth,
//!   subprotocol) and connection bookkeeping, shared by
//!   `$connect`/`$disconnect` and the local runner.
//! - [`password`]: station password hashing (argon2id) and Basic-auth checks.
//! - [`registry`]: registering stations and id tokens.
//! - [`lifecycle`]: a station after registration: rename, move, password
//!   rotation with a grace period, decommission, delete without history.
//! - [`laddid`]: the id tokens' life cycle (read, change, block, delete) and
//!   the identifiers seen at stations and not registered.
//! - [`access`]: access modes at run time (the mode at an EVSE now, whether
//!   it admits a token, refused attempts) and the operator's use cases over
//!   a station's access policy.
//! - [`booking`]: bookings of EVSEs (make, read, list, cancel) and the
//!   booking that holds an EVSE now.
//! - [`start_link`]: an EVSE's charging key (made when first asked for, rotated), what a start
//!   link resolves to, the one-off identity of an anonymous start and whether the access mode lets
//!   the link's caller start now.
//! - [`rating`]: a driver rates a session of theirs (with the station's and site's sums).
//! - [`device_model`]: 2.0.1 device reports into the station's model, and the
//!   values Get/SetVariables answers confirm.

pub mod access;
pub mod booking;
pub mod charger;
pub mod connect;
pub mod device_model;
pub mod garage;
pub mod laddid;
pub mod lifecycle;
pub mod password;
pub mod rating;
pub mod registry;
pub mod start_link;
