//! Use cases of the CSMS, written against port traits.
//!
//! The same code runs in Lambda (DynamoDB adapters), in the local runner
//! (embedded store) and in tests. Nothing here imports an AWS or HTTP type.
//!
//! # Layout
//! - [`ports`]: the store and clock traits the use cases need.
//! - [`password`]: station password hashing (argon2id) and Basic-auth checks.
//! - [`connect`]: the WebSocket handshake decision (identity, auth, subprotocol)
//!   and connection bookkeeping, shared by `$connect`/`$disconnect` and the
//!   local runner.
//! - [`throttle`]: back-off for repeated failures of a guessable secret
//!   (station passwords, API keys), per station and per source address.
//! - [`charger`]: handling of every charger-initiated OCPP message, from the
//!   raw frame to the reply frame.
//! - [`events`]: the typed domain events, the bus port, and the subscriber
//!   trait load balancing, pricing and webhooks implement.
//! - [`registry`]: operator use cases (register stations and id tokens).
//! - [`commands`]: commands to stations, from the API to the charger's answer.
//! - [`device_model`]: 2.0.1 device reports into the station's model, and the
//!   values Get/SetVariables answers confirm.
//! - [`pricing`]: session pricing (tariff resolution, the engine, revisions)
//!   and the queue that triggers it; the tariffs and their assignments.
//! - [`spot`]: day-ahead spot prices: the sources (elprisetjustnu.se, ENTSO-E),
//!   the scheduled fetcher, the missing-prices alarm and fallback.
//! - [`load`]: load balancing at run time: signals from chargers, the
//!   recomputation, and the charging profiles it sends.
//! - [`webhooks`]: the public webhook events, their fan-out to partner webhooks, signed
//!   delivery with retries.
//! - [`views`]: the public JSON form of records (API responses, webhook payloads).
//! - [`undecodable`]: what a store does with a stored record it cannot read.
//! - `contract` (feature `contract-tests`): the suite every store passes.

pub mod charger;
pub mod commands;
pub mod connect;
pub mod device_model;
pub mod events;
pub mod load;
pub mod password;
pub mod ports;
pub mod pricing;
pub mod registry;
pub mod spot;
pub mod throttle;
pub mod undecodable;
pub mod views;
pub mod webhooks;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use ports::{Clock, Store, StoreError, SystemClock};
