//! Typed settings: every `CSMS_*` variable the services read, parsed and
//! checked once at start. An error names the variable and says what it
//! accepts; a value is never re-read or re-parsed on a request.
//!
//! Two runtimes share the names and differ in a few defaults ([`Runtime`]):
//! webhooks to private addresses are allowed locally and not in AWS, and a
//! Lambda prices a session under a shorter timeout than the local runner.
//! A few older names are still read where the README documented them
//! (`LOAD_QUEUE_URL`, `PRICING_TIMEOUT_SECONDS`, `PRICING_MAX_DAYS`); the
//! `CSMS_` name wins when both are set.

use chrono::TimeDelta;
use csms_api::{PublicUrl, Secret};
use csms_charging::charger::ChargerConfig;
use csms_domain::tenant::Bankgiro;
use csms_notify::mail::Sender;
use csms_notify::RetrySchedule;
use csms_pricing::spot::config::SpotSettings;
use std::ops::RangeInclusive;
use std::time::Duration;

/// A setting that is missing or does not parse: which variable, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}: {problem}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub problem: String,
}

impl SettingsError {
    pub fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        SettingsError {
            variable,
            problem: problem.into(),
        }
    }

    fn missing(variable: &'static str, what: &str) -> Self {
        SettingsError::new(variable, format!("is required: {what}"))
    }
}

/// Where the process runs; decides the defaults that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// `csms-local`: one process, in-process queues.
    Local,
    /// A Lambda function.
    Aws,
}

/// Reads variables through a lookup (`std::env::var` in the binaries, a map
/// in tests); empty values count as unset.
pub struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Vars<'a> {
    pub fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Vars { get }
    }

    /// The value of `name`, else of the first older name that is set; with
    /// the name it was read from, for the error.
    pub fn text(
        &self,
        name: &'static str,
        older: &[&'static str],
    ) -> Option<(&'static str, String)> {
        std::iter::once(name)
            .chain(older.iter().copied())
            .find_map(|n| {
                (self.get)(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (n, v))
            })
    }

    /// A whole number in `range`, `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        older: &[&'static str],
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, SettingsError> {
        let Some((var, raw)) = self.text(name, older) else {
            return Ok(default);
        };
        match raw.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(SettingsError::new(
                var,
                format!(
                    "must be a whole number from {} to {}, not {raw:?}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// `true`/`1`/`on` or `false`/`0`/`off`, `default` when unset.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, SettingsError> {
        match self.text(name, &[]) {
            None => Ok(default),
            Some((_, raw)) => match raw.trim() {
                "true" | "1" | "on" => Ok(true),
                "false" | "0" | "off" => Ok(false),
                other => Err(SettingsError::new(
                    name,
                    format!("must be true or false, not {other:?}"),
                )),
            },
        }
    }

    fn seconds(
        &self,
        name: &'static str,
        older: &[&'static str],
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, SettingsError> {
        self.number(name, older, default, range)
            .map(Duration::from_secs)
    }
}

/// Webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `CSMS_WEBHOOK_RETRY_SCHEDULE`: seconds between attempts, comma-separated.
    pub retry: RetrySchedule,
    /// `CSMS_WEBHOOK_ALLOW_PRIVATE`: may webhooks reach private addresses
    /// (default: locally yes, in AWS no).
    pub allow_private: bool,
    /// How long a process trusts the webhook list it read: one process
    /// (local) is told of every change; a Lambda container is not.
    pub subscription_cache: Duration,
}

/// Session pricing.
#[derive(Debug, Clone)]
pub struct PricingSettings {
    /// `CSMS_PRICING_TIMEOUT_SECONDS` (was `PRICING_TIMEOUT_SECONDS` in AWS):
    /// longest one pricing may take; default 30 s locally, 10 s in a Lambda
    /// (whose own timeout is 30 s).
    pub timeout: Duration,
    /// `CSMS_PRICING_MAX_DAYS` (was `PRICING_MAX_DAYS`): how much of a
    /// session, from its start, is priced.
    pub max_duration: TimeDelta,
    /// `CSMS_PRICING_ATTEMPTS`: tries of a session that panics or times out
    /// before it is dead-lettered (local; SQS redrive counts in AWS).
    pub attempts: u32,
    /// `CSMS_PRICING_BACKOFF_SECONDS`: wait before the second try, doubled
    /// for each further one (local).
    pub backoff: Duration,
    /// `CSMS_PRICING_RETRY_SECONDS`: when a session waiting for spot prices
    /// is tried again (local).
    pub retry: Duration,
}

/// Load balancing's timing in the local runner (in AWS the load queue's
/// delivery delay and the scheduler do this).
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// `CSMS_LOAD_DEBOUNCE_MS`: signals within this time make one recomputation.
    pub debounce: Duration,
    /// `CSMS_LOAD_INTERVAL_SECONDS`: every configured site is recomputed this often.
    pub interval: Duration,
}

/// Closing sessions whose charger went quiet.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// `CSMS_SESSION_IDLE_SECONDS`: an open session without any message for
    /// this long is closed (`noMessages`).
    pub idle: Duration,
    /// `CSMS_SESSION_SWEEP_SECONDS`: how often the local runner looks (the
    /// scheduler's `SessionSweepMinutes` in AWS).
    pub sweep: Duration,
}

/// Bookings: when the sweep reserves a booked EVSE and gives up on a
/// booker.
#[derive(Debug, Clone, Copy)]
pub struct BookingSettings {
    /// `CSMS_BOOKING_LEAD_SECONDS` (default 300): ReserveNow goes out this
    /// long before a booked window starts.
    pub lead: Duration,
    /// `CSMS_BOOKING_GRACE_SECONDS` (default 900): a booker who has not
    /// started this long after the start is a no-show (CancelReservation).
    pub grace: Duration,
    /// `CSMS_BOOKING_SWEEP_SECONDS` (default 60): how often the local
    /// runner sweeps bookings (every minute in AWS, `BookingSweep`).
    pub sweep: Duration,
}

impl BookingSettings {
    /// The sweep's times.
    pub fn times(&self) -> csms_commands::booking_sweep::BookingTimes {
        let delta = |d: Duration| chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX);
        csms_commands::booking_sweep::BookingTimes {
            lead: delta(self.lead),
            grace: delta(self.grace),
        }
    }
}

/// Alarms about stations that the periodic monitor raises.
#[derive(Debug, Clone, Copy)]
pub struct MonitorSettings {
    /// `CSMS_OFFLINE_GRACE_SECONDS` (default 600): a station whose
    /// connection closed raises `stationOffline` when it has not come back
    /// for this long (API Gateway's two-hourly reconnect and a reboot are
    /// back well within it).
    pub offline_grace: Duration,
    /// `CSMS_MONITOR_SWEEP_SECONDS` (default 60): how often the local runner
    /// looks (every minute in AWS, the `session-sweep` function's
    /// `MonitorSweep` schedule).
    pub sweep: Duration,
}

/// Billing's daily jobs: the scheduled invoice runs and dunning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSettings {
    /// `CSMS_BILLING_SWEEP_SECONDS` (default 3600): how often the local
    /// runner runs the day's billing (each run is idempotent; in AWS the
    /// `session-sweep` function's `BillingSweep` schedule, hourly).
    pub sweep: Duration,
}

