//! Invitations and password resets: single-use links sent by e-mail.
//!
//! - An organisation's admin invites an address with a role
//!   (`POST /invitations`); the invitee opens the link, sees what it is
//!   (`POST /auth/invitations/inspect`) and accepts it
//!   (`POST /auth/invitations/accept`): a new person chooses a name and a
//!   password, a person with an account gets the role on top of the roles
//!   they have; either way they are signed in. Admins list and revoke
//!   invitations (`GET /invitations`, `DELETE /invitations/{id}`).
//! - A person who forgot their password asks for a link
//!   (`POST /auth/password-reset`, answered the same whether the address
//!   has an account or not) and sets a new password with it
//!   (`POST /auth/password-reset/complete`), which signs them out
//!   everywhere.
//!
//! The link carries `{id}.{secret}`; the store keeps the secret's SHA-256
//! only. A link that is malformed, unknown or whose secret does not match
//! gets one answer; failed tries are throttled per client address. Links
//! point at `CSMS_PUBLIC_URL` (never the request's `Host`); without it, or
//! without a mail sender, the routes answer 503 before doing anything.

use crate::auth::{self, constant_time_eq, too_many, Principal};
use crate::error::ApiError;
use crate::openapi::{ErrorBody, ListOf};
use crate::people::{
    add_membership, hash_password, parse_password, parse_role, save_user, PersonFields,
};
use crate::sign_in::{random_token, start_session, SignedIn};
use crate::util::{json_body, page, time, Params};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use csms_domain::audit::AuditEntry;
use csms_domain::email_link::{EmailLink, Invitation, LinkError, LinkId, LinkPurpose, LinkToken};
use csms_domain::tenant::Language;
use csms_domain::user::{Membership, User, UserEmail, UserId};
use csms_domain::OrgId;
use csms_kernel::ports::StoreError;
use csms_kernel::throttle::{ClientAddr, Throttle, ThrottlePolicy};
use csms_notify::mail::letters::MAIL_TZ;
use csms_notify::mail::letters::{self, InvitationLetter, ResetLetter};
use csms_notify::mail::{Mail, MailError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// The routes' state: the API's, with failed link tries counted per client
/// address and reset requests per account and per address.
#[derive(Clone)]
pub struct LinkState {
    pub api: ApiState,
    /// Wrong, used or expired tokens, per client address.
    pub tries: Throttle,
    /// Reset mails asked for, per account: a few an hour, so nobody is
    /// flooded with them.
    pub resets: Throttle,
    /// Reset mails asked for, per client address.
    pub reset_addresses: Throttle,
}

/// Reset mails per account: three free, then an hour's wait doubling.
const RESET_REQUESTS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 3,
    base_lockout: Duration::from_secs(60),
    max_lockout: Duration::from_secs(3600),
    forget_after: Duration::from_secs(3600),
    max_keys: 100_000,
};

impl LinkState {
    pub fn new(api: ApiState) -> Self {
        LinkState {
            api,
            tries: Throttle::new(ThrottlePolicy::ADDRESSES),
            resets: Throttle::new(RESET_REQUESTS),
            reset_addresses: Throttle::new(ThrottlePolicy::ADDRESSES),
        }
    }
}

// ------------------------------------------------------------ the links

/// The installation can make links and send mail, else 503 naming what
/// is missing.
fn ready(st: &ApiState) -> Result<&crate::PublicUrl, ApiError> {
    let url = st.public_url.as_ref().ok_or_else(|| {
        ApiError::NotConfigured(
            "links cannot be made: CSMS_PUBLIC_URL (the address people reach this service at) is not set"
                .into(),
        )
    })?;
    st.mailer.ready().map_err(mail_error)?;
    Ok(url)
}

fn mail_error(e: MailError) -> ApiError {
    match e {
        MailError::NotConfigured(m) => {
            ApiError::NotConfigured(format!("e-mail is not configured: {m}"))
        }
        MailError::Invalid(m) => ApiError::BadRequest(format!("email: {m}")),
        MailError::Failed(m) => ApiError::Upstream(format!("the e-mail could not be sent: {m}")),
    }
}

/// A new link for `purpose` and the token that opens it.
fn new_link(purpose: LinkPurpose, st: &ApiState) -> (EmailLink, LinkToken) {
    let token = LinkToken {
        id: LinkId::generate(),
        secret: random_token(),
    };
    let link = EmailLink::new(
        token.id.clone(),
        auth::secret_hash(&token.secret),
        purpose,
        st.clock.now(),
    );
    (link, token)
}

