//! A driver rates one of their sessions ([`rate_session`]), and what an
//! operator reads of their stations' and sites' ratings. The rules are the
//! domain's ([`csms_domain::rating`]); here the session is found (another
//! person's is not found, like one that does not exist) and the rating is
//! written with the sums of its station and site, retrying once if a
//! second tab of the same driver wrote in between.

use crate::registry::RegistryError;
use csms_domain::rating::{rate, Rating, RatingError, Stars};
use csms_domain::user::UserId;
use csms_domain::{SessionId, Timestamp};
use csms_kernel::ports::{RatingStore, SessionStore, StoreError};

/// What the driver sends: `stars` as given, parsed here.
#[derive(Debug, Clone)]
pub struct RatingInput {
    pub stars: i64,
    pub comment: Option<String>,
}

fn not_found(id: &SessionId) -> RegistryError {
    RegistryError::NotFound(format!("session {id} not found"))
}

impl From<RatingError> for RegistryError {
    fn from(e: RatingError) -> Self {
        match e {
            RatingError::Stars | RatingError::CommentTooLong => {
                RegistryError::Invalid(e.to_string())
            }
            RatingError::NotEnded | RatingError::EditWindowClosed(_) => {
                RegistryError::Conflict(e.to_string())
            }
        }
    }
}

/// The rating of `user`'s session `id`, new or changed; whether it is new.
pub async fn rate_session<S: SessionStore + RatingStore + ?Sized>(
    store: &S,
    user: &UserId,
    id: &SessionId,
    input: RatingInput,
    now: Timestamp,
) -> Result<(Rating, bool), RegistryError> {
    let stars = u8::try_from(input.stars)
        .ok()
        .and_then(Stars::new)
        .ok_or(RatingError::Stars)?;
    let session = store
        .get_session(id)
        .await?
        .filter(|s| s.user_id.as_ref() == Some(user))
        .ok_or_else(|| not_found(id))?;
    // Two tries: a concurrent change by the same driver is re-read once.
    for attempt in 0..2 {
        let existing = store.get_rating(id).await?;
        let rating = rate(
            &session,
            user,
            existing.as_ref(),
            stars,
            input.comment.clone(),
            now,
        )?;
        match store.put_rating(&rating, existing.as_ref()).await {
            Ok(()) => return Ok((rating, existing.is_none())),
            Err(StoreError::Conflict(_)) if attempt == 0 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RegistryError::Conflict(format!(
        "the rating of session {id} changed meanwhile; send it again"
    )))
}
