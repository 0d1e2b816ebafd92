//! Signing in and out, the language switch and the start page.
//!
//! The sign-in form runs the API's sign-in use case
//! (`csms_api::shared::authenticate`: password, second factor, the same
//! throttle as `POST /auth/sign-in`) and makes the same session and cookie
//! (`new_session`).

use crate::i18n::Msg;
use crate::layout::{self, Frame};
use crate::web::{
    self, caller, cookie_lang, form_guard, form_guarded, html, lang_cookie, local_path, Failure,
    Form, OrPage,
};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use csms_api::error::ApiError;
use csms_api::shared::{authenticate, clear_cookie, new_session, signed_in, Refusal};
use csms_domain::api_key::Scope;
use csms_domain::tenant::Language;
use csms_kernel::throttle::ClientAddr;
use maud::html;
use std::collections::HashMap;

/// `GET /portal/`: the operator's overview, or a driver's own page.
pub async fn home(State(st): State<PortalState>, headers: HeaderMap) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/").await?;
    let to = if c.may(Scope::Read) {
        "/portal/stations"
    } else {
        "/portal/me"
    };
    Ok(Redirect::to(to).into_response())
}

/// What the sign-in form shows besides its fields.
#[derive(Default)]
struct SignInView<'a> {
    email: &'a str,
    next: &'a str,
    /// The form's guard against posts from other sites (`web::form_guard`):
    /// another site could otherwise sign a visitor in to its own account.
    guard: &'a str,
    error: Option<String>,
    ask_code: bool,
    /// Just back from the reset link's page: the password is changed.
    changed: bool,
}

fn sign_in_form(lang: Language, v: &SignInView) -> maud::Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        div.signin.card {
            h1 { (t(Msg::SignIn)) }
            @if let Some(e) = &v.error {
                p.error role="alert" { (e) }
            }
            @if v.ask_code && v.error.is_none() {
                p role="status" { (t(Msg::CodeNeeded)) }
            }
            @if v.changed && v.error.is_none() {
                p role="status" { (t(Msg::LinkPasswordChanged)) }
            }
            form method="post" action="/portal/sign-in" {
                input type="hidden" name="next" value=(v.next);
                input type="hidden" name="form" value=(v.guard);
                label for="email" { (t(Msg::Email)) }
                input #email type="email" name="email" value=(v.email) autocomplete="username" required;
                label for="password" { (t(Msg::Password)) }
                input #password type="password" name="password" autocomplete="current-password" required;
                @if v.ask_code {
                    label for="code" { (t(Msg::Code)) }
                    input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                }
                div.actions { button type="submit" { (t(Msg::SignIn)) } }
            }
            p { a href="/portal/forgot-password" { (t(Msg::LinkForgot)) } }
        }
    }
}

fn sign_in_page(
    lang: Language,
    status: StatusCode,
    v: &SignInView,
    set: Option<HeaderValue>,
) -> Response {
    let path = format!(
        "/portal/sign-in?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", v.next)
            .finish()
    );
    let frame = Frame {
        lang,
        path: &path,
        user: None,
    };
    let mut resp = html(
        status,
        layout::page(&frame, Msg::SignIn.text(lang), sign_in_form(lang, v)),
    );
    if let Some(set) = set {
        resp.headers_mut().append(header::SET_COOKIE, set);
    }
    resp
}

/// `GET /portal/sign-in?next=…`: the form; a signed-in person goes on.
pub async fn sign_in_get(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let next = local_path(q.get("next").map(String::as_str));
    if signed_in(&st.api, &headers).await.is_ok() {
        return Redirect::to(&next).into_response();
    }
    let (guard, set) = form_guard(&headers, st.api.secure_cookies);
    let v = SignInView {
        next: &next,
        guard: &guard,
        changed: q.contains_key("changed"),
        ..SignInView::default()
    };
    sign_in_page(cookie_lang(&headers), StatusCode::OK, &v, set)
}

