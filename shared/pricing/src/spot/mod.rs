//! Day-ahead spot prices: fetching them per bidding zone from public sources,
//! storing them per zone and local day, and what happens when they are late.
//!
//! A scheduled job (EventBridge Scheduler → the `spot-prices` Lambda; an
//! in-process interval in the local runner) calls [`SpotFetcher::run`]. It
//! makes sure today's and tomorrow's prices of every configured zone are
//! stored, asking the [`PriceSource`]s in the configured order. Sources speak
//! HTTP through the [`HttpGet`] port, so the parsers are tested with sample
//! documents and no network, and a local test server can stand in for the
//! real hosts (their base URLs are configuration).
//!
//! # Layout
//! - this module: the [`PriceSource`] and [`HttpGet`] ports, [`SourceError`],
//!   and the two sources over HTTP, [`ElprisSource`] and [`EntsoeSource`].
//! - [`elpris`]: the elprisetjustnu.se JSON day document.
//! - [`entsoe`]: the ENTSO-E Transparency Platform A44 XML document.
//! - [`fetcher`]: [`SpotFetcher`], the use case (idempotent re-runs, the
//!   publication and alarm times, the fallback rule).
//! - [`config`]: the `CSMS_SPOT_*` settings, parsed once, shared by the
//!   Lambda and the local runner.

pub mod config;
pub mod elpris;
pub mod entsoe;
pub mod fetcher;

pub use fetcher::{FallbackRule, FetcherConfig, SpotFetcher, SpotReport};

use async_trait::async_trait;
use chrono::NaiveDate;
use csms_domain::spot::{BiddingZone, SpotDay, SpotDayError};
use csms_kernel::ports::Clock;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Outbound HTTP GET: `(status, body)` or why there was no answer. The body
/// is text (both sources answer JSON or XML in UTF-8).
#[async_trait]
pub trait HttpGet: Send + Sync {
    async fn get(&self, url: &str) -> Result<(u16, String), String>;
}

/// A place day-ahead prices come from.
#[async_trait]
pub trait PriceSource: Send + Sync {
    /// Short name for logs and reports (`elprisetjustnu`, `entsoe`).
    fn name(&self) -> &'static str;
    /// The zone's prices for its local `date`; `None` while they are not
    /// published yet. A returned day has passed [`SpotDay::validate`].
    async fn fetch(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
    ) -> Result<Option<SpotDay>, SourceError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The source has no prices for this zone at all (elprisetjustnu.se
    /// covers Sweden only): not a failure, the next source is asked.
    #[error("{by} does not cover {zone}")]
    Unsupported { by: &'static str, zone: String },
    #[error("no answer: {0}")]
    Transport(String),
    #[error("HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    /// The answer is not the documented format.
    #[error("unexpected response: {0}")]
    Format(String),
    /// The source refused the request (ENTSO-E acknowledgement).
    #[error("rejected (reason {code}): {text}")]
    Rejected { code: String, text: String },
    /// Some of the day's slots are missing from an otherwise good answer.
    #[error("incomplete day: {0}")]
    Incomplete(String),
    #[error("no exchange rate for EUR→{0}: set CSMS_SPOT_EUR_RATE, e.g. {0}:11.05")]
    MissingRate(String),
    #[error(transparent)]
    Invalid(#[from] SpotDayError),
}

/// EUR → other currency rates for sources quoting EUR (ENTSO-E).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EurRates(BTreeMap<String, Decimal>);

impl EurRates {
    /// `SEK:11.05,NOK:11.7,DKK:7.46` (units of the currency per EUR).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut rates = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (cur, rate) = part
                .split_once(':')
                .ok_or_else(|| format!("{part:?} is not CURRENCY:RATE, e.g. SEK:11.05"))?;
            let cur = cur.trim().to_ascii_uppercase();
            if cur.len() != 3 || !cur.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!("{cur:?} is not a three-letter currency code"));
            }
            let rate: Decimal = rate
                .trim()
                .parse()
                .map_err(|_| format!("{cur}: {:?} is not a decimal number", rate.trim()))?;
            if rate <= Decimal::ZERO {
                return Err(format!("{cur}: the rate must be positive"));
            }
            rates.insert(cur, rate);
        }
        Ok(EurRates(rates))
    }

    /// How many units of `currency` one EUR buys; EUR itself needs no rate.
    pub fn rate(&self, currency: &str) -> Option<Decimal> {
        if currency.eq_ignore_ascii_case("EUR") {
            return Some(Decimal::ONE);
        }
        self.0.get(&currency.to_ascii_uppercase()).copied()
    }
}

