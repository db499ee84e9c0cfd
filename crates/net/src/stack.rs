//! Userspace TCP/IP stacks (smoltcp), one per simulated host, on an in-process [`Switch`].
//!
//! A [`Net`] holds every host's interface and sockets behind one lock. Its driver
//! ([`Net::run`]) polls a host only when a frame arrived for it, one of its sockets was used,
//! or its own timer is due, and otherwise sleeps on a tokio timer: an idle fleet uses no CPU.
//! Sockets implement the crate's [`Listener`], [`Datagram`] and [`Connector`] traits, so a
//! simulator written against them runs here unchanged.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::future::{poll_fn, Future};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant as SInstant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, HardwareAddress, IpAddress, IpCidr,
    IpEndpoint, IpProtocol, Ipv4Cidr, Ipv4Packet, TcpPacket,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, Notify};

use crate::pcap::Pcap;
use crate::switch::{Gateway, Handling, Port, Switch};
use crate::{Accepted, Connector, Datagram, Listener, Received};

/// Frames queued for one host before more are dropped.
const RX_QUEUE: usize = 256;
/// Ethernet header bytes in front of an IP packet.
const ETH_HEADER: usize = 14;
/// Rounds of frame delivery per driver wake-up before timers get a look in.
const MAX_ROUNDS: usize = 1024;

/// Socket buffer sizes of every host.
#[derive(Debug, Clone, Copy)]
pub struct Buffers {
    /// TCP receive buffer per connection, bytes.
    pub tcp_rx: usize,
    /// TCP send buffer per connection, bytes.
    pub tcp_tx: usize,
    /// UDP payload buffer per socket and direction, bytes (one packet slot per 256 bytes,
    /// at least 8).
    pub udp: usize,
    /// The LAN's MTU: the largest IP packet a host sends (576-65521; 1500 is standard
    /// Ethernet, larger "jumbo" frames mean fewer frames per byte on a TAP).
    pub mtu: usize,
}

impl Default for Buffers {
    fn default() -> Self {
        Self {
            tcp_rx: 16384,
            tcp_tx: 16384,
            udp: 2048,
            mtu: 1500,
        }
    }
}

/// A virtual LAN of userspace stacks. Cheap to clone (shared).
#[derive(Clone)]
pub struct Net {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Mutex<Inner>,
    notify: Notify,
}

struct Inner {
    hosts: Vec<Host>,
    switch: Switch,
    externals: Vec<mpsc::UnboundedSender<Vec<u8>>>,
    ingress: VecDeque<(Port, Vec<u8>)>,
    dirty: Vec<usize>,
    timers: BinaryHeap<Reverse<(SInstant, usize)>>,
    pcap: Option<Pcap>,
    epoch: std::time::Instant,
    buffers: Buffers,
    frames: u64,
    /// The timer the driver task sleeps until (`None`: until notified).
    wake_at: Option<SInstant>,
}

struct Host {
    iface: Interface,
    sockets: SocketSet<'static>,
    rx: VecDeque<Vec<u8>>,
    ip: Ipv4Addr,
    listeners: Vec<Listening>,
    orphans: Vec<SocketHandle>,
    dirty: bool,
    next: Option<SInstant>,
    next_port: u16,
}

struct Listening {
    port: u16,
    /// TCP buffer sizes of this port's connections.
    buffers: Buffers,
    /// The socket in the listen state, created only when a SYN for `port` arrives: an idle
    /// listener holds no buffers.
    socket: Option<SocketHandle>,
    /// Connections still in their handshake (a fresh socket listens meanwhile).
    pending: Vec<SocketHandle>,
    ready: VecDeque<SocketHandle>,
    waker: Option<Waker>,
    closed: bool,
}

/// The identity of one simulated host on a [`Net`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostId(usize);

impl HostId {
    /// The host's index (order of addition).
    pub fn index(self) -> usize {
        self.0
    }
}

/// The frame queues a host's interface reads from and writes to during one poll.
struct Phy<'a> {
    rx: &'a mut VecDeque<Vec<u8>>,
    tx: &'a mut Vec<Vec<u8>>,
    /// Frames this poll may still take in.
    budget: usize,
    /// The largest IP packet to send.
    mtu: usize,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0u8; len];
        let r = f(&mut frame);
        multicast_ttl_1(&mut frame);
        self.0.push(frame);
        r
    }
}

