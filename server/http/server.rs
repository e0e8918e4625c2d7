//! The hyper 1 accept loop and the translation between HTTP and the protocol core.
//!
//! This is the only place hyper types appear. A request becomes an `api::dispatch::Request` (action,
//! URL and body parameters, caller's token); the call runs on the blocking pool (one call = one
//! closure with one connection and one transaction); the `Output` becomes a response with the
//! protocol's headers. Shutdown stops accepting, lets open connections finish, then drains ApiLog.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::net::TcpListener;

use super::{form, route, static_files};
use crate::api::auth::AppType;
use crate::api::dispatch::{self, Output};
use crate::api::params::Params;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long a client may take to send a request body (uploads included).
const BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
    addr: SocketAddr,
}

impl Application {
    /// Opens the database (creating/upgrading it) for `product` and binds the listen address.
    pub async fn build(
        config: Config,
        product: Arc<dyn crate::state::Product>,
    ) -> Result<Application, Box<dyn std::error::Error + Send + Sync>> {
        let state = tokio::task::spawn_blocking(move || AppState::open(config, product.as_ref())).await??;
        let listener = TcpListener::bind(&state.config.addr).await?;
        let addr = listener.local_addr()?;
        Ok(Application { listener, state, addr })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (tests use it to flush ApiLog).
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then stops gracefully: no new connections, open requests
    /// finish (10 s at most), background tasks stop (a run in progress finishes), queued log rows are
    /// written and the WAL is checkpointed.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) {
        let (stop_tasks, stopping) = tokio::sync::watch::channel(false);
        let runners: Vec<_> =
            self.state.tasks.iter().map(|t| spawn_task(self.state.clone(), t.clone(), stopping.clone())).collect();
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                conn = self.listener.accept() => {
                    let (stream, peer) = match conn {
                        Ok(c) => c,
                        Err(e) => {
                            // Out of file descriptors and the like: back off instead of spinning.
                            log::warn!("accept: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let state = self.state.clone();
                    // The caller's address as ApiLog writes it, formatted once per connection, not per call.
                    let ip: Arc<str> = peer.ip().to_string().into();
                    let svc = service_fn(move |req| serve(state.clone(), ip.clone(), req));
                    // A client that never finishes its request head is dropped instead of holding a
                    // connection (and its memory) forever.
                    let conn = http1::Builder::new()
                        .keep_alive(true)
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(self.state.config.header_timeout))
                        .serve_connection(TokioIo::new(stream), svc);
                    let fut = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = fut.await {
                            log::debug!("connection from {peer}: {e}");
                        }
                    });
                }
                _ = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(Duration::from_secs(10)) => log::warn!("connections still open after 10s; closing"),
        }
        let _ = stop_tasks.send(true);
        for r in runners {
            let _ = r.await;
        }
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.apilog.shutdown()).await;
    }
}

/// Runs a background task every `task.every` until `stopping` turns true.
fn spawn_task(
    state: Arc<AppState>,
    task: crate::state::Task,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(task.every) => {}
                _ = stopping.changed() => return,
            }
            let st = state.clone();
            let run = task.run;
            match tokio::task::spawn_blocking(move || run(&st)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log::error!("task {}: {e}", task.name),
                Err(e) => log::error!("task {} panicked: {e}", task.name),
            }
            if *stopping.borrow() {
                return;
            }
        }
    })
}

type Resp = Response<Full<Bytes>>;

/// Request headers handed to handlers (`Params::header`): only what conditional and partial downloads
/// (`att`) need, so cookies and credentials never travel further than this file.
const HANDLER_HEADERS: [HeaderName; 3] = [hyper::header::IF_NONE_MATCH, hyper::header::RANGE, hyper::header::IF_RANGE];

