//! One EtherNet/IP session (TCP) or socket (UDP): framing, List commands, Forward Open/Close
//! and direct requests.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use cpppo_cip::mr::MrReply;
use cpppo_cip::services::cm::Triad;
use cpppo_net::deadline::Deadline;
use cpppo_net::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::error::{ClientError, ReplyStatus};
use super::pipeline::{Pipeline, Transaction};
use super::plan::{decode_typed, encode_values};
use super::route::{encode_path, mr_request, Route};
use super::session::{list_items, Event, Session};
use crate::client::operation::{Literal, Operation, PathStep};

/// The EtherNet/IP port.
pub const DEFAULT_PORT: u16 = 44818;
/// Receive buffer asked for a broadcast's replies: ~10,000 List Identity replies in flight.
pub const BROADCAST_RECEIVE_BUFFER: usize = 32 << 20;
/// The largest unconnected message (request or reply) a Logix controller takes.
pub const UNCONNECTED_MESSAGE: u32 = 504;
/// The largest connection size asked for (a Logix controller's Large Forward Open limit).
pub const MAX_CONNECTION: u32 = 4002;
/// Connection size (bytes) above which a Large Forward Open is needed.
pub const LARGE_CONNECTION: u32 = 511;

/// How to talk to a device.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long to wait for any one reply.
    pub timeout: Duration,
    /// Send path / route path (or none, for simple devices).
    pub route: Route,
    /// Open a class 3 connection (Forward Open) and send requests connected.
    pub connected: bool,
    /// Connection size in bytes (Large Forward Open above 511); default 500.
    pub connection_size: u32,
    /// Bind to this local address (port 0: any) before connecting or sending, eg. to
    /// broadcast from one interface (cpppo's `source_address`).
    pub source_address: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(5),
            route: Route::logix(),
            connected: false,
            connection_size: 500,
            source_address: None,
        }
    }
}

impl Options {
    /// Options for a simple (non-routing) device.
    pub fn simple() -> Options {
        Options {
            route: Route::simple(),
            ..Options::default()
        }
    }
}

enum Transport {
    Stream(Box<dyn Stream>),
    /// A TCP socket in async mode; [`Connector::set_blocking`] turns it into `Blocking`.
    Tcp(TcpStream),
    /// A TCP socket in blocking mode (read and write timeouts set): a lock-step exchange is
    /// one write and one read, without a reactor's wait in between.
    Blocking(std::net::TcpStream),
    Udp {
        socket: UdpSocket,
    },
}

/// Called while a blocking-mode connector waits for a reply (see [`Connector::set_interrupt`]);
/// an error ends the wait with it.
pub type Interrupt = Box<dyn FnMut() -> Result<(), ClientError> + Send>;

/// An EtherNet/IP session with one device: a [`Session`] driven over a byte stream (a TCP
/// socket, or any `cpppo_net` stream such as a fleet device's), or a UDP socket for List
/// commands.
pub struct Connector {
    transport: Transport,
    peer: SocketAddr,
    session: Session,
    /// Checked every so often while a blocking read waits, and how often.
    interrupt: Option<(Duration, Interrupt)>,
    /// Bounds the async reads and writes: one timer, moved to each new deadline.
    timer: Deadline,
}

/// A List Identity reply item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityInfo {
    /// Encapsulation protocol version.
    pub protocol_version: u16,
    /// The socket address the device reports.
    pub socket: SocketAddr,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device type.
    pub device_type: u16,
    /// Product code.
    pub product_code: u16,
    /// Revision (major, minor).
    pub revision: (u8, u8),
    /// Status word.
    pub status: u16,
    /// Serial number.
    pub serial_number: u32,
    /// Product name.
    pub product_name: String,
    /// State.
    pub state: u8,
}

/// A List Services reply item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Version.
    pub version: u16,
    /// Capability flags (0x20 CIP over TCP, 0x100 class 0/1 UDP).
    pub capability: u16,
    /// The service's name.
    pub name: String,
}

