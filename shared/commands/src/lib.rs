//! Commands from the CSMS to stations (remote start, reset, …): the
//! version-neutral requests of `csms_domain::command` on their way to a
//! charger and back.
//!
//! # Layout
//! - [`wire`]: each command as an OCPP 1.6 / 2.0.1 CALL, and the charger's
//!   answer read back into a status (one module per operation).
//! - [`service`]: the lifecycle — submit, queue per station (one outstanding
//!   call, as OCPP requires), send, resolve from CALLRESULT/CALLERROR,
//!   time out, recover after a restart.
//! - [`booking_sweep`]: ReserveNow before a booked window, the station's
//!   answer, no-shows (CancelReservation) and the end of the window.
//! - [`approval`]: the operator's decision on a station's registration,
//!   and the boot it asks of a connected station.

pub mod approval;
pub mod booking_sweep;
pub mod service;
pub mod wire;
