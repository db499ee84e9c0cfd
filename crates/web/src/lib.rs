//! REST API (cpppo-compatible) and live web page for the simulators.
//!
//! [`router`] serves, for one device and its [`ServerControl`]:
//! - `/api/<group>/<match>/<command>/<value>`: cpppo's API (see [`api`]), JSON, or HTML when
//!   the client's `Accept` header prefers it;
//! - `/`: a live page (tags, connections, request rate, controls) fed by `/events` (SSE);
//! - `/metrics`: Prometheus text.
//!
//! Only the device and the control object are needed, so a fleet can mount one router per
//! device under its own prefix (`Router::nest("/dev1", router(web))`; the page uses relative
//! URLs, so open it as `/dev1/`). [`serve`] runs on any [`cpppo_net::Listener`]: the host's
//! sockets, or a simulated device's own userspace TCP/IP stack.
#![deny(missing_docs)]

pub mod api;
pub mod io;
pub mod listen;
pub mod logix;
pub mod metrics;
pub mod values;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cpppo_enip::model::device::Device;
use cpppo_enip::runtime::control::ServerControl;
use serde_json::{json, Value as Json};

/// The page, shipped inside the binary.
const INDEX_HTML: &str = include_str!("../assets/index.html");

/// What the web layer serves.
#[derive(Clone)]
pub struct Web {
    /// The simulated device.
    pub device: Arc<Device>,
    /// Its runtime switches and counters.
    pub control: Arc<ServerControl>,
    /// When set, mutating requests must carry it (`?token=`, or `Authorization: Bearer`).
    pub token: Option<String>,
    /// Refuse all mutating requests (bound off loopback without a token).
    pub read_only: bool,
}

/// The routes for one device.
pub fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/api", get(api_root))
        .route("/api/", get(api_root))
        .route("/api/io", get(io::api))
        .route("/api/{*rest}", get(api_path))
        .route("/events", get(events))
        .route("/metrics", get(metrics_text))
        .with_state(Arc::new(web))
}

/// Serve `router(web)` on `listener` (an OS socket or a userspace stack's) until `shutdown`
/// resolves.
pub async fn serve<L: cpppo_net::Listener>(
    listener: L,
    web: Web,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve_app(listener, router(web), shutdown).await
}

/// Bind `addr` on the host and serve the app `make` builds for the bound address (for
/// [`needs_token`]) on a task of its own, until `shutdown` fires; the bound address. `what`
/// names the server in the log line if it fails while serving.
pub async fn start_on_host(
    addr: SocketAddr,
    make: impl FnOnce(SocketAddr) -> Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    what: &'static str,
) -> std::io::Result<SocketAddr> {
    use cpppo_net::Listener as _;
    let listener = cpppo_net::os::OsListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = make(local);
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = listen::serve_app(listener, app, stop).await {
            tracing::warn!("{what} failed: {e}");
        }
    });
    Ok(local)
}

/// `[IFACE]:[PORT]` (or `PORT`): an empty IFACE means 127.0.0.1, an empty PORT 80 (cpppo's).
pub fn parse_address(s: &str) -> Result<SocketAddr, String> {
    // cpppo's default web port is 80 (`-w :`, `-w host:`).
    let s = match s.ends_with(':') {
        true => format!("{s}80"),
        false => s.to_string(),
    };
    cpppo_net::sys::parse_address(&s, "127.0.0.1", None).map_err(|e| format!("--web {s:?}: {e}"))
}

/// Whether mutations on a server bound to `addr` need a token (any non-loopback address).
pub fn needs_token(addr: SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

/// Bind `addr` on the host and serve `web` there in a task until `shutdown` turns true; off
/// loopback without a token the API is made read-only. Returns the bound address and whether
/// the API is read-only.
pub async fn start(
    addr: SocketAddr,
    mut web: Web,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, bool)> {
    let mut read_only = web.read_only;
    let local = start_on_host(
        addr,
        |local| {
            if needs_token(local) && web.token.is_none() {
                web.read_only = true;
            }
            read_only = web.read_only;
            router(web)
        },
        shutdown,
        "web server",
    )
    .await?;
    Ok((local, read_only))
}

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

async fn metrics_text(State(web): State<Arc<Web>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(&web.control),
    )
        .into_response()
}

async fn api_root(
    State(web): State<Arc<Web>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    q: axum::extract::RawQuery,
) -> Response {
    answer(&web, "", &uri, &headers, q.0.as_deref())
}

async fn api_path(
    State(web): State<Arc<Web>>,
    Path(rest): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    q: axum::extract::RawQuery,
) -> Response {
    answer(&web, &rest, &uri, &headers, q.0.as_deref())
}

