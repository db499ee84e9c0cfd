//! The class 1 I/O adapter as a plain value: the implicit connections a scanner opens with a
//! Forward Open (over any TCP session), the O→T datagrams it consumes and the T→O datagrams it
//! produces, with time as an input (quinn's shape).
//!
//! - [`IoAdapter::forward_open`] / [`IoAdapter::forward_close`]: called by the session's
//!   Connection Manager for transport class 1 (see [`super::io_open`] for the checks).
//! - [`IoAdapter::handle_datagram`]: an O→T frame arrived on UDP 2222.
//! - [`IoAdapter::poll_transmit`]: the next T→O frame that is due, and where it goes. Each
//!   producer runs on its own RPI timer, never paced by O→T arrivals.
//! - [`IoAdapter::poll_timeout`] / [`IoAdapter::handle_timeout`]: the next producer or
//!   connection deadline; a connection silent for RPI × multiplier closes, and an owner's
//!   outputs go idle.
//!
//! Assemblies are attributes (`@4/INSTANCE/3`): the connection reads and writes them, so every
//! other view of the device (tags, web, history) sees the I/O data. [`IoHub`] shares one
//! adapter between the TCP sessions and the UDP driver.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cpppo_cip::io::{multicast_group, sequence_is_newer, Format, IoFrame, RpiRange, IO_PORT};
use cpppo_cip::list::Sockaddr;
use cpppo_cip::mr::status;
use cpppo_cip::services::cm::{ext, ForwardOpen, ForwardOpenReply, Triad};
use cpppo_cip::Status;

use crate::model::attribute::Attribute;
use crate::model::device::Device;
use crate::server::io_open::{check, Checked, Kind};
use crate::server::session::IdGenerator;

/// How the adapter is set up.
#[derive(Debug, Clone)]
pub struct IoSettings {
    /// The RPIs accepted (both directions).
    pub rpi: RpiRange,
    /// Most I/O connections open at once.
    pub max_connections: usize,
    /// The multicast group T→O goes to; `None`: Logix-style from `local` and `netmask`.
    pub multicast: Option<Ipv4Addr>,
    /// This device's address (for the multicast allocation).
    pub local: Ipv4Addr,
    /// Its network mask.
    pub netmask: Ipv4Addr,
    /// The port T→O goes to when the Forward Open names none (2222).
    pub port: u16,
    /// The O→T point of an Input Only connection (a heartbeat; 238 by default).
    pub input_only_point: u32,
    /// The O→T point of a Listen Only connection (a heartbeat; 237 by default).
    pub listen_only_point: u32,
}

impl Default for IoSettings {
    fn default() -> Self {
        IoSettings {
            rpi: RpiRange {
                min_us: 1_000,
                max_us: 3_200_000,
            },
            max_connections: 4096,
            multicast: None,
            local: Ipv4Addr::LOCALHOST,
            netmask: Ipv4Addr::new(255, 255, 255, 0),
            port: IO_PORT,
            input_only_point: cpppo_cip::io::INPUT_ONLY_POINT,
            listen_only_point: cpppo_cip::io::LISTEN_ONLY_POINT,
        }
    }
}

/// What became of one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// New output data, written to the output assembly.
    Data,
    /// A heartbeat (Input Only / Listen Only), or data while the scanner is idle.
    Alive,
    /// The same CIP sequence count again: the data was not written again.
    Duplicate,
    /// An encapsulation sequence number not newer than the last: dropped.
    Stale,
    /// Not an I/O frame, the wrong size, or truncated: dropped.
    Malformed,
    /// No connection with that id from that address: dropped.
    Unknown,
}

/// Something a log line, the web page or `/metrics` should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoEvent {
    /// A connection opened.
    Opened {
        /// Its O→T id.
        o_t_id: u32,
        /// What kind.
        kind: Kind,
        /// The originator.
        peer: SocketAddr,
    },
    /// A connection closed by Forward Close.
    Closed {
        /// Its O→T id.
        o_t_id: u32,
    },
    /// A connection timed out (no O→T for RPI × multiplier).
    TimedOut {
        /// Its O→T id.
        o_t_id: u32,
    },
    /// A Listen Only connection closed because the connections it listened with all closed.
    OwnerGone {
        /// Its O→T id.
        o_t_id: u32,
    },
    /// An output assembly went idle (its owner timed out, closed, or sent idle).
    OutputsIdle {
        /// The output assembly instance.
        instance: u32,
    },
    /// An output assembly's owner switched to run.
    OutputsRun {
        /// The output assembly instance.
        instance: u32,
    },
}

