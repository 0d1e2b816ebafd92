//! People: `GET|POST /users`, `GET|PATCH|DELETE /users/{id}`.
//!
//! An organisation's admin (a partner key with `admin`, an `orgAdmin`)
//! manages the people of their organisation: adds a member with a role (a
//! new person; the platform admin may also add one who already has an
//! account: then only the role is added), changes the role, and removes the membership (a person left
//! without any is deleted, with their sessions). A person of another
//! organisation answers 404 like a missing one. Name, language, e-mail
//! address, password and `disabled` of a person who also belongs to another
//! organisation are the platform admin's to change; only the platform admin
//! grants `platformAdmin`. Disabling a person or setting their password
//! ends their sessions.
//!
//! # Layout
//! - request: `NewUser`, `UserPatch`; views: `UserView`, `MembershipView`.
//! - [`hash_password`]: argon2id on the blocking pool (the station
//!   passwords' hashing, `csms_charging::password`).
//! - handlers; [`bootstrap_platform_admin`] for a fresh installation.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use csms_charging::password;
use csms_domain::tenant::{text, Language};
use csms_domain::user::{Membership, Role, User, UserEmail, UserId};
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::Store;
use csms_kernel::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

// ---------------------------------------------------------------- request

/// A member to add: a new person (name and password needed), or one who
/// already has an account (only the role is added; leave the password out).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewUser {
    /// Their sign-in name; kept in lower case.
    #[schema(example = "anna.berg@example.se")]
    email: String,
    /// `platformAdmin` (only the platform admin grants it), `orgAdmin`,
    /// `operator`, `accountant`, `viewer` or `driver`.
    #[schema(example = "operator")]
    role: String,
    /// 1–100 characters; needed for a new person.
    #[schema(example = "Anna Berg")]
    name: Option<String>,
    /// 8–64 characters; needed for a new person.
    password: Option<String>,
    /// `sv` (default) or `en`.
    language: Option<String>,
}

/// What to change; absent fields stay.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    /// The role in the organisation the request acts in.
    pub role: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// 8–64 characters; ends the person's sessions.
    pub password: Option<String>,
    pub language: Option<String>,
    /// A disabled person cannot sign in; their sessions end.
    pub disabled: Option<bool>,
}

// ---------------------------------------------------------------- views

/// A role in an organisation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    pub organisation_id: String,
    pub role: String,
}

/// A person.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[schema(example = "usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB")]
    pub id: String,
    pub email: String,
    pub name: String,
    pub language: String,
    pub disabled: bool,
    /// Signs in with an authenticator app's code besides the password.
    pub second_factor: bool,
    /// The role in the organisation the request acts in (`null`: none).
    pub role: Option<String>,
    /// Every membership: shown to the platform admin and to the person
    /// themselves (`/auth/me`), else only the one of the organisation.
    pub memberships: Vec<MembershipView>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// `user` as `org` sees it; `all` shows every membership.
pub(crate) fn user_json(user: &User, org: Option<&OrgId>, all: bool) -> Value {
    let memberships: Vec<Value> = user
        .memberships
        .iter()
        .filter(|m| all || Some(&m.org_id) == org)
        .map(|m| json!({"organisationId": m.org_id, "role": m.role.as_str()}))
        .collect();
    json!({
        "id": user.id,
        "email": user.email.as_str(),
        "name": user.name,
        "language": user.language.as_str(),
        "disabled": user.disabled,
        "secondFactor": user.second_factor.as_ref().is_some_and(|f| f.confirmed),
        "role": org.and_then(|o| user.role_in(o)).map(Role::as_str),
        "memberships": memberships,
        "createdAt": time(user.created_at),
        "updatedAt": time(user.updated_at),
        "version": user.version,
    })
}

// ---------------------------------------------------------------- parsing

fn bad(field: &str) -> impl Fn(csms_domain::tenant::Invalid) -> ApiError + '_ {
    move |e| ApiError::BadRequest(format!("{field}: {e}"))
}

/// The name, e-mail address and language a body may carry, each parsed when
/// present (a bad one a 400 naming it).
pub(crate) struct PersonFields {
    pub name: Option<String>,
    pub email: Option<UserEmail>,
    pub language: Option<Language>,
}

impl PersonFields {
    pub(crate) fn parse(
        name: Option<&str>,
        email: Option<&str>,
        language: Option<&str>,
    ) -> Result<Self, ApiError> {
        Ok(PersonFields {
            name: name
                .map(|n| text(n, 100).map_err(bad("name")))
                .transpose()?,
            email: email
                .map(|e| UserEmail::parse(e).map_err(bad("email")))
                .transpose()?,
            language: language
                .map(|l| Language::parse(l).map_err(bad("language")))
                .transpose()?,
        })
    }
}