/// The start of a body, for error messages (an HTML error page can be long).
fn snippet(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// elprisetjustnu.se: free, no key, Swedish zones, SEK and EUR per kWh.
pub struct ElprisSource {
    http: Arc<dyn HttpGet>,
    clock: Arc<dyn Clock>,
    base_url: String,
}

impl ElprisSource {
    pub const DEFAULT_BASE_URL: &'static str = "https://www.elprisetjustnu.se/api/v1/prices";

    /// `base_url` is everything before `/{YYYY}/{MM}-{DD}_{ZONE}.json`.
    pub fn new(http: Arc<dyn HttpGet>, clock: Arc<dyn Clock>, base_url: &str) -> Self {
        ElprisSource {
            http,
            clock,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn url(&self, zone: BiddingZone, date: NaiveDate) -> String {
        format!(
            "{}/{}_{}.json",
            self.base_url,
            date.format("%Y/%m-%d"),
            zone.code()
        )
    }
}

#[async_trait]
impl PriceSource for ElprisSource {
    fn name(&self) -> &'static str {
        "elprisetjustnu"
    }

    async fn fetch(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
    ) -> Result<Option<SpotDay>, SourceError> {
        if !zone.code().starts_with("SE") {
            return Err(SourceError::Unsupported {
                by: self.name(),
                zone: zone.code().into(),
            });
        }
        let (status, body) = self
            .http
            .get(&self.url(zone, date))
            .await
            .map_err(SourceError::Transport)?;
        match status {
            // The file of a day appears once the day's prices are published.
            404 => Ok(None),
            200..=299 => elpris::parse_day(&body, zone, date, self.clock.now()),
            _ => Err(SourceError::Status {
                status,
                detail: snippet(&body),
            }),
        }
    }
}

/// The ENTSO-E Transparency Platform: every European zone, EUR per MWh,
/// needs a (free) security token.
pub struct EntsoeSource {
    http: Arc<dyn HttpGet>,
    clock: Arc<dyn Clock>,
    base_url: String,
    token: String,
    rates: EurRates,
}

impl EntsoeSource {
    pub const DEFAULT_BASE_URL: &'static str = "https://web-api.tp.entsoe.eu/api";

    pub fn new(
        http: Arc<dyn HttpGet>,
        clock: Arc<dyn Clock>,
        base_url: &str,
        token: &str,
        rates: EurRates,
    ) -> Self {
        EntsoeSource {
            http,
            clock,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            rates,
        }
    }

    /// The A44 query for the zone's local day, as a UTC window. It holds the
    /// token: never log it.
    pub fn url(&self, zone: BiddingZone, date: NaiveDate) -> String {
        let start = zone.day_start(date);
        let end = zone.day_start(date.succ_opt().expect("date in range"));
        format!(
            "{}?securityToken={}&documentType=A44&in_Domain={eic}&out_Domain={eic}&periodStart={}&periodEnd={}",
            self.base_url,
            url::form_urlencoded::byte_serialize(self.token.as_bytes()).collect::<String>(),
            start.format("%Y%m%d%H%M"),
            end.format("%Y%m%d%H%M"),
            eic = zone.eic(),
        )
    }
}

/// The token must not reach logs through a `{:?}`.
impl std::fmt::Debug for EntsoeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntsoeSource")
            .field("base_url", &self.base_url)
            .field("token", &"***")
            .field("rates", &self.rates)
            .finish()
    }
}

