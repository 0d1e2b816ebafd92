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
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let swish = swish_secret(&sdk, std::env::var(SWISH_SECRET).ok()).await?;
        let settings = Settings::from_lookup(Runtime::Aws, &|k| {
            swish
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(k).ok())
        })?;
        let table = settings.aws.table.require()?.to_owned();
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

/// The variable naming the Secrets Manager secret (its ARN or name) that
/// holds the Swish client certificate and key: a JSON object
/// `{"cert": "-----BEGIN CERTIFICATE-----…", "key": "-----BEGIN PRIVATE KEY-----…",
/// "ca": "…"}` (`ca` optional: roots for Swish's test environment). A
/// Lambda's environment holds 4 KB in all, less than a 4096-bit key and its
/// certificate, and would show them in the console; so the stack passes the
/// secret's ARN and the function reads it once at a cold start, as the
/// `CSMS_SWISH_CERT`, `CSMS_SWISH_KEY` and `CSMS_SWISH_CA` settings.
pub const SWISH_SECRET: &str = "CSMS_SWISH_SECRET";

/// What the Swish secret holds.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SwishSecret {
    cert: String,
    key: String,
    #[serde(default)]
    ca: Option<String>,
}

/// The settings the secret `arn` (unset or empty: none) gives, read from
/// Secrets Manager; an error names [`SWISH_SECRET`] and what is wrong.
async fn swish_secret(
    sdk: &aws_config::SdkConfig,
    arn: Option<String>,
) -> Result<Vec<(&'static str, String)>, SettingsError> {
    let Some(arn) = arn.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()) else {
        return Ok(Vec::new());
    };
    let answer = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .map_err(|e| {
            SettingsError::new(
                SWISH_SECRET,
                format!("cannot read the secret {arn}: {}", error_chain(&e)),
            )
        })?;
    let text = answer.secret_string().ok_or_else(|| {
        SettingsError::new(SWISH_SECRET, format!("the secret {arn} holds no text"))
    })?;
    swish_settings(text)
        .map_err(|e| SettingsError::new(SWISH_SECRET, format!("the secret {arn}: {e}")))
}

/// An SDK error with its cause, which its `Display` leaves out.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The Swish settings a secret's text gives (see [`SWISH_SECRET`]).
fn swish_settings(text: &str) -> Result<Vec<(&'static str, String)>, String> {
    let secret: SwishSecret = serde_json::from_str(text)
        .map_err(|e| format!("not a JSON object of cert, key and an optional ca: {e}"))?;
    let pem = |field: &str, value: &str| {
        let value = value.trim();
        if value.starts_with("-----BEGIN") {
            Ok(value.to_owned())
        } else {
            Err(format!("{field}: not PEM (-----BEGIN …)"))
        }
    };
    let mut vars = vec![
        ("CSMS_SWISH_CERT", pem("cert", &secret.cert)?),
        ("CSMS_SWISH_KEY", pem("key", &secret.key)?),
    ];
    if let Some(ca) = secret.ca.as_deref().filter(|c| !c.trim().is_empty()) {
        vars.push(("CSMS_SWISH_CA", pem("ca", ca)?));
    }
    Ok(vars)
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

#[cfg(test)]
mod swish_secret_tests {
    use super::swish_settings;

    #[test]
    fn a_secret_gives_the_certificate_key_and_roots() {
        let vars = swish_settings(
            r#"{"cert":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","key":" -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}"#,
        )
        .unwrap();
        assert_eq!(
            vars.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            ["CSMS_SWISH_CERT", "CSMS_SWISH_KEY"]
        );
        assert!(vars[1].1.starts_with("-----BEGIN PRIVATE KEY-----"));
        let with_ca = swish_settings(
            r#"{"cert":"-----BEGIN CERTIFICATE-----","key":"-----BEGIN PRIVATE KEY-----","ca":"-----BEGIN CERTIFICATE-----"}"#,
        )
        .unwrap();
        assert_eq!(with_ca[2].0, "CSMS_SWISH_CA");
    }

    #[test]
    fn a_wrong_secret_says_which_field() {
        let e = swish_settings(r#"{"cert":"/etc/swish.pem","key":"-----BEGIN PRIVATE KEY-----"}"#)
            .unwrap_err();
        assert!(e.starts_with("cert:"), "{e}");
        let e = swish_settings(r#"{"cert":"-----BEGIN CERTIFICATE-----"}"#).unwrap_err();
        assert!(e.contains("key"), "{e}");
        let e = swish_settings(r#"{"cert":"x","key":"y","password":"z"}"#).unwrap_err();
        assert!(e.contains("password"), "{e}");
    }
}
