//! What handlers extract from a request, for any dialect `D`, with every failure answered
//! in `D`'s shape: the authenticated caller, a raw presented token, JSON bodies, raw
//! bodies, path segments, query strings, and where the request comes from.
//!
//! Bodies are read here, not by axum's extractors, so that a body over the limit is a 413,
//! a body that stops arriving is a 408, and both look like the product's own errors.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use sessiond_core::model::{console_type, AuthMethod};
use sessiond_core::{AuthFailure, CoreError, LoginContext, Principal};

use crate::dialect::{Credential, Dialect, Failure};
use crate::negotiate::NegotiateError;
use crate::problem::Kind;
use crate::state::{AppState, ServerConfig};

/// Where a request comes from: the client's address (the peer's, or behind a trusted proxy
/// the one it names), the User-Agent, and whether a trusted proxy says it used HTTPS.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub address: String,
    pub user_agent: Option<String>,
    /// `Some(true)` when a trusted proxy says the client used HTTPS.
    pub https: Option<bool>,
}

impl ClientInfo {
    pub fn of(parts: &Parts, cfg: &ServerConfig) -> ClientInfo {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip());
        let (address, https) = match peer {
            Some(ip) => {
                let o = crate::forwarded::origin(ip, &parts.headers, &cfg.trusted_proxies);
                (o.address.to_string(), o.https)
            }
            None => ("unknown".to_owned(), None),
        };
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        ClientInfo {
            address,
            user_agent,
            https,
        }
    }

    /// The facts a session opened through dialect `D` by this request records; the
    /// User-Agent is the client type unless the dialect knows better.
    pub fn login_context<D: Dialect>(&self, auth_method: AuthMethod) -> LoginContext {
        LoginContext {
            via: D::NAME,
            client_name: self.address.clone(),
            client_type: self
                .user_agent
                .clone()
                .unwrap_or_else(|| D::CLIENT_TYPE.into()),
            console_type: console_type::WEB_CONSOLE,
            transport: Some("HTTPS".into()),
            auth_method,
        }
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo::of(parts, &s.cfg))
    }
}

/// A session opened by the request itself (Negotiate, Basic): its token, for a cookie, and
/// the Negotiate mutual-authentication reply.
pub struct Issued {
    pub token: String,
    pub negotiate_reply: Option<Vec<u8>>,
}

/// The principal behind the request's credential, read the way dialect `D` sends it.
pub struct Caller<D>(pub Principal, pub Option<Issued>, pub PhantomData<D>);

impl<D: Dialect> FromRequestParts<AppState> for Caller<D> {
    type Rejection = Failure<D>;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let credential = D::credential(parts, &s.cfg)?.ok_or_else(|| {
            Failure::from(CoreError::Unauthenticated(AuthFailure::MissingCredentials))
        })?;
        let (principal, issued) = resolve::<D>(s, parts, credential).await?;
        Ok(Caller(principal, issued, PhantomData))
    }
}

/// A token is the hot path: only the logins below need to know where the request came from.
async fn resolve<D: Dialect>(
    s: &AppState,
    parts: &Parts,
    credential: Credential,
) -> Result<(Principal, Option<Issued>), Failure<D>> {
    match credential {
        Credential::Token(token) => Ok((s.core.authenticate(&token).await?, None)),
        Credential::Password { username, password } => {
            let client = ClientInfo::of(parts, &s.cfg);
            let ctx = client.login_context::<D>(AuthMethod::Password);
            let (principal, token) = s.core.login_repeated(&username, &password, ctx).await?;
            let issued = token.map(|t| Issued {
                token: t.expose().to_owned(),
                negotiate_reply: None,
            });
            Ok((principal, issued))
        }
        Credential::Negotiate(token) => {
            let client = ClientInfo::of(parts, &s.cfg);
            let Some(acceptor) = s.negotiate.clone() else {
                return Err(Failure::unauthorized(
                    "Negotiate is not configured on this server.",
                ));
            };
            let accepted = tokio::task::spawn_blocking(move || acceptor.accept(&token))
                .await
                .map_err(|e| CoreError::Internal(format!("negotiate task: {e}")))?;
            let accepted = accepted.map_err(|e| {
                let why = match e {
                    NegotiateError::Rejected(why) | NegotiateError::Other(why) => why,
                    other => other.to_string(),
                };
                tracing::info!(dialect = D::NAME, client = %client.address, reason = %why, "Negotiate refused");
                Failure::unauthorized(format!("Kerberos authentication failed: {why}"))
            })?;
            let name = s.cfg.pam.user_for_principal(&accepted.principal);
            let ctx = client.login_context::<D>(AuthMethod::Kerberos);
            let out = s.core.login_vouched(&name, "Kerberos", ctx).await?;
            let issued = Issued {
                token: out.token.expose().to_owned(),
                negotiate_reply: accepted.reply,
            };
            Ok((out.principal, Some(issued)))
        }
    }
}

/// The token a request presents, not yet checked (an app's session token, a token to
/// renew); `None` when it presents none.
pub struct Presented<D>(pub Option<String>, pub PhantomData<D>);

