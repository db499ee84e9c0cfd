//! One client's session as a plain value: fed decoded frames, it produces reply frames.
//!
//! It knows whether the client registered, which CIP connections (Forward Open / Large
//! Forward Open) are open with their negotiated sizes, ids and idle deadlines, and it routes
//! unconnected (SendRRData, with or without Unconnected Send) and connected (SendUnitData)
//! requests to the [`Device`]. No sockets, no clocks: the caller passes `now`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::device::{class, Device};
use crate::services::{code, execute};
use crate::wire::{
    parse_cpf, parse_path, put_cpf, put_reply_header, reply, status, Header, Put, Reader, Request,
    Segment, Status, HEADER_LEN,
};

/// Encapsulation commands.
pub mod command {
    /// No operation: no reply.
    pub const NOP: u16 = 0x0000;
    /// List Services.
    pub const LIST_SERVICES: u16 = 0x0004;
    /// List Identity.
    pub const LIST_IDENTITY: u16 = 0x0063;
    /// List Interfaces.
    pub const LIST_INTERFACES: u16 = 0x0064;
    /// Register Session.
    pub const REGISTER_SESSION: u16 = 0x0065;
    /// Unregister Session: no reply, the connection closes.
    pub const UNREGISTER_SESSION: u16 = 0x0066;
    /// Send RR Data (unconnected).
    pub const SEND_RR_DATA: u16 = 0x006F;
    /// Send Unit Data (connected).
    pub const SEND_UNIT_DATA: u16 = 0x0070;
}

/// Encapsulation status codes.
pub mod encap_status {
    /// Invalid or unsupported command.
    pub const INVALID_COMMAND: u32 = 0x0001;
    /// Poorly formed or incorrect command data.
    pub const INCORRECT_DATA: u32 = 0x0003;
    /// Invalid session handle.
    pub const INVALID_SESSION: u32 = 0x0064;
    /// Invalid length.
    pub const INVALID_LENGTH: u32 = 0x0065;
    /// Unsupported protocol revision.
    pub const UNSUPPORTED_PROTOCOL: u32 = 0x0069;
}

/// Largest Message Router reply on an unconnected request (as the Python cpppo: 488 data
/// bytes after a Read Tag reply's header and type).
pub const UNCONNECTED_LIMIT: usize = 494;
/// Largest connection size granted by Large Forward Open.
pub const LARGE_CONNECTION_MAX: usize = 4002;
/// Largest connection size granted by Forward Open.
pub const CONNECTION_MAX: usize = 511;
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