pub(crate) fn parse_role(raw: &str, who: &Principal) -> Result<Role, ApiError> {
    let role = Role::parse(raw).map_err(bad("role"))?;
    if role == Role::PlatformAdmin && !who.is_platform_admin() {
        return Err(ApiError::Forbidden(
            "role: only the platform admin grants platformAdmin".into(),
        ));
    }
    Ok(role)
}

pub(crate) fn parse_password(raw: &str) -> Result<String, ApiError> {
    password::validate(raw).map_err(|e| ApiError::BadRequest(format!("password: {e}")))?;
    Ok(raw.to_owned())
}

/// argon2id of `plain`, on the blocking pool (it takes tens of ms of CPU).
pub(crate) async fn hash_password(plain: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password::hash(&plain))
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing: {e}")))?
        .map_err(|e| ApiError::BadRequest(format!("password: {e}")))
}

fn not_found(raw: &str) -> ApiError {
    ApiError::NotFound(format!("user {raw:?} not found"))
}

/// The person `raw` names if the caller may see them: a member of the
/// caller's organisation (anyone, for the platform admin).
async fn own_user(st: &ApiState, who: &Principal, raw: &str) -> Result<User, ApiError> {
    let id = UserId::parse(raw).map_err(|_| not_found(raw))?;
    st.store
        .get_user(&id)
        .await?
        .filter(|u| who.is_platform_admin() || u.role_in(&who.org_id).is_some())
        .ok_or_else(|| not_found(raw))
}

/// Whether the caller may change the person's account itself (not only
/// their role here): the platform admin, or an admin of every organisation
/// the person belongs to (which is one: the caller's).
fn may_change_account(who: &Principal, user: &User) -> bool {
    who.is_platform_admin() || user.memberships.iter().all(|m| m.org_id == who.org_id)
}

// ---------------------------------------------------------------- handlers

#[utoipa::path(post, path = "/users", operation_id = "createUser", tag = "users", summary = "Add a member: a new person, or a role for one who has an account", request_body = NewUser, responses((status = 201, description = "A new person", body = UserView), (status = 200, description = "A person who had an account, now a member", body = UserView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope", body = ErrorBody), (status = 409, description = "Already a member", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: NewUser = json_body(&body)?;
    let email = UserEmail::parse(&req.email).map_err(bad("email"))?;
    let role = parse_role(&req.role, &who)?;
    let PersonFields { name, language, .. } =
        PersonFields::parse(req.name.as_deref(), None, req.language.as_deref())?;
    let plain = req.password.as_deref().map(parse_password).transpose()?;
    let now = st.clock.now();
    if let Some(existing) = st.store.find_user_by_email(&email).await? {
        // Until invitations exist, a person with an account elsewhere is
        // added by the platform admin only: an organisation's admin would
        // otherwise learn who has an account (their name) by their address.
        let elsewhere = existing.memberships.iter().any(|m| m.org_id != who.org_id);
        if elsewhere && !who.is_platform_admin() {
            return Err(ApiError::Conflict(format!(
                "e-mail address {email} is taken; the platform admin adds a person who belongs to another organisation"
            )));
        }
        if plain.is_some() {
            return Err(ApiError::BadRequest(
                "password: this person has an account; leave the password out to add them".into(),
            ));
        }
        let user = add_membership(&st, existing, &who.org_id, role, now).await?;
        return Ok((
            StatusCode::OK,
            Json(user_json(&user, Some(&who.org_id), who.is_platform_admin())),
        ));
    }
    let name = name.ok_or_else(|| ApiError::BadRequest("name: needed for a new person".into()))?;
    let plain =
        plain.ok_or_else(|| ApiError::BadRequest("password: needed for a new person".into()))?;
    let user = User {
        id: UserId::generate(),
        email,
        name,
        language: language.unwrap_or(Language::Sv),
        password_hash: hash_password(plain).await?,
        disabled: false,
        memberships: vec![Membership {
            org_id: who.org_id.clone(),
            role,
        }],
        second_factor: None,
        stripe_customer: None,
        saved_card: None,
        company: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    st.store.create_user(&user).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::Conflict(format!("e-mail address {} is taken", user.email))
        }
        e => e.into(),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(user_json(&user, Some(&who.org_id), who.is_platform_admin())),
    ))
}

