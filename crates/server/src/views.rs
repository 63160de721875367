//! Core records as sessiond's own views (`sessiond_api` types): what the native API answers
//! and what NetSession's reporting calls echo back.

use std::borrow::Cow;

use sessiond_api as api;
use sessiond_core::cached_session::CachedSession;
use sessiond_core::model as m;
use time::OffsetDateTime;

fn text(t: &Option<String>) -> Option<Cow<'_, str>> {
    t.as_deref().map(Cow::Borrowed)
}

/// Borrows the record: the native who-am-i answers with it on every call.
pub fn user(u: &m::User) -> api::UserView<'_> {
    let p = &u.profile;
    api::UserView {
        id: u.id,
        name: Cow::Borrowed(&u.name),
        display_name: text(&p.display_name),
        first_name: text(&p.first_name),
        last_name: text(&p.last_name),
        email: text(&p.email),
        title: text(&p.title),
        company: text(&p.company),
        location: text(&p.location),
        department: text(&p.department),
        division: text(&p.division),
        job_function: text(&p.job_function),
        work_phone: text(&p.work_phone),
        mobile_phone: text(&p.mobile_phone),
        account_type: Cow::Borrowed(u.account_type.as_str()),
        primary_group: u.primary_group,
        sid: u.sid_ref(),
        nfs_uid: text(&p.nfs_uid),
        home_directory: text(&p.home_directory),
        can_change_password: u.can_change_password,
        avatars: p
            .avatars
            .iter()
            .map(|a| api::Avatar {
                size: a.size.clone(),
                url: a.url.clone(),
            })
            .collect(),
        metadata: Cow::Borrowed(&p.metadata),
        enabled: u.enabled,
        roles: Cow::Borrowed(&u.roles),
        directory_dn: u.directory_dn.as_deref().map(Cow::Borrowed),
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// An owned copy, for lists that outlive their records.
pub fn user_owned(u: &m::User) -> api::UserView<'static> {
    user(u).into_owned()
}

/// `last_active` is the session's live stamp (`Core::last_active_of`), which may be later
/// than the stored one.
pub fn session<'a>(
    s: &'a m::Session,
    last_active: OffsetDateTime,
    username: &'a str,
    now: OffsetDateTime,
    current: &str,
) -> api::SessionView<'a> {
    api::SessionView {
        id: Cow::Borrowed(&s.id),
        user_id: s.user_id,
        username: Cow::Borrowed(username),
        server: Cow::Borrowed(&s.server),
        client_name: Cow::Borrowed(&s.client_name),
        client_type: Cow::Borrowed(&s.client_type),
        console_type: s.console_type,
        transport: s.transport.as_deref().map(Cow::Borrowed),
        auth_method: Cow::Borrowed(s.auth_method.as_str()),
        actor: s.actor.as_deref().map(Cow::Borrowed),
        state: Cow::Borrowed(if s.is_active() { "active" } else { "ended" }),
        login_time: s.login_time,
        last_active,
        idle_seconds: s
            .is_active()
            .then(|| (now - last_active).whole_seconds().max(0)),
        expires_at: s.expires_at,
        logout_time: s.logout_time,
        end_reason: s.end_reason.map(|r| Cow::Borrowed(r.as_str())),
        current: s.id == current,
        pam_username: Cow::Borrowed(""),
    }
}

/// The caller's own session as the hot cache keeps it, borrowed; `last_active` is the
/// cache entry's stamp.
pub fn cached_session<'a>(
    s: &'a CachedSession,
    last_active: OffsetDateTime,
    username: &'a str,
    now: OffsetDateTime,
) -> api::SessionView<'a> {
    api::SessionView {
        id: Cow::Borrowed(s.id()),
        user_id: s.user_id,
        username: Cow::Borrowed(username),
        server: Cow::Borrowed(s.server()),
        client_name: Cow::Borrowed(s.client_name()),
        client_type: Cow::Borrowed(s.client_type()),
        console_type: s.console_type(),
        transport: s.transport().map(Cow::Borrowed),
        auth_method: Cow::Borrowed(s.auth_method().as_str()),
        actor: s.actor().map(Cow::Borrowed),
        // Only active sessions are cached.
        state: Cow::Borrowed("active"),
        login_time: s.login_time(),
        last_active,
        idle_seconds: Some((now - last_active).whole_seconds().max(0)),
        expires_at: s.expires_at(),
        logout_time: None,
        end_reason: None,
        current: true,
        pam_username: Cow::Borrowed(""),
    }
}

/// An owned copy, for lists that outlive their records.
pub fn session_owned(
    s: &m::Session,
    last_active: OffsetDateTime,
    username: &str,
    now: OffsetDateTime,
    current: &str,
) -> api::SessionView<'static> {
    session(s, last_active, username, now, current).into_owned()
}

/// Names the session's user as MIM PAM does, `DOMAIN\\name`.
pub fn with_pam_name<'a>(mut v: api::SessionView<'a>, domain: &str) -> api::SessionView<'a> {
    // Joined by hand: `format!` was a measurable part of every native who-am-i.
    let mut name = String::with_capacity(domain.len() + 1 + v.username.len());
    name.push_str(domain);
    name.push('\\');
    name.push_str(&v.username);
    v.pam_username = Cow::Owned(name);
    v
}

pub fn role(r: &m::Role) -> api::RoleView {
    api::RoleView {
        name: r.name.clone(),
        description: r.description.clone(),
        builtin: r.builtin,
        privileges: r.privileges.iter().map(|p| p.as_str().to_owned()).collect(),
        policy: api::RolePolicy {
            idle_timeout_seconds: r.policy.idle_timeout.map(|d| d.whole_seconds()),
            session_lifetime_seconds: r.policy.lifetime.map(|d| d.whole_seconds()),
            max_sessions: r.policy.max_sessions,
        },
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
