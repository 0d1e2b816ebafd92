//! Mail to people on domain events: a driver whose booking the station
//! would not hold is told (`booking.refused` goes to webhooks too), and the
//! people on duty of an organisation (its alarm settings' recipients) are
//! told when an alarm opens and when it resolves. One mail per event and
//! recipient, and the publishers publish once per transition, never per
//! evaluation.

use super::letters::MAIL_TZ;
use super::letters::{self, AlarmLetter, BookingRefusedLetter};
use super::Mailer;
use async_trait::async_trait;
use csms_domain::alarm::{Alarm, AlarmSettings, Severity};
use csms_domain::Timestamp;
use csms_kernel::events::{DomainEvent, Subscriber};
use csms_kernel::ports::{
    AlarmSettingsStore, AlarmStore, OrganisationStore, PageRequest, StationStore, StoreError,
    UserStore,
};
use std::sync::Arc;

/// See the module docs.
pub struct PeopleMail<S: ?Sized> {
    store: Arc<S>,
    mailer: Arc<dyn Mailer>,
}

impl<S: UserStore + StationStore + AlarmSettingsStore + ?Sized> PeopleMail<S> {
    pub fn new(store: Arc<S>, mailer: Arc<dyn Mailer>) -> Self {
        PeopleMail { store, mailer }
    }
}

#[async_trait]
impl<S: UserStore + StationStore + AlarmSettingsStore + ?Sized> Subscriber for PeopleMail<S> {
    async fn on(&self, event: &DomainEvent) {
        match event {
            DomainEvent::BookingRefused { booking, .. } => self.booking_refused(booking).await,
            DomainEvent::AlarmOpened { alarm, .. } => self.alarm(alarm, true).await,
            DomainEvent::AlarmResolved { alarm, .. } => self.alarm(alarm, false).await,
            _ => {}
        }
    }
}

impl<S: UserStore + StationStore + AlarmSettingsStore + ?Sized> PeopleMail<S> {
    async fn alarm(&self, alarm: &csms_domain::alarm::Alarm, opened: bool) {
        let settings = match self.store.get_alarm_settings(&alarm.org_id).await {
            Ok(Some(s)) => s,
            // Nobody set: nobody to tell.
            Ok(None) => return,
            Err(e) => {
                tracing::error!(alarm = %alarm.id, error = %e, "the alarm settings could not be read; nobody is mailed");
                return;
            }
        };
        // A warning held for the digest (its opening was, or it is quiet
        // now) goes in the digest, with its state then.
        let now = if opened {
            alarm.raised_at
        } else {
            alarm.resolved_at.unwrap_or(alarm.raised_at)
        };
        if settings.holds(alarm, alarm.raised_at) || settings.holds(alarm, now) {
            tracing::debug!(alarm = %alarm.id, "held for the digest");
            return;
        }
        let wanted: Vec<_> = settings
            .recipients
            .iter()
            .filter(|r| r.wants(alarm))
            .collect();
        if wanted.is_empty() {
            return;
        }
        if let Err(e) = self.mailer.ready() {
            tracing::info!(alarm = %alarm.id, reason = %e, "an alarm is not mailed");
            return;
        }
        for r in wanted {
            let mail = letters::alarm(&AlarmLetter {
                to: r.email.as_str(),
                alarm,
                opened,
                tz: MAIL_TZ,
                language: r.language,
            });
            if let Err(e) = self.mailer.send(&mail).await {
                tracing::error!(alarm = %alarm.id, error = %e, "an alarm mail could not be sent");
            }
        }
    }

