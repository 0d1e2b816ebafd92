//! LaddID: the life cycle of the identifiers drivers present (issue 17.3).
//! Register, read, change, block and unblock, delete, and register one a
//! station presented unknown ("seen, not registered").
//!
//! Every use case acts in the caller's organisation: another organisation's
//! token is `NotFound`, with the same message as a missing one. Changes are
//! versioned writes: read, change, write if the stored version is still the
//! one read (else `Conflict`).
//!
//! MAC addresses (`MacAddress`, AutoCharge) are stored normalised (12
//! upper-case hex digits, [`normalise_mac`]), and looked up the same way.

use crate::registry::RegistryError;
use csms_domain::tariff::validate_group;
use csms_domain::token::{
    normalise_mac, IdTokenRecord, IdTokenType, TokenBlock, TokenStatus, UnregisteredToken,
    BLOCK_REASON_MAX,
};
use csms_domain::user::UserId;
use csms_domain::{IdTokenValue, OrgId, Timestamp};
use csms_kernel::ports::{Clock, PageRequest, StoreError, TokenStore, UserStore};

/// 1.6 `parentIdTag` is at most 20 characters; a parent id must fit it.
pub const PARENT_ID_MAX: usize = 20;
/// Labels and holder names.
pub const LABEL_MAX: usize = 200;
/// eMAIDs are 14–15 characters (ISO 15118), with separators up to 18; room to spare.
pub const EMAID_MAX: usize = 36;

/// What the API sets on a token, before validation. In an update `None`
/// leaves a field as it is and `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TokenFields {
    pub status: Option<String>,
    pub valid_from: Option<Option<Timestamp>>,
    pub valid_to: Option<Option<Timestamp>>,
    pub parent_id: Option<Option<String>>,
    pub group: Option<Option<String>>,
    pub emaid: Option<Option<String>>,
    pub label: Option<Option<String>>,
    /// The holder, a person of the token's organisation (`usr_…`).
    pub user_id: Option<Option<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct NewIdToken {
    pub id_token: String,
    pub token_type: String,
    /// `status` is required on create.
    pub fields: TokenFields,
    pub org_id: Option<OrgId>,
}

fn invalid(m: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(m.into())
}

fn not_found(value: &str) -> RegistryError {
    RegistryError::NotFound(format!("id token {value} not found"))
}

/// A type a token may be registered as: every type but `EMail`, which is
/// made by binding a person to a garage station ([`crate::garage::set`]).
pub fn parse_type(raw: &str) -> Result<IdTokenType, RegistryError> {
    match IdTokenType::parse(raw) {
        Some(IdTokenType::EMail) => Err(invalid(
            "type: an EMail identifier is made by binding its person to a garage station (PUT /stations/{id}/garage-identity)",
        )),
        Some(t) => Ok(t),
        None => {
            let names: Vec<&str> = IdTokenType::ALL
                .iter()
                .filter(|t| **t != IdTokenType::EMail)
                .map(|t| t.as_str())
                .collect();
            Err(invalid(format!("type: must be one of {}", names.join(", "))))
        }
    }
}

fn parse_status(raw: &str) -> Result<TokenStatus, RegistryError> {
    TokenStatus::parse(raw)
        .ok_or_else(|| invalid("status: must be one of Accepted, Blocked, Expired, Invalid"))
}

/// The value a token of `token_type` is registered as: a MAC address
/// normalised, anything else as given.
fn registered_value(raw: String, token_type: IdTokenType) -> Result<IdTokenValue, RegistryError> {
    let raw = if token_type == IdTokenType::MacAddress {
        normalise_mac(&raw).ok_or_else(|| {
            invalid("idToken: a MacAddress token must be a MAC address (12 hex digits, optionally separated by ':' or '-', optionally prefixed VID:)")
        })?
    } else {
        raw
    };
    IdTokenValue::parse(raw).map_err(|e| invalid(format!("idToken: {e}")))
}

