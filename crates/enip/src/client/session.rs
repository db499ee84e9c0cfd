//! The client's side of one EtherNet/IP session, sans-IO: no socket, no clock.
//!
//! A [`Session`] queues requests (RegisterSession, List commands, unconnected and connected
//! Message Router requests, Forward Open/Close), each under a *key* its reply will carry (the
//! sender context of SendRRData, the sequence count of SendUnitData), and keeps the sequence
//! counts of its connections. The runtime moves bytes and time, as with quinn-proto:
//!
//! - [`Session::transmit`] / [`Session::transmitted`]: the bytes to send;
//! - [`Session::handle_input`] (or [`Session::recv_buffer`] + [`Session::received`]): bytes
//!   that arrived, at any split;
//! - [`Session::poll_event`]: the replies decoded from them, matched to their keys (in any
//!   order: many requests may be in flight at once);
//! - [`Session::poll_timeout`] / [`Session::handle_timeout`]: the deadline of the requests in
//!   flight.
//!
//! Every frame is emitted and parsed through `cpppo-cip`.
//!
//! ```
//! use std::time::Instant;
//! use cpppo_enip::client::session::{Event, Session};
//! use cpppo_enip::client::Options;
//! let mut s = Session::new(Options::simple())?;
//! s.register()?;
//! let request = s.transmit().to_vec(); // 28 bytes of RegisterSession, for any transport
//! assert_eq!(request.len(), 28);
//! let now = Instant::now();
//! s.transmitted(now);
//! assert_eq!(s.poll_timeout(), Some(now + s.options().timeout));
//! // The device's reply, split anywhere: its session handle is 0x11223344.
//! let mut reply = request.clone();
//! reply[4..8].copy_from_slice(&0x1122_3344u32.to_le_bytes());
//! s.handle_input(&reply[..5], now);
//! assert!(s.poll_event().is_none());
//! s.handle_input(&reply[5..], now);
//! assert!(matches!(s.poll_event(), Some(Ok(Event::Registered(0x1122_3344)))));
//! assert_eq!((s.handle(), s.poll_timeout()), (0x1122_3344, None));
//! # Ok::<(), cpppo_enip::client::ClientError>(())
//! ```

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use cpppo_cip::cpf::{self, Item};
use cpppo_cip::encap::{self, Body, Command, Header, Register, Repr, SendFrame, PROTOCOL_VERSION};
use cpppo_cip::frame::frame_len;
use cpppo_cip::list::Sockaddr;
use cpppo_cip::mr::{MrReply, Payload};
use cpppo_cip::server::append;
use cpppo_cip::services::cm::{ForwardClose, ForwardOpen, ForwardOpenReply, Triad};
use cpppo_cip::{EPath, Padding};

use super::connector::{IdentityInfo, ListReply, Options, ServiceInfo};
use super::error::{ClientError, ReplyStatus};
use super::route::{cm_request, encode_path, unconnected_send, Route};

/// Keys of connected requests have this bit set (the low 16 bits are the sequence count).
const CONNECTED: u64 = 1 << 63;
/// The Message Router, `@2/1`: where class 3 connections lead.
pub const MESSAGE_ROUTER: [u8; 4] = [0x20, 0x02, 0x24, 0x01];
/// The largest frame data accepted from a device.
const MAX_DATA: usize = 65535;
/// Free space kept at the end of the receive buffer.
const SPARE: usize = 4096;
/// Where an encapsulation frame's sender context lies (as `encap::Packet::sender_context`
/// reads it): the one field a repeated SendRRData request changes.
const CONTEXT_AT: Range<usize> = 12..20;
/// SendRRData / SendUnitData data: interface handle (4) and timeout (2), then the CPF list.
const SEND_DATA_CPF: usize = 6;

/// The last SendRRData frame emitted, and what it carried: the same request queued again
/// (a poll, a lock-step loop) is copied, its sender context patched, not emitted anew.
#[derive(Debug, Default)]
struct LastFrame {
    message: Vec<u8>,
    frame: Vec<u8>,
    handle: u32,
    timeout: u16,
}

