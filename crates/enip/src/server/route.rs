//! Routing to other simulators: a `Route` map from the first route-path segment (`PORT/LINK`,
//! link ranges such as `1/1-15`) to the `HOST:PORT` of another EtherNet/IP device.
//!
//! The session decides *what* to forward ([`Forward`]); the runtime does the network exchange
//! and hands the answer back through [`Forward::reply`].

use cpppo_cip::cpf::{self, Item};
use cpppo_cip::encap::{Body, Header, Repr, SendData};
use cpppo_cip::mr::{emit_request, request_len, status, MrReply, Payload};
use cpppo_cip::server::{append, Status, UnconnectedSendData};
use cpppo_cip::services::{code, MspWriter};
use cpppo_cip::{EPath, Padding, Segment};

use crate::model::config::link_text;
use crate::model::tagspec::parse_number;
use crate::server::session::ROUTE_TIMED_OUT;

/// Which links of a port a rule covers (an operation's link address is
/// [`crate::client::operation::Link`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkMatch {
    /// Numeric links `lo..=hi` (a slot range).
    Range(u8, u8),
    /// Exactly this link address (an IP address text, say).
    Exact(Vec<u8>),
}

/// One `Route` map entry: a server forwarding rule (a client's addressing is
/// [`crate::client::route::Route`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// Port number.
    pub port: u16,
    /// Links covered.
    pub link: LinkMatch,
    /// Where matching requests go: `HOST:PORT`.
    pub target: String,
}

impl RouteRule {
    /// Whether the route-path segment `port`/`link` goes here.
    pub fn matches(&self, port: u16, link: &[u8]) -> bool {
        port == self.port
            && match &self.link {
                LinkMatch::Exact(l) => l == link,
                LinkMatch::Range(lo, hi) => matches!(link, [n] if (lo..=hi).contains(&n)),
            }
    }
}

/// Parse cpppo's `Route` value: a JSON object from `PORT/LINK` (or `PORT/LO-HI`) to
/// `HOST:PORT`.
pub fn parse_routes(json: &str) -> Result<Vec<RouteRule>, String> {
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
                Some((lo, hi)) if lo <= hi => LinkMatch::Range(lo, hi),
                Some(_) => return Err(format!("{key:?}: link range runs backwards")),
                None => match link_text(l)
                    .map_err(|e| format!("{key:?}: {e}"))?
                    .as_slice()
                {
                    [n] if parse_number(l).is_some() => LinkMatch::Range(*n, *n),
                    other => LinkMatch::Exact(other.to_vec()),
                },
            };
            Ok(RouteRule {
                port,
                link,
                target: target.to_string(),
            })
        })
        .collect()
}

/// One request to pass on to another device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// `HOST:PORT` of the device.
    pub target: String,
    /// The request for the device (the embedded request of an Unconnected Send, or a
    /// connected request).
    pub message: Vec<u8>,
    /// The route path left after the first segment (padded EPATH bytes; may be empty).
    pub route: Vec<u8>,
    /// For a client's routed connection (an empty `message`: only open it, for the client's
    /// Forward Open): send over a connection of this size (bytes, each
    /// way) that the router opens along `route`, rather than unconnected.
    pub connected: Option<u16>,
}

impl Hop {
    /// The CIP request to send to the target: an Unconnected Send with the remaining route,
    /// or the bare request when no route remains (a "simple" request).
    pub fn request(&self) -> Vec<u8> {
        if self.route.is_empty() {
            return self.message.clone();
        }
        let data = UnconnectedSendData {
            priority_tick: 0x0A,
            timeout_ticks: 0x05,
            message: &self.message,
            route_words: (self.route.len() / 2) as u8,
            reserved: 0,
            route_path: &self.route,
        };
        let segments = [Segment::class(6), Segment::instance(1)];
        let path = EPath::from_segments(&segments, Padding::Padded);
        let mut out = vec![0; request_len(&path, &data)];
        // A route path and message taken from a request that fit a frame always emit.
        let n = emit_request(code::UNCONNECTED_SEND, &path, &data, &mut out).unwrap_or(0);
        out.truncate(n);
        out
    }

    /// The CIP reply when the target could not be reached: the request's service with
    /// "Unconnected Send timed out" (0x01/0x0204).
    pub fn failed(&self) -> Vec<u8> {
        let service = self
            .message
            .first()
            .copied()
            .unwrap_or(code::UNCONNECTED_SEND);
        timed_out(service)
    }
}

/// A reply to `service` with "Unconnected Send timed out" (0x01/0x0204).
fn timed_out(service: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let st = Status::ext(status::CONNECTION_FAILURE, ROUTE_TIMED_OUT);
    let _ = append(&mut out, &st.reply(service)); // a bare header always emits
    out
}

/// Where one reply of a Multiple Service Packet comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Answered here: this reply.
    Local(Vec<u8>),
    /// Answered by hop number `n` of the [`Forward`].
    Remote(usize),
}

/// How the client's request arrived, so its reply goes back the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// SendRRData.
    Unconnected {
        /// The request's encapsulation header.
        header: Header,
        /// Interface handle.
        interface: u32,
        /// Timeout.
        timeout: u16,
    },
    /// SendUnitData on a connection.
    Connected {
        /// The request's encapsulation header.
        header: Header,
        /// Interface handle.
        interface: u32,
        /// Timeout.
        timeout: u16,
        /// Our O->T connection id (the connection remembers its last reply).
        o_t_id: u32,
        /// The client's T->O connection id the reply is addressed to.
        t_o_id: u32,
        /// The request's sequence count, echoed.
        sequence: u16,
    },
}