/// Free text (labels): trimmed, empty is none, no control characters.
fn text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>, RegistryError> {
    let Some(v) = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(invalid(format!("{field}: at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(format!("{field}: no control characters")));
    }
    Ok(Some(v))
}

fn emaid(v: Option<String>) -> Result<Option<String>, RegistryError> {
    let Some(v) = v else { return Ok(None) };
    if v.is_empty()
        || v.len() > EMAID_MAX
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
    {
        return Err(invalid(format!(
            "emaid: 1–{EMAID_MAX} letters, digits, '-' or '*' (e.g. SE-ABC-C12345678-X)"
        )));
    }
    Ok(Some(v))
}

fn parent(v: Option<String>) -> Result<Option<IdTokenValue>, RegistryError> {
    let Some(v) = v else { return Ok(None) };
    if v.chars().count() > PARENT_ID_MAX {
        return Err(invalid(format!(
            "parentId: at most {PARENT_ID_MAX} characters (OCPP 1.6 parentIdTag)"
        )));
    }
    IdTokenValue::parse(v)
        .map(Some)
        .map_err(|e| invalid(format!("parentId: {e}")))
}

fn group(v: Option<String>) -> Result<Option<String>, RegistryError> {
    if let Some(g) = &v {
        validate_group(g).map_err(|e| invalid(format!("group: {e}")))?;
    }
    Ok(v)
}

/// Apply `fields` to `r`, validating each.
fn apply(r: &mut IdTokenRecord, f: TokenFields) -> Result<(), RegistryError> {
    if let Some(s) = f.status {
        r.status = parse_status(&s)?;
    }
    if let Some(v) = f.valid_from {
        r.valid_from = v;
    }
    if let Some(v) = f.valid_to {
        r.valid_to = v;
    }
    if let Some(v) = f.parent_id {
        r.parent_id = parent(v)?;
    }
    if let Some(v) = f.group {
        r.group = group(v)?;
    }
    if let Some(v) = f.emaid {
        r.emaid = emaid(v)?;
    }
    if let Some(v) = f.label {
        r.label = text("label", v, LABEL_MAX)?;
    }
    if let Some(v) = f.user_id {
        if r.token_type == IdTokenType::EMail {
            return Err(invalid(
                "userId: an EMail identifier is held by the person whose address it is",
            ));
        }
        r.user_id = v.map(holder).transpose()?;
    }
    if let (Some(from), Some(to)) = (r.valid_from, r.valid_to) {
        if from >= to {
            return Err(invalid("validTo: must be after validFrom"));
        }
    }
    Ok(())
}

fn new_record(
    clock: &dyn Clock,
    token: IdTokenValue,
    token_type: IdTokenType,
    org_id: OrgId,
    fields: TokenFields,
) -> Result<IdTokenRecord, RegistryError> {
    let status = fields
        .status
        .as_deref()
        .ok_or_else(|| invalid("status: required"))
        .and_then(parse_status)?;
    let mut record = IdTokenRecord {
        user_id: None,
        token,
        token_type,
        status,
        valid_from: None,
        valid_to: None,
        org_id,
        group: None,
        parent_id: None,
        emaid: None,
        payment_hold: None,
        label: None,
        block: None,
        created_at: clock.now(),
        updated_at: None,
        version: 1,
    };
    apply(&mut record, fields)?;
    Ok(record)
}

fn exists(token: &IdTokenValue) -> impl FnOnce(StoreError) -> RegistryError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => {
            RegistryError::Conflict(format!("id token {token} already exists"))
        }
        e => RegistryError::Store(e),
    }
}

fn holder(raw: String) -> Result<UserId, RegistryError> {
    UserId::parse(raw).map_err(|_| invalid("userId: must be a person's id (usr_…)"))
}

/// A token's holder must be a person of the token's organisation (any
/// role: a driver, or an operator with a card of their own).
async fn check_holder<S: UserStore + ?Sized>(
    store: &S,
    record: &IdTokenRecord,
) -> Result<(), RegistryError> {
    match &record.user_id {
        Some(user) => check_member(store, user, &record.org_id).await,
        None => Ok(()),
    }
}

async fn check_member<S: UserStore + ?Sized>(
    store: &S,
    user: &UserId,
    org: &OrgId,
) -> Result<(), RegistryError> {
    let member = store
        .get_user(user)
        .await?
        .is_some_and(|u| u.role_in(org).is_some());
    if member {
        Ok(())
    } else {
        Err(invalid(format!(
            "userId: {} is not a person of this organisation",
            user.as_str()
        )))
    }
}

pub async fn register_id_token<S: TokenStore + UserStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    new: NewIdToken,
) -> Result<IdTokenRecord, RegistryError> {
    let token_type = parse_type(&new.token_type)?;
    let token = registered_value(new.id_token, token_type)?;
    let org = new.org_id.unwrap_or_else(OrgId::default_org);
    let record = new_record(clock, token, token_type, org, new.fields)?;
    check_holder(store, &record).await?;
    store
        .create_id_token(&record)
        .await
        .map_err(exists(&record.token))?;
    Ok(record)
}