/// One item of a List reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListReply {
    /// A List Identity item.
    Identity(IdentityInfo),
    /// A List Services item.
    Service(ServiceInfo),
    /// Any other item (List Interfaces, legacy): its type and data.
    Other {
        /// Item type id.
        type_id: u16,
        /// Item data.
        data: Vec<u8>,
    },
}

/// A TCP connection to `peer`, from `source` when given.
async fn tcp_connect(peer: SocketAddr, source: Option<SocketAddr>) -> std::io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(peer).await;
    };
    let socket = if source.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(source)?;
    socket.connect(peer).await
}

/// Resolves `HOST[:PORT]` (port 44818 by default; an empty host is localhost).
pub fn resolve(address: &str) -> Result<SocketAddr, ClientError> {
    let address = address.trim();
    let with_port = match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
            let host = if host.is_empty() { "localhost" } else { host };
            format!("{host}:{port}")
        }
        _ if address.is_empty() => format!("localhost:{DEFAULT_PORT}"),
        _ => format!("{address}:{DEFAULT_PORT}"),
    };
    let mut addrs = with_port.to_socket_addrs().map_err(|e| {
        ClientError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot resolve {address:?}: {e}"),
        ))
    })?;
    addrs
        .find(SocketAddr::is_ipv4)
        .or_else(|| with_port.to_socket_addrs().ok().and_then(|mut a| a.next()))
        .ok_or_else(|| ClientError::Protocol(format!("no address for {address:?}")))
}

impl Connector {
    /// Connects over TCP to `address` (`HOST[:PORT]`) and registers a session; with
    /// `options.connected`, also opens a class 3 connection.
    pub async fn connect(address: &str, options: Options) -> Result<Connector, ClientError> {
        let (stream, peer) = Self::tcp(address, &options).await?;
        Connector::start(Transport::Tcp(stream), peer, options).await
    }

    /// A TCP connection to `address` (`HOST[:PORT]`) within the timeout, Nagle off.
    async fn tcp(address: &str, options: &Options) -> Result<(TcpStream, SocketAddr), ClientError> {
        let peer = resolve(address)?;
        let stream =
            tokio::time::timeout(options.timeout, tcp_connect(peer, options.source_address))
                .await
                .map_err(|_| ClientError::Timeout(options.timeout))??;
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }

    /// Connects over TCP and registers a session as [`Connector::connect`] does, then does its
    /// I/O in blocking mode: each call blocks the thread until its reply (at most the timeout
    /// per read or write) and returns without ever waiting on the runtime, so a lock-step
    /// request costs one `write` and one `read` system call. Drive it from a thread of its own
    /// (`block_on` of a current-thread runtime, as [`crate::client::blocking::Client`] does);
    /// never from a task sharing a runtime with others, which it would stall.
    pub async fn connect_blocking(
        address: &str,
        options: Options,
    ) -> Result<Connector, ClientError> {
        let (stream, peer) = Self::tcp(address, &options).await?;
        let stream = blocking_socket(stream.into_std()?, options.timeout, options.timeout)?;
        Connector::start(Transport::Blocking(stream), peer, options).await
    }

    /// Switches a TCP connector to blocking mode (as [`Connector::connect_blocking`] makes
    /// it: each lock-step request one `write` and one `read`, [`Connector::perform_blocking`]
    /// without a runtime) or back to async mode (for pipelines of many requests in flight,
    /// whose blocking writes could stall against a peer blocked writing its replies).
    /// Switching to async mode must happen inside a Tokio runtime with I/O enabled. A
    /// connector over another stream, or UDP, has no blocking mode: an error.
    pub fn set_blocking(&mut self, blocking: bool) -> Result<(), ClientError> {
        let timeout = self.session.options().timeout;
        // The socket is duplicated into its new mode; dropping the old handle closes only
        // the duplicate.
        self.transport = match (&self.transport, blocking) {
            (Transport::Blocking(_), true) | (Transport::Tcp(_), false) => return Ok(()),
            (Transport::Tcp(s), true) => {
                let fd = std::os::fd::AsFd::as_fd(s).try_clone_to_owned()?;
                let wait = self.interrupt.as_ref().map_or(timeout, |(every, _)| *every);
                Transport::Blocking(blocking_socket(fd.into(), wait.min(timeout), timeout)?)
            }
            (Transport::Blocking(s), false) => {
                tokio::runtime::Handle::try_current().map_err(|_| {
                    ClientError::Protocol("async mode needs a Tokio runtime".into())
                })?;
                let std = s.try_clone()?;
                std.set_nonblocking(true)?;
                // A timer belongs to the runtime that made it: the next wait makes one here.
                self.timer.clear();
                Transport::Tcp(TcpStream::from_std(std)?)
            }
            _ => {
                return Err(ClientError::Protocol(
                    "only a TCP connector has a blocking mode".into(),
                ))
            }
        };
        Ok(())
    }

