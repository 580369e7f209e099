//! The page around every console page: header with the signed-in person
//! and role, navigation by role, sign-out, and a place for errors.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use callward_core::Role;

use super::html::Html;

/// Where the stylesheet is served (versioned by the crate version, so a
/// new build is never served an old cached copy).
pub(crate) const CSS_PATH: &str = concat!(
    "/console/assets/console-",
    env!("CARGO_PKG_VERSION"),
    ".css"
);
/// Where the script is served.
pub(crate) const JS_PATH: &str =
    concat!("/console/assets/console-", env!("CARGO_PKG_VERSION"), ".js");

/// The stylesheet, embedded in the binary.
pub(crate) const CSS: &str = include_str!("../../assets/console.css");
/// The script (keyboard and small helpers; every page works without it).
pub(crate) const JS: &str = include_str!("../../assets/console.js");

/// Who is looking at a page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) username: String,
    pub(crate) role: Role,
    /// The session's CSRF token, put into every form.
    pub(crate) csrf: String,
}

/// The navigation a role sees: (path, label).
pub(crate) fn nav(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Investigator => &[
            ("/console", "Home"),
            ("/console/calls", "Call search"),
            ("/console/cases", "Cases"),
            ("/console/live", "Live calls"),
            ("/console/approvals", "Approvals"),
        ],
        Role::Supervisor => &[("/console", "Home"), ("/console/approvals", "Approvals")],
        Role::Auditor => &[("/console", "Home"), ("/console/audit", "Access log")],
        Role::Admin => &[
            ("/console", "Home"),
            ("/console/admin/facilities", "Facilities"),
            ("/console/admin/people", "People"),
            ("/console/admin/privileged", "Attorney numbers"),
            ("/console/admin/users", "Users"),
            ("/console/admin/rules", "Hours and tariffs"),
        ],
        Role::Family => &[("/console", "Home"), ("/console/family", "Your account")],
        Role::Attorney => &[("/console", "Home"), ("/console/attorney", "Your numbers")],
        _ => &[("/console", "Home")],
    }
}

/// A hidden CSRF field for a form.
pub(crate) fn csrf_field(out: &mut Html, viewer: &Viewer) {
    out.raw("<input type=\"hidden\" name=\"csrf\" value=\"")
        .text(&viewer.csrf)
        .raw("\">");
}

/// A whole page: `title`, who is signed in (if anyone), the page's own
/// `body`, and an `error` shown at the top (announced to screen readers).
pub(crate) fn page(
    status: StatusCode,
    title: &str,
    viewer: Option<&Viewer>,
    error: Option<&str>,
    body: &Html,
) -> Response {
    let mut h = Html::new();
    h.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · callward</title><link rel=\"stylesheet\" href=\"")
        .raw(CSS_PATH)
        .raw("\"><script defer src=\"")
        .raw(JS_PATH)
        .raw("\"></script></head><body>")
        .raw("<a class=\"skip\" href=\"#main\">Skip to content</a>")
        .raw("<header><span class=\"brand\">callward</span>");
    if let Some(v) = viewer {
        h.raw("<nav aria-label=\"Main\"><ul>");
        for (path, label) in nav(v.role) {
            h.raw("<li><a href=\"")
                .raw(path)
                .raw("\">")
                .raw(label)
                .raw("</a></li>");
        }
        h.raw("</ul></nav><div class=\"who\"><span id=\"who\">")
            .text(&v.username)
            .raw(" <span class=\"role\">(")
            .raw(v.role.as_str())
            .raw(")</span></span>")
            .raw("<form method=\"post\" action=\"/console/sign-out\">");
        csrf_field(&mut h, v);
        h.raw("<button type=\"submit\">Sign out</button></form></div>");
    }
    h.raw("</header><main id=\"main\" tabindex=\"-1\"><h1>")
        .text(title)
        .raw("</h1>");
    if let Some(e) = error {
        h.raw("<p class=\"error\" role=\"alert\" id=\"error\">")
            .text(e)
            .raw("</p>");
    }
    h.html(body).raw("</main></body></html>\n");
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        h.into_string(),
    )
        .into_response()
}

/// The stylesheet.
pub(crate) async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// The script.
pub(crate) async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn pages_escape_what_they_are_given_and_show_the_role_nav() {
        let viewer = Viewer {
            username: "<img src=x onerror=alert(1)>".to_owned(),
            role: Role::Investigator,
            csrf: "\"><script>".to_owned(),
        };
        let mut b = Html::new();
        b.text("</main><script>alert(2)</script>");
        let response = page(
            StatusCode::OK,
            "a \"title\"",
            Some(&viewer),
            Some("<b>error</b>"),
            &b,
        );
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let html = body(response).await;
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>error"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("name=\"csrf\" value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(html.contains(
            "<p class=\"error\" role=\"alert\" id=\"error\">&lt;b&gt;error&lt;/b&gt;</p>"
        ));
        assert!(html.contains("<a href=\"/console/calls\">Call search</a>"));
        assert!(!html.contains("/console/admin/"));
        assert!(html.contains("<title>a &quot;title&quot; · callward</title>"));
    }

    #[test]
    fn every_role_has_a_home_and_only_its_own_pages() {
        for role in Role::ALL {
            let links = nav(role);
            assert_eq!(links[0].0, "/console", "{role}");
            let calls = links.iter().any(|(p, _)| p.starts_with("/console/calls"));
            assert_eq!(calls, role == Role::Investigator, "{role}");
            let admin = links.iter().any(|(p, _)| p.starts_with("/console/admin"));
            assert_eq!(admin, role == Role::Admin, "{role}");
        }
    }

    #[tokio::test]
    async fn assets_are_embedded_with_their_types() {
        let css = css().await;
        assert_eq!(
            css.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert!(body(css).await.contains("@media (max-width: 40rem)"));
        let js = js().await;
        assert_eq!(
            js.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(body(js).await.contains("DOMContentLoaded"));
    }
}
