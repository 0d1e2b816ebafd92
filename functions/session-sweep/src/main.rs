//! Lambda run by EventBridge Scheduler. Wiring only; the logic is
//! `csms_aws::sessions::handle_sweep` over `ChargerService::close_idle_sessions`.

use csms_aws::sessions::handle_sweep;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let wired = csms_aws::config::start(|ctx| {
        let charger = Arc::new(ctx.wiring.charger()?);
        let idle = chrono::TimeDelta::from_std(ctx.wiring.settings.sessions.idle)?;
        Ok::<_, Error>((charger, ctx.wiring.clock.clone(), idle))
    });
    let Some((charger, clock, idle)) = wired.await? else {
        return Ok(());
    };
    run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let (charger, clock) = (charger.clone(), clock.clone());
        async move { Ok::<_, Error>(handle_sweep(&charger, idle, clock.now()).await?) }
    }))
    .await
}
