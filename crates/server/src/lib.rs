//! # sessiond-server
//!
//! The HTTP face of sessiond: axum routers over one `Core`. `docs/architecture.md` tells
//! the layers and how to add a dialect.
//!
//! # Layout
//! - `state`: `AppState` and `ServerConfig`, shared by every handler (a leaf: it imports no
//!   dialect).
//! - `problem`: `Problem`, the one classification of every failure (`CoreError`s and
//!   framework rejections) into a kind, a status and a public message.
//! - `dialect`: the `Dialect` trait (mount prefixes, credential, error envelope, routes),
//!   `Failure<D>` (a problem in dialect `D`'s shape), `service` (a dialect as one service)
//!   and `Dispatch` (the dialect for a path).
//! - `extract`: the extractors every dialect's handlers use (`Caller<D>`, `ApiJson<T, D>`,
//!   `ApiQuery`, `ApiForm`, `ApiPath`, `ApiBody`, `Presented`, `ClientInfo`), failing in
//!   `D`'s shape.
//! - `forwarded`: the client's address behind trusted proxies (`Forwarded`,
//!   `X-Forwarded-For`).
//! - `views`: core records as sessiond's own views, shared by the native API and NetSession.
//! - `native/`: the native JSON API under `/api/v1`.
//! - `oauth`: RFC 7662 introspection and RFC 7009 revocation (`/api/v1/introspect`,
//!   `/api/v1/revoke`), with OAuth's error shape.
//! - `dialects/`: one module per product API (Qumulo, Symphony, Commvault, MIM PAM,
//!   Windows NetSession), each with its own wire types and error envelope.
//! - `ui/`: the web pages under `/ui` (sign-in, my sessions, the admins' views).
//! - `app`: the whole app: every dialect behind `Dispatch`.
//! - `listener`: the accept loop: connection cap, header, idle and TLS handshake
//!   time-outs, shedding the idlest connection when full.
//! - `negotiate`: the HTTP Negotiate (SPNEGO/Kerberos) acceptor: MIT's GSS-API, loaded at
//!   run time when a keytab is configured.
//! - `health`: `/healthz` and `/readyz`.
//! - `tasks`: background work (activity flush, expiry sweep, history purge, change feed).
//! - `webhooks`: webhook delivery on this node (the HTTP client and the lease loop; the
//!   rules are the core's).
//! - `tls`: HTTPS: the operator's certificate or a generated self-signed one.

pub mod app;
pub mod dialect;
pub mod dialects;
pub mod extract;
pub mod forwarded;
pub mod health;
pub mod listener;
pub mod memory;
pub mod native;
pub mod negotiate;
pub mod oauth;
pub mod problem;
pub mod sized_json;
pub mod state;
pub mod tasks;
pub mod tls;
pub mod ui;
pub mod views;
pub mod webhooks;

#[cfg(test)]
mod parser_props;

pub use app::{build_app, serve, serve_on, Transport};
pub use state::{AppState, ConnectionLimits, PamConfig, ServerConfig};