    async fn booking_refused(&self, booking: &csms_domain::booking::Booking) {
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

/// The most alarms one digest reads (newest first) and lists.
const DIGEST_MAX: usize = 500;

impl<
        S: UserStore + StationStore + AlarmSettingsStore + AlarmStore + OrganisationStore + ?Sized,
    > PeopleMail<S>
{
    /// Sends each organisation's digest that is due at `now`: the warnings
    /// held since the last one (quiet hours, or every warning when they are
    /// digested), one mail per recipient of warnings. The window is claimed
    /// first with a versioned write of the settings, so two sweeps never
    /// both send it (a crash between the claim and the mail loses that
    /// digest rather than sending it twice). How many digests were mailed.
    pub async fn send_due_digests(&self, now: Timestamp) -> Result<usize, StoreError> {
        let orgs = csms_kernel::tenants::organisation_ids(&*self.store).await?;
        let mut sent = 0;
        for org in orgs {
            let settings = match self.store.get_alarm_settings(&org).await {
                Ok(Some(s)) if s.digests() => s,
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "alarm settings unreadable: no digest");
                    continue;
                }
            };
            let from = settings
                .digest_through
                .or(settings.updated_at)
                .unwrap_or(now);
            let through = settings.next_digest(from);
            if through > now {
                continue;
            }
            let claimed = AlarmSettings {
                digest_through: Some(through),
                version: settings.version + 1,
                ..settings.clone()
            };
            match self
                .store
                .put_alarm_settings(&claimed, settings.version)
                .await
            {
                Ok(()) => {}
                // Changed meanwhile (a person, or another sweep): next time.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
            let held = self.held(&settings, from, through).await?;
            if held.is_empty() || self.mailer.ready().is_err() {
                continue;
            }
            let mut mailed = false;
            for r in settings
                .recipients
                .iter()
                .filter(|r| r.min_severity <= Severity::Warning)
            {
                let mail = letters::alarm_digest(&letters::DigestLetter {
                    to: r.email.as_str(),
                    alarms: &held,
                    from,
                    through,
                    tz: MAIL_TZ,
                    language: r.language,
                });
                match self.mailer.send(&mail).await {
                    Ok(_) => mailed = true,
                    Err(e) => tracing::error!(org = %org, error = %e, "a digest could not be sent"),
                }
            }
            if mailed {
                sent += 1;
                tracing::info!(org = %org, alarms = held.len(), "alarm digest mailed");
            }
        }
        Ok(sent)
    }

    /// The organisation's warnings opened after `from` up to `through` that
    /// were held, oldest first.
    async fn held(
        &self,
        settings: &AlarmSettings,
        from: Timestamp,
        through: Timestamp,
    ) -> Result<Vec<Alarm>, StoreError> {
        let mut held = Vec::new();
        let mut cursor = None;
        'pages: loop {
            let page = self
                .store
                .list_alarms(&settings.org_id, false, &PageRequest { limit: 100, cursor })
                .await?;
            for a in page.items {
                if a.raised_at <= from || held.len() >= DIGEST_MAX {
                    break 'pages;
                }
                if a.raised_at <= through && settings.holds(&a, a.raised_at) {
                    held.push(a);
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        held.reverse();
        Ok(held)
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
            second_factor: None,
            stripe_customer: None,
            saved_card: None,
            company: None,
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

    #[tokio::test]
    async fn alarms_are_mailed_to_the_people_on_duty_by_severity() {
        use csms_domain::alarm::{Alarm, AlarmRecipient, AlarmSettings, OfflineGrace, Severity};
        use csms_domain::tenant::Email;
        let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
        let outbox = Arc::new(MemoryOutbox::new(
            Sender::parse("noreply@example.se").unwrap(),
        ));
        let mail = PeopleMail::new(store.clone(), outbox.clone());
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let alarm = |severity| Alarm {
            id: "station-offline:CP-1".into(),
            org_id: OrgId::default_org(),
            kind: "stationOffline".into(),
            severity,
            title: Some("Station CP-1 offline".into()),
            message: "CP-1 has been away for 10 minutes".into(),
            details: serde_json::json!({"disconnectedAt": "2026-12-07T11:50:00Z"}),
            action: Some("Check the charger's power and network".into()),
            raised_at: now,
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Default::default(),
            version: 1,
        };
        // No settings: nobody is told.
        mail.on(&DomainEvent::AlarmOpened {
            alarm: alarm(Severity::Critical),
            at: now,
        })
        .await;
        assert!(outbox.list(10).await.unwrap().is_empty());

        let mut settings =
            AlarmSettings::defaults(OrgId::default_org(), OfflineGrace::from_secs(600).unwrap());
        settings.recipients = vec![
            AlarmRecipient {
                email: Email::parse("jour@example.se").unwrap(),
                min_severity: Severity::Warning,
                language: Language::Sv,
            },
            AlarmRecipient {
                email: Email::parse("chef@example.se").unwrap(),
                min_severity: Severity::Critical,
                language: Language::En,
            },
        ];
        settings.version = 1;
        store.put_alarm_settings(&settings, 0).await.unwrap();

        mail.on(&DomainEvent::AlarmOpened {
            alarm: alarm(Severity::Warning),
            at: now,
        })
        .await;
        let sent = outbox.list(10).await.unwrap();
        assert_eq!(
            sent.iter().map(|m| m.to.as_str()).collect::<Vec<_>>(),
            ["jour@example.se"]
        );
        assert_eq!(sent[0].subject, "[Varning] Station CP-1 offline");

        let mut critical = alarm(Severity::Critical);
        mail.on(&DomainEvent::AlarmOpened {
            alarm: critical.clone(),
            at: now,
        })
        .await;
        critical.resolved_at = Some(now + chrono::TimeDelta::minutes(3));
        mail.on(&DomainEvent::AlarmResolved {
            alarm: critical,
            at: now,
        })
        .await;
        let sent = outbox.list(10).await.unwrap();
        let got: Vec<(&str, &str)> = sent
            .iter()
            .map(|m| (m.to.as_str(), m.subject.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("chef@example.se", "[Resolved] Station CP-1 offline"),
                ("jour@example.se", "[Åtgärdat] Station CP-1 offline"),
                ("chef@example.se", "[CRITICAL] Station CP-1 offline"),
                ("jour@example.se", "[KRITISKT] Station CP-1 offline"),
                ("jour@example.se", "[Varning] Station CP-1 offline"),
            ]
        );
        let text = String::from_utf8(outbox.message(&sent[2].id).await.unwrap().unwrap()).unwrap();
        assert!(
            text.contains("Action: Check the charger's power and network"),
            "{text}"
        );
        assert!(text.contains("opened at 2026-12-07 13:00"), "{text}");
    }

    #[tokio::test]
    async fn warnings_in_quiet_hours_wait_for_one_digest_and_critical_ones_do_not() {
        use csms_domain::alarm::{
            Alarm, AlarmRecipient, AlarmSettings, OfflineGrace, QuietHours, Severity,
        };
        use csms_domain::tenant::Email;
        let store: Arc<dyn Store> = Arc::new(csms_store_redb::EmbeddedStore::temporary());
        let outbox = Arc::new(MemoryOutbox::new(
            Sender::parse("noreply@example.se").unwrap(),
        ));
        let mail = PeopleMail::new(store.clone(), outbox.clone());
        // Stockholm is UTC+1 in December: quiet 22:00-07:00 is 21:00-06:00 UTC.
        let utc = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
        let hm = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let mut settings =
            AlarmSettings::defaults(OrgId::default_org(), OfflineGrace::from_secs(600).unwrap());
        settings.recipients = vec![
            AlarmRecipient {
                email: Email::parse("jour@example.se").unwrap(),
                min_severity: Severity::Warning,
                language: Language::En,
            },
            AlarmRecipient {
                email: Email::parse("chef@example.se").unwrap(),
                min_severity: Severity::Critical,
                language: Language::Sv,
            },
        ];
        settings.quiet_hours =
            Some(QuietHours::new(hm(22, 0), hm(7, 0), AlarmSettings::DIGEST_TZ).unwrap());
        settings.updated_at = Some(utc(7, 12, 0));
        settings.version = 1;
        store.put_alarm_settings(&settings, 0).await.unwrap();
        let alarm = |id: &str, severity, at| Alarm {
            id: id.into(),
            org_id: OrgId::default_org(),
            kind: "stationFlapping".into(),
            severity,
            title: Some(format!("Alarm {id}")),
            message: format!("what {id} is about"),
            details: serde_json::json!({}),
            action: None,
            raised_at: at,
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Default::default(),
            version: 1,
        };
        let open = |a: Alarm| {
            let (store, mail) = (store.clone(), &mail);
            async move {
                store.raise_alarm(&a).await.unwrap();
                let at = a.raised_at;
                mail.on(&DomainEvent::AlarmOpened { alarm: a, at }).await;
            }
        };
        open(alarm("day-warning", Severity::Warning, utc(7, 13, 0))).await;
        open(alarm("night-warning-1", Severity::Warning, utc(7, 22, 0))).await;
        open(alarm("night-critical", Severity::Critical, utc(7, 23, 0))).await;
        open(alarm("night-warning-2", Severity::Warning, utc(8, 2, 0))).await;
        // The warning resolves during the night: held too.
        let mut resolved = store
            .resolve_alarm("night-warning-2", utc(8, 3, 0))
            .await
            .unwrap()
            .unwrap();
        resolved.resolved_at = Some(utc(8, 3, 0));
        mail.on(&DomainEvent::AlarmResolved {
            alarm: resolved,
            at: utc(8, 3, 0),
        })
        .await;
        let subjects = |sent: &[crate::mail::OutboxEntry]| {
            sent.iter()
                .map(|m| format!("{} {}", m.to, m.subject))
                .collect::<Vec<_>>()
        };
        let mut sent = outbox.list(20).await.unwrap();
        sent.reverse();
        assert_eq!(
            subjects(&sent),
            [
                "jour@example.se [Warning] Alarm day-warning",
                "jour@example.se [CRITICAL] Alarm night-critical",
                "chef@example.se [KRITISKT] Alarm night-critical",
            ],
            "by day a warning goes at once; at night only the critical one"
        );

        // Before 07:00 Stockholm nothing is due; then one digest, once.
        assert_eq!(mail.send_due_digests(utc(8, 5, 59)).await.unwrap(), 0);
        assert_eq!(mail.send_due_digests(utc(8, 6, 0)).await.unwrap(), 1);
        assert_eq!(mail.send_due_digests(utc(8, 6, 1)).await.unwrap(), 0);
        let sent = outbox.list(20).await.unwrap();
        assert_eq!(sent.len(), 4);
        let digest = &sent[0];
        assert_eq!(digest.to, "jour@example.se", "only those who want warnings");
        assert_eq!(digest.kind, "alarmDigest");
        assert_eq!(
            digest.subject,
            "Digest: 2 warnings 2026-12-07 13:00 – 2026-12-08 07:00"
        );
        let text = String::from_utf8(outbox.message(&digest.id).await.unwrap().unwrap()).unwrap();
        let one = text.find("night-warning-1").unwrap();
        let two = text.find("night-warning-2").unwrap();
        assert!(one < two, "oldest first: {text}");
        assert!(text.contains("resolved 2026-12-08 04:00"), "{text}");
        assert!(
            !text.contains("day-warning") && !text.contains("night-critical"),
            "{text}"
        );
        let stored = store
            .get_alarm_settings(&OrgId::default_org())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.digest_through, Some(utc(8, 6, 0)));
        // The next night held nothing: the window passes without a mail.
        assert_eq!(mail.send_due_digests(utc(9, 6, 0)).await.unwrap(), 0);
        assert_eq!(outbox.list(20).await.unwrap().len(), 4);
    }
}
