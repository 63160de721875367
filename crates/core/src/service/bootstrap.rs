//! First start: built-in roles and groups, and the `admin` user when the store is empty.

use super::roles::{builtin_roles, ADMINISTRATORS};
use super::Core;
use crate::error::{CoreError, CoreResult};
use crate::model::*;
use crate::secret::random_password;
use crate::validate;

/// What `bootstrap` did.
#[derive(Debug, Default)]
pub struct Bootstrap {
    /// Set when the admin user was created now.
    pub admin_created: bool,
    /// Set when the admin password was generated (to be shown once, never logged).
    pub generated_password: Option<String>,
}

impl Core {
    /// Makes sure built-in roles and groups exist, and creates `admin` (id 500, all
    /// privileges) when there are no users. `admin_password` is used if given; otherwise a
    /// random one is generated and returned.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> CoreResult<Bootstrap> {
        for role in builtin_roles() {
            // Rewritten at every start so that built-in roles follow the privilege table.
            self.store.put_role(&role).await?;
        }
        self.reload_roles().await?;
        let existing: Vec<GroupId> = self
            .store
            .list_groups()
            .await?
            .iter()
            .map(|g| g.id)
            .collect();
        for (id, name) in [
            (ADMINS_GROUP_ID, "Admins"),
            (USERS_GROUP_ID, "Users"),
            (GUESTS_GROUP_ID, "Guests"),
        ] {
            if !existing.contains(&id) {
                match self.store.insert_group(Some(id), name).await {
                    Ok(_) | Err(crate::error::StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if self.store.count_users().await? > 0 {
            return Ok(Bootstrap::default());
        }
        let (password, generated) = match admin_password {
            Some(p) => {
                validate::new_password(p)?;
                (p.to_owned(), None)
            }
            None => {
                let p = random_password()?;
                (p.clone(), Some(p))
            }
        };
        let admin = NewUser {
            id: Some(ADMIN_USER_ID),
            name: "admin".into(),
            account_type: AccountType::Normal,
            primary_group: ADMINS_GROUP_ID,
            can_change_password: true,
            enabled: true,
            password_hash: Some(self.hasher.hash(&password).await?),
            profile: Profile {
                display_name: Some("Administrator".into()),
                ..Profile::default()
            },
            roles: vec![ADMINISTRATORS.into()],
            directory_dn: None,
        };
        match self.store.insert_user(&admin, self.clock.now()).await {
            Ok(_) => {}
            // Another node created it first: theirs stands.
            Err(crate::error::StoreError::Conflict(_)) => return Ok(Bootstrap::default()),
            Err(e) => return Err(CoreError::from(e)),
        }
        self.store
            .add_group_member(ADMINS_GROUP_ID, ADMIN_USER_ID)
            .await?;
        tracing::info!("created the admin user (id {ADMIN_USER_ID})");
        Ok(Bootstrap {
            admin_created: true,
            generated_password: generated,
        })
    }
}
