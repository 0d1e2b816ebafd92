//! The shape every SQS-triggered function shares: handle each record,
//! report the failed ones (partial batch response), so SQS retries only
//! those and moves them to the dead-letter queue after the configured
//! receives. And the sending side every queue shares: [`JsonQueue`], one
//! JSON `SendMessage` with a delay or FIFO group and deduplication id.
//! [`serve_queue`] runs such a function in the Lambda runtime.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::future::Future;
use std::sync::Arc;

pub async fn each_record<F, Fut, E>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let body = record.body.unwrap_or_default();
        if let Err(e) = handle(body).await {
            tracing::error!(message_id = ?record.message_id, error = %e, "queue message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// The Lambda of an SQS-triggered function: started as every Lambda is
/// ([`crate::config::start`], `wire` building its service), then every
/// record of every batch through `handle` with that service, reported as
/// [`each_record`] does.
pub async fn serve_queue<T, W, WE, F, Fut, E>(
    wire: W,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    W: FnOnce(&crate::config::AwsContext) -> Result<T, WE>,
    WE: Into<lambda_runtime::Error>,
    F: Fn(Arc<T>, String) -> Fut + Clone,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let Some(service) = crate::config::start(wire).await? else {
        return Ok(());
    };
    let service = Arc::new(service);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
            let (service, handle) = (service.clone(), handle.clone());
            async move {
                Ok::<_, lambda_runtime::Error>(
                    each_record(event.payload, |body| handle(service.clone(), body)).await,
                )
            }
        },
    ))
    .await
}

/// How one message goes on its queue, beyond its body.
#[derive(Debug, Default, Clone)]
pub struct SendOptions {
    /// Standard queues: seconds before the message is visible (SQS caps it
    /// at 900). FIFO queues only take the queue's own delay.
    pub delay_seconds: Option<i32>,
    /// FIFO queues: messages of one group are received in order, one batch
    /// of a group at a time.
    pub group_id: Option<String>,
    /// FIFO queues without content-based deduplication: a second message
    /// with the same id within 5 minutes is dropped.
    pub deduplication_id: Option<String>,
}

/// A queue taking JSON messages: the one `SendMessage` every sender uses.
pub struct JsonQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl JsonQueue {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        JsonQueue {
            client: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue_url.into(),
        }
    }

    /// Sends `message` as its JSON text.
    pub async fn send<T: serde::Serialize + ?Sized>(
        &self,
        message: &T,
        options: SendOptions,
    ) -> Result<(), String> {
        let body = serde_json::to_string(message).map_err(|e| e.to_string())?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .set_delay_seconds(options.delay_seconds)
            .set_message_group_id(options.group_id)
            .set_message_deduplication_id(options.deduplication_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
    }
}
