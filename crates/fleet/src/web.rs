//! The fleet's web server: a summary of the devices at `/` (HTML) and `/devices` (JSON), and
//! each device's own web API and live page under `/devices/<IP>/`.
//!
//! Device routers are not built up front (a fleet may have tens of thousands of devices): a
//! request under `/devices/<IP>/` finds the device by its address, builds that device's
//! [`cpppo_web::router`] and hands it the request with the prefix stripped. Each device can
//! also serve its own web API on its own IP, through its userspace stack ([`serve_device`]).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use axum::Router;
use cpppo_enip::model::device::Device;
use cpppo_enip::runtime::control::ServerControl;
use cpppo_net::stack::{HostId, Net};
use cpppo_web::Web;
use serde_json::{json, Value as Json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::{device_mac, FleetError, Subnet, ENIP_PORT};

/// What the devices' web APIs need; given, every device gets a [`ServerControl`].
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// Serve each device's web API on this port at its own IP (its userspace stack).
    pub device_port: Option<u16>,
    /// Mutating requests must carry it; without one, web servers off loopback are read-only.
    pub token: Option<String>,
}

/// One device, as its web API sees it.
pub struct FleetDevice {
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its Identity serial number.
    pub serial: u32,
    /// The simulated device.
    pub device: Arc<Device>,
    /// Its counters and switches (also in its server's options).
    pub control: Arc<ServerControl>,
}

impl FleetDevice {
    /// The device's web API as served on an address that needs a token (or not).
    fn web(&self, token: Option<&String>, needs_token: bool) -> Web {
        Web {
            device: self.device.clone(),
            control: self.control.clone(),
            token: token.cloned(),
            read_only: needs_token && token.is_none(),
        }
    }
}

/// The fleet as a whole, for its summary.
pub struct FleetWeb {
    /// The LAN's subnet.
    pub subnet: Subnet,
    /// How the host reaches the LAN (a sentence).
    pub via: String,
    /// Whether devices answer UDP too.
    pub udp: bool,
    /// The devices, in address order (consecutive addresses).
    pub devices: Arc<[FleetDevice]>,
    /// The options the devices were built with.
    pub options: WebOptions,
}

struct AppState {
    fleet: FleetWeb,
    /// The fleet web server is off loopback.
    needs_token: bool,
}

impl AppState {
    fn find(&self, ip: &str) -> Option<&FleetDevice> {
        let ip: Ipv4Addr = ip.parse().ok()?;
        let first = self.fleet.devices.first()?.ip;
        let index = u32::from(ip).checked_sub(u32::from(first))?;
        self.fleet
            .devices
            .get(usize::try_from(index).ok()?)
            .filter(|d| d.ip == ip)
    }
}

/// The fleet's routes; `needs_token`: the server is reachable off loopback.
pub fn app(fleet: FleetWeb, needs_token: bool) -> Router {
    Router::new()
        .route("/", get(summary_page))
        .route("/index.html", get(summary_page))
        .route("/devices", get(summary_json))
        .route("/devices/", get(summary_json))
        .route("/devices/{ip}", any(device_redirect))
        .route("/devices/{ip}/", any(device_route))
        .route("/devices/{ip}/{*rest}", any(device_route))
        .fallback(unknown)
        .with_state(Arc::new(AppState { fleet, needs_token }))
}

/// Bind the fleet's web server on the host at `addr` and serve until `shutdown` fires; the
/// address it is bound to.
pub async fn start(
    addr: SocketAddr,
    fleet: FleetWeb,
    shutdown: watch::Receiver<bool>,
) -> Result<SocketAddr, FleetError> {
    let make = |local| {
        let needs_token = cpppo_web::needs_token(local);
        if needs_token && fleet.options.token.is_none() {
            tracing::warn!("--web on {local} without --web-token: the API is read-only");
        }
        app(fleet, needs_token)
    };
    cpppo_web::start_on_host(addr, make, shutdown, "fleet web server")
        .await
        .map_err(FleetError::io(format!("--web: cannot listen on {addr}")))
}