/// Counters of the adapter (all connections, since it started).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// O→T datagrams accepted (data or heartbeat).
    pub packets_in: u64,
    /// T→O datagrams produced.
    pub packets_out: u64,
    /// Datagrams dropped: stale or duplicate sequence numbers.
    pub dropped_stale: u64,
    /// Datagrams dropped: malformed or unknown connection.
    pub dropped_bad: u64,
    /// Connections closed by timeout.
    pub timeouts: u64,
    /// T→O productions later than their schedule, by lateness: < 100 µs, < 1 ms, < 10 ms,
    /// ≥ 10 ms.
    pub lateness: [u64; 4],
}

/// One open I/O connection, as the web page and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoConnection {
    /// Connection triad.
    pub triad: Triad,
    /// Owner, input only or listen only.
    pub kind: Kind,
    /// O→T id (we chose it).
    pub o_t_id: u32,
    /// T→O id.
    pub t_o_id: u32,
    /// The originator's address (the TCP session's).
    pub peer: SocketAddr,
    /// Where T→O goes.
    pub dest: SocketAddr,
    /// Output assembly (owners).
    pub output: Option<u32>,
    /// Input assembly.
    pub input: u32,
    /// O→T API, microseconds.
    pub o_t_api: u32,
    /// T→O API, microseconds.
    pub t_o_api: u32,
    /// O→T datagrams accepted.
    pub packets_in: u64,
    /// The scanner's last run/idle header said run.
    pub run: bool,
    /// T→O datagrams sent by this connection's producer (shared by the connections that
    /// listen to the same multicast producer).
    pub packets_out: u64,
    /// The producer's T→O datagrams by lateness past their RPI slot (as [`IoStats::lateness`]).
    pub lateness: [u64; 4],
}

impl IoConnection {
    /// T→O datagrams sent 1 ms or more past their RPI slot.
    pub fn late(&self) -> u64 {
        self.lateness.iter().skip(2).sum()
    }
}

/// Why an output assembly is idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleReason {
    /// No owner has connected since the adapter started.
    Unowned,
    /// The owner sent the idle header.
    Idle,
    /// The owner closed its connection (Forward Close).
    Closed,
    /// The owner went silent past its timeout.
    TimedOut,
}

impl IdleReason {
    /// A short name for logs, metrics and the web page.
    pub fn name(self) -> &'static str {
        match self {
            IdleReason::Unowned => "unowned",
            IdleReason::Idle => "idle",
            IdleReason::Closed => "closed",
            IdleReason::TimedOut => "timed-out",
        }
    }
}

struct Conn {
    info: IoConnection,
    producer: u64,
    o_t_format: Format,
    output_len: usize,
    output: Option<Arc<dyn Attribute>>,
    timeout: Duration,
    deadline: Instant,
    last_encap: Option<u32>,
    last_seq: Option<u16>,
}

struct Producer {
    t_o_id: u32,
    dest: SocketAddr,
    point: u32,
    multicast: bool,
    /// Modeless, or class 0 (no sequence count).
    format: Format,
    attr: Arc<dyn Attribute>,
    rpi: Duration,
    next: Instant,
    encap_seq: u32,
    cip_seq: u16,
    last: Option<Vec<u8>>,
    users: usize,
    packets_out: u64,
    lateness: [u64; 4],
}

/// A refused Forward Open: the status and the connection triad to echo.
pub type Refusal = (Status, Triad);

/// The reply data of an accepted Forward Open, and the T→O sockaddr item to add (multicast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The Forward Open reply.
    pub reply: ForwardOpenReply<'static>,
    /// The T→O sockaddr info item (CPF 0x8001) for the reply, when T→O is multicast.
    pub t_o_sockaddr: Option<Sockaddr>,
}

