//! One client's session as a plain value: fed decoded frames, it produces reply frames.
//!
//! It knows whether the client registered, which CIP connections (Forward Open / Large
//! Forward Open) are open with their negotiated sizes, ids and idle deadlines, and it routes
//! unconnected (SendRRData, with or without Unconnected Send) and connected (SendUnitData)
//! requests to the [`Device`]. No sockets, no clocks: the caller passes `now` with each frame,
//! asks [`Session::poll_timeout`] when the session next needs attention and then calls
//! [`Session::handle_timeout`] (quinn's shape), which frees the connections their clients
//! abandoned. Each request is decoded once and answered with the codec's reply types; each
//! reply says what it answered ([`Summary`]) for the statistics.
//!
//! Routing (a `Route` map, see [`crate::server::route`]): an Unconnected Send whose first route segment
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

use crate::model::device::Device;
use crate::server::io::IoHub;
use crate::server::repeat::{Known, Repeat};
use crate::server::services::{answer, PlainRead};
use cpppo_cip::cpf::{self, Item};
use cpppo_cip::encap::{self, Body, Command, Header, Repr, SendFrame, SendView};
use cpppo_cip::epath::LogicalKind;
use cpppo_cip::list::{Identity as IdentityItem, LegacyAddress, Service as ServiceItem, Sockaddr};
use cpppo_cip::mr::{status, Payload};
use cpppo_cip::server::{append, RouteRefusal, Status, UnconnectedSendData};
use cpppo_cip::services::class;
use cpppo_cip::services::cm::ext;
use cpppo_cip::services::cm::{ConnectionFailure, ForwardClose, ForwardCloseReply};
use cpppo_cip::services::cm::{ForwardOpen, ForwardOpenReply, Triad};
use cpppo_cip::services::{code, ReplyBody, Service};
use cpppo_cip::{EPath, MrReply, MrRequest, Padding, Segment};

use crate::server::route::{Envelope, Forward, Hop, Opening, Slot};

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

use cpppo_cip::services::cm::ext::{BAD_ROUTE, INVALID_SIZE, NOT_FOUND, NO_MORE_CONNECTIONS};
/// Connection Manager extended status: Unconnected Send timed out (a routed device failed).
pub const ROUTE_TIMED_OUT: u16 = cpppo_cip::services::cm::ext::UNCONNECTED_TIMED_OUT;

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
    pub routes: Vec<crate::server::route::RouteRule>,
    /// The class 1 I/O adapter, when the device serves implicit I/O.
    pub io: Option<Arc<IoHub>>,
}

/// What one exchange was, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// The CIP service requested (of the request an Unconnected Send carries); 0 for the
    /// encapsulation commands and for a request that did not decode.
    pub service: u8,
    /// The reply's CIP general status; for a reply without a CIP reply, its encapsulation
    /// status (255 for those above 255).
    pub status: u8,
    /// Whether the exchange registered a session.
    pub registered: bool,
}

impl Summary {
    /// An encapsulation-only reply with encapsulation status `st`.
    fn encapsulation(st: u32) -> Summary {
        Summary {
            service: 0,
            status: u8::try_from(st).unwrap_or(u8::MAX),
            registered: false,
        }
    }
}

/// A reply frame and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The frame to send.
    pub frame: Vec<u8>,
    /// What was asked and answered.
    pub summary: Summary,
}

/// What the runtime should do after a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this frame.
    Reply(Answer),
    /// Send nothing.
    Silent,
    /// Close the connection (after UnRegisterSession).
    Close,
    /// Pass requests on to other devices; answer with [`Session::finish`]. (Boxed: routing
    /// is rare, and every outcome is moved a few times on its way out.)
    Forward(Box<Forward>),
}

/// What the runtime should do after a frame handled by [`Session::on_frame_into`], whose
/// reply frame (if any) went into the caller's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A reply frame was appended; what it answered.
    Replied(Summary),
    /// Send nothing.
    Silent,
    /// Close the connection (after UnRegisterSession).
    Close,
    /// Pass requests on to other devices; answer with [`Session::finish`].
    Forward(Box<Forward>),
}

impl Handled {
    fn encapsulation(st: u32) -> Handled {
        Handled::Replied(Summary::encapsulation(st))
    }
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

impl Connection {
    fn triad(&self) -> (u16, u16, u32) {
        (self.serial, self.vendor, self.originator_serial)
    }

