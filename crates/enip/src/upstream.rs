//! The router's side of routing: one EtherNet/IP session per target device for each client
//! session, carrying [`Hop`]s unconnected (SendRRData) or, for a client's routed connection,
//! over a connection the router opens on the target (Forward Open, then SendUnitData), so the
//! target answers within the client's negotiated connection size.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use cpppo_cip::encap::{Body, Repr, HEADER_LEN};
use cpppo_cip::services::cm::{ForwardOpen, Triad};
use cpppo_cip::{EPath, Padding};
use cpppo_net::{Connector, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::route::Hop;

/// Sessions with target devices, by `HOST:PORT`.
pub type Upstreams<S> = HashMap<String, Upstream<S>>;

/// A session with one target device.
pub struct Upstream<S> {
    stream: S,
    session: u32,
    /// Connections opened on it, by (route path, size): (O->T id, last sequence count).
    connections: HashMap<(Vec<u8>, u16), (u32, u16)>,
}

/// Largest connection size asked of a target with a plain Forward Open.
const SMALL_MAX: u16 = 511;
/// Requested packet interval of the router's connections (10 s; x512 before they time out).
const RPI_US: u32 = 10_000_000;
const TIMEOUT_MULTIPLIER: u8 = 7;
/// The router's vendor id in its Forward Opens.
const VENDOR: u16 = 0x1337;

static SERIAL: AtomicU32 = AtomicU32::new(1);

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

async fn read_frame<S: Stream>(s: &mut S) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; HEADER_LEN];
    s.read_exact(&mut buf).await?;
    let len = usize::from(u16::from_le_bytes([buf[2], buf[3]]));
    buf.resize(HEADER_LEN + len, 0);
    s.read_exact(buf.get_mut(HEADER_LEN..).unwrap_or_default())
        .await?;
    Ok(buf)
}

fn frame(command: u16, session: u32, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(HEADER_LEN + body.len());
    f.extend_from_slice(&command.to_le_bytes());
    f.extend_from_slice(&(body.len() as u16).to_le_bytes());
    f.extend_from_slice(&session.to_le_bytes());
    f.extend_from_slice(&[0; 16]);
    f.extend_from_slice(body);
    f
}

impl<S: Stream> Upstream<S> {
    async fn connect<C: Connector<Stream = S>>(connector: &C, target: &str) -> io::Result<Self> {
        let mut stream = connector.connect(target).await?;
        stream.write_all(&frame(0x65, 0, &[1, 0, 0, 0])).await?;
        let reply = read_frame(&mut stream).await?;
        let repr = Repr::parse_bytes(&reply).map_err(|_| bad("bad RegisterSession reply"))?;
        if repr.header.status != 0 {
            return Err(bad("RegisterSession refused"));
        }
        Ok(Upstream {
            stream,
            session: repr.header.session,
            connections: HashMap::new(),
        })
    }

    /// One unconnected request (SendRRData); the CIP reply.
    async fn unconnected(&mut self, mr: &[u8]) -> io::Result<Vec<u8>> {
        let mut body = vec![0, 0, 0, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0xB2, 0];
        body.extend_from_slice(&(mr.len() as u16).to_le_bytes());
        body.extend_from_slice(mr);
        self.stream
            .write_all(&frame(0x6F, self.session, &body))
            .await?;
        let reply = read_frame(&mut self.stream).await?;
        let repr = Repr::parse_bytes(&reply).map_err(|_| bad("bad SendRRData reply"))?;
        match repr.body {
            Body::SendData(data) if repr.header.status == 0 => data
                .cpf
                .unconnected_data()
                .map(<[u8]>::to_vec)
                .ok_or_else(|| bad("no unconnected data item")),
            _ => Err(bad("SendRRData refused")),
        }
    }