/// `POST /portal/sign-in`: e-mail, password and, when asked, the code.
pub async fn sign_in_post(
    State(st): State<PortalState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Response {
    let lang = cookie_lang(&headers);
    let form = Form::parse(&body);
    let email = form.get("email").unwrap_or("").trim();
    let next = local_path(form.get("next"));
    let code = form.get("code").map(str::trim).filter(|c| !c.is_empty());
    let client = client.as_ref().map(|Extension(a)| a);
    let password = form.get("password").unwrap_or("");
    if !form_guarded(&headers, &form) {
        // Not this browser's form (another site's post, or a form from
        // before the cookie was lost): nothing is tried, the form again.
        let (guard, set) = form_guard(&headers, st.api.secure_cookies);
        let v = SignInView {
            email,
            next: &next,
            guard: &guard,
            error: Some(Msg::LinkFormExpired.text(lang).to_owned()),
            ..SignInView::default()
        };
        return sign_in_page(lang, StatusCode::FORBIDDEN, &v, set);
    }
    let guard = form.get("form").unwrap_or("");
    let refused = match authenticate(&st.sign_in, client, email, password, code).await {
        Ok(user) => {
            return match new_session(&st.api, &user).await {
                Ok((_, cookie)) => {
                    let mut resp = Redirect::to(&next).into_response();
                    resp.headers_mut().append(header::SET_COOKIE, cookie);
                    resp.headers_mut().append(
                        header::SET_COOKIE,
                        lang_cookie(user.language, st.api.secure_cookies),
                    );
                    resp
                }
                Err(e) => Failure::Page(lang, e).into_response(),
            }
        }
        Err(r) => r,
    };
    let mut v = SignInView {
        email,
        next: &next,
        guard,
        ask_code: code.is_some(),
        error: None,
        changed: false,
    };
    let status = match refused {
        Refusal::Throttled(_) => {
            v.error = Some(Msg::SignInThrottled.text(lang).to_owned());
            StatusCode::TOO_MANY_REQUESTS
        }
        Refusal::Error(ApiError::SecondFactorRequired) => {
            v.ask_code = true;
            StatusCode::UNAUTHORIZED
        }
        Refusal::Error(ApiError::SignInFailed) => {
            v.error = Some(Msg::SignInFailed.text(lang).to_owned());
            StatusCode::UNAUTHORIZED
        }
        Refusal::Error(ApiError::BadRequest(m)) => {
            v.error = Some(m);
            StatusCode::BAD_REQUEST
        }
        Refusal::Error(e) => return Failure::Page(lang, e).into_response(),
    };
    sign_in_page(lang, status, &v, None)
}

/// `POST /portal/sign-out` (with the CSRF token): ends this session.
pub async fn sign_out(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, "/portal/").await?;
    c.check_csrf(&Form::parse(&body))?;
    st.api
        .store
        .delete_user_session(&c.session.id_hash)
        .await
        .or_page(&c)?;
    let mut resp = Redirect::to("/portal/sign-in").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&st.api));
    Ok(resp)
}

/// `POST /portal/language`: `lang` and the page to go `back` to. Signed in
/// (with the CSRF token), it is the person's setting; before signing in, a
/// cookie.
pub async fn language(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let form = Form::parse(&body);
    let back = local_path(form.get("back"));
    let Some(lang) = form.get("lang").and_then(|l| Language::parse(l).ok()) else {
        return Err(Failure::Page(
            cookie_lang(&headers),
            ApiError::BadRequest("lang: one of sv, en".into()),
        ));
    };
    if signed_in(&st.api, &headers).await.is_ok() {
        let c = caller(&st, &headers, &back).await?;
        c.check_csrf(&form)?;
        set_language(&st, c.user.clone(), lang).await.or_page(&c)?;
    }
    let mut resp = Redirect::to(&back).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        web::lang_cookie(lang, st.api.secure_cookies),
    );
    Ok(resp)
}

/// Writes the person's language on the version read; a lost race reads
/// again (bounded).
async fn set_language(
    st: &PortalState,
    mut user: csms_domain::user::User,
    lang: Language,
) -> Result<(), ApiError> {
    for _ in 0..3 {
        if user.language == lang {
            return Ok(());
        }
        let expected = user.version;
        user.language = lang;
        user.version = expected + 1;
        user.updated_at = st.api.clock.now();
        match st.api.store.put_user(&user, expected).await {
            Ok(()) => return Ok(()),
            Err(csms_kernel::ports::StoreError::Conflict(_)) => {
                user = st
                    .api
                    .store
                    .get_user(&user.id)
                    .await?
                    .ok_or(ApiError::SignedOut)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(
        "your settings kept changing; try again".into(),
    ))
}
