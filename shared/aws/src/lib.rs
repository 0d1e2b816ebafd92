//! AWS adapters for the CSMS core: DynamoDB store, API Gateway Management API
//! sender, and the Lambda handler logic for the WebSocket routes.
//!
//! Nothing in here decides anything about OCPP or the domain; it translates
//! between AWS shapes and the ports/use cases in `csms-core`.
//!
//! # Layout
//! - [`store`]: [`DynamoStore`], the single-table implementation of every store
//!   port (table design in `infra/README.md`): one file per context
//!   (`charging`, `commands`, `notify`, `pricing`, `load`, `device`, each
//!   with its items and keys in its header) over the table helper `table`.
//! - [`cursor`]: opaque pagination cursors over DynamoDB `LastEvaluatedKey`.
//! - [`metrics`]: [`RequestCounter`], an SDK interceptor counting DynamoDB
//!   requests per operation (used by the requests-per-message figure).
//! - [`sender`]: [`ApiGatewaySender`], `PostToConnection`/`DeleteConnection`.
//! - [`ws`]: `$connect`, `$disconnect`, `$default` handlers over API Gateway
//!   WebSocket proxy events.
//! - [`dispatch`]: submitted commands handed to the dispatcher through SQS, and its handler.
//! - [`timers`]: command timeouts as delayed SQS messages, and their handler.
//! - [`webhooks`]: webhook deliveries as (delayed) SQS messages, and their handler.
//! - [`pricing`]: completed sessions queued for pricing through SQS, and the handler.
//! - [`spot`]: the scheduled spot-price fetch (EventBridge Scheduler).
//! - [`sessions`]: the scheduled sweep that closes sessions a charger never ended.
//! - [`load`]: load-balancing signals through an SQS FIFO queue (one group per
//!   site), and the `load-balancer` handler (SQS batches, periodic sweeps).
//! - [`sqs`]: the per-record loop with partial batch failures of SQS functions,
//!   and the shared JSON `SendMessage` of newer senders.
//! - [`config`]: environment wiring shared by the Lambda binaries.

pub mod config;
pub mod cursor;
pub mod dispatch;
pub mod load;
pub mod metrics;
pub mod pricing;
pub mod sender;
pub mod sessions;
pub mod spot;
pub mod sqs;
pub mod store;
pub mod timers;
pub mod webhooks;
pub mod ws;

pub use metrics::RequestCounter;
pub use sender::ApiGatewaySender;
pub use store::DynamoStore;
