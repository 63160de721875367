//! The login storm: clients logging in as fast as they can while other connections ask
//! who-am-i. Shows how close logins come to what argon2id allows on the cores sessiond gives
//! to hashing, and whether hashing starves the workers that answer tokens.

use std::time::Duration;

use crate::load::{self, median, Call, Identity, Target};
use crate::seed::ADMIN_PASSWORD;

/// Logging-in clients.
const STORM_CLIENTS: usize = 8;
/// Connections asking who-am-i meanwhile, each every `READER_INTERVAL`: a steady load (16,000
/// req/s, about a fifth of what the server answers at most), not the most it can take, which
/// would leave hashing no CPU to measure.
const READERS: usize = 16;
const READER_INTERVAL: Duration = Duration::from_millis(1);

/// sessiond's default `--hash-concurrency`: every core but one.
fn hashing_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .max(1)
}

/// Logins per second that one client, logging in again as soon as it is answered with
/// nothing else running, gets from the server: one hash at a time on one core, which is
/// what argon2id at sessiond's parameters allows per core. Measured through the server
/// itself, because the same hash timed in this process ran 30-60% slower (allocation and
/// CPU placement differ), which would flatter the storm.
async fn one_core_limit(target: &Target, login: &Call) -> f64 {
    let one = [Identity {
        token: String::new(),
        user_id: 0,
    }];
    load::run(target, login, &one, Duration::from_secs(2))
        .await
        .rate()
}

pub async fn run(target: &Target, who: &[Identity], d: Duration, runs: usize) {
    let cores = hashing_cores();
    let whoami = Call::get(
        "Symphony who-am-i",
        "/pod/v2/sessioninfo",
        "sessiontoken",
        "",
    );
    let login = Call {
        name: "native login",
        path: "/api/v1/login",
        auth: None,
        body: Some(format!(
            r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#
        )),
    };
    let readers = &who[..READERS.min(who.len())];
    let clients = vec![
        Identity {
            token: String::new(),
            user_id: 0,
        };
        STORM_CLIENTS
    ];
    let (mut quiet, mut storms, mut during) = (vec![], vec![], vec![]);
    // The machine's speed drifts between runs; argon2id is timed in each.
    let mut rates = vec![];
    for _ in 0..runs {
        rates.push(one_core_limit(target, &login).await);
        quiet.push(load::run_paced(target, &whoami, readers, d, READER_INTERVAL).await);
        let (s, r) = tokio::join!(
            load::run(target, &login, &clients, d),
            load::run_paced(target, &whoami, readers, d, READER_INTERVAL)
        );
        storms.push(s);
        during.push(r);
    }
    let (quiet, storm, during) = (median(quiet), median(storms), median(during));
    rates.sort_by(f64::total_cmp);
    let per_core = rates[rates.len() / 2];
    let limit = per_core * cores as f64;
    println!(
        "\nLogin storm ({STORM_CLIENTS} clients logging in; {READERS} connections asking who-am-i, each every {} ms)",
        READER_INTERVAL.as_millis()
    );
    println!(
        "one client logging in alone: {per_core:.1}/s (runs: {}); sessiond hashes on {cores} core(s): limit {limit:.1}/s",
        rates
            .iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "logins: {:.1}/s = {:.2} of the limit ({} errors); p50 {} µs, p99 {} µs",
        storm.rate(),
        storm.rate() / limit.max(1e-9),
        storm.errors,
        storm.p50_us,
        storm.p99_us
    );
    println!(
        "who-am-i without the storm: {:.0} req/s, p99 {} µs; during it: {:.0} req/s, p99 {} µs, p999 {} µs",
        quiet.rate(),
        quiet.p99_us,
        during.rate(),
        during.p99_us,
        during.p999_us
    );
}
