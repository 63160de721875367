//! The store contract: the behaviour every engine must show, written once against
//! `&dyn Store`.
//!
//! Each `pub(crate) async fn` takes a fresh, empty, migrated store and checks one part of
//! the `Store` trait's documented semantics, panicking on any deviation. An engine runs
//! the whole suite by invoking [`contract_tests!`] in its own test module with a maker: an
//! async fn (or closure returning a future) that yields something `Deref`-ing to a type
//! that implements `Store` (and keeps whatever the store needs, a temporary directory or
//! a scratch database, alive for as long as it lives).
//!
//! Instants are built from fixed Unix timestamps (no sleeps, no wall clock), with a
//! sub-second part where precision matters: engines keep microseconds.

use sessiond_core::model::*;
use sessiond_core::secret::TokenHash;
use sessiond_core::store::{Activity, LoginFailures, ReportedChange, Store, UserUpdate};
use sessiond_core::{Privilege, PrivilegeSet, StoreError};
use time::{Duration, OffsetDateTime};

/// Runs every contract fn as its own `#[tokio::test]` against stores made by `$make`.
///
/// `$make` is called with no arguments and awaited; its output must deref to a `Store`
/// (`&*made` is passed as `&dyn Store`) and is dropped when the test ends.
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract::contract_tests!(@each $make;
            ping_and_count_users,
            users_insert_and_get,
            users_name_and_id_conflicts,
            users_insert_checks_references,
            users_ids_follow_explicit_admin_id,
            users_ids_start_above_admin_in_empty_store,
            users_update_partial,
            users_update_unknown_or_conflicting,
            users_set_roles,
            users_delete,
            groups_insert_list_get_delete,
            groups_ids_start_above_builtin_in_empty_store,
            groups_membership,
            roles_put_list_delete,
            sessions_insert_and_lookup,
            sessions_insert_many_in_one_go,
            sessions_active_in_pages_by_id,
            sessions_by_many_tokens_in_one_query,
            users_names_by_ids,
            sessions_insert_conflicts_and_references,
            sessions_list_filters,
            sessions_end_only_once,
            sessions_end_user_sessions_except,
            sessions_record_activity_latest_wins,
            sessions_end_stale_expired_and_idle,
            sessions_end_stale_never_idles_reported,
            sessions_idle_by_their_own_time_out_and_expiry_moved,
            roles_policy_kept_apart_from_the_role,
            sessions_purge_only_old_ended,
            audit_append_and_list,
            audit_list_filters,
            audit_purge,
            access_tokens_insert_lookup_update_delete,
            access_tokens_list_pages_by_id_and_user,
            login_failures_count_within_a_window_and_lock,
            sessions_token_replaced_only_while_active,
            user_keys_insert_list_delete,
            apps_insert_update_delete_and_sessions,
            sessions_reported_changes_and_known_servers,
            webhooks_events_only_for_subscribed_kinds_in_change_order,
            webhooks_user_disabled_and_locked_only_for_existing_users,
            webhooks_lease_delivery_failure_dead_letters_and_replay,
            webhooks_rotate_delete_and_purge,
        );
    };
    (@each $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let made = ($make)().await;
                $crate::contract::$name(&*made).await;
            }
        )+
    };
}
pub(crate) use contract_tests;

mod webhooks;
pub(crate) use webhooks::*;

// ---------------------------------------------------------------------------------------
// Helpers

/// A fixed instant, `secs` seconds after 2023-11-14T22:13:20Z.
fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).expect("valid timestamp")
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound(_)))
}

fn new_user(name: &str, primary_group: GroupId) -> NewUser {
    NewUser {
        id: None,
        name: name.to_owned(),
        account_type: AccountType::Normal,
        primary_group,
        can_change_password: true,
        enabled: true,
        password_hash: Some(format!("$argon2id$fake${name}")),
        profile: Profile::default(),
        roles: vec![],
        directory_dn: None,
    }
}

/// Creates the Users group (513) and returns it.
async fn users_group(store: &dyn Store) -> Group {
    store
        .insert_group(Some(USERS_GROUP_ID), "Users")
        .await
        .expect("insert Users group")
}

/// Creates the Users group and one user in it.
async fn one_user(store: &dyn Store, name: &str) -> User {
    users_group(store).await;
    store
        .insert_user(&new_user(name, USERS_GROUP_ID), at(0))
        .await
        .expect("insert user")
}

fn role(name: &str, privileges: &[Privilege]) -> Role {
    Role {
        name: name.to_owned(),
        description: format!("the {name} role"),
        privileges: privileges.iter().copied().collect::<PrivilegeSet>(),
        builtin: false,
        policy: RolePolicy::default(),
    }
}

fn session(id: &str, user_id: UserId, login: OffsetDateTime) -> Session {
    Session {
        id: id.to_owned(),
        user_id,
        server: "srv-1".into(),
        client_name: "host-a".into(),
        client_type: "WebConsole".into(),
        console_type: console_type::WEB_CONSOLE,
        transport: None,
        auth_method: AuthMethod::Password,
        actor: None,
        access_token_id: None,
        browser_session_id: None,
        login_time: login,
        last_active: login,
        expires_at: None,
        logout_time: None,
        end_reason: None,
        num_opens: 0,
        user_flags: 0,
        shares: vec![],
        idle_timeout: None,
    }
}

/// The token hash used for session `id` throughout the suite.
fn token(id: &str) -> TokenHash {
    TokenHash::of(&format!("token-of-{id}"))
}

async fn insert_session(store: &dyn Store, s: &Session) {
    store
        .insert_session(s, &token(&s.id))
        .await
        .unwrap_or_else(|e| panic!("insert session {}: {e}", s.id));
}

async fn get_session(store: &dyn Store, id: &str) -> Session {
    store
        .get_session(id)
        .await
        .expect("get_session")
        .unwrap_or_else(|| panic!("session {id} is missing"))
}

fn ids(sessions: &[Session]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn event(time: OffsetDateTime, kind: AuditKind, actor: Option<UserId>, detail: &str) -> AuditEvent {
    AuditEvent {
        id: 0,
        time,
        kind,
        actor_id: actor,
        actor_name: actor.map(|a| format!("user-{a}")),
        session_id: None,
        client: None,
        subject: None,
        detail: detail.to_owned(),
    }
}

fn details(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.detail.as_str()).collect()
}

// ---------------------------------------------------------------------------------------
// Users