/// What is said for a token that is malformed, unknown or does not match.
fn not_a_link() -> ApiError {
    ApiError::BadRequest("token: not a valid link; ask for a new one".into())
}

/// Why a link's use case did not do what was asked: too many tries (the
/// API's 429 with `Retry-After`, the portal's page in words), or an
/// [`ApiError`] (400 naming the field, 409 saying why the link is over).
#[derive(Debug)]
pub enum LinkRefusal {
    /// Too many invalid links, or reset mails, from this address or for
    /// this account: try again after this long.
    Throttled(Duration, &'static str),
    /// The link was used, revoked or has expired (409); `invitation` says
    /// which kind of link, for whom to ask for a new one.
    Over(LinkError, &'static str),
    Error(ApiError),
}

impl From<ApiError> for LinkRefusal {
    fn from(e: ApiError) -> Self {
        LinkRefusal::Error(e)
    }
}

impl From<StoreError> for LinkRefusal {
    fn from(e: StoreError) -> Self {
        LinkRefusal::Error(e.into())
    }
}

impl IntoResponse for LinkRefusal {
    fn into_response(self) -> Response {
        match self {
            LinkRefusal::Throttled(after, message) => too_many(after, message),
            LinkRefusal::Over(e, what) => ended(e, what).into_response(),
            LinkRefusal::Error(e) => e.into_response(),
        }
    }
}

/// The link `text` opens, with its secret checked; failures count against
/// the client's address.
async fn open(
    st: &LinkState,
    client: Option<&ClientAddr>,
    text: &str,
) -> Result<EmailLink, LinkRefusal> {
    let now = Instant::now();
    let attempt = match client {
        Some(a) => match st.tries.begin(&a.throttle_key(), now) {
            Ok(attempt) => Some(attempt),
            Err(l) => {
                return Err(LinkRefusal::Throttled(
                    l.retry_after,
                    "too many invalid links from this address; try again later",
                ))
            }
        },
        None => None,
    };
    let found = match LinkToken::parse(text) {
        Some(token) => match st.api.store.get_email_link(&token.id).await {
            Ok(link) => link.filter(|l| {
                constant_time_eq(
                    auth::secret_hash(&token.secret).as_bytes(),
                    l.secret_hash.as_bytes(),
                )
            }),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    match found {
        Some(link) => {
            if let Some(a) = attempt {
                a.finished();
            }
            Ok(link)
        }
        None => {
            if let Some(a) = attempt {
                a.failed(Instant::now());
            }
            Err(not_a_link().into())
        }
    }
}

fn ended(e: LinkError, what: &str) -> ApiError {
    let again = match what {
        "invitation" => "ask whoever invited you for a new one",
        _ => "ask for a new link",
    };
    ApiError::Conflict(format!("{e}; {again}"))
}

/// Marks `link` used; of two uses of one read, one wins (409 for the other).
async fn mark_used(st: &ApiState, mut link: EmailLink) -> Result<EmailLink, ApiError> {
    let expected = link.version;
    link.use_at(st.clock.now())
        .map_err(|e| ended(e, link.purpose.kind()))?;
    match st.store.put_email_link(&link, expected).await {
        Ok(()) => Ok(link),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(
            "the link was used or revoked meanwhile".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------ invitations

/// Whom to invite, and as what.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewInvitation {
    #[schema(example = "eva.lind@example.se")]
    email: String,
    /// `orgAdmin`, `operator`, `accountant`, `viewer` or `driver`
    /// (`platformAdmin` by the platform admin only).
    #[schema(example = "driver")]
    role: String,
    /// How the invitation greets them; a new person may change it.
    name: Option<String>,
    /// `sv` or `en`: the mail's language and a new person's; default the
    /// organisation's.
    language: Option<String>,
}

/// An invitation as admins see it (never its link).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    #[schema(example = "lnk_01JEQ3V3N7Q4G8W1Z5X2M9K0AB")]
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub role: String,
    pub name: Option<String>,
    pub language: String,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

fn invitation_json(
    link: &EmailLink,
    invitation: &Invitation,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    json!({
        "id": link.id.as_str(),
        "organisationId": invitation.org_id.as_str(),
        "email": invitation.email.as_str(),
        "role": invitation.role.as_str(),
        "name": invitation.name,
        "language": invitation.language.as_str(),
        "status": link.state(now).as_str(),
        "invitedBy": invitation.invited_by,
        "createdAt": time(link.created_at),
        "expiresAt": time(link.expires_at),
        "acceptedAt": link.used_at.map(time),
        "revokedAt": link.revoked.as_ref().map(|(_, at)| time(*at)),
        "revokedBy": link.revoked.as_ref().map(|(by, _)| by.clone()),
    })
}

/// `id` as an invitation of the caller's organisation, else 404.
async fn own_invitation(st: &ApiState, who: &Principal, raw: &str) -> Result<EmailLink, ApiError> {
    let missing = || ApiError::NotFound(format!("invitation {raw} not found"));
    let id = LinkId::parse(raw).map_err(|_| missing())?;
    let link = st.store.get_email_link(&id).await?.ok_or_else(missing)?;
    match link.invitation() {
        Some(i) if i.org_id == who.org_id => Ok(link),
        _ => Err(missing()),
    }
}

#[utoipa::path(post, path = "/invitations", operation_id = "createInvitation", tag = "users", summary = "Invite an e-mail address to the organisation with a role: a single-use link is mailed, valid 7 days", request_body = NewInvitation, responses((status = 201, body = InvitationView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope, or the role is platformAdmin", body = ErrorBody), (status = 409, description = "The address is a member already", body = ErrorBody), (status = 502, description = "The mail service failed; the invitation is revoked", body = ErrorBody), (status = 503, description = "No public address or no mail sender is configured", body = ErrorBody)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: NewInvitation = json_body(&body)?;
    let (link, invitation) = invite(
        &st,
        &who,
        &req.email,
        &req.role,
        req.name.as_deref(),
        req.language.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(invitation_json(&link, &invitation, st.clock.now())),
    ))
}

/// Invites `email` to the caller's organisation as `role` by an e-mailed
/// single-use link (a member already is a 409; a mail that fails withdraws
/// the link): the API route's use case, the portal's too.
pub async fn invite(
    st: &ApiState,
    who: &Principal,
    email: &str,
    role: &str,
    name: Option<&str>,
    language: Option<&str>,
) -> Result<(EmailLink, Invitation), ApiError> {
    let email = UserEmail::parse(email).map_err(|e| ApiError::BadRequest(format!("email: {e}")))?;
    let role = parse_role(role, who)?;
    let PersonFields { name, language, .. } = PersonFields::parse(name, None, language)?;
    let url = ready(st)?;
    // The default organisation may have no record yet (a store from before
    // tenants, until the runner's start makes it): its id is its name.
    let (org_name, org_language) = match st.store.get_organisation(&who.org_id).await? {
        Some(org) => (org.legal_name, org.language),
        None => (who.org_id.to_string(), Language::Sv),
    };
    if let Some(existing) = st.store.find_user_by_email(&email).await? {
        if existing.role_in(&who.org_id).is_some() {
            return Err(ApiError::Conflict(format!(
                "{email} is already a member of this organisation"
            )));
        }
    }
    let invitation = Invitation {
        org_id: who.org_id.clone(),
        email,
        role,
        name,
        language: language.unwrap_or(org_language),
        invited_by: who.actor().audit_name(),
    };
    let (link, token) = new_link(LinkPurpose::Invitation(invitation.clone()), st);
    st.store.create_email_link(&link).await?;
    let href = url.join(&format!("/invitation?token={}", token.text()));
    let mail = letters::invitation(&InvitationLetter {
        to: invitation.email.as_str(),
        to_name: invitation.name.as_deref(),
        org_name: &org_name,
        role: invitation.role.as_str(),
        link: &href,
        expires_at: link.expires_at,
        tz: MAIL_TZ,
        language: invitation.language,
    });
    if let Err(e) = send(st, &mail).await {
        // Nobody got the link: withdraw it, so the list says so.
        let mut withdrawn = link.clone();
        if withdrawn.revoke("mail failed", st.clock.now()).is_ok() {
            let _ = st.store.put_email_link(&withdrawn, link.version).await;
        }
        return Err(e);
    }
    Ok((link, invitation))
}

async fn send(st: &ApiState, mail: &Mail) -> Result<(), ApiError> {
    match st.mailer.send(mail).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(kind = mail.kind, error = %e, "a mail could not be sent");
            Err(mail_error(e))
        }
    }
}

#[utoipa::path(get, path = "/invitations", operation_id = "listInvitations", tag = "users", summary = "The organisation's invitations, newest first, with their status", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, default 50"), ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page")), responses((status = 200, body = ListOf<InvitationView>), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope", body = ErrorBody)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let page = st
        .store
        .list_invitations(&who.org_id, &page(&params)?)
        .await?;
    let now = st.clock.now();
    let items: Vec<Value> = page
        .items
        .iter()
        .filter_map(|l| l.invitation().map(|i| invitation_json(l, i, now)))
        .collect();
    Ok(Json(
        json!({"items": items, "nextCursor": page.next_cursor}),
    ))
}

#[utoipa::path(get, path = "/invitations/{id}", operation_id = "getInvitation", tag = "users", summary = "One invitation", params(("id" = String, Path, description = "Invitation id")), responses((status = 200, body = InvitationView), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope", body = ErrorBody), (status = 404, description = "No such invitation in this organisation", body = ErrorBody)))]
pub async fn get(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let link = own_invitation(&st, &who, &id).await?;
    let invitation = link.invitation().expect("own_invitation checked it");
    Ok(Json(invitation_json(&link, invitation, st.clock.now())))
}

#[utoipa::path(delete, path = "/invitations/{id}", operation_id = "revokeInvitation", tag = "users", summary = "Withdraw a pending invitation: its link stops working (kept in the list as revoked)", params(("id" = String, Path, description = "Invitation id")), responses((status = 200, body = InvitationView), (status = 401, description = "Missing or invalid API key or session", body = ErrorBody), (status = 403, description = "The key or role lacks the scope", body = ErrorBody), (status = 404, description = "No such invitation in this organisation", body = ErrorBody), (status = 409, description = "Accepted, revoked or expired already", body = ErrorBody)))]
pub async fn revoke(
    State(st): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let link = own_invitation(&st, &who, &id).await?;
    let mut revoked = link.clone();
    revoked
        .revoke(&who.actor().audit_name(), st.clock.now())
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    st.store.put_email_link(&revoked, link.version).await?;
    let invitation = revoked.invitation().expect("own_invitation checked it");
    Ok(Json(invitation_json(&revoked, invitation, st.clock.now())))
}

/// A link's token, from the mail.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TokenOnly {
    /// The `token` parameter of the link.
    token: String,
}