fn authorized(web: &Web, headers: &HeaderMap, query: Option<&str>) -> Result<(), api::ApiError> {
    let refuse = |m: &str| api::ApiError {
        status: 403,
        message: m.to_string(),
    };
    if web.read_only {
        return Err(refuse(
            "changes are refused: the web server is not on loopback and has no --web-token",
        ));
    }
    let Some(token) = &web.token else {
        return Ok(());
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let param = query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="));
    let matches = |given: Option<&str>| given.is_some_and(|g| same(g.as_bytes(), token.as_bytes()));
    if matches(bearer) || matches(param) {
        Ok(())
    } else {
        Err(refuse(
            "this request changes the simulator: give the --web-token",
        ))
    }
}

/// Refuse a change a web page of another site could have asked for (cpppo's API changes
/// things with GETs, which any page can send: `<img src=...>`): an `Origin` or `Referer`
/// naming another site than the `Host` asked, or, without a token, a `Host` that is neither an
/// IP address nor a loopback name (a DNS-rebinding page's own name).
fn same_site(web: &Web, headers: &HeaderMap) -> Result<(), api::ApiError> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let refuse = |why: String| api::ApiError {
        status: 403,
        message: format!("changes from a web page of another site are refused: {why}"),
    };
    let host = text(header::HOST).unwrap_or_default();
    // The site a browser says the request comes from: Origin, else Referer.
    let from = text(header::ORIGIN)
        .map(|o| (o, "Origin"))
        .or_else(|| text(header::REFERER).map(|r| (r, "Referer")));
    if let Some((url, name)) = from {
        let authority = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default());
        if !authority.is_some_and(|a| !host.is_empty() && a.eq_ignore_ascii_case(host)) {
            return Err(refuse(format!(
                "{name} {url:?} is not this server ({host:?})"
            )));
        }
    }
    if web.token.is_none() && !host.is_empty() && !local_host_name(host) {
        return Err(refuse(format!(
            "Host {host:?} is neither an IP address nor a loopback name"
        )));
    }
    Ok(())
}

/// Whether the Host header `host` (`NAME[:PORT]`) names an IP address or the loopback
/// (`localhost`, `*.localhost`): names a foreign page cannot rebind to this server.
fn local_host_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
        }
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    let lower = name.to_ascii_lowercase();
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || lower == "localhost"
        || lower.ends_with(".localhost")
}

/// Compare without stopping at the first difference (the token is a secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn answer(
    web: &Web,
    rest: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let parsed = api::Query::parse(rest);
    let result = parsed.clone().and_then(|q| {
        if q.mutates() {
            same_site(web, headers)?;
            authorized(web, headers, query)?;
        }
        api::run(web, &q)
    });
    let (status, body) = match result {
        Ok(env) => (StatusCode::OK, env),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            api::envelope(json!({"message": e.message, "success": false}), json!({})),
        ),
    };
    let text = pretty(&body);
    if html {
        let q = parsed.ok();
        // The live page, relatively: this page may be mounted under a prefix (a fleet's
        // `/devices/<IP>/`), which the path seen here no longer has.
        let up = uri.path().matches('/').count().saturating_sub(1);
        let home = if up == 0 {
            "./".to_string()
        } else {
            "../".repeat(up)
        };
        let page = html_reply(rest, &home, q.as_ref(), &text);
        (status, Html(page)).into_response()
    } else {
        (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
    }
}

