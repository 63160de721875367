//! Accepting and keeping connections, so that idle, slow and numerous connections cannot
//! keep well-behaved clients out.
//!
//! - **Header time-out**: once the first byte of a request arrives, its head must be complete
//!   within `header_timeout`, or the connection is closed.
//! - **Idle time-out**: a connection with no request in flight that sends nothing for
//!   `idle_timeout` (a new one, or kept alive after an answer) is closed.
//! - **TLS handshake time-out**: a handshake not done within `tls_handshake_timeout` ends.
//! - **Body time-out**: a body that stops arriving is a 408, in the dialect's shape
//!   (`extract::read_body`).
//! - **A cap on connections**, and the file-descriptor limit: at the cap, or when `accept`
//!   finds no file descriptor left, the idlest connection (no request in flight, quiet the
//!   longest) is closed to make room; with none idle, the newcomer is refused at once. Either
//!   is logged, at most once every 10 s with a count.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Limits on connections; see the module's documentation.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub tls_handshake_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// How long in-flight requests may finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// One open connection, as the accept loop and its watchdog see it.
struct Conn {
    in_flight: AtomicUsize,
    /// Microseconds since `Registry::epoch` of the last sign of life with nothing in flight:
    /// the accept, or the end of the last answer.
    quiet_since: AtomicU64,
    /// When the first byte of a request head arrived with nothing in flight; 0: none.
    head_since: AtomicU64,
    close: Notify,
}

impl Conn {
    /// Since when the connection has made no progress, if it has no request in flight.
    fn stalled_since(&self) -> Option<u64> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.head_since.load(Ordering::Acquire) {
            0 => Some(self.quiet_since.load(Ordering::Acquire)),
            head => Some(head),
        }
    }
}

struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    shed_log: RateLimited,
}

impl Registry {
    fn now(&self) -> u64 {
        // Never 0, which means "none" in `head_since`.
        self.epoch.elapsed().as_micros() as u64 + 1
    }

    fn len(&self) -> usize {
        self.conns.lock().map(|c| c.len()).unwrap_or(0)
    }

    fn add(&self) -> (u64, Arc<Conn>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            quiet_since: AtomicU64::new(self.now()),
            head_since: AtomicU64::new(0),
            close: Notify::new(),
        });
        if let Ok(mut c) = self.conns.lock() {
            c.insert(id, Arc::clone(&conn));
        }
        (id, conn)
    }

    fn remove(&self, id: u64) {
        if let Ok(mut c) = self.conns.lock() {
            c.remove(&id);
        }
    }

    /// Asks the idlest connection to close; false when every connection is busy.
    fn evict_idlest(&self) -> bool {
        let Ok(mut conns) = self.conns.lock() else {
            return false;
        };
        let idlest = conns
            .iter()
            .filter_map(|(id, c)| c.stalled_since().map(|t| (t, *id)))
            .min();
        match idlest {
            Some((_, id)) => {
                if let Some(c) = conns.remove(&id) {
                    c.close.notify_one();
                }
                true
            }
            None => false,
        }
    }

    fn close_all(&self) {
        if let Ok(c) = self.conns.lock() {
            for conn in c.values() {
                conn.close.notify_one();
            }
        }
    }
}

/// A warning logged at most once per period, with how many events it stands for.
struct RateLimited {
    last: Mutex<Option<Instant>>,
    events: AtomicU64,
}

impl RateLimited {
    fn new() -> Self {
        RateLimited {
            last: Mutex::new(None),
            events: AtomicU64::new(0),
        }
    }

    fn warn(&self, what: &str) {
        self.events.fetch_add(1, Ordering::Relaxed);
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
            return;
        }
        *last = Some(Instant::now());
        let n = self.events.swap(0, Ordering::Relaxed);
        tracing::warn!(events = n, "shedding connections: {what}");
    }
}

