//! The organisation's people, `GET /portal/users`: each person with their
//! role here, and an invitation by e-mail (`POST /portal/users/invite`:
//! the API's own use case, `POST /invitations`, so the same roles may be
//! given, a member already is refused and the link is mailed once), and a
//! person's role changed (`POST /portal/users/{id}/role`: the use case of
//! `PATCH /users/{id}`; a platform admin's role is the platform admin's to
//! change, and one's own role is not offered, so an admin cannot lock
//! themselves out by a slip). For the organisation's admins (the API's
//! `admin` scope), as the API routes.

use crate::i18n::Msg;
use crate::layout;
use crate::web::{audit, caller, html, Failure, Form, OrPage};
use crate::PortalState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use csms_api::shared::{change_person, invite, UserPatch};
use csms_domain::api_key::Scope;
use csms_domain::user::Role;
use csms_kernel::ports::PageRequest;
use maud::html;
use std::collections::HashMap;

const PATH: &str = "/portal/users";
const SHOWN: u32 = 200;

/// `GET /portal/users[?invited=…]`.
pub async fn page(
    State(st): State<PortalState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let who = c.permitted(Scope::Admin)?;
    let lang = c.lang;
    let t = |m: Msg| m.text(lang);
    let people = st
        .api
        .store
        .list_users(&who.org_id, &PageRequest::first(SHOWN))
        .await
        .or_page(&c)?
        .items;
    let body = html! {
        h1 { (t(Msg::UsersTitle)) }
        @if let Some(to) = q.get("invited") {
            p role="status" { (Msg::InviteSent.text(lang).replace("{}", to)) }
        }
        @if let Some(who) = q.get("changed") {
            p role="status" { (Msg::RoleChanged.text(lang).replace("{}", who)) }
        }
        @if people.is_empty() {
            p.empty { (t(Msg::UsersNone)) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (t(Msg::UserName)) }
                    th scope="col" { (t(Msg::UserEmail)) }
                    th scope="col" { (t(Msg::UserRole)) }
                } }
                tbody {
                    @for u in &people {
                        tr {
                            td data-label=(t(Msg::UserName)) { (u.name) }
                            td data-label=(t(Msg::UserEmail)) { (u.email.as_str()) }
                            td data-label=(t(Msg::UserRole)) {
                                @let role = u.role_in(&who.org_id);
                                @if u.id == c.user.id || u.is_platform_admin() || role.is_none() {
                                    (role.map(|r| r.as_str()).unwrap_or(""))
                                } @else {
                                    form.inline method="post" action={(PATH) "/" (u.id.as_str()) "/role"} {
                                        input type="hidden" name="csrf" value=(c.session.csrf_token);
                                        @let field = format!("role-{}", u.id.as_str());
                                        label.visually-hidden for=(field) { (t(Msg::UserRole)) " " (u.name) }
                                        select id=(field) name="role" {
                                            @for r in Role::ALL.iter().filter(|r| **r != Role::PlatformAdmin) {
                                                option value=(r.as_str()) selected[Some(*r) == role] { (r.as_str()) }
                                            }
                                        }
                                        button type="submit" { (t(Msg::ChangeRole)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t(Msg::InviteTitle)) }
        p { (t(Msg::InviteHint)) }
        form method="post" action={(PATH) "/invite"} {
            input type="hidden" name="csrf" value=(c.session.csrf_token);
            label for="invite-email" { (t(Msg::UserEmail)) }
            input #invite-email type="email" name="email" required autocomplete="off";
            label for="invite-name" { (t(Msg::UserName)) }
            input #invite-name name="name" autocomplete="off";
            label for="invite-role" { (t(Msg::UserRole)) }
            select #invite-role name="role" {
                @for r in Role::ALL.iter().filter(|r| **r != Role::PlatformAdmin) {
                    option value=(r.as_str()) selected[*r == Role::Driver] { (r.as_str()) }
                }
            }
            button type="submit" { (t(Msg::Invite)) }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout::page(&c.frame(PATH), t(Msg::UsersTitle), body),
    ))
}

/// `POST /portal/users/invite`: `email`, `name` (optional), `role`.
pub async fn invite_person(
    State(st): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Admin)?.clone();
    let email = form.get("email").unwrap_or("").trim().to_owned();
    let name = form.get("name").map(str::trim).filter(|n| !n.is_empty());
    let role = form.get("role").unwrap_or("").trim();
    let (_, invitation) = invite(&st.api, &who, &email, role, name, Some(c.lang.as_str()))
        .await
        .or_page(&c)?;
    audit(
        &st,
        &who,
        "POST /portal/users/invite",
        "/portal/users/invite",
        &form,
    )
    .await;
    let to = url::form_urlencoded::byte_serialize(invitation.email.as_str().as_bytes())
        .collect::<String>();
    Ok(Redirect::to(&format!("{PATH}?invited={to}")).into_response())
}

/// `POST /portal/users/{id}/role`: `role`.
pub async fn change_role(
    State(st): State<PortalState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Failure> {
    let c = caller(&st, &headers, PATH).await?;
    let form = Form::parse(&body);
    c.check_csrf(&form)?;
    let who = c.permitted(Scope::Admin)?.clone();
    let role = form.get("role").unwrap_or("").trim().to_owned();
    let patch = UserPatch {
        role: Some(role),
        ..UserPatch::default()
    };
    let user = change_person(&st.api, &who, &id, patch).await.or_page(&c)?;
    audit(
        &st,
        &who,
        "POST /portal/users/{id}/role",
        &format!("{PATH}/{}/role", user.id.as_str()),
        &form,
    )
    .await;
    let changed =
        url::form_urlencoded::byte_serialize(user.email.as_str().as_bytes()).collect::<String>();
    Ok(Redirect::to(&format!("{PATH}?changed={changed}")).into_response())
}
