//! Lambda on the session pricing SQS queue. Wiring only; the logic is
//! `csms_aws::pricing::handle_pricing_message`, the batch handling
//! `csms_aws::sqs::each_record`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
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
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let service = service.clone();
        async move {
            Ok::<_, Error>(
                csms_aws::sqs::each_record(event.payload, |body| {
                    let service = service.clone();
                    async move {
                        csms_aws::pricing::handle_pricing_message_within(&service, &body, timeout)
                            .await
                    }
                })
                .await,
            )
        }
    }))
    .await
}
