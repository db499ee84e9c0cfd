//! One client's session as a plain value: fed decoded frames, it produces reply frames.
//!
//! It knows whether the client registered, which CIP connections (Forward Open / Large
//! Forward Open) are open with their negotiated sizes, ids and idle deadlines, and it routes
//! unconnected (SendRRData, with or without Unconnected Send) and connected (SendUnitData)
//! requests to the [`Device`]. No sockets, no clocks: the caller passes `now`.
//!
//! Routing (a `Route` map, see [`crate::route`]): an Unconnected Send whose first route segment
//! a rule claims is handed to the runtime as an [`Outcome::Forward`] wherever it appears:
//! directly in SendRRData, as requests of a Multiple Service Packet (the others are answered
//! here and the reply keeps every slot in order), or in a connected message. A Forward Open
//! whose connection path starts with a claimed port segment opens a connection here, answered
//! once the runtime has opened one of the same size on the routed device (as a bridge does;
//! the Python cpppo answers every Forward Open itself and serves it locally); every request
//! on it then goes over that one, its reply back with the client's sequence count.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::device::{class, Device};
use crate::services::{code, execute};
use cpppo_cip::cpf::{self, Item};
use cpppo_cip::encap::{self, Body, Command, Header, Repr, SendData};
use cpppo_cip::epath::LogicalKind;
use cpppo_cip::list::{Identity as IdentityItem, LegacyAddress, Service as ServiceItem, Sockaddr};
use cpppo_cip::services::cm::{ForwardClose, ForwardOpen, Triad};
use cpppo_cip::{EPath, MrRequest, Padding, Segment};

use crate::route::{multiple_requests, Envelope, Forward, Hop, Opening, Slot};
use crate::wire::{put_reply_header, reply, status, Put, Reader, Status};

/// Encapsulation status codes.
pub use cpppo_cip::encap::status as encap_status;

/// Largest Message Router reply on an unconnected request (as the Python cpppo: 488 data
/// bytes after a Read Tag reply's header and type).
pub const UNCONNECTED_LIMIT: usize = 494;
/// Largest connection size granted by Large Forward Open.
pub const LARGE_CONNECTION_MAX: usize = 4002;
/// Largest connection size granted by Forward Open.
pub const CONNECTION_MAX: usize = 511;
/// The port the legacy 0x0001 reply names (cpppo: always EtherNet/IP's registered port).
pub const LEGACY_PORT: u16 = 44818;
/// Most CIP connections one session may hold open.
pub const MAX_CONNECTIONS: usize = 128;

/// Which Unconnected Send route paths the simulator serves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RoutePolicy {
    /// Any route path (cpppo's default).
    #[default]
    Any,
    /// Only exactly this route path (an empty list: only an empty route path).
    Exactly(Vec<(u16, Vec<u8>)>),
}

/// What a session serves, shared by all sessions of a server.
pub struct Shared {
    /// The object model.
    pub device: Arc<Device>,
    /// Accepted route paths.
    pub route: RoutePolicy,
    /// Where Unconnected Sends for other route paths are forwarded.
    pub routes: Vec<crate::route::Route>,
}

/// What the runtime should do after a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this frame.
    Reply(Vec<u8>),
    /// Send nothing.
    Silent,
    /// Close the connection (after UnRegisterSession).
    Close,
    /// Pass requests on to other devices; answer with [`Session::finish`].
    Forward(Forward),
}

/// An open CIP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Our O->T connection id: the client addresses requests to it.
    pub o_t_id: u32,
    /// The client's T->O connection id: we address replies to it.
    pub t_o_id: u32,
    /// Connection serial number.
    pub serial: u16,
    /// Originator vendor id.
    pub vendor: u16,
    /// Originator serial number.
    pub originator_serial: u32,
    /// Negotiated O->T size (bytes of connected data, sequence count included).
    pub o_t_size: usize,
    /// Negotiated T->O size.
    pub t_o_size: usize,
    /// Idle timeout: O->T RPI x timeout multiplier.
    pub timeout: Duration,
    /// When it times out unless used.
    pub deadline: Instant,
    /// Last sequence count seen.
    pub sequence: Option<u16>,
    /// The reply to that sequence count: a request repeating it is answered again from here,
    /// not executed twice (class 3 duplicate detection).
    pub last_reply: Vec<u8>,
    /// Where the connection path leads when a `Route` rule claims its first port segment:
    /// `HOST:PORT` and the rest of the route path. Requests on the connection go there.
    pub route: Option<(String, Vec<u8>)>,
}

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

