//! The `spot-prices` function: EventBridge Scheduler invokes it (every 15
//! minutes, see `template.yaml`); each invocation is one
//! [`SpotFetcher::run`] over the DynamoDB store. The schedule's payload
//! carries nothing: what to fetch follows from the clock and the
//! `CSMS_SPOT_*` settings (`csms_pricing::spot::config`).
//!
//! An invocation never fails because a source is down or prices are late —
//! that is reported, alarmed and retried by the next run anyway; retrying
//! it at once would only ask the same sources again.

use crate::config::AwsContext;
use csms_kernel::ports::Store;
use csms_pricing::spot::SpotFetcher;
use std::sync::Arc;
use std::time::Duration;

/// How long one source request may take: a run asks at most two sources
/// for two days of each zone, zones in parallel, within the function's timeout.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The fetcher of the `spot-prices` function: the configured sources over
/// outbound HTTPS.
pub fn fetcher(
    ctx: &AwsContext,
) -> Result<SpotFetcher<dyn Store>, csms_app::settings::SettingsError> {
    tracing::info!("spot prices: {}", ctx.wiring.settings.spot.describe());
    let http = Arc::new(csms_http_out::HyperTransport::new(HTTP_TIMEOUT));
    ctx.wiring.spot_fetcher(http)
}

/// One scheduled run: logs each day's outcome and answers the report.
pub async fn handle_schedule(fetcher: &SpotFetcher<dyn Store>) -> serde_json::Value {
    let report = fetcher.run().await;
    report.log();
    report.to_json()
}