/// Writes `user`, changed since it was read, on the version read (one
/// more, and `updated_at` now); a concurrent change is a `409` that ends
/// with `again` (what the caller should do).
pub(crate) async fn save_user(
    st: &ApiState,
    mut user: User,
    again: &str,
) -> Result<User, ApiError> {
    let expected = user.version;
    user.version = expected + 1;
    user.updated_at = st.clock.now();
    match st.store.put_user(&user, expected).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "the account changed meanwhile; {again}"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn add_membership(
    st: &ApiState,
    mut user: User,
    org: &OrgId,
    role: Role,
    now: Timestamp,
) -> Result<User, ApiError> {
    for _ in 0..5 {
        if user.role_in(org).is_some() {
            return Err(ApiError::Conflict(format!(
                "{} is already a member of this organisation",
                user.email
            )));
        }
        if user.memberships.len() >= User::MAX_MEMBERSHIPS {
            return Err(ApiError::Conflict(format!(
                "{} has the most memberships a person may have ({})",
                user.email,
                User::MAX_MEMBERSHIPS
            )));
        }
        let expected = user.version;
        user.set_role(org, role);
        user.updated_at = now;
        user.version = expected + 1;
        match st.store.put_user(&user, expected).await {
            Ok(()) => return Ok(user),
            Err(StoreError::Conflict(_)) => {
                user =
                    st.store.get_user(&user.id).await?.ok_or_else(|| {
                        ApiError::Conflict("the person was deleted meanwhile".into())
                    })?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("the person kept changing; retry".into()))
}

#[utoipa::path(get, path = "/users", operation_id = "listUsers", tag = "users", summary = "The organisation's people", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<UserView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = st.store.list_users(&who.org_id, &page(&params)?).await?;
    let all = who.is_platform_admin();
    Ok(Json(json!({
        "items": page.items.iter().map(|u| user_json(u, Some(&who.org_id), all)).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })))
}

#[utoipa::path(get, path = "/users/{id}", operation_id = "getUser", tag = "users", summary = "A person", params(("id" = String, Path, description = "User id (`usr_…`)")), responses((status = 200, body = UserView), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = own_user(&st, &who, &id).await?;
    Ok(Json(user_json(
        &user,
        Some(&who.org_id),
        who.is_platform_admin(),
    )))
}

#[utoipa::path(patch, path = "/users/{id}", operation_id = "updateUser", tag = "users", summary = "Change a person's role here, or their account", params(("id" = String, Path, description = "User id (`usr_…`)")), request_body = UserPatch, responses((status = 200, body = UserView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope, or the person belongs to other organisations too", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn update(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: UserPatch = json_body(&body)?;
    let user = change_person(&st, &who, &id, req).await?;
    Ok(Json(user_json(
        &user,
        Some(&who.org_id),
        who.is_platform_admin(),
    )))
}

/// Changes a person of the caller's organisation: their role here, or
/// their account (only where no other organisation shares them, or by the
/// platform admin). Versioned write, retried on a concurrent change; a new
/// password or disabling ends the person's sessions. The use case behind
/// `PATCH /users/{id}` and the portal's people page.
pub async fn change_person(
    st: &ApiState,
    who: &Principal,
    id: &str,
    req: UserPatch,
) -> Result<User, ApiError> {
    let role = req
        .role
        .as_deref()
        .map(|r| parse_role(r, who))
        .transpose()?;
    let PersonFields {
        name,
        email,
        language,
    } = PersonFields::parse(
        req.name.as_deref(),
        req.email.as_deref(),
        req.language.as_deref(),
    )?;
    let hash = match req.password.as_deref().map(parse_password).transpose()? {
        Some(plain) => Some(hash_password(plain).await?),
        None => None,
    };
    let account_change = name.is_some()
        || email.is_some()
        || language.is_some()
        || hash.is_some()
        || req.disabled.is_some();
    for _ in 0..5 {
        let mut user = own_user(st, who, id).await?;
        if account_change && !may_change_account(who, &user) {
            return Err(ApiError::Forbidden(
                "this person belongs to other organisations too: only the platform admin changes their name, e-mail address, language, password or disabled".into(),
            ));
        }
        if role.is_some() && user.is_platform_admin() && !who.is_platform_admin() {
            return Err(ApiError::Forbidden(
                "role: only the platform admin changes a platform admin's role".into(),
            ));
        }
        if let Some(role) = role {
            user.set_role(&who.org_id, role);
        }
        if let Some(n) = &name {
            user.name = n.clone();
        }
        if let Some(e) = &email {
            user.email = e.clone();
        }
        if let Some(l) = language {
            user.language = l;
        }
        if let Some(h) = &hash {
            user.password_hash = h.clone();
        }
        if let Some(d) = req.disabled {
            user.disabled = d;
        }
        let expected = user.version;
        user.version = expected + 1;
        user.updated_at = st.clock.now();
        match st.store.put_user(&user, expected).await {
            Ok(()) => {
                if hash.is_some() || req.disabled == Some(true) {
                    st.store.delete_user_sessions(&user.id).await?;
                }
                return Ok(user);
            }
            Err(StoreError::Conflict(m)) => {
                if let Some(e) = &email {
                    if let Some(owner) = st.store.find_user_by_email(e).await? {
                        if owner.id != user.id {
                            return Err(ApiError::Conflict(format!("e-mail address {e} is taken")));
                        }
                    }
                }
                tracing::debug!(m, "user changed meanwhile; retrying");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "user {id} kept changing; retry"
    )))
}

