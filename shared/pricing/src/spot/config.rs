//! The spot-price settings, read once at start from the environment (the
//! Lambda and the local runner read the same variables):
//!
//! | variable | default | |
//! |---|---|---|
//! | `CSMS_SPOT_ZONES` | `SE1,SE2,SE3,SE4` | bidding zones to keep prices of |
//! | `CSMS_SPOT_SOURCES` | `elprisetjustnu` (then `entsoe` when a token is set) | sources, in the order they are asked |
//! | `CSMS_SPOT_FALLBACK` | `previous-day` | `none`, `previous-day` or `fixed:<price per kWh>` |
//! | `CSMS_SPOT_PUBLISH_TIME` | `13:00` | zone-local time from which tomorrow's prices are expected |
//! | `CSMS_SPOT_ALARM_TIME` | `15:00` | zone-local time after which missing prices raise an alarm and the fallback applies |
//! | `CSMS_SPOT_EUR_RATE` | — | `SEK:11.05,NOK:11.7,DKK:7.46`: EUR rates for ENTSO-E's EUR prices |
//! | `CSMS_ENTSOE_TOKEN` | — | ENTSO-E security token |
//! | `CSMS_ELPRIS_BASE_URL` | `https://www.elprisetjustnu.se/api/v1/prices` | |
//! | `CSMS_ENTSOE_BASE_URL` | `https://web-api.tp.entsoe.eu/api` | |
//!
//! An empty value counts as unset (CloudFormation passes empty parameters
//! as empty strings). Mistakes fail at start, with the variable's name.

use super::fetcher::{FallbackRule, FetcherConfig, SpotFetcher};
use super::{ElprisSource, EntsoeSource, EurRates, HttpGet, PriceSource};
use chrono::NaiveTime;
use csms_domain::spot::BiddingZone;
use csms_kernel::ports::{AlarmStore, Clock, SpotPriceStore};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct SpotConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> SpotConfigError {
    SpotConfigError {
        var,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Elprisetjustnu,
    Entsoe,
}

impl SourceKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "elprisetjustnu" | "elpris" => Some(SourceKind::Elprisetjustnu),
            "entsoe" | "entso-e" => Some(SourceKind::Entsoe),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Elprisetjustnu => "elprisetjustnu",
            SourceKind::Entsoe => "entsoe",
        }
    }

    fn covers(self, zone: BiddingZone) -> bool {
        match self {
            SourceKind::Elprisetjustnu => zone.code().starts_with("SE"),
            SourceKind::Entsoe => true,
        }
    }
}

/// The ENTSO-E token, kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpotSettings {
    pub fetcher: FetcherConfig,
    pub sources: Vec<SourceKind>,
    pub eur_rates: EurRates,
    pub elpris_base_url: String,
    pub entsoe_base_url: String,
    pub entsoe_token: Option<Token>,
}

fn time(var: &'static str, s: &str) -> Result<NaiveTime, SpotConfigError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| {
        err(
            var,
            format!("{s:?} is not a time HH:MM (zone-local), e.g. 13:00"),
        )
    })
}

