//! My bookings, `GET /portal/me/bookings`: the bookings made for the
//! signed-in person (by them or by an operator for their card), at any
//! organisation's stations — what `GET /me/bookings` reads — upcoming
//! first, each still to come with a button cancelling it through the use
//! case behind `POST /me/bookings/{id}/cancel`
//! (`csms_api::shared::cancel_my_booking`, which cancels a reservation the
//! station holds there too).

use crate::i18n::{self, Msg};
use crate::layout::{self, badge};
use crate::web::{audit, caller, encoded, html, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::shared::cancel_my_booking;
use csms_domain::booking::{Booking, BookingStatus};
use csms_domain::Timestamp;
use csms_kernel::ports::PageRequest;
use maud::html;

const PATH: &str = "/portal/me/bookings";

/// How many of my bookings the page reads (the latest starts).
const SHOWN: u32 = 100;

/// Whether `b` is still to come (or under way) at `now`: listed first,
/// and cancellable.
pub(crate) fn upcoming(b: &Booking, now: Timestamp) -> bool {
    !b.status.is_final() && b.window.end() > now
}

/// Upcoming first, soonest first; then the rest, latest first (the store's
/// order).
fn ordered(mut bookings: Vec<Booking>, now: Timestamp) -> Vec<Booking> {
    let mut rest: Vec<Booking> = Vec::new();
    bookings.retain(|b| {
        let keep = upcoming(b, now);
        if !keep {
            rest.push(b.clone());
        }
        keep
    });
    bookings.sort_by_key(|b| b.window.start());
    bookings.extend(rest);
    bookings
}

/// A booking's status in words and its colour.
pub(crate) fn status(s: BookingStatus) -> (&'static str, Msg) {
    match s {
        BookingStatus::Booked => ("s-busy", Msg::BkBooked),
        BookingStatus::Reserved => ("s-ok", Msg::BkReserved),
        BookingStatus::Active => ("s-ok", Msg::BkActive),
        BookingStatus::Completed => ("s-off", Msg::BkCompleted),
        BookingStatus::Cancelled => ("s-off", Msg::BkCancelled),
        BookingStatus::NoShow => ("s-bad", Msg::BkNoShow),
        BookingStatus::Refused => ("s-warn", Msg::BkRefused),
    }
}

/// `GET /portal/me/bookings`.
pub async fn page(State(st): State<PortalState>, headers: HeaderMap) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let now = st.api.clock.now();
    let bookings = st
        .api
        .store
        .list_user_bookings(&c.user.id, &PageRequest::first(SHOWN))
        .await
        .or_page(&c)?
        .items;
    let bookings = ordered(bookings, now);
    let body = html! {
        h1 { (t(Msg::NavBookings)) }
        p.hint { (t(Msg::BkHint)) }
        @if bookings.is_empty() {
            p.empty { (t(Msg::BkNone)) }
        } @else {
            table #bookings {
                thead { tr {
                    th scope="col" { (t(Msg::Station)) }
                    th scope="col" { (t(Msg::Evse)) }
                    th scope="col" { (t(Msg::BkFrom)) }
                    th scope="col" { (t(Msg::BkTo)) }
                    th scope="col" { (t(Msg::Identifier)) }
                    th scope="col" { (t(Msg::Status)) }
                    th scope="col" { (t(Msg::Actions)) }
                } }
                tbody {
                    @for b in &bookings {
                        @let (class, text) = status(b.status);
                        @let from = i18n::datetime(b.window.start(), lang);
                        tr data-booking=(b.id.as_str()) {
                            td data-label=(t(Msg::Station)) { (b.station_id.as_str()) }
                            td.num data-label=(t(Msg::Evse)) { (b.evse_id) }
                            td.num data-label=(t(Msg::BkFrom)) { (from) }
                            td.num data-label=(t(Msg::BkTo)) { (i18n::datetime(b.window.end(), lang)) }
                            td data-label=(t(Msg::Identifier)) { code { (b.token.as_str()) } }
                            td data-label=(t(Msg::Status)) { (badge(class, t(text))) }
                            td data-label=(t(Msg::Actions)) {
                                @if upcoming(b, now) {
                                    form.inline method="post" action=(format!("{PATH}/{}/cancel", encoded(b.id.as_str()))) {
                                        input type="hidden" name="csrf" value=(c.session.csrf_token);
                                        button.secondary type="submit" {
                                            (t(Msg::BkCancel))
                                            span.visually-hidden {
                                                " " (t(Msg::BkCancelOf).replacen("{}", b.station_id.as_str(), 1).replacen("{}", &from, 1))
                                            }
                                        }
                                    }
                                } @else {
                                    span.muted { "–" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(PATH), t(Msg::NavBookings), body),
    ))
}

/// `POST /portal/me/bookings/{id}/cancel`: through the API's use case; its
/// refusals (not mine, over already) are the error page.
pub async fn cancel(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    cancel_my_booking(&st.api, &c.user.id, &id)
        .await
        .or_page(&c)?;
    // Noted like the API's own write, in the caller's organisation.
    if let Some(who) = &c.who {
        let path = format!("{PATH}/{}/cancel", encoded(&id));
        audit(
            &st,
            who,
            "POST /portal/me/bookings/{id}/cancel",
            &path,
            &form,
        )
        .await;
    }
    Ok(Redirect::to(PATH).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::booking::{BookingId, Window};
    use csms_domain::{IdTokenValue, OrgId, StationId};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn booking(start: &str, end: &str, status: BookingStatus) -> Booking {
        Booking {
            id: BookingId::generate(),
            org_id: OrgId::parse("org-a").unwrap(),
            station_id: StationId::parse("CP-1").unwrap(),
            evse_id: 1,
            token: IdTokenValue::parse("BOOKER").unwrap(),
            user_id: None,
            window: Window::stored(t(start), t(end)).unwrap(),
            status,
            reserve_outcome: None,
            created_by: "admin".into(),
            created_at: t(start),
            updated_at: t(start),
            version: 1,
        }
    }

    #[test]
    fn upcoming_bookings_come_first_soonest_first_then_the_rest_as_listed() {
        let now = t("2026-12-07T12:00:00Z");
        // The store's order: latest start first.
        let listed = vec![
            booking(
                "2026-12-09T10:00:00Z",
                "2026-12-09T11:00:00Z",
                BookingStatus::Booked,
            ),
            booking(
                "2026-12-08T10:00:00Z",
                "2026-12-08T11:00:00Z",
                BookingStatus::Cancelled,
            ),
            booking(
                "2026-12-08T09:00:00Z",
                "2026-12-08T10:00:00Z",
                BookingStatus::Reserved,
            ),
            // Under way now: still upcoming (and cancellable).
            booking(
                "2026-12-07T11:30:00Z",
                "2026-12-07T12:30:00Z",
                BookingStatus::Active,
            ),
            booking(
                "2026-12-06T10:00:00Z",
                "2026-12-06T11:00:00Z",
                BookingStatus::Completed,
            ),
            // Over, though never completed: earlier.
            booking(
                "2026-12-05T10:00:00Z",
                "2026-12-05T11:00:00Z",
                BookingStatus::Refused,
            ),
        ];
        let ids: Vec<String> = listed.iter().map(|b| b.id.as_str().to_owned()).collect();
        let order: Vec<String> = ordered(listed, now)
            .iter()
            .map(|b| b.id.as_str().to_owned())
            .collect();
        let want = [3, 2, 0, 1, 4, 5].map(|i| ids[i].clone());
        assert_eq!(order, want);
    }
}
