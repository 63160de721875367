//! The MIM PAM dialect (seed 000, `GET /api/session/sessioninfo`): who is logged in to this
//! session, as `DOMAIN\name`, authenticated the way PAM's REST API is: Integrated Windows
//! Authentication (HTTP Negotiate with Kerberos), a session cookie after that, a Bearer token
//! of any dialect, or Basic when enabled. Errors are OData's.

mod error;
pub(crate) mod handler;

use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use tower::{Layer as _, ServiceExt as _};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::dialect::{Credential, Dialect, Failure, Mount, Service};
use crate::extract::{authorization, basic};
use crate::problem::Problem;
use crate::state::{AppState, PamConfig, ServerConfig};

/// The session cookie that spares later requests a new ticket.
pub const COOKIE: &str = "sessiond_pam";

/// MIM PAM's REST API.
pub struct Pam;

pub type PamError = Failure<Pam>;

impl Dialect for Pam {
    const NAME: &'static str = "pam";
    const CLIENT_TYPE: &'static str = "PAM REST client";
    type Detail = ();

    fn mounts(_: &ServerConfig) -> Vec<Mount> {
        let routes = Mount::new("/api/session")
            .route("/sessioninfo", get(handler::session_info))
            .route("/sessioninfo/", get(handler::session_info));
        vec![routes]
    }

    /// `Authorization` (Negotiate, Basic when enabled, Bearer), else the session cookie.
    fn credential(parts: &Parts, cfg: &ServerConfig) -> Result<Option<Credential>, PamError> {
        match authorization::<Pam>(&parts.headers)? {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                Ok(Some(Credential::Token(token.to_owned())))
            }
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("negotiate") => {
                base64::engine::general_purpose::STANDARD
                    .decode(token)
                    .map(|t| Some(Credential::Negotiate(t)))
                    .map_err(|_| PamError::unauthorized("The Negotiate token is not base64."))
            }
            Some((scheme, creds)) if scheme.eq_ignore_ascii_case("basic") => {
                if !cfg.pam.basic {
                    return Err(PamError::unauthorized(
                        "Basic authentication is not enabled.",
                    ));
                }
                basic::<Pam>(creds).map(Some)
            }
            Some(_) => Err(PamError::unauthorized("Unsupported authorization scheme.")),
            None => Ok(cookie_token(&parts.headers).map(Credential::Token)),
        }
    }

    fn render(problem: &Problem, _: &()) -> Response {
        error::render(problem)
    }

    fn wrap(service: Service, state: &AppState) -> Service {
        let challenges = challenges(state);
        let service =
            Service::new(service.map_response(move |resp| offer_challenges(resp, &challenges)));
        match cors(&state.cfg.pam) {
            Some(layer) => Service::new(layer.layer(service)),
            None => service,
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    crate::extract::cookie(headers, COOKIE).map(str::to_owned)
}

/// The challenges every 401 offers: the schemes this server accepts here.
fn challenges(s: &AppState) -> Vec<HeaderValue> {
    let mut c = vec![];
    if s.negotiate.is_some() {
        c.push(HeaderValue::from_static("Negotiate"));
    }
    if s.cfg.pam.basic {
        c.push(HeaderValue::from_static(
            "Basic realm=\"sessiond\", charset=\"UTF-8\"",
        ));
    }
    c.push(HeaderValue::from_static("Bearer realm=\"sessiond\""));
    c
}

fn offer_challenges(mut resp: Response, challenges: &[HeaderValue]) -> Response {
    if resp.status() == StatusCode::UNAUTHORIZED {
        let headers = resp.headers_mut();
        headers.remove(header::WWW_AUTHENTICATE);
        for c in challenges {
            headers.append(header::WWW_AUTHENTICATE, c.clone());
        }
    }
    resp
}

/// CORS as PAM's REST API documents it: configured origins, optionally with credentials.
fn cors(cfg: &PamConfig) -> Option<CorsLayer> {
    if cfg.cors_origins.is_empty() {
        return None;
    }
    let origins = if cfg.cors_origins.iter().any(|o| o == "*") && !cfg.cors_credentials {
        AllowOrigin::any()
    } else {
        let list: Vec<HeaderValue> = cfg
            .cors_origins
            .iter()
            .filter(|o| *o != "*")
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        AllowOrigin::list(list)
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .expose_headers([header::WWW_AUTHENTICATE])
            .allow_credentials(cfg.cors_credentials),
    )
}
