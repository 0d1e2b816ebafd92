//! What every page handler shares: who is calling ([`Caller`], through the
//! API's own session check and role scopes), the language, forms and
//! their CSRF token, and the answers that are not a page of content
//! ([`Failure`]: the sign-in redirect and the error pages).

use crate::i18n::Msg;
use crate::layout::{self, Frame};
use crate::PortalState;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::error::ApiError;
use csms_api::shared::{cookie, csrf_matches, person_principal, signed_in, Principal};
use csms_domain::api_key::Scope;
use csms_domain::audit::AuditEntry;
use csms_domain::tenant::Language;
use csms_domain::user::{User, UserSession};
use maud::{html, Markup};
use std::collections::HashMap;

/// The cookie that keeps the language chosen before signing in.
pub const LANG_COOKIE: &str = "csms_lang";

/// The language when nothing says otherwise.
pub const DEFAULT_LANG: Language = Language::Sv;

/// A signed-in person on a page.
pub struct Caller {
    pub user: User,
    pub session: UserSession,
    /// The person as the API sees them (organisation, scopes); `None` for a
    /// person with no role in any organisation (they still have their own
    /// pages).
    pub who: Option<Principal>,
    pub lang: Language,
}

impl Caller {
    /// Whether the person's role gives `needed`, checked like the API
    /// route's permission (`Scope::covers`).
    pub fn may(&self, needed: Scope) -> bool {
        self.who
            .as_ref()
            .is_some_and(|w| w.scopes.iter().any(|s| s.covers(needed)))
    }

    /// The caller as the API route with permission `needed` would get it;
    /// 403 otherwise.
    pub fn permitted(&self, needed: Scope) -> Result<&Principal, Failure> {
        match &self.who {
            Some(w) if self.may(needed) => Ok(w),
            _ => Err(self.fail(ApiError::Forbidden(format!(
                "your role lacks the {} scope",
                needed.as_str()
            )))),
        }
    }

    /// A form must carry this session's CSRF token (`csrf`): 403 otherwise.
    pub fn check_csrf(&self, form: &Form) -> Result<(), Failure> {
        if csrf_matches(form.get("csrf").unwrap_or(""), &self.session) {
            Ok(())
        } else {
            Err(self.fail(ApiError::Forbidden(
                "the form's CSRF token is missing or not this session's".into(),
            )))
        }
    }

    /// An error page that keeps the person's menu and sign-out.
    pub fn fail(&self, e: ApiError) -> Failure {
        Failure::Signed(Box::new(SignedFailure {
            lang: self.lang,
            name: self.user.name.clone(),
            csrf: self.session.csrf_token.clone(),
            operator: self.may(Scope::Read),
            error: e,
        }))
    }

    /// The page frame for `path` (the language switch comes back to it).
    pub fn frame<'a>(&'a self, path: &'a str) -> Frame<'a> {
        Frame {
            lang: self.lang,
            path,
            user: Some(layout::FrameUser {
                name: &self.user.name,
                csrf: &self.session.csrf_token,
                operator: self.may(Scope::Read),
                admin: self.may(Scope::Admin),
            }),
        }
    }
}

/// The signed-in person of the request, or the sign-in redirect (back to
/// `path` after signing in).
pub async fn caller(st: &PortalState, headers: &HeaderMap, path: &str) -> Result<Caller, Failure> {
    let (session, user) = match signed_in(&st.api, headers).await {
        Ok(found) => found,
        Err(ApiError::SignedOut) => {
            return Err(Failure::SignIn {
                next: path.to_owned(),
                htmx: headers.contains_key("hx-request"),
            })
        }
        Err(e) => return Err(Failure::Page(cookie_lang(headers), e)),
    };
    let lang = user.language;
    let who = match person_principal(&st.api, user.clone()).await {
        Ok(p) => Some(p),
        Err(ApiError::Forbidden(_)) => None,
        Err(e) => return Err(Failure::Page(lang, e)),
    };
    Ok(Caller {
        user,
        session,
        who,
        lang,
    })
}

/// The language of a request with no signed-in person: the cookie's.
pub fn cookie_lang(headers: &HeaderMap) -> Language {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Language::parse(&v).ok())
        .unwrap_or(DEFAULT_LANG)
}