fn fresh_id() -> u32 {
    // Distinct across sessions; seeded from the clock so restarts do not reuse ids at once.
    if NEXT_ID.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() | 1)
            .unwrap_or(1);
        let _ = NEXT_ID.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let id = NEXT_ID.fetch_add(0x9E37_79B9, Ordering::Relaxed);
    if id == 0 {
        1
    } else {
        id
    }
}

/// One client's session.
pub struct Session {
    shared: Arc<Shared>,
    handle: u32,
    connections: HashMap<u32, Connection>,
}

impl Session {
    /// A new, unregistered session.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            handle: 0,
            connections: HashMap::new(),
        }
    }

    /// What this session serves.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The session handle, once registered.
    pub fn handle(&self) -> Option<u32> {
        (self.handle != 0).then_some(self.handle)
    }

    /// The open connections, by our O->T id.
    pub fn connections(&self) -> &HashMap<u32, Connection> {
        &self.connections
    }

    /// Drop connections idle past their deadline.
    pub fn expire(&mut self, now: Instant) {
        self.connections.retain(|_, c| c.deadline > now);
    }

    /// The earliest connection deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.connections.values().map(|c| c.deadline).min()
    }

    /// Handle one complete frame (header and body) that arrived over TCP on `local`.
    pub fn on_frame(&mut self, frame: &[u8], local: SocketAddr, now: Instant) -> Outcome {
        let repr = match Repr::parse_bytes(frame) {
            Ok(repr) => repr,
            Err(e) => {
                // Complete but wrong: answer with the status the codec assigns.
                let Ok(packet) = encap::Packet::new_checked(frame) else {
                    return Outcome::Close;
                };
                let h = Header::parse(&packet);
                let st = encap::error_status(h.command, usize::from(packet.length()), &e);
                return Outcome::Reply(emit(h.reply(st), Body::Empty));
            }
        };
        let h = repr.header;
        if let Some(out) = list_reply(&self.shared, &h, local) {
            return Outcome::Reply(out);
        }
        match (h.command, repr.body) {
            (Command::Nop, _) => Outcome::Silent,
            (Command::UnRegisterSession, _) => Outcome::Close,
            (Command::RegisterSession, Body::Register(reg)) => {
                if reg.protocol_version != encap::PROTOCOL_VERSION {
                    let out = Header {
                        session: 0,
                        ..h.reply(encap_status::UNSUPPORTED_PROTOCOL)
                    };
                    return Outcome::Reply(emit(out, Body::Register(reg)));
                }
                if self.handle == 0 {
                    self.handle = fresh_id();
                }
                Outcome::Reply(emit(
                    Header {
                        session: self.handle,
                        ..h.reply(0)
                    },
                    Body::Register(reg),
                ))
            }
            (Command::RegisterSession, _) => {
                Outcome::Reply(emit(h.reply(encap_status::INVALID_LENGTH), Body::Empty))
            }
            (Command::SendRRData | Command::SendUnitData, body) => {
                if self.handle == 0 || h.session != self.handle {
                    return Outcome::Reply(emit(
                        h.reply(encap_status::INVALID_SESSION),
                        Body::Empty,
                    ));
                }
                let Body::SendData(data) = body else {
                    return Outcome::Reply(emit(
                        h.reply(encap_status::INCORRECT_DATA),
                        Body::Empty,
                    ));
                };
                let out = if h.command == Command::SendRRData {
                    self.send_rr_data(&h, &data, now)
                } else {
                    self.send_unit_data(&h, &data, now)
                };
                out.unwrap_or_else(|| {
                    Outcome::Reply(emit(h.reply(encap_status::INCORRECT_DATA), Body::Empty))
                })
            }
            _ => Outcome::Reply(emit(h.reply(encap_status::INVALID_COMMAND), Body::Empty)),
        }
    }

    fn send_rr_data(&mut self, h: &Header, data: &SendData<'_>, now: Instant) -> Option<Outcome> {
        let req = MrRequest::parse(data.cpf.unconnected_data()?).ok()?;
        let envelope = Envelope::Unconnected {
            header: *h,
            interface: data.interface,
            timeout: data.timeout,
        };
        if let Some(fwd) = self.plan(&req, now, UNCONNECTED_LIMIT, envelope) {
            return Some(Outcome::Forward(fwd));
        }
        let reply = self.unconnected(&req, now, 0);
        let items = two(Item::NullAddress, Item::UnconnectedData(&reply));
        Some(Outcome::Reply(emit(
            h.reply(0),
            Body::SendData(SendData {
                cpf: items,
                ..*data
            }),
        )))
    }

    fn send_unit_data(&mut self, h: &Header, data: &SendData<'_>, now: Instant) -> Option<Outcome> {
        let id = data.cpf.connection_id()?;
        let (sequence, message) = data.cpf.connected_data()?;
        let req = MrRequest::parse(message).ok()?;
        self.expire(now);
        let wrap = |t_o_id: u32, reply: &[u8]| {
            let items = two(
                Item::ConnectedAddress {
                    connection_id: t_o_id,
                },
                Item::ConnectedData {
                    sequence,
                    data: reply,
                },
            );
            Outcome::Reply(emit(
                h.reply(0),
                Body::SendData(SendData {
                    cpf: items,
                    ..*data
                }),
            ))
        };
        let Some(c) = self.connections.get_mut(&id) else {
            // No such connection (closed or timed out): Connection Manager "not found".
            let st = Status::ext(status::CONNECTION_FAILURE, 0x0107);
            return Some(wrap(0, &reply(req.service, &st)));
        };
        c.deadline = now + c.timeout;
        if c.sequence == Some(sequence) && !c.last_reply.is_empty() {
            return Some(wrap(c.t_o_id, &c.last_reply));
        }
        c.sequence = Some(sequence);
        let (t_o_id, limit) = (c.t_o_id, c.t_o_size.saturating_sub(2));
        let size = c.t_o_size.max(c.o_t_size).min(LARGE_CONNECTION_MAX) as u16;
        let envelope = Envelope::Connected {
            header: *h,
            interface: data.interface,
            timeout: data.timeout,
            o_t_id: id,
            t_o_id,
            sequence,
        };
        if let Some((target, route)) = c.route.clone() {
            // The connection path leads elsewhere: every request goes there.
            let hop = Hop {
                target,
                message: message.to_vec(),
                route,
                connected: Some(size),
            };
            return Some(Outcome::Forward(Forward {
                hops: vec![hop],
                slots: None,
                envelope,
                opening: None,
            }));
        }
        if let Some(fwd) = self.plan(&req, now, limit, envelope) {
            return Some(Outcome::Forward(fwd));
        }
        let reply = if is_connection_manager(&req) {
            self.connection_manager(&req, now, 0)
        } else {
            execute(&self.shared.device, &req, limit)
        };
        if let Some(c) = self.connections.get_mut(&id) {
            c.last_reply.clone_from(&reply);
        }
        Some(wrap(t_o_id, &reply))
    }

    /// The client's reply frame once the requests of `fwd` were answered (`None`: that hop
    /// failed); a connection remembers it for a repeated sequence count.
    pub fn finish(&mut self, fwd: &Forward, answers: &[Option<Vec<u8>>]) -> Vec<u8> {
        let cip = fwd.cip_reply(answers);
        if let Some(o) = &fwd.opening {
            if !Opening::succeeded(answers, fwd.hops.len()) {
                self.connections.remove(&o.o_t_id);
            }
        }
        if let Envelope::Connected { o_t_id, .. } = &fwd.envelope {
            if let Some(c) = self.connections.get_mut(o_t_id) {
                c.last_reply.clone_from(&cip);
            }
        }
        fwd.frame(&cip)
    }

    /// What of `req` goes elsewhere: a routed Unconnected Send, or a Multiple Service Packet
    /// holding routed Unconnected Sends (its other requests are answered here, now, within
    /// `limit` bytes all told: so before the routed ones, whatever their order).
    fn plan(
        &mut self,
        req: &MrRequest<'_>,
        now: Instant,
        limit: usize,
        envelope: Envelope,
    ) -> Option<Forward> {
        if self.shared.routes.is_empty() {
            return None;
        }
        if let Some(hop) = self.claimed(req) {
            return Some(Forward {
                hops: vec![hop],
                slots: None,
                envelope,
                opening: None,
            });
        }
        if matches!(req.service, code::FORWARD_OPEN | code::LARGE_FORWARD_OPEN)
            && is_connection_manager(req)
        {
            return self.routed_open(req, now, envelope);
        }
        if req.service != code::MULTIPLE_SERVICE_PACKET || !is_message_router(req) {
            return None;
        }
        let parsed: Vec<MrRequest<'_>> = multiple_requests(req.data)?
            .into_iter()
            .map(MrRequest::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let claims: Vec<Option<Hop>> = parsed.iter().map(|r| self.claimed(r)).collect();
        if claims.iter().all(Option::is_none) {
            return None;
        }
        let mut hops = Vec::new();
        let mut slots = Vec::with_capacity(parsed.len());
        let mut used = 6 + 2 * parsed.len();
        for (one, claim) in parsed.iter().zip(claims) {
            match claim {
                Some(hop) => {
                    slots.push(Slot::Remote(hops.len()));
                    hops.push(hop);
                }
                None => {
                    let out = self.in_multiple(one, now, limit.saturating_sub(used));
                    used += out.len();
                    slots.push(Slot::Local(out));
                }
            }
        }
        Some(Forward {
            hops,
            slots: Some(slots),
            envelope,
            opening: None,
        })
    }

    /// A Forward Open whose connection path a `Route` rule claims: opened here, and answered
    /// once the routed device has opened its side (a connection of the same size), or failed
    /// with 0x01/0x0204 when it cannot be reached or refuses.
    fn routed_open(
        &mut self,
        req: &MrRequest<'_>,
        now: Instant,
        envelope: Envelope,
    ) -> Option<Forward> {
        let large = req.service == code::LARGE_FORWARD_OPEN;
        let fo = ForwardOpen::parse(large, req.data).ok()?;
        let (target, route) = self.routed(fo.connection_path.as_bytes()?)?;
        let reply = self.forward_open(req, now);
        let (o_t_id, size) = match reply.get(4..8).map(<[u8; 4]>::try_from) {
            Some(Ok(id)) if reply.get(2) == Some(&0) => {
                let id = u32::from_le_bytes(id);
                let c = self.connections.get(&id)?;
                (
                    id,
                    c.t_o_size.max(c.o_t_size).min(LARGE_CONNECTION_MAX) as u16,
                )
            }
            // Refused here: no need to ask the device.
            _ => (0, 0),
        };
        let mut failed = reply.get(..2).unwrap_or_default().to_vec();
        failed.extend_from_slice(&[status::CONNECTION_FAILURE, 1, 0x04, 0x02]);
        failed.extend_from_slice(reply.get(12..20).unwrap_or_default());
        failed.extend_from_slice(&[0, 0]);
        let hops = if o_t_id == 0 {
            Vec::new()
        } else {
            vec![Hop {
                target,
                message: Vec::new(),
                route,
                connected: Some(size),
            }]
        };
        Some(Forward {
            hops,
            slots: None,
            envelope,
            opening: Some(Opening {
                o_t_id,
                reply,
                failed,
            }),
        })
    }

    /// One request of a Multiple Service Packet answered here.
    fn in_multiple(&mut self, req: &MrRequest<'_>, now: Instant, limit: usize) -> Vec<u8> {
        if req.service == code::MULTIPLE_SERVICE_PACKET {
            reply(req.service, &Status::new(status::SERVICE_NOT_SUPPORTED))
        } else if is_connection_manager(req) {
            self.connection_manager(req, now, 0)
        } else {
            execute(&self.shared.device, req, limit)
        }
    }

    /// An unconnected request: to the Connection Manager, or to the device.
    fn unconnected(&mut self, req: &MrRequest<'_>, now: Instant, depth: u8) -> Vec<u8> {
        if is_connection_manager(req) {
            self.connection_manager(req, now, depth)
        } else {
            execute(&self.shared.device, req, UNCONNECTED_LIMIT)
        }
    }

    fn connection_manager(&mut self, req: &MrRequest<'_>, now: Instant, depth: u8) -> Vec<u8> {
        match req.service {
            code::READ_FRAGMENTED if depth == 0 => self.unconnected_send(req, now),
            code::FORWARD_OPEN | code::LARGE_FORWARD_OPEN => self.forward_open(req, now),
            code::READ_MODIFY_WRITE => self.forward_close(req),
            _ => execute(&self.shared.device, req, UNCONNECTED_LIMIT),
        }
    }

    /// Unconnected Send (0x52 to @6/1): check the route path, answer with the embedded
    /// request's own reply (not wrapped).
    fn unconnected_send(&mut self, req: &MrRequest<'_>, now: Instant) -> Vec<u8> {
        let Some((embedded, route, words)) = split_unconnected_send(req.data) else {
            return reply(req.service, &Status::new(status::NOT_ENOUGH_DATA));
        };
        if !self.route_accepted(route) {
            let mut out = reply(
                req.service,
                &Status::ext(status::CONNECTION_FAILURE, 0x0312),
            );
            out.put_u8(words as u8);
            out.put_u8(0);
            return out;
        }
        match MrRequest::parse(embedded) {
            Ok(inner) => self.unconnected(&inner, now, 1),
            Err(_) => reply(req.service, &Status::new(status::NOT_ENOUGH_DATA)),
        }
    }

    /// An Unconnected Send whose first route segment a `Route` rule claims (unless the route
    /// path is the one served here), as the request to pass on.
    fn claimed(&self, req: &MrRequest<'_>) -> Option<Hop> {
        if req.service != code::READ_FRAGMENTED || !is_connection_manager(req) {
            return None;
        }
        let (message, route, _) = split_unconnected_send(req.data)?;
        let (target, rest) = self.routed(route)?;
        Some(Hop {
            target,
            message: message.to_vec(),
            route: rest,
            connected: None,
        })
    }

    /// Where a route path (padded; may end in other segments) leads when a `Route` rule claims
    /// its first port segment: `HOST:PORT` and the port segments after the first.
    fn routed(&self, route: &[u8]) -> Option<(String, Vec<u8>)> {
        let path = EPath::parse(route, Padding::Padded).ok()?;
        let ports: usize = path
            .segments()
            .take_while(|s| matches!(s, Segment::Port { .. }))
            .map(|s| s.buffer_len(Padding::Padded))
            .sum();
        let ports = route.get(..ports)?;
        if matches!(self.shared.route, RoutePolicy::Exactly(_)) && self.route_accepted(ports) {
            return None;
        }
        let Some(Segment::Port { port, link }) = path.segments().next() else {
            return None;
        };
        let rule = self.shared.routes.iter().find(|r| r.matches(port, link))?;
        let first = Segment::Port { port, link }.buffer_len(Padding::Padded);
        Some((
            rule.target.clone(),
            ports.get(first..).unwrap_or_default().to_vec(),
        ))
    }

    fn route_accepted(&self, route: &[u8]) -> bool {
        match &self.shared.route {
            RoutePolicy::Any => true,
            RoutePolicy::Exactly(want) => {
                let Ok(path) = EPath::parse(route, Padding::Padded) else {
                    return false;
                };
                let mut got = path.segments();
                want.iter().all(|(port, link)| {
                    matches!(got.next(), Some(Segment::Port { port: p, link: l }) if p == *port && l == link.as_slice())
                }) && got.next().is_none()
            }
        }
    }

    fn forward_open(&mut self, req: &MrRequest<'_>, now: Instant) -> Vec<u8> {
        let large = req.service == code::LARGE_FORWARD_OPEN;
        let Ok(fo) = ForwardOpen::parse(large, req.data) else {
            return reply(req.service, &Status::new(status::NOT_ENOUGH_DATA));
        };
        let Triad {
            connection_serial: serial,
            vendor_id: vendor,
            originator_serial,
        } = fo.triad;
        let (t_o_id, multiplier, o_t_rpi, t_o_rpi) = (
            fo.t_o_connection_id,
            fo.timeout_multiplier,
            fo.o_t_rpi,
            fo.t_o_rpi,
        );
        let max = if large {
            LARGE_CONNECTION_MAX
        } else {
            CONNECTION_MAX
        };
        let o_t_size = fo.o_t_size() as usize;
        let t_o_size = fo.t_o_size() as usize;
        let failure = |ext: u16| {
            let mut out = reply(req.service, &Status::ext(status::CONNECTION_FAILURE, ext));
            out.put_u16(serial);
            out.put_u16(vendor);
            out.put_u32(originator_serial);
            out.put_u8(0);
            out.put_u8(0);
            out
        };
        if o_t_size > max || t_o_size > max || o_t_size < 8 || t_o_size < 8 {
            return failure(0x0109);
        }
        self.connections.retain(|_, c| {
            (c.serial, c.vendor, c.originator_serial) != (serial, vendor, originator_serial)
        });
        if self.connections.len() >= MAX_CONNECTIONS {
            return failure(0x0113);
        }
        let route = fo
            .connection_path
            .as_bytes()
            .filter(|_| !self.shared.routes.is_empty())
            .and_then(|p| self.routed(p));
        let shift = u32::from(multiplier.min(7));
        let timeout = Duration::from_micros(u64::from(o_t_rpi) * (4u64 << shift));
        let o_t_id = fresh_id();
        self.connections.insert(
            o_t_id,
            Connection {
                o_t_id,
                t_o_id,
                serial,
                vendor,
                originator_serial,
                o_t_size,
                t_o_size,
                timeout,
                deadline: now + timeout,
                sequence: None,
                last_reply: Vec::new(),
                route,
            },
        );
        let mut out = reply(req.service, &Status::new(0));
        out.put_u32(o_t_id);
        out.put_u32(t_o_id);
        out.put_u16(serial);
        out.put_u16(vendor);
        out.put_u32(originator_serial);
        out.put_u32(o_t_rpi);
        out.put_u32(t_o_rpi);
        out.put_u8(0);
        out.put_u8(0);
        out
    }

    fn forward_close(&mut self, req: &MrRequest<'_>) -> Vec<u8> {
        let Ok(fc) = ForwardClose::parse(req.data) else {
            return reply(req.service, &Status::new(status::NOT_ENOUGH_DATA));
        };
        let Triad {
            connection_serial: serial,
            vendor_id: vendor,
            originator_serial,
        } = fc.triad;
        let before = self.connections.len();
        self.connections.retain(|_, c| {
            (c.serial, c.vendor, c.originator_serial) != (serial, vendor, originator_serial)
        });
        let found = self.connections.len() < before;
        let st = if found {
            Status::new(0)
        } else {
            Status::ext(status::CONNECTION_FAILURE, 0x0107)
        };
        let mut out = Vec::new();
        put_reply_header(&mut out, req.service, &st);
        out.put_u16(serial);
        out.put_u16(vendor);
        out.put_u32(originator_serial);
        out.put_u8(0);
        out.put_u8(0);
        out
    }
}