/// What an invitation offers, for the page that accepts it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationOffer {
    pub organisation_id: String,
    pub organisation_name: String,
    pub email: String,
    pub role: String,
    pub name: Option<String>,
    pub language: String,
    pub expires_at: String,
    /// The address has an account: accepting needs no name or password.
    pub has_account: bool,
}

/// The pending invitation `token` opens, or why not.
async fn pending_invitation(
    st: &LinkState,
    client: Option<&ClientAddr>,
    token: &str,
) -> Result<(EmailLink, Invitation), LinkRefusal> {
    let link = open(st, client, token).await?;
    let Some(invitation) = link.invitation().cloned() else {
        return Err(not_a_link().into());
    };
    if let Err(e) = link.clone().use_at(st.api.clock.now()) {
        return Err(LinkRefusal::Over(e, "invitation"));
    }
    Ok((link, invitation))
}

/// What the invitation `token` opens offers (organisation, role, whether
/// the address has an account): `POST /auth/invitations/inspect`'s use
/// case, the portal's invitation page's too.
pub async fn inspect_invitation(
    st: &LinkState,
    client: Option<&ClientAddr>,
    token: &str,
) -> Result<InvitationOffer, LinkRefusal> {
    let (link, invitation) = pending_invitation(st, client, token).await?;
    let organisation_name = st
        .api
        .store
        .get_organisation(&invitation.org_id)
        .await?
        .map(|o| o.legal_name)
        .unwrap_or_else(|| invitation.org_id.to_string());
    let has_account = st
        .api
        .store
        .find_user_by_email(&invitation.email)
        .await?
        .is_some();
    Ok(InvitationOffer {
        organisation_id: invitation.org_id.to_string(),
        organisation_name,
        email: invitation.email.as_str().to_owned(),
        role: invitation.role.as_str().to_owned(),
        name: invitation.name,
        language: invitation.language.as_str().to_owned(),
        expires_at: time(link.expires_at),
        has_account,
    })
}

