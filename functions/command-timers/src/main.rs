//! Lambda on the command-timer SQS queue. Wiring only; the logic is
//! `csms_aws::timers::handle_timer_message`. Failed records are reported
//! one by one (partial batch response), so SQS retries only those and moves
//! them to the dead-letter queue after the configured attempts.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let commands = Arc::new(ctx.command_service()?);
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let commands = commands.clone();
        async move {
            let mut response = SqsBatchResponse::default();
            for record in event.payload.records {
                let body = record.body.unwrap_or_default();
                if let Err(e) = csms_aws::timers::handle_timer_message(&commands, &body).await {
                    tracing::error!(message_id = ?record.message_id, error = %e, "timer message failed");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = record.message_id.unwrap_or_default();
                    response.batch_item_failures.push(failure);
                }
            }
            Ok::<_, Error>(response)
        }
    }))
    .await
}
