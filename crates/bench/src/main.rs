//! # sessiond-bench
//!
//! Measures a real `sessiond` process as its clients see it: the store filled with N
//! sessions, then each dialect's who-am-i (and Commvault's `Session?userId`, NetSession's
//! Enum) driven by C keep-alive connections for D seconds, each connection with its own
//! session, against the `/healthz` floor, over HTTP and HTTPS. Prints a table; asserts
//! nothing.
//!
//! ```text
//! cargo build --release -p sessiond -p sessiond-bench
//! target/release/sessiond-bench                     # defaults: 100,000 sessions, 64 connections
//! target/release/sessiond-bench --sessions 1000000 --seconds 6
//! ```
//!
//! # Layout
//! - `seed`: fills the store straight through `Store::insert_sessions`.
//! - `pg`: the PostgreSQL schema of a `--postgres` run, and the writes made in it.
//! - `server`: starts and stops `sessiond serve`, reads its RSS.
//! - `load`: the load generator (hyper's connection API, one token per connection).
//! - `storm`: logins as fast as argon2id allows, with who-am-i latency measured meanwhile.

mod calibrate;
mod load;
mod pg;
mod seed;
mod server;
mod storm;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use sessiond_store::testing::PgSchema;

use load::{median, Call, Identity, Outcome, Target};

