//! The pages behind the links the service mails: accepting an invitation
//! and choosing a new password, and asking for that link ("Forgot your
//! password?" on the sign-in page).
//!
//! The mails point at `/invitation?token=…` and `/reset-password?token=…`
//! (`csms_api::invitations`); those addresses send the browser on to the
//! pages under `/portal/`, where the language switch and the form's cookie
//! live. Every step is the API's own use case with its throttles
//! (`inspect_invitation`, `accept_invitation`, `ask_password_reset`,
//! `check_reset_link`, `reset_password`, the same `LinkState` as the
//! `/auth/…` routes), so a page can do nothing the API would refuse.
//!
//! Nobody is signed in yet, so the forms carry no session's CSRF token:
//! each carries the random value of a `SameSite=Strict` cookie instead
//! (`web::form_guard`), which another site can neither read nor send. A
//! used, revoked, expired or tampered link is a page saying so in words.
//! Asking for a reset link answers the same whether or not the address has
//! an account, so the page tells nobody which addresses do.

use crate::i18n::{self, Msg};
use crate::layout::{self, Frame};
use crate::web::{
    self, cookie_lang, form_guard, form_guarded, html, lang_cookie, Failure, Form, LANG_COOKIE,
};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use csms_api::error::ApiError;
use csms_api::shared::{
    accept_invitation, ask_password_reset, check_reset_link, cookie, inspect_invitation,
    new_session, reset_password, InvitationOffer, LinkRefusal,
};
use csms_domain::email_link::LinkError;
use csms_domain::tenant::Language;
use csms_kernel::throttle::ClientAddr;
use maud::{html, Markup};
use std::collections::HashMap;

const INVITATION: &str = "/portal/invitation";
const FORGOT: &str = "/portal/forgot-password";
const RESET: &str = "/portal/reset-password";

/// The bounds of a person's password (`csms_charging::password::validate`,
/// which the use cases apply), so the browser says so before the post.
const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 64;

/// The new-password input of the invitation and reset forms: one place for
/// its label, bounds and hint, so the two forms cannot drift apart.
fn new_password_field(label: &str, hint: &str) -> Markup {
    html! {
        label for="password" { (label) }
        input #password type="password" name="password" autocomplete="new-password"
            required minlength=(PASSWORD_MIN) maxlength=(PASSWORD_MAX) aria-describedby="password-hint";
        p #password-hint.hint { (hint) }
    }
}

/// `GET /invitation?token=…`, the address in the invitation mail: on to the
/// page.
pub async fn invitation_link(q: Query<HashMap<String, String>>) -> Redirect {
    Redirect::to(&with_token(INVITATION, token_of(&q)))
}

/// `GET /reset-password?token=…`, the address in the reset mail: on to the
/// page.
pub async fn reset_link(q: Query<HashMap<String, String>>) -> Redirect {
    Redirect::to(&with_token(RESET, token_of(&q)))
}

fn token_of(q: &HashMap<String, String>) -> &str {
    q.get("token").map(String::as_str).unwrap_or("")
}

/// `path?token=…`, the token form-encoded.
fn with_token(path: &str, token: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    format!("{path}?{q}")
}

/// The language a visitor chose (the switch's cookie), if any.
fn chosen_lang(headers: &HeaderMap) -> Option<Language> {
    cookie(headers, LANG_COOKIE).and_then(|v| Language::parse(&v).ok())
}

/// A page of these forms: nobody signed in, `path` for the language
/// switch, and the form's cookie when it is new.
fn page(
    lang: Language,
    status: StatusCode,
    path: &str,
    title: Msg,
    main: Markup,
    set_guard: Option<HeaderValue>,
) -> Response {
    let frame = Frame {
        lang,
        path,
        user: None,
    };
    let mut resp = html(status, layout::page(&frame, title.text(lang), main));
    if let Some(set) = set_guard {
        resp.headers_mut().append(header::SET_COOKIE, set);
    }
    resp
}

