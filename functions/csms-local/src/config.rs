//! The local runner's settings: the shared [`Settings`] (read once by
//! `csms-app`, every error naming its variable) and what only this process
//! has — where it listens and keeps its data, connection limits, and the
//! in-process schedules.

use anyhow::{bail, Context};
use csms_api::Secret;
use csms_app::settings::Vars;
use csms_app::{Runtime, Settings};
use rand::Rng;
use std::path::PathBuf;
use std::time::Duration;

pub struct Config {
    /// The settings every runtime shares.
    pub settings: Settings,
    pub listen: String,
    pub data_dir: PathBuf,
    /// `CSMS_ADMIN_API_KEY`, or the one kept in the data dir.
    pub admin_key: Secret,
    /// `None` with `CSMS_SPOT_FETCH=off`; else every
    /// `CSMS_SPOT_INTERVAL_MINUTES` (default 15).
    pub spot_interval: Option<Duration>,
    /// Connection caps and the header-read timeout of the listener.
    pub serve: crate::serve::ServeLimits,
    /// Ping, idle and handshake time limits of charger sockets.
    pub ws: crate::ws::WsLimits,
    /// How many password checks (argon2) may run at once.
    pub password_checks: usize,
    /// `CSMS_TEST_PANICS=1`, honoured by debug builds only (see `ws::WsState`).
    pub test_panics: bool,
    /// `--demo` or `CSMS_DEMO=true`: seed the demo and run its chargers.
    pub demo: Option<crate::demo::DemoSettings>,
}

/// Connection limits, timeouts and the password-check bound.
fn connection_limits(
    vars: &Vars,
    heartbeat_interval_secs: u32,
) -> anyhow::Result<(crate::serve::ServeLimits, crate::ws::WsLimits, usize)> {
    let max_connections = vars.number("CSMS_MAX_CONNECTIONS", &[], 10_000, 1..=1_000_000)? as usize;
    let max_per_address =
        vars.number("CSMS_MAX_CONNECTIONS_PER_ADDRESS", &[], 500, 1..=1_000_000)? as usize;
    let header_read = vars.number("CSMS_HEADER_READ_TIMEOUT_SECONDS", &[], 10, 1..=300)?;
    let handshake = vars.number("CSMS_HANDSHAKE_TIMEOUT_SECONDS", &[], 10, 1..=300)?;
    let trust_forwarded_for = vars.flag("CSMS_TRUST_FORWARDED_FOR", false)?;
    let ping = vars.number("CSMS_WS_PING_SECONDS", &[], 60, 0..=3_600)?;
    // Twice the heartbeat interval and a minute: a charger that heartbeats
    // on time is never idle for that long, even with one heartbeat lost.
    let idle_default = u64::from(heartbeat_interval_secs) * 2 + 60;
    let idle = vars.number(
        "CSMS_WS_IDLE_TIMEOUT_SECONDS",
        &[],
        idle_default,
        2..=86_400,
    )?;
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
    let password_checks = vars.number("CSMS_PASSWORD_CHECKS", &[], cores, 1..=256)? as usize;
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
    /// The settings from the environment; `demo_flag` is `--demo` given.
    pub fn from_env(demo_flag: bool) -> anyhow::Result<Self> {
        let settings = Settings::from_env(Runtime::Local)?;
        let get = |k: &str| std::env::var(k).ok();
        let vars = Vars::new(&get);
        let listen = vars
            .text("CSMS_LISTEN", &[])
            .map_or_else(|| "127.0.0.1:8180".into(), |(_, v)| v);
        let data_dir = PathBuf::from(
            vars.text("CSMS_DATA_DIR", &[])
                .map_or_else(|| ".data".into(), |(_, v)| v),
        );
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let admin_key = match &settings.admin_key {
            Some(k) => k.clone(),
            None => Secret::new(stored_or_new_key(&data_dir)?),
        };
        let spot_interval = if vars.flag("CSMS_SPOT_FETCH", true)? {
            let minutes = vars.number("CSMS_SPOT_INTERVAL_MINUTES", &[], 15, 1..=1440)?;
            Some(Duration::from_secs(minutes * 60))
        } else {
            None
        };
        let (serve, ws, password_checks) =
            connection_limits(&vars, settings.charger.heartbeat_interval_secs)?;
        let test_panics = cfg!(debug_assertions)
            && vars
                .text("CSMS_TEST_PANICS", &[])
                .map(|(_, v)| v)
                .as_deref()
                == Some("1");
        let demo = if demo_flag || vars.flag("CSMS_DEMO", false)? {
            let every = vars.number("CSMS_DEMO_SESSION_EVERY_SECONDS", &[], 180, 1..=86_400)?;
            Some(crate::demo::DemoSettings {
                session_every: Duration::from_secs(every),
            })
        } else {
            None
        };
        Ok(Config {
            settings,
            demo,
            listen,
            data_dir,
            admin_key,
            spot_interval,
            serve,
            ws,
            password_checks,
            test_panics,
        })
    }
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
