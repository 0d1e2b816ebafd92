//! The booking sweep: what happens to a booking around its window, run
//! every sweep period over every organisation (the `session-sweep`
//! function in AWS, a task in the local runner).
//!
//! For each booking that is not final and starts within the lead time
//! (`BookingStore::due_bookings`, no scan):
//! - `booked`, nothing sent: a ReserveNow for the booker's token on the
//!   EVSE until the window's end. The command is submitted with an
//!   idempotency key of the booking, so a sweep that stops before it writes
//!   the booking and a later one that sends again get the same command.
//!   The booking keeps `pending:{command id}` as its outcome.
//! - `booked` with a pending command: when the command settled, `reserved`
//!   (accepted) or `refused` (rejected, offline, timed out, failed; the
//!   station's answer kept), and a refusal published as `booking.refused`
//!   (a webhook, and a mail to the booker: `csms_notify::mail::people`).
//! - past start + grace and the booker has not started (no `active` status,
//!   and no session of the token on the EVSE since the lead time before the
//!   start): `noShow`, and a reserved EVSE gets a CancelReservation (again
//!   with an idempotency key).
//! - past the end: `completed` if the booker charged, else `noShow`.
//!
//! Every step is a write on the booking's version: a sweep that loses to
//! another (or to the booker starting) leaves it to the next one.

use crate::service::{CommandError, CommandService, CommandsStore, SubmitOptions};
use chrono::TimeDelta;
use csms_domain::actor::Actor;
use csms_domain::booking::{Booking, BookingStatus};
use csms_domain::command::{CommandId, CommandRequest, CommandStatus};
use csms_domain::{IdTokenValue, OrgId, Timestamp};
use csms_kernel::events::DomainEvent;
use csms_kernel::ports::{PageRequest, SessionQuery, StoreError};

/// When the sweep acts around a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingTimes {
    /// ReserveNow goes out this long before the start.
    pub lead: TimeDelta,
    /// A booker who has not started this long after the start is a no-show.
    pub grace: TimeDelta,
}

impl Default for BookingTimes {
    fn default() -> Self {
        BookingTimes {
            lead: TimeDelta::minutes(5),
            grace: TimeDelta::minutes(15),
        }
    }
}

/// The most bookings of one organisation one sweep looks at.
pub const SWEEP_BATCH: usize = 500;

const PENDING: &str = "pending:";

/// What the station's answer to a settled ReserveNow makes of a booking.
fn settled(cmd: &csms_domain::command::Command) -> (BookingStatus, String) {
    let answered = cmd
        .response
        .as_ref()
        .and_then(|r| r.get("status"))
        .and_then(|s| s.as_str())
        .map(str::to_owned);
    match cmd.status {
        CommandStatus::Accepted => (
            BookingStatus::Reserved,
            answered.unwrap_or_else(|| "Accepted".into()),
        ),
        other => (
            BookingStatus::Refused,
            answered.unwrap_or_else(|| other.as_str().to_owned()),
        ),
    }
}

impl<S: CommandsStore + ?Sized> CommandService<S> {
    /// One sweep of every organisation's due bookings, one organisation at
    /// a time; how many changed. An organisation that fails is logged and
    /// the others are still swept; the first failure is the answer.
    pub async fn sweep_bookings_everywhere(
        &self,
        times: BookingTimes,
        now: Timestamp,
    ) -> Result<usize, StoreError>
    where
        S: csms_kernel::ports::OrganisationStore,
    {
        let orgs = csms_kernel::tenants::organisation_ids(&*self.store).await?;
        let mut changed = 0;
        let mut failed = None;
        for org in &orgs {
            match self.sweep_bookings(org, times, now).await {
                Ok(n) => changed += n,
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "booking sweep of an organisation failed");
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(changed),
        }
    }