/// The organisation's token `value` (a MAC address in any spelling finds
/// its normalised form).
pub async fn get<S: TokenStore + ?Sized>(
    store: &S,
    org: &OrgId,
    value: &str,
) -> Result<IdTokenRecord, RegistryError> {
    let mut candidates = vec![value.to_owned()];
    candidates.extend(normalise_mac(value).filter(|m| m != value));
    for c in candidates {
        let Ok(v) = IdTokenValue::parse(c) else {
            continue;
        };
        if let Some(r) = store.get_id_token(&v).await? {
            return if &r.org_id == org {
                Ok(r)
            } else {
                Err(not_found(value))
            };
        }
    }
    Err(not_found(value))
}

/// Read, change with `f`, write if nothing changed the token meanwhile.
/// `expected`: the version the caller last saw, if it says.
async fn change<S: TokenStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    value: &str,
    expected: Option<u64>,
    f: impl FnOnce(&mut IdTokenRecord, Timestamp) -> Result<(), RegistryError>,
) -> Result<IdTokenRecord, RegistryError> {
    let mut r = get(store, org, value).await?;
    let stored = r.version;
    if let Some(v) = expected.filter(|v| *v != stored) {
        return Err(RegistryError::Stale(format!(
            "id token {} is at version {stored}, not {v}",
            r.token
        )));
    }
    let now = clock.now();
    f(&mut r, now)?;
    r.updated_at = Some(now);
    r.version = stored + 1;
    store.put_id_token(&r, stored).await?;
    Ok(r)
}

pub async fn update<S: TokenStore + UserStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    value: &str,
    fields: TokenFields,
    expected: Option<u64>,
) -> Result<IdTokenRecord, RegistryError> {
    // The holder is checked before the write (the token is of `org`, or
    // `change` finds none).
    if let Some(Some(raw)) = &fields.user_id {
        check_member(store, &holder(raw.clone())?, org).await?;
    }
    change(store, clock, org, value, expected, |r, _| apply(r, fields)).await
}

/// Blocks the token (status `Blocked`) with a reason; `by` is the caller
/// (an API key id, or `admin`).
pub async fn block<S: TokenStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    value: &str,
    reason: &str,
    by: &str,
) -> Result<IdTokenRecord, RegistryError> {
    let reason = text("reason", Some(reason.to_owned()), BLOCK_REASON_MAX)?
        .ok_or_else(|| invalid("reason: required"))?;
    change(store, clock, org, value, None, |r, now| {
        r.status = TokenStatus::Blocked;
        r.block = Some(TokenBlock {
            reason,
            by: by.to_owned(),
            at: now,
            unblocked_at: None,
            unblocked_by: None,
        });
        Ok(())
    })
    .await
}

/// Status back to `Accepted`; the last block stays, marked as ended.
pub async fn unblock<S: TokenStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    value: &str,
    by: &str,
) -> Result<IdTokenRecord, RegistryError> {
    change(store, clock, org, value, None, |r, now| {
        if r.status != TokenStatus::Blocked {
            return Err(RegistryError::Conflict(format!(
                "id token {} is not blocked",
                r.token
            )));
        }
        r.status = TokenStatus::Accepted;
        if let Some(b) = r.block.as_mut().filter(|b| b.unblocked_at.is_none()) {
            b.unblocked_at = Some(now);
            b.unblocked_by = Some(by.to_owned());
        }
        Ok(())
    })
    .await
}

/// Takes `user`'s identifiers of `org` from them (no holder any more): the
/// person is leaving the organisation. Idempotent, so a removal that
/// failed after this is simply run again; how many it changed.
pub async fn release_held<S: TokenStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    user: &UserId,
    org: &OrgId,
) -> Result<usize, RegistryError> {
    let mut held = vec![];
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let listed = store.list_user_id_tokens(user, &page).await?;
        held.extend(
            listed
                .items
                .into_iter()
                .filter(|t| &t.org_id == org)
                .map(|t| t.token),
        );
        match listed.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    for token in &held {
        // A token changed meanwhile is read again by `change`'s caller:
        // here, bounded retries of the one field.
        let mut tries = 0;
        loop {
            let released = change(store, clock, org, token.as_str(), None, |r, _| {
                r.user_id = None;
                Ok(())
            })
            .await;
            match released {
                Err(RegistryError::Conflict(_)) if tries < 3 => tries += 1,
                Err(RegistryError::NotFound(_)) => break, // deleted meanwhile
                other => {
                    other?;
                    break;
                }
            }
        }
    }
    Ok(held.len())
}

