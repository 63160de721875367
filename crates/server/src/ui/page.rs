//! The frame every page shares, the error page, the stylesheet, and how times read.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};
use sessiond_core::{Principal, Privilege};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::csrf;
use crate::dialect::Shaped;
use crate::problem::{Kind, Problem};

const STYLE: &str = include_str!("style.css");

pub async fn style() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE,
    )
        .into_response()
}

/// Who is looking at a page, for its header: their name, their form token and which
/// admin pages they may open.
pub struct Nav<'a> {
    pub principal: &'a Principal,
    pub csrf: &'a str,
}

impl Nav<'_> {
    fn links(&self) -> Vec<(&'static str, &'static str)> {
        let p = self.principal;
        let mut links = vec![("/ui/sessions", "My sessions")];
        if p.has(Privilege::SESSION_READ) {
            links.push(("/ui/admin/sessions", "All sessions"));
            links.push(("/ui/admin/servers", "Servers"));
        }
        if p.has(Privilege::LOCAL_USER_READ) {
            links.push(("/ui/admin/users", "Users"));
        }
        if p.has(Privilege::AUDIT_READ) {
            links.push(("/ui/admin/audit", "Audit"));
        }
        links
    }
}

/// A whole page: `title`, the header (with navigation and sign-out when signed in), `body`.
pub fn layout(title: &str, nav: Option<&Nav>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · sessiond" }
                link rel="stylesheet" href="/ui/style.css";
            }
            body {
                header {
                    span.brand { "sessiond" }
                    @if let Some(nav) = nav {
                        nav {
                            @for (href, label) in nav.links() {
                                a href=(href) { (label) }
                            }
                        }
                        form.signout method="post" action="/ui/logout" {
                            (hidden_csrf(nav.csrf))
                            span.who { (nav.principal.user.name) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

pub fn hidden_csrf(token: &str) -> Markup {
    html! { input type="hidden" name=(csrf::FIELD) value=(token); }
}

/// A page as an answer; an error status on it is already the pages' own shape.
pub fn answer(status: StatusCode, page: Markup) -> Response {
    let mut resp = (status, Html(page.into_string())).into_response();
    resp.extensions_mut().insert(Shaped);
    resp
}

/// An error as a page; "who are you?" sends the browser to the sign-in page instead.
pub fn error(problem: &Problem) -> Response {
    if problem.kind == Kind::Unauthorized {
        return Redirect::to("/ui/login").into_response();
    }
    let title = match problem.kind {
        Kind::Forbidden => "Not allowed",
        Kind::NotFound => "Not found",
        Kind::TooManyRequests => "Too many attempts",
        Kind::Unavailable | Kind::Internal => "Something went wrong",
        _ => "That did not work",
    };
    let body = html! {
        p.error { (problem.message) }
        p { a href="/ui/sessions" { "Back to my sessions" } }
    };
    answer(problem.status(), layout(title, None, body))
}

/// "5 minutes ago", "in 2 hours", "just now".
pub fn ago(now: OffsetDateTime, t: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds();
    let (n, future) = if secs < 0 {
        (-secs, true)
    } else {
        (secs, false)
    };
    if n < 10 {
        return "just now".into();
    }
    let (count, unit) = match n {
        n if n < 60 => (n, "second"),
        n if n < 3_600 => (n / 60, "minute"),
        n if n < 86_400 => (n / 3_600, "hour"),
        n => (n / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    if future {
        format!("in {count} {unit}{plural}")
    } else {
        format!("{count} {unit}{plural} ago")
    }
}

/// A time as people read it, with the exact instant in `datetime` and on hover.
pub fn when(now: OffsetDateTime, t: OffsetDateTime) -> Markup {
    let exact = t.format(&Rfc3339).unwrap_or_default();
    html! { time datetime=(exact) title=(exact) { (ago(now, t)) } }
}

/// The browser's name and system from its User-Agent, for the session's client type
/// ("Chrome 131 on Linux"); the raw text when it is none of the usual ones.
pub fn browser(user_agent: &str) -> String {
    let version_of = |marker: &str| {
        user_agent.split(marker).nth(1).map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("")
                .to_owned()
        })
    };
    let name = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ]
    .iter()
    .find_map(|(marker, name)| version_of(marker).map(|v| format!("{name} {v}")));
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (name, system) {
        (Some(n), Some(s)) => format!("{n} on {s}"),
        (Some(n), None) => n,
        _ => user_agent
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn times_read_as_people_say_them() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now, now - Duration::seconds(42)), "42 seconds ago");
        assert_eq!(ago(now, now - Duration::minutes(5)), "5 minutes ago");
        assert_eq!(ago(now, now - Duration::minutes(61)), "1 hour ago");
        assert_eq!(ago(now, now - Duration::days(3)), "3 days ago");
        assert_eq!(ago(now, now + Duration::hours(2)), "in 2 hours");
    }

    #[test]
    fn browsers_by_name() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser(chrome), "Chrome 131 on Linux");
        let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser(headless), "Headless Chrome 156 on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(browser(firefox), "Firefox 133 on Windows");
        assert_eq!(browser("curl/8.5.0"), "curl/8.5.0");
    }
}