/// Serve `device`'s web API on `port` of its own address, through its userspace stack.
pub fn serve_device(
    net: &Net,
    host: HostId,
    device: &FleetDevice,
    port: u16,
    token: Option<&String>,
    shutdown: &watch::Receiver<bool>,
) -> Result<JoinHandle<()>, FleetError> {
    let listener = net.listen_tcp(host, port).map_err(FleetError::io(format!(
        "--device-web: device {} port {port}",
        device.ip
    )))?;
    let web = device.web(token, true);
    let mut shutdown = shutdown.clone();
    Ok(tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = cpppo_web::serve(listener, web, stop).await {
            tracing::warn!("device web server failed: {e}");
        }
    }))
}

/// A JSON error reply in the API's envelope.
fn error(status: StatusCode, message: String) -> Response {
    let body = json!({"message": message, "success": false});
    let env = cpppo_web::api::envelope(body, json!({}));
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        cpppo_web::pretty(&env),
    )
        .into_response()
}

async fn unknown(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no page {:?}: try /, /devices or /devices/<IP>/api/...",
            uri.path()
        ),
    )
}

fn no_device(s: &AppState, ip: &str) -> Response {
    let range = match (s.fleet.devices.first(), s.fleet.devices.last()) {
        (Some(a), Some(b)) => format!("{} - {}", a.ip, b.ip),
        _ => "none".to_string(),
    };
    error(
        StatusCode::NOT_FOUND,
        format!("no device at {ip:?} (devices: {range})"),
    )
}

/// The address segment of a `/devices/<IP>...` path and what follows it.
fn split_device_path(path: &str) -> (&str, &str) {
    let rest = path.strip_prefix("/devices/").unwrap_or_default();
    rest.split_once('/').unwrap_or((rest, ""))
}

async fn device_redirect(State(s): State<Arc<AppState>>, uri: Uri) -> Response {
    let (ip, _) = split_device_path(uri.path());
    match s.find(ip) {
        // Relative to /devices/: the page's own URLs are relative to the trailing slash.
        Some(d) => Redirect::permanent(&format!("{}/", d.ip)).into_response(),
        None => no_device(&s, ip),
    }
}

/// Hand the request to the device's own router, its path stripped of `/devices/<IP>`.
async fn device_route(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let (ip, tail) = split_device_path(req.uri().path());
    let Some(device) = s.find(ip) else {
        return no_device(&s, ip);
    };
    let inner = match req.uri().query() {
        Some(q) => format!("/{tail}?{q}"),
        None => format!("/{tail}"),
    };
    let Ok(uri) = inner.parse::<Uri>() else {
        return error(StatusCode::BAD_REQUEST, format!("bad path {inner:?}"));
    };
    let web = device.web(s.fleet.options.token.as_ref(), s.needs_token);
    let (mut parts, body) = req.into_parts();
    parts.uri = uri;
    // The outer route's path parameters must not reach the device's extractors.
    parts.extensions = Default::default();
    let router = cpppo_web::router(web).fallback(unknown_in_device);
    match router.oneshot(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

async fn unknown_in_device(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no device page {:?}: try /, /api/..., /events or /metrics under /devices/<IP>",
            uri.path()
        ),
    )
}

