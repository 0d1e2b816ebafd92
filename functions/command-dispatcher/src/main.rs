//! Lambda on the command queue: sends each station's next queued command.
//! Wiring only; the logic is `csms_aws::dispatch::handle_dispatch_message`,
//! the batch handling `csms_aws::sqs::serve_queue`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    csms_aws::sqs::serve_queue(
        |ctx| ctx.wiring.commands(),
        |commands, body| async move {
            csms_aws::dispatch::handle_dispatch_message(&commands, &body).await
        },
    )
    .await
}
