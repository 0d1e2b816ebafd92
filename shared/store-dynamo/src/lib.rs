//! The DynamoDB store: every port of [`csms_kernel::ports`] on one table (the
//! design is in `infra/README.md`), for the Lambdas. It passes the same
//! contract suite (`csms_kernel::contract`) as the redb store of the local
//! runner; `csms-aws` runs it against moto (`tests/dynamo_contract.rs`) and
//! prints the requests per OCPP message (`examples/ddb-requests.rs`).
//!
//! # Layout
//! - [`store`]: [`DynamoStore`]: one file per context (`charging`,
//!   `commands`, `notify`, `pricing`, `load`, `device`, each with its items
//!   and keys in its header) over the table helper `table`, the only code
//!   that builds DynamoDB requests.
//! - [`cursor`]: opaque pagination cursors over DynamoDB `LastEvaluatedKey`.
//! - [`metrics`]: [`RequestCounter`], an SDK interceptor counting requests
//!   per operation (used by the requests-per-message figure and tests).

pub mod cursor;
pub mod metrics;
pub mod store;

pub use metrics::RequestCounter;
pub use store::DynamoStore;
