//! Configuration of the Lambdas, read once per cold start.

use crate::sender::ApiGatewaySender;
use crate::store::DynamoStore;
use crate::timers::SqsTimers;
use crate::ws::WsHandlers;
use csms_core::charger::{ChargerConfig, ChargerService};
use csms_core::commands::service::{CommandService, CommandTimers, NoTimers};
use csms_core::ports::{Clock, ConnectionSender, Store, SystemClock};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {0}: {1}")]
    Invalid(&'static str, String),
}

pub struct AwsContext {
    pub sdk: aws_config::SdkConfig,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl AwsContext {
    /// `CSMS_TABLE` names the DynamoDB table. `AWS_ENDPOINT_URL` (moto,
    /// LocalStack) is honoured by the SDK itself.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let table = std::env::var("CSMS_TABLE").map_err(|_| ConfigError::Missing("CSMS_TABLE"))?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
        Ok(AwsContext {
            sdk,
            store,
            clock: Arc::new(SystemClock),
        })
    }

    pub fn charger_config() -> Result<ChargerConfig, ConfigError> {
        match std::env::var("CSMS_HEARTBEAT_INTERVAL") {
            Err(_) => Ok(ChargerConfig::default()),
            Ok(s) => match s.parse::<u32>() {
                Ok(n) if (10..=540).contains(&n) => Ok(ChargerConfig {
                    heartbeat_interval_secs: n,
                }),
                _ => Err(ConfigError::Invalid(
                    "CSMS_HEARTBEAT_INTERVAL",
                    "10 to 540 seconds".into(),
                )),
            },
        }
    }

    /// The Management API client, when `CSMS_WS_MANAGEMENT_ENDPOINT` is set
    /// (it is in the SAM template).
    pub fn sender(&self) -> Option<Arc<dyn ConnectionSender>> {
        std::env::var("CSMS_WS_MANAGEMENT_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .map(|e| Arc::new(ApiGatewaySender::new(&self.sdk, &e)) as Arc<dyn ConnectionSender>)
    }

    /// Commands to stations, sending through the Management API.
    ///
    /// With `CSMS_COMMAND_TIMER_QUEUE` (an SQS queue URL) each sent command
    /// gets a delayed message that times it out if unanswered; without it an
    /// overdue command is settled by its station's next event or by reading it.
    pub fn command_service(&self) -> Result<CommandService<dyn Store>, ConfigError> {
        let sender = self
            .sender()
            .ok_or(ConfigError::Missing("CSMS_WS_MANAGEMENT_ENDPOINT"))?;
        let timers: Arc<dyn CommandTimers> = match std::env::var("CSMS_COMMAND_TIMER_QUEUE") {
            Ok(url) if !url.is_empty() => Arc::new(SqsTimers::new(&self.sdk, url)),
            _ => Arc::new(NoTimers),
        };
        Ok(CommandService::new(
            self.store.clone(),
            self.clock.clone(),
            sender,
            timers,
        ))
    }

    /// The WebSocket handlers. With a Management API endpoint, replies to
    /// commands are resolved here too.
    pub fn ws_handlers(&self) -> Result<WsHandlers, ConfigError> {
        let mut charger = ChargerService::new(
            self.store.clone(),
            self.clock.clone(),
            Self::charger_config()?,
        );
        if let Ok(commands) = self.command_service() {
            charger = charger.with_replies(Arc::new(commands));
        }
        Ok(WsHandlers::new(charger, self.clock.clone(), self.sender()))
    }
}

/// One tracing set-up for every Lambda: JSON lines CloudWatch can query,
/// filter from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(true)
        .without_time() // CloudWatch stamps every line
        .with_ansi(false)
        .init();
}
