//! The one wiring of the services. Every Lambda, the local runner and the
//! tests build their services here, so a collaborator added to a service is
//! added once: the three places that used to wire by hand drifted (one
//! signalled load balancing where another did not).
//!
//! What differs between the runtimes is only the [`Adapters`]: the queues
//! behind the ports (SQS in AWS, channels locally, fakes in tests) and what
//! sends to a charger's socket. An adapter that a service needs and the
//! runtime lacks is an error naming the missing setting when the service is
//! built — at start, since the binaries build their services before they
//! serve — never a no-op that quietly drops signals.

use crate::settings::{Settings, SettingsError, StripeSettings, SwishSettings};
use csms_api::ApiState;
use csms_billing::card::CardGateway;
use csms_billing::delivery::Delivery;
use csms_billing::swish::SwishGateway;
use csms_billing::BillingService;
use csms_charging::charger::ChargerService;
use csms_commands::service::{CommandDispatch, CommandService, CommandTimers};
use csms_kernel::events::{Bus, EventBus, Subscriber};
use csms_kernel::ports::{Clock, ConnectionSender, DocumentStore, Store};
use csms_load::{LoadService, LoadSubscriber, LoadTrigger};
use csms_notify::mail::people::PeopleMail;
use csms_notify::mail::reminders::ReminderMail;
use csms_notify::mail::{Mailer, Sender};
use csms_notify::target::TargetPolicy;
use csms_notify::{Deliverer, DeliveryQueue, WebhookPublisher, WebhookTransport};
use csms_pricing::spot::{HttpGet, SpotFetcher};
use csms_pricing::{PricingQueue, PricingService, PricingSubscriber};
use csms_reports::UsageSubscriber;
use std::sync::{Arc, OnceLock};

/// How long a payment provider may take to answer one request.
const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// What a runtime plugs into the ports. Each method is asked for when a
/// service that needs it is built; an `Err` names the setting that is missing.
pub trait Adapters: Send + Sync {
    /// Sends frames to a charger's socket and closes it.
    fn sender(&self) -> Result<Arc<dyn ConnectionSender>, SettingsError>;
    /// Times out commands that get no answer.
    fn command_timers(&self) -> Result<Arc<dyn CommandTimers>, SettingsError>;
    /// Hands a submitted command to a dispatcher instead of sending it from
    /// the submitting process. `None`: the submitter sends (the local
    /// runner, and the AWS functions that are the dispatcher).
    fn command_dispatch(&self) -> Result<Option<Arc<dyn CommandDispatch>>, SettingsError>;
    /// Where webhook deliveries are queued.
    fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, SettingsError>;
    /// Where completed sessions are queued for pricing.
    fn pricing_queue(&self) -> Result<Arc<dyn PricingQueue>, SettingsError>;
    /// Where changes that matter to load balancing are signalled.
    fn load_trigger(&self) -> Result<Arc<dyn LoadTrigger>, SettingsError>;
    /// How webhooks are reached (HTTPS under `policy`; a fake in tests).
    fn webhook_transport(&self, policy: TargetPolicy) -> Arc<dyn WebhookTransport>;
    /// How e-mail is sent as `from` (`CSMS_MAIL_FROM`); with `None` a
    /// mailer whose every send says the sender is not configured.
    fn mailer(&self, from: Option<&Sender>) -> Arc<dyn Mailer>;
    /// Where documents (invoice PDFs) are kept: the data dir locally, S3
    /// (`CSMS_DOCUMENTS_BUCKET`) in AWS.
    fn documents(&self) -> Result<Arc<dyn DocumentStore>, SettingsError>;
    /// The Stripe account of `stripe`: HTTPS to its API, the same in every
    /// runtime (a fake in tests).
    fn card_gateway(&self, stripe: &StripeSettings) -> Arc<dyn CardGateway> {
        Arc::new(csms_http_out::stripe::StripeHttp::new(
            &stripe.api_url,
            stripe.secret_key.expose(),
            &stripe.publishable_key,
            stripe.webhook_secret.expose(),
            &stripe.js_url,
            PROVIDER_TIMEOUT,
        ))
    }
    /// The Swish agreement of `swish`: mutual TLS to its API, the same in
    /// every runtime; an error when its certificate does not parse.
    fn swish_gateway(&self, swish: &SwishSettings) -> Result<Arc<dyn SwishGateway>, SettingsError> {
        csms_http_out::swish::SwishHttp::new(
            &swish.api_url,
            &swish.payee_alias,
            &swish.cert_pem,
            &swish.key_pem,
            swish.roots_pem.as_deref(),
            PROVIDER_TIMEOUT,
        )
        .map(|s| Arc::new(s) as Arc<dyn SwishGateway>)
        .map_err(|e| SettingsError::new("CSMS_SWISH_CERT", e))
    }
    /// Subscribers of the runtime's own on the domain-event bus, after the
    /// contexts' (the Lambdas' metrics); none by default.
    fn extra_subscribers(&self) -> Vec<Arc<dyn Subscriber>> {
        Vec::new()
    }
}