#[utoipa::path(post, path = "/auth/invitations/inspect", operation_id = "inspectInvitation", tag = "auth", summary = "What an invitation link offers (organisation, role, whether the address has an account), before accepting it", request_body = TokenOnly, responses((status = 200, body = InvitationOffer), (status = 400, description = "Not a valid link", body = ErrorBody), (status = 409, description = "Accepted, revoked or expired", body = ErrorBody), (status = 429, description = "Too many invalid links from this address", body = ErrorBody)), security(()))]
pub async fn inspect(
    State(st): State<LinkState>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: TokenOnly = json_body(&body)?;
    let client = client.as_ref().map(|Extension(a)| a);
    Ok(match inspect_invitation(&st, client, &req.token).await {
        Ok(offer) => Json(offer).into_response(),
        Err(refused) => refused.into_response(),
    })
}

/// Accepting an invitation: a new person's name and password.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Accept {
    token: String,
    /// A new person's name (default the one the invitation gave).
    name: Option<String>,
    /// A new person's password, 8–64 characters; leave out for an account
    /// that exists.
    password: Option<String>,
}

#[utoipa::path(post, path = "/auth/invitations/accept", operation_id = "acceptInvitation", tag = "auth", summary = "Accept an invitation: a new person is made (name and password), a person with an account gets the role; either way signed in", request_body = Accept, responses((status = 200, description = "Member now and signed in; `Set-Cookie: csms_session=…`", body = SignedIn), (status = 400, description = "Not a valid link, or a field is wrong (the message names it)", body = ErrorBody), (status = 409, description = "Accepted, revoked or expired; or the account is disabled", body = ErrorBody), (status = 429, description = "Too many invalid links from this address", body = ErrorBody)), security(()))]
pub async fn accept(
    State(st): State<LinkState>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: Accept = json_body(&body)?;
    let client = client.as_ref().map(|Extension(a)| a);
    match accept_invitation(
        &st,
        client,
        &req.token,
        req.name.as_deref(),
        req.password.as_deref(),
        "POST /auth/invitations/accept",
    )
    .await
    {
        Ok(user) => start_session(&st.api, &user).await,
        Err(refused) => Ok(refused.into_response()),
    }
}