fn mac_text(ip: Ipv4Addr) -> String {
    let m = device_mac(ip);
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// One device's line of `/devices`.
fn device_json(f: &FleetWeb, d: &FleetDevice) -> Json {
    let stats = &d.control.stats;
    json!({
        "ip": d.ip.to_string(),
        "mac": mac_text(d.ip),
        "serial": d.serial,
        "ports": {
            "enip_tcp": ENIP_PORT,
            "enip_udp": f.udp.then_some(ENIP_PORT),
            "web": f.options.device_port,
        },
        "connections": d.control.connections().len(),
        "sessions": stats.sessions.load(Ordering::Relaxed),
        "requests": stats.total_requests(),
    })
}

/// The fleet as JSON, written one device at a time (tens of thousands of them).
async fn summary_json(State(s): State<Arc<AppState>>) -> Response {
    let f = &s.fleet;
    let head = json!({"count": f.devices.len(), "subnet": f.subnet.to_string(), "host": f.via});
    let mut body = head.to_string();
    body.pop(); // the closing brace: the device list follows
    body.reserve(f.devices.len() * 200);
    body.push_str(",\"devices\":[");
    for (i, d) in f.devices.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&device_json(f, d).to_string());
    }
    body.push_str("]}");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn summary_page(State(s): State<Arc<AppState>>) -> Html<String> {
    let f = &s.fleet;
    let mut page = String::with_capacity(256 + f.devices.len() * 160);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"/><title>cpppo fleet {subnet}</title></head>\n<body>\n\
         <h1>Fleet of {count} devices on {subnet}</h1>\n<p>{via}; <a href=\"devices\">devices (JSON)</a></p>\n\
         <table>\n<tr><th>IP</th><th>MAC</th><th>serial</th><th>requests</th></tr>\n",
        subnet = f.subnet,
        count = f.devices.len(),
        via = cpppo_web::escape(&f.via),
    );
    for d in f.devices.iter() {
        let _ = writeln!(
            page,
            "<tr><td><a href=\"devices/{ip}/\">{ip}</a></td><td>{mac}</td><td>{serial}</td><td>{req}</td></tr>",
            ip = d.ip,
            mac = mac_text(d.ip),
            serial = d.serial,
            req = d.control.stats.total_requests(),
        );
    }
    page.push_str("</table>\n</body>\n</html>\n");
    Html(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpppo_enip::model::device::DeviceConfig;

    fn fleet(n: u8) -> FleetWeb {
        let devices: Vec<FleetDevice> = (0..n)
            .map(|i| FleetDevice {
                ip: Ipv4Addr::new(10, 5, 0, 2 + i),
                serial: 100 + u32::from(i),
                device: Arc::new(Device::new(&DeviceConfig::default())),
                control: Arc::new(ServerControl::default()),
            })
            .collect();
        FleetWeb {
            subnet: Subnet::parse("10.5.0.0/24").unwrap(),
            via: "no host link".into(),
            udp: true,
            devices: devices.into(),
            options: WebOptions::default(),
        }
    }

    async fn get(app: &Router, path: &str) -> (StatusCode, String, Option<String>) {
        let req = Request::get(path).body(axum::body::Body::empty()).unwrap();
        let r = app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap(), location)
    }

    #[tokio::test]
    async fn devices_are_found_by_address_and_strangers_are_refused() {
        let app = app(fleet(3), false);
        let (status, body, _) = get(&app, "/devices").await;
        assert_eq!(status, StatusCode::OK);
        let v: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(v["count"], 3);
        assert_eq!(v["devices"][2]["ip"], "10.5.0.4");
        assert_eq!(v["devices"][2]["mac"], "02:00:0a:05:00:04");
        assert_eq!(v["devices"][2]["serial"], 102);
        let (status, body, _) = get(&app, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("<a href=\"devices/10.5.0.3/\">10.5.0.3</a>"),
            "{body}"
        );
        let (status, body, _) = get(&app, "/devices/10.5.0.3/api/options/delay/value=0.25").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(fleet_delay(&app).await, "0.25");
        let (_, _, location) = get(&app, "/devices/10.5.0.3").await;
        assert_eq!(location.as_deref(), Some("10.5.0.3/"));
        for bad in [
            "/devices/10.5.0.5/api",
            "/devices/10.5.0.1/",
            "/devices/x/api",
            "/devices/10.5.0.3/nope",
            "/nope",
        ] {
            let (status, body, _) = get(&app, bad).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
            let v: Json = serde_json::from_str(&body).unwrap();
            assert_eq!(v["command"]["success"], false, "{bad}");
        }
    }

    /// The delay device 10.5.0.3 reports through its own API.
    async fn fleet_delay(app: &Router) -> String {
        let (_, body, _) = get(app, "/devices/10.5.0.3/api/options/delay").await;
        let v: Json = serde_json::from_str(&body).unwrap();
        v["data"]["options"]["delay"]["value"].to_string()
    }
}
