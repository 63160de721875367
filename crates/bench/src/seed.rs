//! Filling a fresh store (SQLite or a PostgreSQL schema) with N sessions over N / per_user
//! users, straight through the store (no password hash per session), before sessiond
//! starts on it.

use std::path::Path;
use std::sync::Arc;

use sessiond_core::model::{AuthMethod, NewUser, Session};
use sessiond_core::secret::Token;
use sessiond_core::{Core, CoreConfig, Store, SystemClock};
use sessiond_store::postgres::PostgresOptions;
use sessiond_store::{PostgresStore, SqliteStore};
use time::OffsetDateTime;

use crate::load::Identity;

pub const ADMIN_PASSWORD: &str = "bench-admin-password-1";

/// Fills the SQLite store in `data_dir`; see `fill`. With `keep`, the identities are also
/// written beside it, and a later run with the same figures reads them back instead of
/// seeding again (a million sessions take minutes to seed).
pub async fn fill_sqlite(
    data_dir: &Path,
    sessions: usize,
    per_user: usize,
    keep: bool,
) -> Vec<Identity> {
    let kept = data_dir.join(format!("bench-identities-{sessions}-{per_user}"));
    if keep {
        if let Ok(text) = std::fs::read_to_string(&kept) {
            refresh(data_dir).await;
            return text
                .lines()
                .filter_map(|l| {
                    let (user, token) = l.split_once(' ')?;
                    Some(Identity {
                        token: token.to_owned(),
                        user_id: user.parse().ok()?,
                    })
                })
                .collect();
        }
        if data_dir.exists() {
            eprintln!(
                "sessiond-bench: {} holds another seeding; give an empty or new directory",
                data_dir.display()
            );
            std::process::exit(2);
        }
    }
    let store = Arc::new(SqliteStore::open(data_dir).await.expect("open the store"));
    let out = fill(store, sessions, per_user).await;
    if keep {
        let text: String = out
            .iter()
            .map(|i| format!("{} {}\n", i.user_id, i.token))
            .collect();
        std::fs::write(&kept, text).expect("write the identities");
    }
    private(data_dir);
    out
}

/// Fills the PostgreSQL schema `url` selects; see `fill`.
pub async fn fill_postgres(url: &str, sessions: usize, per_user: usize) -> Vec<Identity> {
    let store = PostgresStore::open(&PostgresOptions::new(url))
        .await
        .expect("open the PostgreSQL store");
    fill(Arc::new(store), sessions, per_user).await
}

/// Returns one identity per session, in an order that spreads users.
async fn fill(store: Arc<dyn Store>, sessions: usize, per_user: usize) -> Vec<Identity> {
    let core = Core::new(store.clone(), Arc::new(SystemClock), CoreConfig::default())
        .await
        .expect("core");
    core.bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let template = core
        .find_user_by_name("admin")
        .await
        .unwrap()
        .expect("admin");
    let users = sessions.div_ceil(per_user.max(1));
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        let u = NewUser {
            id: None,
            name: format!("bench{i}"),
            account_type: template.account_type,
            primary_group: template.primary_group,
            can_change_password: true,
            enabled: true,
            password_hash: None,
            profile: Default::default(),
            roles: vec!["Observers".into()],
            directory_dn: None,
        };
        ids.push(store.insert_user(&u, now).await.expect("user").id);
    }
    let mut identities = Vec::with_capacity(sessions);
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..sessions {
        let user_id = ids[i % users];
        let token = Token::generate().expect("randomness");
        batch.push((
            Session {
                id: format!("00000000-0000-4000-8000-{i:012x}"),
                user_id,
                server: "bench".into(),
                client_name: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                client_type: "sessiond-bench".into(),
                console_type: 19,
                transport: Some("HTTP".into()),
                auth_method: AuthMethod::Password,
                actor: None,
                access_token_id: None,
                browser_session_id: None,
                login_time: now,
                last_active: now,
                expires_at: Some(now + time::Duration::hours(8)),
                logout_time: None,
                end_reason: None,
                num_opens: 0,
                user_flags: 0,
                shares: vec![],
                idle_timeout: None,
            },
            token.hash(),
        ));
        identities.push(Identity {
            token: token.expose().to_owned(),
            user_id,
        });
        if batch.len() == batch.capacity() {
            store.insert_sessions(&batch).await.expect("sessions");
            batch.clear();
        }
    }
    store.insert_sessions(&batch).await.expect("sessions");
    store.close().await;
    identities
}

/// Makes a kept store's bench sessions live again, as if just logged in: since the last run
/// they may have gone idle, expired, or been ended by the sweep for it.
async fn refresh(data_dir: &Path) {
    use sqlx::Connection;
    let now = OffsetDateTime::now_utc();
    let micros = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000) as i64;
    let url = format!("sqlite://{}", data_dir.join("sessiond.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the kept store");
    sqlx::query(
        "UPDATE sessions SET login_time = $1, last_active = $1, expires_at = $2,
             logout_time = NULL, end_reason = NULL
         WHERE server = 'bench'",
    )
    .bind(micros(now))
    .bind(micros(now + time::Duration::hours(8)))
    .execute(&mut db)
    .await
    .expect("refresh the kept sessions");
}

/// What sessiond itself would have made private (it warns about anything else).
fn private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600));
    }
}
