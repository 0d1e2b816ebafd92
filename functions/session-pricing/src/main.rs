//! Lambda on the session pricing SQS queue. Wiring only; the logic is
//! `csms_aws::pricing::handle_pricing_message`, the batch handling
//! `csms_aws::sqs::serve_queue`.

use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::sqs::serve_queue(
        |ctx| Ok::<_, Error>((ctx.wiring.pricing()?, ctx.wiring.settings.pricing.timeout)),
        |wired, body| async move {
            let (service, timeout) = &*wired;
            csms_aws::pricing::handle_pricing_message_within(service, &body, *timeout).await
        },
    )
    .await
}