impl MonitorSettings {
    /// The platform's grace: an organisation's until it sets its own.
    pub fn offline_grace(&self) -> csms_domain::alarm::OfflineGrace {
        csms_domain::alarm::OfflineGrace::platform(self.offline_grace.as_secs())
    }
}

/// An AWS resource a function may need, by the variable that names it.
/// Reading it where it is needed fails start-up when it is missing, instead
/// of quietly leaving a feature off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub variable: &'static str,
    what: &'static str,
    value: Option<String>,
}

impl Resource {
    fn read(
        vars: &Vars,
        variable: &'static str,
        older: &[&'static str],
        what: &'static str,
    ) -> Self {
        Resource {
            variable,
            what,
            value: vars.text(variable, older).map(|(_, v)| v),
        }
    }

    /// The value, or an error naming the variable and what it is for.
    pub fn require(&self) -> Result<&str, SettingsError> {
        self.value
            .as_deref()
            .ok_or_else(|| SettingsError::missing(self.variable, self.what))
    }

    /// The value when set: for resources a function may go without.
    pub fn get(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// The AWS resources, by their variables in `template.yaml`.
#[derive(Debug, Clone)]
pub struct AwsResources {
    pub table: Resource,
    pub ws_management_endpoint: Resource,
    pub command_queue: Resource,
    pub command_timer_queue: Resource,
    pub webhook_queue: Resource,
    pub pricing_queue: Resource,
    pub load_queue: Resource,
    pub billing_queue: Resource,
    pub documents_bucket: Resource,
}

impl AwsResources {
    fn read(vars: &Vars) -> Self {
        AwsResources {
            table: Resource::read(vars, "CSMS_TABLE", &[], "the DynamoDB table"),
            ws_management_endpoint: Resource::read(
                vars,
                "CSMS_WS_MANAGEMENT_ENDPOINT",
                &[],
                "the API Gateway Management API endpoint that sends to chargers",
            ),
            command_queue: Resource::read(
                vars,
                "CSMS_COMMAND_QUEUE",
                &[],
                "the SQS queue of the command dispatcher",
            ),
            command_timer_queue: Resource::read(
                vars,
                "CSMS_COMMAND_TIMER_QUEUE",
                &[],
                "the SQS queue that times out unanswered commands",
            ),
            webhook_queue: Resource::read(
                vars,
                "CSMS_WEBHOOK_QUEUE",
                &[],
                "the SQS queue of webhook deliveries",
            ),
            pricing_queue: Resource::read(
                vars,
                "CSMS_PRICING_QUEUE",
                &[],
                "the SQS queue of sessions to price",
            ),
            load_queue: Resource::read(
                vars,
                "CSMS_LOAD_QUEUE",
                &["LOAD_QUEUE_URL"],
                "the SQS FIFO queue of load-balancing signals",
            ),
            billing_queue: Resource::read(
                vars,
                "CSMS_BILLING_QUEUE",
                &[],
                "the SQS queue of organisations' billing days",
            ),
            documents_bucket: Resource::read(
                vars,
                "CSMS_DOCUMENTS_BUCKET",
                &[],
                "the S3 bucket of documents (invoice PDFs)",
            ),
        }
    }
}

/// Everything the services are configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub runtime: Runtime,
    /// `CSMS_HEARTBEAT_INTERVAL`, `CSMS_PENDING_BOOT_INTERVAL`: 10 to 540
    /// seconds (API Gateway drops a socket idle for 600).
    pub charger: ChargerConfig,
    /// `CSMS_ADMIN_API_KEY`, at least 16 characters. Unset: the local runner
    /// makes and keeps one; the API in AWS refuses every request.
    pub admin_key: Option<Secret>,
    /// `CSMS_SECURE_COOKIES`: the sign-in cookie is marked `Secure` (sent
    /// over HTTPS only). On by default in AWS, off locally (plain HTTP).
    pub secure_cookies: bool,
    /// `CSMS_PUBLIC_URL`: the address people reach this service at
    /// (`https://csms.example.com`), for the links in QR codes and e-mails.
    /// Unset: the local runner uses its listening address; in AWS the
    /// features that send links answer that it is not configured.
    pub public_url: Option<PublicUrl>,
    /// `CSMS_MAP_TILE_URL` (a template with `{z}`, `{x}`, `{y}`) and
    /// `CSMS_MAP_TILE_ATTRIBUTION` (text, required with another server
    /// than OpenStreetMap's): where the portal's map loads its tiles, which
    /// the overview's content security policy then allows. Unset:
    /// OpenStreetMap's.
    pub map_tiles: csms_api::MapTiles,
    /// `CSMS_MAIL_FROM`: who e-mails come from (`Laddning
    /// <noreply@example.se>`; in AWS an address or domain verified in SES).
    /// Unset: `CSMS <noreply@localhost>` locally (mail stays in the outbox);
    /// in AWS nothing is sent and the features that mail say so.
    pub mail_from: Option<Sender>,
    /// `CSMS_BANKGIRO`: the platform's client-funds Bankgiro number
    /// (`5050-1055`), which drivers pay invoices to and which every invoice
    /// PDF and mail prints. Unset: invoices are issued but neither rendered
    /// nor mailed; the run and the PDF download say so.
    pub bankgiro: Option<Bankgiro>,
    /// `CSMS_CLIENT_FUNDS_IBAN` (and `CSMS_CLIENT_FUNDS_BIC`,
    /// `CSMS_CLIENT_FUNDS_NAME`): the client-funds account organisations
    /// are paid out from, named in the payouts' bank files. Unset: months
    /// are settled and their fees booked, but nothing is paid out (the
    /// settlement says why and the money stays held).
    pub client_funds: Option<csms_billing::pain001::Debtor>,
    /// `CSMS_CHARGER_HOLD_AMOUNT`: what a visitor's card is held for to
    /// charge at a public charger (SEK, whole kronor, 10 to 10 000; default
    /// 300); the session's price is captured from it.
    pub charger_hold: rust_decimal::Decimal,
    /// `CSMS_CHARGER_CAPTURE_RETRY_SECONDS` (the wait before the first
    /// retry, 1 to 3600, default 600; each later one twice the one before,
    /// at most 12 h) and `CSMS_CHARGER_CAPTURE_ATTEMPTS` (2 to 10, default
    /// 8): how the billing sweep tries again a capture at the charger that
    /// failed.
    pub capture_retry: csms_billing::charger_pay::CaptureRetry,
    /// `CSMS_STRIPE_*`: the Stripe account invoices are paid by card
    /// through. Unset (no `CSMS_STRIPE_SECRET_KEY`): no card payments, and
    /// the routes that need them say so.
    pub stripe: Option<StripeSettings>,
    /// `CSMS_SWISH_*`: the Swish agreement invoices are paid through.
    /// Unset (no `CSMS_SWISH_PAYEE_ALIAS`): no Swish payments.
    pub swish: Option<SwishSettings>,
    pub webhooks: WebhookSettings,
    pub pricing: PricingSettings,
    pub load: LoadSettings,
    pub sessions: SessionSettings,
    pub bookings: BookingSettings,
    pub monitor: MonitorSettings,
    pub billing: BillingSettings,
    /// `CSMS_SPOT_*` (see `csms_pricing::spot::config`).
    pub spot: SpotSettings,
    pub aws: AwsResources,
    /// `CSMS_BEHIND_CLOUDFRONT` (AWS; the template sets it when the stack
    /// makes its CloudFront distribution, default false) with
    /// `CSMS_ORIGIN_VERIFY_SECRET`, the value the distribution adds to every
    /// request as `X-Csms-Origin-Verify` (required then: 32 to 256 visible
    /// ASCII characters). `Some` behind CloudFront: `$connect` refuses a
    /// handshake without that header (it bypassed CloudFront) and reads a
    /// charger's address from `CloudFront-Viewer-Address`, as API Gateway's
    /// `sourceIp` is the edge's.
    pub cloudfront_origin: Option<Secret>,
}

/// A Stripe account: `CSMS_STRIPE_SECRET_KEY` (`sk_…`),
/// `CSMS_STRIPE_PUBLISHABLE_KEY` (`pk_…`), `CSMS_STRIPE_WEBHOOK_SECRET`
/// (`whsec_…`, the signing secret of the webhook endpoint
/// `/api/v1/webhooks/stripe`) and `CSMS_STRIPE_API_URL` (Stripe's own by
/// default; localstripe's in the tests).
#[derive(Clone)]
pub struct StripeSettings {
    pub api_url: String,
    /// `CSMS_STRIPE_JS_URL`: where the portal's card page loads Stripe.js
    /// (`https://js.stripe.com/v3/`; localstripe's mock in the tests).
    pub js_url: String,
    pub secret_key: Secret,
    pub publishable_key: String,
    pub webhook_secret: Secret,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("api_url", &self.api_url)
            .field("js_url", &self.js_url)
            .field("publishable_key", &self.publishable_key)
            .finish_non_exhaustive()
    }
}

impl StripeSettings {
    /// Stripe's API.
    pub const DEFAULT_API: &'static str = "https://api.stripe.com";
    /// Stripe.js.
    pub const DEFAULT_JS: &'static str = "https://js.stripe.com/v3/";

