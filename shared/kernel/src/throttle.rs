//! Back-off for guessable secrets: station passwords and API keys.
//!
//! One [`Throttle`] counts failures per key (a station id, a source address)
//! in this process's memory. The first [`ThrottlePolicy::free_failures`]
//! failures cost nothing; every further one locks the key for twice as long
//! as the one before (from [`ThrottlePolicy::base_lockout`] up to
//! [`ThrottlePolicy::max_lockout`]). While a key is locked, or while as many
//! checks are running for it as it has free failures left, a new attempt is
//! refused at once — before any expensive check runs, so a flood of
//! concurrent guesses costs one check per free failure, not one per request.
//!
//! Memory is bounded: at most [`ThrottlePolicy::max_keys`] keys are tracked;
//! when the table is full, keys without a recent failure are forgotten, and if
//! it is still full a new key is not tracked (the other throttle and the
//! global bound on concurrent checks still apply). Counts live in memory
//! only: a restart (or, in AWS, another Lambda instance) starts from zero.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many failures are free and how long the lockouts after them last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed without delay (also the number of checks that may run
    /// for one key at the same time).
    pub free_failures: u32,
    /// The lockout after the first failure beyond the free ones; doubles with
    /// every further failure.
    pub base_lockout: Duration,
    pub max_lockout: Duration,
    /// A key with no failure for this long starts from zero again.
    pub forget_after: Duration,
    pub max_keys: usize,
}

impl ThrottlePolicy {
    /// Station ids: a real charger knows its password, so five wrong ones in
    /// a row are an attack or a misconfiguration either way.
    pub const STATIONS: ThrottlePolicy = ThrottlePolicy {
        free_failures: 5,
        base_lockout: Duration::from_secs(1),
        max_lockout: Duration::from_secs(120),
        forget_after: Duration::from_secs(900),
        max_keys: 100_000,
    };
    /// API keys, per source address: keys are long random strings, so any
    /// run of wrong ones is a mistake or a guess; a partner's app behind the
    /// same address as the guesser is locked out too, briefly. The same
    /// allowance as for a charger address.
    pub const API_KEYS: ThrottlePolicy = ThrottlePolicy::ADDRESSES;
    /// Source addresses: many chargers may share one (NAT), so allow more.
    pub const ADDRESSES: ThrottlePolicy = ThrottlePolicy {
        free_failures: 20,
        base_lockout: Duration::from_secs(1),
        max_lockout: Duration::from_secs(300),
        forget_after: Duration::from_secs(900),
        max_keys: 100_000,
    };

    /// The lockout after `failures` failures in a row, if any.
    fn lockout(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.free_failures)?.checked_sub(1)?;
        // 2^beyond, saturating well before it could overflow.
        let factor = 1u32.checked_shl(beyond.min(30)).unwrap_or(u32::MAX);
        Some(
            self.base_lockout
                .saturating_mul(factor)
                .min(self.max_lockout),
        )
    }
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    in_flight: u32,
    locked_until: Option<Instant>,
    last_failure: Option<Instant>,
}

impl Entry {
    fn idle(&self, now: Instant, forget_after: Duration) -> bool {
        self.in_flight == 0
            && self.locked_until.is_none_or(|t| t <= now)
            && self
                .last_failure
                .is_none_or(|t| now.saturating_duration_since(t) >= forget_after)
    }
}

/// The entry of `key`, made if there is room (idle keys are forgotten to make
/// some), with its count reset when it has been idle long enough; `None` when
/// the table is full of keys that are not idle.
fn tracked_entry<'a>(
    keys: &'a mut HashMap<String, Entry>,
    policy: &ThrottlePolicy,
    key: &str,
    now: Instant,
) -> Option<&'a mut Entry> {
    if !keys.contains_key(key) && keys.len() >= policy.max_keys {
        keys.retain(|_, e| !e.idle(now, policy.forget_after));
        if keys.len() >= policy.max_keys {
            return None;
        }
    }
    let entry = keys.entry(key.to_owned()).or_insert(Entry {
        failures: 0,
        in_flight: 0,
        locked_until: None,
        last_failure: None,
    });
    if entry.idle(now, policy.forget_after) {
        entry.failures = 0;
        entry.locked_until = None;
    }
    Some(entry)
}

/// Failure counts per key; cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Throttle {
    policy: ThrottlePolicy,
    keys: Arc<Mutex<HashMap<String, Entry>>>,
}

/// A refused attempt: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub retry_after: Duration,
}

