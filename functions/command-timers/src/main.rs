//! Lambda on the command-timer SQS queue. Wiring only; the logic is
//! `csms_aws::timers::handle_timer_message`, the batch handling
//! `csms_aws::sqs::serve_queue`.

use lambda_runtime::Error;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let commands = Arc::new(ctx.wiring.commands()?);
    if csms_aws::config::wiring_check() {
        return Ok(());
    }
    csms_aws::sqs::serve_queue(commands, |commands, body| async move {
        csms_aws::timers::handle_timer_message(&commands, &body).await
    })
    .await
}