/// The language of a public page's visitor who is not signed in: the
/// cookie's (the switch), else the first of the browser's
/// `Accept-Language` the portal has (by weight), else Swedish.
pub fn visitor_lang(headers: &HeaderMap) -> Language {
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|v| Language::parse(&v).ok()) {
        return l;
    }
    let Some(accept) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return DEFAULT_LANG;
    };
    let mut best: Option<(u16, Language)> = None;
    for part in accept.split(',') {
        let mut bits = part.split(';');
        let tag = bits.next().unwrap_or("").trim().to_ascii_lowercase();
        let weight = weight(bits);
        let primary = tag.split('-').next().unwrap_or("");
        let lang = match primary {
            "sv" => Language::Sv,
            "en" => Language::En,
            _ => continue,
        };
        if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map_or(DEFAULT_LANG, |(_, l)| l)
}

/// An `Accept`-style `q` parameter in thousandths (none: 1000; a bad one:
/// 0).
pub fn weight<'a>(params: impl Iterator<Item = &'a str>) -> u16 {
    for p in params {
        if let Some(q) = p.trim().strip_prefix("q=") {
            return q
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q))
                .map_or(0, |q| (q * 1000.0).round() as u16);
        }
    }
    1000
}

/// Whether a request's `Accept` header prefers an HTML page to JSON: the
/// weight it gives `text/html` (or `text/*`) is above the one it gives
/// `application/json` (or `application/*`, `*/*`). A browser's navigation
/// does; curl (`*/*`), an app asking for JSON and a request with no header
/// do not.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // The most specific range that matches each type gives its weight.
    let mut html: (u8, u16) = (0, 0);
    let mut json: (u8, u16) = (0, 0);
    for part in accept.split(',') {
        let mut bits = part.split(';');
        let range = bits.next().unwrap_or("").trim().to_ascii_lowercase();
        let w = weight(bits);
        let (for_html, for_json) = match range.as_str() {
            "text/html" => (3, 0),
            "application/json" => (0, 3),
            "text/*" => (2, 0),
            "application/*" => (0, 2),
            "*/*" => (1, 1),
            _ => (0, 0),
        };
        if for_html > html.0 {
            html = (for_html, w);
        }
        if for_json > json.0 {
            json = (for_json, w);
        }
    }
    html.1 > json.1
}

/// The `Set-Cookie` value keeping `lang` for a year.
pub fn lang_cookie(lang: Language, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
        lang.as_str()
    ))
    .expect("the cookie is ASCII")
}

/// The cookie of a form shown before signing in (the invitation, the
/// password reset): its random value is also the form's hidden `form`
/// field, and a post whose field does not match the cookie is refused. A
/// page of another site can make a browser post, but can neither read nor
/// set this cookie (`SameSite=Strict`, `HttpOnly`), so it cannot post a
/// form of its own in the visitor's name (such as accepting the forger's
/// invitation, which would sign the visitor in as the forger).
pub const FORM_COOKIE: &str = "csms_form";

