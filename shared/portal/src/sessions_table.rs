//! A table of sessions with energy and cost, shown on the sessions page,
//! the station page and the driver's page.

use crate::i18n::{self, Msg};
use csms_domain::pricing::PricedSession;
use csms_domain::session::{Session, SessionStatus};
use csms_domain::tenant::Language;
use maud::{html, Markup};

/// Which of the optional columns a table has.
#[derive(Clone, Copy)]
pub struct Columns {
    /// The station (and EVSE).
    pub station: bool,
    /// The identifier that started the session.
    pub identifier: bool,
    /// The start time links to the session's page (an operator's pages).
    pub link: bool,
}

/// The operator's page of session `id` (`{stationId}~{transactionId}`),
/// the id as one path segment ([`crate::web::encoded`]).
pub fn session_path(id: &str) -> String {
    format!("/portal/sessions/{}", crate::web::encoded(id))
}

/// The session's EVSE and connector (`2/1`), `–` when unknown.
pub fn evse(s: &Session) -> String {
    match (s.evse_id, s.connector_id) {
        (Some(e), Some(c)) => format!("{e}/{c}"),
        (Some(e), None) => e.to_string(),
        _ => "–".to_owned(),
    }
}

/// The sessions, or the empty state.
pub fn table(lang: Language, rows: &[(Session, Option<PricedSession>)], cols: Columns) -> Markup {
    let t = |m: Msg| m.text(lang);
    let station = cols.station;
    html! {
        @if rows.is_empty() {
            p.empty { (t(Msg::NoSessions)) }
        } @else {
            table {
                thead { tr {
                    @if station {
                        th scope="col" { (t(Msg::Station)) }
                        th scope="col" { (t(Msg::Evse)) }
                    }
                    @if cols.identifier { th scope="col" { (t(Msg::Identifier)) } }
                    th scope="col" { (t(Msg::Started)) }
                    th scope="col" { (t(Msg::Ended)) }
                    th scope="col" { (t(Msg::Energy)) }
                    th scope="col" { (t(Msg::Cost)) }
                } }
                tbody {
                    @for (s, price) in rows {
                        tr {
                            @if station {
                                td data-label=(t(Msg::Station)) { (s.station_id.as_str()) }
                                td.num data-label=(t(Msg::Evse)) {
                                    (evse(s))
                                }
                            }
                            @if cols.identifier {
                                td data-label=(t(Msg::Identifier)) {
                                    @match &s.id_token { Some(tok) => code { (tok) }, None => "–" }
                                }
                            }
                            td.num data-label=(t(Msg::Started)) {
                                @let started = match s.started_at {
                                    Some(at) => i18n::datetime(at, lang),
                                    None => t(Msg::Unknown).to_owned(),
                                };
                                @if cols.link {
                                    a href=(session_path(s.id.as_str())) { (started) }
                                } @else {
                                    (started)
                                }
                            }
                            td.num data-label=(t(Msg::Ended)) {
                                @match (s.status, s.ended_at) {
                                    (SessionStatus::Active, _) => span.badge.s-busy { (t(Msg::Active)) },
                                    (_, Some(at)) => (i18n::datetime(at, lang)),
                                    (_, None) => "–",
                                }
                            }
                            td.num data-label=(t(Msg::Energy)) {
                                @match price.as_ref().map(|p| p.energy_wh).or_else(|| s.energy_wh()) {
                                    Some(wh) => (i18n::kwh(wh, lang)),
                                    None => "–",
                                }
                            }
                            td.num data-label=(t(Msg::Cost)) {
                                @match price {
                                    Some(p) => (i18n::money(p.gross, &p.currency, lang)),
                                    None => span.muted { (t(Msg::NotPriced)) },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::session_path;

    #[test]
    fn a_session_id_is_one_path_segment() {
        assert_eq!(session_path("CP-1~42"), "/portal/sessions/CP-1~42");
        assert_eq!(
            session_path("CP 1/å~x?y"),
            "/portal/sessions/CP%201%2F%C3%A5~x%3Fy"
        );
    }
}
