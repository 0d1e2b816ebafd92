//! The shape every SQS-triggered function shares: handle each record,
//! report the failed ones (partial batch response), so SQS retries only
//! those and moves them to the dead-letter queue after the configured
//! receives.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::future::Future;

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
