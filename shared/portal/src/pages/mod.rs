//! The portal's pages, one module each (see the crate's docs).

pub mod access;
pub mod account;
pub mod bookings;
pub mod invoice;
pub mod laddid;
pub mod links;
pub mod load;
pub mod me;
pub mod me_bookings;
pub mod money;
pub mod org_money;
pub mod overview;
pub mod prices;
pub mod public;
pub mod qr_sheet;
pub mod reports;
pub mod sessions;
pub mod station;
pub mod station_commands;
pub mod users;

use crate::web::{cookie_lang, Failure};
use axum::http::HeaderMap;
use csms_api::error::ApiError;

/// Any other path under `/portal/`: the 404 page.
pub async fn not_found(headers: HeaderMap) -> Failure {
    Failure::Page(
        cookie_lang(&headers),
        ApiError::NotFound("no such page".into()),
    )
}