    /// One sweep of `org`'s due bookings at `now`; how many changed.
    pub async fn sweep_bookings(
        &self,
        org: &OrgId,
        times: BookingTimes,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let until = now.checked_add_signed(times.lead).unwrap_or(now);
        let due = self.store.due_bookings(org, until, SWEEP_BATCH).await?;
        let mut changed = 0;
        for booking in due {
            match self.step(&booking, times, now).await {
                Ok(true) => changed += 1,
                Ok(false) => {}
                // Lost to another writer: the next sweep sees the new version.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => {
                    tracing::error!(error = %e, booking = %booking.id, "booking sweep step failed")
                }
            }
        }
        Ok(changed)
    }

    /// One step of one booking; whether it was written.
    async fn step(
        &self,
        b: &Booking,
        times: BookingTimes,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let start = b.window.start();
        let end = b.window.end();
        if now >= end {
            let charged =
                b.status == BookingStatus::Active || self.booker_started(b, times).await?;
            let status = if charged {
                BookingStatus::Completed
            } else {
                BookingStatus::NoShow
            };
            return self.write(b, status, b.reserve_outcome.clone(), now).await;
        }
        let past_grace = now >= start.checked_add_signed(times.grace).unwrap_or(start);
        if past_grace && b.status != BookingStatus::Active {
            if self.booker_started(b, times).await? {
                return self
                    .write(b, BookingStatus::Active, b.reserve_outcome.clone(), now)
                    .await;
            }
            let written = self
                .write(b, BookingStatus::NoShow, b.reserve_outcome.clone(), now)
                .await?;
            if b.status == BookingStatus::Reserved {
                let request = CommandRequest::CancelReservation {
                    reservation_id: b.reservation_id(),
                };
                self.send(b, request, "cancel").await;
            }
            return Ok(written);
        }
        if b.status != BookingStatus::Booked {
            return Ok(false);
        }
        let pending = b
            .reserve_outcome
            .as_deref()
            .and_then(|o| o.strip_prefix(PENDING))
            .and_then(CommandId::parse);
        let cmd = match (pending, &b.reserve_outcome) {
            (Some(id), _) => self.store.get_command(&id).await?,
            (None, None) => {
                let token = self.store.get_id_token(&b.token).await?;
                let request = CommandRequest::ReserveNow {
                    reservation_id: b.reservation_id(),
                    id_token: b.token.as_str().to_owned(),
                    token_type: token.map(|t| t.token_type.as_str().to_owned()),
                    expires_at: end,
                    evse_id: Some(b.evse_id),
                    parent_id_token: None,
                };
                match self.send(b, request, "reserve").await {
                    Some(cmd) => Some(cmd),
                    None => {
                        // Not even recorded (the station is gone, or
                        // cannot take it): refused, and the driver told.
                        return self.refuse(b, "notSent".into(), now).await;
                    }
                }
            }
            // An outcome this sweep did not write: leave it.
            (None, Some(_)) => return Ok(false),
        };
        let Some(cmd) = cmd else {
            return self.refuse(b, "notSent".into(), now).await;
        };
        if !cmd.status.is_final() {
            let outcome = Some(format!("{PENDING}{}", cmd.id.as_str()));
            if b.reserve_outcome == outcome {
                return Ok(false);
            }
            return self.write(b, BookingStatus::Booked, outcome, now).await;
        }
        match settled(&cmd) {
            (BookingStatus::Reserved, answer) => {
                self.write(b, BookingStatus::Reserved, Some(answer), now)
                    .await
            }
            (_, answer) => self.refuse(b, answer, now).await,
        }
    }

    async fn refuse(
        &self,
        b: &Booking,
        answer: String,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(after) = self
            .written(b, BookingStatus::Refused, Some(answer), now)
            .await?
        else {
            return Ok(false);
        };
        self.events
            .publish(DomainEvent::BookingRefused {
                booking: after,
                at: now,
            })
            .await;
        Ok(true)
    }

    /// Submits `request` for the booking's station as the system, keyed by
    /// the booking and `what`; `None` if it could not even be recorded.
    async fn send(
        &self,
        b: &Booking,
        request: CommandRequest,
        what: &str,
    ) -> Option<csms_domain::command::Command> {
        let opts = SubmitOptions {
            idempotency_key: Some(format!("booking:{}:{what}", b.id)),
            ..SubmitOptions::default()
        };
        let actor = Actor::system(b.org_id.clone());
        match self.submit(&actor, &b.station_id, request, opts).await {
            Ok(cmd) => Some(cmd),
            Err(CommandError::Store(e)) => {
                tracing::error!(error = %e, booking = %b.id, "could not submit a booking's command");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, booking = %b.id, "a booking's command was not accepted");
                None
            }
        }
    }

    /// Whether a session of the booker's token started on the EVSE since
    /// the lead time before the start (a booker may start a little early,
    /// before the booking holds the EVSE).
    async fn booker_started(&self, b: &Booking, times: BookingTimes) -> Result<bool, StoreError> {
        let start = b.window.start();
        let query = SessionQuery {
            org_id: b.org_id.clone(),
            station_id: Some(b.station_id.clone()),
            from: Some(start.checked_sub_signed(times.lead).unwrap_or(start)),
            to: Some(b.window.end()),
            page: PageRequest::first(PageRequest::MAX_LIMIT),
        };
        let sessions = self.store.list_sessions(&query).await?;
        Ok(sessions.items.iter().any(|s| {
            s.evse_id.or(s.connector_id) == Some(b.evse_id)
                && s.id_token
                    .as_deref()
                    .and_then(|t| IdTokenValue::parse(t).ok())
                    .is_some_and(|t| t == b.token)
        }))
    }

    /// Writes `b` with `status` and `outcome` on its version; `false` when
    /// nothing changes.
    async fn write(
        &self,
        b: &Booking,
        status: BookingStatus,
        outcome: Option<String>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.written(b, status, outcome, now).await?.is_some())
    }

    /// [`write`](Self::write), and the booking as written.
    async fn written(
        &self,
        b: &Booking,
        status: BookingStatus,
        outcome: Option<String>,
        now: Timestamp,
    ) -> Result<Option<Booking>, StoreError> {
        if b.status == status && b.reserve_outcome == outcome {
            return Ok(None);
        }
        let mut next = b.clone();
        next.status = status;
        next.reserve_outcome = outcome;
        next.updated_at = now;
        next.version = b
            .version
            .checked_add(1)
            .ok_or_else(|| StoreError::Conflict(format!("booking {} cannot change again", b.id)))?;
        self.store.put_booking(&next, b.version).await?;
        Ok(Some(next))
    }
}
