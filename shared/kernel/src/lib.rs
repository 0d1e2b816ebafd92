//! What every context of the CSMS shares, and nothing more: the ports the use
//! cases are written against, the typed domain events and their bus, the
//! public JSON form of records, and the contract suite every store passes.
//!
//! The contexts sit on top of it, each its own crate: `csms-charging`
//! (inbound OCPP, the handshake, stations and tokens), `csms-commands`,
//! `csms-pricing` (tariffs, session pricing, spot prices), `csms-load` and
//! `csms-notify` (webhooks). Nothing here imports an AWS, HTTP or database
//! type, and nothing here knows a context.
//!
//! # Layout
//! - [`ports`]: the store ports (one trait per record family), `Clock`, the
//!   connection sender, `CallReplies` (charging hands the charger's replies
//!   to commands through it), and the `store_ports!` bundles.
//! - [`events`]: the typed domain events, the bus port, and the subscriber
//!   trait load balancing, pricing and webhooks implement.
//! - [`views`]: the public JSON form of records (API responses, webhook payloads).
//! - [`throttle`]: back-off for repeated failures of a guessable secret
//!   (station passwords, API keys), per station and per source address.
//! - [`undecodable`]: what a store does with a stored record it cannot read.
//! - [`tenants`]: the default organisation's record, made at upgrade.
//! - [`migrations`]: upgrades of stored data (idempotent, resumable), e.g.
//!   the bookings' person index backfilled.
//! - `contract` (feature `contract-tests`): the suite every store passes.

pub mod events;
pub mod migrations;
pub mod ports;
pub mod tenants;
pub mod throttle;
pub mod undecodable;
pub mod views;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use ports::{Clock, Store, StoreError, SystemClock};