/// What a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Failures in a row for this key, this one included.
    pub failures: u32,
    /// Set when this failure locked the key.
    pub locked_for: Option<Duration>,
}

impl Failure {
    /// Beyond the free failures: worth a warning.
    pub fn repeated(&self) -> bool {
        self.locked_for.is_some()
    }
}

/// One admitted attempt. Report its outcome with [`Attempt::succeeded`] or
/// [`Attempt::failed`]; dropped without either (the check was cancelled), it
/// only frees its place.
#[derive(Debug)]
pub struct Attempt {
    throttle: Option<Throttle>,
    key: String,
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Throttle {
            policy,
            keys: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock cannot leave an entry half-updated
        // in a way that matters (counts only), so take the data anyway.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admit an attempt for `key`, or refuse it while the key is locked or
    /// already has as many checks running as it has free failures left.
    pub fn begin(&self, key: &str, now: Instant) -> Result<Attempt, Locked> {
        let policy = self.policy;
        let mut keys = self.lock();
        let Some(entry) = tracked_entry(&mut keys, &policy, key, now) else {
            return Ok(Attempt {
                throttle: None,
                key: key.to_owned(),
            });
        };
        if let Some(until) = entry.locked_until.filter(|t| *t > now) {
            return Err(Locked {
                retry_after: until - now,
            });
        }
        let allowed = policy.free_failures.saturating_sub(entry.failures).max(1);
        if entry.in_flight >= allowed {
            return Err(Locked {
                retry_after: policy.base_lockout,
            });
        }
        entry.in_flight += 1;
        Ok(Attempt {
            throttle: Some(self.clone()),
            key: key.to_owned(),
        })
    }

    /// For cheap checks that must not bound concurrency (API keys): refused
    /// only while `key` is locked. Report a wrong secret with [`Throttle::fail`].
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Locked> {
        match self.lock().get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(Locked {
                retry_after: until - now,
            }),
            _ => Ok(()),
        }
    }

    /// Count a failure for `key` without an [`Attempt`] (see [`Throttle::check`]).
    pub fn fail(&self, key: &str, now: Instant) -> Failure {
        match self.begin_untracked(key, now) {
            true => self.settle(key, Some((false, now))),
            false => Failure {
                failures: 0,
                locked_for: None,
            },
        }
    }

    /// Make sure `key` has an entry (room permitting) and count one in flight.
    fn begin_untracked(&self, key: &str, now: Instant) -> bool {
        let policy = self.policy;
        let mut keys = self.lock();
        match tracked_entry(&mut keys, &policy, key, now) {
            Some(entry) => {
                entry.in_flight += 1;
                true
            }
            None => false,
        }
    }

    /// Failures in a row recorded for `key` (0 when unknown or forgotten).
    pub fn failures(&self, key: &str) -> u32 {
        self.lock().get(key).map_or(0, |e| e.failures)
    }

    fn settle(&self, key: &str, outcome: Option<(bool, Instant)>) -> Failure {
        let policy = self.policy;
        let mut keys = self.lock();
        let Some(entry) = keys.get_mut(key) else {
            return Failure {
                failures: 0,
                locked_for: None,
            };
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        match outcome {
            None => Failure {
                failures: entry.failures,
                locked_for: None,
            },
            Some((true, _)) => {
                let before = entry.failures;
                if entry.in_flight == 0 {
                    keys.remove(key);
                } else {
                    entry.failures = 0;
                    entry.locked_until = None;
                }
                Failure {
                    failures: before,
                    locked_for: None,
                }
            }
            Some((false, now)) => {
                entry.failures = entry.failures.saturating_add(1);
                entry.last_failure = Some(now);
                let locked_for = policy.lockout(entry.failures);
                if let Some(d) = locked_for {
                    entry.locked_until = Some(now + d);
                }
                Failure {
                    failures: entry.failures,
                    locked_for,
                }
            }
        }
    }
}

impl Attempt {
    /// The secret was right: the key's failures are forgotten. Returns how
    /// many there had been.
    pub fn succeeded(mut self) -> u32 {
        match self.throttle.take() {
            Some(t) => t.settle(&self.key, Some((true, Instant::now()))).failures,
            None => 0,
        }
    }

    /// Like [`Attempt::succeeded`] but keeps the key's count: for keys such
    /// as a shared address, where one success says nothing about the others.
    pub fn finished(mut self) {
        if let Some(t) = self.throttle.take() {
            t.settle(&self.key, None);
        }
    }

