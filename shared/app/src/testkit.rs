//! Adapters for tests that drive the API or the services without chargers,
//! queues or the network: every send finds the charger gone, commands get
//! no timers, queued work is dropped, webhooks are never reached, mail is
//! kept in memory.

use crate::settings::SettingsError;
use crate::wiring::Adapters;
use async_trait::async_trait;
use csms_commands::service::{CommandDispatch, CommandTimers, NoTimers};
use csms_kernel::ports::{ConnectionSender, DocumentKey, DocumentStore, SendError, StoreResult};
use csms_load::{LoadTrigger, NoLoad};
use csms_notify::deliver::TransportReply;
use csms_notify::mail::{Mailer, MemoryOutbox, Sender};
use csms_notify::target::TargetPolicy;
use csms_notify::{DeliveryQueue, WebhookTransport};
use csms_pricing::{NoPricing, PricingQueue};
use std::sync::Arc;
use std::time::Duration;

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAdapters;

/// Every send fails as if the charger were gone.
pub struct NoSockets;

#[async_trait]
impl ConnectionSender for NoSockets {
    async fn send(&self, _: &str, _: &str) -> Result<(), SendError> {
        Err(SendError::Gone)
    }
    async fn close(&self, _: &str) -> Result<(), SendError> {
        Err(SendError::Gone)
    }
}

/// Accepts deliveries and forgets them.
struct DroppedDeliveries;

#[async_trait]
impl DeliveryQueue for DroppedDeliveries {
    async fn enqueue(&self, _: &str, _: Duration) -> Result<(), String> {
        Ok(())
    }
}

/// Reaches nothing.
struct Unreachable;

#[async_trait]
impl WebhookTransport for Unreachable {
    async fn post(
        &self,
        _: &str,
        _: &[(&'static str, String)],
        _: &str,
    ) -> Result<TransportReply, String> {
        Err("unreachable in tests".into())
    }
}

impl Adapters for NoAdapters {
    fn sender(&self) -> Result<Arc<dyn ConnectionSender>, SettingsError> {
        Ok(Arc::new(NoSockets))
    }
    fn command_timers(&self) -> Result<Arc<dyn CommandTimers>, SettingsError> {
        Ok(Arc::new(NoTimers))
    }
    fn command_dispatch(&self) -> Result<Option<Arc<dyn CommandDispatch>>, SettingsError> {
        Ok(None)
    }
    fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, SettingsError> {
        Ok(Arc::new(DroppedDeliveries))
    }
    fn pricing_queue(&self) -> Result<Arc<dyn PricingQueue>, SettingsError> {
        Ok(Arc::new(NoPricing))
    }
    fn load_trigger(&self) -> Result<Arc<dyn LoadTrigger>, SettingsError> {
        Ok(Arc::new(NoLoad))
    }
    fn webhook_transport(&self, _: TargetPolicy) -> Arc<dyn WebhookTransport> {
        Arc::new(Unreachable)
    }
    /// Mail kept in memory, listed through the outbox.
    fn mailer(&self, from: Option<&Sender>) -> Arc<dyn Mailer> {
        let from = from.cloned().unwrap_or_else(|| {
            Sender::parse(crate::settings::LOCAL_MAIL_FROM).expect("the local sender is an address")
        });
        Arc::new(MemoryOutbox::new(from))
    }
    /// Documents kept in memory.
    fn documents(&self) -> Result<Arc<dyn DocumentStore>, SettingsError> {
        Ok(Arc::new(MemoryDocuments::default()))
    }
    fn swish_gateway(
        &self,
        _: &crate::settings::SwishSettings,
    ) -> Result<Arc<dyn csms_billing::swish::SwishGateway>, SettingsError> {
        Ok(Arc::new(UnreachableSwish))
    }
    /// A Stripe account that verifies webhooks with the configured secret
    /// and is never reached.
    fn card_gateway(
        &self,
        stripe: &crate::settings::StripeSettings,
    ) -> Arc<dyn csms_billing::card::CardGateway> {
        Arc::new(UnreachableStripe {
            publishable_key: stripe.publishable_key.clone(),
            webhook_secret: stripe.webhook_secret.expose().to_owned(),
        })
    }
}

/// A Stripe account in tests without one: its keys, no API.
pub struct UnreachableStripe {
    pub publishable_key: String,
    pub webhook_secret: String,
}

#[async_trait]
impl csms_billing::card::CardGateway for UnreachableStripe {
    fn publishable_key(&self) -> &str {
        &self.publishable_key
    }
    fn webhook_secret(&self) -> &str {
        &self.webhook_secret
    }
    async fn create_intent(
        &self,
        _: &csms_billing::card::IntentRequest,
    ) -> Result<csms_billing::card::CardIntent, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
    async fn create_customer(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<String, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
    async fn create_setup(
        &self,
        _: &str,
    ) -> Result<csms_billing::card::CardSetup, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
    async fn get_setup(
        &self,
        _: &str,
    ) -> Result<csms_billing::card::CardSetup, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
    async fn get_card(
        &self,
        _: &str,
    ) -> Result<csms_billing::card::CardDetails, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
    async fn charge_saved(
        &self,
        _: &csms_billing::card::IntentRequest,
        _: &str,
        _: &str,
    ) -> Result<csms_billing::card::CardIntent, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
    async fn detach_card(&self, _: &str) -> Result<(), csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
}

/// A Swish agreement in tests without one.
pub struct UnreachableSwish;

#[async_trait]
impl csms_billing::swish::SwishGateway for UnreachableSwish {
    fn payee_alias(&self) -> &str {
        "1231181189"
    }
    async fn create(
        &self,
        _: &csms_billing::swish::SwishRequest,
    ) -> Result<csms_billing::swish::SwishCreated, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
    async fn get(
        &self,
        _: &str,
    ) -> Result<csms_billing::swish::SwishPayment, csms_billing::card::GatewayError> {
        Err(unreachable_stripe())
    }
}

fn unreachable_stripe() -> csms_billing::card::GatewayError {
    csms_billing::card::GatewayError::Unavailable("unreachable in tests".into())
}

/// Documents in memory (a test's).
#[derive(Default)]
pub struct MemoryDocuments(std::sync::Mutex<std::collections::BTreeMap<DocumentKey, Vec<u8>>>);

#[async_trait]
impl DocumentStore for MemoryDocuments {
    async fn put_document(
        &self,
        key: &DocumentKey,
        _content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), bytes.to_vec());
        Ok(())
    }
    async fn get_document(&self, key: &DocumentKey) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned())
    }
}
