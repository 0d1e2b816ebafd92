//! Configuration from the environment, read once at start.

use anyhow::{bail, Context};
use csms_api::Secret;
use csms_core::webhooks::RetrySchedule;
use rand::Rng;
use std::path::PathBuf;

pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    pub admin_key: Secret,
    pub heartbeat_interval_secs: u32,
    /// The boot interval of a `Pending` or `Rejected` answer.
    pub pending_boot_interval_secs: u32,
    pub webhook_retry: RetrySchedule,
    pub webhook_allow_private: bool,
    pub pricing_retry: std::time::Duration,
    /// `None` with `CSMS_SPOT_FETCH=off`.
    pub spot: Option<crate::spot::SpotSchedule>,
    pub load_debounce: std::time::Duration,
    pub load_interval: std::time::Duration,
    /// Open sessions without any message for this long are closed by the CSMS.
    pub session_idle: std::time::Duration,
    /// How often the idle sessions are looked for.
    pub session_sweep: std::time::Duration,
    /// Connection caps and the header-read timeout of the listener.
    pub serve: crate::serve::ServeLimits,
    /// Ping, idle and handshake time limits of charger sockets.
    pub ws: crate::ws::WsLimits,
    /// How many password checks (argon2) may run at once.
    pub password_checks: usize,
    /// `CSMS_TEST_PANICS=1`, honoured by debug builds only (see `ws::WsState`).
    pub test_panics: bool,
}

/// A whole number from `name`, `default` when unset, else within `range`.
fn number(name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => match s.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => bail!(
                "{name} must be a whole number from {} to {}, not {s:?}",
                range.start(),
                range.end()
            ),
        },
    }
}

/// Connection limits, timeouts and the password-check bound.
fn connection_limits(
    heartbeat_interval_secs: u32,
) -> anyhow::Result<(crate::serve::ServeLimits, crate::ws::WsLimits, usize)> {
    use std::time::Duration;
    let max_connections = number("CSMS_MAX_CONNECTIONS", 10_000, 1..=1_000_000)? as usize;
    let max_per_address = number("CSMS_MAX_CONNECTIONS_PER_ADDRESS", 500, 1..=1_000_000)? as usize;
    let header_read = number("CSMS_HEADER_READ_TIMEOUT_SECONDS", 10, 1..=300)?;
    let handshake = number("CSMS_HANDSHAKE_TIMEOUT_SECONDS", 10, 1..=300)?;
    let trust_forwarded_for = match std::env::var("CSMS_TRUST_FORWARDED_FOR").as_deref() {
        Err(_) | Ok("false") | Ok("0") => false,
        Ok("true") | Ok("1") => true,
        Ok(other) => bail!("CSMS_TRUST_FORWARDED_FOR must be true or false, not {other:?}"),
    };
    let ping = number("CSMS_WS_PING_SECONDS", 60, 0..=3_600)?;
    // Twice the heartbeat interval and a minute: a charger that heartbeats
    // on time is never idle for that long, even with one heartbeat lost.
    let idle_default = u64::from(heartbeat_interval_secs) * 2 + 60;
    let idle = number("CSMS_WS_IDLE_TIMEOUT_SECONDS", idle_default, 2..=86_400)?;
    if idle <= u64::from(heartbeat_interval_secs) {
        tracing::warn!(
            idle,
            heartbeat_interval_secs,
            "CSMS_WS_IDLE_TIMEOUT_SECONDS is not above the heartbeat interval: chargers that only heartbeat (and do not answer pings) will be disconnected"
        );
    }
    if ping > 0 && ping >= idle {
        bail!("CSMS_WS_PING_SECONDS ({ping}) must be below CSMS_WS_IDLE_TIMEOUT_SECONDS ({idle}), or 0 for no pings");
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let password_checks = number("CSMS_PASSWORD_CHECKS", cores, 1..=256)? as usize;
    Ok((
        crate::serve::ServeLimits {
            max_connections,
            max_per_address,
            header_read_timeout: Duration::from_secs(header_read),
            trust_forwarded_for,
        },
        crate::ws::WsLimits {
            ping_every: (ping > 0).then(|| Duration::from_secs(ping)),
            idle_timeout: Duration::from_secs(idle),
            handshake_timeout: Duration::from_secs(handshake),
        },
        password_checks,
    ))
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let listen = std::env::var("CSMS_LISTEN").unwrap_or_else(|_| "127.0.0.1:8180".into());
        let data_dir =
            PathBuf::from(std::env::var("CSMS_DATA_DIR").unwrap_or_else(|_| ".data".into()));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let heartbeat_interval_secs = match std::env::var("CSMS_HEARTBEAT_INTERVAL") {
            Err(_) => 300,
            Ok(s) => match s.parse::<u32>() {
                Ok(n) if (10..=540).contains(&n) => n,
                _ => bail!("CSMS_HEARTBEAT_INTERVAL must be 10 to 540 seconds (API Gateway drops idle sockets after 600)"),
            },
        };
        let pending_boot_interval_secs = match std::env::var("CSMS_PENDING_BOOT_INTERVAL") {
            Err(_) => csms_core::charger::ChargerConfig::PENDING_BOOT_INTERVAL_SECS,
            Ok(s) => match s.parse::<u32>() {
                Ok(n) if (10..=540).contains(&n) => n,
                _ => bail!("CSMS_PENDING_BOOT_INTERVAL must be 10 to 540 seconds (API Gateway drops idle sockets after 600)"),
            },
        };
        let admin_key = match std::env::var("CSMS_ADMIN_API_KEY") {
            Ok(k) if k.len() >= 16 => Secret::new(k),
            Ok(_) => bail!("CSMS_ADMIN_API_KEY must be at least 16 characters"),
            Err(_) => Secret::new(stored_or_new_key(&data_dir)?),
        };
        let webhook_retry = match std::env::var("CSMS_WEBHOOK_RETRY_SCHEDULE") {
            Err(_) => RetrySchedule::default(),
            Ok(s) => RetrySchedule::parse(&s).map_err(anyhow::Error::msg)?,
        };
        let webhook_allow_private = match std::env::var("CSMS_WEBHOOK_ALLOW_PRIVATE").as_deref() {
            Err(_) | Ok("true") | Ok("1") => true,
            Ok("false") | Ok("0") => false,
            Ok(other) => bail!("CSMS_WEBHOOK_ALLOW_PRIVATE must be true or false, not {other:?}"),
        };
        let pricing_retry = match std::env::var("CSMS_PRICING_RETRY_SECONDS") {
            Err(_) => 600,
            Ok(s) => match s.parse::<u64>() {
                Ok(n) if (1..=86_400).contains(&n) => n,
                _ => bail!("CSMS_PRICING_RETRY_SECONDS must be 1 to 86400"),
            },
        };
        let spot = spot_schedule()?;
        let load_debounce = match std::env::var("CSMS_LOAD_DEBOUNCE_MS") {
            Err(_) => 500,
            Ok(s) => match s.parse::<u64>() {
                Ok(n) if n <= 60_000 => n,
                _ => bail!("CSMS_LOAD_DEBOUNCE_MS must be 0 to 60000"),
            },
        };
        let load_interval = match std::env::var("CSMS_LOAD_INTERVAL_SECONDS") {
            Err(_) => 60,
            Ok(s) => match s.parse::<u64>() {
                Ok(n) if (1..=3_600).contains(&n) => n,
                _ => bail!("CSMS_LOAD_INTERVAL_SECONDS must be 1 to 3600"),
            },
        };
        // A day: chargers send meter values every few minutes while charging,
        // but a car that is full may be left plugged in for a night.
        let session_idle = number("CSMS_SESSION_IDLE_SECONDS", 86_400, 1..=90 * 86_400)?;
        let session_sweep = number("CSMS_SESSION_SWEEP_SECONDS", 300, 1..=86_400)?;
        let (serve, ws, password_checks) = connection_limits(heartbeat_interval_secs)?;
        let test_panics =
            cfg!(debug_assertions) && std::env::var("CSMS_TEST_PANICS").as_deref() == Ok("1");
        Ok(Config {
            test_panics,
            session_idle: std::time::Duration::from_secs(session_idle),
            session_sweep: std::time::Duration::from_secs(session_sweep),
            serve,
            ws,
            password_checks,
            load_debounce: std::time::Duration::from_millis(load_debounce),
            load_interval: std::time::Duration::from_secs(load_interval),
            spot,
            pricing_retry: std::time::Duration::from_secs(pricing_retry),
            listen,
            data_dir,
            admin_key,
            heartbeat_interval_secs,
            pending_boot_interval_secs,
            webhook_retry,
            webhook_allow_private,
        })
    }
}

