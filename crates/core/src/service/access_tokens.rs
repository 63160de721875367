//! Access tokens: long-lived bearer credentials for one user, without a session.

use time::OffsetDateTime;

use super::auth::ACCESS_TOKEN_PREFIX;
use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::{AccessToken, AccessTokenFilter, AuditKind, UserId};
use crate::privilege::Privilege;
use crate::secret::{random_bytes, Token};

/// A bound on how many tokens one user may hold (Qumulo itself allows 2).
pub const MAX_ACCESS_TOKENS_PER_USER: usize = 16;

/// 22 decimal digits, never starting with 0, so text order is number order.
fn new_id() -> CoreResult<String> {
    const LOW: u128 = 1_000_000_000_000_000_000_000; // 10^21
    let n = u128::from_le_bytes(random_bytes::<16>()?);
    Ok((LOW + n % (9 * LOW)).to_string())
}

impl Core {
    /// Creates a token for `user`: one's own freely, anyone's with
    /// `PRIVILEGE_ACCESS_TOKENS_WRITE`. The bearer string is returned once.
    pub async fn create_access_token(
        &self,
        p: &Principal,
        user: UserId,
        expiration: Option<OffsetDateTime>,
    ) -> CoreResult<(AccessToken, Token)> {
        if user != p.user.id {
            self.require(p, Privilege::ACCESS_TOKENS_WRITE).await?;
        }
        let owner = self
            .store
            .get_user(user)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no user with id {user}")))?;
        let now = self.clock.now();
        if expiration.is_some_and(|t| t <= now) {
            return Err(CoreError::Invalid(
                "the expiration time is in the past".into(),
            ));
        }
        let held = self
            .store
            .list_access_tokens(&AccessTokenFilter {
                user_id: Some(user),
                after: None,
                limit: MAX_ACCESS_TOKENS_PER_USER as u32 + 1,
            })
            .await?
            .len();
        if held >= MAX_ACCESS_TOKENS_PER_USER {
            return Err(CoreError::Conflict(format!(
                "{} already holds {MAX_ACCESS_TOKENS_PER_USER} access tokens",
                owner.name
            )));
        }
        let secret = Token::generate_prefixed(ACCESS_TOKEN_PREFIX)?;
        let token = AccessToken {
            id: new_id()?,
            user_id: user,
            creator_id: p.user.id,
            creation_time: now,
            expiration_time: expiration,
            enabled: true,
        };
        self.store
            .insert_access_token(&token, &secret.hash())
            .await?;
        self.audit_by(
            p,
            AuditKind::AccessTokenCreated,
            Some(&owner.name),
            &format!("access token {} created", token.id),
        )
        .await;
        Ok((token, secret))
    }

    async fn token_for(
        &self,
        p: &Principal,
        id: &str,
        other: Privilege,
    ) -> CoreResult<AccessToken> {
        let t = self
            .store
            .get_access_token(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no access token {id}")))?;
        if t.user_id != p.user.id {
            self.require(p, other).await?;
        }
        Ok(t)
    }

    pub async fn get_access_token(&self, p: &Principal, id: &str) -> CoreResult<AccessToken> {
        self.token_for(p, id, Privilege::ACCESS_TOKENS_READ).await
    }

    /// One's own tokens always; anyone's (or all) with `PRIVILEGE_ACCESS_TOKENS_READ`.
    pub async fn list_access_tokens(
        &self,
        p: &Principal,
        filter: &AccessTokenFilter,
    ) -> CoreResult<Vec<AccessToken>> {
        if filter.user_id != Some(p.user.id) {
            self.require(p, Privilege::ACCESS_TOKENS_READ).await?;
        }
        let mut filter = filter.clone();
        filter.limit = filter.limit.clamp(1, 1000);
        Ok(self.store.list_access_tokens(&filter).await?)
    }

    pub async fn modify_access_token(
        &self,
        p: &Principal,
        id: &str,
        enabled: Option<bool>,
        expiration: Option<Option<OffsetDateTime>>,
    ) -> CoreResult<AccessToken> {
        self.token_for(p, id, Privilege::ACCESS_TOKENS_WRITE)
            .await?;
        let t = self
            .store
            .update_access_token(id, enabled, expiration)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no access token {id}")))?;
        self.forget_session(id);
        self.audit_by(
            p,
            AuditKind::AccessTokenChanged,
            Some(id),
            &format!(
                "access token {id} {}",
                if t.enabled { "enabled" } else { "disabled" }
            ),
        )
        .await;
        Ok(t)
    }

    pub async fn delete_access_token(&self, p: &Principal, id: &str) -> CoreResult<()> {
        self.token_for(p, id, Privilege::ACCESS_TOKENS_WRITE)
            .await?;
        self.store.delete_access_token(id).await?;
        self.forget_session(id);
        self.audit_by(
            p,
            AuditKind::AccessTokenDeleted,
            Some(id),
            &format!("access token {id} deleted"),
        )
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_22_digits_and_sort_as_numbers() {
        let mut ids: Vec<String> = (0..50).map(|_| super::new_id().unwrap()).collect();
        assert!(ids.iter().all(|i| i.len() == 22 && !i.starts_with('0')));
        let mut numeric = ids.clone();
        numeric.sort_by_key(|i| i.parse::<u128>().unwrap());
        ids.sort();
        assert_eq!(ids, numeric);
    }
}