/// How to open a class 3 connection (Forward Open or, above 511 bytes, Large Forward Open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenParams {
    /// Encoded connection path (route path, then the Message Router `@2/1`).
    pub path: Vec<u8>,
    /// Connection size each way, in bytes.
    pub size: u32,
    /// Priority/time tick.
    pub priority_tick: u8,
    /// Timeout ticks.
    pub timeout_ticks: u8,
    /// Requested packet interval both ways, microseconds.
    pub rpi_us: u32,
    /// Connection timeout multiplier (0 = ×4, 1 = ×8, ...).
    pub timeout_multiplier: u8,
    /// Connection triad (serial, vendor, originator serial).
    pub triad: Triad,
    /// Our T->O connection id.
    pub t_o_id: u32,
}

/// An open class 3 connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The device's O->T connection id: requests are addressed to it.
    pub o_t_id: u32,
    /// Connection size in bytes.
    pub size: u32,
    /// The last sequence count sent.
    pub sequence: u16,
    /// How it was opened.
    pub params: OpenParams,
}

/// What arrived, decoded and matched to the request that asked for it.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// RegisterSession answered: the session handle.
    Registered(u32),
    /// A Message Router reply to the request queued under `key`.
    Reply {
        /// The request's key.
        key: u64,
        /// The Message Router reply bytes.
        message: &'a [u8],
    },
    /// A Forward Open answered: the new connection's O->T id, or the refusal.
    Opened {
        /// The Forward Open's key.
        key: u64,
        /// O->T connection id, or the reply status.
        result: Result<u32, ReplyStatus>,
    },
    /// A Forward Close answered.
    Closed {
        /// The Forward Close's key.
        key: u64,
        /// Its status.
        status: ReplyStatus,
    },
    /// A List command answered.
    List {
        /// The List request's key.
        key: u64,
        /// The reply items.
        items: Vec<ListReply>,
    },
}

/// A Connection Manager request whose reply the session absorbs.
#[derive(Clone, Debug)]
enum Pending {
    Open {
        key: u64,
        params: OpenParams,
        primary: bool,
    },
    Close {
        key: u64,
    },
}

/// A route's send or route path, encoded (`None`: no path).
fn encode_route(
    path: &Option<Vec<crate::client::operation::PathStep>>,
) -> Result<Option<Vec<u8>>, ClientError> {
    path.as_deref()
        .map(encode_path)
        .transpose()
        .map_err(|why| ClientError::Request {
            what: "route".into(),
            why,
        })
}

/// The client's side of one EtherNet/IP session.
#[derive(Debug)]
pub struct Session {
    options: Options,
    /// The route's send path and route path, encoded once.
    send_path: Option<Vec<u8>>,
    route_path: Option<Vec<u8>>,
    handle: u32,
    context: u64,
    /// SendRRData's timeout field (seconds).
    rr_timeout: u16,
    wbuf: Vec<u8>,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    connections: Vec<Connection>,
    primary: Option<u32>,
    pending: Vec<Pending>,
    outstanding: usize,
    deadline: Option<Instant>,
    timed_out: bool,
    t_o_sockaddr: Option<Sockaddr>,
    /// The last request wrapped in an Unconnected Send, and its wrapping: a request
    /// repeated (a poll, a lock-step loop) is wrapped once.
    wrapped: Option<(Vec<u8>, Vec<u8>)>,
    /// The last plain SendRRData frame queued (see [`LastFrame`]).
    last: LastFrame,
}

impl Session {
    /// A session that is not registered yet. [`ClientError::Request`] if the route's paths do
    /// not encode.
    pub fn new(options: Options) -> Result<Session, ClientError> {
        Ok(Session {
            send_path: encode_route(&options.route.send_path)?,
            route_path: encode_route(&options.route.route_path)?,
            options,
            handle: 0,
            context: 0,
            rr_timeout: 0,
            wbuf: Vec::with_capacity(SPARE),
            rbuf: vec![0; MAX_DATA + 24 + SPARE],
            rstart: 0,
            rend: 0,
            connections: Vec::new(),
            primary: None,
            pending: Vec::new(),
            outstanding: 0,
            deadline: None,
            timed_out: false,
            t_o_sockaddr: None,
            wrapped: None,
            last: LastFrame::default(),
        })
    }

