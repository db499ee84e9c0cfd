//! Send path and route path: how a request reaches the processor behind a router.
//!
//! A Logix controller is addressed with an Unconnected Send (service `0x52`) to the Connection
//! Manager (the *send path*, `@6/1`) carrying the real request and a *route path* (port 1, the
//! backplane, to the processor in slot 0: `1/0`). Simple devices (a PowerFlex drive, a
//! MicroLogix) take the request directly: no send path and no route path.
//!
//! ```
//! use cpppo_enip::client::route::{parse_route_path, Route};
//! use cpppo_enip::client::operation::{Link, PathStep};
//! assert_eq!(parse_route_path("1/0")?, Some(vec![PathStep::Port { port: 1, link: Link::Number(0) }]));
//! assert_eq!(parse_route_path(r#"[{"port":1,"link":0},"2/192.168.1.2"]"#)?.map(|p| p.len()), Some(2));
//! assert_eq!(parse_route_path("false")?, None);
//! let logix = Route::logix();
//! assert!(logix.send_path.is_some() && logix.route_path.is_some());
//! assert!(Route::simple().send_path.is_none());
//! # Ok::<(), String>(())
//! ```

use cpppo_cip::epath::{EPath, Padding, Segment as Wire};
use cpppo_cip::mr::MrRequest;
use cpppo_cip::services::cm::UnconnectedSend;

use super::error::ClientError;

use crate::client::operation::{Link, Operation, PathStep};

/// Default priority/time tick: tick 2^5 = 32 ms.
pub const DEFAULT_PRIORITY_TIME_TICK: u8 = 5;
/// Default timeout ticks: 157 × 32 ms ≈ 5 s.
pub const DEFAULT_TIMEOUT_TICKS: u8 = 157;

/// How requests are addressed.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The Unconnected Send target (`@6/1`); `None` sends requests directly.
    pub send_path: Option<Vec<PathStep>>,
    /// The route path carried by the Unconnected Send; `None` leaves it out.
    pub route_path: Option<Vec<PathStep>>,
    /// Unconnected Send priority/time tick (0..=15).
    pub priority_time_tick: u8,
    /// Unconnected Send timeout ticks (1..=255).
    pub timeout_ticks: u8,
}

impl Default for Route {
    fn default() -> Self {
        Route::logix()
    }
}

impl Route {
    /// A routing Logix controller: Unconnected Send to `@6/1`, route path `1/0`.
    pub fn logix() -> Route {
        Route {
            send_path: Some(vec![PathStep::Class(6), PathStep::Instance(1)]),
            route_path: Some(vec![PathStep::Port {
                port: 1,
                link: Link::Number(0),
            }]),
            priority_time_tick: DEFAULT_PRIORITY_TIME_TICK,
            timeout_ticks: DEFAULT_TIMEOUT_TICKS,
        }
    }

    /// A simple (non-routing) device: requests go directly to the Message Router.
    pub fn simple() -> Route {
        Route {
            send_path: None,
            route_path: None,
            ..Route::logix()
        }
    }

    /// Whether requests are wrapped in an Unconnected Send.
    pub fn is_routed(&self) -> bool {
        self.send_path.is_some()
    }

    /// Wraps the Message Router request `mr` in an Unconnected Send, when routed.
    pub fn wrap(&self, mr: &[u8]) -> Result<Vec<u8>, String> {
        let Some(send) = &self.send_path else {
            return Ok(mr.to_vec());
        };
        let send = encode_path(send)?;
        let route = self.route_path.as_deref().map(encode_path).transpose()?;
        unconnected_send(self, &send, route.as_deref(), mr)
    }
}

/// An Unconnected Send (with `route`'s ticks) to `send` carrying `mr` along `route_path`.
pub(crate) fn unconnected_send(
    route: &Route,
    send: &[u8],
    route_path: Option<&[u8]>,
    mr: &[u8],
) -> Result<Vec<u8>, String> {
    let us = UnconnectedSend {
        priority_tick: route.priority_time_tick,
        timeout_ticks: route.timeout_ticks,
        message: MrRequest::parse(mr).map_err(|e| e.to_string())?,
        route_path: route_path
            .map(|p| EPath::parse(p, Padding::Padded))
            .transpose()
            .map_err(|e| e.to_string())?,
        reserved: 0,
    };
    let mut data = vec![0u8; us.buffer_len()];
    let n = us.emit(&mut data).map_err(|e| e.to_string())?;
    data.truncate(n);
    mr_request(0x52, send, &data)
}

