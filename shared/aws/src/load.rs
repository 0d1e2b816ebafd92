//! Load balancing in AWS: what the in-process debounced worker of the local
//! runner does, split over an SQS FIFO queue and the `load-balancer`
//! function.
//!
//! - [`SqsLoadTrigger`]: the functions that see charger events (`ws-*`) and
//!   configuration changes (`http-api`) put each [`LoadSignal`] on the FIFO
//!   queue, one message group per site, so one site's signals are handled
//!   in order and never by two invocations at once, while sites run in
//!   parallel. A connection signal does not know its site yet: its group is
//!   the station's, and the consumer reads the site from the station.
//! - The queue's delivery delay (1 s in the template) is the debounce: a
//!   burst (a session start is a status, a transaction and a meter value)
//!   usually reaches the function as one batch, and
//!   [`LoadService::absorb`] recomputes each site once per batch and skips
//!   a site already recomputed after the newest signal.
//! - [`handle_load_event`]: the function's one entry point, for both of its
//!   triggers — an SQS batch, and the EventBridge Scheduler's
//!   `{"sweep": true}` every minute, which recomputes every configured site
//!   (stale meters, rotation turns, retries of refused limits, and signals
//!   that were lost).

use crate::sqs::{JsonQueue, SendOptions};
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use csms_kernel::ports::Store;
use csms_load::{LoadError, LoadService, LoadSignal, LoadTrigger};
use serde::Serialize;
use serde_json::Value;

/// The message group of a signal: its site, else its station (connection
/// signals), else one group for whatever is left.
pub fn group_id(signal: &LoadSignal) -> String {
    match (&signal.site_id, &signal.station_id) {
        (Some(site), _) => site.to_string(),
        (None, Some(station)) => station.to_string(),
        (None, None) => "unassigned".to_owned(),
    }
}

/// Signals to the load-balancing FIFO queue (`CSMS_LOAD_QUEUE`).
pub struct SqsLoadTrigger {
    queue: JsonQueue,
}

impl SqsLoadTrigger {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        SqsLoadTrigger {
            queue: JsonQueue::new(sdk, queue_url),
        }
    }
}

#[async_trait]
impl LoadTrigger for SqsLoadTrigger {
    async fn signal(&self, signal: LoadSignal) -> Result<(), String> {
        let options = SendOptions {
            group_id: Some(group_id(&signal)),
            // Every signal counts: the queue must not take two alike for a
            // retried send (absorbing one twice is harmless anyway).
            deduplication_id: Some(ulid::Ulid::new().to_string()),
            ..SendOptions::default()
        };
        self.queue.send(&signal, options).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadEventError {
    #[error("neither an SQS batch nor {{\"sweep\": true}}: {0}")]
    Unrecognised(String),
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// What the function answers: the partial batch response for SQS, the
/// number of sites recomputed for a sweep.
#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum LoadResponse {
    Batch(SqsBatchResponse),
    Swept { swept: usize },
}

/// One invocation of the `load-balancer` function, from its raw event.
///
/// - An SQS batch (`{"Records": [...]}`): every record's body is a
///   [`LoadSignal`]; all of them go to one [`LoadService::absorb`], which
///   groups them by site. A body that is not a signal is logged and dropped
///   (it can never succeed). If `absorb` fails, every signal of the batch is
///   reported as a batch item failure, so SQS hands them back after the
///   visibility timeout (in order, the queue being FIFO) and dead-letters
///   them after 5 receives; recomputing a site twice is harmless.
/// - `{"sweep": true}` (EventBridge Scheduler): [`LoadService::sweep`]. Its
///   own failures per site are logged there; an error here means the sites
///   could not be listed, and the next minute's run is the retry.
pub async fn handle_load_event(
    service: &LoadService<dyn Store>,
    event: Value,
) -> Result<LoadResponse, LoadEventError> {
    if event.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event)
            .map_err(|e| LoadEventError::Unrecognised(format!("SQS event: {e}")))?;
        return Ok(LoadResponse::Batch(handle_batch(service, batch).await));
    }
    if event.get("sweep").and_then(Value::as_bool) == Some(true) {
        let swept = service.sweep().await?;
        tracing::info!(sites = swept, "load sweep done");
        return Ok(LoadResponse::Swept { swept });
    }
    let mut shown = event.to_string();
    if shown.len() > 200 {
        let mut end = 200;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
    }
    Err(LoadEventError::Unrecognised(shown))
}

async fn handle_batch(service: &LoadService<dyn Store>, batch: SqsEvent) -> SqsBatchResponse {
    let mut signals = Vec::with_capacity(batch.records.len());
    let mut message_ids = Vec::with_capacity(batch.records.len());
    for record in batch.records {
        let message_id = record.message_id.unwrap_or_default();
        match serde_json::from_str::<LoadSignal>(record.body.as_deref().unwrap_or_default()) {
            Ok(signal) => {
                signals.push(signal);
                message_ids.push(message_id);
            }
            Err(e) => tracing::error!(
                message_id = %message_id,
                group = ?record.attributes.get("MessageGroupId"),
                error = %e,
                "not a load signal; dropped"
            ),
        }
    }
    let mut response = SqsBatchResponse::default();
    if signals.is_empty() {
        return response;
    }
    let count = signals.len();
    match service.absorb(signals).await {
        Ok(()) => tracing::info!(signals = count, "load signals absorbed"),
        Err(e) => {
            tracing::error!(signals = count, error = %e, "absorbing load signals failed; the batch is retried");
            for id in message_ids {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}
