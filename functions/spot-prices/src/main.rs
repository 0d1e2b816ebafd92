//! Lambda run by EventBridge Scheduler. Wiring only; the logic is
//! `csms_aws::spot::handle_schedule` over `csms_pricing::spot::SpotFetcher`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let fetcher = Arc::new(csms_aws::spot::fetcher(&ctx));
    if csms_aws::config::wiring_check() {
        return Ok(());
    }
    run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let fetcher = fetcher.clone();
        async move { Ok::<_, Error>(csms_aws::spot::handle_schedule(&fetcher).await) }
    }))
    .await
}