/// The length of the frame at the start of `buf`, once its header is complete.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let len = u16::from_le_bytes([*buf.get(2)?, *buf.get(3)?]);
    Some(HEADER_LEN + usize::from(len))
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
        let Some(h) = Header::parse(frame) else {
            return Outcome::Close;
        };
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        if let Some(out) = list_reply(&self.shared, &h, body, local) {
            return Outcome::Reply(out);
        }
        match h.command {
            command::NOP => Outcome::Silent,
            command::UNREGISTER_SESSION => Outcome::Close,
            command::REGISTER_SESSION => Outcome::Reply(self.register(&h, body)),
            command::SEND_RR_DATA | command::SEND_UNIT_DATA => {
                if self.handle == 0 || h.session != self.handle {
                    return Outcome::Reply(h.reply(h.session, encap_status::INVALID_SESSION, &[]));
                }
                let result = if h.command == command::SEND_RR_DATA {
                    self.send_rr_data(body, now)
                } else {
                    self.send_unit_data(body, now)
                };
                Outcome::Reply(match result {
                    Some(out) => h.reply(self.handle, 0, &out),
                    None => h.reply(self.handle, encap_status::INCORRECT_DATA, &[]),
                })
            }
            _ => Outcome::Reply(h.reply(h.session, encap_status::INVALID_COMMAND, &[])),
        }
    }

    fn register(&mut self, h: &Header, body: &[u8]) -> Vec<u8> {
        let mut r = Reader::new(body);
        let (Some(version), Some(_options)) = (r.u16(), r.u16()) else {
            return h.reply(0, encap_status::INVALID_LENGTH, body);
        };
        if version != 1 || body.len() != 4 {
            return h.reply(0, encap_status::UNSUPPORTED_PROTOCOL, body);
        }
        if self.handle == 0 {
            self.handle = fresh_id();
        }
        h.reply(self.handle, 0, body)
    }

    fn send_rr_data(&mut self, body: &[u8], now: Instant) -> Option<Vec<u8>> {
        let items = parse_cpf(body.get(6..)?)?;
        let (_, request) = items.iter().find(|(kind, _)| *kind == 0x00B2)?;
        let req = Request::parse(request)?;
        let reply = self.unconnected(&req, now, 0);
        // Interface handle and timeout are echoed.
        let mut out = body.get(..6)?.to_vec();
        put_cpf(&mut out, &[(0x0000, &[]), (0x00B2, &reply)]);
        Some(out)
    }

    fn send_unit_data(&mut self, body: &[u8], now: Instant) -> Option<Vec<u8>> {
        let items = parse_cpf(body.get(6..)?)?;
        let (_, addr) = items.iter().find(|(kind, _)| *kind == 0x00A1)?;
        let (_, data) = items.iter().find(|(kind, _)| *kind == 0x00B1)?;
        let id = Reader::new(addr).u32()?;
        let mut r = Reader::new(data);
        let sequence = r.u16()?;
        let req = Request::parse(r.rest())?;
        self.expire(now);
        let (t_o_id, limit) = match self.connections.get_mut(&id) {
            Some(c) => {
                c.deadline = now + c.timeout;
                c.sequence = Some(sequence);
                (c.t_o_id, c.t_o_size.saturating_sub(2))
            }
            None => (0, 0),
        };
        let reply = if limit == 0 {
            // No such connection (closed or timed out): Connection Manager "not found".
            reply(
                req.service,
                &Status::ext(status::CONNECTION_FAILURE, 0x0107),
            )
        } else if is_connection_manager(&req) {
            self.connection_manager(&req, now, 1)
        } else {
            execute(&self.shared.device, &req, limit)
        };
        let mut item = Vec::with_capacity(2 + reply.len());
        item.put_u16(sequence);
        item.extend_from_slice(&reply);
        let mut out = body.get(..6)?.to_vec();
        put_cpf(
            &mut out,
            &[(0x00A1, &t_o_id.to_le_bytes()), (0x00B1, &item)],
        );
        Some(out)
    }

    /// An unconnected request: to the Connection Manager, or to the device.
    fn unconnected(&mut self, req: &Request<'_>, now: Instant, depth: u8) -> Vec<u8> {
        if is_connection_manager(req) {
            self.connection_manager(req, now, depth)
        } else {
            execute(&self.shared.device, req, UNCONNECTED_LIMIT)
        }
    }

    fn connection_manager(&mut self, req: &Request<'_>, now: Instant, depth: u8) -> Vec<u8> {
        match req.service {
            code::READ_FRAGMENTED if depth == 0 => self.unconnected_send(req, now),
            code::FORWARD_OPEN | code::LARGE_FORWARD_OPEN => self.forward_open(req, now),
            code::READ_MODIFY_WRITE => self.forward_close(req),
            _ => execute(&self.shared.device, req, UNCONNECTED_LIMIT),
        }
    }

    /// Unconnected Send (0x52 to @6/1): check the route path, answer with the embedded
    /// request's own reply (not wrapped).
    fn unconnected_send(&mut self, req: &Request<'_>, now: Instant) -> Vec<u8> {
        let mut r = Reader::new(req.data);
        let parsed = (|| {
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
        })();
        let Some((embedded, route, words)) = parsed else {
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
        match Request::parse(embedded) {
            Some(inner) => self.unconnected(&inner, now, 1),
            None => reply(req.service, &Status::new(status::NOT_ENOUGH_DATA)),
        }
    }

    fn route_accepted(&self, route: &[u8]) -> bool {
        match &self.shared.route {
            RoutePolicy::Any => true,
            RoutePolicy::Exactly(want) => {
                let Some(segs) = parse_path(route) else {
                    return false;
                };
                let got: Vec<(u16, Vec<u8>)> = segs
                    .into_iter()
                    .filter_map(|s| match s {
                        Segment::Port(p, l) => Some((p, l)),
                        _ => None,
                    })
                    .collect();
                &got == want
            }
        }
    }

    fn forward_open(&mut self, req: &Request<'_>, now: Instant) -> Vec<u8> {
        let large = req.service == code::LARGE_FORWARD_OPEN;
        let mut r = Reader::new(req.data);
        let parsed = (|| {
            let _priority = r.u8()?;
            let _ticks = r.u8()?;
            let _o_t_id = r.u32()?;
            let t_o_id = r.u32()?;
            let serial = r.u16()?;
            let vendor = r.u16()?;
            let originator_serial = r.u32()?;
            let multiplier = r.u8()?;
            r.take(3)?;
            let o_t_rpi = r.u32()?;
            let o_t_params = if large { r.u32()? } else { u32::from(r.u16()?) };
            let t_o_rpi = r.u32()?;
            let t_o_params = if large { r.u32()? } else { u32::from(r.u16()?) };
            let _transport = r.u8()?;
            let words = usize::from(r.u8()?);
            r.take(words * 2)?;
            Some((
                t_o_id,
                serial,
                vendor,
                originator_serial,
                multiplier,
                o_t_rpi,
                o_t_params,
                t_o_rpi,
                t_o_params,
            ))
        })();
        let Some((
            t_o_id,
            serial,
            vendor,
            originator_serial,
            multiplier,
            o_t_rpi,
            o_t_params,
            t_o_rpi,
            t_o_params,
        )) = parsed
        else {
            return reply(req.service, &Status::new(status::NOT_ENOUGH_DATA));
        };
        let (mask, max) = if large {
            (0xFFFF, LARGE_CONNECTION_MAX)
        } else {
            (0x01FF, CONNECTION_MAX)
        };
        let o_t_size = (o_t_params & mask) as usize;
        let t_o_size = (t_o_params & mask) as usize;
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

    fn forward_close(&mut self, req: &Request<'_>) -> Vec<u8> {
        let mut r = Reader::new(req.data);
        let parsed = (|| {
            let _priority = r.u8()?;
            let _ticks = r.u8()?;
            Some((r.u16()?, r.u16()?, r.u32()?))
        })();
        let Some((serial, vendor, originator_serial)) = parsed else {
            return reply(req.service, &Status::new(status::NOT_ENOUGH_DATA));
        };
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

fn is_connection_manager(req: &Request<'_>) -> bool {
    matches!(
        parse_path(req.path).as_deref(),
        Some([Segment::Class(c), Segment::Instance(1)]) if *c == u32::from(class::CONNECTION_MANAGER)
    )
}

/// The ListIdentity CPF item body (type 0x000C) for a request that arrived on `local`.
pub fn identity_item(dev: &Device, local: SocketAddr) -> Vec<u8> {
    let id = dev.identity();
    let mut item = Vec::new();
    item.put_u16(1);
    item.extend_from_slice(&2u16.to_be_bytes());
    item.extend_from_slice(&local.port().to_be_bytes());
    match local {
        SocketAddr::V4(a) => item.extend_from_slice(&a.ip().octets()),
        SocketAddr::V6(_) => item.extend_from_slice(&[0; 4]),
    }
    item.extend_from_slice(&[0; 8]);
    item.put_u16(id.vendor);
    item.put_u16(id.device_type);
    item.put_u16(id.product_code);
    item.extend_from_slice(&id.revision);
    item.put_u16(id.status);
    item.put_u32(id.serial);
    let name = id.product_name.as_bytes();
    let name = name.get(..255).unwrap_or(name);
    item.put_u8(name.len() as u8);
    item.extend_from_slice(name);
    item.put_u8(id.state);
    item
}

/// The reply to a ListServices / ListIdentity / ListInterfaces request (over TCP or UDP),
/// or `None` for any other command.
pub fn list_reply(shared: &Shared, h: &Header, _body: &[u8], local: SocketAddr) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    match h.command {
        command::LIST_SERVICES => {
            let mut item = Vec::new();
            item.put_u16(1);
            // CIP encapsulation over TCP (bit 5); no class 0/1 UDP I/O. The name as cpppo
            // and its clients have it: NUL-terminated, 15 bytes.
            item.put_u16(0x0020);
            item.extend_from_slice(b"Communications\0");
            put_cpf(&mut body, &[(0x0100, &item)]);
        }
        command::LIST_IDENTITY => {
            let item = identity_item(&shared.device, local);
            put_cpf(&mut body, &[(0x000C, &item)]);
        }
        command::LIST_INTERFACES => body.put_u16(0),
        _ => return None,
    }
    Some(h.reply(h.session, 0, &body))
}

/// Answer one UDP datagram: only the List commands are served over UDP.
pub fn on_datagram(shared: &Shared, packet: &[u8], local: SocketAddr) -> Option<Vec<u8>> {
    let h = Header::parse(packet)?;
    let body = packet.get(HEADER_LEN..HEADER_LEN + usize::from(h.length))?;
    list_reply(shared, &h, body, local)
}