    /// Open a connection of `size` bytes each way along `route` to the target's Message Router.
    async fn open(&mut self, route: &[u8], size: u16) -> io::Result<u32> {
        let large = size > SMALL_MAX;
        let kind = if large { 0x4200_0000 } else { 0x4200 };
        let mut path = route.to_vec();
        path.extend_from_slice(&[0x20, 0x02, 0x24, 0x01]);
        let fo = ForwardOpen {
            large,
            priority_tick: 0x0A,
            timeout_ticks: 5,
            o_t_connection_id: 0,
            t_o_connection_id: SERIAL.fetch_add(1, Ordering::Relaxed) | 0x8000_0000,
            triad: Triad {
                connection_serial: SERIAL.fetch_add(1, Ordering::Relaxed) as u16,
                vendor_id: VENDOR,
                originator_serial: std::process::id(),
            },
            timeout_multiplier: TIMEOUT_MULTIPLIER,
            o_t_rpi: RPI_US,
            o_t_params: kind | u32::from(size),
            t_o_rpi: RPI_US,
            t_o_params: kind | u32::from(size),
            transport: 0xA3,
            connection_path: EPath::parse(&path, Padding::Padded).map_err(|_| bad("bad route"))?,
        };
        let mut mr = vec![
            if large { 0x5B } else { 0x54 },
            0x02,
            0x20,
            0x06,
            0x24,
            0x01,
        ];
        let at = mr.len();
        mr.resize(at + fo.buffer_len(), 0);
        fo.emit(mr.get_mut(at..).unwrap_or_default())
            .map_err(|_| bad("Forward Open does not encode"))?;
        let reply = self.unconnected(&mr).await?;
        match (reply.get(2), reply.get(4..8)) {
            (Some(0), Some(id)) => Ok(u32::from_le_bytes(
                id.try_into().map_err(|_| bad("short reply"))?,
            )),
            _ => Err(bad("Forward Open refused")),
        }
    }

    /// Open the connection for (`route`, `size`) unless it is open; an empty reply.
    async fn ensure_open(&mut self, route: &[u8], size: u16) -> io::Result<Vec<u8>> {
        let key = (route.to_vec(), size);
        if !self.connections.contains_key(&key) {
            let id = self.open(route, size).await?;
            self.connections.insert(key, (id, 0));
        }
        Ok(Vec::new())
    }

    /// One request on the connection for (`route`, `size`), opened when needed (again, when
    /// the target has timed it out); the CIP reply.
    async fn connected(&mut self, route: &[u8], size: u16, mr: &[u8]) -> io::Result<Vec<u8>> {
        let key = (route.to_vec(), size);
        for _ in 0..2 {
            let (id, sequence, fresh) = match self.connections.get(&key) {
                Some(&(id, seq)) => (id, seq.wrapping_add(1), false),
                None => (self.open(route, size).await?, 1, true),
            };
            self.connections.insert(key.clone(), (id, sequence));
            let cip = self.send_unit_data(id, sequence, mr).await?;
            if !fresh && cip.get(2..6) == Some(&[0x01, 1, 0x07, 0x01]) {
                // Connection not found: the target timed it out.
                self.connections.remove(&key);
                continue;
            }
            return Ok(cip);
        }
        Err(bad("the target does not keep the connection open"))
    }

    async fn send_unit_data(&mut self, id: u32, sequence: u16, mr: &[u8]) -> io::Result<Vec<u8>> {
        let mut body = vec![0, 0, 0, 0, 0, 0, 2, 0, 0xA1, 0, 4, 0];
        body.extend_from_slice(&id.to_le_bytes());
        body.extend_from_slice(&[0xB1, 0]);
        body.extend_from_slice(&(mr.len() as u16 + 2).to_le_bytes());
        body.extend_from_slice(&sequence.to_le_bytes());
        body.extend_from_slice(mr);
        self.stream
            .write_all(&frame(0x70, self.session, &body))
            .await?;
        let reply = read_frame(&mut self.stream).await?;
        let repr = Repr::parse_bytes(&reply).map_err(|_| bad("bad SendUnitData reply"))?;
        match repr.body {
            Body::SendData(data) if repr.header.status == 0 => data
                .cpf
                .connected_data()
                .map(|(_, cip)| cip.to_vec())
                .ok_or_else(|| bad("no connected data item")),
            _ => Err(bad("SendUnitData refused")),
        }
    }
}

/// Exchange one routed request with its target; the target's CIP reply.
pub async fn exchange<C: Connector>(
    connector: &C,
    upstreams: &mut Upstreams<C::Stream>,
    hop: &Hop,
) -> io::Result<Vec<u8>> {
    if !upstreams.contains_key(&hop.target) {
        let up = Upstream::connect(connector, &hop.target).await?;
        upstreams.insert(hop.target.clone(), up);
    }
    let up = upstreams
        .get_mut(&hop.target)
        .ok_or_else(|| bad("no upstream"))?;
    match hop.connected {
        Some(size) if hop.message.is_empty() => up.ensure_open(&hop.route, size).await,
        Some(size) => up.connected(&hop.route, size, &hop.message).await,
        None => up.unconnected(&hop.request()).await,
    }
}