    /// Whether the connector is in blocking mode.
    pub fn is_blocking(&self) -> bool {
        matches!(self.transport, Transport::Blocking(_))
    }

    /// In blocking mode, wakes a waiting read every `every` (and when a signal interrupts
    /// it) to call `check`: an error from it ends the wait (eg. a Python signal handler that
    /// raised). The connector's timeout still bounds each reply. `None`: no checks.
    pub fn set_interrupt(
        &mut self,
        every: Duration,
        check: Option<Interrupt>,
    ) -> Result<(), ClientError> {
        let timeout = self.session.options().timeout;
        let wait = if check.is_some() {
            every.min(timeout)
        } else {
            timeout
        };
        self.interrupt = check.map(|c| (every, c));
        if let Transport::Blocking(s) = &self.transport {
            s.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        }
        Ok(())
    }

    /// Registers a session over an open byte `stream` to `peer` (a TCP socket, a userspace
    /// stack's stream from a fleet device's own address, ...); with `options.connected`, also
    /// opens a class 3 connection.
    pub async fn over<S: Stream>(
        stream: S,
        peer: SocketAddr,
        options: Options,
    ) -> Result<Connector, ClientError> {
        Connector::start(Transport::Stream(Box::new(stream)), peer, options).await
    }

    /// Registers a session over `transport` (and opens a connection if asked).
    async fn start(
        transport: Transport,
        peer: SocketAddr,
        options: Options,
    ) -> Result<Connector, ClientError> {
        let session = Session::new(options)?;
        let mut conn = Connector {
            transport,
            peer,
            session,
            interrupt: None,
            timer: Deadline::default(),
        };
        conn.register().await?;
        if conn.session.options().connected {
            conn.forward_open().await?;
        }
        Ok(conn)
    }

