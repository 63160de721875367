//! Commvault's wire formats: JSON, or XML when `Accept` asks for it, with the element and
//! attribute names of Commvault's own samples.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What a request's `Accept` asks for: the first of JSON and XML it names wins; JSON when
/// it names neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn of(headers: &HeaderMap) -> Format {
        let accept = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
            .to_ascii_lowercase();
        for item in accept.split(',') {
            let media = item.split(';').next().unwrap_or("").trim();
            if media == "application/json" || media.ends_with("+json") {
                return Format::Json;
            }
            if media == "application/xml" || media == "text/xml" || media.ends_with("+xml") {
                return Format::Xml;
            }
        }
        Format::Json
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Format {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Format::of(&parts.headers))
    }
}

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no" ?>"#;

pub fn xml_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match quick_xml::se::to_string(body) {
        Ok(xml) => {
            let mut resp = (status, format!("{XML_DECLARATION}\n{xml}")).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=utf-8"),
            );
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot render XML");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// One answer in either format.
pub fn respond<J: Serialize, X: Serialize>(format: Format, json: &J, xml: &X) -> Response {
    match format {
        Format::Json => axum::Json(json).into_response(),
        Format::Xml => xml_response(StatusCode::OK, xml),
    }
}

/// One shape, for a caller that builds only the one asked for.
pub fn respond_json<J: Serialize>(json: &J) -> Response {
    // Session lists run to a few KB: one buffer rather than doubling from 128 bytes.
    crate::sized_json::json(json, 4096)
}

pub fn respond_xml<X: Serialize>(xml: &X) -> Response {
    xml_response(StatusCode::OK, xml)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        h
    }

    #[test]
    fn accept_decides_the_format() {
        assert_eq!(Format::of(&with("application/xml")), Format::Xml);
        assert_eq!(Format::of(&with("text/xml, application/json")), Format::Xml);
        assert_eq!(
            Format::of(&with("application/json, application/xml")),
            Format::Json
        );
        assert_eq!(Format::of(&with("*/*")), Format::Json);
        assert_eq!(Format::of(&HeaderMap::new()), Format::Json);
    }
}
