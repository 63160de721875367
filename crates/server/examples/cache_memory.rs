//! What cached sessions cost: fills a fresh SQLite store with N sessions over M users
//! (directly, without a password hash per session), then asks "who is this?" for each
//! token: cache misses per second, then the resident memory the cache holds per session.
//!
//! ```text
//! cargo run --release -p sessiond-server --example cache_memory -- 100000 100
//! ```

use std::sync::Arc;
use std::time::Instant;

use sessiond_core::model::{AuthMethod, Session};
use sessiond_core::secret::Token;
use sessiond_core::{Core, CoreConfig, Store, SystemClock};
use sessiond_store::SqliteStore;
use time::OffsetDateTime;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let sessions: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let users: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(100);
    let dir = tempfile::TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let cfg = CoreConfig {
        cache_capacity: sessions.max(1),
        ..CoreConfig::default()
    };
    let core = Core::new(store.clone() as Arc<dyn Store>, Arc::new(SystemClock), cfg)
        .await
        .unwrap();
    core.bootstrap(Some("bench-password")).await.unwrap();
    let admin = core.find_user_by_name("admin").await.unwrap().unwrap();
    // Users with the roles of a typical deployment (admin's, for a full privilege set).
    let mut ids = vec![admin.id];
    for i in 1..users {
        let u = sessiond_core::model::NewUser {
            id: None,
            name: format!("user{i}"),
            account_type: admin.account_type,
            primary_group: admin.primary_group,
            can_change_password: true,
            enabled: true,
            password_hash: None,
            profile: admin.profile.clone(),
            roles: admin.roles.clone(),
        };
        ids.push(
            store
                .insert_user(&u, OffsetDateTime::now_utc())
                .await
                .unwrap()
                .id,
        );
    }
    let now = OffsetDateTime::now_utc();
    let mut tokens = Vec::with_capacity(sessions);
    let started = Instant::now();
    for i in 0..sessions {
        let token = Token::generate().unwrap();
        let s = Session {
            id: uuid_like(i),
            user_id: ids[i % ids.len()],
            server: "bench-node".into(),
            client_name: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
            client_type: "Mozilla/5.0 (X11; Linux x86_64) bench".into(),
            console_type: 19,
            transport: Some("HTTPS".into()),
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
        };
        store.insert_session(&s, &token.hash()).await.unwrap();
        tokens.push(token);
    }
    println!(
        "stored {sessions} sessions over {} users in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    let before = rss_kib();
    let started = Instant::now();
    for t in &tokens {
        core.authenticate(t.expose()).await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let after = rss_kib();
    println!(
        "cache misses: {:.0}/s ({sessions} first look-ups in {secs:.1} s)",
        sessions as f64 / secs
    );
    println!(
        "RSS {before} KiB -> {after} KiB: {:.0} bytes per cached session ({} cached)",
        (after.saturating_sub(before) as f64 * 1024.0) / sessions as f64,
        core.cached_tokens()
    );
}

fn uuid_like(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}
