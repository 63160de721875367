//! Commvault's error shape, in the format the request's `Accept` asks for:
//! JSON `{"errorCode","errorMessage"}` or XML `<CVGui_GenericResp errorCode=".." errorMessage=".."/>`.
//!
//! Every failure renders as JSON carrying an `ErrorMark`; the `Negotiate` service, which
//! knows the request's `Accept`, rewrites it as XML when asked.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::wire::Format;
use crate::dialect::Service;
use crate::problem::{Kind, Problem};

/// Error codes (Commvault leaves them to the server): 1 authentication, 2 bad input or not
/// found, 5 access denied, 3 the server's own trouble.
fn code(kind: Kind) -> i32 {
    match kind {
        Kind::Unauthorized => 1,
        Kind::Forbidden => 5,
        Kind::Unavailable | Kind::Internal => 3,
        _ => 2,
    }
}

#[derive(Serialize)]
struct JsonBody<'a> {
    #[serde(rename = "errorCode")]
    code: i32,
    #[serde(rename = "errorMessage")]
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename = "CVGui_GenericResp")]
struct XmlBody<'a> {
    #[serde(rename = "@errorCode")]
    code: i32,
    #[serde(rename = "@errorMessage")]
    message: &'a str,
}

/// Marks an error response so that `negotiate` can render it as XML.
#[derive(Clone)]
struct ErrorMark {
    code: i32,
    message: String,
}

/// JSON, marked so that `negotiate` can render it as XML when asked.
pub fn render(p: &Problem) -> Response {
    let code = code(p.kind);
    let message = match p.privilege {
        Some(privilege) => format!("Access denied: missing privilege {privilege}"),
        None => p.message.clone(),
    };
    let mut resp = (
        p.status(),
        Json(JsonBody {
            code,
            message: &message,
        }),
    )
        .into_response();
    resp.extensions_mut().insert(ErrorMark { code, message });
    resp
}

/// Renders error responses as XML when the request's `Accept` asks for XML. A service of
/// its own rather than axum's `from_fn`, which boxes and clones the rest of the chain on
/// every request.
#[derive(Clone)]
pub struct Negotiate(pub Service);

impl tower::Service<Request> for Negotiate {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let format = Format::of(req.headers());
        let answer = self.0.call(req);
        Box::pin(async move { Ok(as_asked(format, answer.await?)) })
    }
}

fn as_asked(format: Format, resp: Response) -> Response {
    if format != Format::Xml {
        return resp;
    }
    let Some(mark) = resp.extensions().get::<ErrorMark>().cloned() else {
        return resp;
    };
    let status = resp.status();
    let body = XmlBody {
        code: mark.code,
        message: &mark.message,
    };
    super::wire::xml_response(status, &body)
}

/// A plain-text 200, as Commvault answers Logout.
pub fn text(body: &'static str) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