/// Why a link or form did nothing, as a page in words: a link that is over
/// says which way and what to do; too many tries, a bad link or a form
/// without its cookie say so; anything else is the error page.
fn refused(lang: Language, path: &str, r: LinkRefusal) -> Response {
    let t = |m: Msg| m.text(lang);
    let (status, lines) = match r {
        LinkRefusal::Over(e, what) => {
            let why = match e {
                LinkError::Used => Msg::LinkUsed,
                LinkError::Revoked => Msg::LinkRevoked,
                LinkError::Expired => Msg::LinkExpired,
            };
            let next = if what == "invitation" {
                Msg::LinkAskInviter
            } else {
                Msg::LinkAskAgain
            };
            (StatusCode::CONFLICT, [why, next])
        }
        LinkRefusal::Throttled(..) => (
            StatusCode::TOO_MANY_REQUESTS,
            [Msg::LinkThrottled, Msg::LinkAskAgain],
        ),
        // A malformed, unknown or tampered link.
        LinkRefusal::Error(ApiError::BadRequest(m)) if m.starts_with("token:") => (
            StatusCode::BAD_REQUEST,
            [Msg::LinkInvalid, Msg::LinkAskAgain],
        ),
        LinkRefusal::Error(ApiError::Conflict(m)) => {
            // A race or a disabled account: the API's own sentence.
            let main = html! {
                h1 { (t(Msg::LinkOver)) }
                p.error role="alert" { (m) }
                p { a href="/portal/sign-in" { (t(Msg::SignIn)) } }
            };
            return page(lang, StatusCode::CONFLICT, path, Msg::LinkOver, main, None);
        }
        LinkRefusal::Error(e) => return Failure::Page(lang, e).into_response(),
    };
    let forgot = path.starts_with(RESET);
    let main = html! {
        h1 { (t(Msg::LinkOver)) }
        @for (i, line) in lines.iter().enumerate() {
            @if i == 0 { p.error role="alert" { (t(*line)) } } @else { p { (t(*line)) } }
        }
        @if forgot {
            p { a href=(FORGOT) { (t(Msg::LinkForgot)) } }
        }
        p { a href="/portal/sign-in" { (t(Msg::SignIn)) } }
    };
    page(lang, status, path, Msg::LinkOver, main, None)
}

/// The page of a form posted without its cookie's value.
fn unguarded(lang: Language, path: &str) -> Response {
    let main = html! {
        h1 { (Msg::LinkOver.text(lang)) }
        p.error role="alert" { (Msg::LinkFormExpired.text(lang)) }
    };
    page(lang, StatusCode::FORBIDDEN, path, Msg::LinkOver, main, None)
}

fn role_name(role: &str) -> Msg {
    match role {
        "platformAdmin" => Msg::RolePlatformAdmin,
        "orgAdmin" => Msg::RoleOrgAdmin,
        "operator" => Msg::RoleOperator,
        "accountant" => Msg::RoleAccountant,
        "viewer" => Msg::RoleViewer,
        _ => Msg::RoleDriver,
    }
}

// ------------------------------------------------------------ the invitation

/// What the invitation page shows besides the offer.
struct InvitationForm<'a> {
    token: &'a str,
    guard: &'a str,
    name: &'a str,
    error: Option<&'a str>,
}

fn invitation_main(lang: Language, offer: &InvitationOffer, f: &InvitationForm) -> Markup {
    let t = |m: Msg| m.text(lang);
    let until = chrono::DateTime::parse_from_rfc3339(&offer.expires_at)
        .map(|at| i18n::datetime(at.to_utc(), lang))
        .unwrap_or_else(|_| offer.expires_at.clone());
    html! {
        div.signin.card {
            h1 { (t(Msg::LinkInvitation)) }
            p {
                (t(Msg::LinkInvitedTo)
                    .replacen("{}", &offer.organisation_name, 1)
                    .replacen("{}", t(role_name(&offer.role)), 1))
            }
            p { (t(Msg::LinkInvitedEmail).replace("{}", &offer.email)) }
            p { (t(Msg::LinkInvitationUntil).replace("{}", &until)) }
            @if let Some(e) = f.error {
                p.error role="alert" { (e) }
            }
            form method="post" action=(INVITATION) {
                input type="hidden" name="token" value=(f.token);
                input type="hidden" name="form" value=(f.guard);
                @if offer.has_account {
                    p { (t(Msg::LinkHasAccount)) }
                } @else {
                    p { (t(Msg::LinkNewAccount)) }
                    label for="name" { (t(Msg::Name)) }
                    input #name type="text" name="name" value=(f.name) autocomplete="name" required maxlength="200";
                    (new_password_field(t(Msg::Password), t(Msg::LinkPasswordHint)))
                }
                div.actions { button type="submit" { (t(Msg::LinkAccept)) } }
            }
        }
    }
}

