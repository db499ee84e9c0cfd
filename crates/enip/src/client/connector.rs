//! One EtherNet/IP session (TCP) or socket (UDP): framing, List commands, Forward Open/Close
//! and direct requests.

use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::Range;
use std::time::Duration;

use cpppo_cip::cpf::Item;
use cpppo_cip::encap::{Body, Repr};
use cpppo_cip::frame::frame_len;
use cpppo_cip::mr::MrReply;
use cpppo_cip::services::cm::{ForwardOpen, ForwardOpenReply, Triad};
use cpppo_cip::EPath;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::error::{ClientError, Status};
use super::pipeline::{Pipeline, Transaction};
use super::plan::{decode_typed, encode_values};
use super::route::{encode_path, mr_request, Route};
use crate::operation::{Operation, Segment, Value};

/// The EtherNet/IP port.
pub const DEFAULT_PORT: u16 = 44818;
/// The largest unconnected message (request or reply) a Logix controller takes.
pub const UNCONNECTED_MESSAGE: u32 = 504;
/// The largest connection size asked for (a Logix controller's Large Forward Open limit).
pub const MAX_CONNECTION: u32 = 4002;
/// Connection size (bytes) above which a Large Forward Open is needed.
pub const LARGE_CONNECTION: u32 = 511;

const SEND_RR_DATA: u16 = 0x6F;
const SEND_UNIT_DATA: u16 = 0x70;
const REGISTER_SESSION: u16 = 0x65;
const UNREGISTER_SESSION: u16 = 0x66;
/// The Message Router, `@2/1`.
const MESSAGE_ROUTER: [u8; 4] = [0x20, 0x02, 0x24, 0x01];
/// The Connection Manager, `@6/1`.
const CONNECTION_MANAGER: [u8; 4] = [0x20, 0x06, 0x24, 0x01];

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
    Tcp(TcpStream),
    Udp { socket: UdpSocket },
}

#[derive(Clone, Debug)]
struct Connection {
    o_t_id: u32,
    size: u32,
    sequence: u16,
    triad: Triad,
    path: Vec<u8>,
}

/// An EtherNet/IP session with one device.
pub struct Connector {
    transport: Transport,
    peer: SocketAddr,
    session: u32,
    context: u64,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    wbuf: Vec<u8>,
    options: Options,
    connection: Option<Connection>,
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
        let peer = resolve(address)?;
        let stream =
            tokio::time::timeout(options.timeout, tcp_connect(peer, options.source_address))
                .await
                .map_err(|_| ClientError::Timeout(options.timeout))??;
        stream.set_nodelay(true)?;
        let mut conn = Connector::new(Transport::Tcp(stream), peer, options);
        conn.register().await?;
        if conn.options.connected {
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
        Ok(Connector::new(Transport::Udp { socket }, peer, options))
    }

