//! Lambda on the session pricing SQS queue. Wiring only; the logic is
//! `csms_aws::pricing::handle_pricing_message`, the batch handling
//! `csms_aws::sqs::serve_queue`.

use lambda_runtime::Error;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let service = Arc::new(ctx.wiring.pricing()?);
    let timeout = ctx.wiring.settings.pricing.timeout;
    if csms_aws::config::wiring_check() {
        return Ok(());
    }
    csms_aws::sqs::serve_queue(service, move |service, body| async move {
        csms_aws::pricing::handle_pricing_message_within(&service, &body, timeout).await
    })
    .await
}