async fn serve(state: Arc<AppState>, peer: Arc<str>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let path = req.uri().path();
    if !route::is_api(path) {
        return Ok(static_files::serve(&state.config.web_root, req.method().as_str(), path, req.headers()));
    }
    // For load balancers and monitors: answered here, no call, no ApiLog row; 503 once the writer has stopped.
    if path == "/api/health" {
        let up = state.db.writer().is_running();
        let mut r = Response::new(Full::new(Bytes::from_static(if up { b"ok\n" } else { b"stopping\n" })));
        *r.status_mut() = if up { hyper::StatusCode::OK } else { hyper::StatusCode::SERVICE_UNAVAILABLE };
        r.headers_mut().insert("Content-Type", HeaderValue::from_static("text/plain; charset=UTF-8"));
        r.headers_mut().insert("Cache-Control", HeaderValue::from_static("no-store"));
        return Ok(r);
    }
    let origin = req.headers().get(hyper::header::ORIGIN).cloned();
    let acrh = req.headers().get(hyper::header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    let mut resp = if req.method() == hyper::Method::OPTIONS || req.method() == hyper::Method::HEAD {
        let mut r = Response::new(Full::new(Bytes::new()));
        r.headers_mut().insert("Allow", HeaderValue::from_static("GET, POST, PATCH, DELETE, OPTIONS, HEAD"));
        r
    } else {
        // Boxed: hyper moves this future into its connection and again to poll it, so it is kept to a
        // few words; the call's own future (kilobytes) stays where it was made.
        let out = Box::pin(call(state.clone(), peer, req)).await;
        to_response(out)
    };
    api_headers(resp.headers_mut(), &state, origin, acrh);
    Ok(resp)
}

fn to_response(out: Output) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(out.body)));
    *r.status_mut() = hyper::StatusCode::from_u16(out.status).unwrap_or(hyper::StatusCode::OK);
    let h = r.headers_mut();
    let ct = if out.content_type == TEXT_PLAIN {
        Ok(HeaderValue::from_static(TEXT_PLAIN))
    } else {
        HeaderValue::from_str(&out.content_type)
    };
    if let Ok(v) = ct {
        h.insert(hyper::header::CONTENT_TYPE, v);
    }
    for (k, v) in out.headers {
        if let (Ok(k), Ok(v)) = (hyper::header::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            h.append(k, v);
        }
    }
    r
}

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

/// The `X-Daca-Server-Rev` value, made once per process for its configured revision (a clone shares
/// the bytes); another revision (a second server in one test process) is made each time.
fn rev_header(rev: &str) -> Option<HeaderValue> {
    static MADE: std::sync::OnceLock<(String, Option<HeaderValue>)> = std::sync::OnceLock::new();
    let (r, v) = MADE.get_or_init(|| (rev.to_string(), HeaderValue::from_str(rev).ok()));
    if r == rev {
        v.clone()
    } else {
        HeaderValue::from_str(rev).ok()
    }
}