/// The spot-price fetcher: on unless `CSMS_SPOT_FETCH=off`; every
/// `CSMS_SPOT_INTERVAL_MINUTES` (default 15); the rest is the settings the
/// Lambda reads too (`csms_core::spot::config`).
fn spot_schedule() -> anyhow::Result<Option<crate::spot::SpotSchedule>> {
    match std::env::var("CSMS_SPOT_FETCH").as_deref() {
        Ok("off") | Ok("false") | Ok("0") => return Ok(None),
        Err(_) | Ok("") | Ok("on") | Ok("true") | Ok("1") => {}
        Ok(other) => bail!("CSMS_SPOT_FETCH must be on or off, not {other:?}"),
    }
    let minutes = match std::env::var("CSMS_SPOT_INTERVAL_MINUTES") {
        Err(_) => 15,
        Ok(s) => match s.trim().parse::<u64>() {
            Ok(n) if (1..=1440).contains(&n) => n,
            _ => bail!("CSMS_SPOT_INTERVAL_MINUTES must be 1 to 1440"),
        },
    };
    let settings = csms_core::spot::config::SpotSettings::from_lookup(|k| std::env::var(k).ok())?;
    Ok(Some(crate::spot::SpotSchedule {
        settings,
        interval: std::time::Duration::from_secs(minutes * 60),
    }))
}

/// A newcomer should not have to invent a key: make one on first start and
/// keep it with the data, so it stays valid across restarts.
fn stored_or_new_key(dir: &std::path::Path) -> anyhow::Result<String> {
    let path = dir.join("admin-api-key");
    if let Ok(k) = std::fs::read_to_string(&path) {
        let k = k.trim().to_owned();
        if k.len() >= 16 {
            eprintln!("Admin API key: see {}", path.display());
            return Ok(k);
        }
    }
    let key: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    std::fs::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    eprintln!(
        "Generated an admin API key (saved in {}):\n\n    {key}\n",
        path.display()
    );
    Ok(key)
}
