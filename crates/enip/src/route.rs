//! Routing to other simulators: a `Route` map from the first route-path segment (`PORT/LINK`,
//! link ranges such as `1/1-15`) to the `HOST:PORT` of another EtherNet/IP device.
//!
//! The session decides *what* to forward ([`Forward`]); the runtime does the network exchange
//! and hands the answer back through [`Forward::reply`].

use cpppo_cip::cpf::{self, Item};
use cpppo_cip::encap::{Body, Header, Repr, SendData};

use crate::config::link_text;
use crate::tagspec::parse_number;
use crate::wire::{reply, status, Put, Status};

/// Which links of a port a rule covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Numeric links `lo..=hi` (a slot range).
    Range(u8, u8),
    /// Exactly this link address (an IP address text, say).
    Exact(Vec<u8>),
}

/// One `Route` map entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Port number.
    pub port: u16,
    /// Links covered.
    pub link: Link,
    /// Where matching requests go: `HOST:PORT`.
    pub target: String,
}

impl Route {
    /// Whether the route-path segment `port`/`link` goes here.
    pub fn matches(&self, port: u16, link: &[u8]) -> bool {
        port == self.port
            && match &self.link {
                Link::Exact(l) => l == link,
                Link::Range(lo, hi) => matches!(link, [n] if (lo..=hi).contains(&n)),
            }
    }
}

/// Parse cpppo's `Route` value: a JSON object from `PORT/LINK` (or `PORT/LO-HI`) to
/// `HOST:PORT`.
pub fn parse_routes(json: &str) -> Result<Vec<Route>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let map = v.as_object().ok_or("not a JSON object")?;
    map.iter()
        .map(|(key, target)| {
            let target = target
                .as_str()
                .filter(|t| t.contains(':'))
                .ok_or_else(|| format!("{key:?}: {target} is not \"HOST:PORT\""))?;
            let (p, l) = key
                .split_once('/')
                .ok_or_else(|| format!("{key:?} is not PORT/LINK"))?;
            let port = parse_number(p)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| format!("{key:?}: port {p:?} is not a number"))?;
            let range = l.split_once('-').and_then(|(lo, hi)| {
                let n = |s: &str| parse_number(s).and_then(|n| u8::try_from(n).ok());
                Some((n(lo)?, n(hi)?))
            });
            let link = match range {
                Some((lo, hi)) if lo <= hi => Link::Range(lo, hi),
                Some(_) => return Err(format!("{key:?}: link range runs backwards")),
                None => match link_text(l)?.as_slice() {
                    [n] if parse_number(l).is_some() => Link::Range(*n, *n),
                    other => Link::Exact(other.to_vec()),
                },
            };
            Ok(Route {
                port,
                link,
                target: target.to_string(),
            })
        })
        .collect()
}

/// An Unconnected Send to pass on to another device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// `HOST:PORT` of the device.
    pub target: String,
    /// The embedded request.
    pub message: Vec<u8>,
    /// The route path left after the first segment (padded EPATH bytes; may be empty).
    pub route: Vec<u8>,
    pub(crate) header: Header,
    pub(crate) interface: u32,
    pub(crate) timeout: u16,
}

impl Forward {
    /// The CIP request to send to the target: an Unconnected Send with the remaining route,
    /// or the bare request when no route remains (a "simple" request).
    pub fn request(&self) -> Vec<u8> {
        if self.route.is_empty() {
            return self.message.clone();
        }
        let mut mr = vec![0x52, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0A, 0x05];
        mr.put_u16(self.message.len() as u16);
        mr.extend_from_slice(&self.message);
        if self.message.len() % 2 == 1 {
            mr.push(0);
        }
        mr.push((self.route.len() / 2) as u8);
        mr.push(0);
        mr.extend_from_slice(&self.route);
        mr
    }

    /// Our client's reply frame carrying the target's CIP reply.
    pub fn reply(&self, cip_reply: &[u8]) -> Vec<u8> {
        let items = cpf::Repr::from_items(&[Item::NullAddress, Item::UnconnectedData(cip_reply)])
            .unwrap_or_default();
        let body = Body::SendData(SendData {
            interface: self.interface,
            timeout: self.timeout,
            cpf: items,
        });
        Repr {
            header: self.header.reply(0),
            body,
        }
        .to_vec()
        .unwrap_or_default()
    }

    /// The reply when the target could not be reached: Unconnected Send timed out (0x01/0x0204).
    pub fn failed(&self) -> Vec<u8> {
        let service = self.message.first().copied().unwrap_or(0x52);
        let cip = reply(service, &Status::ext(status::CONNECTION_FAILURE, 0x0204));
        self.reply(&cip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_maps_parse_and_match() {
        let r = parse_routes(r#"{"1/1-15": "localhost:44819", "2/10.0.0.1": "h:1", "1/0": "x:2"}"#)
            .unwrap();
        let slot = r.iter().find(|r| r.target == "localhost:44819").unwrap();
        assert!(slot.matches(1, &[15]) && slot.matches(1, &[1]) && !slot.matches(1, &[0]));
        let ip = r.iter().find(|r| r.target == "h:1").unwrap();
        assert!(ip.matches(2, b"10.0.0.1"));
        assert!(r
            .iter()
            .find(|r| r.target == "x:2")
            .unwrap()
            .matches(1, &[0]));
        assert!(parse_routes(r#"{"1/x-2": "a:1"}"#).is_ok()); // "x-2" is an address text
        assert!(parse_routes(r#"{"1/5-2": "a:1"}"#)
            .unwrap_err()
            .contains("backwards"));
        assert!(parse_routes(r#"{"1/1": "nohostport"}"#)
            .unwrap_err()
            .contains("HOST:PORT"));
    }
}