    fn read(vars: &Vars) -> Result<Option<Self>, SettingsError> {
        let Some((_, secret_key)) = vars.text("CSMS_STRIPE_SECRET_KEY", &[]) else {
            return Ok(None);
        };
        let secret_key = secret_key.trim().to_owned();
        if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
            return Err(SettingsError::new(
                "CSMS_STRIPE_SECRET_KEY",
                "a secret (sk_…) or restricted (rk_…) key",
            ));
        }
        let required = |name: &'static str, prefix: &str| match vars.text(name, &[]) {
            Some((_, v)) if v.trim().starts_with(prefix) => Ok(v.trim().to_owned()),
            Some(_) => Err(SettingsError::new(
                name,
                format!("must start with {prefix}"),
            )),
            None => Err(SettingsError::new(
                name,
                "must be set when CSMS_STRIPE_SECRET_KEY is",
            )),
        };
        let publishable_key = required("CSMS_STRIPE_PUBLISHABLE_KEY", "pk_")?;
        let webhook_secret = required("CSMS_STRIPE_WEBHOOK_SECRET", "whsec_")?;
        let api_url = match vars.text("CSMS_STRIPE_API_URL", &[]) {
            None => Self::DEFAULT_API.to_owned(),
            Some((name, url)) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(SettingsError::new(name, "must be an http(s) URL"));
                }
                url
            }
        };
        let js_url = match vars.text("CSMS_STRIPE_JS_URL", &[]) {
            None => Self::DEFAULT_JS.to_owned(),
            Some((name, url)) => {
                let url = url.trim().to_owned();
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.contains(['"', '\'', ' ', ';'])
                {
                    return Err(SettingsError::new(name, "must be an http(s) URL"));
                }
                url
            }
        };
        Ok(Some(StripeSettings {
            api_url,
            js_url,
            secret_key: Secret::new(secret_key),
            publishable_key,
            webhook_secret: Secret::new(webhook_secret),
        }))
    }
}