    /// The size of a connection the router opens on a routed device for this one.
    fn routed_size(&self) -> u16 {
        self.t_o_size.max(self.o_t_size).min(LARGE_CONNECTION_MAX) as u16
    }
}

/// Hands out session handles and connection ids: never 0, and distinct for 2^32 calls. A
/// server owns one for all its sessions; tests give theirs a fixed seed.
#[derive(Debug)]
pub struct IdGenerator(AtomicU32);

impl IdGenerator {
    /// Ids from `seed` on (golden-ratio steps, so consecutive ids look unrelated).
    pub fn new(seed: u32) -> Self {
        Self(AtomicU32::new(seed))
    }

    /// Ids seeded from the clock, so that a restarted server does not hand out the same ids
    /// at once.
    pub fn from_clock() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() | 1)
            .unwrap_or(1);
        Self::new(seed)
    }

    /// The next id.
    pub fn next_id(&self) -> u32 {
        match self.0.fetch_add(0x9E37_79B9, Ordering::Relaxed) {
            0 => 1,
            id => id,
        }
    }
}

/// One client's session.
pub struct Session {
    shared: Arc<Shared>,
    ids: Arc<IdGenerator>,
    handle: u32,
    connections: HashMap<u32, Connection>,
    /// Reply data of the request being answered.
    scratch: Vec<u8>,
    /// The Message Router reply being built.
    reply: Vec<u8>,
    /// The client's address, when the runtime says (class 1 T→O goes there by default).
    peer: Option<SocketAddr>,
    /// The T→O sockaddr item of the SendRRData being answered, and the one for its reply.
    sockaddr: (Option<Sockaddr>, Option<Sockaddr>),
    /// The last plain tag read answered, for a repeat of the same request bytes.
    repeat: Repeat,
}

