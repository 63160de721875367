//! What the HTTP stack alone gets for an answer of a given size: a process of this binary
//! serving fixed bytes with axum (sessiond's HTTP stack, without sessiond) answers
//! `/healthz` and `/body/N`, measured with the same load generator. It tells how much of
//! a who-am-i's distance from the floor is the size of its answer, which no server code
//! can remove: the load generator shares the 2 cores and reads every byte.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

/// Serves fixed answers until killed; prints where it listens. With `tls` (sessiond's data
/// directory), over TLS as sessiond serves it: its certificate and TLS settings, no Nagle.
pub async fn serve(tls: Option<&std::path::Path>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    println!(
        "listening on {}",
        listener.local_addr().expect("an address")
    );
    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { ([(CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#) }),
        )
        .route(
            "/body/{n}",
            get(|Path(n): Path<usize>| async move {
                ([(CONTENT_TYPE, "application/json")], json_of_size(n))
            }),
        );
    let Some(dir) = tls else {
        axum::serve(listener, app).await.expect("serve");
        return;
    };
    // sessiond's own TLS settings, on the certificate and key it keeps in that directory.
    let identity =
        sessiond_server::tls::prepare(dir, None, None, &[]).expect("sessiond's TLS files");
    let config = sessiond_server::tls::server_config(&identity).expect("sessiond's TLS settings");
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service =
                hyper::service::service_fn(move |req| tower::ServiceExt::oneshot(app.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// `{"x":"aaa…"}` of exactly `n` bytes (at least 8).
fn json_of_size(n: usize) -> Vec<u8> {
    let mut v = br#"{"x":""#.to_vec();
    v.resize(n.max(8) - 2, b'a');
    v.extend_from_slice(br#""}"#);
    v
}

/// The static server, as a child process of this binary.
pub struct StaticServer {
    child: Child,
    pub addr: SocketAddr,
}

impl StaticServer {
    /// Over TLS with the certificate and key in `tls`, if given.
    pub fn start(tls: Option<&std::path::Path>) -> StaticServer {
        let me = std::env::current_exe().expect("own path");
        let mut cmd = Command::new(me);
        cmd.arg("--static-server");
        if let Some(dir) = tls {
            cmd.arg("--static-tls").arg(dir);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the static server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("its address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .expect("an address");
        StaticServer { child, addr }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Paths of the static answers, leaked: `Call` holds `'static` strings, and a run makes a
/// handful of them.
pub fn body_path(n: usize) -> &'static str {
    Box::leak(format!("/body/{n}").into_boxed_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bodies_have_the_size_asked() {
        for n in [8, 15, 1500, 4826] {
            let b = super::json_of_size(n);
            assert_eq!(b.len(), n);
            assert!(serde_json::from_slice::<serde_json::Value>(&b).is_ok());
        }
    }
}