/// A Swish agreement: `CSMS_SWISH_PAYEE_ALIAS` (the merchant's Swish
/// number, `123…`), `CSMS_SWISH_CERT` and `CSMS_SWISH_KEY` (the client
/// certificate Swish issued and its key, as PEM: a file's path, or the PEM
/// itself), `CSMS_SWISH_CA` (roots to trust beside Mozilla's, for Swish's
/// test environment; optional) and `CSMS_SWISH_API_URL` (Swish's
/// production API by default).
#[derive(Clone)]
pub struct SwishSettings {
    pub api_url: String,
    pub payee_alias: String,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub roots_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for SwishSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwishSettings")
            .field("api_url", &self.api_url)
            .field("payee_alias", &self.payee_alias)
            .finish_non_exhaustive()
    }
}

impl SwishSettings {
    /// Swish's production API.
    pub const DEFAULT_API: &'static str = "https://cpc.getswish.net";

    /// A PEM setting: the PEM itself, or the path of a file holding it.
    fn pem(name: &'static str, value: &str) -> Result<Vec<u8>, SettingsError> {
        let value = value.trim();
        if value.starts_with("-----BEGIN") {
            return Ok(value.as_bytes().to_vec());
        }
        std::fs::read(value)
            .map_err(|e| SettingsError::new(name, format!("cannot read {value}: {e}")))
    }

    fn read(vars: &Vars) -> Result<Option<Self>, SettingsError> {
        let Some((_, alias)) = vars.text("CSMS_SWISH_PAYEE_ALIAS", &[]) else {
            return Ok(None);
        };
        let payee_alias = alias.trim().to_owned();
        if !(payee_alias.len() == 10 && payee_alias.bytes().all(|b| b.is_ascii_digit())) {
            return Err(SettingsError::new(
                "CSMS_SWISH_PAYEE_ALIAS",
                "the merchant's Swish number: 10 digits (123…)",
            ));
        }
        let required = |name: &'static str| match vars.text(name, &[]) {
            Some((_, v)) => Self::pem(name, &v),
            None => Err(SettingsError::new(
                name,
                "must be set when CSMS_SWISH_PAYEE_ALIAS is",
            )),
        };
        let cert_pem = required("CSMS_SWISH_CERT")?;
        let key_pem = required("CSMS_SWISH_KEY")?;
        let roots_pem = match vars.text("CSMS_SWISH_CA", &[]) {
            Some((name, v)) => Some(Self::pem(name, &v)?),
            None => None,
        };
        let api_url = match vars.text("CSMS_SWISH_API_URL", &[]) {
            None => Self::DEFAULT_API.to_owned(),
            Some((name, url)) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                if !url.starts_with("https://") {
                    return Err(SettingsError::new(name, "must be an https URL"));
                }
                url
            }
        };
        Ok(Some(SwishSettings {
            api_url,
            payee_alias,
            cert_pem,
            key_pem,
            roots_pem,
        }))
    }
}

/// Who local mail comes from when `CSMS_MAIL_FROM` is unset.
pub const LOCAL_MAIL_FROM: &str = "CSMS <noreply@localhost>";

/// How long a Lambda prices one session by default: its own timeout is 30 s.
pub const LAMBDA_PRICING_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the local runner prices one session by default.
pub const LOCAL_PRICING_TIMEOUT: Duration = Duration::from_secs(30);

/// Seconds a charger may be told to wait: API Gateway drops a socket idle
/// for 600 s.
const CHARGER_INTERVAL: RangeInclusive<u64> = 10..=540;

impl Settings {
    /// From the process environment.
    pub fn from_env(runtime: Runtime) -> Result<Self, SettingsError> {
        Self::from_lookup(runtime, &|k| std::env::var(k).ok())
    }