/// Requests to pass on to other devices, and how to put their replies together into the
/// client's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The requests to send, in order.
    pub hops: Vec<Hop>,
    /// When the client sent a Multiple Service Packet: its reply slots (otherwise the reply
    /// is hop 0's).
    pub slots: Option<Vec<Slot>>,
    /// How the reply goes back.
    pub envelope: Envelope,
    /// For a client's Forward Open along a route: the connection opened here, answered only
    /// when the routed device accepted its side.
    pub opening: Option<Opening>,
    /// The service the client asked for (for the statistics).
    pub service: u8,
}

/// A client's Forward Open, answered here, whose path leads to another device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// Our O->T id of the connection (dropped when the device cannot be reached).
    pub o_t_id: u32,
    /// The Forward Open reply when the device accepted its side.
    pub reply: Vec<u8>,
    /// The reply otherwise.
    pub failed: Vec<u8>,
}

impl Opening {
    /// Whether every hop was answered.
    pub fn succeeded(answers: &[Option<Vec<u8>>], hops: usize) -> bool {
        (0..hops).all(|n| answers.get(n).is_some_and(Option::is_some))
    }
}

impl Forward {
    /// The client's CIP reply, given each hop's CIP reply (`None`: the hop failed).
    pub fn cip_reply(&self, answers: &[Option<Vec<u8>>]) -> Vec<u8> {
        let answer = |n: usize| match (answers.get(n), self.hops.get(n)) {
            (Some(Some(a)), _) => a.clone(),
            (_, Some(hop)) => hop.failed(),
            (_, None) => timed_out(code::UNCONNECTED_SEND),
        };
        if let Some(o) = &self.opening {
            return if Opening::succeeded(answers, self.hops.len()) {
                o.reply.clone()
            } else {
                o.failed.clone()
            };
        }
        match &self.slots {
            None => answer(0),
            Some(slots) => multiple_reply(
                &slots
                    .iter()
                    .map(|s| match s {
                        Slot::Local(r) => r.clone(),
                        Slot::Remote(n) => answer(*n),
                    })
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// The client's reply frame carrying `cip` in the envelope its request came in.
    pub fn frame(&self, cip: &[u8]) -> Vec<u8> {
        let (header, interface, timeout, items) = match &self.envelope {
            Envelope::Unconnected {
                header,
                interface,
                timeout,
            } => (
                header,
                interface,
                timeout,
                cpf::Repr::from_items(&[Item::NullAddress, Item::UnconnectedData(cip)]),
            ),
            Envelope::Connected {
                header,
                interface,
                timeout,
                t_o_id,
                sequence,
                ..
            } => (
                header,
                interface,
                timeout,
                cpf::Repr::from_items(&[
                    Item::ConnectedAddress {
                        connection_id: *t_o_id,
                    },
                    Item::ConnectedData {
                        sequence: *sequence,
                        data: cip,
                    },
                ]),
            ),
        };
        let body = Body::SendData(SendData {
            interface: *interface,
            timeout: *timeout,
            cpf: items.unwrap_or_default(),
        });
        Repr {
            header: header.reply(0),
            body,
        }
        .to_vec()
        .unwrap_or_default()
    }
}

/// A Multiple Service Packet reply (0x8A) holding `replies` in order; general status 0x1E
/// when any of them failed.
pub fn multiple_reply(replies: &[Vec<u8>]) -> Vec<u8> {
    let failed = replies
        .iter()
        .any(|r| MrReply::parse(r).is_ok_and(|r| r.general_status != status::SUCCESS));
    let st = Status::new(if failed {
        status::EMBEDDED_SERVICE_ERROR
    } else {
        status::SUCCESS
    });
    let mut out = Vec::new();
    let _ = append(&mut out, &st.reply(code::MULTIPLE_SERVICE_PACKET));
    let header = out.len();
    out.resize(
        header + 2 + replies.iter().map(|r| 2 + r.len()).sum::<usize>(),
        0,
    );
    let body = out.get_mut(header..).unwrap_or_default();
    let written = MspWriter::new(body, replies.len()).and_then(|mut w| {
        replies
            .iter()
            .try_for_each(|r| w.push(|t| r.as_slice().emit(t)))?;
        w.finish()
    });
    // Past 64 KiB the offsets do not fit: the reply is the header alone.
    out.truncate(header + written.unwrap_or(0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_maps_parse_and_match() {
        let bad = parse_routes(r#"{"1/x": "h:1"}"#).unwrap_err();
        assert!(bad.contains("\"1/x\"") && bad.contains("\"x\""), "{bad}");
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
        // "x-2" is neither a link, a range nor an IPv4 address.
        assert!(parse_routes(r#"{"1/x-2": "a:1"}"#).is_err());
        assert!(parse_routes(r#"{"1/5-2": "a:1"}"#)
            .unwrap_err()
            .contains("backwards"));
        assert!(parse_routes(r#"{"1/1": "nohostport"}"#)
            .unwrap_err()
            .contains("HOST:PORT"));
    }
}
