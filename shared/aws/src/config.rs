//! Configuration of the Lambdas, read once per cold start.

use crate::dispatch::SqsDispatch;
use crate::load::SqsLoadTrigger;
use crate::pricing::SqsPricingQueue;
use crate::sender::ApiGatewaySender;
use crate::store::DynamoStore;
use crate::timers::SqsTimers;
use crate::webhooks::SqsDeliveryQueue;
use crate::ws::WsHandlers;
use csms_core::charger::{ChargerConfig, ChargerService};
use csms_core::commands::service::{CommandService, CommandTimers, NoTimers};
use csms_core::load::{LoadEvents, LoadService, LoadTrigger, NoLoad};
use csms_core::ports::{Clock, ConnectionSender, Store, SystemClock};
use csms_core::pricing::{NoPricing, PricingQueue, PricingService};
use csms_core::webhooks::target::TargetPolicy;
use csms_core::webhooks::{
    Deliverer, DeliveryQueue, EventSink, NoEvents, RetrySchedule, WebhookPublisher,
};
use std::sync::Arc;
use std::time::Duration;

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
    /// Events to webhooks (see [`AwsContext::events`]), one per container.
    pub events: Arc<dyn EventSink>,
}

/// How long a container trusts the webhook list it read: a new webhook
/// gets events from every function within this time.
const SUBSCRIPTION_CACHE: Duration = Duration::from_secs(30);

impl AwsContext {
    /// `CSMS_TABLE` names the DynamoDB table. `AWS_ENDPOINT_URL` (moto,
    /// LocalStack) is honoured by the SDK itself.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let table = std::env::var("CSMS_TABLE").map_err(|_| ConfigError::Missing("CSMS_TABLE"))?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store: Arc<dyn Store> =
            Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let events: Arc<dyn EventSink> = match delivery_queue(&sdk) {
            Some(queue) => Arc::new(WebhookPublisher::new(
                store.clone(),
                clock.clone(),
                queue,
                SUBSCRIPTION_CACHE,
            )),
            None => Arc::new(NoEvents),
        };
        Ok(AwsContext {
            sdk,
            store,
            clock,
            events,
        })
    }

    /// Which webhook URLs the API accepts: public `https` only, unless
    /// `CSMS_WEBHOOK_ALLOW_PRIVATE=true` (for tests and private networks).
    pub fn webhook_policy() -> TargetPolicy {
        TargetPolicy {
            allow_private: matches!(
                std::env::var("CSMS_WEBHOOK_ALLOW_PRIVATE").as_deref(),
                Ok("true") | Ok("1")
            ),
        }
    }

    /// The deliverer of the `webhook-deliveries` function: needs
    /// `CSMS_WEBHOOK_QUEUE`; `CSMS_WEBHOOK_RETRY_SCHEDULE` (seconds,
    /// comma-separated) overrides the default schedule.
    pub fn deliverer(&self) -> Result<Deliverer<dyn Store>, ConfigError> {
        let queue = delivery_queue(&self.sdk).ok_or(ConfigError::Missing("CSMS_WEBHOOK_QUEUE"))?;
        let schedule = match std::env::var("CSMS_WEBHOOK_RETRY_SCHEDULE") {
            Err(_) => RetrySchedule::default(),
            Ok(s) => RetrySchedule::parse(&s)
                .map_err(|e| ConfigError::Invalid("CSMS_WEBHOOK_RETRY_SCHEDULE", e))?,
        };
        Ok(Deliverer::new(
            self.store.clone(),
            self.clock.clone(),
            // The API's policy: what it let keys register is what may be reached.
            Arc::new(csms_http_out::HyperTransport::for_webhooks(
                std::time::Duration::from_secs(10),
                Self::webhook_policy(),
            )),
            queue,
            schedule,
        ))
    }

    /// `CSMS_HEARTBEAT_INTERVAL` and `CSMS_PENDING_BOOT_INTERVAL`, both
    /// 10 to 540 seconds (API Gateway drops a socket idle for 600).
    pub fn charger_config() -> Result<ChargerConfig, ConfigError> {
        let defaults = ChargerConfig::default();
        let seconds = |name: &'static str, default: u32| match std::env::var(name) {
            Err(_) => Ok(default),
            Ok(s) => match s.parse::<u32>() {
                Ok(n) if (10..=540).contains(&n) => Ok(n),
                _ => Err(ConfigError::Invalid(name, "10 to 540 seconds".into())),
            },
        };
        Ok(ChargerConfig {
            heartbeat_interval_secs: seconds(
                "CSMS_HEARTBEAT_INTERVAL",
                defaults.heartbeat_interval_secs,
            )?,
            pending_boot_interval_secs: seconds(
                "CSMS_PENDING_BOOT_INTERVAL",
                defaults.pending_boot_interval_secs,
            )?,
        })
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
    /// With `CSMS_COMMAND_QUEUE` a submitted command is handed to the
    /// dispatcher function through that queue instead of being sent by the
    /// submitting function (which still sends it if the queue fails).
    pub fn command_service(&self) -> Result<CommandService<dyn Store>, ConfigError> {
        let sender = self
            .sender()
            .ok_or(ConfigError::Missing("CSMS_WS_MANAGEMENT_ENDPOINT"))?;
        let timers: Arc<dyn CommandTimers> = match std::env::var("CSMS_COMMAND_TIMER_QUEUE") {
            Ok(url) if !url.is_empty() => Arc::new(SqsTimers::new(&self.sdk, url)),
            _ => Arc::new(NoTimers),
        };
        // A load limit answered late or refused is signalled to load balancing.
        let events = Arc::new(LoadEvents::new(self.events.clone(), self.load_trigger()));
        let service = CommandService::new(self.store.clone(), self.clock.clone(), sender, timers)
            .with_events(events);
        Ok(match std::env::var("CSMS_COMMAND_QUEUE") {
            Ok(url) if !url.is_empty() => {
                service.with_dispatch(Arc::new(SqsDispatch::new(&self.sdk, url)))
            }
            _ => service,
        })
    }

    /// The WebSocket handlers. With a Management API endpoint, replies to
    /// commands are resolved here too. Session, status and meter changes,
    /// and (through the event sink) connects and disconnects, are signalled
    /// to load balancing.
    pub fn ws_handlers(&self) -> Result<WsHandlers, ConfigError> {
        let mut charger = self.charger_service()?;
        if let Ok(commands) = self.command_service() {
            charger = charger.with_replies(Arc::new(commands));
        }
        Ok(WsHandlers::new(charger, self.clock.clone(), self.sender()))
    }

    /// The charger service with its events (webhooks and load signals) and
    /// pricing queue: what `$default` uses, and the session sweep, whose
    /// closed sessions are announced and priced like any other.
    pub fn charger_service(&self) -> Result<ChargerService<dyn Store>, ConfigError> {
        let load = self.load_trigger();
        Ok(ChargerService::new(
            self.store.clone(),
            self.clock.clone(),
            Self::charger_config()?,
        )
        .with_events(Arc::new(LoadEvents::new(self.events.clone(), load.clone())))
        .with_pricing(self.pricing_queue())
        .with_load(load))
    }
}