    /// From `get`; the first setting that is wrong is the error.
    pub fn from_lookup(
        runtime: Runtime,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let vars = Vars::new(get);
        let local = runtime == Runtime::Local;
        let charger = ChargerConfig {
            heartbeat_interval_secs: vars.number(
                "CSMS_HEARTBEAT_INTERVAL",
                &[],
                300,
                CHARGER_INTERVAL,
            )? as u32,
            pending_boot_interval_secs: vars.number(
                "CSMS_PENDING_BOOT_INTERVAL",
                &[],
                ChargerConfig::PENDING_BOOT_INTERVAL_SECS.into(),
                CHARGER_INTERVAL,
            )? as u32,
        };
        let admin_key = match vars.text("CSMS_ADMIN_API_KEY", &[]) {
            None => None,
            Some((_, k)) if k.len() >= 16 => Some(Secret::new(k)),
            Some(_) => {
                return Err(SettingsError::new(
                    "CSMS_ADMIN_API_KEY",
                    "must be at least 16 characters",
                ))
            }
        };
        let secure_cookies = vars.flag("CSMS_SECURE_COOKIES", !local)?;
        let mail_from = match vars.text("CSMS_MAIL_FROM", &[]) {
            Some((name, text)) => {
                Some(Sender::parse(&text).map_err(|problem| SettingsError::new(name, problem))?)
            }
            None if local => {
                Some(Sender::parse(LOCAL_MAIL_FROM).expect("the local sender is an address"))
            }
            None => None,
        };
        let bankgiro = match vars.text("CSMS_BANKGIRO", &[]) {
            None => None,
            Some((name, text)) => Some(
                Bankgiro::parse(text.trim())
                    .map_err(|problem| SettingsError::new(name, problem.to_string()))?,
            ),
        };
        let client_funds = match vars.text("CSMS_CLIENT_FUNDS_IBAN", &[]) {
            None => None,
            Some((name, text)) => Some(csms_billing::pain001::Debtor {
                iban: csms_domain::tenant::Iban::parse(&text)
                    .map_err(|problem| SettingsError::new(name, problem.to_string()))?,
                bic: match vars.text("CSMS_CLIENT_FUNDS_BIC", &[]) {
                    None => None,
                    Some((name, text)) => Some(
                        csms_domain::tenant::Bic::parse(&text)
                            .map_err(|problem| SettingsError::new(name, problem.to_string()))?,
                    ),
                },
                name: match vars.text("CSMS_CLIENT_FUNDS_NAME", &[]) {
                    None => "CSMS client funds".to_owned(),
                    Some((name, text)) if text.trim().chars().count() > 140 => {
                        return Err(SettingsError::new(name, "at most 140 characters"))
                    }
                    Some((_, text)) => text.trim().to_owned(),
                },
            }),
        };
        let charger_hold = rust_decimal::Decimal::from(vars.number(
            "CSMS_CHARGER_HOLD_AMOUNT",
            &[],
            300,
            10..=10_000,
        )?);
        let capture_retry = csms_billing::charger_pay::CaptureRetry {
            first: chrono::TimeDelta::seconds(vars.number(
                "CSMS_CHARGER_CAPTURE_RETRY_SECONDS",
                &[],
                600,
                1..=3_600,
            )? as i64),
            attempts: vars.number(
                "CSMS_CHARGER_CAPTURE_ATTEMPTS",
                &[],
                8,
                2..=u64::from(csms_billing::charger_pay::CaptureRetry::MAX_ATTEMPTS),
            )? as u32,
        };
        let stripe = StripeSettings::read(&vars)?;
        let swish = SwishSettings::read(&vars)?;
        let public_url = match vars.text("CSMS_PUBLIC_URL", &[]) {
            None => None,
            Some((name, text)) => {
                Some(PublicUrl::parse(&text).map_err(|problem| SettingsError::new(name, problem))?)
            }
        };
        let map_tiles = match vars.text("CSMS_MAP_TILE_URL", &[]) {
            None => csms_api::MapTiles::default(),
            Some((name, text)) => {
                let attribution = vars.text("CSMS_MAP_TILE_ATTRIBUTION", &[]).map(|(_, a)| a);
                csms_api::MapTiles::parse(&text, attribution.as_deref())
                    .map_err(|problem| SettingsError::new(name, problem))?
            }
        };
        let webhooks = WebhookSettings {
            retry: match vars.text("CSMS_WEBHOOK_RETRY_SCHEDULE", &[]) {
                None => RetrySchedule::default(),
                Some((var, raw)) => {
                    RetrySchedule::parse(&raw).map_err(|e| SettingsError::new(var, e))?
                }
            },
            allow_private: vars.flag("CSMS_WEBHOOK_ALLOW_PRIVATE", local)?,
            subscription_cache: Duration::from_secs(if local { 3600 } else { 30 }),
        };
        let pricing = PricingSettings {
            timeout: vars.seconds(
                "CSMS_PRICING_TIMEOUT_SECONDS",
                &["PRICING_TIMEOUT_SECONDS"],
                if local {
                    LOCAL_PRICING_TIMEOUT
                } else {
                    LAMBDA_PRICING_TIMEOUT
                }
                .as_secs(),
                1..=3_600,
            )?,
            max_duration: TimeDelta::days(vars.number(
                "CSMS_PRICING_MAX_DAYS",
                &["PRICING_MAX_DAYS"],
                csms_domain::pricing::engine::DEFAULT_MAX_DURATION.num_days() as u64,
                1..=366,
            )? as i64),
            attempts: vars.number("CSMS_PRICING_ATTEMPTS", &[], 3, 1..=20)? as u32,
            backoff: vars.seconds("CSMS_PRICING_BACKOFF_SECONDS", &[], 5, 0..=3_600)?,
            retry: vars.seconds("CSMS_PRICING_RETRY_SECONDS", &[], 600, 1..=86_400)?,
        };
        let load = LoadSettings {
            debounce: Duration::from_millis(vars.number(
                "CSMS_LOAD_DEBOUNCE_MS",
                &[],
                500,
                0..=60_000,
            )?),
            interval: vars.seconds("CSMS_LOAD_INTERVAL_SECONDS", &[], 60, 1..=3_600)?,
        };
        // A day: chargers send meter values every few minutes while
        // charging, but a car that is full may be left plugged in overnight.
        let sessions = SessionSettings {
            idle: vars.seconds("CSMS_SESSION_IDLE_SECONDS", &[], 86_400, 1..=90 * 86_400)?,
            sweep: vars.seconds("CSMS_SESSION_SWEEP_SECONDS", &[], 300, 1..=86_400)?,
        };
        let bookings = BookingSettings {
            lead: vars.seconds("CSMS_BOOKING_LEAD_SECONDS", &[], 300, 0..=86_400)?,
            grace: vars.seconds("CSMS_BOOKING_GRACE_SECONDS", &[], 900, 0..=86_400)?,
            sweep: vars.seconds("CSMS_BOOKING_SWEEP_SECONDS", &[], 60, 1..=3_600)?,
        };
        let monitor = MonitorSettings {
            offline_grace: vars.seconds("CSMS_OFFLINE_GRACE_SECONDS", &[], 600, 1..=7 * 86_400)?,
            sweep: vars.seconds("CSMS_MONITOR_SWEEP_SECONDS", &[], 60, 1..=3_600)?,
        };
        let billing = BillingSettings {
            sweep: vars.seconds("CSMS_BILLING_SWEEP_SECONDS", &[], 3_600, 1..=86_400)?,
        };
        let cloudfront_origin = cloudfront_origin(&vars)?;
        let spot = SpotSettings::from_lookup(|k| get(k))
            .map_err(|e| SettingsError::new(e.var, e.message))?;
        Ok(Settings {
            runtime,
            charger,
            admin_key,
            secure_cookies,
            public_url,
            map_tiles,
            mail_from,
            bankgiro,
            client_funds,
            charger_hold,
            capture_retry,
            stripe,
            swish,
            webhooks,
            pricing,
            load,
            sessions,
            bookings,
            monitor,
            billing,
            spot,
            aws: AwsResources::read(&vars),
            cloudfront_origin,
        })
    }
}