/// JSON with cpppo's 4-space indentation.
pub fn pretty(v: &Json) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if v.serialize(&mut ser).is_err() {
        return v.to_string();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_reply(rest: &str, home: &str, q: Option<&api::Query>, json: &str) -> String {
    let opt = |o: Option<&String>| o.map_or("None".to_string(), |s| format!("{s:?}"));
    let queries = match q {
        Some(q) => format!(
            "group:           {:?}\nmatch:           {:?}\ncommand:         {}\nvalue:           {}\nsince:           None",
            q.group,
            q.pattern,
            opt(q.command.as_ref()),
            opt(q.value.as_ref())
        ),
        None => "(unparsable)".to_string(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n    <meta charset=\"utf-8\"/>\n    <title>api/{}</title>\n</head>\n<body>\n<h2>\nQueries:\n</h2>\n<pre>\n{}\n</pre>\n<h2>\nResponse:\n</h2>\n<pre>\n{}\n</pre>\n<p><a href=\"{}\">live page</a></p>\n</body>\n</html>\n",
        escape(rest),
        escape(&queries),
        escape(json),
        escape(home)
    )
}

/// One snapshot for the live page: tags, connections, totals.
fn snapshot(web: &Web) -> Json {
    let c = &web.control;
    json!({
        "data": api::data(web, "*", "*"),
        "requests": c.stats.total_requests(),
        "sessions": c.stats.registered.load(Ordering::Relaxed),
        "accepted": c.stats.sessions.load(Ordering::Relaxed),
        "bytes_in": c.stats.bytes_in.load(Ordering::Relaxed),
        "bytes_out": c.stats.bytes_out.load(Ordering::Relaxed),
        "token_required": web.token.is_some(),
        "read_only": web.read_only,
        "io": io::view(web),
        "until": api::now(),
    })
}

/// Server-sent events: a snapshot at once, then whenever a tag changes (checked every 100 ms)
/// and at least every second (for counters and rates).
async fn events(
    State(web): State<Arc<Web>>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let state = (web, None::<u64>, 0u32);
    let stream = futures_util::stream::unfold(state, |(web, last, mut ticks)| async move {
        loop {
            let gen = web.control.generation();
            if last != Some(gen) || ticks >= 10 {
                let ev = Event::default()
                    .event("state")
                    .data(snapshot(&web).to_string());
                return Some((Ok(ev), (web, Some(gen), 0)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            ticks += 1;
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn start_on_host_serves_on_the_bound_port_until_shutdown() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let make = |local: SocketAddr| {
            assert_ne!(local.port(), 0, "told the bound address");
            router(web(None, false))
        };
        let local = start_on_host(any_port, make, shutdown, "test web server")
            .await
            .unwrap();
        let mut s = tokio::net::TcpStream::connect(local).await.unwrap();
        s.write_all(b"GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        let read = s.read_to_string(&mut reply);
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .unwrap()
            .unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        stop.send(true).unwrap();
        let refused = async {
            while tokio::net::TcpStream::connect(local).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), refused)
            .await
            .expect("still listening after shutdown");
    }

    fn web(token: Option<&str>, read_only: bool) -> Web {
        Web {
            device: Arc::new(Device::default()),
            control: Arc::new(ServerControl::default()),
            token: token.map(str::to_string),
            read_only,
        }
    }

    #[test]
    fn tokens_guard_changes() {
        let none = HeaderMap::new();
        assert!(authorized(&web(None, false), &none, None).is_ok());
        assert_eq!(
            authorized(&web(None, true), &none, None)
                .unwrap_err()
                .status,
            403
        );
        let w = web(Some("t0k"), false);
        assert!(authorized(&w, &none, None).is_err());
        assert!(authorized(&w, &none, Some("a=1&token=t0k")).is_ok());
        assert!(authorized(&w, &none, Some("token=bad")).is_err());
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, "Bearer t0k".parse().unwrap());
        assert!(authorized(&w, &bearer, None).is_ok());
    }

    #[test]
    fn changes_from_other_sites_are_refused() {
        let w = web(None, false);
        let with = |pairs: &[(header::HeaderName, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(k.clone(), v.parse().unwrap());
            }
            same_site(&w, &h)
        };
        let host = (header::HOST, "127.0.0.1:8080");
        assert!(with(std::slice::from_ref(&host)).is_ok(), "curl");
        assert!(with(&[host.clone(), (header::REFERER, "http://127.0.0.1:8080/")]).is_ok());
        assert!(with(&[host.clone(), (header::ORIGIN, "http://127.0.0.1:8080")]).is_ok());
        assert!(with(&[(header::HOST, "localhost:8080")]).is_ok());
        assert!(with(&[(header::HOST, "[::1]:8080")]).is_ok());
        let e = with(&[host.clone(), (header::ORIGIN, "http://evil.example")]).unwrap_err();
        assert_eq!(e.status, 403);
        assert!(
            e.message.contains("Origin \"http://evil.example\""),
            "{}",
            e.message
        );
        assert!(with(&[host.clone(), (header::ORIGIN, "null")]).is_err());
        assert!(with(&[host.clone(), (header::REFERER, "http://127.0.0.1:9999/x")]).is_err());
        let e = with(&[(header::HOST, "rebind.evil.example:8080")]).unwrap_err();
        assert!(e.message.contains("Host"), "{}", e.message);
        // With a token the token decides who may change things, whatever name reached us.
        let w = web(Some("t"), false);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "plc-sim.lan:8080".parse().unwrap());
        assert!(same_site(&w, &h).is_ok());
    }

    #[test]
    fn web_addresses() {
        assert_eq!(parse_address(":").unwrap(), "127.0.0.1:80".parse().unwrap());
        assert_eq!(
            parse_address(":8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse_address("0.0.0.0:80").unwrap(),
            "0.0.0.0:80".parse().unwrap()
        );
        assert!(parse_address(":http").unwrap_err().contains("\"http\""));
        assert!(needs_token("0.0.0.0:80".parse().unwrap()));
        assert!(!needs_token("127.0.0.1:80".parse().unwrap()));
    }
}