/// Marks the start of a request head when its first byte arrives on a quiet connection.
struct Watched<IO> {
    io: IO,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let c = &self.conn;
            if c.in_flight.load(Ordering::Acquire) == 0 && c.head_since.load(Ordering::Acquire) == 0
            {
                c.head_since.store(self.registry.now(), Ordering::Release);
            }
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Counts a request in flight from its head to its answer.
struct InFlight {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl InFlight {
    fn start(conn: &Arc<Conn>, registry: &Arc<Registry>) -> Self {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.head_since.store(0, Ordering::Release);
        InFlight {
            conn: Arc::clone(conn),
            registry: Arc::clone(registry),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn
            .quiet_since
            .store(self.registry.now(), Ordering::Release);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the server answers with: the whole application, as a service of axum requests.
pub trait App:
    tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> App for T where
    T: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Accepts connections until `shutdown`, then lets in-flight requests finish (up to 10 s).
pub async fn run<A: App>(
    listener: TcpListener,
    app: A,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry {
        epoch: Instant::now(),
        next_id: AtomicU64::new(1),
        conns: Mutex::new(HashMap::new()),
        shed_log: RateLimited::new(),
    });
    let limits = Arc::new(limits);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_out_of_files(&e) => {
                // The connection waits in the backlog; make room, then take it. Wait for
                // the evicted connection's descriptor to be closed before trying again:
                // retrying at once meets the same error and evicts another, and on a busy
                // machine that emptied hundreds of connections to admit one.
                if registry.evict_idlest() {
                    registry
                        .shed_log
                        .warn("no file descriptor left; closed the idlest connection");
                    // A connection's task ends when its socket is closed (the registry
                    // forgets an evicted one at once, so its length cannot tell).
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), tasks.join_next()).await;
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        if registry.len() >= limits.max_connections {
            if registry.evict_idlest() {
                registry
                    .shed_log
                    .warn("at the connection cap; closed the idlest connection");
            } else {
                registry
                    .shed_log
                    .warn("at the connection cap with every connection busy; refused a new one");
                tasks.spawn(refuse(tcp, tls.is_none()));
                continue;
            }
        }
        let _ = tcp.set_nodelay(true);
        let (id, conn) = registry.add();
        let task = serve_connection(
            tcp,
            peer,
            app.clone(),
            tls.clone(),
            Arc::clone(&limits),
            Arc::clone(&registry),
            conn,
        );
        let reg = Arc::clone(&registry);
        tasks.spawn(async move {
            task.await;
            reg.remove(id);
        });
    }
    drop(listener);
    registry.close_all();
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            connections = tasks.len(),
            "requests still running after {DRAIN:?}; closing them"
        );
        tasks.shutdown().await;
    }
    Ok(())
}

fn is_out_of_files(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// Answers a connection there is no room for at once, and closes it.
async fn refuse(mut tcp: TcpStream, plain_http: bool) {
    if plain_http {
        let answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 70\r\nretry-after: 1\r\nconnection: close\r\n\r\n{\"error\":{\"code\":\"unavailable\",\"message\":\"too many open connections\"}}";
        let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(answer)).await;
    }
}

async fn serve_connection<A: App>(
    tcp: TcpStream,
    peer: SocketAddr,
    app: A,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Arc<ConnectionLimits>,
    registry: Arc<Registry>,
    conn: Arc<Conn>,
) {
    match tls {
        None => {
            let io = watched(tcp, &conn, &registry);
            drive(io, peer, app, &limits, &registry, &conn).await
        }
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tcp));
            let stream = tokio::select! {
                done = handshake => match done {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
                _ = conn.close.notified() => return,
            };
            conn.quiet_since.store(registry.now(), Ordering::Release);
            let io = watched(stream, &conn, &registry);
            drive(io, peer, app, &limits, &registry, &conn).await
        }
    }
}

fn watched<IO>(io: IO, conn: &Arc<Conn>, registry: &Arc<Registry>) -> Watched<IO> {
    Watched {
        io,
        conn: Arc::clone(conn),
        registry: Arc::clone(registry),
    }
}

/// Serves HTTP/1.1 on one connection until it ends, times out or is asked to close.
async fn drive<IO, A>(
    io: IO,
    peer: SocketAddr,
    app: A,
    limits: &ConnectionLimits,
    registry: &Arc<Registry>,
    conn: &Arc<Conn>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: App,
{
    let service = {
        let conn = Arc::clone(conn);
        let registry = Arc::clone(registry);
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let guard = InFlight::start(&conn, &registry);
            req.extensions_mut().insert(ConnectInfo(peer));
            let call = app.clone().oneshot(req.map(axum::body::Body::new));
            async move {
                let answer = call.await;
                drop(guard);
                answer
            }
        })
    };
    // No hyper timer: its header timeout (30 s by default) armed a timer on every request,
    // and the loop below already bounds a head (`header_timeout`) and a quiet connection.
    let http = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(http);
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let header_us = limits.header_timeout.as_micros() as u64;
    let idle_us = limits.idle_timeout.as_micros() as u64;
    let mut ticks = tokio::time::interval(tick);
    loop {
        tokio::select! {
            done = http.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = conn.close.notified() => {
                if conn.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                // Busy: let the answer go out, then close.
                http.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(DRAIN, http.as_mut()).await;
                return;
            }
            _ = ticks.tick() => {
                if conn.in_flight.load(Ordering::Acquire) > 0 {
                    continue;
                }
                let now = registry.now();
                let head = conn.head_since.load(Ordering::Acquire);
                let expired = if head != 0 {
                    now.saturating_sub(head) > header_us
                } else {
                    now.saturating_sub(conn.quiet_since.load(Ordering::Acquire)) > idle_us
                };
                if expired {
                    tracing::debug!(%peer, reading_head = head != 0, "closing a stalled connection");
                    return;
                }
            }
        }
    }
}