/// The protocol's response headers (§1.6), CORS included.
fn api_headers(h: &mut HeaderMap, state: &AppState, origin: Option<HeaderValue>, acrh: Option<HeaderValue>) {
    use hyper::header::{CACHE_CONTROL, CONTENT_TYPE};
    // Names as constants and the revision's value made once: parsing them per call showed in profiles.
    const X_POWERED_BY: HeaderName = HeaderName::from_static("x-powered-by");
    const X_SERVER_REV: HeaderName = HeaderName::from_static("x-daca-server-rev");
    const X_TEST_MODE: HeaderName = HeaderName::from_static("x-daca-test-mode");
    // Raw replies (att) may set their own caching; everything else must not be cached.
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    h.insert(X_POWERED_BY, HeaderValue::from_static("jdcloud"));
    if let Some(v) = rev_header(&state.config.server_rev) {
        h.insert(X_SERVER_REV, v);
    }
    if state.config.test_mode {
        h.insert(X_TEST_MODE, HeaderValue::from_static("1"));
    }
    if !h.contains_key(CONTENT_TYPE) {
        h.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
    }
    if let Some(o) = origin {
        h.insert(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(hyper::header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        h.insert(
            hyper::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("X-Daca-Server-Rev, X-Daca-Test-Mode, X-Daca-Mock-Mode"),
        );
        h.insert(
            hyper::header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PATCH, DELETE, OPTIONS"),
        );
        if let Some(a) = acrh {
            h.insert(hyper::header::ACCESS_CONTROL_ALLOW_HEADERS, a);
        }
    }
}

/// Reads the request into a protocol request and runs it (see `dispatch::handle` for where).
async fn call(state: Arc<AppState>, peer: Arc<str>, req: Request<Incoming>) -> Output {
    // Two futures one after the other, so that nothing of the HTTP request is held (and copied with
    // the future) while the call runs.
    let (r, pre_error) = read_request(&state, peer, req).await;
    dispatch::handle(state, r, pre_error).await
}

/// The protocol request of an HTTP request, or what was wrong with it (answered and logged as a
/// failed call).
///
/// Headers are looked up by `HeaderName` constants: a lookup by `&str` parses the name first, and a
/// call makes a dozen of them.
async fn read_request(
    state: &AppState,
    peer: Arc<str>,
    req: Request<Incoming>,
) -> (dispatch::Request, Option<ApiError>) {
    use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
    const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
    let (parts, body) = req.into_parts();
    let url = form::parse_urlencoded(parts.uri.query().unwrap_or("").as_bytes());
    let header = |k: &HeaderName| parts.headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let app = url.get("_app").and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or("user").to_string();
    let (app_type, type_name) = AppType::of_app(&app);
    let token = token(&parts.headers, type_name, app_type);
    let ua = header(&USER_AGENT);
    let mut r = dispatch::Request {
        post: parts.method == hyper::Method::POST,
        app,
        token,
        addr: match header(&X_FORWARDED_FOR) {
            f if f.is_empty() => peer.to_string(),
            f => format!("{peer}; {f}"),
        },
        ver: version(&url, &ua),
        ua,
        ..Default::default()
    };
    let content_type = header(&CONTENT_TYPE);
    let declared: usize = header(&CONTENT_LENGTH).parse().unwrap_or(0);
    let target = parts.uri.path_and_query().map_or(parts.uri.path().len(), |pq| pq.as_str().len());
    r.reqsz = (target + declared) as i64;

    let prepared: ApiResult<(String, Params)> = async {
        let route = route::route(
            parts.method.as_str(),
            parts.uri.path(),
            url.get("_ac").and_then(Value::as_str),
            url.get("ac").and_then(Value::as_str),
        )?;
        let max = state.config.max_body;
        if declared > max {
            return Err(too_large(max));
        }
        // A request without a body (most GETs) needs no read, and so no timer for it.
        // Reading a body and parsing a multipart one are futures of their own, boxed: held inline they
        // made every call's future kilobytes larger, and a future is copied each time it moves.
        let bytes =
            if hyper::body::Body::is_end_stream(&body) { Bytes::new() } else { Box::pin(read_body(body, max)).await? };
        let raw_upload = matches!(url.get("fmt").and_then(Value::as_str), Some("raw" | "raw_b64"));
        let receives = state.functions.get(&route.ac).map(|f| f.receives).unwrap_or_default();
        let mut p = if raw_upload {
            // `upload(fmt=raw)`: the body is the file, byte for byte, whatever Content-Type says
            // (`curl --data-binary` sends form-urlencoded).
            Params { raw: bytes, ..Default::default() }
        } else {
            let kept = receives.raw_body.then(|| bytes.clone());
            let mut p = if bytes.is_empty() {
                Params::default()
            } else {
                Box::pin(body_params(&parts.method, &content_type, bytes)).await?
            };
            if let Some(b) = kept {
                p.raw = b;
            }
            p
        };
        p.url = url.clone();
        let value = |v: &HeaderValue| v.to_str().ok().map(str::to_string);
        p.headers = HANDLER_HEADERS
            .iter()
            .filter_map(|k| Some((k.as_str().to_string(), value(parts.headers.get(k)?)?)))
            .chain(receives.headers.iter().filter_map(|k| Some((k.to_string(), value(parts.headers.get(*k)?)?))))
            .collect();
        if let Some(id) = route.id {
            p.set_url("id", id);
        }
        Ok((route.ac, p))
    }
    .await;
    match prepared {
        Ok((ac, p)) => {
            r.ac = ac;
            r.params = p;
            (r, None)
        }
        Err(e) => {
            r.ac = url.get("ac").and_then(Value::as_str).unwrap_or("").to_string();
            r.params = Params::from_url(url);
            (r, Some(e))
        }
    }
}

/// The request body, at most `max` bytes, within [`BODY_TIMEOUT`].
async fn read_body(body: Incoming, max: usize) -> ApiResult<Bytes> {
    let read = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, max).collect()).await;
    let Ok(read) = read else {
        return Err(ApiError::param("请求超时").internal(format!("request body not received within {BODY_TIMEOUT:?}")));
    };
    match read {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(max)),
        Err(e) => Err(ApiError::bad_param(format!("reading the body failed: {e}"))),
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError::param("请求内容太大").internal(format!("request body exceeds {max} bytes"))
}

