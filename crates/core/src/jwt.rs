//! RS512 pubkey JWTs, as Symphony bots and apps present them: header `{"alg":"RS512"}`,
//! claims `sub` and `exp` only. The signature must verify with one of the subject's
//! registered public keys; `exp` must be in the future and at most five minutes ahead.
//! Replays are not refused: RS512 signing is deterministic and `exp` has one-second
//! resolution, so a client sends byte-identical JWTs to `/login` and `/relay`.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// How far ahead `exp` may be (Symphony's rule), and the clock skew tolerated.
pub const MAX_AHEAD: Duration = Duration::minutes(5);
pub const SKEW: Duration = Duration::seconds(10);
/// Bounds on what is parsed at all.
const MAX_JWT: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the JWT is malformed")]
    Malformed,
    #[error("the JWT must be signed with RS512")]
    Algorithm,
    #[error("the JWT's signature does not match a registered key")]
    Signature,
    #[error("the JWT has expired")]
    Expired,
    #[error("the JWT's exp is more than 5 minutes ahead")]
    TooFarAhead,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::RS512);
    // Expiry is checked against the core's clock, below.
    v.validate_exp = false;
    v.required_spec_claims = ["sub", "exp"].iter().map(|s| s.to_string()).collect();
    v
}

fn check_alg(jwt: &str) -> Result<(), JwtError> {
    if jwt.len() > MAX_JWT {
        return Err(JwtError::Malformed);
    }
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| JwtError::Malformed)?;
    if header.alg != Algorithm::RS512 {
        return Err(JwtError::Algorithm);
    }
    Ok(())
}

/// The claimed subject, before any key is looked up. Nothing here is trusted yet.
pub fn claimed_subject(jwt: &str) -> Result<String, JwtError> {
    check_alg(jwt)?;
    let claims: Claims =
        jsonwebtoken::dangerous::insecure_decode_claims(jwt).map_err(|_| JwtError::Malformed)?;
    Ok(claims.sub)
}

/// Verifies the JWT with any of `public_keys` (PEM) and checks `exp` against `now`.
/// Returns the subject.
pub fn verify(jwt: &str, public_keys: &[&str], now: OffsetDateTime) -> Result<String, JwtError> {
    check_alg(jwt)?;
    let v = validation();
    let claims = public_keys
        .iter()
        .filter_map(|pem| DecodingKey::from_rsa_pem(pem.as_bytes()).ok())
        .find_map(|key| jsonwebtoken::decode::<Claims>(jwt, &key, &v).ok())
        .ok_or(JwtError::Signature)?
        .claims;
    let exp = OffsetDateTime::from_unix_timestamp(claims.exp).map_err(|_| JwtError::Malformed)?;
    if exp + SKEW <= now {
        return Err(JwtError::Expired);
    }
    if exp > now + MAX_AHEAD + SKEW {
        return Err(JwtError::TooFarAhead);
    }
    Ok(claims.sub)
}