/// Multicast stays on the LAN: an IPv4 packet to a multicast group leaves with TTL 1 (as a
/// host's kernel sends it by default), whatever the socket's hop limit.
fn multicast_ttl_1(frame: &mut [u8]) {
    let Ok(eth) = EthernetFrame::new_checked(&mut *frame) else {
        return;
    };
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return;
    }
    let Some(ip) = frame.get_mut(ETH_HEADER..) else {
        return;
    };
    if let Ok(mut packet) = Ipv4Packet::new_checked(ip) {
        if packet.dst_addr().is_multicast() && packet.hop_limit() != 1 {
            packet.set_hop_limit(1);
            packet.fill_checksum();
        }
    }
}

impl Device for Phy<'_> {
    type RxToken<'a>
        = Rx
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _: SInstant) -> Option<(Rx, Tx<'_>)> {
        self.budget = self.budget.checked_sub(1)?;
        let frame = self.rx.pop_front()?;
        Some((Rx(frame), Tx(self.tx)))
    }

    fn transmit(&mut self, _: SInstant) -> Option<Tx<'_>> {
        Some(Tx(self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + ETH_HEADER;
        caps
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.inner.lock().unwrap_or_else(|e| e.into_inner())
}

fn to_std(ep: IpEndpoint) -> SocketAddr {
    match ep.addr {
        IpAddress::Ipv4(a) => SocketAddr::V4(SocketAddrV4::new(a, ep.port)),
        #[allow(unreachable_patterns)]
        other => SocketAddr::new(std::net::IpAddr::from(other), ep.port),
    }
}

/// Whether a packet was addressed to something else than `local` (a stack accepts only its
/// own address, broadcasts and multicasts).
fn not_to(meta: &udp::UdpMetadata, local: SocketAddr) -> bool {
    meta.local_address
        .is_some_and(|dst| to_std(IpEndpoint::new(dst, 0)).ip() != local.ip())
}

fn v4(addr: SocketAddr) -> io::Result<IpEndpoint> {
    match addr {
        SocketAddr::V4(a) => Ok(IpEndpoint::new(IpAddress::Ipv4(*a.ip()), a.port())),
        SocketAddr::V6(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the userspace stack speaks IPv4 only",
        )),
    }
}

impl Default for Net {
    fn default() -> Self {
        Self::new(Buffers::default())
    }
}