/// Body parameters by content type (protocol §1.2).
async fn body_params(method: &hyper::Method, content_type: &str, bytes: Bytes) -> ApiResult<Params> {
    let ct = content_type.to_ascii_lowercase();
    let mut p = Params::default();
    if bytes.is_empty() {
        return Ok(p);
    }
    if ct.starts_with("application/x-www-form-urlencoded") {
        let decoded = form::decode_charset(content_type, &bytes);
        p.body = Value::Object(form::parse_urlencoded(&decoded));
    } else if ct.starts_with("multipart/form-data") {
        let (fields, files) = form::parse_multipart(content_type, bytes).await?;
        p.body = Value::Object(fields);
        p.files = files;
    } else if ct.contains("/json") && method != hyper::Method::GET {
        let decoded = form::decode_charset(content_type, &bytes);
        p.body = form::parse_json_body(&decoded)?;
    } else {
        p.raw = match form::decode_charset(content_type, &bytes) {
            std::borrow::Cow::Borrowed(_) => bytes,
            std::borrow::Cow::Owned(v) => Bytes::from(v),
        };
    }
    Ok(p)
}

/// The caller's token: `Authorization: Bearer`, else the `{appType}id` cookie.
fn token(h: &HeaderMap, type_name: &str, app_type: AppType) -> Option<String> {
    use hyper::header::{AUTHORIZATION, COOKIE};
    if let Some(b) = h.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) {
        return Some(b.trim().to_string());
    }
    if app_type == AppType::Other {
        return None;
    }
    // The cookie's name is `{type_name}id`, compared in two parts rather than formatted per call.
    let named = |k: &str| k.strip_prefix(type_name) == Some("id");
    h.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (named(k) && !v.is_empty()).then(|| v.to_string())
    })
}

/// Client version: `_ver`, else `wx/{v}` from a MicroMessenger user agent, else `web`.
fn version(url: &serde_json::Map<String, Value>, ua: &str) -> String {
    if let Some(v) = url.get("_ver").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        return v.to_string();
    }
    // Found from its first letter (a memchr) rather than with `str::find`, whose substring searcher
    // is set up anew for every call, even for an empty user agent.
    const WX: &str = "MicroMessenger/";
    if let Some((i, _)) = ua.match_indices('M').find(|(i, _)| ua[*i..].starts_with(WX)) {
        let v: String = ua[i + WX.len()..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        return format!("wx/{v}");
    }
    "web".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, C, F: Future>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// hyper moves the service's future into the connection and again when it polls it, a copy of its
    /// whole size each time: under `User.get` the copies of a 4 KiB future were 1k instructions a call.
    #[test]
    fn the_future_hyper_moves_stays_small() {
        let serve = future_size(serve);
        assert!(serve <= 1024, "serve's future is {serve} bytes: box what made it grow");
        // The call's future holds the dispatch's, not the HTTP request's parts beside it.
        let (call, handle) = (future_size(call), future_size(crate::api::dispatch::handle));
        assert!(call <= handle + 512, "call's future is {call} bytes, dispatch::handle's {handle}");
    }

    #[test]
    fn the_token_is_the_bearer_else_the_cookie_of_the_app_type() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
            }
            h
        };
        let user = |h: &HeaderMap| token(h, "user", AppType::User);
        assert_eq!(user(&headers(&[("cookie", "a=1; userid=T1; empid=E")])).as_deref(), Some("T1"));
        assert_eq!(token(&headers(&[("cookie", "userid=T1; empid=E")]), "emp", AppType::Emp).as_deref(), Some("E"));
        // Names that only start or end like it, and an empty value, are not the cookie.
        assert_eq!(user(&headers(&[("cookie", "xuserid=X; useridx=Y; userid=")])), None);
        assert_eq!(user(&headers(&[("cookie", "a=1"), ("cookie", " userid=T2 ")])).as_deref(), Some("T2"));
        assert_eq!(user(&headers(&[("authorization", "Bearer  B1 "), ("cookie", "userid=T1")])).as_deref(), Some("B1"));
        assert_eq!(user(&HeaderMap::new()), None);
    }

    #[test]
    fn the_client_version_is_ver_else_the_wechat_version_else_web() {
        let url = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect();
        let wx = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI";
        assert_eq!(version(&url(&[]), wx), "wx/8.0.47");
        assert_eq!(version(&url(&[("_ver", "a/2")]), wx), "a/2");
        assert_eq!(version(&url(&[("_ver", "")]), wx), "wx/8.0.47");
        assert_eq!(version(&url(&[]), "MMicroMessenger/7"), "wx/7");
        assert_eq!(version(&url(&[]), "MicroMessenger/"), "wx/");
        for ua in ["", "Mozilla/5.0 (Macintosh) Mobile Safari", "MicroMessenger 8", "microMessenger/8"] {
            assert_eq!(version(&url(&[]), ua), "web", "{ua}");
        }
    }
}
