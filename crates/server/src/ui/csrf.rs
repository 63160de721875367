//! Forms and their CSRF tokens.
//!
//! A form's token is HMAC-SHA256 keyed with the page session's own token, so it is bound
//! to that session, needs no state and no server secret (every node derives the same), and
//! cannot be computed by anyone who cannot read the HttpOnly cookie. It is not the token's
//! stored hash (a plain SHA-256), so a page never shows what the store keys sessions by.
//!
//! Besides the token, a POST that a browser marks as coming from another site (`Origin`
//! naming another host, or `Sec-Fetch-Site: cross-site`) is refused before anything else.

use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::{cookie_token, UiError};
use crate::extract::read_body;
use crate::problem::Kind;
use crate::state::AppState;

type HmacSha256 = Hmac<Sha256>;

const LABEL: &[u8] = b"sessiond ui csrf v1";

/// The name of the hidden input every form carries.
pub const FIELD: &str = "csrf";

/// The CSRF token of the page session whose token is `session_token`.
pub fn token_for(session_token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(mac(session_token).finalize().into_bytes())
}

fn mac(session_token: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(session_token.as_bytes())
        .expect("HMAC takes a key of any length");
    m.update(LABEL);
    m
}

/// Whether `presented` is the CSRF token of the session `session_token`, in constant time.
pub fn verify(session_token: &str, presented: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(presented) else {
        return false;
    };
    mac(session_token).verify_slice(&bytes).is_ok()
}

fn forbidden() -> UiError {
    UiError::new(
        Kind::Forbidden,
        "This form is out of date or was not sent from this site. Reload the page and try again.",
    )
}

/// Refuses a request a browser says comes from another site.
pub fn same_site(headers: &HeaderMap) -> Result<(), UiError> {
    let cross_fetch = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    if cross_fetch {
        return Err(forbidden());
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(forbidden()),
    }
}

/// The pairs of a form body (`application/x-www-form-urlencoded`), bounded and read in time.
pub async fn pairs(req: Request, s: &AppState) -> Result<(Parts, Vec<(String, String)>), UiError> {
    let (parts, body) = req.into_parts();
    same_site(&parts.headers)?;
    let bytes = read_body::<super::Ui>(body, s.cfg.max_body_bytes, s).await?;
    let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .map_err(|_| UiError::bad_request("The form could not be read."))?;
    Ok((parts, pairs))
}

/// A form posted by one of the session's own pages: its CSRF token checked, then its
/// fields. A missing or foreign token is 403 and the handler never runs.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, pairs) = pairs(req, s).await?;
        let session_token = cookie_token(&parts.headers).ok_or_else(forbidden)?;
        let presented = pairs
            .iter()
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.as_str())
            .ok_or_else(forbidden)?;
        if !verify(session_token, presented) {
            tracing::info!("page form refused: CSRF token missing or not this session's");
            return Err(forbidden());
        }
        let fields = serde_urlencoded::to_string(&pairs)
            .ok()
            .and_then(|encoded| serde_urlencoded::from_str(&encoded).ok())
            .ok_or_else(|| UiError::bad_request("The form is missing a field."))?;
        Ok(Form(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_token_fits_its_own_session_only() {
        let mine = token_for("session-a");
        assert!(verify("session-a", &mine));
        assert!(!verify("session-b", &mine));
        assert!(!verify("session-a", ""));
        assert!(!verify("session-a", "not base64 !"));
        assert_ne!(mine, token_for("session-b"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_this_site_may_post() {
        assert!(same_site(&headers(&[("host", "sd:8443")])).is_ok());
        assert!(same_site(&headers(&[
            ("host", "sd:8443"),
            ("origin", "https://sd:8443")
        ]))
        .is_ok());
        assert!(same_site(&headers(&[
            ("host", "sd:8443"),
            ("origin", "https://evil:8443")
        ]))
        .is_err());
        assert!(same_site(&headers(&[("host", "sd:8443"), ("origin", "null")])).is_err());
        assert!(same_site(&headers(&[
            ("host", "sd"),
            ("sec-fetch-site", "cross-site")
        ]))
        .is_err());
        assert!(same_site(&headers(&[
            ("host", "sd"),
            ("sec-fetch-site", "same-origin")
        ]))
        .is_ok());
    }
}
