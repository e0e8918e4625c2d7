//! The front-end pages: files under `web/` and `m2/` of the web root, served as they are.
//!
//! Only those two directories are reachable; `..`, absolute and hidden path segments are refused.
//! `/` leads to the start page (`web/index.html`, else the m2 app).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderMap;
use hyper::{Response, StatusCode};

/// MIME type by extension.
pub fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=UTF-8",
        "js" | "mjs" => "text/javascript; charset=UTF-8",
        "css" => "text/css; charset=UTF-8",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=UTF-8",
        _ => "application/octet-stream",
    }
}

/// Maps a URL path to a file under the web root, or `None` if it is not servable.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded: String = form_urlencoded::parse(format!("p={}", url_path.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    let rel = decoded.trim_start_matches('/');
    let mut segs: Vec<&str> = rel.split('/').collect();
    if !matches!(segs.first(), Some(&"web") | Some(&"m2")) {
        return None;
    }
    if segs.iter().any(|s| s.starts_with('.') || s.contains('\\') || s.contains('\0')) {
        return None;
    }
    if segs.last() == Some(&"") {
        segs.pop();
        segs.push("index.html");
    }
    let mut p = root.to_path_buf();
    for s in segs {
        p.push(s);
    }
    if p.is_dir() {
        p.push("index.html");
    }
    Some(p)
}

fn respond(status: StatusCode, ct: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    if let Ok(v) = ct.parse() {
        r.headers_mut().insert("Content-Type", v);
    }
    r
}

/// What a person sees for a page that does not exist: in the pages' language, with the way on.
const NOT_FOUND_PAGE: &str = "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>页面不存在 - 筋斗云</title>\
<link rel=\"stylesheet\" href=\"/web/lib/jdy.css\"></head><body><main class=\"notfound\" style=\"max-width:420px;margin:18vh auto;text-align:center;padding:0 20px\">\
<div style=\"font-size:48px\" aria-hidden=\"true\">☁</div><h1>页面不存在</h1>\
<p class=\"muted\">这个地址没有对应的页面, 可能已经移动或输入有误。</p>\
<p><a class=\"btn primary\" href=\"/m2/\">打开用户端</a> <a class=\"btn\" href=\"/\">返回首页</a></p>\
</main></body></html>\n";

fn not_found() -> Response<Full<Bytes>> {
    respond(StatusCode::NOT_FOUND, "text/html; charset=utf-8", Bytes::from_static(NOT_FOUND_PAGE.as_bytes()))
}

/// Serves a page or asset.
pub fn serve(root: &Path, method: &str, url_path: &str, headers: &HeaderMap) -> Response<Full<Bytes>> {
    if method != "GET" && method != "HEAD" {
        return respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", Bytes::from_static(b"method not allowed\n"));
    }
    if url_path == "/" {
        let to = if root.join("web/index.html").is_file() { "/web/" } else { "/m2/" };
        let mut r = respond(StatusCode::FOUND, "text/plain", Bytes::new());
        r.headers_mut().insert("Location", hyper::header::HeaderValue::from_static(to));
        return r;
    }
    let Some(path) = resolve(root, url_path) else {
        return not_found();
    };
    match std::fs::read(&path) {
        Ok(data) => {
            let etag = format!("\"{:x}\"", md5::compute(&data));
            if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
                return respond(StatusCode::NOT_MODIFIED, mime(&path), Bytes::new());
            }
            let body = if method == "HEAD" { Bytes::new() } else { Bytes::from(data) };
            let mut r = respond(StatusCode::OK, mime(&path), body);
            if let Ok(v) = etag.parse() {
                r.headers_mut().insert("ETag", v);
            }
            r.headers_mut().insert("Cache-Control", hyper::header::HeaderValue::from_static("no-cache"));
            r
        }
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_and_m2_are_reachable() {
        let root = Path::new("/srv");
        assert_eq!(resolve(root, "/web/store.html"), Some(PathBuf::from("/srv/web/store.html")));
        assert_eq!(resolve(root, "/m2/"), Some(PathBuf::from("/srv/m2/index.html")));
        assert_eq!(resolve(root, "/data/jdy.db"), None);
        assert_eq!(resolve(root, "/web/../data/jdy.db"), None);
        assert_eq!(resolve(root, "/web/%2e%2e/Cargo.toml"), None);
        assert_eq!(resolve(root, "/web/.git/config"), None);
    }
}