impl Net {
    /// An empty LAN whose hosts get sockets with these buffer sizes.
    pub fn new(mut buffers: Buffers) -> Self {
        buffers.mtu = buffers.mtu.clamp(576, 65521);
        Self {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    hosts: Vec::new(),
                    switch: Switch::new(),
                    externals: Vec::new(),
                    ingress: VecDeque::new(),
                    dirty: Vec::new(),
                    timers: BinaryHeap::new(),
                    pcap: None,
                    epoch: std::time::Instant::now(),
                    buffers,
                    frames: 0,
                    wake_at: None,
                }),
                notify: Notify::new(),
            }),
        }
    }

    /// Add a host with this MAC (unicast) and address `ip/prefix`, routing through
    /// `gateway` if given.
    pub fn add_host(
        &self,
        mac: [u8; 6],
        ip: Ipv4Addr,
        prefix: u8,
        gateway: Option<Ipv4Addr>,
    ) -> io::Result<HostId> {
        let hw = EthernetAddress(mac);
        if !hw.is_unicast() || prefix > 32 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad host address {hw}, {ip}/{prefix}"),
            ));
        }
        let mut inner = lock(&self.shared);
        let now = inner.now();
        let mut config = Config::new(HardwareAddress::Ethernet(hw));
        config.random_seed =
            u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0])
                ^ inner.epoch.elapsed().as_nanos() as u64;
        let (mut rx, mut tx) = (VecDeque::new(), Vec::new());
        let mut iface = Interface::new(
            config,
            &mut Phy {
                rx: &mut rx,
                tx: &mut tx,
                budget: 0,
                mtu: inner.buffers.mtu,
            },
            now,
        );
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(ip, prefix)));
        });
        if let Some(gw) = gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        let id = inner.switch.add_host(mac, ip);
        inner.hosts.push(Host {
            iface,
            sockets: SocketSet::new(Vec::new()),
            rx,
            ip,
            listeners: Vec::new(),
            orphans: Vec::new(),
            dirty: false,
            next: None,
            next_port: 49152 + (id % 1000) as u16,
        });
        Ok(HostId(id))
    }

    /// The address of `host`.
    pub fn host_ip(&self, host: HostId) -> Option<Ipv4Addr> {
        lock(&self.shared).hosts.get(host.0).map(|h| h.ip)
    }

    /// Number of hosts.
    pub fn hosts(&self) -> usize {
        lock(&self.shared).hosts.len()
    }

    /// Frames switched so far.
    pub fn frames(&self) -> u64 {
        lock(&self.shared).frames
    }

    /// Listen for TCP connections on `port` of `host`.
    pub fn listen_tcp(&self, host: HostId, port: u16) -> io::Result<NetListener> {
        let buffers = lock(&self.shared).buffers;
        self.listen_tcp_with(host, port, buffers)
    }

    /// Listen for TCP connections on `port` of `host`, each connection with `buffers`' TCP
    /// sizes instead of the LAN's (a protocol of small frames needs less than its default).
    pub fn listen_tcp_with(
        &self,
        host: HostId,
        port: u16,
        buffers: Buffers,
    ) -> io::Result<NetListener> {
        let mut inner = lock(&self.shared);
        let h = inner.host_mut(host.0)?;
        if port == 0 || h.listeners.iter().any(|l| l.port == port && !l.closed) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("tcp listen: port {port} is taken or invalid"),
            ));
        }
        h.listeners.push(Listening {
            port,
            buffers,
            socket: None,
            pending: Vec::new(),
            ready: VecDeque::new(),
            waker: None,
            closed: false,
        });
        let index = h.listeners.len() - 1;
        let ip = h.ip;
        Ok(NetListener {
            shared: self.shared.clone(),
            host: host.0,
            index,
            local: SocketAddr::V4(SocketAddrV4::new(ip, port)),
        })
    }

    /// Bind a UDP socket to `port` of `host` (it also receives broadcasts).
    pub fn bind_udp(&self, host: HostId, port: u16) -> io::Result<NetDatagram> {
        let mut inner = lock(&self.shared);
        let size = inner.buffers.udp;
        let h = inner.host_mut(host.0)?;
        let buf = || {
            udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; (size / 256).max(8)],
                vec![0u8; size],
            )
        };
        let mut sock = udp::Socket::new(buf(), buf());
        sock.bind(port)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("udp bind: {e}")))?;
        let handle = h.sockets.add(sock);
        let local = SocketAddr::V4(SocketAddrV4::new(h.ip, port));
        Ok(NetDatagram {
            shared: self.shared.clone(),
            host: host.0,
            handle,
            local,
        })
    }

    /// A connector opening TCP connections from `host`.
    pub fn connector(&self, host: HostId) -> NetConnector {
        NetConnector {
            shared: self.shared.clone(),
            host: host.0,
        }
    }

    /// Plug in an external link: frames for it arrive on the returned receiver; frames from it
    /// are handed to [`Net::inject`] with the returned index.
    pub fn add_external(&self) -> (usize, mpsc::UnboundedReceiver<Vec<u8>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = lock(&self.shared);
        let id = inner.switch.add_external();
        inner.externals.push(tx);
        (id, rx)
    }

    /// A frame arrived from external link `port`.
    pub fn inject(&self, port: usize, frame: Vec<u8>) {
        let mut inner = lock(&self.shared);
        inner.ingress.push_back((Port::External(port), frame));
        // Deliver at once (no hand-off to the driver task); the driver only re-arms its timer.
        let wake = inner.drive_here();
        drop(inner);
        if wake {
            self.shared.notify.notify_one();
        }
    }

    /// Route the host's link through a virtual gateway (see [`crate::switch`]).
    pub fn set_gateway(&self, gateway: Gateway) {
        lock(&self.shared).switch.set_gateway(gateway);
    }

    /// Record every switched frame into `pcap`.
    pub fn capture(&self, pcap: Pcap) {
        lock(&self.shared).pcap = Some(pcap);
    }

    /// Flush the capture file, if any.
    pub fn flush_capture(&self) -> io::Result<()> {
        match lock(&self.shared).pcap.as_mut() {
            Some(p) => p.flush(),
            None => Ok(()),
        }
    }

    /// The driver: switch frames and poll hosts as events arrive, forever. Spawn it once.
    pub fn run(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = self.shared.clone();
        async move {
            loop {
                let (deadline, epoch) = {
                    let mut inner = lock(&shared);
                    let deadline = inner.drive();
                    inner.wake_at = deadline;
                    (deadline, inner.epoch)
                };
                match deadline {
                    Some(at) => {
                        let at = epoch
                            + std::time::Duration::from_micros(at.total_micros().max(0) as u64);
                        tokio::select! {
                            _ = shared.notify.notified() => {}
                            _ = tokio::time::sleep_until(at.into()) => {}
                        }
                    }
                    None => shared.notify.notified().await,
                }
            }
        }
    }
}