/// Accepts the invitation `token` opens: a new person is made with `name`
/// (default the invitation's) and `password`; a person with an account
/// (no password then) gets the role on top of theirs. The person, to be
/// signed in: `POST /auth/invitations/accept`'s use case, the portal's
/// invitation page's too (`operation` names the route in the audit log).
pub async fn accept_invitation(
    st: &LinkState,
    client: Option<&ClientAddr>,
    token: &str,
    name: Option<&str>,
    password: Option<&str>,
    operation: &str,
) -> Result<User, LinkRefusal> {
    let mut fields = vec!["token".to_owned()];
    fields.extend(name_given(name.is_some(), password.is_some()));
    let PersonFields { name, .. } = PersonFields::parse(name, None, None)?;
    let plain = password.map(parse_password).transpose()?;
    let (link, invitation) = pending_invitation(st, client, token).await?;
    let api = &st.api;
    let now = api.clock.now();
    let user = match api.store.find_user_by_email(&invitation.email).await? {
        Some(existing) => {
            if plain.is_some() {
                return Err(ApiError::BadRequest(
                    "password: this address has an account; leave the password out (sign in with yours)".into(),
                ).into());
            }
            if existing.disabled {
                return Err(ApiError::Conflict(
                    "this account is disabled; ask the platform admin".into(),
                )
                .into());
            }
            if existing.role_in(&invitation.org_id).is_some() {
                // A retry after the role was given and before the link was
                // marked: the membership stands.
                existing
            } else {
                add_membership(api, existing, &invitation.org_id, invitation.role, now).await?
            }
        }
        None => {
            let name = name
                .or_else(|| invitation.name.clone())
                .ok_or_else(|| ApiError::BadRequest("name: needed for a new person".into()))?;
            let plain = plain
                .ok_or_else(|| ApiError::BadRequest("password: needed for a new person".into()))?;
            let user = User {
                id: UserId::generate(),
                email: invitation.email.clone(),
                name,
                language: invitation.language,
                password_hash: hash_password(plain).await?,
                disabled: false,
                memberships: vec![Membership {
                    org_id: invitation.org_id.clone(),
                    role: invitation.role,
                }],
                second_factor: None,
                stripe_customer: None,
                saved_card: None,
                company: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            api.store.create_user(&user).await.map_err(|e| match e {
                StoreError::Conflict(_) => ApiError::Conflict(
                    "an account with this address was made meanwhile; open the link again".into(),
                ),
                e => e.into(),
            })?;
            user
        }
    };
    mark_used(api, link).await?;
    audit(
        api,
        std::slice::from_ref(&invitation.org_id),
        &user.id,
        operation,
        fields,
    )
    .await;
    Ok(user)
}

/// The audited field names besides the token of an acceptance.
fn name_given(name: bool, password: bool) -> impl Iterator<Item = String> {
    [("name", name), ("password", password)]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(f, _)| f.to_owned())
}

