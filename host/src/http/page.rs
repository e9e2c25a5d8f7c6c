//! The status page at `/`: static files from `page/`, embedded in the binary with
//! `include_str!` (no build step, nothing fetched from elsewhere), served with a
//! content security policy that lets the page talk only to this host.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Http;

/// What the page may load and call: only this host, no inline scripts or styles.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file of the page: path, content type, contents.
const FILES: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("page/index.html")),
    ("/index.html", HTML, include_str!("page/index.html")),
    ("/app.js", JS, include_str!("page/app.js")),
    ("/app.css", CSS, include_str!("page/app.css")),
    (
        "/uPlot.iife.min.js",
        JS,
        include_str!("page/uPlot.iife.min.js"),
    ),
    ("/uPlot.min.css", CSS, include_str!("page/uPlot.min.css")),
    (
        "/uPlot.LICENSE",
        "text/plain; charset=utf-8",
        include_str!("page/uPlot.LICENSE"),
    ),
];

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
        ],
        body,
    )
        .into_response()
}

/// The page's routes.
pub(super) fn routes() -> Router<Arc<Http>> {
    FILES
        .iter()
        .fold(Router::new(), |router, (path, content_type, body)| {
            router.route(path, get(move || async move { file(content_type, body) }))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by listing: a file added to page/ must be served, or the page breaks.
    #[test]
    fn every_file_of_the_page_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/page");
        for entry in std::fs::read_dir(&dir).expect("page dir") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            assert!(
                FILES
                    .iter()
                    .any(|(p, _, _)| p.trim_start_matches('/') == name),
                "{name} is in src/http/page but not served"
            );
        }
    }

    #[test]
    fn the_page_loads_only_what_is_served() {
        let html = include_str!("page/index.html");
        for src in html
            .split(['"', '\''])
            .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
        {
            assert!(
                FILES
                    .iter()
                    .any(|(p, _, _)| p.trim_start_matches('/') == src),
                "index.html loads {src}, which is not served"
            );
        }
    }
}