impl Inner {
    fn now(&self) -> SInstant {
        SInstant::from_micros(self.epoch.elapsed().as_micros() as i64)
    }

    /// Drive in the caller's task; whether the driver task must wake (work left over, or a
    /// timer due before the one it sleeps until). Most calls need no wake-up: the saved task
    /// switch is a good part of a frame's cost.
    fn drive_here(&mut self) -> bool {
        let deadline = self.drive();
        let early = match (deadline, self.wake_at) {
            (Some(d), Some(w)) => d < w,
            (Some(_), None) => true,
            (None, _) => false,
        };
        early || !self.dirty.is_empty() || !self.ingress.is_empty()
    }

    fn host_mut(&mut self, i: usize) -> io::Result<&mut Host> {
        self.hosts
            .get_mut(i)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
    }

    fn mark(&mut self, i: usize) {
        if let Some(h) = self.hosts.get_mut(i) {
            if !h.dirty {
                h.dirty = true;
                self.dirty.push(i);
            }
        }
    }

    /// Deliver queued frames and poll hosts until nothing is left to do; the next timer.
    fn drive(&mut self) -> Option<SInstant> {
        let now = self.now();
        for _ in 0..MAX_ROUNDS {
            while let Some(&Reverse((at, i))) = self.timers.peek() {
                if at > now {
                    break;
                }
                self.timers.pop();
                if self.hosts.get(i).and_then(|h| h.next) == Some(at) {
                    if let Some(h) = self.hosts.get_mut(i) {
                        h.next = None;
                    }
                    self.mark(i);
                }
            }
            let mut out = Vec::new();
            while let Some((from, frame)) = self.ingress.pop_front() {
                self.switch_frame(from, frame, &mut out);
            }
            if self.dirty.is_empty() {
                break;
            }
            for i in std::mem::take(&mut self.dirty) {
                self.poll_host(i, now);
            }
        }
        if let Some(p) = self.pcap.as_mut() {
            let _ = p.flush();
        }
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    fn switch_frame(&mut self, from: Port, mut frame: Vec<u8>, out: &mut Vec<Port>) {
        self.frames += 1;
        if let Some(p) = self.pcap.as_mut() {
            let _ = p.record(&frame);
        }
        out.clear();
        if self.switch.forward(from, &mut frame, out) == Handling::Answered {
            // The switch answered the frame itself (ARP, ICMP): capture the answer too.
            if let Some(p) = self.pcap.as_mut() {
                let _ = p.record(&frame);
            }
        }
        let last = out.len().saturating_sub(1);
        for (k, &port) in out.iter().enumerate() {
            // The last port takes the frame itself: most frames have one port, no copy.
            let copy = |frame: &mut Vec<u8>| match k == last {
                true => std::mem::take(frame),
                false => frame.clone(),
            };
            match port {
                Port::Host(i) => {
                    if let Some(h) = self.hosts.get_mut(i) {
                        if h.rx.len() < RX_QUEUE {
                            h.rx.push_back(copy(&mut frame));
                            self.mark(i);
                        }
                    }
                }
                Port::External(e) => {
                    if let Some(tx) = self.externals.get(e) {
                        let _ = tx.send(copy(&mut frame));
                    }
                }
            }
        }
    }

    fn poll_host(&mut self, i: usize, now: SInstant) {
        let mtu = self.buffers.mtu;
        let Some(h) = self.hosts.get_mut(i) else {
            return;
        };
        h.dirty = false;
        let mut tx = Vec::new();
        // One frame per poll, then the listeners' upkeep: each SYN finds a listening socket.
        loop {
            if let Some(port) = h.rx.front().and_then(|f| syn_port(f)) {
                h.arm(port);
            }
            h.iface.poll(
                now,
                &mut Phy {
                    rx: &mut h.rx,
                    tx: &mut tx,
                    budget: 1,
                    mtu,
                },
                &mut h.sockets,
            );
            h.upkeep();
            if h.rx.is_empty() {
                break;
            }
        }
        let at = h.iface.poll_at(now, &h.sockets);
        if at != h.next {
            h.next = at;
            if let Some(at) = at {
                self.timers.push(Reverse((
                    at.max(now + smoltcp::time::Duration::from_millis(1)),
                    i,
                )));
                h.next = Some(at.max(now + smoltcp::time::Duration::from_millis(1)));
            }
        }
        self.ingress
            .extend(tx.into_iter().map(|f| (Port::Host(i), f)));
    }
}

/// A TCP socket listening on `port`, added to `sockets`.
fn new_listening(
    sockets: &mut SocketSet<'static>,
    port: u16,
    b: Buffers,
) -> io::Result<SocketHandle> {
    let mut sock = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; b.tcp_rx]),
        tcp::SocketBuffer::new(vec![0u8; b.tcp_tx]),
    );
    sock.set_nagle_enabled(false);
    sock.listen(port)
        .map_err(|e| io::Error::new(io::ErrorKind::AddrInUse, format!("tcp listen: {e}")))?;
    Ok(sockets.add(sock))
}

