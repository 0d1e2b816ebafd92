//! Lambda on the command-timer SQS queue. Wiring only; the logic is
//! `csms_aws::timers::handle_timer_message`, the batch handling
//! `csms_aws::sqs::serve_queue`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    csms_aws::sqs::serve_queue(
        |ctx| ctx.wiring.commands(),
        |commands, body| async move { csms_aws::timers::handle_timer_message(&commands, &body).await },
    )
    .await
}