#[utoipa::path(delete, path = "/users/{id}", operation_id = "deleteUser", tag = "users", summary = "Remove a person from the organisation (a person left without any is deleted)", params(("id" = String, Path, description = "User id (`usr_…`)")), responses((status = 204, description = "Removed"), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Conflict; the message says with what", body = ErrorBody)))]
pub async fn delete(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    for _ in 0..5 {
        let mut user = own_user(&st, &who, &id).await?;
        if user.is_platform_admin() && !who.is_platform_admin() {
            return Err(ApiError::Forbidden(
                "only the platform admin removes a platform admin".into(),
            ));
        }
        if !user.remove_membership(&who.org_id) {
            return Err(not_found(&id));
        }
        // Their cards here stay the organisation's, no longer theirs (first,
        // so a removal that fails after it is simply sent again).
        csms_charging::laddid::release_held(&*st.store, &*st.clock, &user.id, &who.org_id).await?;
        let expected = user.version;
        let written = if user.memberships.is_empty() {
            st.store.delete_user(&user.id, expected).await.map(|_| ())
        } else {
            user.version = expected + 1;
            user.updated_at = st.clock.now();
            st.store.put_user(&user, expected).await
        };
        match written {
            Ok(()) => {
                if user.memberships.is_empty() {
                    st.store.delete_user_sessions(&user.id).await?;
                }
                return Ok(StatusCode::NO_CONTENT);
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "user {id} kept changing; retry"
    )))
}

#[utoipa::path(delete, path = "/users/{id}/second-factor", operation_id = "removeUserSecondFactor", tag = "users", summary = "Remove a person's second factor (a lost phone)", description = "For a person who lost their authenticator app: they sign in with their password alone again and may set up a new factor. Their sessions end everywhere. Only for a person of this organisation alone (the platform admin: anyone); written to the audit log.", params(("id" = String, Path, description = "User id (`usr_…`)")), responses((status = 204, description = "Removed; the person's sessions ended"), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope, or the person belongs to other organisations too", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The person has no second factor", body = ErrorBody)))]
pub async fn remove_second_factor(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    for _ in 0..5 {
        let mut user = own_user(&st, &who, &id).await?;
        if !may_change_account(&who, &user)
            || (user.is_platform_admin() && !who.is_platform_admin())
        {
            return Err(ApiError::Forbidden(
                "this person belongs to other organisations too: only the platform admin removes their second factor".into(),
            ));
        }
        if user.second_factor.is_none() {
            return Err(ApiError::Conflict(format!(
                "user {id} has no second factor"
            )));
        }
        user.second_factor = None;
        let expected = user.version;
        user.version = expected + 1;
        user.updated_at = st.clock.now();
        match st.store.put_user(&user, expected).await {
            Ok(()) => {
                // Whoever holds a session may be who holds the phone.
                st.store.delete_user_sessions(&user.id).await?;
                return Ok(StatusCode::NO_CONTENT);
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "user {id} kept changing; retry"
    )))
}

/// Makes `email` a platform admin (a member of the default organisation)
/// with `password`, unless a person with that address exists: for a fresh
/// installation (`CSMS_BOOTSTRAP_ADMIN_EMAIL`/`_PASSWORD` of the local
/// runner). Returns whether it made one.
pub async fn bootstrap_platform_admin(
    store: &dyn Store,
    email: &str,
    plain: &str,
    now: Timestamp,
) -> Result<bool, String> {
    let email = UserEmail::parse(email).map_err(|e| format!("e-mail address: {e}"))?;
    password::validate(plain).map_err(|e| format!("password: {e}"))?;
    if store
        .find_user_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(false);
    }
    let hash = hash_password(plain.to_owned())
        .await
        .map_err(|e| e.to_string())?;
    let user = User {
        id: UserId::generate(),
        name: "Platform admin".into(),
        email,
        language: Language::Sv,
        password_hash: hash,
        disabled: false,
        memberships: vec![Membership {
            org_id: OrgId::default_org(),
            role: Role::PlatformAdmin,
        }],
        second_factor: None,
        stripe_customer: None,
        saved_card: None,
        company: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store.create_user(&user).await.map_err(|e| e.to_string())?;
    Ok(true)
}
