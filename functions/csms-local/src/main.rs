//! `csms-local`: the whole CSMS in one process, for development, demos and
//! small installations. No cloud, no Docker.
//!
//! Serves OCPP at `ws://HOST:PORT/ocpp/{stationId}`, the HTTP API at
//! `/api/v1` and `GET /healthz`, over the embedded store in `CSMS_DATA_DIR`.
//!
//! Configuration (environment):
//! - `CSMS_LISTEN` — `host:port`, default `127.0.0.1:8180`
//!   (use `0.0.0.0:8180` to let chargers on your network in);
//! - `CSMS_DATA_DIR` — where the store lives, default `./.data`;
//! - `CSMS_ADMIN_API_KEY` — the admin API key; when unset, one is generated
//!   on first start, saved in the data dir and printed;
//! - `CSMS_BOOTSTRAP_ADMIN_EMAIL`, `CSMS_BOOTSTRAP_ADMIN_PASSWORD` — both
//!   set: a person with this address and password is made platform admin
//!   at start unless a person with the address exists (the first person of
//!   a fresh installation; afterwards the variables change nothing);
//! - `CSMS_SECURE_COOKIES` — mark the sign-in cookie `Secure`, default off
//!   here (plain HTTP; on behind HTTPS);
//! - `CSMS_MAIL_FROM` — who e-mails come from, default `CSMS <noreply@localhost>`;
//!   mail is written to `outbox/` in the data dir (`.eml` files), listed by
//!   `GET /api/v1/outbox`;
//! - `CSMS_PUBLIC_URL` — the address people reach this service at, for the
//!   links in QR codes and e-mails; default the listening address;
//! - `CSMS_BANKGIRO` — the client-funds Bankgiro printed on invoices; with
//!   it, issued invoices are rendered as PDFs into `documents/invoices/` in
//!   the data dir and mailed; unset, they are issued only;
//! - `CSMS_HEARTBEAT_INTERVAL` — seconds, default 300;
//! - `CSMS_PENDING_BOOT_INTERVAL` — seconds a station answered `Pending` or
//!   `Rejected` waits before it boots again, default 60;
//! - `CSMS_WEBHOOK_RETRY_SCHEDULE` — seconds between webhook delivery
//!   attempts, comma-separated, default `10,60,300,1800,7200,21600,43200`;
//! - `CSMS_WEBHOOK_ALLOW_PRIVATE` — `true` (default here) lets an admin
//!   key point webhooks at `http://` and private or loopback addresses
//!   (other keys: public `https` targets only);
//! - `CSMS_PRICING_RETRY_SECONDS` — how long a session that cannot be
//!   priced yet (its spot prices are missing) waits before the next try,
//!   default 600;
//! - `CSMS_SPOT_FETCH` — `off` disables fetching day-ahead spot prices;
//!   `CSMS_SPOT_INTERVAL_MINUTES` (default 15) and the other `CSMS_SPOT_*`,
//!   `CSMS_ENTSOE_*`, `CSMS_ELPRIS_BASE_URL` settings are described in
//!   `csms_pricing::spot::config` and the README;
//! - `CSMS_LOAD_DEBOUNCE_MS` — how long load balancing waits after a
//!   charger event for more of the same burst, default 500;
//!   `CSMS_LOAD_INTERVAL_SECONDS` — how often every site is recomputed
//!   anyway, default 60;
//! - `CSMS_SESSION_IDLE_SECONDS` — an open session without any message
//!   for this long is closed by the CSMS (reason `noMessages`), default
//!   86400; `CSMS_SESSION_SWEEP_SECONDS` — how often they are looked for,
//!   default 300;
//! - `CSMS_OFFLINE_GRACE_SECONDS` — a station whose connection closed and
//!   that has not come back for this long raises `stationOffline`, default
//!   600; `CSMS_MONITOR_SWEEP_SECONDS` — how often that is looked at,
//!   default 60 (the first look waits one grace after start);
//! - connection limits and timeouts (see the README, "Limits and hostile
//!   input"): `CSMS_MAX_CONNECTIONS` (10000), `CSMS_MAX_CONNECTIONS_PER_ADDRESS`
//!   (500), `CSMS_HEADER_READ_TIMEOUT_SECONDS` (10),
//!   `CSMS_HANDSHAKE_TIMEOUT_SECONDS` (10), `CSMS_WS_PING_SECONDS` (60, 0 off),
//!   `CSMS_WS_IDLE_TIMEOUT_SECONDS` (2 × heartbeat interval + 60),
//!   `CSMS_TRUST_FORWARDED_FOR` (false), `CSMS_PASSWORD_CHECKS` (cores);
//! - `CSMS_DEMO` — `true` does what `--demo` does (below);
//!   `CSMS_DEMO_SESSION_EVERY_SECONDS` — how often the demo starts a live
//!   session, default 180;
//! - `RUST_LOG` — log filter, default `info`.
//!
//! `csms-local --demo` (`cargo run -- --demo`) seeds two organisations with
//! sites, stations, people, tags, tariffs and a month of sessions through
//! the API, runs a simulated charger per station and prints the people to
//! sign in as (see `demo`).