/// Unconnected Send data: (embedded request, route path bytes, route words).
fn split_unconnected_send(data: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    let mut r = Reader::new(data);
    let _priority = r.u8()?;
    let _ticks = r.u8()?;
    let size = usize::from(r.u16()?);
    let embedded = r.take(size)?;
    if size % 2 == 1 {
        r.take(1)?;
    }
    let words = usize::from(r.u8()?);
    let _reserved = r.u8()?;
    let route = r.take(words * 2)?;
    Some((embedded, route, words))
}

/// Emit a reply frame (our replies always fit the 16-bit length).
fn emit(header: Header, body: Body<'_>) -> Vec<u8> {
    Repr { header, body }.to_vec().unwrap_or_default()
}

/// A two-item CPF list.
fn two<'a>(a: Item<'a>, b: Item<'a>) -> cpf::Repr<'a> {
    // Two items always fit (cpf::MAX_ITEMS is larger).
    cpf::Repr::from_items(&[a, b]).unwrap_or_default()
}

fn is_connection_manager(req: &MrRequest<'_>) -> bool {
    addresses(req, class::CONNECTION_MANAGER)
}

fn is_message_router(req: &MrRequest<'_>) -> bool {
    addresses(req, class::MESSAGE_ROUTER)
}

/// Whether `req` is addressed to instance 1 of `class`.
fn addresses(req: &MrRequest<'_>, class: u16) -> bool {
    let mut segs = req.path.segments();
    matches!(
        (segs.next(), segs.next(), segs.next()),
        (
            Some(Segment::Logical { kind: LogicalKind::Class, value: c, .. }),
            Some(Segment::Logical { kind: LogicalKind::Instance, value: 1, .. }),
            None
        ) if c == u32::from(class)
    )
}

