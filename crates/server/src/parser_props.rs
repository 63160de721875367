//! Property tests over every parser of untrusted input in the server: credential headers
//! and cookies of each dialect, Basic and Negotiate framing, Commvault's paths and `Accept`,
//! PAM's version and host, Qumulo's identity grammar, forwarded addresses, the pages' cookie,
//! CSRF token, origin check and User-Agent naming, and the OAuth endpoints' form. None may panic, and every refusal is
//! the kind a client is told (401 for credentials, 400 for the rest).

use axum::http::{HeaderName, HeaderValue, Request};
use proptest::prelude::*;

use crate::dialect::{Credential, Dialect};
use crate::dialects::commvault::wire::Format;
use crate::dialects::commvault::{normalize_path, strip_scheme, Commvault};
use crate::dialects::netsession::NetSession;
use crate::dialects::pam::{handler, Pam};
use crate::dialects::qumulo::{identity, Qumulo};
use crate::dialects::symphony::Symphony;
use crate::native::Native;
use crate::oauth::{self, OAuth};
use crate::problem::Kind;
use crate::state::ServerConfig;
use crate::ui::{csrf, page, Ui};

/// Header values as a client could send them: any bytes a header may carry.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..200)
        .prop_filter_map("a valid header value", |b| HeaderValue::from_bytes(&b).ok());
    let schemed = (
        proptest::sample::select(vec![
            "Bearer ",
            "bearer ",
            "Basic ",
            "Negotiate ",
            "QSDK ",
            "Digest ",
            "",
            " ",
        ]),
        any::<String>(),
    )
        .prop_filter_map("a valid header value", |(scheme, rest)| {
            HeaderValue::from_str(&format!("{scheme}{rest}")).ok()
        });
    let basic = proptest::collection::vec(any::<u8>(), 0..80).prop_map(|b| {
        use base64::Engine as _;
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(b)
        );
        HeaderValue::from_str(&v).unwrap()
    });
    prop_oneof![bytes, schemed, basic]
}