/// The class 1 adapter; see the [module](self) documentation.
pub struct IoAdapter {
    device: Arc<Device>,
    settings: IoSettings,
    ids: Arc<IdGenerator>,
    conns: HashMap<u32, Conn>,
    producers: HashMap<u64, Producer>,
    next_producer: u64,
    owners: HashMap<u32, u32>,
    idle: HashMap<u32, IdleReason>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    events: VecDeque<IoEvent>,
    stats: IoStats,
    scratch: Vec<u8>,
}

/// Most events held for the driver (older ones are dropped).
const MAX_EVENTS: usize = 1024;

impl IoAdapter {
    /// An adapter serving `device`'s assemblies; O→T ids come from `ids`.
    pub fn new(device: Arc<Device>, settings: IoSettings, ids: Arc<IdGenerator>) -> Self {
        IoAdapter {
            device,
            settings,
            ids,
            conns: HashMap::new(),
            producers: HashMap::new(),
            next_producer: 0,
            owners: HashMap::new(),
            idle: HashMap::new(),
            timers: BinaryHeap::new(),
            deadlines: BinaryHeap::new(),
            events: VecDeque::new(),
            stats: IoStats::default(),
            scratch: Vec::new(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &IoSettings {
        &self.settings
    }

    /// The counters.
    pub fn stats(&self) -> IoStats {
        self.stats
    }

    /// The open connections, with their producers' counters.
    pub fn connections(&self) -> impl Iterator<Item = IoConnection> + '_ {
        self.conns.values().map(|c| {
            let mut info = c.info.clone();
            if let Some(p) = self.producers.get(&c.producer) {
                info.packets_out = p.packets_out;
                info.lateness = p.lateness;
            }
            info
        })
    }

    /// The output assemblies an owner has opened since the adapter started, ascending.
    pub fn output_instances(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.idle.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Why output assembly `instance` is idle (`None` while an owner drives it in run mode).
    pub fn outputs_idle(&self, instance: u32) -> Option<IdleReason> {
        if self.outputs_run(instance) {
            return None;
        }
        let owned = self.owners.contains_key(&instance);
        Some(match self.idle.get(&instance) {
            Some(r) => *r,
            None if owned => IdleReason::Idle,
            None => IdleReason::Unowned,
        })
    }

    /// Whether output assembly `instance` is driven: an owner is connected and in run mode
    /// (else its outputs are idle).
    pub fn outputs_run(&self, instance: u32) -> bool {
        self.owners
            .get(&instance)
            .and_then(|id| self.conns.get(id))
            .is_some_and(|c| c.info.run)
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<IoEvent> {
        self.events.pop_front()
    }

    fn event(&mut self, e: IoEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// A class 1 Forward Open from `peer` (the TCP session's address), with the T→O sockaddr
    /// item of its request if any: the connection opened, or why not.
    pub fn forward_open(
        &mut self,
        fo: &ForwardOpen<'_>,
        peer: SocketAddr,
        t_o_item: Option<Sockaddr>,
        now: Instant,
    ) -> Result<Opened, Refusal> {
        let triad = fo.triad;
        let refuse = |st: Status| (st, triad);
        let failure = |ext: u16| refuse(Status::ext(status::CONNECTION_FAILURE, ext));
        let checked = check(&self.device, fo, &self.settings).map_err(refuse)?;
        if self.conns.values().any(|c| c.info.triad == triad) {
            return Err(failure(ext::CONNECTION_IN_USE));
        }
        if let Some((instance, _)) = &checked.output {
            if self.owners.contains_key(instance) {
                return Err(failure(ext::OWNERSHIP_CONFLICT));
            }
        }
        if self.conns.len() >= self.settings.max_connections {
            return Err(failure(ext::NO_MORE_CONNECTIONS));
        }
        let producer = match self.shared_producer(&checked) {
            Some(key) => key,
            None if checked.kind == Kind::ListenOnly => {
                return Err(failure(ext::NO_OWNING_CONNECTION));
            }
            None => self.new_producer(fo, &checked, peer, t_o_item, now),
        };
        let mut o_t_id = self.ids.next_id();
        while self.conns.contains_key(&o_t_id) {
            o_t_id = self.ids.next_id();
        }
        let p = self
            .producers
            .get_mut(&producer)
            .ok_or(failure(ext::NOT_CONFIGURED))?;
        p.users += 1;
        let t_o_api = u32::try_from(p.rpi.as_micros()).unwrap_or(u32::MAX);
        let t_o_sockaddr = match p.dest {
            SocketAddr::V4(d) if p.multicast => Some(Sockaddr::new(*d.ip(), d.port())),
            _ => None,
        };
        let info = IoConnection {
            triad,
            kind: checked.kind,
            o_t_id,
            t_o_id: p.t_o_id,
            peer,
            dest: p.dest,
            output: checked.output.as_ref().map(|(i, _)| *i),
            input: checked.input.0,
            o_t_api: fo.o_t_rpi,
            t_o_api,
            packets_in: 0,
            run: false,
            packets_out: 0,
            lateness: [0; 4],
        };
        let timeout = Duration::from_micros(fo.timeout_us(fo.o_t_rpi));
        if let Some(i) = info.output {
            self.owners.insert(i, o_t_id);
            self.idle.insert(i, IdleReason::Idle);
        }
        let reply = ForwardOpenReply {
            o_t_connection_id: o_t_id,
            t_o_connection_id: info.t_o_id,
            triad,
            o_t_api: fo.o_t_rpi,
            t_o_api,
            reserved: 0,
            application: &[],
        };
        self.conns.insert(
            o_t_id,
            Conn {
                info,
                producer,
                o_t_format: checked.o_t_format,
                output_len: checked.output_len,
                output: checked.output.map(|(_, a)| a),
                timeout,
                deadline: now + timeout,
                last_encap: None,
                last_seq: None,
            },
        );
        self.deadlines.push(Reverse((now + timeout, o_t_id)));
        self.event(IoEvent::Opened {
            o_t_id,
            kind: checked.kind,
            peer,
        });
        Ok(Opened {
            reply,
            t_o_sockaddr,
        })
    }

    /// An open multicast producer of the same input assembly, for a multicast connection.
    fn shared_producer(&self, checked: &Checked) -> Option<u64> {
        if !checked.multicast {
            return None;
        }
        self.producers
            .iter()
            .find(|(_, p)| {
                p.multicast && p.point == checked.input.0 && p.format == checked.t_o_format
            })
            .map(|(k, _)| *k)
    }

    fn new_producer(
        &mut self,
        fo: &ForwardOpen<'_>,
        checked: &Checked,
        peer: SocketAddr,
        t_o_item: Option<Sockaddr>,
        now: Instant,
    ) -> u64 {
        let s = &self.settings;
        let (t_o_id, dest) = if checked.multicast {
            let group = s
                .multicast
                .unwrap_or_else(|| multicast_group(s.local, s.netmask));
            let mut id = self.ids.next_id();
            while self.producers.values().any(|p| p.t_o_id == id) {
                id = self.ids.next_id();
            }
            (id, SocketAddr::V4(SocketAddrV4::new(group, s.port)))
        } else {
            (
                fo.t_o_connection_id,
                t_o_destination(peer, t_o_item, s.port),
            )
        };
        let key = self.next_producer;
        self.next_producer += 1;
        // The first T→O is due one RPI after the open, as a scanner expects: the Forward Open
        // reply goes out first (a frame due at once could overtake it on a loaded machine).
        let rpi = Duration::from_micros(fo.t_o_rpi.into());
        let first = now + rpi;
        self.producers.insert(
            key,
            Producer {
                t_o_id,
                dest,
                point: checked.input.0,
                multicast: checked.multicast,
                format: checked.t_o_format,
                attr: checked.input.1.clone(),
                rpi,
                next: first,
                encap_seq: 0,
                cip_seq: 0,
                last: None,
                users: 0,
                packets_out: 0,
                lateness: [0; 4],
            },
        );
        self.timers.push(Reverse((first, key)));
        key
    }

    /// Forward Close of the connection with `triad`: whether there was one (now closed).
    pub fn forward_close(&mut self, triad: &Triad) -> bool {
        let Some(id) = self
            .conns
            .iter()
            .find(|(_, c)| c.info.triad == *triad)
            .map(|(id, _)| *id)
        else {
            return false;
        };
        self.close(id, IdleReason::Closed);
        self.event(IoEvent::Closed { o_t_id: id });
        true
    }

    /// Remove a connection: its producer loses a user, its outputs go idle (for `why`). The
    /// Listen Only connections left without a non-Listen Only one on their producer close too.
    fn close(&mut self, o_t_id: u32, why: IdleReason) {
        let Some(c) = self.conns.remove(&o_t_id) else {
            return;
        };
        if let Some(p) = self.producers.get_mut(&c.producer) {
            p.users = p.users.saturating_sub(1);
            if p.users == 0 {
                self.producers.remove(&c.producer);
            }
        }
        if let Some(i) = c.info.output {
            if self.owners.get(&i) == Some(&o_t_id) {
                self.owners.remove(&i);
                self.idle.insert(i, why);
                self.event(IoEvent::OutputsIdle { instance: i });
            }
        }
        if c.info.kind != Kind::ListenOnly {
            self.close_orphans(c.producer);
        }
    }

    /// Close the Listen Only connections of `producer` when no other kind is left on it.
    fn close_orphans(&mut self, producer: u64) {
        let on = |c: &&Conn| c.producer == producer;
        if self
            .conns
            .values()
            .filter(on)
            .any(|c| c.info.kind != Kind::ListenOnly)
        {
            return;
        }
        let orphans: Vec<u32> = self
            .conns
            .values()
            .filter(on)
            .map(|c| c.info.o_t_id)
            .collect();
        for id in orphans {
            self.close(id, IdleReason::Closed);
            self.event(IoEvent::OwnerGone { o_t_id: id });
        }
    }

    /// An O→T datagram from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Consumed {
        let out = self.consume(now, from, bytes);
        match out {
            Consumed::Data | Consumed::Alive | Consumed::Duplicate => self.stats.packets_in += 1,
            Consumed::Stale => self.stats.dropped_stale += 1,
            Consumed::Malformed | Consumed::Unknown => self.stats.dropped_bad += 1,
        }
        out
    }

    fn consume(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Consumed {
        let Ok((id, encap)) = IoFrame::address(bytes) else {
            return Consumed::Malformed;
        };
        let Some(c) = self.conns.get_mut(&id) else {
            return Consumed::Unknown;
        };
        if c.info.peer.ip() != from.ip() {
            return Consumed::Unknown;
        }
        let Ok(frame) = IoFrame::parse(bytes, c.o_t_format) else {
            return Consumed::Malformed;
        };
        if c.last_encap.is_some_and(|last| !encap_newer(encap, last)) {
            return Consumed::Stale;
        }
        let Some(output) = c.output.clone() else {
            c.last_encap = Some(encap);
            c.deadline = now + c.timeout;
            c.info.packets_in += 1;
            return Consumed::Alive;
        };
        if frame.data.len() != c.output_len {
            return Consumed::Malformed;
        }
        c.last_encap = Some(encap);
        c.deadline = now + c.timeout;
        c.info.packets_in += 1;
        let run = frame.is_run();
        let was = std::mem::replace(&mut c.info.run, run);
        let fresh = c
            .last_seq
            .is_none_or(|last| sequence_is_newer(frame.sequence, last));
        if fresh {
            c.last_seq = Some(frame.sequence);
        }
        let instance = c.info.output.unwrap_or_default();
        if was != run {
            if let Some(i) = c.info.output {
                self.idle.insert(i, IdleReason::Idle);
            }
            self.event(match run {
                true => IoEvent::OutputsRun { instance },
                false => IoEvent::OutputsIdle { instance },
            });
        }
        if !fresh {
            return Consumed::Duplicate;
        }
        if !run {
            return Consumed::Alive;
        }
        // The size was checked against the assembly at Forward Open.
        match output.write(0, output.len(), frame.data) {
            Ok(()) => Consumed::Data,
            Err(_) => Consumed::Malformed,
        }
    }

    /// The next T→O frame due at `now`, written into `out` (replacing its contents), and
    /// where to send it; `None` when nothing is due.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<SocketAddr> {
        while let Some(Reverse((due, key))) = self.timers.peek().copied() {
            if due > now {
                return None;
            }
            self.timers.pop();
            let Some(p) = self.producers.get_mut(&key) else {
                continue; // closed since
            };
            if p.next != due {
                continue;
            }
            let late = now.saturating_duration_since(due);
            p.next = if late >= p.rpi {
                now + p.rpi
            } else {
                due + p.rpi
            };
            self.timers.push(Reverse((p.next, key)));
            self.scratch.clear();
            // Not a client's read: history and hooks do not record it every RPI.
            if p.attr.peek(0, p.attr.len(), &mut self.scratch).is_err() {
                continue;
            }
            if p.last.as_deref() != Some(self.scratch.as_slice()) {
                p.cip_seq = p.cip_seq.wrapping_add(1);
                p.last = Some(self.scratch.clone());
            }
            p.encap_seq = p.encap_seq.wrapping_add(1);
            let frame = IoFrame {
                connection_id: p.t_o_id,
                encap_sequence: p.encap_seq,
                sequence: p.cip_seq,
                run_idle: None,
                data: &self.scratch,
            };
            out.resize(frame.buffer_len_as(p.format), 0);
            let Ok(n) = frame.emit_as(p.format, out) else {
                continue;
            };
            out.truncate(n);
            let dest = p.dest;
            self.stats.packets_out += 1;
            let bucket = match late.as_micros() {
                0..100 => 0,
                100..1_000 => 1,
                1_000..10_000 => 2,
                _ => 3,
            };
            if let Some(b) = self.stats.lateness.get_mut(bucket) {
                *b += 1;
            }
            if let Some(b) = p.lateness.get_mut(bucket) {
                *b += 1;
            }
            p.packets_out += 1;
            return Some(dest);
        }
        None
    }

    /// When [`IoAdapter::poll_transmit`] or [`IoAdapter::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.timers.peek().map(|Reverse((t, _))| *t);
        let d = self.deadlines.peek().map(|Reverse((t, _))| *t);
        match (t, d) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Close the connections silent past their deadline at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(c) = self.conns.get(&id) else {
                continue;
            };
            if c.deadline > now {
                self.deadlines.push(Reverse((c.deadline, id)));
                continue;
            }
            self.stats.timeouts += 1;
            self.close(id, IdleReason::TimedOut);
            self.event(IoEvent::TimedOut { o_t_id: id });
        }
    }
}

/// Whether encapsulation sequence number `new` is later than `last` (32-bit serial arithmetic).
fn encap_newer(new: u32, last: u32) -> bool {
    let ahead = new.wrapping_sub(last);
    ahead != 0 && ahead < 0x8000_0000
}

/// Where point-to-point T→O goes: the request's T→O sockaddr item (its address, or the peer's
/// when it names none), else the peer's address at `port`.
fn t_o_destination(peer: SocketAddr, item: Option<Sockaddr>, port: u16) -> SocketAddr {
    match item {
        Some(s) if !s.addr.is_unspecified() => SocketAddr::new(IpAddr::V4(s.addr), s.port),
        Some(s) => SocketAddr::new(peer.ip(), s.port),
        None => SocketAddr::new(peer.ip(), port),
    }
}

/// One adapter shared by the TCP sessions (Forward Open/Close) and the UDP driver, which
/// registers a waker to hear of new connections (their first T→O is due one RPI after the open).
pub struct IoHub {
    adapter: Mutex<IoAdapter>,
    waker: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl IoHub {
    /// A hub around `adapter`.
    pub fn new(adapter: IoAdapter) -> Self {
        IoHub {
            adapter: Mutex::new(adapter),
            waker: Mutex::new(None),
        }
    }

    /// The adapter (a poisoned lock is taken over: the adapter's state stays consistent
    /// between calls).
    pub fn lock(&self) -> MutexGuard<'_, IoAdapter> {
        self.adapter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Call `waker` whenever the adapter's schedule changes from outside the driver.
    pub fn set_waker(&self, waker: Box<dyn Fn() + Send + Sync>) {
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(waker);
    }

    /// Tell the driver the schedule changed.
    pub fn wake(&self) {
        if let Some(w) = self
            .waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            w();
        }
    }
}
