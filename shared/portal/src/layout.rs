//! The page frame every page shares: `<html lang>`, the skip link, the
//! header with the menu, the language switch and signing out, the `main`
//! landmark, the footer; and the small pieces pages repeat (a status badge).

use crate::assets::{CSS, HTMX};
use crate::i18n::Msg;
use csms_domain::tenant::Language;
use maud::{html, Markup, DOCTYPE};

/// The signed-in person as the frame shows them.
pub struct FrameUser<'a> {
    pub name: &'a str,
    /// The session's CSRF token, for the frame's forms.
    pub csrf: &'a str,
    /// Whether the operator pages are theirs to see (the menu shows them).
    pub operator: bool,
    /// Whether the organisation's people are theirs to manage.
    pub admin: bool,
}

/// What the frame needs to know about the request.
pub struct Frame<'a> {
    pub lang: Language,
    /// The page's path and query: the language switch comes back to it.
    pub path: &'a str,
    pub user: Option<FrameUser<'a>>,
}

/// The other language, the one the switch offers.
pub fn other(lang: Language) -> Language {
    match lang {
        Language::Sv => Language::En,
        Language::En => Language::Sv,
    }
}

/// A whole page: `title` in `<title>` (after the product's name), `main`
/// in the `main` landmark.
pub fn page(frame: &Frame, title: &str, main: Markup) -> Markup {
    let lang = frame.lang;
    let t = |m: Msg| m.text(lang);
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No inline styles (the CSP allows none) and no eval.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                title { (title) " – " (t(Msg::Product)) }
                link rel="stylesheet" href=(CSS.url());
                script src=(HTMX.url()) defer {}
            }
            body {
                a.skip href="#main" { (t(Msg::SkipToContent)) }
                header.top {
                    a.brand href="/portal/" { (t(Msg::Product)) }
                    @if let Some(user) = &frame.user {
                        nav aria-label=(t(Msg::MainNav)) {
                            ul {
                                @if user.operator {
                                    li { a href="/portal/stations" { (t(Msg::NavOverview)) } }
                                    li { a href="/portal/sessions" { (t(Msg::NavSessions)) } }
                                    li { a href="/portal/laddid" { (t(Msg::NavLaddId)) } }
                                    li { a href="/portal/prices" { (t(Msg::NavPrices)) } }
                                    @if user.admin {
                                        li { a href="/portal/users" { (t(Msg::NavUsers)) } }
                                    }
                                    li { a href="/portal/invoices" { (t(Msg::NavOrgInvoices)) } }
                                    li { a href="/portal/reports" { (t(Msg::NavReports)) } }
                                    li { a href="/portal/load" { (t(Msg::NavLoad)) } }
                                    li { a href="/portal/access" { (t(Msg::NavAccess)) } }
                                    li { a href="/portal/bookings" { (t(Msg::NavCalendar)) } }
                                }
                                li { a href="/portal/me" { (t(Msg::NavMe)) } }
                                li { a href="/portal/me/bookings" { (t(Msg::NavBookings)) } }
                                li { a href="/portal/me/invoices" { (t(Msg::NavInvoices)) } }
                            }
                        }
                    }
                    form method="post" action="/portal/language" {
                        input type="hidden" name="lang" value=(other(lang).as_str());
                        input type="hidden" name="back" value=(frame.path);
                        @if let Some(user) = &frame.user {
                            input type="hidden" name="csrf" value=(user.csrf);
                        }
                        button.linkish type="submit" lang=(other(lang).as_str()) {
                            (Msg::OtherLanguageName.text(lang))
                        }
                    }
                    @if let Some(user) = &frame.user {
                        span.who { (t(Msg::SignedInAs)) " " (user.name) }
                        form method="post" action="/portal/sign-out" {
                            input type="hidden" name="csrf" value=(user.csrf);
                            button.linkish type="submit" { (t(Msg::SignOut)) }
                        }
                    }
                }
                main #main tabindex="-1" { (main) }
                footer { (t(Msg::Product)) }
            }
        }
    }
}

/// How a connector's status looks: a class for its colour (never the only
/// sign: the badge says the status in words too).
pub fn status_class(status: &str) -> &'static str {
    match status {
        "Available" => "s-ok",
        "Charging" | "Occupied" | "Preparing" | "Finishing" | "Reserved" => "s-busy",
        "SuspendedEV" | "SuspendedEVSE" => "s-warn",
        "Faulted" => "s-bad",
        _ => "s-off",
    }
}

/// A connector's status in words: the catalogue's for the statuses OCPP
/// names, the charger's own word for any other.
pub fn status_text(status: &str, lang: Language) -> String {
    let msg = match status {
        "Available" => Msg::StAvailable,
        "Charging" => Msg::StCharging,
        "Occupied" => Msg::StOccupied,
        "Preparing" => Msg::StPreparing,
        "Finishing" => Msg::StFinishing,
        "Reserved" => Msg::StReserved,
        "SuspendedEV" => Msg::StSuspendedEv,
        "SuspendedEVSE" => Msg::StSuspendedEvse,
        "Faulted" => Msg::StFaulted,
        "Unavailable" => Msg::StUnavailable,
        other => return other.to_owned(),
    };
    msg.text(lang).to_owned()
}

/// A badge with a status in words and its colour.
pub fn badge(class: &str, text: &str) -> Markup {
    html! { span class={"badge " (class)} { (text) } }
}