    /// Opens a UDP socket towards `address` (List commands only); `broadcast` allows a
    /// broadcast address and collects every reply until the timeout.
    pub async fn udp(
        address: &str,
        broadcast: bool,
        options: Options,
    ) -> Result<Connector, ClientError> {
        let peer = resolve(address)?;
        let local = options
            .source_address
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        let socket = UdpSocket::bind(local).await?;
        socket.set_broadcast(broadcast)?;
        if broadcast {
            // Thousands of devices may answer within their Max Response Delay; a default
            // buffer (~200 KB) holds a few hundred replies. Best effort: as much as allowed.
            let _ = cpppo_net::sys::grow_receive_buffer(&socket, BROADCAST_RECEIVE_BUFFER);
        }
        Ok(Connector {
            transport: Transport::Udp { socket },
            peer,
            session: Session::new(options)?,
            interrupt: None,
            timer: Deadline::default(),
        })
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The registered session handle (0 before registration, and for UDP).
    pub fn session(&self) -> u32 {
        self.session.handle()
    }

    /// The options in use.
    pub fn options(&self) -> &Options {
        self.session.options()
    }

    /// Routes later requests along `route` (see [`Session::set_route`]): one connection
    /// reaching devices on several paths, or a simple device's requests (no send path).
    pub fn set_route(&mut self, route: Route) -> Result<(), ClientError> {
        self.session.set_route(route)
    }

    /// The largest request or reply a device takes in one message: the connection size when
    /// connected, else the unconnected limit (504 bytes, as a Logix controller).
    pub fn max_message(&self) -> usize {
        let size = match self.session.primary() {
            Some(c) => c.size,
            None => UNCONNECTED_MESSAGE,
        };
        usize::try_from(size).unwrap_or(usize::MAX)
    }

    /// Whether requests go over a class 3 connection.
    pub fn is_connected(&self) -> bool {
        self.session.primary().is_some()
    }

    // -----------------------------------------------------------------------------------------
    // Driving the session.

    /// Queues one Message Router request (wrapped as the route says, sent connected when a
    /// connection is open); returns the key its reply will carry. Call [`Connector::flush`].
    pub(crate) fn queue(&mut self, mr: &[u8]) -> Result<u64, ClientError> {
        self.session.queue(mr)
    }

    /// Sends everything queued.
    pub(crate) async fn flush(&mut self) -> Result<(), ClientError> {
        let data = self.session.transmit();
        if data.is_empty() {
            return Ok(());
        }
        let timeout = self.session.options().timeout;
        let result = match &mut self.transport {
            Transport::Stream(s) => write_within(s.as_mut(), data, timeout, &mut self.timer).await,
            Transport::Tcp(s) => write_within(s, data, timeout, &mut self.timer).await,
            Transport::Blocking(s) => {
                std::io::Write::write_all(s, data).map_err(|e| match e.kind() {
                    ErrorKind::WouldBlock | ErrorKind::TimedOut => ClientError::Timeout(timeout),
                    _ => e.into(),
                })
            }
            Transport::Udp { socket } => socket
                .send_to(data, self.peer)
                .await
                .map(|_| ())
                .map_err(ClientError::from),
        };
        self.session.transmitted(Instant::now());
        result
    }

    /// Reads once from the stream into the session, within its deadline.
    async fn fill(&mut self) -> Result<(), ClientError> {
        let deadline = deadline_of(&self.session);
        let got = match &mut self.transport {
            Transport::Stream(s) => {
                read_by(
                    s.as_mut(),
                    self.session.recv_buffer(),
                    deadline,
                    &mut self.timer,
                )
                .await
            }
            Transport::Tcp(s) => {
                read_by(s, self.session.recv_buffer(), deadline, &mut self.timer).await
            }
            Transport::Blocking(_) => self.read_blocking()?,
            Transport::Udp { .. } => {
                return Err(ClientError::Protocol("tag I/O needs a TCP session".into()))
            }
        };
        match got {
            Ok(0) => Err(ClientError::Closed),
            Ok(n) => {
                self.session.received(n, Instant::now());
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                self.session.handle_timeout(Instant::now());
                Err(ClientError::Timeout(self.session.options().timeout))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One blocking read into the session: waits at most the socket's read timeout (the
    /// options' timeout), or with an interrupt check, calls it every time the shorter
    /// socket timeout (or a signal) wakes the read, until the deadline.
    fn read_blocking(&mut self) -> Result<std::io::Result<usize>, ClientError> {
        let mut deadline = None;
        loop {
            let Connector {
                transport: Transport::Blocking(stream),
                session,
                interrupt,
                ..
            } = self
            else {
                return Ok(Err(ErrorKind::NotConnected.into()));
            };
            let got = std::io::Read::read(stream, session.recv_buffer());
            let Some((_, check)) = interrupt else {
                return Ok(got);
            };
            match &got {
                Err(e) if matches!(e.kind(), ErrorKind::Interrupted) => check()?,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    let until = *deadline.get_or_insert_with(|| deadline_of(session));
                    if Instant::now() >= until {
                        return Ok(got);
                    }
                    check()?;
                }
                _ => return Ok(got),
            }
        }
    }

    /// Receives the next event, reading as needed.
    async fn next_event(&mut self) -> Result<Event<'_>, ClientError> {
        while !self.session.is_ready() {
            self.fill().await?;
        }
        self.session
            .poll_event()
            .unwrap_or(Err(ClientError::Closed))
    }

    /// Receives the next reply: its key (context, or connected sequence count) and the Message
    /// Router reply bytes (valid until the next receive).
    pub(crate) async fn recv_reply(&mut self) -> Result<(u64, &[u8]), ClientError> {
        match self.next_event().await? {
            Event::Reply { key, message } => Ok((key, message)),
            other => Err(ClientError::Protocol(format!("unexpected reply {other:?}"))),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Session.

    async fn register(&mut self) -> Result<(), ClientError> {
        self.session.register()?;
        self.flush().await?;
        match self.next_event().await? {
            Event::Registered(_) => Ok(()),
            other => Err(ClientError::Protocol(format!(
                "unexpected reply to RegisterSession: {other:?}"
            ))),
        }
    }

    /// Sends one request and waits for its reply; returns the status and reply data.
    pub async fn request(&mut self, mr: &[u8]) -> Result<(ReplyStatus, Vec<u8>), ClientError> {
        let key = self.queue(mr)?;
        self.flush().await?;
        loop {
            let (got, message) = self.recv_reply().await?;
            if got != key {
                continue;
            }
            let reply = MrReply::parse(message)?;
            let status = ReplyStatus::of(&reply);
            return Ok((status, reply.data.to_vec()));
        }
    }

    /// Opens a class 3 connection to the Message Router (a Large Forward Open when the
    /// connection size is over 511 bytes).
    pub async fn forward_open(&mut self) -> Result<(), ClientError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let seed = std::process::id().rotate_left(16) ^ nanos;
        let triad = Triad {
            connection_serial: (seed & 0xFFFF) as u16,
            vendor_id: 0x1337,
            originator_serial: seed.rotate_left(7) | 1,
        };
        let key = self.session.open_primary(triad, seed.rotate_left(13))?;
        self.flush().await?;
        loop {
            match self.next_event().await? {
                Event::Opened { key: got, result } if got == key => {
                    return result.map(|_| ()).map_err(ClientError::ForwardOpen)
                }
                _ => continue,
            }
        }
    }

    /// Closes the class 3 connection, if one is open (Forward Close).
    pub async fn forward_close(&mut self) -> Result<(), ClientError> {
        let Some(key) = self.session.close_primary()? else {
            return Ok(());
        };
        self.flush().await?;
        loop {
            match self.next_event().await? {
                Event::Closed { key: got, status } if got == key => {
                    return if status.is_ok() {
                        Ok(())
                    } else {
                        Err(ClientError::Status {
                            what: "Forward Close".into(),
                            status,
                        })
                    }
                }
                _ => continue,
            }
        }
    }

    /// Closes any connection, unregisters the session and shuts the socket.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let closed = self.forward_close().await;
        if let Transport::Stream(_) | Transport::Tcp(_) | Transport::Blocking(_) = self.transport {
            self.session.unregister()?;
            self.flush().await?;
            match &mut self.transport {
                Transport::Stream(s) => {
                    let _ = s.shutdown().await;
                }
                Transport::Tcp(s) => {
                    let _ = s.shutdown().await;
                }
                Transport::Blocking(s) => {
                    let _ = s.shutdown(std::net::Shutdown::Write);
                }
                Transport::Udp { .. } => {}
            }
        }
        closed
    }

    // -----------------------------------------------------------------------------------------
    // Operations.

    /// Pipelines `ops` with up to `depth` requests in flight (at least 1), batching into
    /// Multiple Service Packets of at most `multiple` bytes when non-zero.
    /// The operations may be any iterator (a long repeated sequence is planned lazily).
    pub fn pipeline<'c, I>(&'c mut self, ops: I, depth: usize, multiple: usize) -> Pipeline<'c>
    where
        I: IntoIterator<Item = Operation>,
        I::IntoIter: Send + 'c,
    {
        Pipeline::owning(self, ops, depth, multiple)
    }

    /// Runs `ops` one at a time; returns every transaction.
    pub async fn synchronous(
        &mut self,
        ops: Vec<Operation>,
    ) -> Result<Vec<Transaction>, ClientError> {
        self.pipeline(ops, 1, 0).collect().await
    }

    /// Runs `ops` pipelined; returns the number that failed and every transaction.
    pub async fn process(
        &mut self,
        ops: Vec<Operation>,
        depth: usize,
        multiple: usize,
    ) -> Result<(usize, Vec<Transaction>), ClientError> {
        let results = self.pipeline(ops, depth, multiple).collect().await?;
        let failures = results.iter().filter(|t| t.value.is_none()).count();
        Ok((failures, results))
    }

    /// Reads one tag or attribute (cpppo syntax: `SCADA[1-3]`, `@1/1/7`); its values.
    pub async fn read(&mut self, tag: &str) -> Result<Vec<Literal>, ClientError> {
        self.one(tag).await
    }

    /// Writes one tag or attribute (`SCADA[1-3]=(DINT)1,2,3`).
    pub async fn write(&mut self, operation: &str) -> Result<(), ClientError> {
        self.one(operation).await.map(|_| ())
    }

    async fn one(&mut self, text: &str) -> Result<Vec<Literal>, ClientError> {
        let mut single = self.prepare(&Operation::parse(text)?)?;
        self.perform(&mut single).await
    }

    async fn attribute(
        &mut self,
        service: u8,
        path: &[PathStep],
        data: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let encoded = encode_path(path).map_err(ClientError::Protocol)?;
        let mr = mr_request(service, &encoded, data).map_err(ClientError::Protocol)?;
        let (status, reply) = self.request(&mr).await?;
        if status.is_ok() {
            Ok(reply)
        } else {
            Err(ClientError::Status {
                what: format!(
                    "service 0x{service:02X} to {}",
                    super::plan::format_tag(path)
                ),
                status,
            })
        }
    }

    /// Get Attribute Single: the attribute's raw bytes.
    pub async fn get_attribute_single(
        &mut self,
        class: u32,
        instance: u32,
        attribute: u32,
    ) -> Result<Vec<u8>, ClientError> {
        let path = [
            PathStep::Class(class),
            PathStep::Instance(instance),
            PathStep::Attribute(attribute),
        ];
        self.attribute(0x0E, &path, &[]).await
    }

    /// Set Attribute Single with raw bytes.
    pub async fn set_attribute_single(
        &mut self,
        class: u32,
        instance: u32,
        attribute: u32,
        data: &[u8],
    ) -> Result<(), ClientError> {
        let path = [
            PathStep::Class(class),
            PathStep::Instance(instance),
            PathStep::Attribute(attribute),
        ];
        self.attribute(0x10, &path, data).await.map(|_| ())
    }

    /// Get Attributes All: the instance's raw bytes.
    pub async fn get_attributes_all(
        &mut self,
        class: u32,
        instance: u32,
    ) -> Result<Vec<u8>, ClientError> {
        let path = [PathStep::Class(class), PathStep::Instance(instance)];
        self.attribute(0x01, &path, &[]).await
    }

    /// Reads the attribute at `path` (`@0x93/3/10`) and decodes it as `types`.
    pub async fn get_typed(
        &mut self,
        path: &[PathStep],
        types: &[cpppo_cip::DataType],
    ) -> Result<Vec<Literal>, ClientError> {
        let has_attr = path.iter().any(|s| matches!(s, PathStep::Attribute(_)));
        let data = self
            .attribute(if has_attr { 0x0E } else { 0x01 }, path, &[])
            .await?;
        decode_typed(types, &data).map_err(ClientError::Protocol)
    }

    /// Writes `values` as `ty` to the attribute at `path` (Set Attribute Single).
    pub async fn set_typed(
        &mut self,
        path: &[PathStep],
        ty: cpppo_cip::DataType,
        values: &[Literal],
    ) -> Result<(), ClientError> {
        let data = encode_values(ty, values).map_err(ClientError::Protocol)?;
        self.attribute(0x10, path, &data).await.map(|_| ())
    }

    // -----------------------------------------------------------------------------------------
    // List commands.

    /// List Identity: every reply within the timeout (UDP broadcast), or the one reply.
    pub async fn list_identity(
        &mut self,
    ) -> Result<Vec<(SocketAddr, Vec<ListReply>)>, ClientError> {
        self.list(0x63).await
    }

    /// List Services.
    pub async fn list_services(
        &mut self,
    ) -> Result<Vec<(SocketAddr, Vec<ListReply>)>, ClientError> {
        self.list(0x04).await
    }

    /// List Interfaces.
    pub async fn list_interfaces(
        &mut self,
    ) -> Result<Vec<(SocketAddr, Vec<ListReply>)>, ClientError> {
        self.list(0x64).await
    }

    /// Any List-style command (also the legacy `0x0001`): sends it with no data and gathers
    /// the replies' CPF items.
    pub async fn list(
        &mut self,
        command: u16,
    ) -> Result<Vec<(SocketAddr, Vec<ListReply>)>, ClientError> {
        self.session.list(command)?;
        self.flush().await?;
        let timeout = self.session.options().timeout;
        let mut out = Vec::new();
        match &mut self.transport {
            Transport::Stream(_) | Transport::Tcp(_) | Transport::Blocking(_) => {
                match self.next_event().await? {
                    Event::List { items, .. } => out.push((self.peer, items)),
                    other => {
                        return Err(ClientError::Protocol(format!(
                            "unexpected reply to a List command: {other:?}"
                        )))
                    }
                }
            }
            Transport::Udp { socket } => {
                let deadline = tokio::time::Instant::now() + timeout;
                let mut buf = vec![0u8; 65536];
                let broadcast = socket.broadcast().unwrap_or(false);
                loop {
                    let got = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
                    let Ok(got) = got else { break };
                    let (n, from) = got?;
                    if let Ok(items) = list_items(buf.get(..n).unwrap_or_default()) {
                        out.push((from, items));
                        if !broadcast {
                            break;
                        }
                    }
                }
                if out.is_empty() {
                    return Err(ClientError::Timeout(timeout));
                }
            }
        }
        Ok(out)
    }
}

impl Drop for Connector {
    /// Without an async context, a best effort: queue a Forward Close (if a connection is
    /// open) and an UnRegister Session, and write them if the stream takes them now.
    fn drop(&mut self) {
        if matches!(self.transport, Transport::Udp { .. }) || self.session.handle() == 0 {
            return;
        }
        self.session.discard();
        let _ = self.session.close_primary();
        if self.session.unregister().is_ok() {
            let data = self.session.transmit();
            match &mut self.transport {
                Transport::Stream(stream) => try_write(stream, data),
                Transport::Tcp(stream) => try_write(stream, data),
                Transport::Blocking(stream) => {
                    // A few bytes into an idle socket's buffer: does not block in practice
                    // (at most the write timeout).
                    let _ = std::io::Write::write(stream, data);
                }
                Transport::Udp { .. } => {}
            }
        }
    }
}

/// When the requests in flight on `session` time out.
fn deadline_of(session: &Session) -> Instant {
    session
        .poll_timeout()
        .unwrap_or_else(|| Instant::now() + session.options().timeout)
}

/// Writes all of `data` to `stream` within `timeout`.
async fn write_within<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    data: &[u8],
    timeout: Duration,
    timer: &mut Deadline,
) -> Result<(), ClientError> {
    timer
        .within(stream.write_all(data), || Instant::now() + timeout)
        .await
        .ok_or(ClientError::Timeout(timeout))?
        .map_err(ClientError::from)
}

/// Reads once from `stream` into `buf`, by `deadline`.
async fn read_by<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    buf: &mut [u8],
    deadline: Instant,
    timer: &mut Deadline,
) -> std::io::Result<usize> {
    timer
        .within(stream.read(buf), || deadline)
        .await
        .unwrap_or_else(|| Err(ErrorKind::TimedOut.into()))
}

/// `stream` in blocking mode, its reads waiting at most `read` and its writes `write`.
fn blocking_socket(
    stream: std::net::TcpStream,
    read: Duration,
    write: Duration,
) -> Result<std::net::TcpStream, ClientError> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(read.max(Duration::from_millis(1))))?;
    stream.set_write_timeout(Some(write.max(Duration::from_millis(1))))?;
    Ok(stream)
}

/// Writes what `stream` takes now, without waiting.
fn try_write<S: AsyncWrite + Unpin + ?Sized>(stream: &mut S, data: &[u8]) {
    let mut cx = Context::from_waker(Waker::noop());
    let _ = Pin::new(stream).poll_write(&mut cx, data);
}