/// The destination port of a TCP SYN (not SYN-ACK) in this Ethernet frame.
fn syn_port(frame: &[u8]) -> Option<u16> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Tcp || ip.frag_offset() != 0 {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    (tcp.syn() && !tcp.ack()).then(|| tcp.dst_port())
}

impl Host {
    /// A SYN for `port` is about to be processed: make sure a socket listens there.
    fn arm(&mut self, port: u16) {
        let sockets = &mut self.sockets;
        if let Some(l) = self
            .listeners
            .iter_mut()
            .find(|l| l.port == port && !l.closed && l.socket.is_none())
        {
            l.socket = new_listening(sockets, port, l.buffers).ok();
        }
    }

    /// Hand out connections that left the listening state; free closed orphans.
    fn upkeep(&mut self) {
        let sockets = &mut self.sockets;
        for l in self.listeners.iter_mut().filter(|l| !l.closed) {
            // A SYN arrived: this socket shakes hands; the next SYN arms a fresh one.
            if let Some(s) = l.socket {
                if sockets.get::<tcp::Socket>(s).state() != tcp::State::Listen {
                    l.pending.push(s);
                    l.socket = None;
                }
            }
            let mut woke = false;
            l.pending
                .retain(|&h| match sockets.get::<tcp::Socket>(h).state() {
                    tcp::State::SynReceived => true,
                    // Reset during the handshake: smoltcp listens again; drop the spare.
                    tcp::State::Listen => {
                        sockets.remove(h);
                        false
                    }
                    _ => {
                        l.ready.push_back(h);
                        woke = true;
                        false
                    }
                });
            if woke {
                if let Some(w) = l.waker.take() {
                    w.wake();
                }
            }
        }
        let sockets = &mut self.sockets;
        self.orphans.retain(|&h| {
            if sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed {
                sockets.remove(h);
                false
            } else {
                true
            }
        });
    }
}

/// Accepts TCP connections on one port of one host.
pub struct NetListener {
    shared: Arc<Shared>,
    host: usize,
    index: usize,
    local: SocketAddr,
}

impl Listener for NetListener {
    type Stream = NetStream;

