//! The router's side of routing: one EtherNet/IP session per target device for each client
//! session, carrying [`Hop`]s unconnected (SendRRData) or, for a client's routed connection,
//! over a connection the router opens on the target (Forward Open, then SendUnitData), so the
//! target answers within the client's negotiated connection size.
//!
//! Each upstream is a thin driver of a sans-IO [`client::session::Session`](Session), one
//! request at a time.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use cpppo_cip::mr::{status, MrReply};
use cpppo_cip::services::cm::Triad;
use cpppo_net::{Connector, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::session::{Event, OpenParams, Session, MESSAGE_ROUTER};
use crate::client::Options;
use crate::server::route::Hop;

/// Sessions with target devices, by `HOST:PORT`.
pub type Upstreams<S> = HashMap<String, Upstream<S>>;

/// A session with one target device.
pub struct Upstream<S> {
    stream: S,
    session: Session,
    /// Connections opened on it, by (route path, size): their O->T id.
    connections: HashMap<(Vec<u8>, u16), u32>,
}

/// Requested packet interval of the router's connections (10 s; x512 before they time out).
const RPI_US: u32 = 10_000_000;
const TIMEOUT_MULTIPLIER: u8 = 7;
/// The router's vendor id in its Forward Opens.
const VENDOR: u16 = 0x1337;
/// The timeout field of the router's SendRRData requests, seconds.
const RR_TIMEOUT: u16 = 5;
/// Extended status of "connection not found" (general status 0x01).
const CONNECTION_NOT_FOUND: u16 = 0x0107;

static SERIAL: AtomicU32 = AtomicU32::new(1);

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl<S: Stream> Upstream<S> {
    async fn connect<C: Connector<Stream = S>>(connector: &C, target: &str) -> io::Result<Self> {
        let stream = connector.connect(target).await?;
        let session = Session::new(Options::simple())
            .map_err(|e| bad(e.to_string()))?
            .with_rr_timeout(RR_TIMEOUT);
        let mut up = Upstream {
            stream,
            session,
            connections: HashMap::new(),
        };
        up.session.register().map_err(|e| bad(e.to_string()))?;
        up.flush().await?;
        up.wait().await?;
        match up.session.poll_event() {
            Some(Ok(Event::Registered(_))) => Ok(up),
            _ => Err(bad("RegisterSession refused")),
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.stream.write_all(self.session.transmit()).await?;
        self.session.transmitted(Instant::now());
        Ok(())
    }

    /// Reads until the session has an event to report.
    async fn wait(&mut self) -> io::Result<()> {
        while !self.session.is_ready() {
            let n = self.stream.read(self.session.recv_buffer()).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.session.received(n, Instant::now());
        }
        Ok(())
    }

    /// The Message Router reply to the request queued under `key`.
    async fn reply(&mut self, key: u64) -> io::Result<Vec<u8>> {
        self.flush().await?;
        loop {
            self.wait().await?;
            match self.session.poll_event() {
                Some(Ok(Event::Reply { key: got, message })) if got == key => {
                    return Ok(message.to_vec())
                }
                Some(Err(e)) => return Err(bad(format!("target: {e}"))),
                _ => continue,
            }
        }
    }

    /// One unconnected request (SendRRData); the CIP reply.
    async fn unconnected(&mut self, mr: &[u8]) -> io::Result<Vec<u8>> {
        let key = self
            .session
            .queue_unconnected(mr)
            .map_err(|e| bad(e.to_string()))?;
        self.reply(key).await
    }

    /// Open a connection of `size` bytes each way along `route` to the target's Message Router.
    async fn open(&mut self, route: &[u8], size: u16) -> io::Result<u32> {
        let mut path = route.to_vec();
        path.extend_from_slice(&MESSAGE_ROUTER);
        let params = OpenParams {
            path,
            size: u32::from(size),
            priority_tick: 0x0A,
            timeout_ticks: 5,
            rpi_us: RPI_US,
            timeout_multiplier: TIMEOUT_MULTIPLIER,
            triad: Triad {
                connection_serial: SERIAL.fetch_add(1, Ordering::Relaxed) as u16,
                vendor_id: VENDOR,
                originator_serial: std::process::id(),
            },
            t_o_id: SERIAL.fetch_add(1, Ordering::Relaxed) | 0x8000_0000,
        };
        let key = self
            .session
            .open(params, false)
            .map_err(|e| bad(e.to_string()))?;
        self.flush().await?;
        loop {
            self.wait().await?;
            match self.session.poll_event() {
                Some(Ok(Event::Opened { key: got, result })) if got == key => {
                    return result.map_err(|_| bad("Forward Open refused"))
                }
                Some(Err(e)) => return Err(bad(format!("target: {e}"))),
                _ => continue,
            }
        }
    }

    /// Open the connection for (`route`, `size`) unless it is open; an empty reply.
    async fn ensure_open(&mut self, route: &[u8], size: u16) -> io::Result<Vec<u8>> {
        let key = (route.to_vec(), size);
        if !self.connections.contains_key(&key) {
            let id = self.open(route, size).await?;
            self.connections.insert(key, id);
        }
        Ok(Vec::new())
    }

    /// One request on the connection for (`route`, `size`), opened when needed (again, when
    /// the target has timed it out); the CIP reply.
    async fn connected(&mut self, route: &[u8], size: u16, mr: &[u8]) -> io::Result<Vec<u8>> {
        let key = (route.to_vec(), size);
        for _ in 0..2 {
            let (id, fresh) = match self.connections.get(&key) {
                Some(&id) => (id, false),
                None => (self.open(route, size).await?, true),
            };
            self.connections.insert(key.clone(), id);
            let sent = self
                .session
                .queue_connected(id, mr)
                .map_err(|e| bad(e.to_string()))?;
            let cip = self.reply(sent).await?;
            let lost = MrReply::parse(&cip).is_ok_and(|r| {
                r.general_status == status::CONNECTION_FAILURE
                    && r.first_extended() == Some(CONNECTION_NOT_FOUND)
            });
            if !fresh && lost {
                // Connection not found: the target timed it out.
                self.connections.remove(&key);
                self.session.forget(id);
                continue;
            }
            return Ok(cip);
        }
        Err(bad("the target does not keep the connection open"))
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
