//! The accept loop of the local runner, in place of `axum::serve`: it caps
//! connections (in total and per source address), makes hyper's header-read
//! timeout take effect (it needs a timer, which `axum::serve` does not set),
//! tells every request where it came from ([`ClientAddr`]) and shuts down
//! gracefully.
//!
//! A connection's place under the caps is a [`ConnSlot`] in the request's
//! extensions; the WebSocket endpoint keeps it for as long as the charger's
//! socket lives, after hyper has let go of the connection.

use axum::Router;
use csms_kernel::throttle::ClientAddr;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tower::Service;

/// Connection limits of the listener.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub max_per_address: usize,
    /// A client must send its whole request head within this time.
    pub header_read_timeout: Duration,
    /// Take the client address from the last `X-Forwarded-For` entry (the
    /// one our own proxy added) instead of the peer; only behind a proxy.
    pub trust_forwarded_for: bool,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    Total,
    PerAddress,
}

/// One admitted connection's place under the caps; freed when the last clone
/// is dropped.
#[derive(Clone)]
pub struct ConnSlot(#[allow(dead_code)] Arc<SlotInner>);

struct SlotInner {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for SlotInner {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_address.remove(&self.ip);
            }
        }
    }
}

fn admit(counts: &Arc<Mutex<Counts>>, ip: IpAddr, limits: &ServeLimits) -> Result<ConnSlot, Cap> {
    let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
    if c.total >= limits.max_connections {
        return Err(Cap::Total);
    }
    let n = c.per_address.entry(ip).or_insert(0);
    if *n >= limits.max_per_address {
        return Err(Cap::PerAddress);
    }
    *n += 1;
    c.total += 1;
    Ok(ConnSlot(Arc::new(SlotInner {
        counts: counts.clone(),
        ip,
    })))
}

/// At most one line per `every` for a recurring condition, saying how many
/// were not logged in between: a flood must not flood the log too.
pub struct RateLimitedLog {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub fn new(every: Duration) -> Self {
        RateLimitedLog {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(suppressed since the last line)` when a line is due now.
    pub fn due(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The client's address for throttling and logs.
fn client_addr(req: &hyper::Request<Incoming>, peer: IpAddr, trust_forwarded: bool) -> IpAddr {
    if trust_forwarded {
        let last = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty());
        if let Some(ip) = last.and_then(|s| s.parse::<IpAddr>().ok()) {
            return ip.to_canonical();
        }
    }
    peer
}

/// Tell an over-cap client so, without waiting for it (it may never read).
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
}

/// Serve `app` on `listener` until `shutdown` completes; then stop
/// accepting, let open HTTP exchanges finish (5 s at most) and return.
/// Upgraded WebSockets are not waited for here: they close on the runner's
/// own shutdown signal.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let conns = TaskTracker::new();
    let (close_tx, close_rx) = watch::channel(false);
    let mut cap_log = RateLimitedLog::new(Duration::from_secs(10));
    let mut accept_log = RateLimitedLog::new(Duration::from_secs(10));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE/ENFILE: out of file descriptors. Say so, and
                    // give closing connections a moment instead of spinning.
                    if let Some(skipped) = accept_log.due() {
                        tracing::error!(error = %e, skipped, "cannot accept connections (out of file descriptors?)");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let peer_ip = peer.ip().to_canonical();
        let slot = match admit(&counts, peer_ip, &limits) {
            Ok(s) => s,
            Err(cap) => {
                if let Some(skipped) = cap_log.due() {
                    let (what, limit) = match cap {
                        Cap::Total => ("CSMS_MAX_CONNECTIONS", limits.max_connections),
                        Cap::PerAddress => {
                            ("CSMS_MAX_CONNECTIONS_PER_ADDRESS", limits.max_per_address)
                        }
                    };
                    tracing::warn!(
                        peer = %peer,
                        limit,
                        skipped,
                        "connection refused: {what} ({limit}) reached"
                    );
                }
                refuse(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        conns.spawn(serve_connection(
            stream,
            peer,
            slot,
            app.clone(),
            limits,
            close_rx.clone(),
        ));
    }
    drop(listener);
    let _ = close_tx.send(true);
    conns.close();
    if tokio::time::timeout(Duration::from_secs(5), conns.wait())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP requests did not finish in time");
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: ConnSlot,
    app: Router,
    limits: ServeLimits,
    mut close: watch::Receiver<bool>,
) {
    let peer_ip = peer.ip().to_canonical();
    let svc_slot = slot.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let client = client_addr(&req, peer_ip, limits.trust_forwarded_for);
        req.extensions_mut().insert(ClientAddr(client));
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::new(
                client,
                peer.port(),
            )));
        req.extensions_mut().insert(svc_slot.clone());
        let mut app = app.clone();
        async move { app.call(req).await }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = close.wait_for(|c| *c), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(slot);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per: usize) -> ServeLimits {
        ServeLimits {
            max_connections: total,
            max_per_address: per,
            header_read_timeout: Duration::from_secs(1),
            trust_forwarded_for: false,
        }
    }

    #[test]
    fn caps_count_per_address_and_in_total_and_free_on_drop() {
        let counts = Arc::new(Mutex::new(Counts::default()));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let l = limits(3, 2);
        let a1 = admit(&counts, a, &l).unwrap();
        let a2 = admit(&counts, a, &l).unwrap();
        assert_eq!(admit(&counts, a, &l).err(), Some(Cap::PerAddress));
        let b1 = admit(&counts, b, &l).unwrap();
        assert_eq!(admit(&counts, b, &l).err(), Some(Cap::Total));
        let a1_copy = a1.clone();
        drop(a1);
        assert!(
            admit(&counts, b, &l).is_err(),
            "a clone still holds the slot"
        );
        drop(a1_copy);
        let b2 = admit(&counts, b, &l).unwrap();
        drop((a2, b1, b2));
        assert_eq!(counts.lock().unwrap().total, 0);
        assert!(counts.lock().unwrap().per_address.is_empty());
    }

    #[test]
    fn the_log_of_a_flood_is_rate_limited() {
        let mut log = RateLimitedLog::new(Duration::from_secs(60));
        assert_eq!(log.due(), Some(0));
        assert_eq!(log.due(), None);
        assert_eq!(log.due(), None);
        log.last = Some(Instant::now() - Duration::from_secs(61));
        assert_eq!(log.due(), Some(2));
    }
}
