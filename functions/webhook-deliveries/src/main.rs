//! Lambda on the webhook delivery SQS queue. Wiring only; the logic is
//! `csms_aws::webhooks::handle_delivery_message`, the batch handling
//! `csms_aws::sqs::each_record`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    csms_aws::config::init_tracing();
    let ctx = csms_aws::config::AwsContext::from_env().await?;
    let deliverer = Arc::new(ctx.wiring.deliverer()?);
    if csms_aws::config::wiring_check() {
        return Ok(());
    }
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deliverer = deliverer.clone();
        async move {
            Ok::<_, Error>(
                csms_aws::sqs::each_record(event.payload, |body| {
                    let deliverer = deliverer.clone();
                    async move {
                        csms_aws::webhooks::handle_delivery_message(&deliverer, &body).await
                    }
                })
                .await,
            )
        }
    }))
    .await
}
