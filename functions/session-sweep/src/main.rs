//! Lambda run by EventBridge Scheduler. Wiring only; the logic is
//! `csms_aws::sessions::handle_sweep` over `ChargerService::close_idle_sessions`.

use csms_aws::sessions::{handle_sweep, SweepSettings};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let settings = SweepSettings::from_lookup(|k| std::env::var(k).ok())?;
    let charger = Arc::new(ctx.charger_service()?);
    let clock = ctx.clock.clone();
    run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let (charger, clock) = (charger.clone(), clock.clone());
        async move { Ok::<_, Error>(handle_sweep(&charger, settings, clock.now()).await?) }
    }))
    .await
}
