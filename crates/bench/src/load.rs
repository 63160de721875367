//! The load generator: C keep-alive HTTP/1.1 connections, each with its own session token,
//! each sending one request after another for D seconds. Lean on purpose (hyper's
//! connection API, no pool, no redirects), so that it costs less than the server it drives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One kind of request: a path, and how a token goes into it.
#[derive(Clone)]
pub struct Call {
    pub name: &'static str,
    /// `{uid}` is replaced by the connection's user id.
    pub path: &'static str,
    /// The header carrying the token, and its prefix; `None`: no token (the floor).
    pub auth: Option<(&'static str, &'static str)>,
    /// A JSON body to POST; `None`: a GET.
    pub body: Option<String>,
}

impl Call {
    /// A GET with the token in `header` after `prefix`.
    pub fn get(
        name: &'static str,
        path: &'static str,
        header: &'static str,
        prefix: &'static str,
    ) -> Call {
        Call {
            name,
            path,
            auth: Some((header, prefix)),
            body: None,
        }
    }
}

/// Who a connection is.
#[derive(Clone)]
pub struct Identity {
    pub token: String,
    pub user_id: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

/// The run of median rate.
pub fn median(mut v: Vec<Outcome>) -> Outcome {
    v.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    v.swap_remove(v.len() / 2)
}

/// How to reach the server.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub tls: Option<tokio_rustls::TlsConnector>,
}

/// Runs `call` on `identities.len()` connections for `duration`, each sending its next
/// request as soon as the last is answered.
pub async fn run(
    target: &Target,
    call: &Call,
    identities: &[Identity],
    duration: Duration,
) -> Outcome {
    drive(target, call, identities, duration, None).await
}

/// Like `run`, but each connection sends one request every `interval`: a steady load rather
/// than the most the server can take. Latency counts from the send (tokio's timer wakes up
/// to a millisecond late, which would otherwise count as the server's); a server that falls
/// behind shows as a rate under the pace.
pub async fn run_paced(
    target: &Target,
    call: &Call,
    identities: &[Identity],
    duration: Duration,
    interval: Duration,
) -> Outcome {
    drive(target, call, identities, duration, Some(interval)).await
}

async fn drive(
    target: &Target,
    call: &Call,
    identities: &[Identity],
    duration: Duration,
    pace: Option<Duration>,
) -> Outcome {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = vec![];
    for who in identities {
        let (target, call, who) = (target.clone(), call.clone(), who.clone());
        tasks.push(tokio::spawn(async move {
            connection(target, call, who, deadline, pace).await
        }));
    }
    let mut latencies = vec![];
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as u64
    };
    Outcome {
        requests: latencies.len() as u64,
        errors,
        seconds,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        p999_us: pct(0.999),
    }
}

/// Sends `call` as `who` over one connection until the deadline; returns the latency of
/// each answered request (µs) and the number of failures.
async fn connection(
    target: Target,
    call: Call,
    who: Identity,
    deadline: Instant,
    pace: Option<Duration>,
) -> (Vec<u32>, u64) {
    let mut due = Instant::now();
    let mut latencies = Vec::with_capacity(1 << 14);
    let mut errors = 0;
    let path = call.path.replace("{uid}", &who.user_id.to_string());
    let auth = call
        .auth
        .map(|(header, prefix)| (header, format!("{prefix}{}", who.token)));
    'reconnect: while Instant::now() < deadline {
        let Ok(tcp) = TcpStream::connect(target.addr).await else {
            errors += 1;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let mut sender = match &target.tls {
            None => match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
                Ok((s, conn)) => {
                    tokio::spawn(conn);
                    s
                }
                Err(_) => {
                    errors += 1;
                    continue;
                }
            },
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let Ok(stream) = tls.connect(name, tcp).await else {
                    errors += 1;
                    continue;
                };
                match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                    Ok((s, conn)) => {
                        tokio::spawn(conn);
                        s
                    }
                    Err(_) => {
                        errors += 1;
                        continue;
                    }
                }
            }
        };
        while Instant::now() < deadline {
            let sent = match pace {
                Some(interval) => {
                    tokio::time::sleep_until(due.into()).await;
                    due += interval;
                    Instant::now()
                }
                None => Instant::now(),
            };
            let mut req = Request::builder()
                .uri(path.as_str())
                .header("host", "localhost");
            if let Some((header, value)) = &auth {
                req = req.header(*header, value.as_str());
            }
            let req = match &call.body {
                None => req.method("GET").body(Full::new(Bytes::new())),
                Some(body) => req
                    .method("POST")
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.clone()))),
            }
            .unwrap();
            let ok = match sender.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status();
                    resp.into_body().collect().await.is_ok() && status.is_success()
                }
                Err(_) => {
                    errors += 1;
                    continue 'reconnect;
                }
            };
            if ok {
                latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
            } else {
                errors += 1;
            }
        }
    }
    (latencies, errors)
}

/// A TLS client that trusts exactly the server's certificate.
pub fn tls_connector(cert_pem: &std::path::Path) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(cert_pem)
        .expect("the server's certificate")
    {
        roots
            .add(cert.expect("a certificate"))
            .expect("a usable certificate");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}