impl<D: Dialect> FromRequestParts<AppState> for Presented<D> {
    type Rejection = Failure<D>;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let token = match D::credential(parts, &s.cfg)? {
            Some(Credential::Token(t)) => Some(t),
            Some(_) => return Err(Failure::unauthorized("a token is required here")),
            None => None,
        };
        Ok(Presented(token, PhantomData))
    }
}

/// The value of the cookie `name` in the request's `Cookie` headers, if it sends one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of `Authorization: Bearer <token>`, if the request carries one.
pub fn bearer<D: Dialect>(headers: &HeaderMap) -> Result<Option<Credential>, Failure<D>> {
    match authorization::<D>(headers)? {
        None => Ok(None),
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(Credential::Token(token.to_owned())))
        }
        Some(_) => Err(Failure::unauthorized(
            "the Authorization header must be \"Bearer <token>\"",
        )),
    }
}

/// The scheme and the rest of the `Authorization` header.
pub fn authorization<D: Dialect>(headers: &HeaderMap) -> Result<Option<(&str, &str)>, Failure<D>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Failure::unauthorized("the Authorization header is not valid text"))?;
    let (scheme, rest) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| Failure::unauthorized("the Authorization header has no credentials"))?;
    Ok(Some((scheme, rest.trim())))
}

/// `Authorization: Basic` credentials: base64 of `user:password`, both non-empty. A
/// `DOMAIN\` before the user name is dropped.
pub fn basic<D: Dialect>(encoded: &str) -> Result<Credential, Failure<D>> {
    let malformed = || Failure::unauthorized("The Basic credentials are malformed.");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(malformed)?;
    let (user, password) = decoded.split_once(':').ok_or_else(malformed)?;
    let user = user.rsplit('\\').next().unwrap_or(user);
    if user.is_empty() || password.is_empty() {
        return Err(malformed());
    }
    Ok(Credential::Password {
        username: user.to_owned(),
        password: password.to_owned(),
    })
}

/// Reads a whole body within the server's size limit and read time-out.
pub async fn read_body<D: Dialect>(
    body: Body,
    limit: usize,
    s: &AppState,
) -> Result<Bytes, Failure<D>> {
    match tokio::time::timeout(s.cfg.read_timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(Failure::new(
            Kind::RequestTimeout,
            "the request body did not arrive in time",
        )),
        Ok(Err(e)) if is_length_limit(&e) => Err(Failure::new(
            Kind::PayloadTooLarge,
            "the request body is larger than the server accepts",
        )),
        Ok(Err(_)) => Err(Failure::bad_request("the request body could not be read")),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// A whole request body, read within the limit and the time-out.
pub struct ApiBody<D>(pub Bytes, pub PhantomData<D>);

impl<D: Dialect> FromRequest<AppState> for ApiBody<D> {
    type Rejection = Failure<D>;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req.into_body(), s.cfg.max_body_bytes, s).await?;
        Ok(ApiBody(bytes, PhantomData))
    }
}

/// A JSON body (`Content-Type: application/json` or `+json`).
pub struct ApiJson<T, D>(pub T, pub PhantomData<D>);

impl<T: DeserializeOwned, D: Dialect> FromRequest<AppState> for ApiJson<T, D> {
    type Rejection = Failure<D>;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Failure::new(
                Kind::UnsupportedMediaType,
                "expected Content-Type: application/json",
            ));
        }
        let bytes = read_body(req.into_body(), s.cfg.max_body_bytes, s).await?;
        serde_json::from_slice(&bytes)
            .map(|v| ApiJson(v, PhantomData))
            .map_err(|e| Failure::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// A form body (`Content-Type: application/x-www-form-urlencoded`), as OAuth's endpoints
/// take theirs.
pub struct ApiForm<T, D>(pub T, pub PhantomData<D>);

impl<T: DeserializeOwned, D: Dialect> FromRequest<AppState> for ApiForm<T, D> {
    type Rejection = Failure<D>;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        if media_type(req.headers()).as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(Failure::new(
                Kind::UnsupportedMediaType,
                "expected Content-Type: application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(req.into_body(), s.cfg.max_body_bytes, s).await?;
        serde_urlencoded::from_bytes(&bytes)
            .map(|v| ApiForm(v, PhantomData))
            .map_err(|e| Failure::bad_request(format!("invalid form body: {e}")))
    }
}

/// The media type of the body, in lower case, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(ct.split(';').next()?.trim().to_ascii_lowercase())
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(media) = media_type(headers) else {
        return false;
    };
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Query parameters.
pub struct ApiQuery<T, D>(pub T, pub PhantomData<D>);

impl<T: DeserializeOwned, D: Dialect, S: Send + Sync> FromRequestParts<S> for ApiQuery<T, D> {
    type Rejection = Failure<D>;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(|q| ApiQuery(q, PhantomData))
            .map_err(|e| Failure::bad_request(format!("invalid query string: {e}")))
    }
}

/// Path parameters; a segment that is not valid percent-encoded UTF-8 is a 400.
pub struct ApiPath<T, D>(pub T, pub PhantomData<D>);

impl<T, D> FromRequestParts<AppState> for ApiPath<T, D>
where
    T: DeserializeOwned + Send,
    D: Dialect,
{
    type Rejection = Failure<D>;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, s)
            .await
            .map(|p| ApiPath(p.0, PhantomData))
            .map_err(|r| Failure::bad_request(r.body_text()))
    }
}
