//! The `spot-prices` function: EventBridge Scheduler invokes it (every 15
//! minutes, see `template.yaml`); each invocation is one
//! [`SpotFetcher::run`] over the DynamoDB store. The schedule's payload
//! carries nothing: what to fetch follows from the clock and the
//! `CSMS_SPOT_*` settings (`csms_core::spot::config`).
//!
//! An invocation never fails because a source is down or prices are late —
//! that is reported, alarmed and retried by the next run anyway; retrying
//! it at once would only ask the same sources again.

use crate::config::{AwsContext, ConfigError};
use csms_core::ports::{Clock, Store};
use csms_core::spot::config::SpotSettings;
use csms_core::spot::{HttpGet, SpotFetcher};
use std::sync::Arc;
use std::time::Duration;

/// How long one source request may take: a run asks at most two sources
/// for two days of each zone, zones in parallel, within the function's timeout.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The fetcher from the environment, with outbound HTTPS.
pub fn fetcher_from_env(ctx: &AwsContext) -> Result<SpotFetcher<dyn Store>, ConfigError> {
    let settings = SpotSettings::from_lookup(|k| std::env::var(k).ok())
        .map_err(|e| ConfigError::Invalid(e.var, e.message))?;
    tracing::info!("spot prices: {}", settings.describe());
    let http = Arc::new(csms_http_out::HyperTransport::new(HTTP_TIMEOUT));
    Ok(fetcher(
        ctx.store.clone(),
        ctx.clock.clone(),
        http,
        &settings,
    ))
}

/// The fetcher over `store` with the configured sources, reading through
/// `http` (HTTPS in the function, a fake in tests).
pub fn fetcher(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    http: Arc<dyn HttpGet>,
    settings: &SpotSettings,
) -> SpotFetcher<dyn Store> {
    let sources = settings.build_sources(http, clock.clone());
    SpotFetcher::new(store, clock, sources, settings.fetcher.clone())
}

/// One scheduled run: logs each day's outcome and answers the report.
pub async fn handle_schedule(fetcher: &SpotFetcher<dyn Store>) -> serde_json::Value {
    let report = fetcher.run().await;
    report.log();
    report.to_json()
}
