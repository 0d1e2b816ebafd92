//! The portal's static files, embedded in the binary: htmx (vendored from
//! the npm package `htmx.org`, licence in `assets/htmx.LICENSE`) and the
//! style sheet, the saved-card page's script, the pay-at-the-charger page's,
//! and the overview's map:
//! Leaflet's script and style sheet (vendored from the npm package
//! `leaflet`, BSD 2-Clause, licence in `assets/leaflet.LICENSE`) and the
//! page's own `map.js`. Each is served under a name with a hash of its content, so
//! it can be cached for a year: a changed file is a new URL.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One embedded file and the name it is served under.
pub struct Asset {
    /// `htmx.<hash>.js`.
    pub name: String,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Self {
        let digest = Sha256::digest(body);
        let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Asset {
            name: format!("{stem}.{hash}.{ext}"),
            content_type,
            body,
        }
    }

    /// The URL the pages link.
    pub fn url(&self) -> String {
        format!("/portal/assets/{}", self.name)
    }
}

pub static HTMX: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "htmx",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx.min.js"),
    )
});

pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "portal",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/portal.css"),
    )
});

/// The saved-card page's script (hand-written, no build step).
pub static CARD_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "card",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/card.js"),
    )
});

/// Leaflet 1.9.4, minified, for the overview's map.
pub static LEAFLET_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "leaflet",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/leaflet.min.js"),
    )
});

/// Leaflet's own style sheet (panes, controls, attribution).
pub static LEAFLET_CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "leaflet",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/leaflet.css"),
    )
});

/// The overview's map: markers drawn from the stations' table (hand-written).
pub static MAP_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "map",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/map.js"),
    )
});

/// The pay-at-the-charger page's script (hand-written, no build step).
pub static START_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "start",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/start.js"),
    )
});

/// `GET /portal/assets/{name}`: only the current hashed names exist.
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = [
        &*HTMX,
        &*CSS,
        &*CARD_JS,
        &*START_JS,
        &*LEAFLET_JS,
        &*LEAFLET_CSS,
        &*MAP_JS,
    ]
    .into_iter()
    .find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_content_hash() {
        assert!(HTMX.name.starts_with("htmx.") && HTMX.name.ends_with(".js"));
        assert_eq!(HTMX.name.len(), "htmx.".len() + 12 + ".js".len());
        assert_ne!(HTMX.name, CSS.name);
        // The vendored file is htmx itself, minified.
        assert!(std::str::from_utf8(HTMX.body)
            .unwrap()
            .starts_with("var htmx=function"));
        // Leaflet keeps its licence header; its two files are two names.
        assert!(std::str::from_utf8(LEAFLET_JS.body)
            .unwrap()
            .starts_with("/* @preserve\n * Leaflet 1.9.4"));
        assert_ne!(LEAFLET_JS.name, LEAFLET_CSS.name);
        assert!(LEAFLET_CSS.name.ends_with(".css") && MAP_JS.name.starts_with("map."));
    }
}