/// `GET /portal/invitation?token=…`: what the invitation offers, and the
/// form that accepts it (a name and a password for a new person, one
/// button for an account that exists).
pub async fn invitation_get(
    State(st): State<PortalState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    q: Query<HashMap<String, String>>,
) -> Response {
    let token = token_of(&q);
    let path = with_token(INVITATION, token);
    let client = client.as_ref().map(|Extension(a)| a);
    let offer = match inspect_invitation(&st.links, client, token).await {
        Ok(offer) => offer,
        Err(r) => return refused(cookie_lang(&headers), &path, r),
    };
    // The invitation's language, unless the visitor chose one.
    let lang = chosen_lang(&headers)
        .or_else(|| Language::parse(&offer.language).ok())
        .unwrap_or(web::DEFAULT_LANG);
    let (guard, set) = form_guard(&headers, st.api.secure_cookies);
    let f = InvitationForm {
        token,
        guard: &guard,
        name: offer.name.as_deref().unwrap_or(""),
        error: None,
    };
    let main = invitation_main(lang, &offer, &f);
    page(lang, StatusCode::OK, &path, Msg::LinkInvitation, main, set)
}

/// `POST /portal/invitation`: `token`, the form's `form`, and for a new
/// person `name` and `password`. Signed in afterwards (the same session
/// and cookie as signing in) and on to `/portal/`.
pub async fn invitation_post(
    State(st): State<PortalState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let token = form.get("token").unwrap_or("");
    let path = with_token(INVITATION, token);
    let lang = cookie_lang(&headers);
    if !form_guarded(&headers, &form) {
        return unguarded(lang, &path);
    }
    let client = client.as_ref().map(|Extension(a)| a);
    let name = form.get("name").map(str::trim).filter(|n| !n.is_empty());
    let password = form.get("password").filter(|p| !p.is_empty());
    let user = match accept_invitation(
        &st.links,
        client,
        token,
        name,
        password,
        "POST /portal/invitation",
    )
    .await
    {
        Ok(user) => user,
        Err(LinkRefusal::Error(ApiError::BadRequest(m))) if !m.starts_with("token:") => {
            // A field to put right: the form again, with the reason.
            let offer = match inspect_invitation(&st.links, client, token).await {
                Ok(offer) => offer,
                Err(r) => return refused(lang, &path, r),
            };
            let guard = form.get("form").unwrap_or("");
            let f = InvitationForm {
                token,
                guard,
                name: name.unwrap_or(""),
                error: Some(&m),
            };
            let main = invitation_main(lang, &offer, &f);
            return page(
                lang,
                StatusCode::BAD_REQUEST,
                &path,
                Msg::LinkInvitation,
                main,
                None,
            );
        }
        Err(r) => return refused(lang, &path, r),
    };
    match new_session(&st.api, &user).await {
        Ok((_, cookie)) => {
            let mut resp = Redirect::to("/portal/").into_response();
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

// ------------------------------------------------------------ a forgotten password

fn forgot_main(lang: Language, guard: &str, email: &str, note: Option<Markup>) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        div.signin.card {
            h1 { (t(Msg::LinkForgotTitle)) }
            @if let Some(n) = note { (n) }
            p { (t(Msg::LinkForgotHint)) }
            form method="post" action=(FORGOT) {
                input type="hidden" name="form" value=(guard);
                label for="email" { (t(Msg::Email)) }
                input #email type="email" name="email" value=(email) autocomplete="username" required;
                div.actions { button type="submit" { (t(Msg::LinkSend)) } }
            }
            p { a href="/portal/sign-in" { (t(Msg::SignIn)) } }
        }
    }
}

/// `GET /portal/forgot-password`: the address to send a link to.
pub async fn forgot_get(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let lang = cookie_lang(&headers);
    let (guard, set) = form_guard(&headers, st.api.secure_cookies);
    let main = forgot_main(lang, &guard, "", None);
    page(
        lang,
        StatusCode::OK,
        FORGOT,
        Msg::LinkForgotTitle,
        main,
        set,
    )
}

/// `POST /portal/forgot-password`: `email` and the form's `form`. The
/// same page whether or not the address has an account; too many asks
/// for the address or from the client are the API's throttle.
pub async fn forgot_post(
    State(st): State<PortalState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Response {
    let lang = cookie_lang(&headers);
    let form = Form::parse(&body);
    if !form_guarded(&headers, &form) {
        return unguarded(lang, FORGOT);
    }
    let guard = form.get("form").unwrap_or("");
    let email = form.get("email").unwrap_or("").trim();
    let client = client.as_ref().map(|Extension(a)| a);
    let t = |m: Msg| m.text(lang);
    let (status, note, email) = match ask_password_reset(&st.links, client, email).await {
        Ok(()) => (
            StatusCode::OK,
            html! { p.notice role="status" { (t(Msg::LinkSent)) } },
            "",
        ),
        Err(LinkRefusal::Throttled(..)) => (
            StatusCode::TOO_MANY_REQUESTS,
            html! { p.error role="alert" { (t(Msg::LinkThrottled)) } },
            email,
        ),
        Err(LinkRefusal::Error(ApiError::BadRequest(m))) => (
            StatusCode::BAD_REQUEST,
            html! { p.error role="alert" { (m) } },
            email,
        ),
        Err(LinkRefusal::Error(e)) => return Failure::Page(lang, e).into_response(),
        Err(r) => return refused(lang, FORGOT, r),
    };
    let main = forgot_main(lang, guard, email, Some(note));
    page(lang, status, FORGOT, Msg::LinkForgotTitle, main, None)
}

// ------------------------------------------------------------ the reset link

fn reset_main(lang: Language, token: &str, guard: &str, error: Option<&str>) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        div.signin.card {
            h1 { (t(Msg::LinkResetTitle)) }
            p { (t(Msg::LinkResetHint)) }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            form method="post" action=(RESET) {
                input type="hidden" name="token" value=(token);
                input type="hidden" name="form" value=(guard);
                (new_password_field(t(Msg::LinkNewPassword), t(Msg::LinkPasswordHint)))
                div.actions { button type="submit" { (t(Msg::LinkResetSave)) } }
            }
        }
    }
}

