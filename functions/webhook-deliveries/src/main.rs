//! Lambda on the webhook delivery SQS queue. Wiring only; the logic is
//! `csms_aws::webhooks::handle_delivery_message`, the batch handling
//! `csms_aws::sqs::serve_queue`.

use lambda_runtime::Error;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let deliverer = Arc::new(ctx.wiring.deliverer()?);
    if csms_aws::config::wiring_check() {
        return Ok(());
    }
    csms_aws::sqs::serve_queue(deliverer, |deliverer, body| async move {
        csms_aws::webhooks::handle_delivery_message(&deliverer, &body).await
    })
    .await
}