    fn accept(&mut self) -> impl Future<Output = io::Result<Accepted<NetStream>>> + Send {
        poll_fn(move |cx| {
            let mut inner = lock(&self.shared);
            let h = inner.host_mut(self.host)?;
            let Some(l) = h.listeners.get_mut(self.index) else {
                return Poll::Ready(Err(io::Error::other("listener gone")));
            };
            let Some(handle) = l.ready.pop_front() else {
                l.waker = Some(cx.waker().clone());
                return Poll::Pending;
            };
            let sock = h.sockets.get::<tcp::Socket>(handle);
            let peer = sock.remote_endpoint().map(to_std).unwrap_or(self.local);
            Poll::Ready(Ok(Accepted {
                stream: NetStream {
                    shared: self.shared.clone(),
                    host: self.host,
                    handle,
                },
                peer,
                local: self.local,
            }))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl Drop for NetListener {
    fn drop(&mut self) {
        let mut inner = lock(&self.shared);
        if let Some(h) = inner.hosts.get_mut(self.host) {
            if let Some(l) = h.listeners.get_mut(self.index) {
                l.closed = true;
                let handles: Vec<_> = l
                    .ready
                    .drain(..)
                    .chain(l.pending.drain(..))
                    .chain(l.socket.take())
                    .collect();
                for s in handles {
                    h.sockets.get_mut::<tcp::Socket>(s).abort();
                    h.orphans.push(s);
                }
            }
        }
        inner.mark(self.host);
        drop(inner);
        self.shared.notify.notify_one();
    }
}

/// One TCP connection on a userspace stack.
pub struct NetStream {
    shared: Arc<Shared>,
    host: usize,
    handle: SocketHandle,
}

impl NetStream {
    /// Run `f` on the socket, then mark the host for polling if `f` says so (`Touched::Send`:
    /// poll it at once, as data waits to go out; `Touched::Later`: let the driver task do it,
    /// so window updates after reads are batched).
    fn with<R>(&self, f: impl FnOnce(&mut tcp::Socket<'static>) -> (R, Touched)) -> io::Result<R> {
        let mut inner = lock(&self.shared);
        let h = inner.host_mut(self.host)?;
        let (r, touched) = f(h.sockets.get_mut::<tcp::Socket>(self.handle));
        if touched != Touched::No {
            inner.mark(self.host);
            // Sends go out now; after reads the driver polls later, batching window updates.
            let wake = touched == Touched::Later || inner.drive_here();
            drop(inner);
            if wake {
                self.shared.notify.notify_one();
            }
        }
        Ok(r)
    }
}

impl AsyncRead for NetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let got = self.with(|s| {
            if s.can_recv() {
                let n = s.recv_slice(buf.initialize_unfilled()).unwrap_or(0);
                buf.advance(n);
                (Poll::Ready(Ok(())), Touched::Later)
            } else if !s.may_recv() && s.state() != tcp::State::SynReceived {
                (Poll::Ready(Ok(())), Touched::No)
            } else {
                s.register_recv_waker(cx.waker());
                (Poll::Pending, Touched::No)
            }
        });
        got.unwrap_or_else(|e| Poll::Ready(Err(e)))
    }
}

impl AsyncWrite for NetStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let got = self.with(|s| {
            if s.can_send() {
                let n = s.send_slice(data).unwrap_or(0);
                (Poll::Ready(Ok(n)), Touched::Send)
            } else if !s.may_send()
                && !matches!(s.state(), tcp::State::SynSent | tcp::State::SynReceived)
            {
                (
                    Poll::Ready(Err(io::Error::from(io::ErrorKind::BrokenPipe))),
                    Touched::No,
                )
            } else {
                s.register_send_waker(cx.waker());
                (Poll::Pending, Touched::No)
            }
        });
        got.unwrap_or_else(|e| Poll::Ready(Err(e)))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.with(|s| {
            s.close();
            ((), Touched::Send)
        }))
    }
}

impl Drop for NetStream {
    fn drop(&mut self) {
        let mut inner = lock(&self.shared);
        if let Some(h) = inner.hosts.get_mut(self.host) {
            h.sockets.get_mut::<tcp::Socket>(self.handle).close();
            h.orphans.push(self.handle);
        }
        inner.mark(self.host);
        drop(inner);
        self.shared.notify.notify_one();
    }
}

/// A UDP socket on a userspace stack.
pub struct NetDatagram {
    shared: Arc<Shared>,
    host: usize,
    handle: SocketHandle,
    local: SocketAddr,
}