pub(crate) async fn ping_and_count_users(store: &dyn Store) {
    store.ping().await.expect("ping");
    assert_eq!(
        store.count_users().await.unwrap(),
        0,
        "a fresh store has no users"
    );
    assert!(store.list_users().await.unwrap().is_empty());
    assert!(store.list_groups().await.unwrap().is_empty());
    assert!(store.list_roles().await.unwrap().is_empty());
    users_group(store).await;
    store
        .insert_user(&new_user("a", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    store
        .insert_user(&new_user("b", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    assert_eq!(store.count_users().await.unwrap(), 2);
}

pub(crate) async fn users_insert_and_get(store: &dyn Store) {
    users_group(store).await;
    store
        .put_role(&role("Operators", &[Privilege::SESSION_READ]))
        .await
        .unwrap();
    store
        .put_role(&role("Auditors", &[Privilege::AUDIT_READ]))
        .await
        .unwrap();
    let mut metadata = serde_json::Map::new();
    metadata.insert("team".into(), serde_json::json!("storage"));
    metadata.insert("level".into(), serde_json::json!(3));
    let profile = Profile {
        display_name: Some("Alice Liddell".into()),
        email: Some("alice@example.com".into()),
        sid: Some("S-1-5-21-9-9-9-1234".into()),
        avatars: vec![Avatar {
            size: "64x64".into(),
            url: "https://example.com/a.png".into(),
        }],
        metadata,
        ..Profile::default()
    };
    let created = at(10) + Duration::microseconds(123_456);
    let new = NewUser {
        id: None,
        name: "Alice".into(),
        account_type: AccountType::System,
        primary_group: USERS_GROUP_ID,
        can_change_password: false,
        enabled: false,
        password_hash: None,
        profile: profile.clone(),
        roles: vec!["Operators".into(), "Auditors".into()],
        directory_dn: None,
    };
    let u = store.insert_user(&new, created).await.expect("insert");
    assert_eq!(u.name, "Alice");
    assert_eq!(u.account_type, AccountType::System);
    assert_eq!(u.primary_group, USERS_GROUP_ID);
    assert!(!u.can_change_password);
    assert!(!u.enabled);
    assert_eq!(u.password_hash, None);
    assert_eq!(u.profile, profile);
    assert_eq!(
        sorted(u.roles.clone()),
        vec!["Auditors".to_string(), "Operators".to_string()]
    );
    assert_eq!(u.created_at, created, "instants keep microseconds");
    assert_eq!(u.updated_at, created);

    let got = store.get_user(u.id).await.unwrap().expect("get_user");
    assert_eq!(got.id, u.id);
    assert_eq!(got.profile, profile);
    assert_eq!(sorted(got.roles.clone()), sorted(u.roles.clone()));
    assert_eq!(got.created_at, created);

    for name in ["Alice", "alice", "ALICE", "aLiCe"] {
        let by_name = store
            .get_user_by_name(name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("get_user_by_name({name:?}) is case-insensitive"));
        assert_eq!(by_name.id, u.id);
        assert_eq!(
            by_name.name, "Alice",
            "the name keeps the case it was given"
        );
    }
    assert!(store.get_user_by_name("alic").await.unwrap().is_none());
    assert!(store.get_user_by_name("bob").await.unwrap().is_none());
    assert!(store.get_user(u.id + 1000).await.unwrap().is_none());

    let bob = store
        .insert_user(&new_user("bob", USERS_GROUP_ID), at(11))
        .await
        .unwrap();
    assert_ne!(bob.id, u.id);
    assert_eq!(bob.password_hash.as_deref(), Some("$argon2id$fake$bob"));
    assert!(bob.roles.is_empty());
    let all = store.list_users().await.unwrap();
    assert_eq!(
        sorted(all.iter().map(|u| u.id).collect()),
        sorted(vec![u.id, bob.id])
    );
    let listed_alice = all.iter().find(|x| x.id == u.id).unwrap();
    assert_eq!(sorted(listed_alice.roles.clone()), sorted(u.roles.clone()));
    assert_eq!(listed_alice.profile, profile);
    assert!(all
        .iter()
        .find(|x| x.id == bob.id)
        .unwrap()
        .roles
        .is_empty());
}

pub(crate) async fn users_name_and_id_conflicts(store: &dyn Store) {
    let alice = one_user(store, "alice").await;
    assert!(
        is_conflict(
            store
                .insert_user(&new_user("alice", USERS_GROUP_ID), at(1))
                .await
        ),
        "same name is a conflict"
    );
    assert!(
        is_conflict(
            store
                .insert_user(&new_user("ALICE", USERS_GROUP_ID), at(1))
                .await
        ),
        "names conflict case-insensitively"
    );
    let taken_id = NewUser {
        id: Some(alice.id),
        ..new_user("someone-else", USERS_GROUP_ID)
    };
    assert!(
        is_conflict(store.insert_user(&taken_id, at(1)).await),
        "a taken id is a conflict"
    );
    assert_eq!(
        store.count_users().await.unwrap(),
        1,
        "failed inserts leave nothing"
    );
}

pub(crate) async fn users_insert_checks_references(store: &dyn Store) {
    users_group(store).await;
    assert!(
        is_not_found(store.insert_user(&new_user("nogroup", 4242), at(0)).await),
        "an unknown primary group is NotFound"
    );
    let with_bad_role = NewUser {
        roles: vec!["NoSuchRole".into()],
        ..new_user("norole", USERS_GROUP_ID)
    };
    assert!(
        is_not_found(store.insert_user(&with_bad_role, at(0)).await),
        "an unknown role is NotFound"
    );
    assert_eq!(
        store.count_users().await.unwrap(),
        0,
        "failed inserts leave nothing"
    );
    assert!(store.get_user_by_name("norole").await.unwrap().is_none());
    assert!(store
        .group_members(USERS_GROUP_ID)
        .await
        .unwrap()
        .is_empty());
}

pub(crate) async fn users_ids_follow_explicit_admin_id(store: &dyn Store) {
    store
        .insert_group(Some(ADMINS_GROUP_ID), "Admins")
        .await
        .unwrap();
    users_group(store).await;
    let admin = NewUser {
        id: Some(ADMIN_USER_ID),
        ..new_user("admin", ADMINS_GROUP_ID)
    };
    assert_eq!(store.insert_user(&admin, at(0)).await.unwrap().id, 500);
    let a = store
        .insert_user(&new_user("a", USERS_GROUP_ID), at(1))
        .await
        .unwrap();
    let b = store
        .insert_user(&new_user("b", USERS_GROUP_ID), at(2))
        .await
        .unwrap();
    assert_eq!((a.id, b.id), (501, 502));
    assert!(store.get_user(500).await.unwrap().is_some());
    assert_eq!(store.get_user(501).await.unwrap().unwrap().name, "a");
}

pub(crate) async fn users_ids_start_above_admin_in_empty_store(store: &dyn Store) {
    users_group(store).await;
    let first = store
        .insert_user(&new_user("first", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    assert!(
        first.id > ADMIN_USER_ID,
        "ids at or below {ADMIN_USER_ID} are reserved; got {}",
        first.id
    );
    let second = store
        .insert_user(&new_user("second", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    assert!(second.id > first.id);
    // The admin's id stays free for bootstrap.
    let admin = NewUser {
        id: Some(ADMIN_USER_ID),
        ..new_user("admin", USERS_GROUP_ID)
    };
    assert_eq!(
        store.insert_user(&admin, at(0)).await.unwrap().id,
        ADMIN_USER_ID
    );
}

pub(crate) async fn users_update_partial(store: &dyn Store) {
    store
        .insert_group(Some(ADMINS_GROUP_ID), "Admins")
        .await
        .unwrap();
    let u = one_user(store, "carol").await;

    // Nothing set: nothing changes.
    let same = store
        .update_user(u.id, &UserUpdate::default())
        .await
        .unwrap();
    assert_eq!(same, u);

    // One field: only it changes.
    let renamed = store
        .update_user(
            u.id,
            &UserUpdate {
                name: Some("Caroline".into()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Caroline");
    assert_eq!(
        User {
            name: u.name.clone(),
            ..renamed.clone()
        },
        u,
        "only the name changed"
    );
    assert!(store.get_user_by_name("carol").await.unwrap().is_none());
    assert_eq!(
        store
            .get_user_by_name("caroline")
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );

    // Several fields at once; the rest are kept.
    let profile = Profile {
        title: Some("Engineer".into()),
        ..Profile::default()
    };
    let later = at(100) + Duration::microseconds(7);
    let changed = store
        .update_user(
            u.id,
            &UserUpdate {
                account_type: Some(AccountType::Sdl),
                primary_group: Some(ADMINS_GROUP_ID),
                can_change_password: Some(false),
                enabled: Some(false),
                password_hash: Some("$argon2id$new".into()),
                profile: Some(profile.clone()),
                updated_at: Some(later),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "Caroline");
    assert_eq!(changed.account_type, AccountType::Sdl);
    assert_eq!(changed.primary_group, ADMINS_GROUP_ID);
    assert!(!changed.can_change_password);
    assert!(!changed.enabled);
    assert_eq!(changed.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(changed.profile, profile);
    assert_eq!(changed.created_at, u.created_at);
    assert_eq!(changed.updated_at, later);
    assert_eq!(store.get_user(u.id).await.unwrap().unwrap(), changed);
    assert!(
        store
            .group_members(ADMINS_GROUP_ID)
            .await
            .unwrap()
            .contains(&u.id),
        "a user is a member of its new primary group"
    );

    // Booleans can be set back to true.
    let back = store
        .update_user(
            u.id,
            &UserUpdate {
                enabled: Some(true),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(back.enabled);
    assert!(!back.can_change_password);
    assert_eq!(back.updated_at, later);
}

pub(crate) async fn users_update_unknown_or_conflicting(store: &dyn Store) {
    let dave = one_user(store, "dave").await;
    let erin = store
        .insert_user(&new_user("erin", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    assert!(
        is_not_found(
            store
                .update_user(
                    dave.id + erin.id + 1000,
                    &UserUpdate {
                        enabled: Some(false),
                        ..UserUpdate::default()
                    }
                )
                .await
        ),
        "updating an unknown id is NotFound"
    );
    assert!(
        is_conflict(
            store
                .update_user(
                    erin.id,
                    &UserUpdate {
                        name: Some("DAVE".into()),
                        ..UserUpdate::default()
                    }
                )
                .await
        ),
        "renaming onto a taken name (any case) is a conflict"
    );
    assert_eq!(store.get_user(erin.id).await.unwrap().unwrap(), erin);
    // Changing only the case of one's own name is not a conflict.
    let renamed = store
        .update_user(
            dave.id,
            &UserUpdate {
                name: Some("Dave".into()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Dave");
}

pub(crate) async fn users_set_roles(store: &dyn Store) {
    for name in ["A", "B", "C"] {
        store.put_role(&role(name, &[])).await.unwrap();
    }
    let u = one_user(store, "frank").await;
    let roles_of = |id| async move { sorted(store.get_user(id).await.unwrap().unwrap().roles) };

    store
        .set_user_roles(u.id, &["A".into(), "B".into()])
        .await
        .unwrap();
    assert_eq!(roles_of(u.id).await, vec!["A", "B"]);

    store.set_user_roles(u.id, &["C".into()]).await.unwrap();
    assert_eq!(
        roles_of(u.id).await,
        vec!["C"],
        "roles are replaced, not added"
    );

    assert!(
        is_not_found(
            store
                .set_user_roles(u.id, &["A".into(), "Nope".into()])
                .await
        ),
        "an unknown role is NotFound"
    );
    assert_eq!(
        roles_of(u.id).await,
        vec!["C"],
        "a failed change changes nothing"
    );

    assert!(
        is_not_found(store.set_user_roles(u.id + 1000, &["A".into()]).await),
        "an unknown user is NotFound"
    );

    store.set_user_roles(u.id, &[]).await.unwrap();
    assert!(
        roles_of(u.id).await.is_empty(),
        "an empty list clears the roles"
    );
}

pub(crate) async fn users_delete(store: &dyn Store) {
    store.put_role(&role("A", &[])).await.unwrap();
    let g = store.insert_group(Some(2000), "Extra").await.unwrap();
    let u = one_user(store, "gina").await;
    let other = store
        .insert_user(&new_user("hank", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    store.set_user_roles(u.id, &["A".into()]).await.unwrap();
    store.add_group_member(g.id, u.id).await.unwrap();
    insert_session(store, &session("s-gina", u.id, at(1))).await;

    assert!(store.delete_user(u.id).await.unwrap());
    assert!(store.get_user(u.id).await.unwrap().is_none());
    assert!(store.get_user_by_name("gina").await.unwrap().is_none());
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert!(
        !store.delete_user(u.id).await.unwrap(),
        "a second delete finds nothing"
    );
    assert!(!store.delete_user(u.id + 1000).await.unwrap());

    assert_eq!(
        store.group_members(USERS_GROUP_ID).await.unwrap(),
        vec![other.id]
    );
    assert!(store.group_members(g.id).await.unwrap().is_empty());
    assert!(store.user_groups(u.id).await.unwrap().is_empty());
    assert!(
        store.get_session("s-gina").await.unwrap().is_none(),
        "a deleted user's sessions go with it"
    );
    assert!(store
        .session_by_token(&token("s-gina"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.list_roles().await.unwrap().len(),
        1,
        "the role itself stays"
    );

    // The name is free again.
    store
        .insert_user(&new_user("Gina", USERS_GROUP_ID), at(2))
        .await
        .expect("a deleted user's name can be reused");
}

// ---------------------------------------------------------------------------------------
// Groups

pub(crate) async fn groups_insert_list_get_delete(store: &dyn Store) {
    let admins = store
        .insert_group(Some(ADMINS_GROUP_ID), "Admins")
        .await
        .unwrap();
    assert_eq!(
        admins,
        Group {
            id: ADMINS_GROUP_ID,
            name: "Admins".into(),
            sid: None,
            gid: None,
        }
    );
    let users = users_group(store).await;
    assert_eq!(users.id, USERS_GROUP_ID);
    let custom = store.insert_group(None, "Engineering").await.unwrap();
    assert!(
        custom.id > USERS_GROUP_ID,
        "a group without an id gets one above the built-in ones; got {}",
        custom.id
    );
    assert_eq!(custom.name, "Engineering");
    let custom2 = store.insert_group(None, "Sales").await.unwrap();
    assert!(custom2.id > custom.id);

    assert!(
        is_conflict(store.insert_group(None, "engineering").await),
        "group names conflict case-insensitively"
    );
    assert!(
        is_conflict(store.insert_group(Some(USERS_GROUP_ID), "Other").await),
        "a taken group id is a conflict"
    );

    let listed = store.list_groups().await.unwrap();
    assert_eq!(
        sorted(listed.iter().map(|g| g.id).collect()),
        vec![ADMINS_GROUP_ID, USERS_GROUP_ID, custom.id, custom2.id]
    );
    assert!(listed.contains(&custom));
    assert_eq!(
        store.get_group(custom.id).await.unwrap(),
        Some(custom.clone())
    );
    assert_eq!(store.get_group(9999).await.unwrap(), None);

    assert!(store.delete_group(custom.id).await.unwrap());
    assert!(!store.delete_group(custom.id).await.unwrap());
    assert_eq!(store.get_group(custom.id).await.unwrap(), None);
    assert_eq!(store.list_groups().await.unwrap().len(), 3);
}

pub(crate) async fn groups_ids_start_above_builtin_in_empty_store(store: &dyn Store) {
    let first = store.insert_group(None, "First").await.unwrap();
    assert!(
        first.id > GUESTS_GROUP_ID,
        "ids up to {GUESTS_GROUP_ID} are for built-in groups; got {}",
        first.id
    );
    let second = store.insert_group(None, "Second").await.unwrap();
    assert!(second.id > first.id);
    // The built-in ids stay free for bootstrap.
    for (id, name) in [
        (ADMINS_GROUP_ID, "Admins"),
        (USERS_GROUP_ID, "Users"),
        (GUESTS_GROUP_ID, "Guests"),
    ] {
        assert_eq!(store.insert_group(Some(id), name).await.unwrap().id, id);
    }
}

pub(crate) async fn groups_membership(store: &dyn Store) {
    let u = one_user(store, "ivy").await;
    let extra = store.insert_group(None, "Extra").await.unwrap();
    let empty = store.insert_group(None, "Empty").await.unwrap();
    let v = store
        .insert_user(&new_user("jack", USERS_GROUP_ID), at(0))
        .await
        .unwrap();

    assert_eq!(
        sorted(store.group_members(USERS_GROUP_ID).await.unwrap()),
        sorted(vec![u.id, v.id]),
        "a new user is a member of its primary group"
    );
    let ug = store.user_groups(u.id).await.unwrap();
    assert_eq!(
        ug.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![USERS_GROUP_ID]
    );
    assert_eq!(ug[0].name, "Users");

    store.add_group_member(extra.id, u.id).await.unwrap();
    store
        .add_group_member(extra.id, u.id)
        .await
        .expect("adding a member twice is not an error");
    assert_eq!(store.group_members(extra.id).await.unwrap(), vec![u.id]);
    assert_eq!(
        sorted(
            store
                .user_groups(u.id)
                .await
                .unwrap()
                .into_iter()
                .map(|g| g.id)
                .collect()
        ),
        sorted(vec![USERS_GROUP_ID, extra.id])
    );
    assert!(store.group_members(empty.id).await.unwrap().is_empty());
    assert!(store
        .user_groups(u.id + v.id + 1000)
        .await
        .unwrap()
        .is_empty());

    assert!(
        is_not_found(store.add_group_member(9999, u.id).await),
        "adding to an unknown group is NotFound"
    );
    assert!(
        is_not_found(store.add_group_member(extra.id, u.id + v.id + 1000).await),
        "adding an unknown user is NotFound"
    );

    assert!(store.remove_group_member(extra.id, u.id).await.unwrap());
    assert!(!store.remove_group_member(extra.id, u.id).await.unwrap());
    assert!(store.group_members(extra.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .user_groups(u.id)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        vec![USERS_GROUP_ID]
    );

    // Deleting a group drops its memberships.
    store.add_group_member(extra.id, v.id).await.unwrap();
    assert!(store.delete_group(extra.id).await.unwrap());
    assert_eq!(
        store
            .user_groups(v.id)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        vec![USERS_GROUP_ID]
    );
}

// ---------------------------------------------------------------------------------------
// Roles

pub(crate) async fn roles_put_list_delete(store: &dyn Store) {
    let ops = role(
        "Operators",
        &[Privilege::SESSION_READ, Privilege::SESSION_WRITE],
    );
    let obs = Role {
        builtin: true,
        ..role(
            "Observers",
            &[Privilege::SESSION_READ, Privilege::AUDIT_READ],
        )
    };
    store.put_role(&ops).await.unwrap();
    store.put_role(&obs).await.unwrap();
    let find = |name: &'static str| async move {
        store
            .list_roles()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.name == name)
    };
    assert_eq!(store.list_roles().await.unwrap().len(), 2);
    assert_eq!(find("Operators").await, Some(ops.clone()));
    assert_eq!(find("Observers").await, Some(obs.clone()));

    // Putting again replaces the description and the privileges.
    let ops2 = Role {
        description: "changed".into(),
        privileges: [Privilege::LOCAL_USER_READ].into_iter().collect(),
        ..ops.clone()
    };
    store.put_role(&ops2).await.unwrap();
    assert_eq!(find("Operators").await, Some(ops2));
    assert_eq!(
        store.list_roles().await.unwrap().len(),
        2,
        "no duplicate role"
    );

    let none = Role {
        privileges: PrivilegeSet::new(),
        ..ops.clone()
    };
    store.put_role(&none).await.unwrap();
    assert_eq!(
        find("Operators").await.unwrap().privileges,
        PrivilegeSet::new()
    );

    // Deleting a role takes it away from its holders.
    let u = one_user(store, "kim").await;
    store
        .set_user_roles(u.id, &["Operators".into(), "Observers".into()])
        .await
        .unwrap();
    assert!(store.delete_role("Operators").await.unwrap());
    assert!(!store.delete_role("Operators").await.unwrap());
    assert!(!store.delete_role("Nope").await.unwrap());
    assert_eq!(find("Operators").await, None);
    assert_eq!(find("Observers").await, Some(obs));
    assert_eq!(
        store.get_user(u.id).await.unwrap().unwrap().roles,
        vec!["Observers".to_string()]
    );

    // A deleted role's name can be created again, without its old privileges.
    store.put_role(&role("Operators", &[])).await.unwrap();
    assert!(find("Operators").await.unwrap().privileges.is_empty());
}

// ---------------------------------------------------------------------------------------
// Sessions

pub(crate) async fn sessions_insert_and_lookup(store: &dyn Store) {
    let u = one_user(store, "lena").await;
    let login = at(1000) + Duration::microseconds(654_321);
    let full = Session {
        id: "sess-full".into(),
        user_id: u.id,
        server: "fs-01".into(),
        client_name: "10.0.0.7".into(),
        client_type: "SMB".into(),
        console_type: console_type::COMMAND_LINE,
        transport: Some("tcp".into()),
        auth_method: AuthMethod::OnBehalfOf,
        actor: Some("backup-app".into()),
        access_token_id: Some("tok-17".into()),
        browser_session_id: Some("br-9".into()),
        login_time: login,
        last_active: login + Duration::microseconds(1),
        expires_at: Some(login + Duration::hours(8)),
        logout_time: None,
        end_reason: None,
        num_opens: 42,
        user_flags: 3,
        shares: vec!["home".into(), "projects".into()],
        idle_timeout: None,
    };
    insert_session(store, &full).await;
    assert_eq!(
        get_session(store, "sess-full").await,
        full,
        "every field round-trips"
    );
    assert_eq!(
        store.session_by_token(&token("sess-full")).await.unwrap(),
        Some(full.clone())
    );

    // An already-ended session is stored as such.
    let ended = Session {
        logout_time: Some(at(1100)),
        end_reason: Some(EndReason::ClosedByServer),
        auth_method: AuthMethod::Reported,
        ..session("sess-ended", u.id, at(1001))
    };
    insert_session(store, &ended).await;
    assert_eq!(get_session(store, "sess-ended").await, ended);
    assert!(!get_session(store, "sess-ended").await.is_active());

    assert_eq!(store.get_session("nope").await.unwrap(), None);
    assert_eq!(store.session_by_token(&token("nope")).await.unwrap(), None);
    assert_eq!(
        store
            .session_by_token(&TokenHash::of("sess-full"))
            .await
            .unwrap(),
        None,
        "lookup is by the token's hash only"
    );
}

pub(crate) async fn sessions_insert_conflicts_and_references(store: &dyn Store) {
    let u = one_user(store, "mia").await;
    insert_session(store, &session("s1", u.id, at(0))).await;
    assert!(
        is_conflict(
            store
                .insert_session(&session("s1", u.id, at(1)), &token("other"))
                .await
        ),
        "a taken session id is a conflict"
    );
    assert!(
        is_conflict(
            store
                .insert_session(&session("s2", u.id, at(1)), &token("s1"))
                .await
        ),
        "a taken token hash is a conflict"
    );
    assert!(
        is_not_found(
            store
                .insert_session(&session("s3", u.id + 1000, at(1)), &token("s3"))
                .await
        ),
        "a session of an unknown user is NotFound"
    );
    let all = store
        .list_sessions(&SessionFilter {
            state: SessionState::All,
            ..SessionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&all), vec!["s1"]);
    assert_eq!(get_session(store, "s1").await.login_time, at(0));
}

pub(crate) async fn sessions_list_filters(store: &dyn Store) {
    let a = one_user(store, "nina").await;
    let b = store
        .insert_user(&new_user("omar", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    let mk = |id: &str, user: UserId, login: i64, server: &str, client: &str| Session {
        server: server.into(),
        client_name: client.into(),
        ..session(id, user, at(login))
    };
    // Inserted out of login order, so that "newest first" is not insertion order.
    insert_session(store, &mk("a2", a.id, 20, "srv-1", "Host-A")).await;
    insert_session(store, &mk("a1", a.id, 10, "srv-1", "host-b")).await;
    insert_session(store, &mk("a4", a.id, 40, "srv-2", "host-a")).await;
    insert_session(store, &mk("b3", b.id, 30, "srv-1", "HOST-A")).await;
    insert_session(store, &mk("b5", b.id, 50, "srv-2", "host-c")).await;
    assert!(store
        .end_session("a4", at(45), EndReason::Logout)
        .await
        .unwrap());

    let list = |f: SessionFilter| async move { store.list_sessions(&f).await.unwrap() };
    let all = SessionFilter {
        state: SessionState::All,
        ..SessionFilter::default()
    };

    assert_eq!(
        ids(&list(all.clone()).await),
        vec!["b5", "a4", "b3", "a2", "a1"],
        "newest (by login time) first"
    );
    assert_eq!(
        ids(&list(SessionFilter::default()).await),
        vec!["b5", "b3", "a2", "a1"],
        "the default state is active"
    );
    assert_eq!(
        ids(&list(SessionFilter {
            state: SessionState::Active,
            ..SessionFilter::default()
        })
        .await),
        vec!["b5", "b3", "a2", "a1"]
    );
    assert_eq!(
        ids(&list(SessionFilter {
            state: SessionState::Ended,
            ..SessionFilter::default()
        })
        .await),
        vec!["a4"]
    );
    assert_eq!(
        ids(&list(SessionFilter {
            user_id: Some(a.id),
            ..all.clone()
        })
        .await),
        vec!["a4", "a2", "a1"]
    );
    assert_eq!(
        ids(&list(SessionFilter {
            user_id: Some(b.id),
            state: SessionState::Active,
            ..SessionFilter::default()
        })
        .await),
        vec!["b5", "b3"]
    );
    assert_eq!(
        ids(&list(SessionFilter {
            server: Some("srv-2".into()),
            ..all.clone()
        })
        .await),
        vec!["b5", "a4"]
    );
    assert_eq!(
        ids(&list(SessionFilter {
            client_name: Some("host-a".into()),
            ..all.clone()
        })
        .await),
        vec!["a4", "b3", "a2"],
        "the client name matches case-insensitively"
    );
    assert_eq!(
        ids(&list(SessionFilter {
            client_name: Some("HOST-a".into()),
            server: Some("srv-1".into()),
            user_id: Some(b.id),
            ..all.clone()
        })
        .await),
        vec!["b3"],
        "filters combine"
    );
    assert!(list(SessionFilter {
        client_name: Some("host".into()),
        ..all.clone()
    })
    .await
    .is_empty());
    assert!(list(SessionFilter {
        user_id: Some(a.id + b.id + 1000),
        ..all.clone()
    })
    .await
    .is_empty());

    assert_eq!(
        ids(&list(SessionFilter {
            limit: Some(2),
            ..all.clone()
        })
        .await),
        vec!["b5", "a4"],
        "the limit keeps the newest"
    );
    assert_eq!(
        ids(&list(SessionFilter {
            limit: Some(1),
            user_id: Some(a.id),
            state: SessionState::Active,
            ..SessionFilter::default()
        })
        .await),
        vec!["a2"],
        "the limit applies after the filters"
    );
    assert_eq!(
        list(SessionFilter {
            limit: Some(100),
            ..all.clone()
        })
        .await
        .len(),
        5
    );
}

pub(crate) async fn sessions_end_only_once(store: &dyn Store) {
    let u = one_user(store, "pia").await;
    insert_session(store, &session("s", u.id, at(0))).await;
    insert_session(store, &session("other", u.id, at(0))).await;
    let end = at(60) + Duration::microseconds(250);

    assert!(store
        .end_session("s", end, EndReason::Logout)
        .await
        .unwrap());
    let s = get_session(store, "s").await;
    assert_eq!(s.logout_time, Some(end));
    assert_eq!(s.end_reason, Some(EndReason::Logout));
    assert!(!s.is_active());

    assert!(
        !store
            .end_session("s", at(120), EndReason::Revoked)
            .await
            .unwrap(),
        "an ended session is not ended again"
    );
    let s = get_session(store, "s").await;
    assert_eq!(s.logout_time, Some(end), "the first end stands");
    assert_eq!(s.end_reason, Some(EndReason::Logout));

    assert!(!store
        .end_session("nope", end, EndReason::Logout)
        .await
        .unwrap());
    assert!(
        get_session(store, "other").await.is_active(),
        "other sessions are untouched"
    );
    assert_eq!(
        store
            .session_by_token(&token("s"))
            .await
            .unwrap()
            .unwrap()
            .end_reason,
        Some(EndReason::Logout)
    );
}

pub(crate) async fn sessions_end_user_sessions_except(store: &dyn Store) {
    let u = one_user(store, "quinn").await;
    let other = store
        .insert_user(&new_user("rosa", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    for id in ["u1", "u2", "u3", "u4"] {
        insert_session(store, &session(id, u.id, at(0))).await;
    }
    insert_session(store, &session("o1", other.id, at(0))).await;
    assert!(store
        .end_session("u4", at(5), EndReason::Logout)
        .await
        .unwrap());

    let ended = store
        .end_user_sessions(u.id, Some("u2"), at(10), EndReason::Revoked)
        .await
        .unwrap();
    assert_eq!(
        sorted(ended),
        vec!["u1", "u3"],
        "only active sessions, but `except`"
    );
    for id in ["u1", "u3"] {
        let s = get_session(store, id).await;
        assert_eq!(s.logout_time, Some(at(10)));
        assert_eq!(s.end_reason, Some(EndReason::Revoked));
    }
    assert!(
        get_session(store, "u2").await.is_active(),
        "`except` is kept"
    );
    let u4 = get_session(store, "u4").await;
    assert_eq!(
        (u4.logout_time, u4.end_reason),
        (Some(at(5)), Some(EndReason::Logout)),
        "already-ended sessions keep their end"
    );
    assert!(
        get_session(store, "o1").await.is_active(),
        "other users are untouched"
    );

    let ended = store
        .end_user_sessions(u.id, None, at(20), EndReason::Logout)
        .await
        .unwrap();
    assert_eq!(ended, vec!["u2"]);
    assert_eq!(get_session(store, "u2").await.logout_time, Some(at(20)));
    assert!(store
        .end_user_sessions(u.id, None, at(30), EndReason::Logout)
        .await
        .unwrap()
        .is_empty());
    assert!(get_session(store, "o1").await.is_active());
}

pub(crate) async fn sessions_record_activity_latest_wins(store: &dyn Store) {
    let u = one_user(store, "sam").await;
    insert_session(store, &session("s1", u.id, at(0))).await;
    insert_session(store, &session("s2", u.id, at(0))).await;
    insert_session(store, &session("s3", u.id, at(0))).await;
    let act = |id: &str, t: OffsetDateTime| Activity {
        session_id: id.to_owned(),
        last_active: t,
    };
    let newer = at(100) + Duration::microseconds(999_999);

    store
        .record_activity(&[act("s1", newer), act("s2", at(50))])
        .await
        .unwrap();
    assert_eq!(get_session(store, "s1").await.last_active, newer);
    assert_eq!(get_session(store, "s2").await.last_active, at(50));
    assert_eq!(
        get_session(store, "s3").await.last_active,
        at(0),
        "untouched"
    );

    // An older instant never overwrites a newer one, in a later batch or the same one.
    store
        .record_activity(&[act("s1", at(60)), act("s2", at(70)), act("s2", at(65))])
        .await
        .unwrap();
    assert_eq!(
        get_session(store, "s1").await.last_active,
        newer,
        "latest wins"
    );
    assert_eq!(get_session(store, "s2").await.last_active, at(70));

    // Unknown sessions (purged or deleted meanwhile) do not fail the batch.
    store
        .record_activity(&[act("gone", at(200)), act("s3", at(200))])
        .await
        .expect("unknown ids are skipped");
    assert_eq!(get_session(store, "s3").await.last_active, at(200));

    store
        .record_activity(&[])
        .await
        .expect("an empty batch is fine");
    assert_eq!(
        get_session(store, "s1").await.login_time,
        at(0),
        "login time is kept"
    );
}

pub(crate) async fn sessions_end_stale_expired_and_idle(store: &dyn Store) {
    let u = one_user(store, "tara").await;
    let now = at(10_000);
    let idle_before = now - Duration::minutes(30);
    let s = |id: &str, last_active: OffsetDateTime, expires_at: Option<OffsetDateTime>| Session {
        last_active,
        expires_at,
        ..session(id, u.id, at(0))
    };
    // Expiry is inclusive (a session is expired from `expires_at` on), like the core's rule.
    insert_session(store, &s("expired", now, Some(now - Duration::seconds(1)))).await;
    insert_session(store, &s("expires-now", now, Some(now))).await;
    insert_session(
        store,
        &s("expires-later", now, Some(now + Duration::microseconds(1))),
    )
    .await;
    // Idle is inclusive too: last active at the cutoff is idle (`now - last >= timeout`).
    insert_session(store, &s("idle", idle_before - Duration::seconds(1), None)).await;
    insert_session(store, &s("idle-at-cutoff", idle_before, None)).await;
    insert_session(
        store,
        &s("recent", idle_before + Duration::microseconds(1), None),
    )
    .await;
    // Both expired and idle: ended once, as expired.
    insert_session(
        store,
        &s(
            "both",
            idle_before - Duration::hours(1),
            Some(now - Duration::hours(1)),
        ),
    )
    .await;
    // Already ended: never ended again.
    insert_session(
        store,
        &Session {
            logout_time: Some(at(5)),
            end_reason: Some(EndReason::Logout),
            ..s("ended", at(0), Some(at(1)))
        },
    )
    .await;

    let mut got = store
        .end_stale_sessions(now, Some(idle_before))
        .await
        .unwrap();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        (vec![
            ("both".to_string(), EndReason::Expired),
            ("expired".to_string(), EndReason::Expired),
            ("expires-now".to_string(), EndReason::Expired),
            ("idle".to_string(), EndReason::Idle),
            ("idle-at-cutoff".to_string(), EndReason::Idle),
        ])
    );
    for (id, why) in &got {
        let s = get_session(store, id).await;
        assert_eq!(s.end_reason, Some(*why), "{id}");
        let logout = s
            .logout_time
            .unwrap_or_else(|| panic!("{id} has a logout time"));
        assert!(logout <= now, "{id} ended in the future");
    }
    assert_eq!(get_session(store, "idle").await.logout_time, Some(now));
    for id in ["expires-later", "recent"] {
        assert!(
            get_session(store, id).await.is_active(),
            "{id} stays active"
        );
    }
    let ended = get_session(store, "ended").await;
    assert_eq!(
        (ended.logout_time, ended.end_reason),
        (Some(at(5)), Some(EndReason::Logout))
    );

    // A second sweep finds nothing new.
    assert!(store
        .end_stale_sessions(now, Some(idle_before))
        .await
        .unwrap()
        .is_empty());

    // Without an idle cutoff only expiry counts.
    insert_session(store, &s("old-idle", at(0), None)).await;
    insert_session(store, &s("expired-2", now, Some(now))).await;
    assert_eq!(
        store.end_stale_sessions(now, None).await.unwrap(),
        vec![("expired-2".to_string(), EndReason::Expired)]
    );
    assert!(get_session(store, "old-idle").await.is_active());
}

/// A session opened under a role's idle time-out is swept by it, whatever the server's;
/// an admin's new end replaces the stored one, only while the session is active.
pub(crate) async fn sessions_idle_by_their_own_time_out_and_expiry_moved(store: &dyn Store) {
    let u = one_user(store, "ivy").await;
    let now = at(10_000);
    let server_cutoff = now - Duration::minutes(30);
    let with_idle = |id: &str, last: OffsetDateTime, idle: i64| Session {
        last_active: last,
        idle_timeout: Some(Duration::minutes(idle)),
        ..session(id, u.id, at(0))
    };
    // Idle 10 minutes under a 5-minute time-out: ended, though the server's is 30.
    insert_session(store, &with_idle("short", now - Duration::minutes(10), 5)).await;
    // Idle 40 minutes under a 60-minute time-out: kept, though past the server's.
    insert_session(store, &with_idle("long", now - Duration::minutes(40), 60)).await;
    // At exactly its time-out: ended.
    insert_session(store, &with_idle("edge", now - Duration::minutes(5), 5)).await;
    let mut got = store
        .end_stale_sessions(now, Some(server_cutoff))
        .await
        .unwrap();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("edge".to_string(), EndReason::Idle),
            ("short".to_string(), EndReason::Idle)
        ]
    );
    let long = get_session(store, "long").await;
    assert!(long.is_active());
    assert_eq!(long.idle_timeout, Some(Duration::minutes(60)), "read back");

    assert!(store
        .set_session_expiry("long", Some(at(20_000)))
        .await
        .unwrap());
    assert_eq!(
        get_session(store, "long").await.expires_at,
        Some(at(20_000))
    );
    assert!(store.set_session_expiry("long", None).await.unwrap());
    assert_eq!(get_session(store, "long").await.expires_at, None);
    assert!(
        !store
            .set_session_expiry("short", Some(at(20_000)))
            .await
            .unwrap(),
        "ended"
    );
    assert!(!store.set_session_expiry("nope", None).await.unwrap());
}

/// A role's policy is stored beside it: replacing the role keeps it, clearing empties it,
/// and an unknown role has none.
pub(crate) async fn roles_policy_kept_apart_from_the_role(store: &dyn Store) {
    let ops = role("Operators", &[Privilege::SESSION_READ]);
    store.put_role(&ops).await.unwrap();
    let policy = RolePolicy {
        idle_timeout: Some(Duration::minutes(5)),
        lifetime: Some(Duration::hours(2)),
        max_sessions: Some(3),
    };
    assert!(store.set_role_policy("Operators", &policy).await.unwrap());
    let find = || async {
        store
            .list_roles()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.name == "Operators")
            .unwrap()
    };
    assert_eq!(find().await.policy, policy);
    // Built-in roles are written again at every start: the policy stays.
    store.put_role(&ops).await.unwrap();
    assert_eq!(find().await.policy, policy);
    let only_cap = RolePolicy {
        max_sessions: Some(1),
        ..RolePolicy::default()
    };
    assert!(store.set_role_policy("Operators", &only_cap).await.unwrap());
    assert_eq!(find().await.policy, only_cap);
    assert!(store
        .set_role_policy("Operators", &RolePolicy::default())
        .await
        .unwrap());
    assert!(find().await.policy.is_empty());
    assert!(!store.set_role_policy("Nobody", &policy).await.unwrap());
}

pub(crate) async fn sessions_end_stale_never_idles_reported(store: &dyn Store) {
    let u = one_user(store, "uma").await;
    let now = at(10_000);
    let idle_before = now - Duration::minutes(30);
    let reported = Session {
        auth_method: AuthMethod::Reported,
        last_active: at(0),
        ..session("reported", u.id, at(0))
    };
    insert_session(store, &reported).await;
    insert_session(store, &session("local", u.id, at(0))).await;

    assert_eq!(
        store
            .end_stale_sessions(now, Some(idle_before))
            .await
            .unwrap(),
        vec![("local".to_string(), EndReason::Idle)]
    );
    assert!(
        get_session(store, "reported").await.is_active(),
        "reported sessions are never ended as idle"
    );
    assert_eq!(
        get_session(store, "local").await.end_reason,
        Some(EndReason::Idle)
    );
}

pub(crate) async fn sessions_purge_only_old_ended(store: &dyn Store) {
    let u = one_user(store, "vic").await;
    let ended = |id: &str, logout: OffsetDateTime| Session {
        logout_time: Some(logout),
        end_reason: Some(EndReason::Logout),
        ..session(id, u.id, at(0))
    };
    let cutoff = at(1000);
    insert_session(store, &ended("old", cutoff - Duration::seconds(1))).await;
    insert_session(store, &ended("older", at(1))).await;
    insert_session(store, &ended("at-cutoff", cutoff)).await;
    insert_session(store, &ended("newer", cutoff + Duration::seconds(1))).await;
    // Active sessions are never purged, however old.
    insert_session(store, &session("active-old", u.id, at(0))).await;

    assert_eq!(store.purge_sessions(cutoff).await.unwrap(), 2);
    assert!(store.get_session("old").await.unwrap().is_none());
    assert!(store.get_session("older").await.unwrap().is_none());
    assert!(store
        .session_by_token(&token("old"))
        .await
        .unwrap()
        .is_none());
    let left = store
        .list_sessions(&SessionFilter {
            state: SessionState::All,
            ..SessionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        sorted(ids(&left)),
        vec!["active-old", "at-cutoff", "newer"],
        "only sessions that ended before the cutoff go"
    );
    assert_eq!(store.purge_sessions(cutoff).await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------
// Audit

pub(crate) async fn audit_append_and_list(store: &dyn Store) {
    assert!(store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .is_empty());
    let full = AuditEvent {
        id: 0,
        time: at(10) + Duration::microseconds(42),
        kind: AuditKind::Login,
        actor_id: Some(500),
        actor_name: Some("admin".into()),
        session_id: Some("sess-1".into()),
        client: Some("10.1.2.3".into()),
        subject: Some("user:500".into()),
        detail: "logged in".into(),
    };
    store.append_audit(&full).await.unwrap();
    store
        .append_audit(&event(at(20), AuditKind::Logout, None, "second"))
        .await
        .unwrap();
    store
        .append_audit(&event(at(30), AuditKind::Denied, Some(501), "third"))
        .await
        .unwrap();

    let all = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        details(&all),
        vec!["third", "second", "logged in"],
        "newest first"
    );
    let first = &all[2];
    assert_eq!(
        AuditEvent {
            id: 0,
            ..first.clone()
        },
        full,
        "every field round-trips"
    );
    let second = &all[1];
    assert_eq!(
        (
            second.actor_id,
            second.actor_name.as_deref(),
            second.session_id.as_deref()
        ),
        (None, None, None)
    );
    let mut event_ids = sorted(all.iter().map(|e| e.id).collect::<Vec<i64>>());
    event_ids.dedup();
    assert_eq!(event_ids.len(), 3, "the store assigns distinct ids");
}

pub(crate) async fn audit_list_filters(store: &dyn Store) {
    let events = [
        event(at(10), AuditKind::Login, Some(501), "e1"),
        event(at(20), AuditKind::LoginFailed, None, "e2"),
        event(at(30), AuditKind::Login, Some(502), "e3"),
        event(at(40), AuditKind::UserCreated, Some(501), "e4"),
        event(at(50), AuditKind::Login, Some(501), "e5"),
    ];
    for e in &events {
        store.append_audit(e).await.unwrap();
    }
    let list = |f: AuditFilter| async move { store.list_audit(&f).await.unwrap() };

    assert_eq!(
        details(
            &list(AuditFilter {
                kind: Some(AuditKind::Login),
                ..AuditFilter::default()
            })
            .await
        ),
        vec!["e5", "e3", "e1"]
    );
    assert_eq!(
        details(
            &list(AuditFilter {
                actor_id: Some(501),
                ..AuditFilter::default()
            })
            .await
        ),
        vec!["e5", "e4", "e1"]
    );
    assert_eq!(
        details(
            &list(AuditFilter {
                since: Some(at(30)),
                ..AuditFilter::default()
            })
            .await
        ),
        vec!["e5", "e4", "e3"],
        "`since` is inclusive"
    );
    assert_eq!(
        details(
            &list(AuditFilter {
                limit: Some(2),
                ..AuditFilter::default()
            })
            .await
        ),
        vec!["e5", "e4"],
        "the limit keeps the newest"
    );
    assert_eq!(
        details(
            &list(AuditFilter {
                actor_id: Some(501),
                kind: Some(AuditKind::Login),
                since: Some(at(11)),
                limit: Some(10),
            })
            .await
        ),
        vec!["e5"],
        "filters combine"
    );
    assert_eq!(
        details(
            &list(AuditFilter {
                kind: Some(AuditKind::Login),
                limit: Some(1),
                ..AuditFilter::default()
            })
            .await
        ),
        vec!["e5"]
    );
    assert!(list(AuditFilter {
        kind: Some(AuditKind::Revoke),
        ..AuditFilter::default()
    })
    .await
    .is_empty());
    assert!(list(AuditFilter {
        since: Some(at(51)),
        ..AuditFilter::default()
    })
    .await
    .is_empty());
}

pub(crate) async fn audit_purge(store: &dyn Store) {
    for (secs, detail) in [(10, "e1"), (20, "e2"), (30, "e3"), (40, "e4")] {
        store
            .append_audit(&event(at(secs), AuditKind::Login, None, detail))
            .await
            .unwrap();
    }
    assert_eq!(
        store.purge_audit(at(30)).await.unwrap(),
        2,
        "strictly before"
    );
    assert_eq!(
        details(&store.list_audit(&AuditFilter::default()).await.unwrap()),
        vec!["e4", "e3"]
    );
    assert_eq!(store.purge_audit(at(30)).await.unwrap(), 0);
    assert_eq!(store.purge_audit(at(1000)).await.unwrap(), 2);
    assert!(store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .is_empty());
}

// ---------------------------------------------------------------------------------------
// Access tokens

fn access_token(id: &str, user: UserId, created: OffsetDateTime) -> AccessToken {
    AccessToken {
        id: id.to_owned(),
        user_id: user,
        creator_id: user,
        creation_time: created,
        expiration_time: None,
        enabled: true,
    }
}

pub(crate) async fn access_tokens_insert_lookup_update_delete(store: &dyn Store) {
    let u = one_user(store, "tok").await;
    let mut t = access_token(
        "1000000000000000000001",
        u.id,
        at(5) + Duration::microseconds(7),
    );
    t.expiration_time = Some(at(3600));
    let hash = TokenHash([9; 32]);
    store.insert_access_token(&t, &hash).await.unwrap();
    assert_eq!(
        store.access_token_by_hash(&hash).await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(
        store
            .access_token_by_hash(&TokenHash([8; 32]))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_access_token(&t.id).await.unwrap(),
        Some(t.clone())
    );
    assert!(is_conflict(
        store.insert_access_token(&t, &TokenHash([7; 32])).await
    ));
    assert!(is_conflict(
        store
            .insert_access_token(&access_token("1000000000000000000002", u.id, at(6)), &hash)
            .await
    ));

    // Disable, keep the expiration; then clear the expiration, keep enabled.
    let changed = store
        .update_access_token(&t.id, Some(false), None)
        .await
        .unwrap()
        .unwrap();
    assert!(!changed.enabled);
    assert_eq!(changed.expiration_time, Some(at(3600)));
    let changed = store
        .update_access_token(&t.id, None, Some(None))
        .await
        .unwrap()
        .unwrap();
    assert!(!changed.enabled);
    assert_eq!(changed.expiration_time, None);
    let changed = store
        .update_access_token(&t.id, Some(true), Some(Some(at(60))))
        .await
        .unwrap()
        .unwrap();
    assert!(changed.enabled);
    assert_eq!(changed.expiration_time, Some(at(60)));
    assert_eq!(
        store
            .update_access_token("nope", Some(true), None)
            .await
            .unwrap(),
        None
    );

    assert!(store.delete_access_token(&t.id).await.unwrap());
    assert!(!store.delete_access_token(&t.id).await.unwrap());
    assert_eq!(store.access_token_by_hash(&hash).await.unwrap(), None);

    // A user's tokens go with the user.
    store
        .insert_access_token(&access_token("1000000000000000000003", u.id, at(7)), &hash)
        .await
        .unwrap();
    store.delete_user(u.id).await.unwrap();
    assert_eq!(
        store
            .get_access_token("1000000000000000000003")
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn access_tokens_list_pages_by_id_and_user(store: &dyn Store) {
    let a = one_user(store, "a").await;
    let b = store
        .insert_user(&new_user("b", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    let ids = [
        ("1000000000000000000005", a.id),
        ("1000000000000000000001", b.id),
        ("9000000000000000000000", a.id),
        ("1000000000000000000003", a.id),
    ];
    for (n, (id, user)) in ids.iter().enumerate() {
        store
            .insert_access_token(
                &access_token(id, *user, at(n as i64)),
                &TokenHash([n as u8; 32]),
            )
            .await
            .unwrap();
    }
    let page = |user: Option<UserId>, after: Option<&str>, limit: u32| {
        let f = AccessTokenFilter {
            user_id: user,
            after: after.map(str::to_owned),
            limit,
        };
        async move {
            store
                .list_access_tokens(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        page(None, None, 10).await,
        [
            "1000000000000000000001",
            "1000000000000000000003",
            "1000000000000000000005",
            "9000000000000000000000"
        ]
    );
    assert_eq!(
        page(Some(a.id), None, 2).await,
        ["1000000000000000000003", "1000000000000000000005"]
    );
    assert_eq!(
        page(Some(a.id), Some("1000000000000000000005"), 2).await,
        ["9000000000000000000000"]
    );
    assert!(page(Some(a.id), Some("9000000000000000000000"), 2)
        .await
        .is_empty());
    assert_eq!(page(Some(b.id), None, 10).await, ["1000000000000000000001"]);
}

// ---------------------------------------------------------------------------------------
// Failed logins

pub(crate) async fn login_failures_count_within_a_window_and_lock(store: &dyn Store) {
    // Counted by name, whether or not a user has it.
    let name = "no-such-user";
    assert_eq!(store.login_locked_until(name).await.unwrap(), None);
    let count = |failures, addresses| LoginFailures {
        failures,
        addresses,
    };
    // Failures in one window count up, with the distinct addresses they came from...
    for (t, address, expect) in [
        (0, "10.0.0.1", count(1, 1)),
        (60, "10.0.0.1", count(2, 1)),
        (120, "10.0.0.2", count(3, 2)),
    ] {
        assert_eq!(
            store
                .record_login_failure(name, address, at(t), at(t - 900))
                .await
                .unwrap(),
            expect
        );
    }
    // ...failures older than the window are forgotten.
    assert_eq!(
        store
            .record_login_failure(name, "10.0.0.3", at(1000), at(100))
            .await
            .unwrap(),
        count(2, 2)
    );
    // Other names are counted apart.
    assert_eq!(
        store
            .record_login_failure("other", "10.0.0.1", at(1000), at(100))
            .await
            .unwrap(),
        count(1, 1)
    );
    store.lock_login(name, at(3800)).await.unwrap();
    assert_eq!(
        store.login_locked_until(name).await.unwrap(),
        Some(at(3800))
    );
    assert_eq!(
        store.list_login_locks(at(3000)).await.unwrap(),
        vec![(name.to_owned(), at(3800))]
    );
    assert!(store.list_login_locks(at(3800)).await.unwrap().is_empty());
    store.clear_login_failures(name).await.unwrap();
    assert_eq!(store.login_locked_until(name).await.unwrap(), None);
    assert_eq!(
        store
            .record_login_failure(name, "10.0.0.1", at(4000), at(3100))
            .await
            .unwrap(),
        count(1, 1)
    );
    // The sweep forgets old failures and ended locks.
    store.lock_login("other", at(2000)).await.unwrap();
    assert_eq!(store.purge_login_failures(at(3000)).await.unwrap(), 2);
    assert_eq!(store.login_locked_until("other").await.unwrap(), None);
    assert_eq!(
        store
            .record_login_failure(name, "10.0.0.1", at(4001), at(3101))
            .await
            .unwrap(),
        count(2, 1),
        "the recent failure survived the sweep"
    );
}

pub(crate) async fn users_names_by_ids(store: &dyn Store) {
    let a = one_user(store, "name-a").await;
    let b = store
        .insert_user(&new_user("name-b", USERS_GROUP_ID), at(0))
        .await
        .unwrap();
    let names = store.user_names(&[a.id, b.id, 999_999]).await.unwrap();
    assert_eq!(names.len(), 2, "unknown ids are left out");
    assert_eq!(names[&a.id], "name-a");
    assert_eq!(names[&b.id], "name-b");
    assert!(store.user_names(&[]).await.unwrap().is_empty());
    // More ids than one query binds.
    let many: Vec<UserId> = (0..1200)
        .map(|i| if i == 600 { a.id } else { 10_000_000 + i })
        .collect();
    assert_eq!(store.user_names(&many).await.unwrap().len(), 1);
}

pub(crate) async fn sessions_insert_many_in_one_go(store: &dyn Store) {
    let u = one_user(store, "many").await;
    let batch: Vec<(Session, TokenHash)> = (0..50u8)
        .map(|i| {
            (
                session(&format!("bulk-{i}"), u.id, at(i as i64)),
                TokenHash([100 + i; 32]),
            )
        })
        .collect();
    store.insert_sessions(&batch).await.unwrap();
    for (s, token) in &batch {
        assert_eq!(
            store.session_by_token(token).await.unwrap().as_ref(),
            Some(s)
        );
    }
    // All or nothing: a batch with a duplicate id inserts none of it.
    let bad = vec![
        (session("bulk-new", u.id, at(0)), TokenHash([200; 32])),
        (session("bulk-0", u.id, at(0)), TokenHash([201; 32])),
    ];
    assert!(store.insert_sessions(&bad).await.is_err());
    assert_eq!(
        store.session_by_token(&TokenHash([200; 32])).await.unwrap(),
        None
    );
}

pub(crate) async fn sessions_active_in_pages_by_id(store: &dyn Store) {
    let u = one_user(store, "warm").await;
    for id in ["w-c", "w-a", "w-ended", "w-b", "w-reported"] {
        let mut s = session(id, u.id, at(0));
        if id == "w-reported" {
            s.auth_method = AuthMethod::Reported;
        }
        insert_session(store, &s).await;
    }
    store
        .end_session("w-ended", at(5), EndReason::Logout)
        .await
        .unwrap();
    let page = |after: &'static str, limit| async move {
        store
            .active_sessions_after(after, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|(s, hash)| {
                assert_eq!(hash, token(&s.id), "each with its own token hash");
                s.id
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(page("", 2).await, ["w-a", "w-b"]);
    assert_eq!(page("w-b", 2).await, ["w-c"]);
    assert!(page("w-c", 2).await.is_empty());
    assert_eq!(
        store.active_sessions_after("", 10).await.unwrap()[0].0,
        get_session(store, "w-a").await,
        "the whole session"
    );
}

pub(crate) async fn sessions_by_many_tokens_in_one_query(store: &dyn Store) {
    let u = one_user(store, "many-tokens").await;
    for id in ["t-a", "t-b", "t-ended"] {
        insert_session(store, &session(id, u.id, at(0))).await;
    }
    store
        .end_session("t-ended", at(5), EndReason::Logout)
        .await
        .unwrap();
    let asked = [
        token("t-b"),
        TokenHash([7; 32]), // nobody's
        token("t-ended"),
        token("t-a"),
    ];
    let mut found: Vec<(String, TokenHash)> = store
        .sessions_by_tokens(&asked)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, t)| (s.id, t))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        found,
        [
            ("t-a".to_owned(), token("t-a")),
            ("t-b".to_owned(), token("t-b")),
            ("t-ended".to_owned(), token("t-ended")),
        ],
        "every state, each with its own token"
    );
    assert_eq!(
        store.sessions_by_tokens(&[token("t-a")]).await.unwrap()[0].0,
        get_session(store, "t-a").await
    );
    assert!(store.sessions_by_tokens(&[]).await.unwrap().is_empty());
}

pub(crate) async fn sessions_token_replaced_only_while_active(store: &dyn Store) {
    let u = one_user(store, "renew").await;
    let s = session("renewed", u.id, at(0));
    store.insert_session(&s, &TokenHash([1; 32])).await.unwrap();
    assert!(store
        .replace_session_token("renewed", &TokenHash([2; 32]))
        .await
        .unwrap());
    assert_eq!(
        store.session_by_token(&TokenHash([1; 32])).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .session_by_token(&TokenHash([2; 32]))
            .await
            .unwrap()
            .map(|s| s.id),
        Some("renewed".to_owned())
    );
    assert!(!store
        .replace_session_token("nope", &TokenHash([3; 32]))
        .await
        .unwrap());
    store
        .end_session("renewed", at(5), EndReason::Logout)
        .await
        .unwrap();
    assert!(!store
        .replace_session_token("renewed", &TokenHash([4; 32]))
        .await
        .unwrap());
    assert!(store
        .session_by_token(&TokenHash([2; 32]))
        .await
        .unwrap()
        .is_some());
}

// ---------------------------------------------------------------------------------------
// RSA keys and apps

pub(crate) async fn user_keys_insert_list_delete(store: &dyn Store) {
    let u = one_user(store, "bot").await;
    let key = |id: &str, t: i64| UserPublicKey {
        id: id.to_owned(),
        user_id: u.id,
        public_key: format!("-----BEGIN PUBLIC KEY-----\n{id}\n-----END PUBLIC KEY-----\n"),
        created_at: at(t),
    };
    store.insert_user_key(&key("k2", 2)).await.unwrap();
    store.insert_user_key(&key("k1", 1)).await.unwrap();
    assert!(is_conflict(store.insert_user_key(&key("k1", 3)).await));
    let listed = store.list_user_keys(u.id).await.unwrap();
    assert_eq!(listed, vec![key("k1", 1), key("k2", 2)]);
    assert!(store.list_user_keys(u.id + 1).await.unwrap().is_empty());
    assert!(
        !store.delete_user_key(u.id + 1, "k1").await.unwrap(),
        "another user's key"
    );
    assert!(store.delete_user_key(u.id, "k1").await.unwrap());
    assert!(!store.delete_user_key(u.id, "k1").await.unwrap());
    store.delete_user(u.id).await.unwrap();
    assert!(store.list_user_keys(u.id).await.unwrap().is_empty());
}

pub(crate) async fn apps_insert_update_delete_and_sessions(store: &dyn Store) {
    let u = one_user(store, "acted-for").await;
    let mut app = App {
        app_id: "my-app".into(),
        name: "My App".into(),
        public_key: "PEM".into(),
        permissions: vec!["GET_BASIC_USER_INFO".into()],
        users: vec![u.id],
        enabled: true,
        created_at: at(1) + Duration::microseconds(3),
    };
    store.insert_app(&app).await.unwrap();
    assert!(is_conflict(store.insert_app(&app).await));
    assert_eq!(store.get_app("my-app").await.unwrap(), Some(app.clone()));
    assert_eq!(store.get_app("other").await.unwrap(), None);
    app.permissions.push("GET_EXTENDED_USER_INFO".into());
    app.users = vec![];
    app.enabled = false;
    app.name = "Renamed".into();
    assert!(store.update_app(&app).await.unwrap());
    assert_eq!(store.get_app("my-app").await.unwrap(), Some(app.clone()));
    let mut other = app.clone();
    other.app_id = "other".into();
    assert!(!store.update_app(&other).await.unwrap());
    store.insert_app(&other).await.unwrap();
    let ids: Vec<String> = store
        .list_apps()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.app_id)
        .collect();
    assert_eq!(ids, ["my-app", "other"]);

    let h = TokenHash([4; 32]);
    store
        .insert_app_session(&h, "my-app", at(10), at(20))
        .await
        .unwrap();
    assert_eq!(
        store.app_session(&h).await.unwrap(),
        Some(("my-app".to_owned(), at(20)))
    );
    assert_eq!(store.app_session(&TokenHash([5; 32])).await.unwrap(), None);
    assert!(store
        .insert_app_session(&TokenHash([6; 32]), "ghost", at(10), at(20))
        .await
        .is_err());
    // An app's sessions go with the app.
    assert!(store.delete_app("my-app").await.unwrap());
    assert!(!store.delete_app("my-app").await.unwrap());
    assert_eq!(store.app_session(&h).await.unwrap(), None);
}

pub(crate) async fn sessions_reported_changes_and_known_servers(store: &dyn Store) {
    let u = one_user(store, "smb").await;
    let mut s = session("rep", u.id, at(0));
    s.server = "FileSrv01".into();
    s.auth_method = AuthMethod::Reported;
    s.num_opens = 1;
    store.insert_session(&s, &TokenHash([3; 32])).await.unwrap();
    assert!(store.server_known("filesrv01").await.unwrap());
    assert!(!store.server_known("filesrv02").await.unwrap());
    let change = ReportedChange {
        num_opens: Some(7),
        shares: Some(vec!["data".into(), "home".into()]),
        ..ReportedChange::default()
    };
    assert!(store
        .update_reported_session("rep", &change, at(30))
        .await
        .unwrap());
    let got = get_session(store, "rep").await;
    assert_eq!(
        (got.num_opens, got.shares.clone()),
        (7, vec!["data".to_owned(), "home".to_owned()])
    );
    assert_eq!(got.client_type, s.client_type, "kept");
    assert_eq!(got.last_active, at(30));
    // An older report does not move activity back.
    store
        .update_reported_session("rep", &ReportedChange::default(), at(10))
        .await
        .unwrap();
    assert_eq!(get_session(store, "rep").await.last_active, at(30));
    assert!(!store
        .update_reported_session("nope", &change, at(40))
        .await
        .unwrap());
    store
        .end_session("rep", at(50), EndReason::ClosedByServer)
        .await
        .unwrap();
    assert!(!store
        .update_reported_session("rep", &change, at(60))
        .await
        .unwrap());
    assert!(
        store.server_known("FILESRV01").await.unwrap(),
        "ended sessions still count"
    );
}
