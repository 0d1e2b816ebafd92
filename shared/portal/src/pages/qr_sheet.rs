//! QR codes to print, `GET /portal/stations/{id}/qr[?evses=N]`: one A4
//! sheet per station with each EVSE's QR code (the SVG of
//! `GET …/evses/{evseId}/qr.svg`, through the same use case), its label and
//! its start link in text. The EVSEs are those the station has reported,
//! and 1 to `evses` besides (a station not installed yet has reported
//! none). Printed, the page is the sheet alone (the style sheet's print
//! rules hide the frame and the forms).
//!
//! Roles that read stations see it; an organisation admin also replaces an
//! EVSE's code (`POST /portal/stations/{id}/qr/{evse}/rotate`, the use case
//! of `POST …/charging-key/rotate`) after ticking that the printed code
//! stops working, and the change is in the audit log.

use crate::i18n::Msg;
use crate::layout;
use crate::web::{audit, caller, encoded, html, Caller, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::error::ApiError;
use csms_api::shared::{evse_qr, own_station_view, rotate_key};
use csms_domain::api_key::Scope;
use maud::{html, Markup, PreEscaped};
use std::collections::HashMap;

/// At most this many EVSEs on a sheet by `evses`.
const MAX_EVSES: u32 = 32;

fn sheet_path(id: &str) -> String {
    format!("/portal/stations/{}/qr", encoded(id))
}

/// The QR code's SVG document as an element of the page: the XML
/// declaration dropped, named for screen readers.
fn inline_svg(svg: &str, label: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    svg[start..].replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"qr\""),
        1,
    )
}

/// `evses`: a whole number from 1 to [`MAX_EVSES`] (none: 0).
fn evses_param(q: &HashMap<String, String>) -> Result<u32, ApiError> {
    match q.get("evses").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(0),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_EVSES).contains(n))
            .ok_or_else(|| ApiError::BadRequest(format!("evses: a number from 1 to {MAX_EVSES}"))),
    }
}

fn rotate_form(c: &Caller, id: &str, evse: u32) -> Markup {
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let check = format!("confirm-{evse}");
    html! {
        details.no-print.rotate {
            summary { (t(Msg::QrRotate)) }
            form method="post" action={(sheet_path(id)) "/" (evse) "/rotate"} {
                input type="hidden" name="csrf" value=(c.session.csrf_token);
                p.check {
                    input #(check) type="checkbox" name="confirm" value="yes" required;
                    label for=(check) { (Msg::QrRotateConfirm.text(lang).replace("{}", &evse.to_string())) }
                }
                button.secondary type="submit" { (t(Msg::QrRotateButton)) }
            }
        }
    }
}