    /// Sets the timeout field (seconds) of SendRRData requests (0 by default).
    pub fn with_rr_timeout(mut self, seconds: u16) -> Session {
        self.rr_timeout = seconds;
        self
    }

    /// The options in use.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Routes the requests [`Session::queue`] queues from now on along `route` (those already
    /// queued keep theirs; a primary connection, once open, carries every request whatever
    /// the route). [`ClientError::Request`] if its paths do not encode (the route is then
    /// unchanged).
    pub fn set_route(&mut self, route: Route) -> Result<(), ClientError> {
        let send_path = encode_route(&route.send_path)?;
        self.route_path = encode_route(&route.route_path)?;
        self.send_path = send_path;
        self.options.route = route;
        self.wrapped = None;
        Ok(())
    }

    /// The registered session handle (0 before registration).
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// The open connections.
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    /// The connection [`Session::queue`] sends requests over, if one is open.
    pub fn primary(&self) -> Option<&Connection> {
        let id = self.primary?;
        self.connections.iter().find(|c| c.o_t_id == id)
    }

    /// The T->O sockaddr info item of the last reply that carried one (where a class 1
    /// connection's multicast T->O goes).
    pub fn t_o_sockaddr(&self) -> Option<Sockaddr> {
        self.t_o_sockaddr
    }

    /// Requests sent or queued whose replies have not arrived.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    // -----------------------------------------------------------------------------------------
    // Output.

    fn next_context(&mut self) -> u64 {
        self.context = self.context.wrapping_add(1) & !CONNECTED;
        self.context
    }

    fn header(&self, command: Command, context: u64) -> Header {
        Header {
            command,
            session: self.handle,
            status: 0,
            context: context.to_le_bytes(),
            options: 0,
        }
    }

    fn emit(&mut self, command: Command, context: u64, body: Body<'_>) -> Result<(), ClientError> {
        let repr = Repr {
            header: self.header(command, context),
            body,
        };
        self.append(&repr)
    }