mod billing;
mod bookings;
mod config;
mod deliveries;
mod demo;
mod load;
mod monitor;
mod pricing;
mod serve;
mod sessions;
mod spot;
mod timers;
mod ws;

use anyhow::Context;
use csms_app::{Adapters, SettingsError, Wiring};
use csms_charging::connect::PasswordGate;
use csms_commands::service::{CommandDispatch, CommandTimers};
use csms_domain::OrgId;
use csms_kernel::ports::{
    Clock, ConnectionSender, ConnectionStore, PageRequest, StationStore, Store, SystemClock,
};
use csms_kernel::throttle::ThrottlePolicy;
use csms_load::LoadTrigger;
use csms_notify::mail::{FileOutbox, Mailer, Sender, Unconfigured};
use csms_notify::target::TargetPolicy;
use csms_notify::{DeliveryQueue, WebhookTransport};
use csms_pricing::PricingQueue;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

/// The first platform-admin person of a fresh installation, from
/// `CSMS_BOOTSTRAP_ADMIN_EMAIL` and `CSMS_BOOTSTRAP_ADMIN_PASSWORD` (both or
/// neither); nothing when a person with the address exists.
async fn bootstrap_admin(store: &dyn Store, clock: &dyn Clock) -> anyhow::Result<()> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match (
        var("CSMS_BOOTSTRAP_ADMIN_EMAIL"),
        var("CSMS_BOOTSTRAP_ADMIN_PASSWORD"),
    ) {
        (None, None) => Ok(()),
        (Some(email), Some(password)) => {
            let made =
                csms_api::people::bootstrap_platform_admin(store, &email, &password, clock.now())
                    .await
                    .map_err(|e| anyhow::anyhow!("CSMS_BOOTSTRAP_ADMIN_*: {e}"))?;
            if made {
                tracing::info!(
                    email,
                    "made the platform-admin person: sign in with POST /api/v1/auth/sign-in"
                );
            }
            Ok(())
        }
        _ => anyhow::bail!(
            "CSMS_BOOTSTRAP_ADMIN_EMAIL and CSMS_BOOTSTRAP_ADMIN_PASSWORD: set both or neither"
        ),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let demo_flag = demo_flag()?;
    let mut cfg = config::Config::from_env(demo_flag)?;
    cfg.serve.max_connections = fit_connections_to_fd_limit(cfg.serve.max_connections);
    let store: Arc<dyn Store> = Arc::new(
        csms_store_redb::EmbeddedStore::open(&cfg.data_dir)
            .with_context(|| format!("opening the store in {}", cfg.data_dir.display()))?,
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    forget_stale_connections(&*store, &*clock).await?;
    // Data from before tenants had records belongs to the default
    // organisation: give it a record (idempotent).
    if csms_kernel::tenants::ensure_default_organisation(&*store, clock.now())
        .await
        .context("making the default organisation's record")?
    {
        tracing::info!("made the default organisation's record (kind cpo, language en): fill it in with PATCH /api/v1/organisations/default");
    }
    // Bookings written before the person index existed are put in it
    // (idempotent: a store that has them all adds nothing).
    let backfilled = csms_kernel::migrations::backfill_booking_persons(
        &*store,
        csms_kernel::migrations::Resume::default(),
        |_, _| {},
    )
    .await
    .context("backfilling the bookings' person index")?;
    if backfilled.indexed > 0 {
        tracing::info!(
            indexed = backfilled.indexed,
            "put bookings made before the person index in their person's list (GET /me/bookings)"
        );
    }
    bootstrap_admin(&*store, &*clock).await?;
    // Bound before the services are built so the links they make (QR codes,
    // e-mails) can name the real port when `CSMS_LISTEN` asks for port 0.
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    let addr = listener.local_addr()?;

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let tracker = TaskTracker::new();
    // The in-process side of every port; the receivers are served below.
    let sockets = ws::Sockets::default();
    let (deliveries, delivery_rx) = deliveries::LocalDeliveries::new();
    let (load_trigger, load_rx) = load::LocalLoad::new();
    let load_stop = load_trigger.clone();
    let (timers, timer_queue) = timers::LocalTimers::new();
    let (pricing, pricing_rx) = pricing::LocalPricing::new();
    // Mail stays here: `.eml` files in the data dir, listed by GET /outbox.
    let outbox = cfg.data_dir.join("outbox");
    std::fs::create_dir_all(&outbox)
        .with_context(|| format!("making the mail outbox {}", outbox.display()))?;
    let mut settings = cfg.settings.clone();
    settings.admin_key = Some(cfg.admin_key.clone());
    if settings.public_url.is_none() {
        settings.public_url = Some(local_public_url(addr)?);
    }
    let public_url = settings.public_url.clone();
    let wiring = Wiring::new(
        settings,
        store.clone(),
        clock.clone(),
        LocalAdapters {
            sockets: sockets.clone(),
            deliveries,
            load: load_trigger,
            timers,
            pricing: pricing.clone(),
            outbox: outbox.clone(),
            documents: cfg.data_dir.join("documents"),
        },
    );

    let deliverer = wiring.deliverer()?;
    let delivery_task = deliveries::LocalDeliveries::run(delivery_rx, deliverer.clone());
    let requeued = deliverer.recover().await?;
    if requeued > 0 {
        tracing::info!("queued {requeued} webhook deliveries left pending by the previous run");
    }
    let commands = wiring.commands()?;
    let timer_task = timers::LocalTimers::run(timer_queue, commands.clone());
    let settled = commands.recover().await?;
    if settled > 0 {
        tracing::info!("settled {settled} command(s) left pending by the previous run");
    }
    let pricing_task = pricing.run(
        pricing_rx,
        Arc::new(wiring.pricing()?),
        store.clone(),
        clock.clone(),
        cfg.settings.pricing.retry,
        pricing::Limits::from_settings(&cfg.settings.pricing),
    );
    let requeued = pricing.recover(&*store, &*clock, 35).await;
    if requeued > 0 {
        tracing::info!("queued {requeued} completed session(s) for pricing");
    }
    let spot_task = match cfg.spot_interval {
        Some(interval) => {
            tracing::info!(
                "spot prices: {}; fetched every {} min",
                cfg.settings.spot.describe(),
                interval.as_secs() / 60
            );
            let http = Arc::new(csms_http_out::HyperTransport::default());
            Some(spot::spawn(wiring.spot_fetcher(http)?, interval))
        }
        None => None,
    };
    let api_state = wiring.api_state()?;
    let load_task = load::LocalLoad::run(
        load_rx,
        api_state.load.clone(),
        cfg.settings.load.debounce,
        cfg.settings.load.interval,
    );
    let charger = wiring.socket_charger()?;
    let sweep_task = sessions::spawn(
        charger.clone(),
        clock.clone(),
        cfg.settings.sessions.idle,
        cfg.settings.sessions.sweep,
    );
    let monitor_task = monitor::spawn(
        charger.clone(),
        wiring.alarm_digests(),
        clock.clone(),
        cfg.settings.monitor,
    );
    let booking_task = bookings::spawn(
        commands.clone(),
        clock.clone(),
        cfg.settings.bookings.times(),
        cfg.settings.bookings.sweep,
    );
    let billing_task = billing::spawn(wiring.billing_sweep()?, cfg.settings.billing.sweep);
    let gate = PasswordGate::new(
        ThrottlePolicy::STATIONS,
        ThrottlePolicy::ADDRESSES,
        cfg.password_checks,
    );
    let ws_state = ws::WsState {
        charger,
        clock: clock.clone(),
        sockets,
        shutdown: shutdown_rx,
        tracker: tracker.clone(),
        gate: gate.clone(),
        limits: cfg.ws,
        test_panics: cfg.test_panics,
    };
    let app = csms_app::http_app(api_state).merge(ws::routes(ws_state));
    let demo_task = cfg.demo.map(|settings| {
        let public = public_url.map(|u| u.to_string());
        demo::spawn(
            settings,
            demo::api::Api::new(app.clone(), cfg.admin_key.expose().to_owned()),
            format!("ws://{}/ocpp", local_host(addr)),
            format!(
                "{}/portal/",
                public.unwrap_or_default().trim_end_matches('/')
            ),
        )
    });

    tracing::info!(
        "csms-local listening on http://{addr} — OCPP: ws://{addr}/ocpp/{{stationId}}, API: http://{addr}/api/v1, portal: http://{addr}/portal/, data: {}",
        cfg.data_dir.display()
    );
    tracing::info!(
        max_connections = cfg.serve.max_connections,
        max_per_address = cfg.serve.max_per_address,
        header_read_timeout_secs = cfg.serve.header_read_timeout.as_secs(),
        idle_timeout_secs = cfg.ws.idle_timeout.as_secs(),
        ping_secs = cfg.ws.ping_every.map_or(0, |d| d.as_secs()),
        "connection limits"
    );
    let demo_stop = demo_task.as_ref().map(|t| t.abort_handle());
    serve::run(listener, app, cfg.serve, async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        // The demo's chargers first: they would only dial again.
        if let Some(d) = demo_stop {
            d.abort();
        }
        let _ = shutdown_tx.send(true);
    })
    .await;
    // Let every charger connection close cleanly and record its disconnect.
    // Pending timers are dropped: the next start's recovery settles them.
    timer_task.abort();
    delivery_task.abort();
    pricing_task.abort();
    // Before the connections close: their disconnects signal load
    // balancing, which is not needed any more (see `load`).
    load_stop.stop();
    load_task.abort();
    sweep_task.abort();
    monitor_task.abort();
    booking_task.abort();
    billing_task.abort();
    if let Some(t) = spot_task {
        t.abort();
    }
    tracker.close();
    if tokio::time::timeout(std::time::Duration::from_secs(5), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
    tracing::info!(password_checks = gate.checks_run(), "stopped");
    Ok(())
}

/// `--demo`, the one argument there is (`--help` says so).
fn demo_flag() -> anyhow::Result<bool> {
    let mut demo = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => demo = true,
            "--help" | "-h" => {
                println!("csms-local [--demo]\n\nThe whole CSMS in one process; settings are environment variables (see the README).\n--demo  seed two demo organisations and run simulated chargers (also CSMS_DEMO=true)");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?}: the only one is --demo (settings are environment variables)"),
        }
    }
    Ok(demo)
}