fn base_url(var: &'static str, s: &str) -> Result<String, SpotConfigError> {
    let s = s.trim();
    let parsed = url::Url::parse(s).map_err(|e| err(var, format!("{s:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
        return Err(err(
            var,
            format!("{s:?} must be an http(s) URL without a query"),
        ));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

impl SpotSettings {
    /// Reads the variables through `get` (`std::env::var` in the binaries, a
    /// map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SpotConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut fetcher = FetcherConfig::default();
        if let Some(z) = get("CSMS_SPOT_ZONES") {
            let mut zones = Vec::new();
            for code in z.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let zone =
                    BiddingZone::parse(code).map_err(|e| err("CSMS_SPOT_ZONES", e.to_string()))?;
                if !zones.contains(&zone) {
                    zones.push(zone);
                }
            }
            fetcher.zones = zones;
        }
        let entsoe_token = get("CSMS_ENTSOE_TOKEN").map(|t| Token(t.trim().to_owned()));
        let sources = match get("CSMS_SPOT_SOURCES") {
            None if entsoe_token.is_some() => vec![SourceKind::Elprisetjustnu, SourceKind::Entsoe],
            None => vec![SourceKind::Elprisetjustnu],
            Some(list) => {
                let mut out = Vec::new();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let kind = SourceKind::parse(name).ok_or_else(|| {
                        err(
                            "CSMS_SPOT_SOURCES",
                            format!("{name:?} is not elprisetjustnu or entsoe"),
                        )
                    })?;
                    if !out.contains(&kind) {
                        out.push(kind);
                    }
                }
                if out.is_empty() {
                    return Err(err("CSMS_SPOT_SOURCES", "name at least one source"));
                }
                out
            }
        };
        if sources.contains(&SourceKind::Entsoe) && entsoe_token.is_none() {
            return Err(err(
                "CSMS_ENTSOE_TOKEN",
                "the entsoe source needs a security token (ask ENTSO-E for one, or drop entsoe from CSMS_SPOT_SOURCES)",
            ));
        }
        for &zone in &fetcher.zones {
            if !sources.iter().any(|s| s.covers(zone)) {
                return Err(err(
                    "CSMS_SPOT_ZONES",
                    format!("no configured source covers {zone} (elprisetjustnu has SE1–SE4 only; add entsoe)"),
                ));
            }
        }
        let eur_rates = match get("CSMS_SPOT_EUR_RATE") {
            None => EurRates::default(),
            Some(s) => EurRates::parse(&s).map_err(|m| err("CSMS_SPOT_EUR_RATE", m))?,
        };
        if sources.contains(&SourceKind::Entsoe) {
            let mut missing: Vec<&str> = fetcher
                .zones
                .iter()
                .map(|z| z.currency())
                .filter(|c| eur_rates.rate(c).is_none())
                .collect();
            missing.sort_unstable();
            missing.dedup();
            if !missing.is_empty() {
                return Err(err(
                    "CSMS_SPOT_EUR_RATE",
                    format!(
                        "ENTSO-E quotes EUR; give a rate for {} (e.g. {}:11.05)",
                        missing.join(", "),
                        missing[0]
                    ),
                ));
            }
        }
        if let Some(s) = get("CSMS_SPOT_FALLBACK") {
            fetcher.fallback = FallbackRule::parse(&s).map_err(|m| err("CSMS_SPOT_FALLBACK", m))?;
        }
        if let Some(s) = get("CSMS_SPOT_PUBLISH_TIME") {
            fetcher.publish_time = time("CSMS_SPOT_PUBLISH_TIME", &s)?;
        }
        if let Some(s) = get("CSMS_SPOT_ALARM_TIME") {
            fetcher.alarm_time = time("CSMS_SPOT_ALARM_TIME", &s)?;
        }
        if fetcher.alarm_time < fetcher.publish_time {
            return Err(err(
                "CSMS_SPOT_ALARM_TIME",
                format!(
                    "{} is before the publication time {}",
                    fetcher.alarm_time.format("%H:%M"),
                    fetcher.publish_time.format("%H:%M")
                ),
            ));
        }
        let elpris_base_url = match get("CSMS_ELPRIS_BASE_URL") {
            None => ElprisSource::DEFAULT_BASE_URL.to_owned(),
            Some(s) => base_url("CSMS_ELPRIS_BASE_URL", &s)?,
        };
        let entsoe_base_url = match get("CSMS_ENTSOE_BASE_URL") {
            None => EntsoeSource::DEFAULT_BASE_URL.to_owned(),
            Some(s) => base_url("CSMS_ENTSOE_BASE_URL", &s)?,
        };
        Ok(SpotSettings {
            fetcher,
            sources,
            eur_rates,
            elpris_base_url,
            entsoe_base_url,
            entsoe_token,
        })
    }

    /// The configured sources, in order, over `http`.
    pub fn build_sources(
        &self,
        http: Arc<dyn HttpGet>,
        clock: Arc<dyn Clock>,
    ) -> Vec<Arc<dyn PriceSource>> {
        self.sources
            .iter()
            .map(|kind| -> Arc<dyn PriceSource> {
                match kind {
                    SourceKind::Elprisetjustnu => Arc::new(ElprisSource::new(
                        http.clone(),
                        clock.clone(),
                        &self.elpris_base_url,
                    )),
                    SourceKind::Entsoe => Arc::new(EntsoeSource::new(
                        http.clone(),
                        clock.clone(),
                        &self.entsoe_base_url,
                        self.entsoe_token.as_ref().map(Token::expose).unwrap_or(""),
                        self.eur_rates.clone(),
                    )),
                }
            })
            .collect()
    }

    /// The fetcher over `store` with the configured sources, reading
    /// through `http` (HTTPS in the binaries, a fake in tests).
    pub fn fetcher<S: SpotPriceStore + AlarmStore + ?Sized>(
        &self,
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        http: Arc<dyn HttpGet>,
    ) -> SpotFetcher<S> {
        let sources = self.build_sources(http, clock.clone());
        SpotFetcher::new(store, clock, sources, self.fetcher.clone())
    }

    /// One line for the start-up log (no token).
    pub fn describe(&self) -> String {
        format!(
            "zones {}, sources {}, tomorrow expected from {} and alarmed from {} zone-local, fallback {}",
            self.fetcher
                .zones
                .iter()
                .map(|z| z.code())
                .collect::<Vec<_>>()
                .join(","),
            self.sources.iter().map(|s| s.name()).collect::<Vec<_>>().join(","),
            self.fetcher.publish_time.format("%H:%M"),
            self.fetcher.alarm_time.format("%H:%M"),
            self.fetcher.fallback
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<SpotSettings, SpotConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SpotSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_swedish_zones_from_elprisetjustnu() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.fetcher, FetcherConfig::default());
        assert_eq!(
            s.fetcher.zones.iter().map(|z| z.code()).collect::<Vec<_>>(),
            ["SE1", "SE2", "SE3", "SE4"]
        );
        assert_eq!(s.sources, [SourceKind::Elprisetjustnu]);
        assert_eq!(s.fetcher.fallback, FallbackRule::PreviousDay);
        assert_eq!(
            s.fetcher.publish_time,
            NaiveTime::from_hms_opt(13, 0, 0).unwrap()
        );
        assert_eq!(
            s.fetcher.alarm_time,
            NaiveTime::from_hms_opt(15, 0, 0).unwrap()
        );
        assert_eq!(s.elpris_base_url, ElprisSource::DEFAULT_BASE_URL);
        // Empty means unset.
        assert_eq!(
            settings(&[("CSMS_SPOT_ZONES", ""), ("CSMS_ENTSOE_TOKEN", " ")]).unwrap(),
            s
        );
    }

    #[test]
    fn a_token_adds_entsoe_which_needs_rates() {
        let e = settings(&[("CSMS_ENTSOE_TOKEN", "t0k3n")]).unwrap_err();
        assert_eq!(e.var, "CSMS_SPOT_EUR_RATE");
        assert!(e.message.contains("SEK"), "{e}");
        let s = settings(&[
            ("CSMS_ENTSOE_TOKEN", "t0k3n"),
            ("CSMS_SPOT_EUR_RATE", "SEK:11.05"),
        ])
        .unwrap();
        assert_eq!(s.sources, [SourceKind::Elprisetjustnu, SourceKind::Entsoe]);
        assert!(!format!("{s:?}").contains("t0k3n"));
        assert_eq!(
            s.build_sources(
                Arc::new(crate::spot::tests::FakeHttp::default()),
                Arc::new(csms_kernel::SystemClock)
            )
            .len(),
            2
        );
        // Listed without a token: said at once.
        assert_eq!(
            settings(&[("CSMS_SPOT_SOURCES", "entsoe")])
                .unwrap_err()
                .var,
            "CSMS_ENTSOE_TOKEN"
        );
        // A Norwegian zone needs ENTSO-E.
        assert_eq!(
            settings(&[("CSMS_SPOT_ZONES", "SE3,NO1")]).unwrap_err().var,
            "CSMS_SPOT_ZONES"
        );
        let s = settings(&[
            ("CSMS_SPOT_ZONES", "se3, no1, FI"),
            ("CSMS_SPOT_SOURCES", "entsoe,elprisetjustnu"),
            ("CSMS_ENTSOE_TOKEN", "x"),
            ("CSMS_SPOT_EUR_RATE", "SEK:11.05,NOK:11.7"),
        ])
        .unwrap();
        assert_eq!(s.sources, [SourceKind::Entsoe, SourceKind::Elprisetjustnu]);
        assert_eq!(s.fetcher.zones.len(), 3);
    }

    #[test]
    fn mistakes_name_their_variable() {
        for (var, value) in [
            ("CSMS_SPOT_ZONES", "SE5"),
            ("CSMS_SPOT_SOURCES", "nordpool"),
            ("CSMS_SPOT_FALLBACK", "average"),
            ("CSMS_SPOT_FALLBACK", "fixed:cheap"),
            ("CSMS_SPOT_PUBLISH_TIME", "1pm"),
            ("CSMS_SPOT_ALARM_TIME", "12:00"),
            ("CSMS_SPOT_EUR_RATE", "SEK"),
            ("CSMS_ELPRIS_BASE_URL", "ftp://x"),
            ("CSMS_ENTSOE_BASE_URL", "not a url"),
        ] {
            assert_eq!(
                settings(&[(var, value)]).unwrap_err().var,
                var,
                "{var}={value}"
            );
        }
    }

    #[test]
    fn times_fallbacks_and_urls() {
        let s = settings(&[
            ("CSMS_SPOT_PUBLISH_TIME", "12:30"),
            ("CSMS_SPOT_ALARM_TIME", "16:45"),
            ("CSMS_SPOT_FALLBACK", "fixed:0.85"),
            (
                "CSMS_ELPRIS_BASE_URL",
                "http://127.0.0.1:8099/api/v1/prices/",
            ),
        ])
        .unwrap();
        assert_eq!(
            s.fetcher.publish_time,
            NaiveTime::from_hms_opt(12, 30, 0).unwrap()
        );
        assert_eq!(
            s.fetcher.alarm_time,
            NaiveTime::from_hms_opt(16, 45, 0).unwrap()
        );
        assert_eq!(
            s.fetcher.fallback,
            FallbackRule::Fixed("0.85".parse().unwrap())
        );
        assert_eq!(s.elpris_base_url, "http://127.0.0.1:8099/api/v1/prices");
        assert!(s.describe().contains("fallback fixed:0.85"));
    }
}
