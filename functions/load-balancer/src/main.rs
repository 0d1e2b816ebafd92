//! Lambda of load balancing, on the signal FIFO queue (SQS batches) and on
//! an EventBridge Scheduler event every minute (`{"sweep": true}`). Wiring
//! only; the logic is `csms_aws::load::handle_load_event`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Limits go out as commands through the Management API; decreases are
    // awaited before increases, so this function outlives a command's answer.
    let Some(service) = csms_aws::config::start(|ctx| ctx.wiring.load()).await? else {
        return Ok(());
    };
    let service = Arc::new(service);
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let service = service.clone();
        async move {
            csms_aws::load::handle_load_event(&service, event.payload)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