    fn new(transport: Transport, peer: SocketAddr, options: Options) -> Connector {
        Connector {
            transport,
            peer,
            session: 0,
            context: 0,
            rbuf: vec![0; 65536 + 4096],
            rstart: 0,
            rend: 0,
            wbuf: Vec::with_capacity(4096),
            options,
            connection: None,
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The registered session handle (0 before registration, and for UDP).
    pub fn session(&self) -> u32 {
        self.session
    }

    /// The options in use.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The largest request or reply a device takes in one message: the connection size when
    /// connected, else the unconnected limit (504 bytes, as a Logix controller).
    pub fn max_message(&self) -> usize {
        let size = match &self.connection {
            Some(c) => c.size,
            None => UNCONNECTED_MESSAGE,
        };
        usize::try_from(size).unwrap_or(usize::MAX)
    }

    /// Whether requests go over a class 3 connection.
    pub fn is_connected(&self) -> bool {
        self.connection.is_some()
    }

    // -----------------------------------------------------------------------------------------
    // Framing.

    fn header(&mut self, command: u16, len: usize, context: u64) -> Result<(), ClientError> {
        let len = u16::try_from(len)
            .map_err(|_| ClientError::Protocol(format!("request of {len} bytes is too large")))?;
        self.wbuf.extend_from_slice(&command.to_le_bytes());
        self.wbuf.extend_from_slice(&len.to_le_bytes());
        self.wbuf.extend_from_slice(&self.session.to_le_bytes());
        self.wbuf.extend_from_slice(&0u32.to_le_bytes());
        self.wbuf.extend_from_slice(&context.to_le_bytes());
        self.wbuf.extend_from_slice(&0u32.to_le_bytes());
        Ok(())
    }

    /// Queues one Message Router request (wrapped as the route says, sent connected when a
    /// connection is open); returns the key its reply will carry. Call [`Connector::flush`].
    pub(crate) fn queue(&mut self, mr: &[u8]) -> Result<u64, ClientError> {
        if let Some(c) = self.connection.as_mut() {
            c.sequence = c.sequence.wrapping_add(1);
            let (id, seq) = (c.o_t_id, c.sequence);
            self.header(SEND_UNIT_DATA, 6 + 2 + 8 + 6 + mr.len(), u64::from(seq))?;
            self.wbuf
                .extend_from_slice(&[0, 0, 0, 0, 0, 0, 2, 0, 0xA1, 0, 4, 0]);
            self.wbuf.extend_from_slice(&id.to_le_bytes());
            self.wbuf.extend_from_slice(&[0xB1, 0]);
            let len = u16::try_from(mr.len() + 2).unwrap_or(u16::MAX);
            self.wbuf.extend_from_slice(&len.to_le_bytes());
            self.wbuf.extend_from_slice(&seq.to_le_bytes());
            self.wbuf.extend_from_slice(mr);
            return Ok(u64::from(seq));
        }
        let wrapped;
        let message = if self.options.route.is_routed() {
            wrapped = self
                .options
                .route
                .wrap(mr.to_vec())
                .map_err(|why| ClientError::Request {
                    what: "Unconnected Send".into(),
                    why,
                })?;
            &wrapped[..]
        } else {
            mr
        };
        self.queue_unconnected(message)
    }

    /// Queues `message` in a SendRRData exactly as given (no route wrapping).
    fn queue_unconnected(&mut self, message: &[u8]) -> Result<u64, ClientError> {
        self.context = self.context.wrapping_add(1);
        let key = self.context;
        self.header(SEND_RR_DATA, 6 + 2 + 4 + 4 + message.len(), key)?;
        self.wbuf
            .extend_from_slice(&[0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0xB2, 0]);
        let len = u16::try_from(message.len()).unwrap_or(u16::MAX);
        self.wbuf.extend_from_slice(&len.to_le_bytes());
        self.wbuf.extend_from_slice(message);
        Ok(key)
    }

    /// Sends everything queued.
    pub(crate) async fn flush(&mut self) -> Result<(), ClientError> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let timeout = self.options.timeout;
        let result = match &mut self.transport {
            Transport::Tcp(s) => tokio::time::timeout(timeout, s.write_all(&self.wbuf))
                .await
                .map_err(|_| ClientError::Timeout(timeout))
                .and_then(|r| r.map_err(ClientError::from)),
            Transport::Udp { socket } => socket
                .send_to(&self.wbuf, self.peer)
                .await
                .map(|_| ())
                .map_err(ClientError::from),
        };
        self.wbuf.clear();
        result
    }

    async fn fill(&mut self) -> Result<(), ClientError> {
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        } else if self.rbuf.len() - self.rend < 4096 {
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        let timeout = self.options.timeout;
        let Transport::Tcp(stream) = &mut self.transport else {
            return Err(ClientError::Protocol("tag I/O needs a TCP session".into()));
        };
        let spare = self.rbuf.get_mut(self.rend..).unwrap_or_default();
        let n = tokio::time::timeout(timeout, stream.read(spare))
            .await
            .map_err(|_| ClientError::Timeout(timeout))??;
        if n == 0 {
            return Err(ClientError::Closed);
        }
        self.rend += n;
        Ok(())
    }

    /// The next whole frame (TCP); its bytes are `self.rbuf[range]` until the next call.
    async fn recv_frame(&mut self) -> Result<Range<usize>, ClientError> {
        loop {
            let avail = self.rbuf.get(self.rstart..self.rend).unwrap_or_default();
            match frame_len(avail, 65535) {
                Ok(Some(total)) if avail.len() >= total => {
                    let range = self.rstart..self.rstart + total;
                    self.rstart += total;
                    return Ok(range);
                }
                Ok(_) => self.fill().await?,
                Err(e) => return Err(ClientError::Protocol(format!("bad frame: {}", e.error))),
            }
        }
    }

    /// Receives the next reply: its key (context, or connected sequence count) and the Message
    /// Router reply bytes (valid until the next receive).
    pub(crate) async fn recv_reply(&mut self) -> Result<(u64, Range<usize>), ClientError> {
        let range = self.recv_frame().await?;
        let frame = self.rbuf.get(range.clone()).unwrap_or_default();
        let repr = Repr::parse_bytes(frame)?;
        if repr.header.status != 0 {
            return Err(ClientError::Encapsulation(repr.header.status));
        }
        let Body::SendData(send) = repr.body else {
            return Err(ClientError::Protocol(format!(
                "unexpected reply command 0x{:04X}",
                repr.header.command.code()
            )));
        };
        let (key, msg) = match send.cpf.connected_data() {
            Some((seq, data)) => (u64::from(seq), data),
            None => match send.cpf.unconnected_data() {
                Some(data) => (u64::from_le_bytes(repr.header.context), data),
                None => return Err(ClientError::Protocol("reply without a data item".into())),
            },
        };
        let start = range.start + (msg.as_ptr() as usize - frame.as_ptr() as usize);
        Ok((key, start..start + msg.len()))
    }

    /// The bytes of a range returned by a receive.
    pub(crate) fn bytes(&self, range: Range<usize>) -> &[u8] {
        self.rbuf.get(range).unwrap_or_default()
    }

    // -----------------------------------------------------------------------------------------
    // Session.

    async fn register(&mut self) -> Result<(), ClientError> {
        self.header(REGISTER_SESSION, 4, 0)?;
        self.wbuf.extend_from_slice(&[1, 0, 0, 0]);
        self.flush().await?;
        let range = self.recv_frame().await?;
        let repr = Repr::parse_bytes(self.bytes(range))?;
        if repr.header.status != 0 {
            return Err(ClientError::Encapsulation(repr.header.status));
        }
        self.session = repr.header.session;
        Ok(())
    }

    /// Sends one request and waits for its reply; returns the status and reply data.
    pub async fn request(&mut self, mr: &[u8]) -> Result<(Status, Vec<u8>), ClientError> {
        let key = self.queue(mr)?;
        self.flush().await?;
        loop {
            let (got, range) = self.recv_reply().await?;
            if got != key {
                continue;
            }
            let reply = MrReply::parse(self.bytes(range))?;
            let status = Status::of(&reply);
            return Ok((status, reply.data.to_vec()));
        }
    }

    /// Sends a request to the Connection Manager directly (not routed, not connected).
    async fn cm_request(
        &mut self,
        service: u8,
        data: &[u8],
    ) -> Result<(Status, Vec<u8>), ClientError> {
        let mr = mr_request(service, &CONNECTION_MANAGER, data).map_err(ClientError::Protocol)?;
        let key = self.queue_unconnected(&mr)?;
        self.flush().await?;
        loop {
            let (got, range) = self.recv_reply().await?;
            if got == key {
                let reply = MrReply::parse(self.bytes(range))?;
                let status = Status::of(&reply);
                return Ok((status, reply.data.to_vec()));
            }
        }
    }

    /// Opens a class 3 connection to the Message Router (a Large Forward Open when the
    /// connection size is over 511 bytes).
    pub async fn forward_open(&mut self) -> Result<(), ClientError> {
        let mut path = match (
            &self.options.route.send_path,
            &self.options.route.route_path,
        ) {
            (Some(_), Some(route)) => encode_path(route).map_err(ClientError::Protocol)?,
            _ => Vec::new(),
        };
        path.extend_from_slice(&MESSAGE_ROUTER);
        let size = self.options.connection_size.clamp(16, MAX_CONNECTION);
        let large = size > LARGE_CONNECTION;
        let params = if large {
            0x4200_0000 | size
        } else {
            0x4200 | size
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let seed = std::process::id().rotate_left(16) ^ nanos;
        let triad = Triad {
            connection_serial: (seed & 0xFFFF) as u16,
            vendor_id: 0x1337,
            originator_serial: seed.rotate_left(7) | 1,
        };
        let fo = ForwardOpen {
            large,
            priority_tick: self.options.route.priority_time_tick,
            timeout_ticks: self.options.route.timeout_ticks,
            o_t_connection_id: 0,
            t_o_connection_id: seed.rotate_left(13),
            triad,
            timeout_multiplier: 3,
            o_t_rpi: 5_000_000,
            o_t_params: params,
            t_o_rpi: 5_000_000,
            t_o_params: params,
            transport: 0xA3,
            connection_path: EPath::parse(&path, cpppo_cip::Padding::Padded)?,
        };
        let mut data = vec![0u8; fo.buffer_len()];
        let n = fo.emit(&mut data)?;
        data.truncate(n);
        let (status, reply) = self
            .cm_request(if large { 0x5B } else { 0x54 }, &data)
            .await?;
        if !status.is_ok() {
            return Err(ClientError::ForwardOpen(status));
        }
        let reply = ForwardOpenReply::parse(&reply)?;
        self.connection = Some(Connection {
            o_t_id: reply.o_t_connection_id,
            size,
            sequence: 0,
            triad,
            path,
        });
        Ok(())
    }

    /// Closes the class 3 connection, if one is open (Forward Close).
    pub async fn forward_close(&mut self) -> Result<(), ClientError> {
        let Some(c) = self.connection.take() else {
            return Ok(());
        };
        let data = self.forward_close_data(&c)?;
        let (status, _) = self.cm_request(0x4E, &data).await?;
        if status.is_ok() {
            Ok(())
        } else {
            Err(ClientError::Status {
                what: "Forward Close".into(),
                status,
            })
        }
    }

    fn forward_close_data(&self, c: &Connection) -> Result<Vec<u8>, ClientError> {
        let mut data = vec![
            self.options.route.priority_time_tick,
            self.options.route.timeout_ticks,
        ];
        data.extend_from_slice(&c.triad.connection_serial.to_le_bytes());
        data.extend_from_slice(&c.triad.vendor_id.to_le_bytes());
        data.extend_from_slice(&c.triad.originator_serial.to_le_bytes());
        data.push(super::route::words(&c.path).map_err(ClientError::Protocol)?);
        data.push(0);
        data.extend_from_slice(&c.path);
        Ok(data)
    }

    /// Closes any connection, unregisters the session and shuts the socket.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let closed = self.forward_close().await;
        if let Transport::Tcp(_) = self.transport {
            self.header(UNREGISTER_SESSION, 0, 0)?;
            self.flush().await?;
            if let Transport::Tcp(s) = &mut self.transport {
                let _ = s.shutdown().await;
            }
            self.session = 0;
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
        Pipeline::new(self, ops, depth, multiple)
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
    pub async fn read(&mut self, tag: &str) -> Result<Vec<Value>, ClientError> {
        self.one(tag).await
    }

    /// Writes one tag or attribute (`SCADA[1-3]=(DINT)1,2,3`).
    pub async fn write(&mut self, operation: &str) -> Result<(), ClientError> {
        self.one(operation).await.map(|_| ())
    }

    async fn one(&mut self, text: &str) -> Result<Vec<Value>, ClientError> {
        let op = Operation::parse(text)?;
        let mut t = self.synchronous(vec![op]).await?;
        let t = t.pop().ok_or(ClientError::Closed)?;
        t.value.ok_or(ClientError::Status {
            what: t.description,
            status: t.status,
        })
    }

    async fn attribute(
        &mut self,
        service: u8,
        path: &[Segment],
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
            Segment::Class(class),
            Segment::Instance(instance),
            Segment::Attribute(attribute),
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
            Segment::Class(class),
            Segment::Instance(instance),
            Segment::Attribute(attribute),
        ];
        self.attribute(0x10, &path, data).await.map(|_| ())
    }

    /// Get Attributes All: the instance's raw bytes.
    pub async fn get_attributes_all(
        &mut self,
        class: u32,
        instance: u32,
    ) -> Result<Vec<u8>, ClientError> {
        let path = [Segment::Class(class), Segment::Instance(instance)];
        self.attribute(0x01, &path, &[]).await
    }

    /// Reads the attribute at `path` (`@0x93/3/10`) and decodes it as `types`.
    pub async fn get_typed(
        &mut self,
        path: &[Segment],
        types: &[cpppo_cip::DataType],
    ) -> Result<Vec<Value>, ClientError> {
        let has_attr = path.iter().any(|s| matches!(s, Segment::Attribute(_)));
        let data = self
            .attribute(if has_attr { 0x0E } else { 0x01 }, path, &[])
            .await?;
        decode_typed(types, &data).map_err(ClientError::Protocol)
    }

    /// Writes `values` as `ty` to the attribute at `path` (Set Attribute Single).
    pub async fn set_typed(
        &mut self,
        path: &[Segment],
        ty: cpppo_cip::DataType,
        values: &[Value],
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
        self.context = self.context.wrapping_add(1);
        let ctx = self.context;
        self.header(command, 0, ctx)?;
        self.flush().await?;
        let timeout = self.options.timeout;
        let mut out = Vec::new();
        match &mut self.transport {
            Transport::Tcp(_) => {
                let range = self.recv_frame().await?;
                out.push((self.peer, list_items(self.bytes(range))?));
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
    /// open) and an UnRegister Session, and write them if the socket takes them now.
    fn drop(&mut self) {
        if self.session == 0 || !matches!(self.transport, Transport::Tcp(_)) {
            return;
        }
        self.wbuf.clear();
        if let Some(c) = self.connection.take() {
            let fc = self.forward_close_data(&c).and_then(|d| {
                mr_request(0x4E, &CONNECTION_MANAGER, &d).map_err(ClientError::Protocol)
            });
            if let Ok(mr) = fc {
                let _ = self.queue_unconnected(&mr);
            }
        }
        if self.header(UNREGISTER_SESSION, 0, 0).is_ok() {
            if let Transport::Tcp(stream) = &self.transport {
                let _ = stream.try_write(&self.wbuf);
            }
        }
    }
}

fn list_items(frame: &[u8]) -> Result<Vec<ListReply>, ClientError> {
    let repr = Repr::parse_bytes(frame)?;
    if repr.header.status != 0 {
        return Err(ClientError::Encapsulation(repr.header.status));
    }
    let Body::Items(cpf) = repr.body else {
        return Ok(Vec::new());
    };
    Ok(cpf.items().iter().map(list_reply).collect())
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
