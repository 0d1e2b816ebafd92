//! The tile server the portal's map loads its background from in the
//! browser (`CSMS_MAP_TILE_URL`, `CSMS_MAP_TILE_ATTRIBUTION`): by default
//! OpenStreetMap's own, whose usage policy asks for its attribution. The
//! overview's content security policy allows images from this server's
//! origin alone, so it follows the setting.

/// A tile URL template (`https://tiles.example.com/{z}/{x}/{y}.png`), its
/// origin for the content security policy, and the attribution the map
/// shows (HTML, as Leaflet takes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTiles {
    url: String,
    origin: String,
    attribution: String,
}

impl Default for MapTiles {
    /// OpenStreetMap's tile server and its attribution.
    fn default() -> Self {
        MapTiles {
            url: Self::OSM_URL.to_owned(),
            origin: "https://tile.openstreetmap.org".to_owned(),
            attribution: Self::OSM_ATTRIBUTION.to_owned(),
        }
    }
}

impl MapTiles {
    pub const OSM_URL: &'static str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
    pub const OSM_ATTRIBUTION: &'static str =
        r#"&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>"#;

    /// A configured template and attribution (plain text, shown as it is;
    /// `None`: none configured, which only OpenStreetMap's own server may
    /// go without). The error says what is wrong. The template must be an
    /// absolute `https` URL (`http` only for a server on this machine) with
    /// `{z}`, `{x}` and `{y}`, one host (no `{s}` subdomains: the policy
    /// names one origin), no user name, password or fragment.
    pub fn parse(template: &str, attribution: Option<&str>) -> Result<Self, String> {
        let template = template.trim();
        for part in ["{z}", "{x}", "{y}"] {
            if !template.contains(part) {
                return Err(format!(
                    "must contain {part} (e.g. https://tiles.example.com/{{z}}/{{x}}/{{y}}.png)"
                ));
            }
        }
        if template.contains("{s}") {
            return Err("must name one host ({s} subdomains are not allowed: the content security policy names one origin)".into());
        }
        // The placeholders are not valid in a host; put numbers in to read
        // the rest.
        let probe = template
            .replace("{z}", "0")
            .replace("{x}", "0")
            .replace("{y}", "0")
            .replace("{r}", "");
        let url = url::Url::parse(&probe).map_err(|e| format!("not an absolute URL: {e}"))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("has no host")?;
        let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            _ => return Err("must start with https:// (http:// only for localhost)".into()),
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err("must not carry a user name, password or fragment".into());
        }
        let origin = url.origin().ascii_serialization();
        let attribution = match attribution.map(str::trim).filter(|a| !a.is_empty()) {
            Some(text) => escape(text),
            None if template == Self::OSM_URL => Self::OSM_ATTRIBUTION.to_owned(),
            None => {
                return Err(
                    "needs CSMS_MAP_TILE_ATTRIBUTION: the tiles' owner (who must be credited)"
                        .into(),
                )
            }
        };
        Ok(MapTiles {
            url: template.to_owned(),
            origin,
            attribution,
        })
    }

    /// The template Leaflet loads tiles by.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`, for `img-src`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The attribution as HTML.
    pub fn attribution(&self) -> &str {
        &self.attribution
    }
}

/// A configured attribution is text: shown as it is, never as markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_server_is_an_https_template_with_one_origin() {
        let t = MapTiles::parse(
            "https://tiles.example.se:8443/osm/{z}/{x}/{y}.png",
            Some("© Kartbolaget & <OSM>"),
        )
        .unwrap();
        assert_eq!(t.url(), "https://tiles.example.se:8443/osm/{z}/{x}/{y}.png");
        assert_eq!(t.origin(), "https://tiles.example.se:8443");
        assert_eq!(t.attribution(), "© Kartbolaget &amp; &lt;OSM&gt;");
        let osm = MapTiles::parse(MapTiles::OSM_URL, None).unwrap();
        assert_eq!(osm, MapTiles::default());
        assert_eq!(
            MapTiles::parse("http://localhost:8090/{z}/{x}/{y}.png", Some("local"))
                .unwrap()
                .origin(),
            "http://localhost:8090"
        );
        for (bad, why) in [
            ("https://tiles.example.se/{z}/{x}.png", "{y}"),
            ("https://{s}.tile.example.se/{z}/{x}/{y}.png", "one host"),
            ("http://tiles.example.se/{z}/{x}/{y}.png", "https://"),
            ("tiles.example.se/{z}/{x}/{y}.png", "absolute"),
            ("https://u:p@tiles.example.se/{z}/{x}/{y}.png", "password"),
        ] {
            let e = MapTiles::parse(bad, Some("x")).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        // Another server must say whose tiles they are.
        let e = MapTiles::parse("https://tiles.example.se/{z}/{x}/{y}.png", None).unwrap_err();
        assert!(e.contains("CSMS_MAP_TILE_ATTRIBUTION"), "{e}");
    }
}