/// The ListIdentity item for a request that arrived on `local`.
pub fn identity_item(dev: &Device, local: SocketAddr) -> IdentityItem<'_> {
    let id = dev.identity();
    let addr = match local {
        SocketAddr::V4(a) => *a.ip(),
        SocketAddr::V6(_) => std::net::Ipv4Addr::UNSPECIFIED,
    };
    let name = id.product_name.as_bytes();
    IdentityItem {
        protocol_version: 1,
        socket: Sockaddr {
            family: 2,
            port: local.port(),
            addr,
            zero: [0; 8],
        },
        vendor_id: id.vendor,
        device_type: id.device_type,
        product_code: id.product_code,
        revision_major: id.revision[0],
        revision_minor: id.revision[1],
        status: id.status,
        serial_number: id.serial,
        product_name: name.get(..255).unwrap_or(name),
        state: id.state,
    }
}

/// The item of the reply to the undocumented legacy command 0x0001, as the Python cpppo has
/// it: the TCP/IP object's configured IP address (0.0.0.0 when none) and port 44818, whatever
/// address and port the request arrived on.
pub fn legacy_item(dev: &Device) -> LegacyAddress {
    let mut cfg = Vec::new();
    let ip = dev
        .attribute(class::TCPIP, 1, 5)
        .and_then(|a| a.read(0, a.len(), &mut cfg).ok())
        .and_then(|()| <[u8; 4]>::try_from(cfg.get(..4)?).ok())
        // Attribute 5 holds the address as a UDINT (little-endian).
        .map(|b| std::net::Ipv4Addr::from(u32::from_le_bytes(b)))
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    LegacyAddress::new(ip, LEGACY_PORT)
}

