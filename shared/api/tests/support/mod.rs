//! What the API crate's integration tests share.

#![allow(dead_code)] // each test file uses its own part

use chrono::TimeDelta;
use csms_api::{router, ApiState, Secret};
use csms_core::commands::service::{CommandService, NoTimers};
use csms_core::ports::{Clock, ConnectionSender, SendError, Store, SystemClock};
use csms_domain::Timestamp;
use std::sync::{Arc, Mutex};

/// A clock the test moves by hand.
pub struct ManualClock(pub Mutex<Timestamp>);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        ManualClock(Mutex::new(t))
    }

    pub fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += TimeDelta::seconds(secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// Every send fails as if the charger were gone.
pub struct NoSockets;

#[async_trait::async_trait]
impl ConnectionSender for NoSockets {
    async fn send(&self, _: &str, _: &str) -> Result<(), SendError> {
        Err(SendError::Gone)
    }
    async fn close(&self, _: &str) -> Result<(), SendError> {
        Err(SendError::Gone)
    }
}

/// The API router over `store`, with `key` as the admin key, no chargers
/// and no webhooks.
pub fn app(store: Arc<dyn Store>, key: &str) -> axum::Router {
    let commands = CommandService::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(NoSockets),
        Arc::new(NoTimers),
    );
    let load =
        csms_core::load::LoadService::new(store.clone(), Arc::new(SystemClock), commands.clone());
    router(ApiState {
        store,
        clock: Arc::new(SystemClock),
        admin_key: Some(Secret::new(key)),
        commands,
        events: Arc::new(csms_core::webhooks::NoEvents),
        webhook_policy: Default::default(),
        load,
        load_trigger: Arc::new(csms_core::load::NoLoad),
    })
}
