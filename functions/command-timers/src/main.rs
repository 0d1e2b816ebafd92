//! Lambda on the command-timer SQS queue. Wiring only; the logic is
//! `csms_aws::timers::handle_timer_message`, the batch handling
//! `csms_aws::sqs::each_record`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let commands = Arc::new(ctx.wiring.commands()?);
    if csms_aws::config::wiring_check() {
        return Ok(());
    }
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let commands = commands.clone();
        async move {
            Ok::<_, Error>(
                csms_aws::sqs::each_record(event.payload, |body| {
                    let commands = commands.clone();
                    async move { csms_aws::timers::handle_timer_message(&commands, &body).await }
                })
                .await,
            )
        }
    }))
    .await
}