/// `GET /portal/stations/{id}/qr[?evses=N&rotated=E]`.
pub async fn page(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let path = sheet_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let who = c.permitted(Scope::Read)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let view = own_station_view(&st.api, who, &id).await.or_page(&c)?;
    let more = evses_param(&q).map_err(|e| c.fail(e))?;
    let mut evses: Vec<u32> = view
        .connectors_as_shown()
        .iter()
        .map(|cs| cs.evse_id)
        .filter(|e| *e > 0)
        .chain(1..=more)
        .collect();
    evses.sort_unstable();
    evses.dedup();
    let site = match &view.station.site_id {
        Some(s) => st
            .api
            .store
            .get_site(s)
            .await
            .or_page(&c)?
            .filter(|s| s.org_id == who.org_id),
        None => None,
    };
    let mut codes = Vec::with_capacity(evses.len());
    let mut configured = true;
    for evse in &evses {
        match evse_qr(&st.api, who, &id, *evse).await {
            Ok(found) => codes.push((*evse, found)),
            Err(ApiError::NotConfigured(_)) => {
                configured = false;
                break;
            }
            Err(e) => return Err(c.fail(e)),
        }
    }
    let rotated = q.get("rotated").and_then(|r| r.parse::<u32>().ok());
    let admin = c.may(Scope::Admin);
    let station = &view.station;
    let name = station
        .name
        .clone()
        .unwrap_or_else(|| station.id.to_string());
    let body = html! {
        div.no-print {
            h1 { (t(Msg::QrTitle)) }
            p.hint { (t(Msg::QrHint)) }
            @if let Some(e) = rotated { p.card role="status" { (Msg::QrRotated.text(lang).replace("{}", &e.to_string())) } }
            form.filter method="get" action=(path) {
                div {
                    label for="evses" { (t(Msg::QrEvses)) }
                    input #evses type="number" name="evses" min="1" max=(MAX_EVSES) inputmode="numeric" value=(if more > 0 { more.to_string() } else { String::new() });
                }
                button.secondary type="submit" { (t(Msg::QrShow)) }
            }
        }
        section.sheet aria-labelledby="sheet-h" {
            h2 #sheet-h { (name) }
            @if let Some(site) = &site {
                p.where { (site.name) ", " (site.address.street) ", " (site.address.postal_code) " " (site.address.city) }
            }
            @if !configured {
                p.error role="alert" { (t(Msg::QrNotConfigured)) }
            } @else if codes.is_empty() {
                p.empty { (t(Msg::QrNone)) }
            } @else {
                ul.plain.qr-grid {
                    @for (evse, (key, svg)) in &codes {
                        @let label = Msg::PubEvse.text(lang).replace("{}", &evse.to_string());
                        li.qr-label #{"evse-" (evse)} data-evse=(evse) {
                            h3 { (label) }
                            (PreEscaped(inline_svg(svg, &Msg::QrCodeOf.text(lang).replace("{}", &evse.to_string()))))
                            p.scan { (t(Msg::QrScan)) }
                            @if let Some(url) = &key.start_url { p.link { code { (url) } } }
                            @if admin { (rotate_form(&c, station.id.as_str(), *evse)) }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(&path), t(Msg::QrTitle), body),
    ))
}

/// `POST /portal/stations/{id}/qr/{evse}/rotate`: `confirm=yes` and the
/// CSRF token; an organisation admin's.
pub async fn rotate(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path((id, evse)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let path = sheet_path(&id);
    let c = caller(&st, &headers, &path).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Admin)?;
    let evse = evse
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| c.fail(ApiError::BadRequest("evseId: a number from 1".into())))?;
    if form.get("confirm") != Some("yes") {
        return Err(c.fail(ApiError::BadRequest(
            "confirm: tick that the printed code stops working".into(),
        )));
    }
    let key = rotate_key(&st.api, who, &id, evse).await.or_page(&c)?;
    tracing::info!(station = %key.station_id, evse, "portal: charging key rotated");
    let target = format!("/portal/stations/{}/qr/{evse}/rotate", key.station_id);
    audit(
        &st,
        who,
        "POST /portal/stations/{id}/qr/{evse}/rotate",
        &target,
        &form,
    )
    .await;
    Ok(Redirect::to(&format!("{path}?rotated={evse}#evse-{evse}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_becomes_a_named_element() {
        let svg = r#"<?xml version="1.0" standalone="yes"?><svg xmlns="http://www.w3.org/2000/svg" width="8"></svg>"#;
        let inline = inline_svg(svg, "QR \"1\"");
        assert!(
            inline.starts_with(r#"<svg role="img" aria-label="QR &quot;1&quot;" class="qr" xmlns"#),
            "{inline}"
        );
    }

    #[test]
    fn evses_is_a_small_number() {
        let q = |v: &str| HashMap::from([("evses".to_owned(), v.to_owned())]);
        assert_eq!(evses_param(&HashMap::new()).unwrap(), 0);
        assert_eq!(evses_param(&q("4")).unwrap(), 4);
        assert!(evses_param(&q("0")).is_err());
        assert!(evses_param(&q("33")).is_err());
        assert!(evses_param(&q("x")).is_err());
    }
}