impl Datagram for NetDatagram {
    fn recv_from(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<Received>> + Send {
        poll_fn(move |cx| {
            let mut inner = lock(&self.shared);
            let h = inner.host_mut(self.host)?;
            let s = h.sockets.get_mut::<udp::Socket>(self.handle);
            match s.recv() {
                Ok((data, meta)) => {
                    let len = data.len().min(buf.len());
                    if let (Some(dst), Some(src)) = (buf.get_mut(..len), data.get(..len)) {
                        dst.copy_from_slice(src);
                    }
                    Poll::Ready(Ok(Received {
                        len,
                        peer: to_std(meta.endpoint),
                        local: self.local,
                        broadcast: not_to(&meta, self.local),
                    }))
                }
                Err(_) => {
                    s.register_recv_waker(cx.waker());
                    Poll::Pending
                }
            }
        })
    }

    fn recv(&self) -> impl Future<Output = io::Result<(Vec<u8>, Received)>> + Send {
        poll_fn(move |cx| {
            let mut inner = lock(&self.shared);
            let h = inner.host_mut(self.host)?;
            let s = h.sockets.get_mut::<udp::Socket>(self.handle);
            match s.recv() {
                Ok((data, meta)) => {
                    let rx = Received {
                        len: data.len(),
                        peer: to_std(meta.endpoint),
                        local: self.local,
                        broadcast: not_to(&meta, self.local),
                    };
                    Poll::Ready(Ok((data.to_vec(), rx)))
                }
                Err(_) => {
                    s.register_recv_waker(cx.waker());
                    Poll::Pending
                }
            }
        })
    }

    fn send_to(
        &self,
        buf: &[u8],
        to: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        let to = v4(to);
        poll_fn(move |cx| {
            let to = match &to {
                Ok(to) => *to,
                Err(e) => return Poll::Ready(Err(io::Error::new(e.kind(), e.to_string()))),
            };
            let mut inner = lock(&self.shared);
            let h = inner.host_mut(self.host)?;
            let s = h.sockets.get_mut::<udp::Socket>(self.handle);
            match s.send_slice(buf, to) {
                Ok(()) => {
                    inner.mark(self.host);
                    let wake = inner.drive_here();
                    drop(inner);
                    if wake {
                        self.shared.notify.notify_one();
                    }
                    Poll::Ready(Ok(buf.len()))
                }
                Err(udp::SendError::BufferFull) => {
                    s.register_send_waker(cx.waker());
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("udp send to {to}: {e}"),
                ))),
            }
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    fn membership(&self, group: Ipv4Addr, join: bool) -> io::Result<()> {
        let mut inner = lock(&self.shared);
        let h = inner.host_mut(self.host)?;
        let done = match join {
            true => h.iface.join_multicast_group(group),
            false => h.iface.leave_multicast_group(group),
        };
        done.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{group}: {e}")))?;
        // The membership report goes out on the host's next poll.
        inner.mark(self.host);
        drop(inner);
        self.shared.notify.notify_one();
        Ok(())
    }
}

impl Drop for NetDatagram {
    fn drop(&mut self) {
        let mut inner = lock(&self.shared);
        if let Some(h) = inner.hosts.get_mut(self.host) {
            h.sockets.remove(self.handle);
        }
    }
}

/// What a socket operation needs from the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touched {
    /// Nothing.
    No,
    /// A poll soon.
    Later,
    /// A poll now.
    Send,
}

/// Opens TCP connections from one host of a [`Net`].
pub struct NetConnector {
    shared: Arc<Shared>,
    host: usize,
}

impl Connector for NetConnector {
    type Stream = NetStream;

    fn connect(&self, addr: &str) -> impl Future<Output = io::Result<NetStream>> + Send {
        let target = addr
            .parse::<SocketAddr>()
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{addr:?} is not IPv4:PORT"),
                )
            })
            .and_then(v4);
        async move {
            let target = target?;
            let stream = {
                let mut inner = lock(&self.shared);
                let b = inner.buffers;
                let h = inner.host_mut(self.host)?;
                let mut sock = tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0u8; b.tcp_rx]),
                    tcp::SocketBuffer::new(vec![0u8; b.tcp_tx]),
                );
                sock.set_nagle_enabled(false);
                h.next_port = if h.next_port >= 65000 {
                    49152
                } else {
                    h.next_port + 1
                };
                let port = h.next_port;
                sock.connect(h.iface.context(), target, port).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("connect {target}: {e}"),
                    )
                })?;
                let handle = h.sockets.add(sock);
                inner.mark(self.host);
                NetStream {
                    shared: self.shared.clone(),
                    host: self.host,
                    handle,
                }
            };
            self.shared.notify.notify_one();
            poll_fn(|cx| {
                stream
                    .with(|s| match s.state() {
                        tcp::State::SynSent | tcp::State::SynReceived => {
                            s.register_send_waker(cx.waker());
                            (Poll::Pending, Touched::No)
                        }
                        // Never connected, or reset before the handshake finished.
                        tcp::State::Closed | tcp::State::Listen => (
                            Poll::Ready(Err(io::Error::from(io::ErrorKind::ConnectionRefused))),
                            Touched::No,
                        ),
                        // Connected (the peer may already have sent data and closed).
                        _ => (Poll::Ready(Ok(())), Touched::No),
                    })
                    .unwrap_or_else(|e| Poll::Ready(Err(e)))
            })
            .await?;
            Ok(stream)
        }
    }
}