#[async_trait]
impl PriceSource for EntsoeSource {
    fn name(&self) -> &'static str {
        "entsoe"
    }

    async fn fetch(
        &self,
        zone: BiddingZone,
        date: NaiveDate,
    ) -> Result<Option<SpotDay>, SourceError> {
        // Checked first: a missing rate is configuration, not the source's fault.
        let rate = self
            .rates
            .rate(zone.currency())
            .ok_or_else(|| SourceError::MissingRate(zone.currency().into()))?;
        let (status, body) = self
            .http
            .get(&self.url(zone, date))
            .await
            // The transport's message never holds the URL, so not the token.
            .map_err(SourceError::Transport)?;
        let doc = entsoe::parse_document(&body);
        match (status, doc) {
            // "No matching data" comes as an acknowledgement, with 200 or 400
            // depending on the endpoint's mood: either way, not published yet.
            (_, Ok(entsoe::Document::Acknowledgement { code, .. })) if code == "999" => Ok(None),
            (200..=299, Ok(entsoe::Document::Acknowledgement { code, text })) => {
                Err(SourceError::Rejected { code, text })
            }
            (200..=299, Ok(entsoe::Document::Prices(series))) => {
                entsoe::day_from(&series, zone, date, rate, self.clock.now())
            }
            (200..=299, Err(e)) => Err(e),
            (401 | 403, _) => Err(SourceError::Status {
                status,
                detail: "the security token was refused (CSMS_ENTSOE_TOKEN)".into(),
            }),
            (_, Ok(entsoe::Document::Acknowledgement { code, text })) => Err(SourceError::Status {
                status,
                detail: format!("reason {code}: {text}"),
            }),
            (_, _) => Err(SourceError::Status {
                status,
                detail: snippet(&body),
            }),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Answers by URL prefix match; records what was asked.
    #[derive(Default)]
    pub(crate) struct FakeHttp {
        pub answers: Mutex<HashMap<String, (u16, String)>>,
        pub asked: Mutex<Vec<String>>,
    }

    impl FakeHttp {
        pub fn answer(&self, url: &str, status: u16, body: &str) {
            self.answers
                .lock()
                .unwrap()
                .insert(url.to_owned(), (status, body.to_owned()));
        }
    }

    #[async_trait]
    impl HttpGet for FakeHttp {
        async fn get(&self, url: &str) -> Result<(u16, String), String> {
            self.asked.lock().unwrap().push(url.to_owned());
            self.answers
                .lock()
                .unwrap()
                .get(url)
                .cloned()
                .ok_or_else(|| "connection refused".to_owned())
        }
    }

    pub(crate) struct FixedClock(pub csms_domain::Timestamp);
    impl Clock for FixedClock {
        fn now(&self) -> csms_domain::Timestamp {
            self.0
        }
    }

    pub(crate) fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/spot/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn zone(z: &str) -> BiddingZone {
        BiddingZone::parse(z).unwrap()
    }

    fn date(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn clock() -> Arc<dyn Clock> {
        Arc::new(FixedClock("2025-10-01T12:00:00Z".parse().unwrap()))
    }

    #[test]
    fn rates_parse_and_eur_needs_none() {
        let r = EurRates::parse(" SEK:11.05, nok:11.7 ,DKK:7.46").unwrap();
        assert_eq!(r.rate("SEK"), Some("11.05".parse().unwrap()));
        assert_eq!(r.rate("NOK"), Some("11.7".parse().unwrap()));
        assert_eq!(r.rate("EUR"), Some(Decimal::ONE));
        assert_eq!(r.rate("PLN"), None);
        assert!(EurRates::parse("SEK=11").is_err());
        assert!(EurRates::parse("SEK:-1").is_err());
        assert!(EurRates::parse("SEKX:1").is_err());
        assert_eq!(EurRates::parse("").unwrap(), EurRates::default());
    }

    #[tokio::test]
    async fn elpris_source_builds_the_documented_url_and_maps_404_to_not_yet() {
        let http = Arc::new(FakeHttp::default());
        let src = ElprisSource::new(http.clone(), clock(), "http://127.0.0.1:9/api/v1/prices/");
        let url = src.url(zone("SE3"), date("2025-10-01"));
        assert_eq!(url, "http://127.0.0.1:9/api/v1/prices/2025/10-01_SE3.json");
        http.answer(&url, 200, &fixture("elpris-2025-10-01-SE3.json"));
        let day = src
            .fetch(zone("SE3"), date("2025-10-01"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(day.slots.len(), 96);

        assert_eq!(
            src.fetch(zone("SE3"), date("2025-10-02")).await,
            Err(SourceError::Transport("connection refused".into()))
        );
        http.answer(&src.url(zone("SE3"), date("2025-10-02")), 404, "Not Found");
        assert_eq!(src.fetch(zone("SE3"), date("2025-10-02")).await, Ok(None));
        http.answer(
            &src.url(zone("SE3"), date("2025-10-02")),
            503,
            "<html>\n  busy\n</html>",
        );
        assert_eq!(
            src.fetch(zone("SE3"), date("2025-10-02")).await,
            Err(SourceError::Status {
                status: 503,
                detail: "<html> busy </html>".into()
            })
        );
        assert!(matches!(
            src.fetch(zone("NO1"), date("2025-10-02")).await,
            Err(SourceError::Unsupported { .. })
        ));
    }

    #[tokio::test]
    async fn entsoe_source_asks_for_the_local_day_in_utc_and_reads_acknowledgements() {
        let http = Arc::new(FakeHttp::default());
        let rates = EurRates::parse("SEK:11.05").unwrap();
        let src = EntsoeSource::new(
            http.clone(),
            clock(),
            EntsoeSource::DEFAULT_BASE_URL,
            "to+ken",
            rates,
        );
        let url = src.url(zone("SE3"), date("2025-10-01"));
        assert_eq!(
            url,
            "https://web-api.tp.entsoe.eu/api?securityToken=to%2Bken&documentType=A44&in_Domain=10Y1001A1001A46L&out_Domain=10Y1001A1001A46L&periodStart=202509302200&periodEnd=202510012200"
        );
        assert!(!format!("{src:?}").contains("to+ken"));
        http.answer(&url, 200, &fixture("entsoe-2025-10-01-SE3.xml"));
        let day = src
            .fetch(zone("SE3"), date("2025-10-01"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(day.slots.len(), 96);

        let url = src.url(zone("SE3"), date("2025-10-02"));
        http.answer(&url, 200, &fixture("entsoe-no-data.xml"));
        assert_eq!(src.fetch(zone("SE3"), date("2025-10-02")).await, Ok(None));
        http.answer(&url, 400, &fixture("entsoe-no-data.xml"));
        assert_eq!(src.fetch(zone("SE3"), date("2025-10-02")).await, Ok(None));
        http.answer(&url, 401, "<html>Unauthorized</html>");
        assert!(matches!(
            src.fetch(zone("SE3"), date("2025-10-02")).await,
            Err(SourceError::Status { status: 401, .. })
        ));
        // NOK has no rate: a clear error, and nothing is asked.
        let asked = http.asked.lock().unwrap().len();
        assert_eq!(
            src.fetch(zone("NO1"), date("2025-10-02")).await,
            Err(SourceError::MissingRate("NOK".into()))
        );
        assert_eq!(http.asked.lock().unwrap().len(), asked);
    }
}