    /// Queues a SendRRData / SendUnitData frame carrying `items` (no CPF list built: the
    /// lock-step path's every request).
    fn emit_send(
        &mut self,
        command: Command,
        context: u64,
        timeout: u16,
        items: &[Item<'_>],
    ) -> Result<(), ClientError> {
        let frame = SendFrame {
            header: self.header(command, context),
            interface: 0,
            timeout,
            items,
        };
        self.append(&frame)
    }

    /// Queues a SendRRData frame carrying `message` under context `key`: a copy of the last
    /// one with its context patched when it carried the same message in the same session.
    fn emit_repeated(&mut self, key: u64, message: &[u8]) -> Result<(), ClientError> {
        let start = self.wbuf.len();
        let last = &self.last;
        if last.handle == self.handle
            && last.timeout == self.rr_timeout
            && !last.frame.is_empty()
            && last.message == message
        {
            self.wbuf.extend_from_slice(&last.frame);
            let at = start + CONTEXT_AT.start..start + CONTEXT_AT.end;
            if let Some(context) = self.wbuf.get_mut(at) {
                context.copy_from_slice(&key.to_le_bytes());
            }
            return Ok(());
        }
        let data = [Item::NullAddress, Item::UnconnectedData(message)];
        self.emit_send(Command::SendRRData, key, self.rr_timeout, &data)?;
        let last = &mut self.last;
        last.message.clear();
        last.message.extend_from_slice(message);
        last.frame.clear();
        last.frame
            .extend_from_slice(self.wbuf.get(start..).unwrap_or_default());
        (last.handle, last.timeout) = (self.handle, self.rr_timeout);
        Ok(())
    }

    fn append(&mut self, frame: &impl Payload) -> Result<(), ClientError> {
        append(&mut self.wbuf, frame)
            .map(|_| ())
            .map_err(|e| ClientError::Request {
                what: "encapsulation frame".into(),
                why: e.to_string(),
            })
    }

    fn expect(&mut self) {
        self.outstanding += 1;
    }

    /// Queues RegisterSession; its reply is [`Event::Registered`].
    pub fn register(&mut self) -> Result<u64, ClientError> {
        let key = self.next_context();
        let reg = Register {
            protocol_version: PROTOCOL_VERSION,
            options: 0,
        };
        self.emit(Command::RegisterSession, key, Body::Register(reg))?;
        self.expect();
        Ok(key)
    }

    /// Queues UnRegisterSession (no reply) and forgets the session handle and connections.
    pub fn unregister(&mut self) -> Result<(), ClientError> {
        self.emit(Command::UnRegisterSession, 0, Body::Empty)?;
        self.handle = 0;
        self.connections.clear();
        self.primary = None;
        Ok(())
    }

    /// Queues a List command (ListIdentity `0x63`, ListServices `0x04`, ListInterfaces `0x64`,
    /// legacy `0x01`); its reply is [`Event::List`].
    pub fn list(&mut self, command: u16) -> Result<u64, ClientError> {
        let key = self.next_context();
        self.emit(Command::from_code(command), key, Body::Empty)?;
        self.expect();
        Ok(key)
    }

    /// Queues one Message Router request as the options say: over the primary connection when
    /// one is open, else in an Unconnected Send along the route (or directly, for a simple
    /// device). Its reply is an [`Event::Reply`] with the returned key.
    pub fn queue(&mut self, mr: &[u8]) -> Result<u64, ClientError> {
        if let Some(id) = self.primary {
            return self.queue_connected(id, mr);
        }
        let Some(send) = &self.send_path else {
            return self.queue_unconnected(mr);
        };
        let (key, wrapped) = match self.wrapped.take() {
            Some((key, wrapped)) if key.as_slice() == mr => (key, wrapped),
            old => {
                let route = &self.options.route;
                let wrapped = unconnected_send(route, send, self.route_path.as_deref(), mr)
                    .map_err(|why| ClientError::Request {
                        what: "Unconnected Send".into(),
                        why,
                    })?;
                let mut key = old.map(|(key, _)| key).unwrap_or_default();
                key.clear();
                key.extend_from_slice(mr);
                (key, wrapped)
            }
        };
        let result = self.queue_unconnected(&wrapped);
        self.wrapped = Some((key, wrapped));
        result
    }

    /// Queues `message` in a SendRRData exactly as given (no route wrapping).
    pub fn queue_unconnected(&mut self, message: &[u8]) -> Result<u64, ClientError> {
        self.queue_unconnected_with(message, &[])
    }

    /// Queues `message` in a SendRRData with `extra` items after the data item (a class 1
    /// Forward Open's sockaddr info items).
    pub fn queue_unconnected_with<'m>(
        &mut self,
        message: &'m [u8],
        extra: &[Item<'m>],
    ) -> Result<u64, ClientError> {
        let key = self.next_context();
        let data = [Item::NullAddress, Item::UnconnectedData(message)];
        if extra.is_empty() {
            self.emit_repeated(key, message)?;
        } else {
            let mut cpf = cpf::Repr::from_items(&data)?;
            for item in extra {
                cpf.push(*item)?;
            }
            self.emit_send(Command::SendRRData, key, self.rr_timeout, cpf.items())?;
        }
        self.expect();
        Ok(key)
    }

    /// Queues `message` in a SendUnitData on the connection with O->T id `id`, with its next
    /// sequence count.
    pub fn queue_connected(&mut self, id: u32, message: &[u8]) -> Result<u64, ClientError> {
        let conn = self
            .connections
            .iter_mut()
            .find(|c| c.o_t_id == id)
            .ok_or_else(|| ClientError::Protocol(format!("no connection 0x{id:08X}")))?;
        conn.sequence = conn.sequence.wrapping_add(1);
        let seq = conn.sequence;
        let items = [
            Item::ConnectedAddress { connection_id: id },
            Item::ConnectedData {
                sequence: seq,
                data: message,
            },
        ];
        self.emit_send(Command::SendUnitData, 0, 0, &items)?;
        self.expect();
        Ok(CONNECTED | u64::from(seq))
    }

    /// Queues a (Large) Forward Open; its reply is [`Event::Opened`]. With `primary`, the
    /// connection then carries every [`Session::queue`]d request.
    pub fn open(&mut self, params: OpenParams, primary: bool) -> Result<u64, ClientError> {
        let large = params.size > super::connector::LARGE_CONNECTION;
        let kind = if large { 0x4200_0000 } else { 0x4200 };
        let fo = ForwardOpen {
            large,
            priority_tick: params.priority_tick,
            timeout_ticks: params.timeout_ticks,
            o_t_connection_id: 0,
            t_o_connection_id: params.t_o_id,
            triad: params.triad,
            timeout_multiplier: params.timeout_multiplier,
            o_t_rpi: params.rpi_us,
            o_t_params: kind | params.size,
            t_o_rpi: params.rpi_us,
            t_o_params: kind | params.size,
            transport: 0xA3,
            connection_path: EPath::parse(&params.path, Padding::Padded)?,
        };
        let mut data = vec![0u8; fo.buffer_len()];
        let n = fo.emit(&mut data)?;
        data.truncate(n);
        let mr = cm_request(if large { 0x5B } else { 0x54 }, &data)?;
        let key = self.queue_unconnected(&mr)?;
        self.pending.push(Pending::Open {
            key,
            params,
            primary,
        });
        Ok(key)
    }

    /// The parameters [`Session::open_primary`] uses: the options' route and connection size.
    pub fn primary_params(&self, triad: Triad, t_o_id: u32) -> Result<OpenParams, ClientError> {
        let route = &self.options.route;
        let mut path = match (&self.send_path, &self.route_path) {
            (Some(_), Some(r)) => r.clone(),
            _ => Vec::new(),
        };
        path.extend_from_slice(&MESSAGE_ROUTER);
        Ok(OpenParams {
            path,
            size: self
                .options
                .connection_size
                .clamp(16, super::connector::MAX_CONNECTION),
            priority_tick: route.priority_time_tick,
            timeout_ticks: route.timeout_ticks,
            rpi_us: 5_000_000,
            timeout_multiplier: 3,
            triad,
            t_o_id,
        })
    }

    /// Queues the Forward Open of the primary connection (see [`Session::primary_params`]).
    pub fn open_primary(&mut self, triad: Triad, t_o_id: u32) -> Result<u64, ClientError> {
        let params = self.primary_params(triad, t_o_id)?;
        self.open(params, true)
    }

    /// Queues the Forward Close of the connection with O->T id `id` (forgotten at once); its
    /// reply is [`Event::Closed`]. `None` if no such connection is open.
    pub fn close(&mut self, id: u32) -> Result<Option<u64>, ClientError> {
        let Some(pos) = self.connections.iter().position(|c| c.o_t_id == id) else {
            return Ok(None);
        };
        let conn = self.connections.remove(pos);
        if self.primary == Some(id) {
            self.primary = None;
        }
        let p = &conn.params;
        let fc = ForwardClose {
            priority_tick: p.priority_tick,
            timeout_ticks: p.timeout_ticks,
            triad: p.triad,
            reserved: 0,
            connection_path: EPath::parse(&p.path, Padding::Padded)?,
        };
        let mut data = vec![0u8; fc.buffer_len()];
        let n = fc.emit(&mut data)?;
        data.truncate(n);
        let key = self.queue_unconnected(&cm_request(0x4E, &data)?)?;
        self.pending.push(Pending::Close { key });
        Ok(Some(key))
    }

    /// Forgets the connection with O->T id `id` without closing it (the device timed it out).
    pub fn forget(&mut self, id: u32) {
        self.connections.retain(|c| c.o_t_id != id);
        if self.primary == Some(id) {
            self.primary = None;
        }
    }

    /// Closes the primary connection, if one is open (see [`Session::close`]).
    pub fn close_primary(&mut self) -> Result<Option<u64>, ClientError> {
        match self.primary {
            Some(id) => self.close(id),
            None => Ok(None),
        }
    }

    /// The bytes queued to send.
    pub fn transmit(&self) -> &[u8] {
        &self.wbuf
    }

    /// The queued bytes were sent at `now`: the replies are due within the timeout.
    pub fn transmitted(&mut self, now: Instant) {
        self.wbuf.clear();
        if self.outstanding > 0 && self.deadline.is_none() {
            self.deadline = Some(now + self.options.timeout);
        }
    }

    /// Drops the queued bytes unsent (a datagram that went elsewhere, a socket gone).
    pub fn discard(&mut self) {
        self.wbuf.clear();
    }

    // -----------------------------------------------------------------------------------------
    // Time.

    /// When the requests in flight time out, if any are.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.outstanding > 0)
    }

