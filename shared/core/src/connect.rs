//! The WebSocket handshake and connection bookkeeping, shared by the
//! `$connect`/`$disconnect` Lambdas and the local runner.

use crate::password;
use crate::ports::{ConnectionSender, SendError, Store, StoreError};
use crate::views::ConnectionEventView;
use crate::webhooks::{Event, EventSink};
use csms_domain::station::{Connection, Station};
use csms_domain::webhook::EventType;
use csms_domain::{OcppVersion, StationId, Timestamp};

/// What a charger presents when it opens its WebSocket.
#[derive(Debug, Clone, Default)]
pub struct Handshake<'a> {
    /// The identity from the URL (`…/ocpp/{id}`, or `?stationId=` behind CloudFront).
    pub station_id: &'a str,
    /// Every `Sec-WebSocket-Protocol` header value (each may be a comma list).
    pub subprotocols: Vec<&'a str>,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Accept {
        station: Box<Station>,
        version: OcppVersion,
    },
    Reject {
        status: u16,
        reason: String,
    },
}

impl Decision {
    fn reject(status: u16, reason: impl Into<String>) -> Self {
        Decision::Reject {
            status,
            reason: reason.into(),
        }
    }
}

/// Decide whether to accept a connection.
///
/// - unknown or malformed identity → 404 (OCPP 2.0.1 A00.FR.5xx lets the CSMS
///   answer 404 for an identity it does not know);
/// - a station with a password needs `Authorization: Basic` with its own id as
///   user name and the right password → else 401;
/// - no subprotocol both sides speak → 400 (the charger must not fall back to
///   guessing a version).
pub async fn decide<S: Store + ?Sized>(
    store: &S,
    hs: &Handshake<'_>,
) -> Result<Decision, StoreError> {
    let Ok(id) = StationId::parse(hs.station_id) else {
        return Ok(Decision::reject(404, "unknown station"));
    };
    let Some(station) = store.get_station(&id).await? else {
        return Ok(Decision::reject(404, "unknown station"));
    };
    if let Some(hash) = &station.password_hash {
        let ok = hs
            .authorization
            .and_then(password::parse_basic)
            .is_some_and(|(user, pass)| user == id.as_str() && password::verify(&pass, hash));
        if !ok {
            return Ok(Decision::reject(401, "missing or wrong credentials"));
        }
    }
    match OcppVersion::negotiate(hs.subprotocols.iter().copied()) {
        Some(version) => Ok(Decision::Accept {
            station: Box::new(station),
            version,
        }),
        None => Ok(Decision::reject(
            400,
            "no supported OCPP subprotocol offered (ocpp2.0.1, ocpp1.6)",
        )),
    }
}

/// Record an accepted connection. If the station still had another one open
/// (it reconnected before the old socket died), that one is closed so that
/// replies and calls cannot go to a dead or duplicate socket.
pub async fn opened<S: Store + ?Sized>(
    store: &S,
    events: &dyn EventSink,
    sender: Option<&dyn ConnectionSender>,
    station: &Station,
    connection_id: &str,
    version: OcppVersion,
    now: Timestamp,
) -> Result<Connection, StoreError> {
    let conn = Connection {
        connection_id: connection_id.to_owned(),
        station_id: station.id.clone(),
        org_id: station.org_id.clone(),
        site_id: station.site_id.clone(),
        ocpp_version: version,
        connected_at: now,
        last_seen_at: now,
    };
    let previous = store.open_connection(&conn).await?;
    if let (Some(prev), Some(sender)) = (previous, sender) {
        if prev != connection_id {
            match sender.close(&prev).await {
                Ok(()) | Err(SendError::Gone) => {}
                Err(e) => {
                    tracing::warn!(station = %station.id, error = %e, "could not close the previous connection")
                }
            }
            // Its $disconnect may never come (or came already): remove it here.
            store.close_connection(&prev, now).await?;
        }
    }
    let view = ConnectionEventView::new(&conn, None);
    events
        .publish(Event::new(
            EventType::StationConnected,
            conn.org_id.clone(),
            now,
            view,
        ))
        .await;
    Ok(conn)
}

/// Forget a closed connection. `station.disconnected` is published only if
/// it was still the station's connection: after a quick reconnect the
/// station is connected, whatever its old socket says.
pub async fn closed<S: Store + ?Sized>(
    store: &S,
    events: &dyn EventSink,
    connection_id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(conn) = store.close_connection(connection_id, now).await? else {
        return Ok(());
    };
    let still_gone = store
        .get_station(&conn.station_id)
        .await?
        .is_some_and(|s| s.connection_id.is_none());
    if still_gone {
        let view = ConnectionEventView::new(&conn, Some(now));
        events
            .publish(Event::new(
                EventType::StationDisconnected,
                conn.org_id.clone(),
                now,
                view,
            ))
            .await;
    }
    Ok(())
}