pub async fn delete<S: TokenStore + ?Sized>(
    store: &S,
    org: &OrgId,
    value: &str,
) -> Result<IdTokenRecord, RegistryError> {
    let r = get(store, org, value).await?;
    store
        .delete_id_token(&r.token)
        .await?
        .ok_or_else(|| not_found(value))
}

/// The organisation's unregistered identifier `value`.
pub async fn get_unregistered<S: TokenStore + ?Sized>(
    store: &S,
    org: &OrgId,
    value: &str,
) -> Result<UnregisteredToken, RegistryError> {
    let v = IdTokenValue::parse(value.to_owned()).map_err(|_| not_found(value))?;
    store
        .get_unregistered(org, &v)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("unregistered id token {value} not found")))
}

/// Registers an identifier seen at a station in one call: the new token
/// takes the value as seen, its type defaults to the one seen (else
/// `ISO14443`), and it leaves the unregistered list in the same write.
pub async fn register_seen<S: TokenStore + UserStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    org: &OrgId,
    value: &str,
    token_type: Option<String>,
    fields: TokenFields,
) -> Result<IdTokenRecord, RegistryError> {
    let seen = get_unregistered(store, org, value).await?;
    let token_type = match token_type {
        Some(t) => parse_type(&t)?,
        None => seen.token_type.unwrap_or(IdTokenType::ISO14443),
    };
    let token = registered_value(seen.token.as_str().to_owned(), token_type)?;
    let record = new_record(clock, token, token_type, org.clone(), fields)?;
    check_holder(store, &record).await?;
    store
        .register_unregistered(&record)
        .await
        .map_err(exists(&record.token))?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_tokens_are_registered_normalised() {
        let v = registered_value("VID:01:23:45:67:89:ab".into(), IdTokenType::MacAddress).unwrap();
        assert_eq!(v.as_str(), "0123456789AB");
        let e = registered_value("04A1B2".into(), IdTokenType::MacAddress).unwrap_err();
        assert!(e.to_string().starts_with("idToken:"), "{e}");
        // Other types keep their spelling.
        let v = registered_value("vid:0123456789ab".into(), IdTokenType::ISO14443).unwrap();
        assert_eq!(v.as_str(), "vid:0123456789ab");
    }

    #[test]
    fn fields_are_checked_by_name() {
        let t0 = chrono::Utc::now();
        let mut r = IdTokenRecord {
            user_id: None,
            token: IdTokenValue::parse("T").unwrap(),
            token_type: IdTokenType::ISO14443,
            status: TokenStatus::Accepted,
            valid_from: None,
            valid_to: None,
            org_id: OrgId::default_org(),
            group: None,
            parent_id: None,
            emaid: None,
            payment_hold: None,
            label: None,
            block: None,
            created_at: t0,
            updated_at: None,
            version: 1,
        };
        let cases: [(TokenFields, &str); 6] = [
            (
                TokenFields {
                    status: Some("Gone".into()),
                    ..Default::default()
                },
                "status:",
            ),
            (
                TokenFields {
                    parent_id: Some(Some("P".repeat(21))),
                    ..Default::default()
                },
                "parentId:",
            ),
            (
                TokenFields {
                    group: Some(Some("a b".into())),
                    ..Default::default()
                },
                "group:",
            ),
            (
                TokenFields {
                    emaid: Some(Some("SE ABC".into())),
                    ..Default::default()
                },
                "emaid:",
            ),
            (
                TokenFields {
                    label: Some(Some("x".repeat(201))),
                    ..Default::default()
                },
                "label:",
            ),
            (
                TokenFields {
                    valid_from: Some(Some(t0)),
                    valid_to: Some(Some(t0)),
                    ..Default::default()
                },
                "validTo:",
            ),
        ];
        for (f, field) in cases {
            let e = apply(&mut r.clone(), f).unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
        apply(
            &mut r,
            TokenFields {
                label: Some(Some("  Anna  ".into())),
                parent_id: Some(Some("FLEET".into())),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.label.as_deref(), Some("Anna"));
        assert_eq!(r.parent_id.unwrap().as_str(), "FLEET");
    }
}
