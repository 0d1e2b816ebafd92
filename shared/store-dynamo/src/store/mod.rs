//! [`DynamoStore`]: the store ports on one DynamoDB table.
//!
//! # Layout
//! Single table, keys `PK`/`SK` (strings); indexes `GSI1` (`GSI1PK`/`GSI1SK`)
//! and `GSI2` (`GSI2PK`/`GSI2SK`), both projecting all attributes; TTL on `ttl`
//! (epoch seconds). `infra/README.md` documents the same table, every item of
//! it in one list. Here, one file per context, each with its items and keys
//! in its header:
//!
//! | file          | items |
//! |---------------|-------|
//! | `charging.rs` | stations, connector statuses, live connections, id tokens, sessions, meter readings, the transaction id counter, idempotency claims, station events |
//! | `commands.rs` | commands and their queue twins |
//! | `notify.rs`   | API keys, webhooks, webhook deliveries |
//! | `pricing.rs`  | tariffs and their versions, tariff assignments, spot days, alarms, priced sessions |
//! | `load.rs`     | load-balancing site configurations and states |
//! | `device.rs`   | device models of 2.0.1 stations and the report parts they are built from |
//! | `tenants.rs` | organisations and sites |
//! | `users.rs`    | people (users, their e-mail addresses and memberships) and their signed-in sessions |
//! | `access.rs`  | stations' access policies, refused access attempts |
//! | `booking.rs` | bookings of EVSEs, their pointers by id and each EVSE's lock item |
//! | `charging_key.rs` | EVSEs' charging keys, by key and by EVSE |
//! | `local_list.rs` | stations' local authorisation list sync state |
//! | `billing.rs` | the ledger of client funds (one item per transaction), invoices and each issuer's invoice series |
//! | `fees.rs` | an organisation's recurring fees and one-off charges |
//! | `usage.rs` | EVSEs' usage days (the facts reports are made of) |
//! | `table.rs`    | no items: the helper every context reads and writes through (keys, encodings, conditional puts and updates, queries with pages and cursors, batches, transactions) |
//!
//! Records are stored one of two ways. Charging's entities are ordinary
//! attributes (camelCase names, strings, numbers, maps) through private item
//! structs, so the stored schema does not change when a domain field is
//! renamed, and a field added to a domain type fails to compile there until
//! it is mapped. Every other record is kept whole as JSON in `body` (exact
//! decimals, no per-field mapping), with `version` next to it when its
//! writes are conditional on it.
//!
//! Reads of single items and partitions are strongly consistent, so a write is
//! visible to the next read as the contract requires (the one exception: a
//! station's event log is read eventually consistent); index listings are
//! eventually consistent, as GSIs are. A listing leaves out a record that does
//! not decode (logged, counted, alarmed once) instead of failing.

mod access;
mod billing;
mod booking;
mod charging;
mod charging_key;
mod commands;
mod device;
mod email_links;
mod fees;
mod load;
mod local_list;
mod notify;
mod pricing;
mod ratings;
mod table;
mod tenants;
mod usage;
mod users;

use crate::metrics::RequestCounter;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use csms_kernel::ports::{StoreError, StoreResult};
use csms_kernel::undecodable::SkippedRecords;
use std::sync::Arc;
use std::time::Duration;
use table::backend;

/// The DynamoDB implementation of every store port.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Undecodable items met by listings: counted, logged, alarmed once per
    /// process (the alarm itself is idempotent across Lambda instances).
    skipped: Arc<SkippedRecords>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            skipped: Arc::default(),
        }
    }

    /// A store on the default AWS configuration (environment, profile, role).
    /// `AWS_ENDPOINT_URL` points it at moto or LocalStack.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(Client::new(&sdk), table)
    }

    /// A store whose every DynamoDB request (retries included) is counted in `counter`.
    pub fn with_counter(
        sdk: &aws_config::SdkConfig,
        table: impl Into<String>,
        counter: &RequestCounter,
    ) -> Self {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(counter.interceptor())
            .build();
        Self::new(Client::from_conf(config), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with its indexes and TTL (on-demand capacity). An
    /// existing table is fine. For tests and local set-ups; deployments create
    /// the table from the infrastructure template.
    pub async fn create_table(&self) -> StoreResult<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let gsi = |name: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(&format!("{name}PK"), KeyType::Hash)?)
                .key_schema(key(&format!("{name}SK"), KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
        };
        let build = |e: aws_sdk_dynamodb::error::BuildError| {
            StoreError::Backend(format!("CreateTable request: {e}"))
        };
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("PK", KeyType::Hash).map_err(build)?)
            .key_schema(key("SK", KeyType::Range).map_err(build)?)
            .global_secondary_indexes(gsi("GSI1").map_err(build)?)
            .global_secondary_indexes(gsi("GSI2").map_err(build)?)
            .global_secondary_indexes(gsi("GSI3").map_err(build)?);
        for name in [
            "PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK",
        ] {
            create = create.attribute_definitions(attr(name).map_err(build)?);
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(backend("CreateTable", e)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(300))
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "waiting for table {}: {}",
                    self.table,
                    DisplayErrorContext(&e)
                ))
            })?;
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name("ttl")
            .build()
            .map_err(build)?;
        match self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.code() == Some("ValidationException")
                    && e.message().is_some_and(|m| m.contains("already enabled")) =>
            {
                Ok(())
            }
            Err(e) => Err(backend("UpdateTimeToLive", e)),
        }
    }

    /// How many items of `kind` (e.g. `Session`) listings left out since
    /// this store was made because they do not decode.
    pub fn skipped_records(&self, kind: &str) -> u64 {
        self.skipped.count(kind)
    }
}
