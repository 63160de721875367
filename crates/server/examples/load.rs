//! A load generator for `scripts/soak`: who-am-i in every dialect against a running
//! sessiond, either as fast as it goes (to measure the maximum) or at a fixed rate.
//!
//! ```text
//! load --url http://127.0.0.1:8000 --token T --seconds 10                # the maximum
//! load --url http://127.0.0.1:8000 --token T --seconds 600 --rate 20000  # a soak
//! load --url http://127.0.0.1:8000 --token T --endpoint qumulo             # one dialect
//! ```
//!
//! `--endpoint` is `all` (the default: each dialect in turn), `native`, `qumulo`,
//! `symphony`, `commvault`, `pam`, or `healthz` (the floor: no token, no store).
//!
//! Prints one line every `--report` seconds (requests, errors, rate, p50/p99) and a last
//! line `total: N requests, E errors`. Exits 1 when any request failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    token: String,
    seconds: u64,
    rate: Option<u64>,
    clients: usize,
    report: u64,
    endpoint: String,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8000".into(),
        token: String::new(),
        seconds: 10,
        rate: None,
        clients: 32,
        report: 10,
        endpoint: "all".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value(),
            "--token" => a.token = value(),
            "--seconds" => a.seconds = value().parse().expect("--seconds N"),
            "--rate" => a.rate = Some(value().parse().expect("--rate N")),
            "--clients" => a.clients = value().parse().expect("--clients N"),
            "--report" => a.report = value().parse().expect("--report N"),
            "--endpoint" => a.endpoint = value(),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(!a.token.is_empty(), "--token is required");
    a
}

/// Who-am-i as each dialect's client asks it.
fn requests(url: &str, token: &str, endpoint: &str) -> Vec<(String, &'static str, String)> {
    if endpoint == "healthz" {
        return vec![(
            format!("{url}/healthz"),
            "accept",
            "application/json".into(),
        )];
    }
    let all = vec![
        (
            format!("{url}/api/v1/session"),
            "authorization",
            format!("Bearer {token}"),
        ),
        (
            format!("{url}/v1/session/who-am-i"),
            "authorization",
            format!("Bearer {token}"),
        ),
        (
            format!("{url}/pod/v2/sessioninfo"),
            "sessiontoken",
            token.to_owned(),
        ),
        (
            format!("{url}/webconsole/api/WhoAmI"),
            "authtoken",
            format!("QSDK {token}"),
        ),
        (
            format!("{url}/api/session/sessioninfo"),
            "authorization",
            format!("Bearer {token}"),
        ),
    ];
    let names = ["native", "qumulo", "symphony", "commvault", "pam"];
    match names.iter().position(|n| *n == endpoint) {
        Some(i) => vec![all[i].clone()],
        None => all,
    }
}

#[derive(Default)]
struct Window {
    latencies_us: Vec<u64>,
    errors: u64,
}

#[tokio::main]
async fn main() {
    let a = args();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.clients)
        .build()
        .unwrap();
    let calls = Arc::new(requests(&a.url, &a.token, &a.endpoint));
    let window = Arc::new(Mutex::new(Window::default()));
    let total = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    // At a fixed rate each client takes one slot every `clients / rate` seconds.
    let per_client = a
        .rate
        .map(|r| Duration::from_secs_f64(a.clients as f64 / r.max(1) as f64));
    let mut workers = vec![];
    for c in 0..a.clients {
        let (client, calls, window, total, errors) = (
            client.clone(),
            calls.clone(),
            window.clone(),
            total.clone(),
            errors.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut ticker = per_client.map(|p| {
                let mut t = tokio::time::interval(p);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let mut n = c;
            while Instant::now() < deadline {
                if let Some(t) = ticker.as_mut() {
                    t.tick().await;
                }
                let (url, header, value) = &calls[n % calls.len()];
                n += 1;
                let started = Instant::now();
                let ok = match client.get(url).header(*header, value).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let us = started.elapsed().as_micros() as u64;
                total.fetch_add(1, Ordering::Relaxed);
                let mut w = window.lock().unwrap();
                w.latencies_us.push(us);
                if !ok {
                    w.errors += 1;
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let started = Instant::now();
    let reporter = {
        let window = window.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(a.report));
            every.tick().await;
            loop {
                every.tick().await;
                let w = std::mem::take(&mut *window.lock().unwrap());
                print_window(started.elapsed(), &w, a.report);
            }
        })
    };
    for w in workers {
        let _ = w.await;
    }
    reporter.abort();
    let n = total.load(Ordering::Relaxed);
    let e = errors.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "total: {n} requests, {e} errors, {:.0} req/s over {secs:.0} s",
        n as f64 / secs
    );
    if e > 0 {
        std::process::exit(1);
    }
}

fn print_window(at: Duration, w: &Window, secs: u64) {
    let mut l = w.latencies_us.clone();
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "t={:>4}s  {:>8} req  {:>6} err  {:>8.0} req/s  p50 {:>6} us  p99 {:>6} us",
        at.as_secs(),
        l.len(),
        w.errors,
        l.len() as f64 / secs as f64,
        pct(0.50),
        pct(0.99)
    );
}