    /// The time is `now`: past the deadline, [`Session::poll_event`] reports the timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|d| d <= now) {
            self.timed_out = true;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Input.

    /// Free space to receive bytes into; report how many with [`Session::received`].
    pub fn recv_buffer(&mut self) -> &mut [u8] {
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        } else if self.rbuf.len() - self.rend < SPARE {
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        self.rbuf.get_mut(self.rend..).unwrap_or_default()
    }

    /// `n` bytes were received into [`Session::recv_buffer`] at `now`.
    pub fn received(&mut self, n: usize, now: Instant) {
        self.rend = (self.rend + n).min(self.rbuf.len());
        if self.outstanding > 0 {
            self.deadline = Some(now + self.options.timeout);
        }
    }

    /// Bytes received from the device at `now` (any split: part of a frame, or several).
    pub fn handle_input(&mut self, mut bytes: &[u8], now: Instant) {
        while !bytes.is_empty() {
            let spare = self.recv_buffer();
            let n = spare.len().min(bytes.len());
            if n == 0 {
                break;
            }
            let (head, tail) = bytes.split_at(n);
            if let Some(dst) = spare.get_mut(..n) {
                dst.copy_from_slice(head);
            }
            self.received(n, now);
            bytes = tail;
        }
    }

    /// Whether [`Session::poll_event`] has something to report (a whole frame, or an error).
    pub fn is_ready(&self) -> bool {
        let avail = self.rbuf.get(self.rstart..self.rend).unwrap_or_default();
        self.timed_out
            || match frame_len(avail, MAX_DATA) {
                Ok(Some(total)) => avail.len() >= total,
                Ok(None) => false,
                Err(_) => true,
            }
    }

