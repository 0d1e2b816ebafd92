//! AWS adapters for the CSMS core: SQS queues, the API Gateway Management
//! API sender, the Lambda handler logic, and the composition of the Lambdas
//! over the DynamoDB store of `csms-store-dynamo` (re-exported here).
//!
//! Nothing in here decides anything about OCPP or the domain; it translates
//! between AWS shapes and the ports (`csms-kernel`) and the use cases of the context crates.
//!
//! # Layout
//! - [`DynamoStore`], [`RequestCounter`]: from `csms-store-dynamo`, the
//!   single-table implementation of every store port.
//! - [`sender`]: [`ApiGatewaySender`], `PostToConnection`/`DeleteConnection`.
//! - [`ws`]: `$connect`, `$disconnect`, `$default` handlers over API Gateway
//!   WebSocket proxy events.
//! - [`dispatch`]: submitted commands handed to the dispatcher through SQS, and its handler.
//! - [`timers`]: command timeouts as delayed SQS messages, and their handler.
//! - [`webhooks`]: webhook deliveries as (delayed) SQS messages, and their handler.
//! - [`pricing`]: completed sessions queued for pricing through SQS, and the handler.
//! - [`spot`]: the scheduled spot-price fetch (EventBridge Scheduler).
//! - [`billing`]: the hourly billing day fanned out through SQS, one message per organisation, and the
//!   `invoice-run` handler.
//! - [`sessions`]: the scheduled sweep that closes sessions a charger never ended.
//! - [`load`]: load-balancing signals through an SQS FIFO queue (one group per
//!   site), and the `load-balancer` handler (SQS batches, periodic sweeps).
//! - [`mail`]: e-mail through SES v2 (raw messages).
//! - [`documents`]: documents (invoice PDFs) in S3.
//! - [`sqs`]: the per-record loop with partial batch failures of SQS functions,
//!   and the shared JSON `SendMessage` of newer senders.
//! - [`emf`]: operational metrics as CloudWatch embedded metric format log lines (messages per action and
//!   outcome, connections, disconnections).
//! - [`config`]: environment wiring shared by the Lambda binaries.

pub mod billing;
pub mod config;
pub mod dispatch;
pub mod documents;
pub mod emf;
pub mod load;
pub mod mail;
pub mod pricing;
pub mod sender;
pub mod sessions;
pub mod spot;
pub mod sqs;
pub mod timers;
pub mod webhooks;
pub mod ws;

pub use csms_store_dynamo::{DynamoStore, RequestCounter};
pub use sender::ApiGatewaySender;
