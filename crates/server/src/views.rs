//! Core records as sessiond's own views (`sessiond_api` types): what the native API answers
//! and what NetSession's reporting calls echo back.

use sessiond_api as api;
use sessiond_core::model as m;
use time::OffsetDateTime;

pub fn user(u: &m::User) -> api::UserView {
    let p = &u.profile;
    api::UserView {
        id: u.id,
        name: u.name.clone(),
        display_name: p.display_name.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        email: p.email.clone(),
        title: p.title.clone(),
        company: p.company.clone(),
        location: p.location.clone(),
        department: p.department.clone(),
        division: p.division.clone(),
        job_function: p.job_function.clone(),
        work_phone: p.work_phone.clone(),
        mobile_phone: p.mobile_phone.clone(),
        account_type: u.account_type.as_str().into(),
        primary_group: u.primary_group,
        sid: u.sid(),
        nfs_uid: p.nfs_uid.clone(),
        home_directory: p.home_directory.clone(),
        can_change_password: u.can_change_password,
        avatars: p
            .avatars
            .iter()
            .map(|a| api::Avatar {
                size: a.size.clone(),
                url: a.url.clone(),
            })
            .collect(),
        metadata: p.metadata.clone(),
        enabled: u.enabled,
        roles: u.roles.clone(),
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// `last_active` is the session's live stamp (`Core::last_active_of`), which may be later
/// than the stored one.
pub fn session(
    s: &m::Session,
    last_active: OffsetDateTime,
    username: &str,
    now: OffsetDateTime,
    current: &str,
) -> api::SessionView {
    api::SessionView {
        id: s.id.clone(),
        user_id: s.user_id,
        username: username.to_owned(),
        server: s.server.clone(),
        client_name: s.client_name.clone(),
        client_type: s.client_type.clone(),
        console_type: s.console_type,
        transport: s.transport.clone(),
        auth_method: s.auth_method.as_str().into(),
        actor: s.actor.clone(),
        state: if s.is_active() { "active" } else { "ended" }.into(),
        login_time: s.login_time,
        last_active,
        idle_seconds: s
            .is_active()
            .then(|| (now - last_active).whole_seconds().max(0)),
        expires_at: s.expires_at,
        logout_time: s.logout_time,
        end_reason: s.end_reason.map(|r| r.as_str().to_owned()),
        current: s.id == current,
        pam_username: String::new(),
    }
}

/// Names the session's user as MIM PAM does, `DOMAIN\\name`.
pub fn with_pam_name(mut v: api::SessionView, domain: &str) -> api::SessionView {
    v.pam_username = format!("{domain}\\{}", v.username);
    v
}

pub fn role(r: &m::Role) -> api::RoleView {
    api::RoleView {
        name: r.name.clone(),
        description: r.description.clone(),
        builtin: r.builtin,
        privileges: r.privileges.iter().map(|p| p.as_str().to_owned()).collect(),
    }
}

pub fn group(g: &m::Group, members: Option<Vec<i64>>) -> api::GroupView {
    api::GroupView {
        id: g.id,
        name: g.name.clone(),
        sid: g.sid.clone(),
        gid: g.gid.clone(),
        members,
    }
}

pub fn audit(e: &m::AuditEvent) -> api::AuditView {
    api::AuditView {
        id: e.id,
        time: e.time,
        kind: e.kind.as_str().into(),
        actor_id: e.actor_id,
        actor_name: e.actor_name.clone(),
        session_id: e.session_id.clone(),
        client: e.client.clone(),
        subject: e.subject.clone(),
        detail: e.detail.clone(),
    }
}