    /// The next decoded reply, `None` until more bytes arrive; an error is fatal to the
    /// session (a malformed frame, a refused request, a timeout).
    pub fn poll_event(&mut self) -> Option<Result<Event<'_>, ClientError>> {
        if self.timed_out {
            return Some(Err(ClientError::Timeout(self.options.timeout)));
        }
        let avail = self.rbuf.get(self.rstart..self.rend).unwrap_or_default();
        let total = match frame_len(avail, MAX_DATA) {
            Ok(Some(total)) if avail.len() >= total => total,
            Ok(_) => return None,
            Err(e) => {
                return Some(Err(ClientError::Protocol(format!(
                    "bad frame: {}",
                    e.error
                ))))
            }
        };
        let start = self.rstart;
        self.rstart += total;
        self.outstanding = self.outstanding.saturating_sub(1);
        if self.outstanding == 0 {
            self.deadline = None;
        }
        let frame = self.rbuf.get(start..start + total).unwrap_or_default();
        let (key, range) = match decode(frame) {
            Ok(Decoded::Reply {
                key,
                range,
                sockaddr,
            }) => {
                self.t_o_sockaddr = sockaddr.or(self.t_o_sockaddr);
                (key, range)
            }
            Ok(Decoded::Registered(handle)) => {
                self.handle = handle;
                return Some(Ok(Event::Registered(handle)));
            }
            Ok(Decoded::List { key, items }) => return Some(Ok(Event::List { key, items })),
            Err(e) => return Some(Err(e)),
        };
        let message = self.rbuf.get(start + range.start..start + range.end);
        let message = message.unwrap_or_default();
        let Some(pos) = self.pending.iter().position(|p| p.key() == key) else {
            return Some(Ok(Event::Reply { key, message }));
        };
        let (event, opened) = match absorb(self.pending.swap_remove(pos), message) {
            Ok(got) => got,
            Err(e) => return Some(Err(e)),
        };
        if let Some((conn, primary)) = opened {
            if primary {
                self.primary = Some(conn.o_t_id);
            }
            self.connections.push(conn);
        }
        Some(Ok(event))
    }
}

