//! `/metrics`: Prometheus' (OpenMetrics) text, whose counters move with what happens.

mod common;

use std::collections::HashMap;

use common::{Options, TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;

/// The samples of an exposition, by `name{labels}`, after checking every line's grammar:
/// `# HELP`/`# TYPE`/`# UNIT` comments, samples `name{label="value",...} number`, and the
/// closing `# EOF`.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut lines = text.lines().peekable();
    let mut types = 0;
    while let Some(line) = lines.next() {
        if lines.peek().is_none() {
            assert_eq!(line, "# EOF", "the exposition must end with # EOF");
            break;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap();
            assert!(matches!(kind, "HELP" | "TYPE" | "UNIT"), "comment: {line}");
            if kind == "TYPE" {
                types += 1;
                let t = comment.rsplit(' ').next().unwrap();
                assert!(matches!(t, "counter" | "gauge" | "histogram"), "{line}");
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name: {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
                for pair in labels[1..labels.len() - 1].split("\",") {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                    assert!(
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{line}"
                    );
                    assert!(!v.trim_end_matches('"').contains('"'), "{line}");
                }
            }
        }
        samples.insert(series.to_owned(), value);
    }
    assert!(types >= 8, "expected the metrics' TYPE lines:\n{text}");
    samples
}

async fn scrape(t: &TestServer) -> HashMap<String, f64> {
    let resp = t.http.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    parse(&resp.text().await.unwrap())
}

fn get(m: &HashMap<String, f64>, series: &str) -> f64 {
    m.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_with_logins_failures_and_who_am_i() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let before = scrape(&t).await;

    let (token, _) = t.login("admin", ADMIN_PASSWORD).await;
    let (status, _) = t.try_login("admin", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for _ in 0..5 {
        assert_eq!(t.get("/api/v1/session", &token).await.0, StatusCode::OK);
    }
    let resp = t
        .http
        .get(t.url("/v1/session/who-am-i"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let after = scrape(&t).await;
    let moved = |series: &str| get(&after, series) - get(&before, series);
    assert_eq!(
        moved("sessiond_logins_total{dialect=\"native\",result=\"success\"}"),
        1.0
    );
    assert_eq!(
        moved("sessiond_logins_total{dialect=\"native\",result=\"bad_credentials\"}"),
        1.0
    );
    // Six who-am-i, each looked up in the hot cache; the login put the token there.
    assert!(moved("sessiond_cache_hits_total") >= 6.0);
    assert_eq!(
        moved("sessiond_http_requests_total{dialect=\"native\",class=\"2xx\"}"),
        6.0,
        "the login and five who-am-i"
    );
    assert_eq!(
        moved("sessiond_http_requests_total{dialect=\"native\",class=\"4xx\"}"),
        1.0
    );
    assert_eq!(
        moved("sessiond_http_requests_total{dialect=\"qumulo\",class=\"2xx\"}"),
        1.0
    );
    assert_eq!(
        moved("sessiond_http_request_duration_seconds_count{dialect=\"native\"}"),
        7.0
    );
    assert_eq!(
        get(&after, "sessiond_active_sessions{server=\"testhost\"}"),
        1.0
    );
    assert!(get(&after, "sessiond_cache_entries") >= 1.0);
    assert_eq!(get(&after, "sessiond_store_errors_total"), 0.0);
    t.stop().await;
}

#[tokio::test]
async fn lockouts_and_throttled_attempts_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestServer::start(&dir).await;
    let before = scrape(&t).await;
    // Wrong passwords from one address until it must wait.
    let mut throttled = false;
    for _ in 0..30 {
        let (status, _, _) = t.login_with(&t.http, "admin", "wrong-password").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(
        throttled,
        "the address is throttled after repeated failures"
    );
    let after = scrape(&t).await;
    assert!(
        get(&after, "sessiond_throttled_logins_total")
            > get(&before, "sessiond_throttled_logins_total")
    );
    assert!(
        get(
            &after,
            "sessiond_logins_total{dialect=\"native\",result=\"throttled\"}"
        ) >= 1.0
    );
    t.stop().await;
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::default();
    o.server.metrics = false;
    let t = TestServer::start_with(
        &dir,
        o,
        std::sync::Arc::new(sessiond_core::ManualClock::starting_now()),
    )
    .await;
    let resp = t.http.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}
