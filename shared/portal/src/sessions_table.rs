//! A table of sessions with energy and cost, shown on the station page and
//! the driver's page.

use crate::i18n::{self, Msg};
use csms_domain::pricing::PricedSession;
use csms_domain::session::{Session, SessionStatus};
use csms_domain::tenant::Language;
use maud::{html, Markup};

/// The sessions, or the empty state; `station` adds the station column.
pub fn table(lang: Language, rows: &[(Session, Option<PricedSession>)], station: bool) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        @if rows.is_empty() {
            p.empty { (t(Msg::NoSessions)) }
        } @else {
            table {
                thead { tr {
                    @if station { th scope="col" { (t(Msg::Station)) } }
                    th scope="col" { (t(Msg::Started)) }
                    th scope="col" { (t(Msg::Ended)) }
                    th scope="col" { (t(Msg::Energy)) }
                    th scope="col" { (t(Msg::Cost)) }
                } }
                tbody {
                    @for (s, price) in rows {
                        tr {
                            @if station { td data-label=(t(Msg::Station)) { (s.station_id.as_str()) } }
                            td.num data-label=(t(Msg::Started)) {
                                @match s.started_at { Some(at) => (i18n::datetime(at, lang)), None => "–" }
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
