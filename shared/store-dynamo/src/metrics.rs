//! Counting DynamoDB requests, by operation.
//!
//! The project tracks how many DynamoDB requests each OCPP message costs (it
//! drives both latency and the bill). [`RequestCounter`] hooks into the SDK as
//! an interceptor, so it sees every HTTP request the client really sends —
//! retries included — without the store having to count by hand.
//!
//! ```no_run
//! # async fn demo() {
//! use csms_store_dynamo::{DynamoStore, RequestCounter};
//! let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let counter = RequestCounter::new();
//! let store = DynamoStore::with_counter(&sdk, "csms", &counter);
//! // … handle a message with `store` …
//! println!("{} requests: {:?}", counter.total(), counter.snapshot());
//! # }
//! ```

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Requests sent, by operation name (`GetItem`, `Query`, …). Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// All requests counted so far.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    /// Requests counted so far, by operation.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// Start counting from zero again.
    pub fn reset(&self) {
        self.lock().clear();
    }

    /// The interceptor to register on an SDK client configuration
    /// (`aws_sdk_dynamodb::config::Builder::interceptor`); it counts into `self`.
    pub fn interceptor(&self) -> CountingInterceptor {
        CountingInterceptor {
            counter: self.clone(),
        }
    }

    fn record(&self, operation: &str) {
        *self.lock().entry(operation.to_owned()).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// SDK interceptor behind [`RequestCounter`]: counts once per transmitted
/// request, so every retry attempt is counted too.
#[derive(Debug, Clone)]
pub struct CountingInterceptor {
    counter: RequestCounter,
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "CsmsRequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let operation = cfg
            .load::<Metadata>()
            .map(Metadata::name)
            .unwrap_or("Unknown");
        self.counter.record(operation);
        Ok(())
    }
}