/// `host:port` this process is reached at from itself: `127.0.0.1` for an
/// any-address bind.
fn local_host(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// Where links point when `CSMS_PUBLIC_URL` is unset: this listener, with
/// `localhost` for an any-address bind (`0.0.0.0`, `::`), which no browser
/// can open.
fn local_public_url(addr: std::net::SocketAddr) -> anyhow::Result<csms_api::PublicUrl> {
    let text = if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    csms_api::PublicUrl::parse(&text).map_err(|e| anyhow::anyhow!("the local address {text}: {e}"))
}

/// The local runner's side of the ports: the charger sockets of this
/// process and in-process queues, each served by a task of `main`.
struct LocalAdapters {
    sockets: ws::Sockets,
    deliveries: deliveries::LocalDeliveries,
    load: load::LocalLoad,
    timers: timers::LocalTimers,
    pricing: pricing::LocalPricing,
    /// The folder mail is written to.
    outbox: std::path::PathBuf,
    /// The folder documents (invoice PDFs) are kept in.
    documents: std::path::PathBuf,
}

impl Adapters for LocalAdapters {
    fn sender(&self) -> Result<Arc<dyn ConnectionSender>, SettingsError> {
        Ok(Arc::new(self.sockets.clone()))
    }
    fn command_timers(&self) -> Result<Arc<dyn CommandTimers>, SettingsError> {
        Ok(Arc::new(self.timers.clone()))
    }
    /// One process: the submitter sends.
    fn command_dispatch(&self) -> Result<Option<Arc<dyn CommandDispatch>>, SettingsError> {
        Ok(None)
    }
    fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, SettingsError> {
        Ok(Arc::new(self.deliveries.clone()))
    }
    fn pricing_queue(&self) -> Result<Arc<dyn PricingQueue>, SettingsError> {
        Ok(Arc::new(self.pricing.clone()))
    }
    fn load_trigger(&self) -> Result<Arc<dyn LoadTrigger>, SettingsError> {
        Ok(Arc::new(self.load.clone()))
    }
    fn webhook_transport(&self, policy: TargetPolicy) -> Arc<dyn WebhookTransport> {
        Arc::new(csms_http_out::HyperTransport::for_webhooks(
            std::time::Duration::from_secs(10),
            policy,
        ))
    }
    fn mailer(&self, from: Option<&Sender>) -> Arc<dyn Mailer> {
        let Some(from) = from else {
            return Arc::new(Unconfigured("CSMS_MAIL_FROM is not set".into()));
        };
        match FileOutbox::open(from.clone(), self.outbox.clone()) {
            Ok(outbox) => Arc::new(outbox),
            Err(e) => Arc::new(Unconfigured(format!(
                "the outbox folder {}: {e}",
                self.outbox.display()
            ))),
        }
    }
    fn documents(&self) -> Result<Arc<dyn csms_kernel::ports::DocumentStore>, SettingsError> {
        csms_store_redb::FileDocuments::open(&self.documents)
            .map(|d| Arc::new(d) as Arc<dyn csms_kernel::ports::DocumentStore>)
            .map_err(|e| {
                SettingsError::new(
                    "CSMS_DATA_DIR",
                    format!("the documents folder {}: {e}", self.documents.display()),
                )
            })
    }
}

/// After a crash the store may still say stations are connected through
/// sockets that died with the old process.
async fn forget_stale_connections<
    S: StationStore + ConnectionStore + csms_kernel::ports::OrganisationStore + ?Sized,
>(
    store: &S,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    for org in csms_kernel::tenants::organisation_ids(store).await? {
        forget_stale_connections_of(store, clock, &org).await?;
    }
    Ok(())
}

async fn forget_stale_connections_of<S: StationStore + ConnectionStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
) -> anyhow::Result<()> {
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let result = store.list_stations(org, &page).await?;
        for view in &result.items {
            if let Some(cid) = &view.station.connection_id {
                // One record that cannot be closed must not stop the start.
                if let Err(e) = store.close_connection(cid, clock.now()).await {
                    tracing::error!(station = %view.station.id, connection = %cid, error = %e, "could not forget a stale connection");
                }
            }
        }
        match result.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(()),
        }
    }
}

