//! # sessiond-server
//!
//! The HTTP face of sessiond: axum routers over one `Core`.
//!
//! # Layout
//! - `app`: `AppState`, `ServerConfig`, the top-level router and `serve`.
//! - `native/`: the native JSON API under `/api/v1` (`routes` is its table of contents;
//!   `error` maps `CoreError` and axum rejections to its error shape; `extract` holds the
//!   caller and body extractors; `convert` turns core records into `sessiond_api` types).
//! - `extract`: what every dialect extracts (caller, JSON, query, client address), with
//!   failures in the dialect's own shape (`DialectError`).
//! - `dialects/`: one module per product API (`qumulo` at `/v1`), each with its own wire
//!   types and error shape.
//! - `negotiate`: the HTTP Negotiate (SPNEGO/Kerberos) acceptor interface; the
//!   GSS-API implementation is behind the `kerberos` feature.
//! - `health`: `/healthz` and `/readyz`.
//! - `tasks`: background work (activity flush, expiry sweep, history purge, change feed).
//! - `tls`: HTTPS: the operator's certificate or a generated self-signed one.

pub mod app;
pub mod dialects;
pub mod extract;
pub mod health;
pub mod native;
pub mod negotiate;
pub mod tasks;
pub mod tls;

pub use app::{build_router, serve, serve_on, AppState, PamConfig, ServerConfig, Transport};