/// Logs a change made through a link in each organisation it touched:
/// these routes take no key, so the audit layer does not see them. The
/// fields are the request's names, never their values.
async fn audit(api: &ApiState, orgs: &[OrgId], who: &UserId, operation: &str, fields: Vec<String>) {
    let path = operation.split_once(' ').map_or(operation, |(_, p)| p);
    for org in orgs {
        let entry = AuditEntry::new(
            org.clone(),
            api.clock.now(),
            &format!("user:{who}"),
            operation,
            path,
            fields.clone(),
            200,
        );
        if let Err(e) = api.store.append_audit(&entry).await {
            tracing::error!(error = %e, operation, "a change was made but its audit entry could not be stored");
        }
    }
}

// ------------------------------------------------------------ password reset

/// Whose password to reset.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResetRequest {
    #[schema(example = "anna.berg@example.se")]
    email: String,
}

/// A short fingerprint of a password hash: a reset link made for it dies
/// when the password changes.
fn fingerprint(password_hash: &str) -> String {
    auth::secret_hash(password_hash)[..16].to_owned()
}

#[utoipa::path(post, path = "/auth/password-reset", operation_id = "requestPasswordReset", tag = "auth", summary = "Mail a single-use link (valid 1 hour) to choose a new password; answered alike whether the address has an account", request_body = ResetRequest, responses((status = 202, description = "If the address has an account, a link is on its way"), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 429, description = "Too many requests for this address or from this client", body = ErrorBody), (status = 503, description = "No public address or no mail sender is configured", body = ErrorBody)), security(()))]
pub async fn request_reset(
    State(st): State<LinkState>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ResetRequest = json_body(&body)?;
    let client = client.as_ref().map(|Extension(a)| a);
    Ok(match ask_password_reset(&st, client, &req.email).await {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "message": "if the address has an account, a link to choose a new password is on its way"})),
        )
            .into_response(),
        Err(refused) => refused.into_response(),
    })
}

/// Mails a reset link to `email` if it is a (not disabled) person's; the
/// answer is the same either way, so it never says whether the address has
/// an account. Throttled per account and per client address:
/// `POST /auth/password-reset`'s use case, the portal's too.
pub async fn ask_password_reset(
    st: &LinkState,
    client: Option<&ClientAddr>,
    email: &str,
) -> Result<(), LinkRefusal> {
    let email = UserEmail::parse(email).map_err(|e| ApiError::BadRequest(format!("email: {e}")))?;
    let url = ready(&st.api)?;
    // Every request counts: a few mails an hour per account and address.
    let now = Instant::now();
    let wait = |l: csms_kernel::throttle::Locked| {
        LinkRefusal::Throttled(
            l.retry_after,
            "too many password resets asked for this address or from this client; try again later",
        )
    };
    // Counted first, so the request past the allowance is the one refused.
    if let Some(a) = client {
        st.reset_addresses.fail(&a.throttle_key(), now);
        if let Err(l) = st.reset_addresses.check(&a.throttle_key(), now) {
            return Err(wait(l));
        }
    }
    st.resets.fail(email.as_str(), now);
    if let Err(l) = st.resets.check(email.as_str(), now) {
        return Err(wait(l));
    }
    let Some(user) = st.api.store.find_user_by_email(&email).await? else {
        return Ok(());
    };
    if user.disabled {
        return Ok(());
    }
    let (link, token) = new_link(
        LinkPurpose::PasswordReset {
            user_id: user.id.clone(),
            password_fingerprint: fingerprint(&user.password_hash),
        },
        &st.api,
    );
    st.api.store.create_email_link(&link).await?;
    let href = url.join(&format!("/reset-password?token={}", token.text()));
    let mail = letters::password_reset(&ResetLetter {
        to: user.email.as_str(),
        to_name: &user.name,
        link: &href,
        expires_at: link.expires_at,
        tz: MAIL_TZ,
        language: user.language,
    });
    // A failed send is logged, not told: the answer must not say whether
    // the address has an account.
    let _ = send(&st.api, &mail).await;
    Ok(())
}