/// Every connection is a file descriptor: raise the soft limit to the hard
/// one (the usual soft limit of 1,024 is reached by ~1,000 chargers), and keep
/// the connection cap below what the limit allows, with room for the store,
/// logs and outgoing webhooks, so a flood is refused by the cap (and logged)
/// instead of failing `accept` for everyone.
// `rlim_t` is u64 on the usual targets but not on every one.
#[allow(clippy::unnecessary_cast)]
fn fit_connections_to_fd_limit(cap: usize) -> usize {
    const RESERVE: u64 = 128;
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            tracing::warn!("could not read the file-descriptor limit");
            return cap;
        }
        let before = lim.rlim_cur;
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                lim = raised;
            }
        }
        let soft = lim.rlim_cur as u64;
        if (before as u64) < soft {
            tracing::info!(
                before = before as u64,
                now = soft,
                "file-descriptor limit (soft) raised to the hard limit"
            );
        } else {
            tracing::info!(
                now = soft,
                "file-descriptor limit (soft) is the hard limit already"
            );
        }
        let room = soft.saturating_sub(RESERVE).max(16);
        if (cap as u64) > room {
            tracing::warn!(
                configured = cap,
                effective = room,
                fd_limit = soft,
                "CSMS_MAX_CONNECTIONS is above what the file-descriptor limit allows; capping it"
            );
            return room as usize;
        }
        cap
    }
    #[cfg(not(unix))]
    {
        let _ = RESERVE;
        cap
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
