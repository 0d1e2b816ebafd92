//! The Lambdas' composition: settings read once per cold start, the AWS
//! adapters, and the services from the one wiring (`csms-app`).

use crate::dispatch::SqsDispatch;
use crate::load::SqsLoadTrigger;
use crate::mail::SesMailer;
use crate::pricing::SqsPricingQueue;
use crate::sender::ApiGatewaySender;
use crate::timers::SqsTimers;
use crate::webhooks::SqsDeliveryQueue;
use crate::ws::{ViewerAddress, WsHandlers};
use csms_app::settings::AwsResources;
use csms_app::{Adapters, Runtime, Settings, SettingsError, Wiring};
use csms_commands::service::{CommandDispatch, CommandTimers};
use csms_kernel::ports::{ConnectionSender, DocumentStore, Store, SystemClock};
use csms_load::LoadTrigger;
use csms_notify::mail::{Mailer, Sender, Unconfigured};
use csms_notify::target::TargetPolicy;
use csms_notify::{DeliveryQueue, WebhookTransport};
use csms_pricing::PricingQueue;
use csms_store_dynamo::DynamoStore;
use std::sync::Arc;
use std::time::Duration;

/// The settings of a Lambda and the services wired over DynamoDB, SQS and
/// the API Gateway Management API. One per container, made at cold start.
pub struct AwsContext {
    pub sdk: aws_config::SdkConfig,
    pub wiring: Wiring,
}

/// Which WebSocket route a function serves: what its handlers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsRoute {
    /// `$connect`: may close a socket the station left behind.
    Connect,
    /// `$disconnect`: records the end; sends nothing to chargers.
    Disconnect,
    /// `$default`: charger messages, and the answers to commands.
    Message,
}

impl AwsContext {
    /// Reads and checks every setting (an error names the variable), then
    /// opens the table `CSMS_TABLE`. `AWS_ENDPOINT_URL` (moto, LocalStack)
    /// is honoured by the SDK itself.
    pub async fn from_env() -> Result<Self, SettingsError> {
        let settings = Settings::from_env(Runtime::Aws)?;
        let table = settings.aws.table.require()?.to_owned();
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store: Arc<dyn Store> =
            Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
        let adapters = AwsAdapters {
            sdk: sdk.clone(),
            resources: settings.aws.clone(),
        };
        let wiring = Wiring::new(settings, store, Arc::new(SystemClock), adapters);
        Ok(AwsContext { sdk, wiring })
    }

    /// The handlers of one WebSocket route.
    pub fn ws_handlers(&self, route: WsRoute) -> Result<WsHandlers, SettingsError> {
        let w = &self.wiring;
        let (charger, sender) = match route {
            WsRoute::Connect => (w.charger()?, Some(w.sender()?)),
            WsRoute::Disconnect => (w.charger()?, None),
            WsRoute::Message => (w.socket_charger()?, Some(w.sender()?)),
        };
        let viewer = match &w.settings.cloudfront_origin {
            Some(secret) => ViewerAddress::CloudFront {
                origin_secret: secret.clone(),
            },
            None => ViewerAddress::SourceIp,
        };
        Ok(WsHandlers::new(charger, w.clock.clone(), sender).with_viewer_address(viewer))
    }
}

/// The AWS side of the ports: SQS queues and the Management API, each from
/// the variable that names it in `template.yaml`.
struct AwsAdapters {
    sdk: aws_config::SdkConfig,
    resources: AwsResources,
}

impl Adapters for AwsAdapters {
    fn sender(&self) -> Result<Arc<dyn ConnectionSender>, SettingsError> {
        let endpoint = self.resources.ws_management_endpoint.require()?;
        Ok(Arc::new(ApiGatewaySender::new(&self.sdk, endpoint)))
    }

    /// A delayed message per sent command times it out if unanswered.
    fn command_timers(&self) -> Result<Arc<dyn CommandTimers>, SettingsError> {
        let url = self.resources.command_timer_queue.require()?;
        Ok(Arc::new(SqsTimers::new(&self.sdk, url)))
    }

    /// With `CSMS_COMMAND_QUEUE` a submitted command goes to the
    /// `command-dispatcher` function (which still sends it itself if the
    /// queue fails); the dispatcher and the timers function have no queue
    /// and send.
    fn command_dispatch(&self) -> Result<Option<Arc<dyn CommandDispatch>>, SettingsError> {
        Ok(self
            .resources
            .command_queue
            .get()
            .map(|url| Arc::new(SqsDispatch::new(&self.sdk, url)) as Arc<dyn CommandDispatch>))
    }

    fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, SettingsError> {
        let url = self.resources.webhook_queue.require()?;
        Ok(Arc::new(SqsDeliveryQueue::new(&self.sdk, url)))
    }

    fn pricing_queue(&self) -> Result<Arc<dyn PricingQueue>, SettingsError> {
        let url = self.resources.pricing_queue.require()?;
        Ok(Arc::new(SqsPricingQueue::new(&self.sdk, url)))
    }

    fn load_trigger(&self) -> Result<Arc<dyn LoadTrigger>, SettingsError> {
        let url = self.resources.load_queue.require()?;
        Ok(Arc::new(SqsLoadTrigger::new(&self.sdk, url)))
    }

    fn webhook_transport(&self, policy: TargetPolicy) -> Arc<dyn WebhookTransport> {
        Arc::new(csms_http_out::HyperTransport::for_webhooks(
            Duration::from_secs(10),
            policy,
        ))
    }

    /// Command outcomes as CloudWatch metrics.
    fn extra_subscribers(&self) -> Vec<Arc<dyn csms_kernel::events::Subscriber>> {
        vec![Arc::new(crate::emf::CommandOutcomes)]
    }

    fn mailer(&self, from: Option<&Sender>) -> Arc<dyn Mailer> {
        match from {
            Some(from) => Arc::new(SesMailer::new(&self.sdk, from.clone())),
            None => Arc::new(Unconfigured(
                "CSMS_MAIL_FROM is not set (the stack's MailFrom parameter, an address SES may send from)"
                    .into(),
            )),
        }
    }

    fn documents(&self) -> Result<Arc<dyn DocumentStore>, SettingsError> {
        let bucket = self.resources.documents_bucket.require()?;
        Ok(Arc::new(crate::documents::S3Documents::new(
            &self.sdk, bucket,
        )))
    }
}

/// Whether the binary was started with `--check-wiring`: it reads its
/// settings and builds its services as at a cold start, then exits instead
/// of serving (0, or the error naming what is missing).
/// `tests/e2e/test_template_wiring.py` starts every function so, with the
/// environment `template.yaml` gives it, which catches a queue a function's
/// services need and the template forgets.
pub fn wiring_check() -> bool {
    std::env::args().skip(1).any(|a| a == "--check-wiring")
}

/// How every Lambda starts: tracing, the context from the environment, then
/// what `wire` builds from it (the services the function uses, so that a
/// setting it needs and misses stops it here). `None` when the run only
/// checks that ([`wiring_check`]): the function exits instead of serving.
pub async fn start<T, E>(
    wire: impl FnOnce(&AwsContext) -> Result<T, E>,
) -> Result<Option<T>, lambda_runtime::Error>
where
    E: Into<lambda_runtime::Error>,
{
    init_tracing();
    let ctx = AwsContext::from_env().await?;
    let wired = wire(&ctx).map_err(Into::into)?;
    Ok((!wiring_check()).then_some(wired))
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