impl AwsContext {
    /// Where completed sessions go to be priced: `CSMS_PRICING_QUEUE` (an SQS
    /// queue URL). Without it sessions are not priced automatically (the
    /// API's reprice still prices them).
    pub fn pricing_queue(&self) -> Arc<dyn PricingQueue> {
        match std::env::var("CSMS_PRICING_QUEUE") {
            Ok(url) if !url.is_empty() => Arc::new(SqsPricingQueue::new(&self.sdk, url)),
            _ => Arc::new(NoPricing),
        }
    }

    /// The pricing service, pricing at most `max_duration` of a session.
    pub fn pricing_service(&self) -> PricingService<dyn Store> {
        PricingService::new(self.store.clone(), self.clock.clone())
            .with_events(self.events.clone())
            .with_max_duration(crate::pricing::PricingLimits::from_env().max_duration)
    }

    /// Where changes that matter to load balancing go: `LOAD_QUEUE_URL` (an
    /// SQS FIFO queue URL). Without it nothing is signalled; the
    /// `load-balancer` function's periodic sweep still recomputes every site.
    pub fn load_trigger(&self) -> Arc<dyn LoadTrigger> {
        match std::env::var("LOAD_QUEUE_URL") {
            Ok(url) if !url.is_empty() => Arc::new(SqsLoadTrigger::new(&self.sdk, url)),
            _ => Arc::new(NoLoad),
        }
    }

    /// Load balancing, sending its limits through `commands` (see
    /// [`AwsContext::command_service`]).
    pub fn load_service(&self, commands: CommandService<dyn Store>) -> LoadService<dyn Store> {
        LoadService::new(self.store.clone(), self.clock.clone(), commands)
    }
}

/// The webhook delivery queue, when `CSMS_WEBHOOK_QUEUE` names one. Without
/// it no events are published (webhooks can be created but stay silent).
fn delivery_queue(sdk: &aws_config::SdkConfig) -> Option<Arc<dyn DeliveryQueue>> {
    match std::env::var("CSMS_WEBHOOK_QUEUE") {
        Ok(url) if !url.is_empty() => Some(Arc::new(SqsDeliveryQueue::new(sdk, url))),
        _ => None,
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