fn parts_with(headers: Vec<(&'static str, HeaderValue)>) -> axum::http::request::Parts {
    let mut req = Request::builder().uri("/").body(()).unwrap();
    for (name, value) in headers {
        req.headers_mut()
            .append(HeaderName::from_static(name), value);
    }
    req.into_parts().0
}

fn check_credential<D: Dialect>(
    parts: &axum::http::request::Parts,
    cfg: &ServerConfig,
) -> Result<(), TestCaseError> {
    match D::credential(parts, cfg) {
        Ok(Some(Credential::Token(t))) => prop_assert!(!t.contains(['\r', '\n'])),
        Ok(Some(Credential::Password { username, password })) => {
            prop_assert!(!username.is_empty() && !password.is_empty());
        }
        Ok(_) => {}
        Err(f) => prop_assert_eq!(f.problem.kind, Kind::Unauthorized, "{:?}", f.problem),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_dialects_credential_parsing_refuses_with_401_or_accepts(
        name in proptest::sample::select(vec!["authorization", "authtoken", "sessiontoken", "cookie"]),
        value in header_value(),
        basic_enabled in any::<bool>(),
    ) {
        let mut cfg = ServerConfig::default();
        cfg.pam.basic = basic_enabled;
        let parts = parts_with(vec![(name, value)]);
        check_credential::<Native>(&parts, &cfg)?;
        check_credential::<NetSession>(&parts, &cfg)?;
        check_credential::<Qumulo>(&parts, &cfg)?;
        check_credential::<Commvault>(&parts, &cfg)?;
        check_credential::<Symphony>(&parts, &cfg)?;
        check_credential::<Pam>(&parts, &cfg)?;
        check_credential::<Ui>(&parts, &cfg)?;
        check_credential::<OAuth>(&parts, &cfg)?;
    }

    #[test]
    fn page_forms_refuse_other_sites_and_foreign_tokens(
        origin in proptest::option::of(header_value()),
        fetch_site in proptest::option::of(header_value()),
        host in header_value(),
        presented in any::<String>(),
        session in "[A-Za-z0-9_-]{43}",
    ) {
        let mut headers = vec![("host", host)];
        headers.extend(origin.map(|v| ("origin", v)));
        headers.extend(fetch_site.map(|v| ("sec-fetch-site", v)));
        let parts = parts_with(headers);
        if let Err(f) = csrf::same_site(&parts.headers) {
            prop_assert_eq!(f.problem.kind, Kind::Forbidden);
        }
        prop_assert!(!csrf::verify(&session, &presented) || presented == csrf::token_for(&session));
        prop_assert!(csrf::verify(&session, &csrf::token_for(&session)));
    }

    #[test]
    fn forwarded_headers_never_let_an_untrusted_peer_choose(
        forwarded in proptest::option::of(header_value()),
        xff in proptest::option::of(header_value()),
        peer_trusted in any::<bool>(),
    ) {
        let mut headers = Vec::new();
        headers.extend(forwarded.map(|v| ("forwarded", v)));
        headers.extend(xff.map(|v| ("x-forwarded-for", v)));
        let parts = parts_with(headers);
        let proxies: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: std::net::IpAddr = if peer_trusted { "10.1.2.3" } else { "198.51.100.7" }
            .parse()
            .unwrap();
        let o = crate::forwarded::origin(peer, &parts.headers, &proxies);
        if !peer_trusted {
            prop_assert_eq!(o.address, peer);
            prop_assert!(!o.forwarded && o.https.is_none());
        }
    }

    #[test]
    fn user_agents_name_a_browser_in_plain_text(ua in any::<String>()) {
        let name = page::browser(&ua);
        prop_assert!(!name.chars().any(char::is_control));
        prop_assert!(name.chars().count() <= 160);
    }

    #[test]
    fn basic_framing(encoded in any::<String>()) {
        match crate::extract::basic::<Pam>(&encoded) {
            Ok(Credential::Password { username, password }) => {
                prop_assert!(!username.is_empty() && !password.is_empty());
                prop_assert!(!username.contains('\\'));
            }
            Ok(_) => prop_assert!(false, "Basic is a password"),
            Err(f) => prop_assert_eq!(f.problem.kind, Kind::Unauthorized),
        }
    }

    #[test]
    fn commvault_paths_fold_stably(path in any::<String>(), query in proptest::option::of(any::<String>())) {
        let roots = ServerConfig::default().commvault_roots;
        let raw = match &query {
            Some(q) => format!("/webconsole/api/{}?{}", path, q),
            None => format!("/CommandCenter/API/{path}"),
        };
        // Only what parses as a URI reaches the server at all.
        if let Ok(uri) = raw.parse::<axum::http::Uri>() {
            let lower = uri.path().to_ascii_lowercase();
            let trimmed = lower.trim_end_matches('/');
            let root = roots.iter().find(|r| trimmed.starts_with(r.as_str())).map(String::as_str).unwrap_or("");
            let expected = if trimmed.len() < root.len() { root } else { trimmed };
            match normalize_path(&uri, &roots) {
                Some(folded) => {
                    prop_assert_eq!(normalize_path(&folded, &roots), None, "folding twice changes nothing");
                    prop_assert_eq!(folded.query(), uri.query());
                    prop_assert_eq!(folded.path(), expected);
                }
                None => prop_assert_eq!(uri.path(), expected),
            }
        }
        let _ = strip_scheme(&path);
    }

    #[test]
    fn oauth_forms_parse_or_refuse_and_the_token_is_what_was_sent(body in any::<Vec<u8>>()) {
        if let Ok(form) = serde_urlencoded::from_bytes::<oauth::TokenForm>(&body) {
            let token = oauth::presented(&form);
            prop_assert!(form.token.contains(token));
        }
    }

    #[test]
    fn accept_headers_choose_a_format(accept in header_value()) {
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::ACCEPT, accept);
        let _ = Format::of(&h);
    }

    #[test]
    fn pam_version_and_host(query in any::<String>(), host in any::<String>()) {
        if let Err(f) = handler::check_version(Some(&query)) {
            prop_assert_eq!(f.problem.kind, Kind::BadRequest);
        }
        let name = handler::host_name(&host);
        prop_assert!(host.starts_with(name));
    }

    #[test]
    fn qumulo_identity_grammar(s in any::<String>()) {
        if let Err(f) = identity::parse(&s) {
            prop_assert!(f.status().is_client_error(), "{:?}", f.problem);
        }
    }
}