    /// The secret was wrong.
    pub fn failed(mut self, now: Instant) -> Failure {
        match self.throttle.take() {
            Some(t) => t.settle(&self.key, Some((false, now))),
            None => Failure {
                failures: 0,
                locked_for: None,
            },
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if let Some(t) = self.throttle.take() {
            t.settle(&self.key, None);
        }
    }
}

/// The address a request came from, as the server decided it (the peer, or
/// the proxy's `X-Forwarded-For` when configured to trust it). The local
/// runner puts it into every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The throttle key: an IPv4 address, or an IPv6 /64 (one subscriber's
    /// network; rotating within it must not reset the count).
    pub fn throttle_key(&self) -> String {
        match self.0 {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = a.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 3,
            base_lockout: Duration::from_secs(1),
            max_lockout: Duration::from_secs(8),
            forget_after: Duration::from_secs(60),
            max_keys: 4,
        }
    }

    #[test]
    fn free_failures_then_doubling_lockouts_up_to_the_cap() {
        let t = Throttle::new(policy());
        let mut now = Instant::now();
        for n in 1..=3 {
            let f = t.begin("CP1", now).unwrap().failed(now);
            assert_eq!(f.failures, n);
            assert_eq!(f.locked_for, None);
        }
        let mut expected = [1, 2, 4, 8, 8].into_iter();
        for _ in 0..5 {
            let f = t.begin("CP1", now).unwrap().failed(now);
            let want = Duration::from_secs(expected.next().unwrap());
            assert_eq!(f.locked_for, Some(want));
            assert_eq!(
                t.begin("CP1", now).unwrap_err().retry_after,
                want,
                "a locked key is refused for the whole lockout"
            );
            now += want;
        }
    }

    #[test]
    fn concurrent_attempts_are_bounded_by_the_free_failures_left() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        let held: Vec<Attempt> = (0..3).map(|_| t.begin("CP1", now).unwrap()).collect();
        assert!(t.begin("CP1", now).is_err(), "a fourth check waits");
        assert!(t.begin("CP2", now).is_ok(), "other keys are not affected");
        drop(held);
        assert!(
            t.begin("CP1", now).is_ok(),
            "dropped attempts free their place"
        );
    }

    #[test]
    fn after_a_lockout_one_attempt_at_a_time() {
        let t = Throttle::new(policy());
        let mut now = Instant::now();
        for _ in 0..4 {
            t.begin("CP1", now).unwrap().failed(now);
        }
        now += Duration::from_secs(1);
        let a = t.begin("CP1", now).unwrap();
        assert!(t.begin("CP1", now).is_err());
        drop(a);
    }

    #[test]
    fn success_resets_the_count_and_finished_keeps_it() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        t.begin("CP1", now).unwrap().failed(now);
        t.begin("CP1", now).unwrap().failed(now);
        t.begin("CP1", now).unwrap().finished();
        assert_eq!(t.failures("CP1"), 2);
        assert_eq!(t.begin("CP1", now).unwrap().succeeded(), 2);
        assert_eq!(t.failures("CP1"), 0);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_period() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        for _ in 0..4 {
            t.begin("CP1", now).unwrap().failed(now);
        }
        let later = now + Duration::from_secs(61);
        t.begin("CP1", later).unwrap().finished();
        assert_eq!(t.failures("CP1"), 0);
    }

    #[test]
    fn a_full_table_forgets_idle_keys_and_stops_tracking_new_ones() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        for k in ["a", "b", "c", "d"] {
            t.begin(k, now).unwrap().failed(now);
        }
        // Full of recent failures: a new key is admitted but not tracked.
        t.begin("e", now).unwrap().failed(now);
        assert_eq!(t.failures("e"), 0);
        // Once the old ones are idle they make room.
        let later = now + Duration::from_secs(61);
        t.begin("e", later).unwrap().failed(later);
        assert_eq!(t.failures("e"), 1);
    }

    #[test]
    fn check_and_fail_lock_without_bounding_concurrency() {
        let t = Throttle::new(policy());
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.check("10.0.0.1", now).is_ok());
            assert_eq!(t.fail("10.0.0.1", now).locked_for, None);
        }
        assert_eq!(
            t.fail("10.0.0.1", now).locked_for,
            Some(Duration::from_secs(1))
        );
        assert!(t.check("10.0.0.1", now).is_err());
        assert!(t.check("10.0.0.1", now + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn ipv6_addresses_are_throttled_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(ClientAddr(a).throttle_key(), ClientAddr(b).throttle_key());
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ClientAddr(mapped).throttle_key(), "192.0.2.7");
    }
}