/// The guard of a form shown before signing in: the value for its hidden
/// `form` field, and the `Set-Cookie` to send with the page when the
/// browser has none yet (an existing one is kept, so two tabs both work).
pub fn form_guard(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(v) = cookie(headers, FORM_COOKIE).filter(|v| well_formed_guard(v)) {
        return (v, None);
    }
    let v = csms_api::shared::random_token();
    let secure = if secure { "; Secure" } else { "" };
    let set = HeaderValue::from_str(&format!(
        "{FORM_COOKIE}={v}; Path=/portal/; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("the cookie is ASCII");
    (v, Some(set))
}

/// A guard's value as [`form_guard`] makes it: 43 URL-safe base64 digits.
fn well_formed_guard(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a form posted before signing in carries the guard of the
/// browser's cookie.
pub fn form_guarded(headers: &HeaderMap, form: &Form) -> bool {
    match (cookie(headers, FORM_COOKIE), form.get("form")) {
        (Some(c), Some(f)) if well_formed_guard(&c) => {
            csms_api::shared::constant_time_eq(c.as_bytes(), f.as_bytes())
        }
        _ => false,
    }
}

/// A URL-encoded form body.
#[derive(Clone, Debug)]
pub struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The fields' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        names.into_iter()
    }
}

/// A change made through a page goes to the organisation's audit log like
/// the API's writes: who, which operation, on which path, and the form's
/// field names (never their values, nor the CSRF token). A failure to
/// store the entry is logged: the change itself was made.
pub async fn audit(st: &PortalState, who: &Principal, operation: &str, path: &str, form: &Form) {
    let entry = AuditEntry::new(
        who.org_id.clone(),
        st.api.clock.now(),
        &who.actor().audit_name(),
        operation,
        path,
        form.names().filter(|n| *n != "csrf").map(str::to_owned),
        StatusCode::SEE_OTHER.as_u16(),
    );
    if let Err(e) = st.api.store.append_audit(&entry).await {
        tracing::error!(error = %e, %operation, "a change was made through the portal but its audit entry could not be stored");
    }
}

/// A path of the portal (or a start link's page, `/api/v1/start/…`) to go
/// back to, from a form or a query: anything else (another site, `//host`)
/// is the start page.
pub fn local_path(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if (p.starts_with("/portal") || p.starts_with("/api/v1/start/"))
                && !p.contains("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/portal/".to_owned(),
    }
}

/// An id (a station's, an invoice's, a session's) as one path segment of
/// a link: every byte but the unreserved ones (RFC 3986: letters, digits,
/// `-._~`) percent-encoded, so a space is `%20` (not a form's `+`, which a
/// path keeps as a plus) and a `/` cannot start another segment. Valid in a
/// query's value too.
pub fn encoded(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An HTML answer with the portal's headers: never cached (it shows live
/// and personal data), no framing, scripts and styles of the portal only.
pub fn html(status: StatusCode, markup: Markup) -> Response {
    html_with_csp(
        status,
        markup,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
}

/// The content security policy of a page that loads Stripe.js from
/// `js_url`: its origin for scripts, frames and calls (localstripe's mock
/// calls the origin it came from), nothing else widened. `None` for a URL
/// without an origin.
pub fn stripe_csp(js_url: &str) -> Option<String> {
    let after = js_url.find("://")? + 3;
    let end = js_url[after..]
        .find('/')
        .map_or(js_url.len(), |i| after + i);
    let stripe = &js_url[..end];
    Some(format!(
        "default-src 'self'; script-src 'self' {stripe}; style-src 'self'; img-src 'self' data:; \
         frame-src {stripe} https://hooks.stripe.com; connect-src 'self' {stripe} https://api.stripe.com; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ))
}

/// An HTML answer as [`html`] with its own content security policy (a page
/// that loads Stripe.js).
pub fn html_with_csp(status: StatusCode, markup: Markup, csp: &str) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(csp)
                    .unwrap_or(HeaderValue::from_static("default-src 'none'")),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A page that could not be shown.
pub enum Failure {
    /// Not signed in: to the sign-in page, then back to `next`. A fragment
    /// htmx fetches (`htmx`) is answered with `HX-Redirect`, so the whole
    /// page goes there instead of the sign-in page landing in the fragment.
    SignIn { next: String, htmx: bool },
    /// An error page in the language: 400, 403, 404, 409, 500 as the API
    /// would answer.
    Page(Language, ApiError),
    /// The same for a signed-in person, with their menu.
    Signed(Box<SignedFailure>),
}

/// An error page of a signed-in person's request.
pub struct SignedFailure {
    lang: Language,
    name: String,
    csrf: String,
    operator: bool,
    error: ApiError,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (lang, e, signed) = match self {
            Failure::SignIn { next, htmx } => {
                let q: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                let to = format!("/portal/sign-in?{q}");
                if htmx {
                    return (StatusCode::OK, [("hx-redirect", to)]).into_response();
                }
                return Redirect::to(&to).into_response();
            }
            Failure::Page(lang, e) => (lang, e, None),
            Failure::Signed(f) => {
                let SignedFailure {
                    lang,
                    name,
                    csrf,
                    operator,
                    error,
                } = *f;
                (lang, error, Some((name, csrf, operator)))
            }
        };
        let (status, title, text) = match &e {
            ApiError::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                Msg::Forbidden,
                Msg::ForbiddenText.text(lang).to_owned(),
            ),
            ApiError::NotFound(_) => (
                StatusCode::NOT_FOUND,
                Msg::NotFound,
                Msg::NotFoundText.text(lang).to_owned(),
            ),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, Msg::BadRequest, m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, Msg::NotDone, m.clone()),
            // A form based on a version that is no longer the latest.
            ApiError::PreconditionFailed(m) => {
                (StatusCode::PRECONDITION_FAILED, Msg::NotDone, m.clone())
            }
            other => {
                tracing::error!(error = ?other, "portal page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Msg::Failure,
                    Msg::FailureText.text(lang).to_owned(),
                )
            }
        };
        let frame = Frame {
            lang,
            path: "/portal/",
            user: signed
                .as_ref()
                .map(|(name, csrf, operator)| layout::FrameUser {
                    name,
                    csrf,
                    operator: *operator,
                    // An error page's menu leaves the admin's pages out.
                    admin: false,
                }),
        };
        let body = html! {
            h1 { (title.text(lang)) }
            p { (text) }
            p { a href="/portal/" { (Msg::BackHome.text(lang)) } }
        };
        html(status, layout::page(&frame, title.text(lang), body))
    }
}

/// `result`'s error as the caller's error page.
pub trait OrPage<T> {
    fn or_page(self, c: &Caller) -> Result<T, Failure>;
}

impl<T, E: Into<ApiError>> OrPage<T> for Result<T, E> {
    fn or_page(self, c: &Caller) -> Result<T, Failure> {
        self.map_err(|e| c.fail(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_portal_paths_are_gone_back_to() {
        assert_eq!(
            local_path(Some("/portal/stations?site=a")),
            "/portal/stations?site=a"
        );
        assert_eq!(local_path(Some("https://evil.example/")), "/portal/");
        assert_eq!(local_path(Some("/portal//evil.example")), "/portal/");
        assert_eq!(local_path(Some("/api/v1/stations")), "/portal/");
        assert_eq!(
            local_path(Some("/api/v1/start/abc?start=1")),
            "/api/v1/start/abc?start=1"
        );
        assert_eq!(local_path(None), "/portal/");
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, accept.parse().unwrap());
            prefers_html(&h)
        };
        assert!(with(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(with("text/html"));
        assert!(!with("*/*"));
        assert!(!with("application/json"));
        assert!(!with("application/json, text/html;q=0.5"));
        assert!(!with("text/html;q=0.5, application/json"));
        assert!(!with("text/html;q=0, */*"));
        assert!(with("text/*, application/json;q=0.2"));
        assert!(!prefers_html(&HeaderMap::new()));
    }

    #[test]
    fn a_visitor_s_language_from_the_cookie_or_the_browser() {
        let mut h = HeaderMap::new();
        assert_eq!(visitor_lang(&h), DEFAULT_LANG);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE, en-GB;q=0.8, sv;q=0.5".parse().unwrap(),
        );
        assert_eq!(visitor_lang(&h), Language::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "sv-SE,sv;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(visitor_lang(&h), Language::Sv);
        h.insert(header::ACCEPT_LANGUAGE, "fr".parse().unwrap());
        assert_eq!(visitor_lang(&h), DEFAULT_LANG);
        h.insert(header::COOKIE, "csms_lang=en".parse().unwrap());
        assert_eq!(visitor_lang(&h), Language::En);
    }

    #[test]
    fn a_form_before_sign_in_needs_its_cookie() {
        let (v, set) = form_guard(&HeaderMap::new(), false);
        let set = set.expect("a new browser gets the cookie");
        assert!(set.to_str().unwrap().contains("SameSite=Strict"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("{FORM_COOKIE}={v}").parse().unwrap(),
        );
        // The cookie is kept, not replaced.
        assert_eq!(form_guard(&h, false), (v.clone(), None));
        let form = |f: &str| Form::parse(format!("form={f}&token=x").as_bytes());
        assert!(form_guarded(&h, &form(&v)));
        assert!(!form_guarded(&h, &form("forged")));
        assert!(!form_guarded(&HeaderMap::new(), &form(&v)));
        assert!(!form_guarded(&h, &Form::parse(b"token=x")));
    }

    #[test]
    fn the_language_cookie_is_read() {
        let mut h = HeaderMap::new();
        assert_eq!(cookie_lang(&h), DEFAULT_LANG);
        h.insert(header::COOKIE, "a=b; csms_lang=en".parse().unwrap());
        assert_eq!(cookie_lang(&h), Language::En);
        h.insert(header::COOKIE, "csms_lang=xx".parse().unwrap());
        assert_eq!(cookie_lang(&h), DEFAULT_LANG);
    }
}