/// The link's token and the new password.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResetComplete {
    token: String,
    /// 8–64 characters.
    password: String,
}

#[utoipa::path(post, path = "/auth/password-reset/complete", operation_id = "completePasswordReset", tag = "auth", summary = "Set a new password with a reset link; every session of the person is signed out", request_body = ResetComplete, responses((status = 204, description = "The password is changed; sign in with it"), (status = 400, description = "Not a valid link, or the password is wrong (the message says why)", body = ErrorBody), (status = 409, description = "The link was used, has expired, or the password changed since it was sent", body = ErrorBody), (status = 429, description = "Too many invalid links from this address", body = ErrorBody)), security(()))]
pub async fn complete_reset(
    State(st): State<LinkState>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ResetComplete = json_body(&body)?;
    let client = client.as_ref().map(|Extension(a)| a);
    Ok(
        match reset_password(
            &st,
            client,
            &req.token,
            &req.password,
            "POST /auth/password-reset/complete",
        )
        .await
        {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(refused) => refused.into_response(),
        },
    )
}

/// Whether `token` is a reset link that can still be used (its secret
/// matches, not used or expired, the password unchanged since): what the
/// portal's reset page checks before showing its form. Counts against the
/// client's address like a use.
pub async fn check_reset_link(
    st: &LinkState,
    client: Option<&ClientAddr>,
    token: &str,
) -> Result<(), LinkRefusal> {
    let link = open(st, client, token).await?;
    reset_target(&st.api, &link).await.map(|_| ())
}

/// The person a reset link is for, if it can be used now.
async fn reset_target(api: &ApiState, link: &EmailLink) -> Result<User, LinkRefusal> {
    let LinkPurpose::PasswordReset {
        user_id,
        password_fingerprint,
    } = &link.purpose
    else {
        return Err(not_a_link().into());
    };
    link.clone()
        .use_at(api.clock.now())
        .map_err(|e| LinkRefusal::Over(e, "reset"))?;
    let user = api.store.get_user(user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(
            ApiError::Conflict("this account no longer exists or is disabled".into()).into(),
        );
    };
    if &fingerprint(&user.password_hash) != password_fingerprint {
        return Err(ApiError::Conflict(
            "the password changed since this link was sent; ask for a new link".into(),
        )
        .into());
    }
    Ok(user)
}

/// Sets `password` (8–64 characters) as the password of the person the
/// reset link `token` was sent to, and signs them out everywhere:
/// `POST /auth/password-reset/complete`'s use case, the portal's too
/// (`operation` names the route in the audit log).
pub async fn reset_password(
    st: &LinkState,
    client: Option<&ClientAddr>,
    token: &str,
    password: &str,
    operation: &str,
) -> Result<(), LinkRefusal> {
    let plain = parse_password(password)?;
    let link = open(st, client, token).await?;
    let api = &st.api;
    let mut user = reset_target(api, &link).await?;
    // The new hash ends this link and every other reset link of the person
    // (their fingerprints no longer match), even if marking it fails.
    user.password_hash = hash_password(plain).await?;
    let user = save_user(api, user, "open the link again").await?;
    api.store.delete_user_sessions(&user.id).await?;
    let orgs: Vec<OrgId> = user.memberships.iter().map(|m| m.org_id.clone()).collect();
    audit(
        api,
        &orgs,
        &user.id,
        operation,
        vec!["token".to_owned(), "password".to_owned()],
    )
    .await;
    if let Err(e) = mark_used(api, link).await {
        tracing::warn!(error = %e, "a used reset link could not be marked; its fingerprint ends it anyway");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_follow_the_hash() {
        assert_eq!(fingerprint("a").len(), 16);
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert_eq!(fingerprint("a"), fingerprint("a"));
    }
}