/// The services over one store, clock and set of adapters. Built services
/// that hold state shared between callers (the command service's waiters,
/// the webhook publisher's cache) are made once and handed out as clones.
pub struct Wiring {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    adapters: Box<dyn Adapters>,
    webhooks: OnceLock<Arc<WebhookPublisher<dyn Store>>>,
    events: OnceLock<Arc<dyn EventBus>>,
    commands: OnceLock<CommandService<dyn Store>>,
    mailer: OnceLock<Arc<dyn Mailer>>,
    documents: OnceLock<Arc<dyn DocumentStore>>,
}

/// `cell`'s value, made by `make` the first time.
fn once<T: Clone>(
    cell: &OnceLock<T>,
    make: impl FnOnce() -> Result<T, SettingsError>,
) -> Result<T, SettingsError> {
    if let Some(v) = cell.get() {
        return Ok(v.clone());
    }
    let v = make()?;
    Ok(cell.get_or_init(|| v).clone())
}

impl Wiring {
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        adapters: impl Adapters + 'static,
    ) -> Self {
        Wiring {
            settings,
            store,
            clock,
            adapters: Box::new(adapters),
            webhooks: OnceLock::new(),
            events: OnceLock::new(),
            commands: OnceLock::new(),
            mailer: OnceLock::new(),
            documents: OnceLock::new(),
        }
    }

    /// Which webhook URLs may be registered and reached.
    pub fn webhook_policy(&self) -> TargetPolicy {
        TargetPolicy {
            allow_private: self.settings.webhooks.allow_private,
        }
    }

    /// Webhook events: each public event is queued for every subscribed
    /// webhook (one publisher, so its subscription cache is shared).
    pub fn webhooks(&self) -> Result<Arc<WebhookPublisher<dyn Store>>, SettingsError> {
        once(&self.webhooks, || {
            Ok(Arc::new(WebhookPublisher::new(
                self.store.clone(),
                self.clock.clone(),
                self.adapters.delivery_queue()?,
                self.settings.webhooks.subscription_cache,
            )))
        })
    }

    /// The domain-event bus every publishing service gets: load balancing
    /// (signals), webhooks (deliveries), pricing (ended sessions) and mail
    /// to people (a refused booking) as its subscribers, in that order. Each subscriber's queue is required: an
    /// event a context reacts to is never quietly dropped.
    pub fn events(&self) -> Result<Arc<dyn EventBus>, SettingsError> {
        once(&self.events, || {
            let mut subscribers: Vec<Arc<dyn Subscriber>> = vec![
                Arc::new(LoadSubscriber::new(
                    self.load_trigger()?,
                    self.clock.clone(),
                )),
                self.webhooks()?,
                Arc::new(PricingSubscriber::new(self.adapters.pricing_queue()?)),
                Arc::new(PeopleMail::new(self.store.clone(), self.mailer())),
                Arc::new(UsageSubscriber::new(self.store.clone())),
            ];
            // Payments at the charger are captured once their session is priced.
            if self.settings.stripe.is_some() {
                subscribers.push(Arc::new(csms_billing::charger_pay::CaptureSubscriber::new(
                    self.billing_unheard()?,
                )));
            }
            subscribers.extend(self.adapters.extra_subscribers());
            let bus = Arc::new(Bus::new(subscribers)) as Arc<dyn EventBus>;
            // The alarms the store opens itself (records that no longer
            // decode) are told on this bus like every other.
            self.store.announce_alarms_to(bus.clone());
            Ok(bus)
        })
    }

    /// The alarm digests of the people on duty (sent by the monitor sweep).
    pub fn alarm_digests(&self) -> PeopleMail<dyn Store> {
        PeopleMail::new(self.store.clone(), self.mailer())
    }

    /// What sends e-mail (one, so an in-memory outbox is shared).
    pub fn mailer(&self) -> Arc<dyn Mailer> {
        self.mailer
            .get_or_init(|| self.adapters.mailer(self.settings.mail_from.as_ref()))
            .clone()
    }

    /// What sends to chargers' sockets.
    pub fn sender(&self) -> Result<Arc<dyn ConnectionSender>, SettingsError> {
        self.adapters.sender()
    }

    /// Where changes that matter to load balancing go.
    pub fn load_trigger(&self) -> Result<Arc<dyn LoadTrigger>, SettingsError> {
        self.adapters.load_trigger()
    }

    /// Commands to stations.
    pub fn commands(&self) -> Result<CommandService<dyn Store>, SettingsError> {
        once(&self.commands, || {
            let service = CommandService::new(
                self.store.clone(),
                self.clock.clone(),
                self.adapters.sender()?,
                self.adapters.command_timers()?,
            )
            .with_events(self.events()?);
            Ok(match self.adapters.command_dispatch()? {
                Some(dispatch) => service.with_dispatch(dispatch),
                None => service,
            })
        })
    }

    /// Charger messages without command replies: the idle-session sweep,
    /// whose closed sessions are announced and priced like any other.
    pub fn charger(&self) -> Result<ChargerService<dyn Store>, SettingsError> {
        Ok(ChargerService::new(
            self.store.clone(),
            self.clock.clone(),
            self.settings.charger.clone(),
        )
        .with_events(self.events()?))
    }

    /// Charger messages from a socket: with the answers to commands
    /// resolved by the command service.
    pub fn socket_charger(&self) -> Result<ChargerService<dyn Store>, SettingsError> {
        Ok(self.charger()?.with_replies(Arc::new(self.commands()?)))
    }

    /// Session pricing, announcing priced sessions.
    pub fn pricing(&self) -> Result<PricingService<dyn Store>, SettingsError> {
        Ok(PricingService::new(self.store.clone(), self.clock.clone())
            .with_events(self.events()?)
            .with_max_duration(self.settings.pricing.max_duration))
    }

    /// Load balancing, sending its limits through the command service.
    pub fn load(&self) -> Result<LoadService<dyn Store>, SettingsError> {
        Ok(
            LoadService::new(self.store.clone(), self.clock.clone(), self.commands()?)
                .with_events(self.events()?),
        )
    }

    /// Webhook delivery, reaching only what the API let keys register.
    pub fn deliverer(&self) -> Result<Deliverer<dyn Store>, SettingsError> {
        Ok(Deliverer::new(
            self.store.clone(),
            self.clock.clone(),
            self.adapters.webhook_transport(self.webhook_policy()),
            self.adapters.delivery_queue()?,
            self.settings.webhooks.retry.clone(),
        )
        .with_events(self.events()?))
    }

    /// The spot-price fetcher with the configured sources, reading through
    /// `http` (HTTPS in the binaries, a fake in tests); its alarm is told
    /// on the event bus.
    pub fn spot_fetcher(
        &self,
        http: Arc<dyn HttpGet>,
    ) -> Result<SpotFetcher<dyn Store>, SettingsError> {
        Ok((self.settings.spot)
            .fetcher(self.store.clone(), self.clock.clone(), http)
            .with_events(self.events()?))
    }

    /// Invoices and the ledger of client funds; issued invoices are
    /// rendered to the document store and mailed; what happens to an
    /// invoice is published on the event bus (the `invoice.*` webhooks).
    pub fn billing(&self) -> Result<BillingService<dyn Store>, SettingsError> {
        Ok(self.billing_unheard()?.with_events(self.events()?))
    }

    /// [`Self::billing`] without the event bus: for the bus's own
    /// subscriber (capturing payments at the charger, which changes no
    /// invoice), which the bus is being built with.
    fn billing_unheard(&self) -> Result<BillingService<dyn Store>, SettingsError> {
        let documents = once(&self.documents, || self.adapters.documents())?;
        let billing =
            BillingService::new(self.store.clone(), self.clock.clone()).with_delivery(Delivery {
                documents,
                mailer: self.mailer(),
                bankgiro: self.settings.bankgiro.clone(),
            });
        let billing = match &self.settings.stripe {
            Some(stripe) => billing.with_cards(self.adapters.card_gateway(stripe)),
            None => billing,
        };
        let billing = billing
            .with_charger_hold(self.settings.charger_hold)
            .with_capture_retry(self.settings.capture_retry);
        let billing = match &self.settings.client_funds {
            Some(debtor) => billing.with_payouts(debtor.clone()),
            None => billing,
        };
        Ok(match &self.settings.swish {
            Some(swish) => billing.with_swish(self.adapters.swish_gateway(swish)?),
            None => billing,
        })
    }

    /// The mail of the reminders dunning records.
    pub fn reminder_mail(&self) -> ReminderMail<dyn Store> {
        ReminderMail::new(
            self.store.clone(),
            self.mailer(),
            // The client-funds Bankgiro the invoices print (`CSMS_BANKGIRO`).
            self.settings.bankgiro.as_ref().map(ToString::to_string),
        )
    }

    /// The day's billing over every organisation.
    pub fn billing_sweep(&self) -> Result<crate::billing_sweep::BillingSweep, SettingsError> {
        Ok(crate::billing_sweep::BillingSweep {
            billing: self.billing()?,
            reminder_mail: Arc::new(self.reminder_mail()),
            commands: self.commands()?,
            store: self.store.clone(),
            clock: self.clock.clone(),
        })
    }

    /// What the API handlers need.
    pub fn api_state(&self) -> Result<ApiState, SettingsError> {
        Ok(ApiState {
            store: self.store.clone(),
            clock: self.clock.clone(),
            admin_key: self.settings.admin_key.clone(),
            secure_cookies: self.settings.secure_cookies,
            commands: self.commands()?,
            events: self.events()?,
            webhook_subscriptions: self.webhooks()?,
            load: self.load()?,
            load_trigger: self.load_trigger()?,
            webhook_policy: self.webhook_policy(),
            public_url: self.settings.public_url.clone(),
            map_tiles: self.settings.map_tiles.clone(),
            mailer: self.mailer(),
            offline_grace: self.settings.monitor.offline_grace(),
            billing: self.billing()?,
            reminder_mail: Arc::new(self.reminder_mail()),
        })
    }
}