/// Checks a public key before it is registered: RSA, at least 2048 bits, PEM as SPKI or
/// PKCS#1. Returns the PEM normalised to SPKI.
pub fn check_public_key(pem: &str) -> Result<String, String> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
    use rsa::traits::PublicKeyParts;
    if pem.len() > 16 * 1024 {
        return Err("the public key is too large".into());
    }
    let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(|_| {
            "public_key must be an RSA public key in PEM (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY)"
                .to_owned()
        })?;
    let bits = key.size() * 8;
    if bits < 2048 {
        return Err(format!(
            "the RSA key has {bits} bits; at least 2048 are required"
        ));
    }
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const BOT_KEY: &str = include_str!("../../../tests/fixtures/keys/bot.key");
    const BOT_PUB: &str = include_str!("../../../tests/fixtures/keys/bot.pub");
    const BOT_PKCS1: &str = include_str!("../../../tests/fixtures/keys/bot.pkcs1.pub");
    const OTHER_PUB: &str = include_str!("../../../tests/fixtures/keys/other.pub");
    const WEAK_PUB: &str = include_str!("../../../tests/fixtures/keys/weak.pub");
    const EC_PUB: &str = include_str!("../../../tests/fixtures/keys/ec.pub");

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn sign(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::RS512),
            &claims,
            &EncodingKey::from_rsa_pem(BOT_KEY.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn exp_in(secs: i64) -> i64 {
        (now() + Duration::seconds(secs)).unix_timestamp()
    }

    #[test]
    fn a_good_jwt_verifies_with_any_registered_key() {
        let jwt = sign(json!({"sub": "bot", "exp": exp_in(240)}));
        assert_eq!(claimed_subject(&jwt).unwrap(), "bot");
        assert_eq!(verify(&jwt, &[OTHER_PUB, BOT_PUB], now()).unwrap(), "bot");
        assert_eq!(verify(&jwt, &[BOT_PKCS1], now()).unwrap(), "bot");
        // The same JWT again (as the BDK sends to /login and /relay) is fine.
        assert_eq!(verify(&jwt, &[BOT_PUB], now()).unwrap(), "bot");
    }

    #[test]
    fn the_rules() {
        let wrong_key = sign(json!({"sub": "bot", "exp": exp_in(240)}));
        assert_eq!(
            verify(&wrong_key, &[OTHER_PUB], now()),
            Err(JwtError::Signature)
        );
        assert_eq!(verify(&wrong_key, &[], now()), Err(JwtError::Signature));
        let expired = sign(json!({"sub": "bot", "exp": exp_in(-60)}));
        assert_eq!(verify(&expired, &[BOT_PUB], now()), Err(JwtError::Expired));
        let too_far = sign(json!({"sub": "bot", "exp": exp_in(3600)}));
        assert_eq!(
            verify(&too_far, &[BOT_PUB], now()),
            Err(JwtError::TooFarAhead)
        );
        let no_exp = sign(json!({"sub": "bot"}));
        assert_eq!(verify(&no_exp, &[BOT_PUB], now()), Err(JwtError::Signature));
        // HS512 keyed with the public key must not pass as RS512.
        let hs = encode(
            &Header::new(Algorithm::HS512),
            &json!({"sub": "bot", "exp": exp_in(240)}),
            &EncodingKey::from_secret(BOT_PUB.as_bytes()),
        )
        .unwrap();
        assert_eq!(verify(&hs, &[BOT_PUB], now()), Err(JwtError::Algorithm));
        let rs256 = encode(
            &Header::new(Algorithm::RS256),
            &json!({"sub": "bot", "exp": exp_in(240)}),
            &EncodingKey::from_rsa_pem(BOT_KEY.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(verify(&rs256, &[BOT_PUB], now()), Err(JwtError::Algorithm));
        // alg "none", unsigned.
        let none = format!(
            "{}.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                br#"{"alg":"none","typ":"JWT"}"#
            ),
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                br#"{"sub":"bot","exp":1800000240}"#
            )
        );
        assert!(verify(&none, &[BOT_PUB], now()).is_err());
        for junk in ["", "a.b.c", "not a jwt", &"x".repeat(10_000)] {
            assert!(verify(junk, &[BOT_PUB], now()).is_err(), "{junk:.20}");
            assert!(claimed_subject(junk).is_err());
        }
    }

    #[test]
    fn only_rsa_keys_of_2048_bits_or_more_are_registered() {
        assert!(check_public_key(BOT_PUB)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(check_public_key(BOT_PKCS1)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(check_public_key(WEAK_PUB)
            .unwrap_err()
            .contains("1024 bits"));
        assert!(check_public_key(EC_PUB).is_err());
        assert!(check_public_key("hello").is_err());
    }
}

#[cfg(test)]
mod properties {
    use base64::Engine as _;
    use proptest::prelude::*;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Three dot-separated parts, each base64 of arbitrary bytes or of JSON-looking text.
    fn jwt_like() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..120).prop_map(|b| b64(&b)),
            any::<String>().prop_map(|s| b64(s.as_bytes())),
            Just(b64(br#"{"alg":"RS512","typ":"JWT"}"#)),
            Just(b64(br#"{"alg":"none"}"#)),
            Just(b64(br#"{"sub":"bot","exp":99999999999}"#)),
            any::<String>(),
        ];
        (part.clone(), part.clone(), part).prop_map(|(a, b, c)| format!("{a}.{b}.{c}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn untrusted_jwts_never_panic_and_never_verify(jwt in prop_oneof![jwt_like(), any::<String>()]) {
            let _ = claimed_subject(&jwt);
            let key = include_str!("../../../tests/fixtures/keys/bot.pub");
            prop_assert!(verify(&jwt, &[key], OffsetDateTime::UNIX_EPOCH).is_err());
        }

        #[test]
        fn untrusted_public_keys_never_panic(pem in any::<String>()) {
            let _ = check_public_key(&pem);
            let wrapped = format!("-----BEGIN PUBLIC KEY-----\n{pem}\n-----END PUBLIC KEY-----\n");
            prop_assert!(check_public_key(&wrapped).is_err());
        }
    }
}
