//! JSON answers written into a buffer sized for them up front.
//!
//! axum's `Json` starts from 128 bytes and doubles: a 10 KB answer reallocated seven times,
//! and with glibc each step past 1 KB also consolidated the allocator's free lists (9.5% of
//! a NetSession Enum's profile). The bytes and headers are those of `Json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `value` as `application/json`, written into `capacity` bytes (more if it needs).
pub fn json<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        // As `Json` does; the dialect's rejection shaping then dresses it.
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Its parts, one after the other, as one JSON string written straight into the answer
/// (escaped as any string), without joining them into a `String` first.
pub struct Concat<'a, const N: usize>(pub [&'a str; N]);

impl<const N: usize> Serialize for Concat<'_, N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<const N: usize> std::fmt::Display for Concat<'_, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|part| f.write_str(part))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_is_the_joined_string() {
        let parts = Concat(["\\\\", "pc\"1\u{1}", ""]);
        assert_eq!(
            serde_json::to_string(&parts).unwrap(),
            serde_json::to_string("\\\\pc\"1\u{1}").unwrap()
        );
    }

    #[tokio::test]
    async fn the_same_answer_as_axums_json() {
        let value = serde_json::json!({"entries": [1, 2, 3], "name": "x\u{1b}"});
        let ours = json(&value, 4096);
        let theirs = axum::Json(&value).into_response();
        assert_eq!(ours.status(), theirs.status());
        assert_eq!(ours.headers(), theirs.headers());
        let body =
            |r: Response| async { axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap() };
        assert_eq!(body(ours).await, body(theirs).await);
    }
}