/// The reply to a ListServices / ListIdentity / ListInterfaces / legacy 0x0001 request (over
/// TCP or UDP),
/// or `None` for any other command.
pub fn list_reply(shared: &Shared, h: &Header, local: SocketAddr) -> Option<Vec<u8>> {
    let item = match h.command {
        Command::ListServices => Item::Service(ServiceItem {
            version: 1,
            // CIP encapsulation over TCP; no class 0/1 UDP I/O. The name as cpppo and its
            // clients have it: NUL-terminated, 15 bytes.
            capability: ServiceItem::CAPABILITY_TCP,
            name: b"Communications\0",
        }),
        Command::ListIdentity => Item::Identity(identity_item(&shared.device, local)),
        Command::ListInterfaces => return Some(emit(h.reply(0), Body::Items(cpf::Repr::new()))),
        Command::Legacy => Item::Legacy(legacy_item(&shared.device)),
        _ => return None,
    };
    let items = cpf::Repr::from_items(&[item]).unwrap_or_default();
    Some(emit(h.reply(0), Body::Items(items)))
}

/// Answer one UDP datagram: only the List commands (and legacy 0x0001) are served over UDP.
pub fn on_datagram(shared: &Shared, packet: &[u8], local: SocketAddr) -> Option<Vec<u8>> {
    let repr = cpppo_cip::frame::decode_datagram(packet).ok()?;
    list_reply(shared, &repr.header, local)
}