/// `GET /portal/reset-password?token=…`: the new password's form, if the
/// link can still be used.
pub async fn reset_get(
    State(st): State<PortalState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    q: Query<HashMap<String, String>>,
) -> Response {
    let lang = cookie_lang(&headers);
    let token = token_of(&q);
    let path = with_token(RESET, token);
    let client = client.as_ref().map(|Extension(a)| a);
    if let Err(r) = check_reset_link(&st.links, client, token).await {
        return refused(lang, &path, r);
    }
    let (guard, set) = form_guard(&headers, st.api.secure_cookies);
    let main = reset_main(lang, token, &guard, None);
    page(lang, StatusCode::OK, &path, Msg::LinkResetTitle, main, set)
}

/// `POST /portal/reset-password`: `token`, `password` and the form's
/// `form`; on to the sign-in page, which says the password is changed.
pub async fn reset_post(
    State(st): State<PortalState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Response {
    let lang = cookie_lang(&headers);
    let form = Form::parse(&body);
    let token = form.get("token").unwrap_or("");
    let path = with_token(RESET, token);
    if !form_guarded(&headers, &form) {
        return unguarded(lang, &path);
    }
    let client = client.as_ref().map(|Extension(a)| a);
    let password = form.get("password").unwrap_or("");
    match reset_password(
        &st.links,
        client,
        token,
        password,
        "POST /portal/reset-password",
    )
    .await
    {
        Ok(()) => Redirect::to("/portal/sign-in?changed=1").into_response(),
        Err(LinkRefusal::Error(ApiError::BadRequest(m))) if !m.starts_with("token:") => {
            let guard = form.get("form").unwrap_or("");
            let main = reset_main(lang, token, guard, Some(&m));
            page(
                lang,
                StatusCode::BAD_REQUEST,
                &path,
                Msg::LinkResetTitle,
                main,
                None,
            )
        }
        Err(r) => refused(lang, &path, r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailed_addresses_lead_to_the_pages_with_their_token() {
        assert_eq!(
            with_token(INVITATION, "lnk_01ABC.s3cr-t_"),
            "/portal/invitation?token=lnk_01ABC.s3cr-t_"
        );
        // Whatever a link holds stays one query value.
        assert_eq!(
            with_token(RESET, "a&b=c d"),
            "/portal/reset-password?token=a%26b%3Dc+d"
        );
        assert_eq!(
            crate::web::local_path(Some(&with_token(RESET, "x.y"))),
            "/portal/reset-password?token=x.y"
        );
    }

    #[test]
    fn every_role_has_a_name_in_words() {
        for r in csms_domain::user::Role::ALL {
            let m = role_name(r.as_str());
            assert!(
                r == csms_domain::user::Role::Driver || m != Msg::RoleDriver,
                "{r:?}"
            );
        }
    }
}
