//! Lambda run by EventBridge Scheduler. Wiring only; the logic is
//! `csms_aws::spot::handle_schedule` over `csms_pricing::spot::SpotFetcher`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wired = csms_aws::config::start(|ctx| Ok::<_, Error>(csms_aws::spot::fetcher(ctx)?));
    let Some(fetcher) = wired.await? else {
        return Ok(());
    };
    let fetcher = Arc::new(fetcher);
    run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let fetcher = fetcher.clone();
        async move { Ok::<_, Error>(csms_aws::spot::handle_schedule(&fetcher).await) }
    }))
    .await
}
