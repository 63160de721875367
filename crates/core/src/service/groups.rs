//! Groups: named sets of users (a user's primary group is one of them).

use super::{Core, Principal};
use crate::error::{CoreError, CoreResult};
use crate::model::{
    AuditKind, Group, GroupId, UserId, ADMINS_GROUP_ID, GUESTS_GROUP_ID, USERS_GROUP_ID,
};
use crate::privilege::Privilege;
use crate::validate;

impl Core {
    pub async fn list_groups(&self, p: &Principal) -> CoreResult<Vec<Group>> {
        self.require(p, Privilege::LOCAL_GROUP_READ).await?;
        Ok(self.store.list_groups().await?)
    }

    pub async fn get_group(&self, p: &Principal, id: GroupId) -> CoreResult<(Group, Vec<UserId>)> {
        self.require(p, Privilege::LOCAL_GROUP_READ).await?;
        let g = self
            .store
            .get_group(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no group with id {id}")))?;
        let members = self.store.group_members(id).await?;
        Ok((g, members))
    }

    /// The groups a user belongs to: one's own always, anyone's with the group privilege.
    pub async fn user_groups(&self, p: &Principal, user: UserId) -> CoreResult<Vec<Group>> {
        if user != p.user.id {
            self.require(p, Privilege::LOCAL_GROUP_READ).await?;
        }
        Ok(self.store.user_groups(user).await?)
    }

    pub async fn create_group(&self, p: &Principal, name: &str) -> CoreResult<Group> {
        self.require(p, Privilege::LOCAL_GROUP_WRITE).await?;
        validate::name("group", name)?;
        let g = self.store.insert_group(None, name).await?;
        self.audit_by(p, AuditKind::GroupChanged, Some(name), "group created")
            .await;
        Ok(g)
    }

    pub async fn delete_group(&self, p: &Principal, id: GroupId) -> CoreResult<()> {
        self.require(p, Privilege::LOCAL_GROUP_WRITE).await?;
        if [ADMINS_GROUP_ID, USERS_GROUP_ID, GUESTS_GROUP_ID].contains(&id) {
            return Err(CoreError::Conflict(
                "built-in groups cannot be deleted".into(),
            ));
        }
        if self
            .store
            .list_users()
            .await?
            .iter()
            .any(|u| u.primary_group == id)
        {
            return Err(CoreError::Conflict(
                "the group is some user's primary group".into(),
            ));
        }
        if !self.store.delete_group(id).await? {
            return Err(CoreError::NotFound(format!("no group with id {id}")));
        }
        self.audit_by(
            p,
            AuditKind::GroupChanged,
            Some(&id.to_string()),
            "group deleted",
        )
        .await;
        Ok(())
    }

    pub async fn add_group_member(
        &self,
        p: &Principal,
        group: GroupId,
        user: UserId,
    ) -> CoreResult<()> {
        self.require(p, Privilege::LOCAL_GROUP_WRITE).await?;
        self.get_group(p, group).await?;
        self.get_user(p, user).await?;
        self.store.add_group_member(group, user).await?;
        self.audit_by(
            p,
            AuditKind::GroupChanged,
            Some(&group.to_string()),
            &format!("user {user} added"),
        )
        .await;
        Ok(())
    }

    pub async fn remove_group_member(
        &self,
        p: &Principal,
        group: GroupId,
        user: UserId,
    ) -> CoreResult<()> {
        self.require(p, Privilege::LOCAL_GROUP_WRITE).await?;
        if !self.store.remove_group_member(group, user).await? {
            return Err(CoreError::NotFound(format!(
                "user {user} is not a member of group {group}"
            )));
        }
        self.audit_by(
            p,
            AuditKind::GroupChanged,
            Some(&group.to_string()),
            &format!("user {user} removed"),
        )
        .await;
        Ok(())
    }
}