#[derive(Parser)]
#[command(about = "Benchmark a sessiond process: every dialect's who-am-i against /healthz")]
struct Args {
    /// Sessions in the store; each connection uses one of them.
    #[arg(long, default_value_t = 100_000)]
    sessions: usize,
    /// Sessions per user (Commvault's `Session?userId` lists them all).
    #[arg(long, default_value_t = 10)]
    sessions_per_user: usize,
    /// Keep-alive connections driving each endpoint.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds per run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Runs per figure; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The sessiond binary [default: beside this one].
    #[arg(long)]
    sessiond: Option<PathBuf>,
    /// Skip the HTTPS half.
    #[arg(long)]
    no_https: bool,
    /// Measure only the calls whose name contains this (the floor always).
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Skip the login storm.
    #[arg(long)]
    no_storm: bool,
    /// Seed the SQLite store into this directory and keep it: a later run with the same
    /// --sessions and --sessions-per-user reuses it instead of seeding again. The store is
    /// changed by each run (logins, reported sessions, activity) [default: a temporary one].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// An environment variable for the sessiond processes only (repeatable), to compare
    /// settings such as `MALLOC_ARENA_MAX=1` without changing the load generator.
    #[arg(long, value_name = "NAME=VALUE", value_parser = name_value)]
    server_env: Vec<(String, String)>,
    /// Skip measuring what axum alone gets for answers of the same sizes.
    #[arg(long)]
    no_calibration: bool,
    /// (Internal) serve fixed answers for the calibration.
    #[arg(long, hide = true)]
    static_server: bool,
    /// (Internal) ... over TLS, with the certificate and key of this sessiond data directory.
    #[arg(long, hide = true, value_name = "DIR")]
    static_tls: Option<PathBuf>,
    /// Also measure on PostgreSQL, in a schema of its own in this database (dropped at
    /// the end): cache misses, cached who-am-i, and store writes per who-am-i.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

const FLOOR: Call = Call {
    name: "/healthz (floor)",
    path: "/healthz",
    auth: None,
    body: None,
};

fn calls() -> Vec<Call> {
    vec![
        Call::get(
            "native GET /api/v1/session",
            "/api/v1/session",
            "authorization",
            "Bearer ",
        ),
        Call::get(
            "Qumulo GET /v1/session/who-am-i",
            "/v1/session/who-am-i",
            "authorization",
            "Bearer ",
        ),
        Call::get(
            "Symphony GET /pod/v2/sessioninfo",
            "/pod/v2/sessioninfo",
            "sessiontoken",
            "",
        ),
        Call::get(
            "Commvault GET /webconsole/api/WhoAmI",
            "/webconsole/api/WhoAmI",
            "authtoken",
            "QSDK ",
        ),
        Call::get(
            "PAM GET /api/session/sessioninfo",
            "/api/session/sessioninfo",
            "authorization",
            "Bearer ",
        ),
    ]
}

fn lists() -> Vec<Call> {
    vec![
        Call::get(
            "Commvault GET Session?userId (10 sessions)",
            "/webconsole/api/Session?userId={uid}",
            "authtoken",
            "QSDK ",
        ),
        Call::get(
            "NetSession Enum level 10 (100 sessions)",
            "/api/v1/net/sessions?server=FS01&level=10&prefmaxlen=-1",
            "authorization",
            "Bearer ",
        ),
    ]
}

/// One session per connection, spread over the whole store (and over users).
fn spread(everyone: &[Identity], connections: usize) -> Vec<Identity> {
    let step = (everyone.len() / connections.max(1)).max(1);
    everyone
        .iter()
        .step_by(step)
        .take(connections)
        .cloned()
        .collect()
}

fn name_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Measures `calls` and the floor, `runs` times each in turn, and prints the medians.
/// Returns how many requests the calls (not the floor) were answered.
async fn table(args: &Args, target: &Target, calls: &[Call], who: &[Identity], title: &str) -> u64 {
    let d = Duration::from_secs(args.seconds);
    let mut floor = vec![];
    let mut each: Vec<Vec<Outcome>> = vec![vec![]; calls.len()];
    for _ in 0..args.runs {
        floor.push(load::run(target, &FLOOR, who, d).await);
        for (i, c) in calls.iter().enumerate() {
            each[i].push(load::run(target, c, who, d).await);
        }
    }
    let floor = median(floor);
    println!("\n{title} (load average {})", load_average());
    println!(
        "{:<46} {:>10} {:>7} {:>8} {:>8} {:>8} {:>7}",
        "endpoint", "req/s", "ratio", "p50 µs", "p99 µs", "p999 µs", "errors"
    );
    let row = |name: &str, o: &Outcome| {
        println!(
            "{:<46} {:>10.0} {:>7.2} {:>8} {:>8} {:>8} {:>7}",
            name,
            o.rate(),
            o.rate() / floor.rate().max(1.0),
            o.p50_us,
            o.p99_us,
            o.p999_us,
            o.errors
        )
    };
    row(FLOOR.name, &floor);
    let mut answered = 0;
    for (c, runs) in calls.iter().zip(each) {
        answered += runs.iter().map(|o| o.requests).sum::<u64>();
        row(c.name, &median(runs));
    }
    answered
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let _ = server::SERVER_ENV.set(args.server_env.clone());
    if args.static_server {
        calibrate::serve(args.static_tls.as_deref()).await;
        return;
    }
    let sessiond = args
        .sessiond
        .clone()
        .unwrap_or_else(server::beside_this_binary);
    let dir = tempfile::TempDir::new().unwrap();
    let data = args
        .data_dir
        .clone()
        .unwrap_or_else(|| dir.path().join("data"));
    println!(
        "sessiond-bench: {} sessions ({} per user), {} connections, {} s x {} runs; {} cores",
        args.sessions,
        args.sessions_per_user,
        args.connections,
        args.seconds,
        args.runs,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let started = Instant::now();
    let everyone = seed::fill_sqlite(
        &data,
        args.sessions,
        args.sessions_per_user,
        args.data_dir.is_some(),
    )
    .await;
    println!(
        "seeded {} sessions in {:.1} s",
        everyone.len(),
        started.elapsed().as_secs_f64()
    );
    let who = spread(&everyone, args.connections);

    let srv = misses_then_warm(&args, &sessiond, &data, None, &everyone).await;
    let target = Target {
        addr: srv.addr,
        tls: None,
    };
    // Once per store: a kept --data-dir already has them.
    let reported = data.join("bench-reported-FS01");
    if !reported.exists() {
        server::report_sessions(&target, "FS01", 100).await;
        let _ = std::fs::write(&reported, "100\n");
        {
            use std::os::unix::fs::PermissionsExt;
            // Private like the rest of the data directory, or sessiond warns at its next start.
            let _ = std::fs::set_permissions(&reported, std::fs::Permissions::from_mode(0o600));
        }
    }
    let mut http_calls = calls();
    http_calls.extend(lists());
    let chosen = |c: &Call| args.only.as_deref().is_none_or(|o| c.name.contains(o));
    http_calls.retain(chosen);
    table(&args, &target, &http_calls, &who, "HTTP").await;
    if !args.no_calibration {
        calibration(&args, &target, &http_calls, &who, None).await;
    }
    if !args.no_storm {
        storm::run(&target, &who, Duration::from_secs(args.seconds), args.runs).await;
    }
    srv.stop();

    if !args.no_https {
        let srv = server::start(&sessiond, &data, true, args.sessions, None, true);
        srv.wait_warmed();
        let target = Target {
            addr: srv.addr,
            tls: Some(load::tls_connector(&data.join("tls/cert.pem"))),
        };
        let mut https_calls = calls();
        https_calls.extend(lists());
        https_calls.retain(chosen);
        table(&args, &target, &https_calls, &who, "HTTPS").await;
        if !args.no_calibration {
            calibration(&args, &target, &https_calls, &who, Some(&data)).await;
        }
        srv.stop();
    }

    if let Some(base) = &args.postgres {
        on_postgres(&args, &sessiond, &dir, base).await;
    }
}

/// Starts sessiond without the warm-up and asks who-am-i once for every session (the cache
/// misses, and RSS with the cache filled that way), then restarts it with the warm-up and
/// waits for it (time to ready, time to warm, RSS). Returns the warmed server.
async fn misses_then_warm(
    args: &Args,
    sessiond: &std::path::Path,
    data: &std::path::Path,
    store: Option<&str>,
    everyone: &[Identity],
) -> server::Server {
    let srv = server::start(sessiond, data, false, args.sessions, store, false);
    let target = Target {
        addr: srv.addr,
        tls: None,
    };
    let (misses, secs) = server::touch_all(&target, everyone, args.connections).await;
    println!(
        "cache misses: {:.0}/s ({misses} first look-ups in {secs:.1} s); RSS with all cached that way: {} MiB",
        misses as f64 / secs,
        srv.rss_kib() / 1024
    );
    srv.stop();
    let srv = server::start(sessiond, data, false, args.sessions, store, true);
    let warmed = srv.wait_warmed();
    println!(
        "ready {} ms after start, with {} sessions in the store; cache warmed with {} in {} ms; RSS then: {} MiB",
        srv.ready_ms,
        everyone.len(),
        warmed.sessions,
        warmed.elapsed_ms,
        srv.rss_kib() / 1024
    );
    srv
}

/// Answers smaller than this are not calibrated: they measured 0.99–1.03 of the floor (whose
/// own answer is 15 bytes) in every sitting, and leaving them out keeps the default run,
/// with a calibration over HTTP and one over HTTPS, under 10 minutes.
const CALIBRATED_FROM: usize = 1000;

/// Each call's answer size served as fixed bytes by axum alone, against that server's own
/// floor: the ceiling an answer of that size allows on this machine. Over TLS when `tls` is
/// sessiond's data directory (its certificate and settings: the same handshake and record
/// costs).
async fn calibration(
    args: &Args,
    sessiond: &Target,
    calls: &[Call],
    who: &[Identity],
    tls: Option<&std::path::Path>,
) {
    let fixed = calibrate::StaticServer::start(tls);
    let target = Target {
        addr: fixed.addr,
        tls: tls.map(|data| load::tls_connector(&data.join("tls/cert.pem"))),
    };
    let mut statics = vec![];
    for c in calls {
        let n = server::answer_size(sessiond, c, &who[0]).await;
        if n < CALIBRATED_FROM {
            continue;
        }
        statics.push(Call {
            name: Box::leak(format!("{n:>5} bytes, as {}", c.name).into_boxed_str()),
            path: calibrate::body_path(n),
            auth: None,
            body: None,
        });
    }
    table(
        args,
        &target,
        &statics,
        who,
        if tls.is_some() {
            "HTTPS stack alone (axum and rustls serving fixed answers of each call's size)"
        } else {
            "HTTP stack alone (axum serving fixed answers of each call's size)"
        },
    )
    .await;
}

/// The same store, on PostgreSQL: cache misses, cached who-am-i against the floor, and the
/// store writes each who-am-i costs (activity is written in batches).
async fn on_postgres(args: &Args, sessiond: &std::path::Path, dir: &tempfile::TempDir, base: &str) {
    let schema = PgSchema::create_in(base).await;
    let started = Instant::now();
    let everyone = seed::fill_postgres(&schema.url, args.sessions, args.sessions_per_user).await;
    println!(
        "\nPostgreSQL: seeded {} sessions in {:.1} s",
        everyone.len(),
        started.elapsed().as_secs_f64()
    );
    let who = spread(&everyone, args.connections);
    let data = dir.path().join("pg-node");
    std::fs::create_dir_all(&data).expect("a data directory");
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700));
    }
    let srv = misses_then_warm(args, sessiond, &data, Some(&schema.url), &everyone).await;
    let target = Target {
        addr: srv.addr,
        tls: None,
    };
    let mut pg_calls = calls();
    pg_calls.retain(|c| args.only.as_deref().is_none_or(|o| c.name.contains(o)));
    table(args, &target, &pg_calls, &who, "PostgreSQL, HTTP").await;

    // Store writes: who-am-i alone (the floor's readiness checks would count), between two
    // pauses long enough for the activity flush and PostgreSQL's statistics.
    tokio::time::sleep(STATS_SETTLE).await;
    let before = pg::writes(&schema).await;
    let whoami = &calls()[0];
    let run = load::run(&target, whoami, &who, Duration::from_secs(args.seconds)).await;
    tokio::time::sleep(STATS_SETTLE).await;
    let after = pg::writes(&schema).await;
    let per = |n: i64| n as f64 / run.requests.max(1) as f64;
    println!(
        "store writes per who-am-i: {:.5} rows, {:.5} commits ({} rows in {} commits for {} requests of {})",
        per(after.rows - before.rows),
        per(after.commits - before.commits),
        after.rows - before.rows,
        after.commits - before.commits,
        run.requests,
        whoami.name,
    );
    srv.stop();
}

/// More than sessiond's default `--flush-interval` (5 s) and PostgreSQL's 10 s at most before
/// an idle connection publishes its counters.
const STATS_SETTLE: Duration = Duration::from_secs(12);