/// The origin secret when the stack is behind CloudFront (see
/// [`Settings::cloudfront_origin`]). A secret without the flag is refused
/// too: whoever set it expects it to be checked.
fn cloudfront_origin(vars: &Vars) -> Result<Option<Secret>, SettingsError> {
    const SECRET: &str = "CSMS_ORIGIN_VERIFY_SECRET";
    let behind = vars.flag("CSMS_BEHIND_CLOUDFRONT", false)?;
    match (behind, vars.text(SECRET, &[])) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(SettingsError::new(
            SECRET,
            "is only checked behind CloudFront: set CSMS_BEHIND_CLOUDFRONT=true too, or unset it",
        )),
        (true, None) => Err(SettingsError::new(
            SECRET,
            "is required with CSMS_BEHIND_CLOUDFRONT=true: without it a client that reaches the API directly could name any CloudFront-Viewer-Address",
        )),
        (true, Some((_, s))) if (32..=256).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(Secret::new(s)))
        }
        (true, Some(_)) => Err(SettingsError::new(
            SECRET,
            "must be 32 to 256 visible ASCII characters (no spaces)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(runtime: Runtime, pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(runtime, &move |k| map.get(k).cloned())
    }

    #[test]
    fn behind_cloudfront_is_off_by_default_and_needs_the_origin_secret() {
        assert!(read(Runtime::Aws, &[]).unwrap().cloudfront_origin.is_none());
        let secret = "Zr8c1VtqP0aQx3mW7nYb2kLd9sF4hJ6g";
        let on = read(
            Runtime::Aws,
            &[
                ("CSMS_BEHIND_CLOUDFRONT", "true"),
                ("CSMS_ORIGIN_VERIFY_SECRET", secret),
            ],
        )
        .unwrap();
        assert_eq!(on.cloudfront_origin.unwrap().expose(), secret);
        let e = read(Runtime::Aws, &[("CSMS_BEHIND_CLOUDFRONT", "yes")])
            .err()
            .unwrap();
        assert_eq!(e.variable, "CSMS_BEHIND_CLOUDFRONT");
        for pairs in [
            // Behind CloudFront without the secret, or with a weak one.
            &[("CSMS_BEHIND_CLOUDFRONT", "true")][..],
            &[
                ("CSMS_BEHIND_CLOUDFRONT", "true"),
                ("CSMS_ORIGIN_VERIFY_SECRET", "short"),
            ],
            &[
                ("CSMS_BEHIND_CLOUDFRONT", "true"),
                (
                    "CSMS_ORIGIN_VERIFY_SECRET",
                    "with a space in it, 32 characters long",
                ),
            ],
            // A secret that nothing would check.
            &[("CSMS_ORIGIN_VERIFY_SECRET", secret)],
        ] {
            let Err(e) = read(Runtime::Aws, pairs) else {
                panic!("refused")
            };
            assert_eq!(e.variable, "CSMS_ORIGIN_VERIFY_SECRET", "{pairs:?}");
        }
    }

    #[test]
    fn nothing_set_gives_the_documented_defaults() {
        let s = read(Runtime::Local, &[]).unwrap();
        assert_eq!(s.charger.heartbeat_interval_secs, 300);
        assert_eq!(s.charger.pending_boot_interval_secs, 60);
        assert!(s.admin_key.is_none());
        assert!(!s.secure_cookies, "plain HTTP locally");
        assert!(read(Runtime::Aws, &[]).unwrap().secure_cookies);
        let off = read(Runtime::Aws, &[("CSMS_SECURE_COOKIES", "false")]).unwrap();
        assert!(!off.secure_cookies);
        assert!(s.public_url.is_none());
        // The map's tiles: OpenStreetMap's unless configured, and then
        // with whose tiles they are.
        assert_eq!(s.map_tiles, csms_api::MapTiles::default());
        let tiles = read(
            Runtime::Aws,
            &[
                (
                    "CSMS_MAP_TILE_URL",
                    "https://tiles.example.se/{z}/{x}/{y}.png",
                ),
                ("CSMS_MAP_TILE_ATTRIBUTION", "© Kartbolaget"),
            ],
        )
        .unwrap();
        assert_eq!(tiles.map_tiles.origin(), "https://tiles.example.se");
        let bad = read(
            Runtime::Aws,
            &[(
                "CSMS_MAP_TILE_URL",
                "https://tiles.example.se/{z}/{x}/{y}.png",
            )],
        )
        .unwrap_err();
        assert_eq!(bad.variable, "CSMS_MAP_TILE_URL");
        assert_eq!(s.mail_from.as_ref().unwrap().address(), "noreply@localhost");
        assert!(read(Runtime::Aws, &[]).unwrap().mail_from.is_none());
        let from = read(
            Runtime::Aws,
            &[("CSMS_MAIL_FROM", "Laddning <noreply@example.se>")],
        )
        .unwrap();
        assert_eq!(from.mail_from.unwrap().address(), "noreply@example.se");
        assert!(read(Runtime::Local, &[]).unwrap().bankgiro.is_none());
        let bg = read(Runtime::Aws, &[("CSMS_BANKGIRO", " 5050-1055 ")]).unwrap();
        assert_eq!(bg.bankgiro.unwrap().as_str(), "5050-1055");
        let bad = read(Runtime::Aws, &[("CSMS_BANKGIRO", "5050-1056")]).unwrap_err();
        assert_eq!(bad.variable, "CSMS_BANKGIRO");
        let bad = read(Runtime::Aws, &[("CSMS_MAIL_FROM", "noreply")]).unwrap_err();
        assert_eq!(bad.variable, "CSMS_MAIL_FROM");
        let url = read(
            Runtime::Aws,
            &[("CSMS_PUBLIC_URL", "https://csms.example.com/")],
        )
        .unwrap();
        assert_eq!(url.public_url.unwrap().as_str(), "https://csms.example.com");
        let bad = read(Runtime::Aws, &[("CSMS_PUBLIC_URL", "csms.example.com")]).unwrap_err();
        assert_eq!(bad.variable, "CSMS_PUBLIC_URL");
        assert!(s.webhooks.allow_private);
        assert_eq!(s.pricing.timeout, Duration::from_secs(30));
        assert_eq!(s.pricing.max_duration, TimeDelta::days(31));
        assert_eq!(s.sessions.idle, Duration::from_secs(86_400));
        assert_eq!(s.load.debounce, Duration::from_millis(500));
        let aws = read(Runtime::Aws, &[]).unwrap();
        assert!(
            !aws.webhooks.allow_private,
            "AWS reaches public webhooks only"
        );
        assert_eq!(aws.pricing.timeout, Duration::from_secs(10));
    }

    #[test]
    fn every_error_names_its_variable() {
        for (var, bad) in [
            ("CSMS_HEARTBEAT_INTERVAL", "600"),
            ("CSMS_PENDING_BOOT_INTERVAL", "five"),
            ("CSMS_ADMIN_API_KEY", "short"),
            ("CSMS_WEBHOOK_RETRY_SCHEDULE", "a,b"),
            ("CSMS_WEBHOOK_ALLOW_PRIVATE", "maybe"),
            ("CSMS_PRICING_TIMEOUT_SECONDS", "0"),
            ("CSMS_PRICING_MAX_DAYS", "400"),
            ("CSMS_PRICING_ATTEMPTS", "-1"),
            ("CSMS_PRICING_BACKOFF_SECONDS", "1e3"),
            ("CSMS_PRICING_RETRY_SECONDS", "0"),
            ("CSMS_LOAD_DEBOUNCE_MS", "60001"),
            ("CSMS_LOAD_INTERVAL_SECONDS", "0"),
            ("CSMS_SESSION_IDLE_SECONDS", "0"),
            ("CSMS_SESSION_SWEEP_SECONDS", "x"),
            ("CSMS_SPOT_ZONES", "XX9"),
        ] {
            let e = read(Runtime::Aws, &[(var, bad)]).unwrap_err();
            assert_eq!(e.variable, var, "{bad:?} in {var}: {e}");
            assert!(e.to_string().contains(var), "{e}");
        }
    }

    #[test]
    fn an_older_documented_name_still_works_and_the_new_one_wins() {
        let s = read(Runtime::Aws, &[("PRICING_TIMEOUT_SECONDS", "20")]).unwrap();
        assert_eq!(s.pricing.timeout, Duration::from_secs(20));
        let s = read(
            Runtime::Aws,
            &[
                ("PRICING_TIMEOUT_SECONDS", "20"),
                ("CSMS_PRICING_TIMEOUT_SECONDS", "25"),
            ],
        )
        .unwrap();
        assert_eq!(s.pricing.timeout, Duration::from_secs(25));
        let e = read(Runtime::Aws, &[("PRICING_MAX_DAYS", "0")]).unwrap_err();
        assert_eq!(e.variable, "PRICING_MAX_DAYS", "the name the operator set");
        let s = read(Runtime::Aws, &[("LOAD_QUEUE_URL", "https://sqs/q.fifo")]).unwrap();
        assert_eq!(s.aws.load_queue.require().unwrap(), "https://sqs/q.fifo");
    }

    #[test]
    fn a_missing_resource_is_an_error_naming_it_when_required() {
        let s = read(Runtime::Aws, &[("CSMS_PRICING_QUEUE", "  ")]).unwrap();
        let e = s.aws.pricing_queue.require().unwrap_err();
        assert_eq!(e.variable, "CSMS_PRICING_QUEUE");
        assert!(e.to_string().contains("sessions to price"), "{e}");
        assert_eq!(s.aws.command_queue.get(), None);
    }

    #[test]
    fn capture_retries_are_bounded() {
        let r = read(Runtime::Local, &[]).unwrap().capture_retry;
        assert_eq!(r, csms_billing::charger_pay::CaptureRetry::DEFAULT);
        let r = read(
            Runtime::Local,
            &[
                ("CSMS_CHARGER_CAPTURE_RETRY_SECONDS", "30"),
                ("CSMS_CHARGER_CAPTURE_ATTEMPTS", "3"),
            ],
        )
        .unwrap()
        .capture_retry;
        assert_eq!((r.first.num_seconds(), r.attempts), (30, 3));
        for (var, bad) in [
            ("CSMS_CHARGER_CAPTURE_ATTEMPTS", "11"),
            ("CSMS_CHARGER_CAPTURE_ATTEMPTS", "1"),
            ("CSMS_CHARGER_CAPTURE_RETRY_SECONDS", "0"),
            ("CSMS_CHARGER_CAPTURE_RETRY_SECONDS", "3601"),
        ] {
            assert_eq!(
                read(Runtime::Local, &[(var, bad)]).unwrap_err().variable,
                var
            );
        }
    }

    #[test]
    fn swish_needs_its_certificate() {
        assert!(read(Runtime::Local, &[]).unwrap().swish.is_none());
        let e = read(Runtime::Local, &[("CSMS_SWISH_PAYEE_ALIAS", "12345")]).unwrap_err();
        assert_eq!(e.variable, "CSMS_SWISH_PAYEE_ALIAS");
        let e = read(Runtime::Local, &[("CSMS_SWISH_PAYEE_ALIAS", "1231181189")]).unwrap_err();
        assert_eq!(e.variable, "CSMS_SWISH_CERT");
        let e = read(
            Runtime::Local,
            &[
                ("CSMS_SWISH_PAYEE_ALIAS", "1231181189"),
                ("CSMS_SWISH_CERT", "/no/such/file.pem"),
            ],
        )
        .unwrap_err();
        assert!(e.to_string().contains("/no/such/file.pem"), "{e}");
        let s = read(
            Runtime::Local,
            &[
                ("CSMS_SWISH_PAYEE_ALIAS", "1231181189"),
                ("CSMS_SWISH_CERT", "-----BEGIN CERTIFICATE-----"),
                ("CSMS_SWISH_KEY", "-----BEGIN PRIVATE KEY-----"),
            ],
        )
        .unwrap()
        .swish
        .unwrap();
        assert_eq!(s.api_url, SwishSettings::DEFAULT_API);
        assert!(!format!("{s:?}").contains("PRIVATE"));
    }

    #[test]
    fn stripe_needs_all_its_keys() {
        assert!(read(Runtime::Local, &[]).unwrap().stripe.is_none());
        let e = read(Runtime::Local, &[("CSMS_STRIPE_SECRET_KEY", "sk_test_1")]).unwrap_err();
        assert_eq!(e.variable, "CSMS_STRIPE_PUBLISHABLE_KEY");
        let e = read(Runtime::Local, &[("CSMS_STRIPE_SECRET_KEY", "pk_test_1")]).unwrap_err();
        assert_eq!(e.variable, "CSMS_STRIPE_SECRET_KEY");
        let s = read(
            Runtime::Local,
            &[
                ("CSMS_STRIPE_SECRET_KEY", "sk_test_1"),
                ("CSMS_STRIPE_PUBLISHABLE_KEY", "pk_test_1"),
                ("CSMS_STRIPE_WEBHOOK_SECRET", "whsec_1"),
                ("CSMS_STRIPE_API_URL", "http://127.0.0.1:8420/"),
            ],
        )
        .unwrap();
        assert_eq!(s.stripe.unwrap().api_url, "http://127.0.0.1:8420");
    }

    #[test]
    fn secrets_never_print() {
        let s = read(
            Runtime::Local,
            &[
                ("CSMS_ADMIN_API_KEY", "0123456789abcdef-secret"),
                ("CSMS_ENTSOE_TOKEN", "entsoe-secret"),
                ("CSMS_SPOT_EUR_RATE", "SEK:11.05"),
                ("CSMS_STRIPE_SECRET_KEY", "sk_test_secret"),
                ("CSMS_STRIPE_PUBLISHABLE_KEY", "pk_test_1"),
                ("CSMS_STRIPE_WEBHOOK_SECRET", "whsec_secret"),
                ("CSMS_BEHIND_CLOUDFRONT", "true"),
                (
                    "CSMS_ORIGIN_VERIFY_SECRET",
                    "origin-verify-secret-0123456789ab",
                ),
            ],
        )
        .unwrap();
        assert!(s.cloudfront_origin.is_some());
        assert_eq!(
            s.stripe.as_ref().unwrap().api_url,
            StripeSettings::DEFAULT_API
        );
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