impl Pending {
    fn key(&self) -> u64 {
        match self {
            Pending::Open { key, .. } | Pending::Close { key } => *key,
        }
    }
}

/// The event of a Connection Manager reply, and the connection it opened (primary or not).
type Absorbed = (Event<'static>, Option<(Connection, bool)>);

fn absorb(pending: Pending, message: &[u8]) -> Result<Absorbed, ClientError> {
    let reply = MrReply::parse(message)?;
    let status = ReplyStatus::of(&reply);
    match pending {
        Pending::Close { key } => Ok((Event::Closed { key, status }, None)),
        Pending::Open { key, .. } if !status.is_ok() => Ok((
            Event::Opened {
                key,
                result: Err(status),
            },
            None,
        )),
        Pending::Open {
            key,
            params,
            primary,
        } => {
            let fo = ForwardOpenReply::parse(reply.data)?;
            let conn = Connection {
                o_t_id: fo.o_t_connection_id,
                size: params.size,
                sequence: 0,
                params,
            };
            let event = Event::Opened {
                key,
                result: Ok(conn.o_t_id),
            };
            Ok((event, Some((conn, primary))))
        }
    }
}

/// A frame decoded: a reply message is `frame[range]`.
enum Decoded {
    Registered(u32),
    Reply {
        key: u64,
        range: Range<usize>,
        sockaddr: Option<Sockaddr>,
    },
    List {
        key: u64,
        items: Vec<ListReply>,
    },
}

fn decode(frame: &[u8]) -> Result<Decoded, ClientError> {
    let packet = encap::Packet::new_checked(frame)?;
    if packet.status() == 0
        && matches!(
            packet.command(),
            Command::SendRRData | Command::SendUnitData
        )
    {
        return decode_send(&packet, frame);
    }
    let repr = Repr::parse_bytes(frame)?;
    if repr.header.status != 0 {
        return Err(ClientError::Encapsulation(repr.header.status));
    }
    let context = u64::from_le_bytes(repr.header.context);
    // By reference: the body holds a whole inline CPF list, not worth copying out.
    let send = match (repr.header.command, &repr.body) {
        (Command::RegisterSession, Body::Register(_)) => {
            return Ok(Decoded::Registered(repr.header.session))
        }
        (_, Body::SendData(send)) => send,
        (_, Body::Items(cpf)) => {
            let items = cpf.items().iter().map(list_reply).collect();
            return Ok(Decoded::List {
                key: context,
                items,
            });
        }
        (Command::ListIdentity | Command::ListServices | Command::ListInterfaces, _)
        | (Command::Legacy, _) => {
            return Ok(Decoded::List {
                key: context,
                items: Vec::new(),
            })
        }
        (command, _) => {
            return Err(ClientError::Protocol(format!(
                "unexpected reply command 0x{:04X}",
                command.code()
            )))
        }
    };
    let (key, msg) = match send.cpf.connected_data() {
        Some((seq, data)) => (CONNECTED | u64::from(seq), data),
        None => match send.cpf.unconnected_data() {
            Some(data) => (context, data),
            None => return Err(ClientError::Protocol("reply without a data item".into())),
        },
    };
    let start = (msg.as_ptr() as usize).saturating_sub(frame.as_ptr() as usize);
    let sockaddr = send.cpf.items().iter().find_map(|i| match i {
        Item::SockaddrT2O(s) => Some(*s),
        _ => None,
    });
    Ok(Decoded::Reply {
        key,
        range: start..start + msg.len(),
        sockaddr,
    })
}

/// A SendRRData / SendUnitData reply, its CPF items read where they lie (no item list built):
/// the reply message (connected data first, else unconnected data) and any T->O sockaddr.
fn decode_send(packet: &encap::Packet<&[u8]>, frame: &[u8]) -> Result<Decoded, ClientError> {
    let items = packet.payload().get(SEND_DATA_CPF..).ok_or_else(|| {
        ClientError::Protocol("SendData reply shorter than its interface and timeout".into())
    })?;
    let cpf = cpf::Packet::new_checked(items)?;
    let (mut connected, mut unconnected, mut sockaddr) = (None, None, None);
    for (type_id, data) in cpf.items() {
        match Item::parse(type_id, data)? {
            Item::ConnectedData { sequence, data } => {
                connected.get_or_insert((CONNECTED | u64::from(sequence), data));
            }
            Item::UnconnectedData(data) => {
                let context = u64::from_le_bytes(packet.sender_context());
                unconnected.get_or_insert((context, data));
            }
            Item::SockaddrT2O(s) => {
                sockaddr.get_or_insert(s);
            }
            _ => {}
        }
    }
    let Some((key, msg)) = connected.or(unconnected) else {
        return Err(ClientError::Protocol("reply without a data item".into()));
    };
    let start = (msg.as_ptr() as usize).saturating_sub(frame.as_ptr() as usize);
    Ok(Decoded::Reply {
        key,
        range: start..start + msg.len(),
        sockaddr,
    })
}

/// The items of a List reply frame (a datagram, or a frame received over TCP).
pub fn list_items(frame: &[u8]) -> Result<Vec<ListReply>, ClientError> {
    match decode(frame)? {
        Decoded::List { items, .. } => Ok(items),
        _ => Err(ClientError::Protocol("not a List reply".into())),
    }
}

fn list_reply(item: &Item<'_>) -> ListReply {
    match item {
        Item::Identity(id) => ListReply::Identity(IdentityInfo {
            protocol_version: id.protocol_version,
            socket: SocketAddr::from((id.socket.addr, id.socket.port)),
            vendor_id: id.vendor_id,
            device_type: id.device_type,
            product_code: id.product_code,
            revision: (id.revision_major, id.revision_minor),
            status: id.status,
            serial_number: id.serial_number,
            product_name: String::from_utf8_lossy(id.product_name).into_owned(),
            state: id.state,
        }),
        Item::Service(s) => ListReply::Service(ServiceInfo {
            version: s.version,
            capability: s.capability,
            name: String::from_utf8_lossy(s.name_trimmed()).into_owned(),
        }),
        other => {
            let mut data = vec![0u8; other.data_len() + 4];
            let n = other.emit(&mut data).unwrap_or(4);
            ListReply::Other {
                type_id: other.type_id(),
                data: data.get(4..n).unwrap_or_default().to_vec(),
            }
        }
    }
}

/// A session is driven as it is by a [`super::Connector`]: many at once from one thread by a
/// [`cpppo_net::drive::Driver`], one `read` and one `write` per reply.
impl cpppo_net::drive::Driven for Session {
    fn recv_buffer(&mut self) -> &mut [u8] {
        Session::recv_buffer(self)
    }
    fn received(&mut self, n: usize, now: Instant) {
        Session::received(self, n, now)
    }
    fn transmit(&self) -> &[u8] {
        Session::transmit(self)
    }
    fn transmitted(&mut self, now: Instant) {
        Session::transmitted(self, now)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Session::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Session::handle_timeout(self, now)
    }
}
