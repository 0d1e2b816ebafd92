//! What the API crate's integration tests share.

use chrono::TimeDelta;
use csms_core::ports::Clock;
use csms_domain::Timestamp;
use std::sync::Mutex;

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
