//! Lambda on the webhook delivery SQS queue. Wiring only; the logic is
//! `csms_aws::webhooks::handle_delivery_message`, the batch handling
//! `csms_aws::sqs::serve_queue`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    csms_aws::sqs::serve_queue(
        |ctx| ctx.wiring.deliverer(),
        |deliverer, body| async move {
            csms_aws::webhooks::handle_delivery_message(&deliverer, &body).await
        },
    )
    .await
}
