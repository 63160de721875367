//! Native request fields to core changes.

use sessiond_api as api;
use sessiond_core::model::{self as m, AccountType};
use sessiond_core::service::{CreateUser, UserChanges};

use super::NativeError;

fn account_type(s: &Option<String>) -> Result<Option<AccountType>, NativeError> {
    s.as_deref()
        .map(|s| {
            AccountType::parse(s).ok_or_else(|| {
                NativeError::bad_request("account_type must be NORMAL, SYSTEM or SDL")
            })
        })
        .transpose()
}

fn profile_strings(f: &api::UserFields) -> m::Profile {
    m::Profile {
        display_name: f.display_name.clone(),
        first_name: f.first_name.clone(),
        last_name: f.last_name.clone(),
        email: f.email.clone(),
        title: f.title.clone(),
        company: f.company.clone(),
        location: f.location.clone(),
        department: f.department.clone(),
        division: f.division.clone(),
        job_function: f.job_function.clone(),
        work_phone: f.work_phone.clone(),
        mobile_phone: f.mobile_phone.clone(),
        sid: f.sid.clone(),
        nfs_uid: f.nfs_uid.clone(),
        home_directory: f.home_directory.clone(),
        avatars: vec![],
        metadata: Default::default(),
    }
}

fn avatars(a: &[api::Avatar]) -> Vec<m::Avatar> {
    a.iter()
        .map(|a| m::Avatar {
            size: a.size.clone(),
            url: a.url.clone(),
        })
        .collect()
}

pub fn create_user(f: api::UserFields) -> Result<CreateUser, NativeError> {
    let name = f
        .name
        .clone()
        .ok_or_else(|| NativeError::bad_request("name is required"))?;
    let mut profile = m::Profile::default();
    profile.apply(&m::ProfileChanges {
        strings: profile_strings(&f),
        avatars: f.avatars.as_deref().map(avatars),
        metadata: f.metadata.clone(),
    });
    Ok(CreateUser {
        name,
        password: f.password.clone(),
        account_type: account_type(&f.account_type)?,
        primary_group: f.primary_group,
        can_change_password: f.can_change_password,
        enabled: f.enabled,
        profile,
        roles: f.roles.clone().unwrap_or_default(),
    })
}

pub fn user_changes(f: api::UserFields) -> Result<UserChanges, NativeError> {
    if f.roles.is_some() {
        return Err(NativeError::bad_request(
            "roles are changed with PUT /api/v1/users/{id}/roles",
        ));
    }
    Ok(UserChanges {
        name: f.name.clone(),
        password: f.password.clone(),
        account_type: account_type(&f.account_type)?,
        primary_group: f.primary_group,
        can_change_password: f.can_change_password,
        enabled: f.enabled,
        profile: m::ProfileChanges {
            strings: profile_strings(&f),
            avatars: f.avatars.as_deref().map(avatars),
            metadata: f.metadata.clone(),
        },
    })
}