impl Session {
    /// A new, unregistered session with its own id generator.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self::with_ids(shared, Arc::new(IdGenerator::from_clock()))
    }

    /// A new, unregistered session whose handle and connection ids come from `ids`.
    pub fn with_ids(shared: Arc<Shared>, ids: Arc<IdGenerator>) -> Self {
        Self {
            shared,
            ids,
            handle: 0,
            connections: HashMap::new(),
            scratch: Vec::new(),
            reply: Vec::new(),
            peer: None,
            sockaddr: (None, None),
            repeat: Repeat::default(),
        }
    }

    /// This session's client is at `peer`.
    pub fn with_peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
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

    /// When [`Session::handle_timeout`] should next be called: the earliest connection
    /// deadline (`None`: no connection open).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.connections.values().map(|c| c.deadline).min()
    }

    /// Free the connections idle past their deadline at `now` (their clients went silent).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.connections.retain(|_, c| c.deadline > now);
    }

    /// Handle one complete frame (header and body) that arrived over TCP on `local`.
    pub fn on_frame(&mut self, frame: &[u8], local: SocketAddr, now: Instant) -> Outcome {
        let mut out = Vec::new();
        match self.on_frame_into(frame, local, now, &mut out) {
            Handled::Replied(summary) => Outcome::Reply(Answer {
                frame: out,
                summary,
            }),
            Handled::Silent => Outcome::Silent,
            Handled::Close => Outcome::Close,
            Handled::Forward(fwd) => Outcome::Forward(fwd),
        }
    }

    /// [`Session::on_frame`], the reply frame appended to `out` (a buffer the caller keeps:
    /// no allocation per reply).
    pub fn on_frame_into(
        &mut self,
        frame: &[u8],
        local: SocketAddr,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Handled {
        // The usual request, one CIP message in two CPF items: decoded in place.
        if let Some(view) = SendView::parse(frame) {
            let sent = Sent {
                interface: view.interface,
                timeout: view.timeout,
                items: view.items(),
            };
            return self.send_data(&view.header, Some(sent), now, out);
        }
        let repr = match Repr::parse_bytes(frame) {
            Ok(repr) => repr,
            Err(e) => {
                // Complete but wrong: answer with the status the codec assigns.
                let Ok(packet) = encap::Packet::new_checked(frame) else {
                    return Handled::Close;
                };
                let h = Header::parse(&packet);
                let st = encap::error_status(h.command, usize::from(packet.length()), &e);
                emit(out, h.reply(st), Body::Empty);
                return Handled::encapsulation(st);
            }
        };
        let h = repr.header;
        if let Some(reply) = list_reply(&self.shared, &h, local) {
            out.extend_from_slice(&reply);
            return Handled::encapsulation(0);
        }
        match (h.command, &repr.body) {
            (Command::Nop, _) => Handled::Silent,
            (Command::UnRegisterSession, _) => Handled::Close,
            (Command::RegisterSession, Body::Register(reg)) => {
                if reg.protocol_version != encap::PROTOCOL_VERSION {
                    let st = encap_status::UNSUPPORTED_PROTOCOL;
                    let header = Header {
                        session: 0,
                        ..h.reply(st)
                    };
                    emit(out, header, Body::Register(*reg));
                    return Handled::encapsulation(st);
                }
                if self.handle == 0 {
                    self.handle = self.ids.next_id();
                }
                let header = Header {
                    session: self.handle,
                    ..h.reply(0)
                };
                emit(out, header, Body::Register(*reg));
                Handled::Replied(Summary {
                    registered: true,
                    ..Summary::default()
                })
            }
            (Command::RegisterSession, _) => {
                let st = encap_status::INVALID_LENGTH;
                emit(out, h.reply(st), Body::Empty);
                Handled::encapsulation(st)
            }
            (Command::SendRRData | Command::SendUnitData, body) => {
                let sent = match body {
                    Body::SendData(data) => Some(Sent {
                        interface: data.interface,
                        timeout: data.timeout,
                        items: data.cpf.items(),
                    }),
                    _ => None,
                };
                self.send_data(&h, sent, now, out)
            }
            _ => {
                let st = encap_status::INVALID_COMMAND;
                emit(out, h.reply(st), Body::Empty);
                Handled::encapsulation(st)
            }
        }
    }

    /// SendRRData or SendUnitData: the request it carries, answered in the same envelope.
    fn send_data(
        &mut self,
        h: &Header,
        sent: Option<Sent<'_, '_>>,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Handled {
        let registered = self.handle != 0 && h.session == self.handle;
        let Some(data) = sent else {
            let st = if registered {
                encap_status::INCORRECT_DATA
            } else {
                encap_status::INVALID_SESSION
            };
            return failed(h, st, 0, out);
        };
        let connected = h.command == Command::SendUnitData;
        let message = if connected {
            cpf::connected_data(data.items).map(|(_, m)| m)
        } else {
            cpf::unconnected_data(data.items)
        };
        // The same bytes as the last plain tag read: answered without decoding them again.
        if let Some(known) = message
            .filter(|_| registered)
            .and_then(|m| self.repeat.take(m))
        {
            let handled = self.carried(h, &data, Asked::Repeat(&known), now, out);
            self.repeat.keep(known);
            return handled;
        }
        let req = message.and_then(|m| Some((MrRequest::parse(m).ok()?, m)));
        if !registered {
            // Only a failure needs it here (an answer names it itself): an Unconnected Send's
            // service is found by parsing the request it carries.
            let service = req.as_ref().map_or(0, |(req, _)| requested(req));
            return failed(h, encap_status::INVALID_SESSION, service, out);
        }
        match &req {
            Some((req, message)) => {
                let asked = Asked::Decoded { req, message };
                self.carried(h, &data, asked, now, out)
            }
            None => failed(h, encap_status::INCORRECT_DATA, 0, out),
        }
    }

    /// The request `asked` that SendRRData / SendUnitData `data` carries, answered.
    fn carried(
        &mut self,
        h: &Header,
        data: &Sent<'_, '_>,
        asked: Asked<'_, '_>,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Handled {
        let handled = if h.command == Command::SendUnitData {
            self.send_unit_data(h, data, asked, now, out)
        } else {
            Some(self.send_rr_data(h, data, asked, now, out))
        };
        handled.unwrap_or_else(|| failed(h, encap_status::INCORRECT_DATA, asked.requested(), out))
    }

    /// Answer `asked` here within `limit` reply bytes; a plain tag read is remembered for a
    /// repeat of its bytes.
    fn answer_here(
        &mut self,
        asked: Asked<'_, '_>,
        now: Instant,
        limit: usize,
        out: &mut Vec<u8>,
    ) -> Status {
        match asked {
            Asked::Repeat(known) => known.answer(limit, &mut self.scratch, out),
            Asked::Decoded { req, message } => match self.known(req) {
                Some(known) => {
                    let st = known.answer(limit, &mut self.scratch, out);
                    self.repeat.remember(message, known);
                    st
                }
                None => self.dispatch(req, now, 0, limit, out),
            },
        }
    }

    /// What `req` reads when it is a plain tag read (maybe inside an Unconnected Send whose
    /// route path is served here), decided once for every repeat of its bytes. Never with
    /// `Route` rules: those may claim requests.
    fn known(&self, req: &MrRequest<'_>) -> Option<Known> {
        if !self.shared.routes.is_empty() {
            return None;
        }
        let dev = &self.shared.device;
        // Read Tag Fragmented shares its code (0x52) with Unconnected Send: the path tells.
        let wrapped = match req.service {
            code::READ_TAG | code::READ_TAG_FRAGMENTED if !is_connection_manager(req) => false,
            code::UNCONNECTED_SEND if is_connection_manager(req) => true,
            _ => return None,
        };
        if !wrapped {
            let read = PlainRead::of(dev, req)?;
            return Some(Known {
                read,
                outer: req.service,
                limit: None,
            });
        }
        let us = UnconnectedSendData::parse(req.data).ok()?;
        let reads = matches!(
            us.message.first(),
            Some(&(code::READ_TAG | code::READ_TAG_FRAGMENTED))
        );
        if !reads || !self.route_accepted(us.route_path) {
            return None;
        }
        let inner = MrRequest::parse(us.message).ok()?;
        if is_connection_manager(&inner) {
            return None;
        }
        Some(Known {
            read: PlainRead::of(dev, &inner)?,
            outer: req.service,
            limit: Some(UNCONNECTED_LIMIT),
        })
    }

    fn send_rr_data(
        &mut self,
        h: &Header,
        data: &Sent<'_, '_>,
        asked: Asked<'_, '_>,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Handled {
        if let Asked::Decoded { req, .. } = asked {
            let envelope = Envelope::Unconnected {
                header: *h,
                interface: data.interface,
                timeout: data.timeout,
            };
            if let Some(fwd) = self.plan(req, now, UNCONNECTED_LIMIT, envelope) {
                return Handled::Forward(Box::new(fwd));
            }
        }
        let mut reply = std::mem::take(&mut self.reply);
        reply.clear();
        self.sockaddr = (t_o_sockaddr(data.items), None);
        let st = self.answer_here(asked, now, UNCONNECTED_LIMIT, &mut reply);
        let data_item = Item::UnconnectedData(&reply);
        let items = match self.sockaddr.1.take() {
            Some(s) => &[Item::NullAddress, data_item, Item::SockaddrT2O(s)][..],
            None => &[Item::NullAddress, data_item][..],
        };
        emit_send(out, h, data, items);
        let handled = asked.answered(&reply, st);
        self.reply = reply;
        handled
    }

    fn send_unit_data(
        &mut self,
        h: &Header,
        data: &Sent<'_, '_>,
        asked: Asked<'_, '_>,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<Handled> {
        let id = cpf::connection_id(data.items)?;
        let (sequence, message) = cpf::connected_data(data.items)?;
        self.handle_timeout(now);
        let wrap = |t_o_id: u32, reply: &[u8], st: Status, out: &mut Vec<u8>| {
            let items = [
                Item::ConnectedAddress {
                    connection_id: t_o_id,
                },
                Item::ConnectedData {
                    sequence,
                    data: reply,
                },
            ];
            emit_send(out, h, data, &items);
            asked.answered(reply, st)
        };
        let Some(c) = self.connections.get_mut(&id) else {
            // No such connection (closed or timed out): Connection Manager "not found".
            let st = Status::ext(status::CONNECTION_FAILURE, NOT_FOUND);
            let mut reply = Vec::new();
            let _ = append(&mut reply, &st.reply(asked.service()));
            return Some(wrap(0, &reply, st, out));
        };
        c.deadline = now + c.timeout;
        if c.sequence == Some(sequence) && !c.last_reply.is_empty() {
            let st = MrReply::parse(&c.last_reply).map_or(Status::SUCCESS, |r| Status::of(&r));
            return Some(wrap(c.t_o_id, &c.last_reply, st, out));
        }
        c.sequence = Some(sequence);
        let (t_o_id, limit) = (c.t_o_id, c.t_o_size.saturating_sub(2));
        let size = c.routed_size();
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
            return Some(Handled::Forward(Box::new(Forward {
                hops: vec![hop],
                slots: None,
                envelope,
                opening: None,
                service: asked.requested(),
            })));
        }
        if let Asked::Decoded { req, .. } = asked {
            if let Some(fwd) = self.plan(req, now, limit, envelope) {
                return Some(Handled::Forward(Box::new(fwd)));
            }
        }
        let mut reply = std::mem::take(&mut self.reply);
        reply.clear();
        self.sockaddr = (None, None);
        let st = self.answer_here(asked, now, limit, &mut reply);
        if let Some(c) = self.connections.get_mut(&id) {
            c.last_reply.clone_from(&reply);
        }
        let handled = wrap(t_o_id, &reply, st, out);
        self.reply = reply;
        Some(handled)
    }

    /// The client's reply once the requests of `fwd` were answered (`None`: that hop failed);
    /// a connection remembers it for a repeated sequence count.
    pub fn finish(&mut self, fwd: &Forward, answers: &[Option<Vec<u8>>]) -> Answer {
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
        let status = MrReply::parse(&cip).map_or(0, |r| r.general_status);
        Answer {
            frame: fwd.frame(&cip),
            summary: Summary {
                service: fwd.service,
                status,
                registered: false,
            },
        }
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
        let service = requested(req);
        if let Some(hop) = self.claimed(req) {
            return Some(Forward {
                hops: vec![hop],
                slots: None,
                envelope,
                opening: None,
                service,
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
        let Ok(Service::MultipleServicePacket(msp)) =
            Service::parse_lenient(None, req.service, req.data)
        else {
            return None;
        };
        let parsed: Vec<MrRequest<'_>> = msp
            .table()?
            .items()
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
                    let mut out = Vec::new();
                    self.in_multiple(one, now, limit.saturating_sub(used), &mut out);
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
            service,
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
        let opened = self.forward_open(&fo, now);
        let mut reply = Vec::new();
        put_open(&mut reply, req.service, &opened);
        let hops = match &opened {
            Ok(open) => {
                let size = self.connections.get(&open.o_t_connection_id)?.routed_size();
                vec![Hop {
                    target,
                    message: Vec::new(),
                    route,
                    connected: Some(size),
                }]
            }
            // Refused here: no need to ask the device.
            Err(_) => Vec::new(),
        };
        let mut failed = Vec::new();
        let refused = ConnectionFailure {
            triad: fo.triad,
            remaining_path_size: 0,
            reserved: 0,
        };
        let st = Status::ext(status::CONNECTION_FAILURE, ROUTE_TIMED_OUT);
        put_reply(
            &mut failed,
            req.service,
            st,
            &ReplyBody::ConnectionFailure(refused),
        );
        Some(Forward {
            hops,
            slots: None,
            envelope,
            opening: Some(Opening {
                o_t_id: opened.map_or(0, |o| o.o_t_connection_id),
                reply,
                failed,
            }),
            service: req.service,
        })
    }

    /// One request of a Multiple Service Packet answered here.
    fn in_multiple(&mut self, req: &MrRequest<'_>, now: Instant, limit: usize, out: &mut Vec<u8>) {
        if req.service == code::MULTIPLE_SERVICE_PACKET {
            let st = Status::new(status::SERVICE_NOT_SUPPORTED);
            let _ = append(out, &st.reply(req.service));
        } else {
            self.dispatch(req, now, 0, limit, out);
        }
    }

    /// A request answered here: to the Connection Manager (`depth` Unconnected Sends deep),
    /// or to the device within `limit` reply bytes.
    fn dispatch(
        &mut self,
        req: &MrRequest<'_>,
        now: Instant,
        depth: u8,
        limit: usize,
        out: &mut Vec<u8>,
    ) -> Status {
        if is_connection_manager(req) {
            self.connection_manager(req, now, depth, out)
        } else {
            self.execute(req, limit, out)
        }
    }

    /// A request to the device's object model.
    fn execute(&mut self, req: &MrRequest<'_>, limit: usize, out: &mut Vec<u8>) -> Status {
        answer(&self.shared.device, req, limit, &mut self.scratch, out)
    }

    /// A request to the Connection Manager (`@6/1`): its own services change the session,
    /// any other goes to the object model.
    fn connection_manager(
        &mut self,
        req: &MrRequest<'_>,
        now: Instant,
        depth: u8,
        out: &mut Vec<u8>,
    ) -> Status {
        let large = req.service == code::LARGE_FORWARD_OPEN;
        match req.service {
            code::UNCONNECTED_SEND if depth == 0 => self.unconnected_send(req, now, out),
            code::FORWARD_OPEN | code::LARGE_FORWARD_OPEN => {
                match ForwardOpen::parse(large, req.data) {
                    Ok(fo) if fo.transport_class().class < 2 => {
                        let opened = self.io_open(&fo, now);
                        put_open(out, req.service, &opened)
                    }
                    Ok(fo) => {
                        let opened = self.forward_open(&fo, now);
                        put_open(out, req.service, &opened)
                    }
                    Err(_) => put_status(out, req.service, Status::new(status::NOT_ENOUGH_DATA)),
                }
            }
            code::FORWARD_CLOSE => match ForwardClose::parse(req.data) {
                Ok(fc) => self.forward_close(&fc, req.service, out),
                Err(_) => put_status(out, req.service, Status::new(status::NOT_ENOUGH_DATA)),
            },
            _ => self.execute(req, UNCONNECTED_LIMIT, out),
        }
    }

    /// Unconnected Send (0x52 to @6/1): check the route path, answer with the embedded
    /// request's own reply (not wrapped).
    fn unconnected_send(&mut self, req: &MrRequest<'_>, now: Instant, out: &mut Vec<u8>) -> Status {
        let not_enough = Status::new(status::NOT_ENOUGH_DATA);
        let Ok(us) = UnconnectedSendData::parse(req.data) else {
            return put_status(out, req.service, not_enough);
        };
        if !self.route_accepted(us.route_path) {
            let refusal = RouteRefusal {
                remaining_path_size: us.route_words,
                reserved: 0,
            };
            let st = Status::ext(status::CONNECTION_FAILURE, BAD_ROUTE);
            return put_reply(out, req.service, st, &refusal);
        }
        match MrRequest::parse(us.message) {
            Ok(inner) => self.dispatch(&inner, now, 1, UNCONNECTED_LIMIT, out),
            Err(_) => put_status(out, req.service, not_enough),
        }
    }

    /// An Unconnected Send whose first route segment a `Route` rule claims (unless the route
    /// path is the one served here), as the request to pass on.
    fn claimed(&self, req: &MrRequest<'_>) -> Option<Hop> {
        if req.service != code::UNCONNECTED_SEND || !is_connection_manager(req) {
            return None;
        }
        let us = UnconnectedSendData::parse(req.data).ok()?;
        let (target, rest) = self.routed(us.route_path)?;
        Some(Hop {
            target,
            message: us.message.to_vec(),
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

    /// (Large) Forward Open: a connection of the negotiated sizes, or why not.
    fn forward_open(
        &mut self,
        fo: &ForwardOpen<'_>,
        now: Instant,
    ) -> Result<ForwardOpenReply<'static>, (Status, ConnectionFailure)> {
        let triad = fo.triad;
        let refuse = |ext: u16| {
            let failure = ConnectionFailure {
                triad,
                remaining_path_size: 0,
                reserved: 0,
            };
            Err((Status::ext(status::CONNECTION_FAILURE, ext), failure))
        };
        let max = if fo.large {
            LARGE_CONNECTION_MAX
        } else {
            CONNECTION_MAX
        };
        let o_t_size = fo.o_t_size() as usize;
        let t_o_size = fo.t_o_size() as usize;
        if o_t_size > max || t_o_size > max || o_t_size < 8 || t_o_size < 8 {
            return refuse(INVALID_SIZE);
        }
        let key = triad_key(&triad);
        self.connections.retain(|_, c| c.triad() != key);
        // Connections their clients abandoned do not count against the limit.
        self.handle_timeout(now);
        if self.connections.len() >= MAX_CONNECTIONS {
            return refuse(NO_MORE_CONNECTIONS);
        }
        let route = fo
            .connection_path
            .as_bytes()
            .filter(|_| !self.shared.routes.is_empty())
            .and_then(|p| self.routed(p));
        let shift = u32::from(fo.timeout_multiplier.min(7));
        let timeout = Duration::from_micros(u64::from(fo.o_t_rpi) * (4u64 << shift));
        let o_t_id = self.ids.next_id();
        self.connections.insert(
            o_t_id,
            Connection {
                o_t_id,
                t_o_id: fo.t_o_connection_id,
                serial: key.0,
                vendor: key.1,
                originator_serial: key.2,
                o_t_size,
                t_o_size,
                timeout,
                deadline: now + timeout,
                sequence: None,
                last_reply: Vec::new(),
                route,
            },
        );
        Ok(ForwardOpenReply {
            o_t_connection_id: o_t_id,
            t_o_connection_id: fo.t_o_connection_id,
            triad,
            o_t_api: fo.o_t_rpi,
            t_o_api: fo.t_o_rpi,
            reserved: 0,
            application: &[],
        })
    }

    /// A class 0/1 Forward Open: to the I/O adapter (refused without one).
    fn io_open(
        &mut self,
        fo: &ForwardOpen<'_>,
        now: Instant,
    ) -> Result<ForwardOpenReply<'static>, (Status, ConnectionFailure)> {
        let failure = |(st, triad): (Status, Triad)| {
            let f = ConnectionFailure {
                triad,
                remaining_path_size: 0,
                reserved: 0,
            };
            (st, f)
        };
        let Some(hub) = self.shared.io.clone() else {
            let st = Status::ext(status::CONNECTION_FAILURE, ext::TRANSPORT_NOT_SUPPORTED);
            return Err(failure((st, fo.triad)));
        };
        let peer = self
            .peer
            .unwrap_or(SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0)));
        let opened = hub
            .lock()
            .forward_open(fo, peer, self.sockaddr.0, now)
            .map_err(failure)?;
        hub.wake();
        self.sockaddr.1 = opened.t_o_sockaddr;
        Ok(opened.reply)
    }

    /// Forward Close: the connection of its triad closed (a class 3 one of this session, or
    /// an I/O connection), or "not found".
    fn forward_close(&mut self, fc: &ForwardClose<'_>, service: u8, out: &mut Vec<u8>) -> Status {
        let key = triad_key(&fc.triad);
        let before = self.connections.len();
        self.connections.retain(|_, c| c.triad() != key);
        let io_closed = || {
            self.shared
                .io
                .as_ref()
                .is_some_and(|hub| hub.lock().forward_close(&fc.triad))
        };
        if self.connections.len() < before || io_closed() {
            let closed = ForwardCloseReply {
                triad: fc.triad,
                reserved: 0,
                application: &[],
            };
            return put_reply(
                out,
                service,
                Status::SUCCESS,
                &ReplyBody::ForwardClose(closed),
            );
        }
        let failure = ConnectionFailure {
            triad: fc.triad,
            remaining_path_size: 0,
            reserved: 0,
        };
        let st = Status::ext(status::CONNECTION_FAILURE, NOT_FOUND);
        put_reply(out, service, st, &ReplyBody::ConnectionFailure(failure))
    }
}

/// The T→O sockaddr info item of a request, if it has one.
fn t_o_sockaddr(items: &[Item<'_>]) -> Option<Sockaddr> {
    items.iter().find_map(|i| match i {
        Item::SockaddrT2O(s) => Some(*s),
        _ => None,
    })
}

fn triad_key(t: &Triad) -> (u16, u16, u32) {
    (t.connection_serial, t.vendor_id, t.originator_serial)
}

/// Append the reply to a (Large) Forward Open.
fn put_open(
    out: &mut Vec<u8>,
    service: u8,
    opened: &Result<ForwardOpenReply<'_>, (Status, ConnectionFailure)>,
) -> Status {
    match opened {
        Ok(open) => put_reply(
            out,
            service,
            Status::SUCCESS,
            &ReplyBody::ForwardOpen(*open),
        ),
        Err((st, failure)) => put_reply(out, service, *st, &ReplyBody::ConnectionFailure(*failure)),
    }
}

/// Append a reply to `service` with status `st` and `body`; returns `st`.
fn put_reply(out: &mut Vec<u8>, service: u8, st: Status, body: &(impl Payload + ?Sized)) -> Status {
    // A Message Router header and these bodies always emit.
    let _ = append(out, &st.reply(service));
    let _ = append(out, body);
    st
}

/// Append a reply to `service` with status `st` and no data.
fn put_status(out: &mut Vec<u8>, service: u8, st: Status) -> Status {
    put_reply(out, service, st, &[][..])
}

/// Append an encapsulation-only reply to `h` with status `st`, for a request of `service`.
fn failed(h: &Header, st: u32, service: u8, out: &mut Vec<u8>) -> Handled {
    emit(out, h.reply(st), Body::Empty);
    Handled::Replied(Summary {
        service,
        ..Summary::encapsulation(st)
    })
}

/// The request a SendRRData / SendUnitData carries: decoded (with its bytes), or a repeat of
/// the last plain tag read's bytes, known without decoding.
#[derive(Clone, Copy)]
enum Asked<'r, 'a> {
    Decoded {
        req: &'r MrRequest<'a>,
        message: &'a [u8],
    },
    Repeat(&'r Known),
}

impl Asked<'_, '_> {
    /// The service of the message itself.
    fn service(&self) -> u8 {
        match self {
            Asked::Decoded { req, .. } => req.service,
            Asked::Repeat(known) => known.outer,
        }
    }

    /// The service asked for: that of the request an Unconnected Send carries, else its own.
    fn requested(&self) -> u8 {
        match self {
            Asked::Decoded { req, .. } => requested(req),
            Asked::Repeat(known) => known.read.service(),
        }
    }

    /// The reply (carrying the message router reply `reply`), answered with `st`.
    fn answered(&self, reply: &[u8], st: Status) -> Handled {
        match self {
            Asked::Decoded { req, .. } => answered(reply, req, st),
            Asked::Repeat(known) => Handled::Replied(Summary {
                service: known.read.service(),
                status: st.general,
                registered: false,
            }),
        }
    }
}

/// The reply (carrying the message router reply `reply`) to `req`, answered with `st`.
fn answered(reply: &[u8], req: &MrRequest<'_>, st: Status) -> Handled {
    // An Unconnected Send answered by the request it carries replies with that request's
    // service: read from the reply rather than by parsing the request again.
    let service = match reply.first().map(|s| s & 0x7F) {
        _ if req.service != code::UNCONNECTED_SEND => req.service,
        Some(s) if s != code::UNCONNECTED_SEND => s,
        _ => requested(req),
    };
    Handled::Replied(Summary {
        service,
        status: st.general,
        registered: false,
    })
}

/// The service `req` asks for: that of the request an Unconnected Send carries, else its own.
fn requested(req: &MrRequest<'_>) -> u8 {
    if req.service != code::UNCONNECTED_SEND || !is_connection_manager(req) {
        return req.service;
    }
    UnconnectedSendData::parse(req.data)
        .ok()
        .and_then(|us| MrRequest::parse(us.message).ok())
        .map_or(req.service, |inner| inner.service)
}

/// Append a reply frame to `out` (our replies always fit the 16-bit length).
fn emit(out: &mut Vec<u8>, header: Header, body: Body<'_>) {
    let _ = append(out, &Repr { header, body });
}

/// What a SendRRData / SendUnitData carries after its header: interface, timeout and the CPF
/// items (decoded in place by [`SendView`] for the usual two, else by the general decoder).
#[derive(Clone, Copy)]
struct Sent<'i, 'a> {
    interface: u32,
    timeout: u16,
    items: &'i [Item<'a>],
}

/// Append the reply to the SendRRData / SendUnitData `data` with header `h`, carrying `items`.
fn emit_send(out: &mut Vec<u8>, h: &Header, data: &Sent<'_, '_>, items: &[Item<'_>]) {
    let frame = SendFrame {
        header: h.reply(0),
        interface: data.interface,
        timeout: data.timeout,
        items,
    };
    let _ = append(out, &frame);
}

/// A reply frame in a vector of its own.
fn emitted(header: Header, body: Body<'_>) -> Vec<u8> {
    Repr { header, body }.to_vec().unwrap_or_default()
}

fn is_connection_manager(req: &MrRequest<'_>) -> bool {
    addresses(req, class::CONNECTION_MANAGER)
}

fn is_message_router(req: &MrRequest<'_>) -> bool {
    addresses(req, class::MESSAGE_ROUTER)
}

/// Whether `req` is addressed to instance 1 of `class`.
fn addresses(req: &MrRequest<'_>, class: u32) -> bool {
    let mut segs = req.path.segments();
    matches!(
        (segs.next(), segs.next(), segs.next()),
        (
            Some(Segment::Logical { kind: LogicalKind::Class, value: c, .. }),
            Some(Segment::Logical { kind: LogicalKind::Instance, value: 1, .. }),
            None
        ) if c == class
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
            // CIP encapsulation over TCP, and class 0/1 UDP I/O when the adapter runs. The
            // name as cpppo and its clients have it: NUL-terminated, 15 bytes.
            capability: match shared.io {
                Some(_) => ServiceItem::CAPABILITY_TCP | ServiceItem::CAPABILITY_UDP,
                None => ServiceItem::CAPABILITY_TCP,
            },
            name: b"Communications\0",
        }),
        Command::ListIdentity => Item::Identity(identity_item(&shared.device, local)),
        Command::ListInterfaces => return Some(emitted(h.reply(0), Body::Items(cpf::Repr::new()))),
        Command::Legacy => Item::Legacy(legacy_item(&shared.device)),
        _ => return None,
    };
    let items = cpf::Repr::from_items(&[item]).unwrap_or_default();
    Some(emitted(h.reply(0), Body::Items(items)))
}

/// Answer one UDP datagram: only the List commands (and legacy 0x0001) are served over UDP.
pub fn on_datagram(shared: &Shared, packet: &[u8], local: SocketAddr) -> Option<Vec<u8>> {
    let repr = cpppo_cip::frame::decode_datagram(packet).ok()?;
    list_reply(shared, &repr.header, local)
}
