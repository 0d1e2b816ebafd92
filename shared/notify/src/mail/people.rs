//! Mail to people on domain events: a driver whose booking the station
//! would not hold is told (`booking.refused` goes to webhooks too). One
//! mail per event, which the publisher sends once per transition.

use super::letters::{self, BookingRefusedLetter};
use super::Mailer;
use async_trait::async_trait;
use csms_kernel::events::{DomainEvent, Subscriber};
use csms_kernel::ports::{StationStore, UserStore};
use std::sync::Arc;

/// The time zone of the times in mails.
const MAIL_TZ: chrono_tz::Tz = chrono_tz::Europe::Stockholm;

/// See the module docs.
pub struct PeopleMail<S: ?Sized> {
    store: Arc<S>,
    mailer: Arc<dyn Mailer>,
}

impl<S: UserStore + StationStore + ?Sized> PeopleMail<S> {
    pub fn new(store: Arc<S>, mailer: Arc<dyn Mailer>) -> Self {
        PeopleMail { store, mailer }
    }
}

#[async_trait]
impl<S: UserStore + StationStore + ?Sized> Subscriber for PeopleMail<S> {
    async fn on(&self, event: &DomainEvent) {
        let DomainEvent::BookingRefused { booking, .. } = event else {
            return;
        };
        // A booking made for a card nobody holds has nobody to tell.
        let Some(user_id) = &booking.user_id else {
            return;
        };
        if let Err(e) = self.mailer.ready() {
            tracing::info!(booking = %booking.id, reason = %e, "a refused booking is not mailed");
            return;
        }
        let user = match self.store.get_user(user_id).await {
            Ok(Some(u)) if !u.disabled => u,
            Ok(_) => return,
            Err(e) => {
                tracing::error!(booking = %booking.id, error = %e, "the booker of a refused booking could not be read");
                return;
            }
        };
        let station = match self.store.get_station(&booking.station_id).await {
            Ok(Some(s)) => s.name.unwrap_or_else(|| s.id.to_string()),
            _ => booking.station_id.to_string(),
        };
        let mail = letters::booking_refused(&BookingRefusedLetter {
            to: user.email.as_str(),
            to_name: &user.name,
            station: &station,
            evse: booking.evse_id,
            start: booking.window.start(),
            end: booking.window.end(),
            answer: booking.reserve_outcome.as_deref().unwrap_or(""),
            tz: MAIL_TZ,
            language: user.language,
        });
        if let Err(e) = self.mailer.send(&mail).await {
            tracing::error!(booking = %booking.id, error = %e, "the mail about a refused booking could not be sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{MemoryOutbox, Outbox, Sender};
    use chrono::{TimeZone, Utc};
    use csms_domain::booking::{Booking, BookingId, BookingStatus, Window};
    use csms_domain::tenant::Language;
    use csms_domain::user::{User, UserEmail, UserId};
    use csms_domain::{IdTokenValue, OrgId, StationId};
    use csms_kernel::ports::Store;

    fn booking(user: Option<UserId>) -> Booking {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap();
        Booking {
            id: BookingId::generate(),
            org_id: OrgId::default_org(),
            station_id: StationId::parse("CP-MAIL").unwrap(),
            evse_id: 2,
            token: IdTokenValue::parse("CARD-1").unwrap(),
            user_id: user,
            window: Window::stored(t(17), t(18)).unwrap(),
            status: BookingStatus::Refused,
            reserve_outcome: Some("Occupied".into()),
            created_by: "admin".into(),
            created_at: t(9),
            updated_at: t(16),
            version: 3,
        }
    }

    #[tokio::test]
    async fn a_refused_booking_is_mailed_to_its_booker_once() {
        let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
        let mut station = csms_kernel::contract::station("CP-MAIL", "default", None);
        station.name = Some("Garaget".into());
        store.create_station(&station).await.unwrap();
        let now = Utc::now();
        let user = User {
            id: UserId::generate(),
            email: UserEmail::parse("eva@example.se").unwrap(),
            name: "Eva".into(),
            language: Language::En,
            password_hash: String::new(),
            disabled: false,
            memberships: vec![],
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store.create_user(&user).await.unwrap();
        let outbox = Arc::new(MemoryOutbox::new(
            Sender::parse("noreply@example.se").unwrap(),
        ));
        let mail = PeopleMail::new(store.clone(), outbox.clone());

        // Nobody holds the card, or another event: no mail.
        mail.on(&DomainEvent::BookingRefused {
            booking: booking(None),
            at: now,
        })
        .await;
        assert!(outbox.list(10).await.unwrap().is_empty());

        mail.on(&DomainEvent::BookingRefused {
            booking: booking(Some(user.id.clone())),
            at: now,
        })
        .await;
        let sent = outbox.list(10).await.unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, "eva@example.se");
        assert_eq!(sent[0].kind, "bookingRefused");
        assert_eq!(
            sent[0].subject,
            "Your booking at 2026-12-07 18:00 could not be held"
        );
        let text = String::from_utf8(outbox.message(&sent[0].id).await.unwrap().unwrap()).unwrap();
        assert!(text.contains("charging point 2 at Garaget"), "{text}");
        assert!(text.contains("occupied"), "{text}");
    }
}