/// Parses `--route-path`: `PORT/LINK`, a JSON segment, string or list of them (`"1/0"`,
/// `{"port":1,"link":0}`, `[...]`), a comma-separated list of `PORT/LINK`, or `false`/`0`/``
/// for no route path.
pub fn parse_route_path(text: &str) -> Result<Option<Vec<PathStep>>, String> {
    let text = text.trim();
    if matches!(text, "" | "0" | "false" | "False" | "null" | "None" | "[]") {
        return Ok(None);
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        if !json.is_number() {
            return from_json(&json).map(Some);
        }
    }
    text.split(',')
        .map(|part| port_link(part.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn from_json(json: &serde_json::Value) -> Result<Vec<PathStep>, String> {
    match json {
        serde_json::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(from_json(item)?);
            }
            Ok(out)
        }
        serde_json::Value::String(s) => port_link(s).map(|s| vec![s]),
        serde_json::Value::Object(_) => {
            let op = Operation::parse(&format!("@{json}"))
                .map_err(|e| format!("bad route path segment {json}: {}", e.problem))?;
            Ok(op.path)
        }
        other => Err(format!("bad route path segment {other}")),
    }
}

/// `1/0`, `2/192.168.1.2`.
fn port_link(text: &str) -> Result<PathStep, String> {
    let bad = || format!("bad route path {text:?}: expected PORT/LINK, eg. 1/0");
    let (port, link) = text.split_once('/').ok_or_else(bad)?;
    let port: u16 = port.trim().parse().map_err(|_| bad())?;
    if port == 0 {
        return Err(bad());
    }
    let link = link.trim();
    let link = match link.parse::<u32>() {
        Ok(n) => Link::Number(n),
        Err(_) if link.parse::<std::net::IpAddr>().is_ok() => Link::Address(link.to_owned()),
        Err(_) => return Err(bad()),
    };
    Ok(PathStep::Port { port, link })
}

/// Parses `--send-path`: `@6/1` (any numeric operation path), or `` for none.
pub fn parse_send_path(text: &str) -> Result<Option<Vec<PathStep>>, String> {
    let text = text.trim();
    if matches!(text, "" | "''" | "\"\"" | "0" | "false") {
        return Ok(None);
    }
    let op = Operation::parse(text).map_err(|e| e.to_string())?;
    // A send path is numeric (`@6/1`); a bare name would parse as a tag.
    let symbolic = op.path.iter().any(|s| matches!(s, PathStep::Symbolic(_)));
    if op.is_write() || op.range.is_some() || symbolic {
        return Err(format!(
            "bad send path {text:?}: expected a path such as @6/1"
        ));
    }
    Ok(Some(op.path))
}

/// Encodes path segments as a padded EPATH.
pub fn encode_path(path: &[PathStep]) -> Result<Vec<u8>, String> {
    let links: Vec<Vec<u8>> = path
        .iter()
        .map(|s| match s {
            PathStep::Port { link, .. } => match link {
                Link::Number(n) => u8::try_from(*n)
                    .map(|b| vec![b])
                    .map_err(|_| format!("link {n} does not fit a port segment")),
                Link::Address(a) => Ok(a.as_bytes().to_vec()),
            },
            PathStep::Symbolic(name) => Ok(name.as_bytes().to_vec()),
            _ => Ok(Vec::new()),
        })
        .collect::<Result<_, _>>()?;
    let wire: Vec<Wire<'_>> = path
        .iter()
        .zip(&links)
        .map(|(s, bytes)| match s {
            PathStep::Symbolic(_) => Wire::Symbolic(bytes),
            PathStep::Class(n) => Wire::class(*n),
            PathStep::Instance(n) => Wire::instance(*n),
            PathStep::Attribute(n) => Wire::attribute(*n),
            PathStep::Element(n) | PathStep::Member(n) => Wire::element(*n),
            PathStep::Connection(n) => Wire::connection_point(*n),
            PathStep::Port { port, .. } => Wire::Port {
                port: *port,
                link: bytes,
            },
        })
        .collect();
    let epath = EPath::from_segments(&wire, Padding::Padded);
    let mut out = vec![0u8; epath.buffer_len()];
    let n = epath.emit(&mut out).map_err(|e| e.to_string())?;
    out.truncate(n);
    Ok(out)
}

/// The length of an encoded path in 16-bit words.
pub fn words(path: &[u8]) -> Result<u8, String> {
    if path.len() % 2 == 1 {
        return Err("path of odd length".into());
    }
    u8::try_from(path.len() / 2).map_err(|_| "path too long".to_string())
}

/// A Message Router request: `service | path words | path | data`.
pub fn mr_request(service: u8, path: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let req = MrRequest {
        service,
        path: EPath::parse(path, Padding::Padded).map_err(|e| e.to_string())?,
        data,
    };
    let mut out = vec![0u8; req.buffer_len()];
    let n = req.emit(&mut out).map_err(|e| e.to_string())?;
    out.truncate(n);
    Ok(out)
}

/// The Connection Manager, `@6/1`.
pub const CONNECTION_MANAGER: [u8; 4] = [0x20, 0x06, 0x24, 0x01];

/// A request to the Connection Manager (Forward Open/Close), sent directly.
pub(crate) fn cm_request(service: u8, data: &[u8]) -> Result<Vec<u8>, ClientError> {
    mr_request(service, &CONNECTION_MANAGER, data).map_err(ClientError::Protocol)
}
