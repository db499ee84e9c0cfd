//! The simulator runtime: serves a [`Store`] over Modbus/TCP connections and serial lines.
//!
//! TCP connections come from any [`cpppo_net::Listener`]: the host's sockets
//! ([`cpppo_net::os::OsListener`]) or a device's userspace stack
//! ([`cpppo_net::stack::Net::listen_tcp`]), with no change to the simulator.
//!
//! Each TCP connection reads what is available, answers every whole frame in it (pipelined
//! requests are answered in order, under one lock of the store) and writes the answers in one
//! go. A corrupt MBAP header closes that connection only. Connections are held to the
//! [`Limits`] every server shares: idle, partial-frame and write timeouts, and at the connection
//! limit the longest-idle one is closed for a newcomer.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cpppo_net::conn::{Conn, Limits, PollOnWake, Tracker};
use cpppo_net::hot::{self, HotSession, Streak, Turn};
use cpppo_net::{Accepted, Listener, Stream};

use crate::pdu::{exception, function, Direction};
use crate::serial::SerialPort;
use crate::store::Store;
use crate::{ascii, rtu, tcp, Adu};

/// How requests reach the simulator (it answers foreign units differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Modbus/TCP: a unit we do not serve gets exception 0x0B (gateway target failed).
    Tcp,
    /// A multi-drop serial line: other units' requests and broadcasts (unit 0) get no answer.
    Serial,
}

/// Serial framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Binary frames with CRC-16, separated by silence.
    Rtu,
    /// Hexadecimal text frames with LRC.
    Ascii,
}

/// A simulated device: its data, the unit ids it answers, and a response delay.
#[derive(Debug, Clone)]
pub struct Simulator {
    store: Arc<Mutex<Store>>,
    units: Option<Vec<u8>>,
    delay: Duration,
    /// Upper end of a random delay (`delay..=delay_max`); equal to `delay` for a fixed one.
    delay_max: Duration,
    /// The TCP connections being served, and the limits they are held to.
    connections: Arc<Tracker>,
}

impl Simulator {
    /// A simulator of `store` answering every unit id without delay.
    pub fn new(store: Store) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            units: None,
            delay: Duration::ZERO,
            delay_max: Duration::ZERO,
            connections: Tracker::new(Limits::default()),
        }
    }

    /// Hold TCP connections to `limits` (timeouts and the connection limit).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.connections = Tracker::new(limits);
        self
    }

    /// The TCP connections being served and their limits.
    pub fn connections(&self) -> &Arc<Tracker> {
        &self.connections
    }

    /// Answer only these unit ids (all share the one store); empty means all.
    pub fn units(mut self, units: Vec<u8>) -> Self {
        self.units = (!units.is_empty()).then_some(units);
        self
    }

    /// Delay every response by `delay`.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self.delay_max = delay;
        self
    }

    /// Delay every response by a random time between `min` and `max`.
    pub fn delay_between(mut self, min: Duration, max: Duration) -> Self {
        self.delay = min.min(max);
        self.delay_max = max.max(min);
        self
    }

    /// The response delay to apply now, if any.
    #[inline]
    fn delay_now(&self) -> Option<Duration> {
        if self.delay_max.is_zero() {
            return None;
        }
        let spread = self.delay_max.saturating_sub(self.delay);
        let extra = if spread.is_zero() {
            Duration::ZERO
        } else {
            spread.mul_f64(random_fraction())
        };
        Some(self.delay + extra)
    }

    /// Wait the configured response delay, if any.
    async fn wait_delay(&self) {
        if let Some(d) = self.delay_now() {
            tokio::time::sleep(d).await;
        }
    }

    /// The device's data, shared with the running servers.
    pub fn store(&self) -> Arc<Mutex<Store>> {
        Arc::clone(&self.store)
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn serves(&self, unit: u8) -> bool {
        self.units.as_ref().is_none_or(|u| u.contains(&unit))
    }

    /// Answer one request: append the response PDU to `out` and return true, or return false
    /// when no response is due (a foreign unit or a broadcast on a serial line).
    pub fn respond(&self, store: &mut Store, link: Link, adu: &Adu, out: &mut Vec<u8>) -> bool {
        let broadcast = link == Link::Serial && adu.unit == 0;
        if !broadcast && !self.serves(adu.unit) {
            if link == Link::Serial {
                return false;
            }
            let fc = adu.pdu.first().copied().unwrap_or(0);
            out.push(fc | function::EXCEPTION_BIT);
            out.push(exception::GATEWAY_TARGET_FAILED);
            return true;
        }
        if broadcast {
            let mut scratch = Vec::new();
            store.respond(adu.pdu, &mut scratch);
            return false;
        }
        store.respond(adu.pdu, out);
        true
    }

    /// Accept and serve connections from `listener` (Modbus/TCP framing) until the task is
    /// dropped or aborted. A host listener is shared with the worker runtimes
    /// ([`cpppo_net::cores`]), each serving the connections it accepts on its own thread.
    pub async fn serve_tcp<L: Listener>(self: Arc<Self>, listener: L) -> std::io::Result<()> {
        let _spread = match listener.host_socket() {
            Some(fd) => {
                let sim = Arc::clone(&self);
                cpppo_net::cores::spread(&fd, move |l| {
                    let sim = Arc::clone(&sim);
                    async move {
                        let _ = sim.accept_loop(cpppo_net::os::OsListener::from(l)).await;
                    }
                })
                .inspect_err(|e| tracing::warn!("serving on one core only: {e}"))
                .ok()
            }
            None => None,
        };
        self.accept_loop(listener).await
    }

    async fn accept_loop<L: Listener>(self: Arc<Self>, mut listener: L) -> std::io::Result<()> {
        loop {
            let Accepted { stream, peer, .. } = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors and the like: wait a little, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            tracing::info!("Modbus/TCP connection from {peer}");
            let conn = self.connections.admit();
            let sim = Arc::clone(&self);
            tokio::spawn(async move {
                match sim.serve_admitted(stream, conn).await {
                    Ok(why) => tracing::info!("Modbus/TCP connection from {peer} ended: {why}"),
                    Err(e) => tracing::info!("Modbus/TCP connection from {peer} ended: {e}"),
                }
            });
        }
    }

    /// Serve one connection (Modbus/TCP framing) until it closes, sends a corrupt header or
    /// breaks the connection limits. Answers are written whole, one write per batch of
    /// requests; the transport decides about coalescing (listeners of this crate's transports
    /// disable Nagle's algorithm).
    pub async fn serve_connection<S: Stream>(&self, sock: S) -> std::io::Result<()> {
        let conn = self.connections.admit();
        self.serve_admitted(sock, conn).await.map(|_| ())
    }

    /// Serve an admitted connection; returns why it ended. A connection answering requests
    /// back to back is served by a hot thread's epoll loop ([`cpppo_net::hot`]) until it
    /// pauses.
    async fn serve_admitted<S: Stream>(&self, sock: S, conn: Conn) -> std::io::Result<String> {
        let mut stream = Some(sock);
        let mut core = TcpCore {
            sim: self.clone(),
            buf: Vec::with_capacity(16 * 1024),
            out: Vec::with_capacity(16 * 1024),
            corrupt: None,
        };
        // The connection policy's deadline, armed once for the connection (not per request)
        // and polled only when its own timer or signal woke the task.
        let expired = std::pin::pin!(conn.expired());
        let mut expired = PollOnWake::new(expired);
        let mut streak = Streak::default();
        loop {
            if !core.out.is_empty() {
                let Some(sock) = stream.as_mut() else {
                    return Ok("hot connection lost".into());
                };
                if let Err(why) = conn.write_all(sock, &core.out).await {
                    return Ok(why.to_string());
                }
                core.out.clear();
            }
            if let Some(e) = core.corrupt.take() {
                tracing::warn!("closing Modbus/TCP connection: {e}");
                return Ok(format!("corrupt frame: {e}"));
            }
            // Counted again from zero whether or not it may go hot now (a cheap test per
            // request when it may not: hot connections off). A server delaying its replies
            // stays in the reactor: a hot thread would sleep its other connections' turns, and
            // the delay would not count as the connection's activity.
            let window = streak
                .hot()
                .then(|| conn.hot_window())
                .flatten()
                .filter(|_| core.sim.delay_max.is_zero());
            if streak.hot() {
                streak.reset();
            }
            if let Some(window) = window {
                if let Some(sock) = stream.take() {
                    let stop = std::pin::Pin::new(&mut expired);
                    // Boxed: only a hot connection pays for this future's room.
                    let (back, left) = Box::pin(hot::serve(sock, core, &conn, window, stop)).await;
                    core = back;
                    match left {
                        hot::Left::Reactor(s) => stream = Some(s),
                        hot::Left::Closed => return Ok("closed by peer".into()),
                        hot::Left::Failed(e) => return Err(e),
                        hot::Left::Stopped(why) => return Ok(why.to_string()),
                    }
                    continue; // write what the hot spell left
                }
            }
            let Some(sock) = stream.as_mut() else {
                return Ok("hot connection lost".into());
            };
            let n = tokio::select! {
                // The policy first: a flag test until its own wake-up, and never starved.
                biased;
                why = &mut expired => return Ok(why.to_string()),
                n = hot::read_appended(sock, &mut core.buf) => n?,
            };
            if n == 0 {
                return Ok("closed by peer".into());
            }
            let now = tokio::time::Instant::now();
            conn.active_at(now);
            if hot::is_host::<S>() {
                if let Some(gap) = conn.back_to_back() {
                    streak.arrived_within(now.into_std(), gap);
                }
            }
            let progressed = core.answer_buffered();
            conn.buffered(core.buf.len(), progressed);
            if !core.out.is_empty() {
                self.wait_delay().await;
            }
        }
    }

    /// Answer every whole frame in `buf`; returns the bytes used and any framing error.
    fn answer_tcp(&self, buf: &[u8], out: &mut Vec<u8>) -> (usize, Option<crate::Error>) {
        let mut store = self.lock();
        let mut pos = 0;
        loop {
            match tcp::decode(&buf[pos..]) {
                Ok(Some((adu, used))) => {
                    pos += used;
                    if adu.protocol != 0 {
                        continue; // not Modbus: skip the frame
                    }
                    let mark = out.len();
                    let mut answered = false;
                    tcp::encode(out, adu.transaction, adu.unit, |o| {
                        answered = self.respond(&mut store, Link::Tcp, &adu, o);
                    });
                    if !answered {
                        out.truncate(mark);
                    }
                }
                Ok(None) => return (pos, None),
                Err(e) => return (pos, Some(e)),
            }
        }
    }

    /// Serve requests arriving on a serial port until it fails.
    pub async fn serve_serial(
        self: Arc<Self>,
        port: SerialPort,
        framing: Framing,
        baud: u32,
    ) -> std::io::Result<()> {
        let silence = rtu::inter_frame_silence(baud).max(Duration::from_millis(2));
        let mut decoder = SerialDecoder::new(framing, Direction::Request);
        let mut buf = vec![0u8; 1024];
        let mut out = Vec::with_capacity(1024);
        let mut down = false;
        loop {
            match tokio::time::timeout(silence, port.read(&mut buf)).await {
                Err(_quiet) => decoder.silence(),
                Ok(Ok(n)) if n > 0 => {
                    down = false;
                    let bytes = buf.get(..n).unwrap_or_default();
                    tracing::trace!("serial received {bytes:02x?}");
                    decoder.push(bytes);
                }
                // Hung up (0 bytes, or EIO: the other end of a pseudo-terminal is closed).
                // It may come back; poll again shortly.
                Ok(Ok(_)) => hangup(&mut decoder, &mut down).await,
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => {
                    hangup(&mut decoder, &mut down).await
                }
                Ok(Err(e)) => return Err(e),
            }
            self.answer_serial(&mut decoder, &mut out);
            if !out.is_empty() {
                self.wait_delay().await;
                if let Err(e) = port.write_all(&out).await {
                    tracing::warn!("serial write failed: {e}");
                }
                out.clear();
            }
        }
    }

    fn answer_serial(&self, decoder: &mut SerialDecoder, out: &mut Vec<u8>) {
        let mut store = self.lock();
        let mut pdu = Vec::with_capacity(crate::pdu::MAX_PDU);
        while let Some(adu) = decoder.next_frame() {
            tracing::debug!("serial request to unit {}: {:02x?}", adu.unit, adu.pdu);
            pdu.clear();
            if self.respond(&mut store, Link::Serial, &adu, &mut pdu) {
                let unit = adu.unit;
                decoder.encode(out, unit, &pdu);
            }
        }
    }
}

/// A Modbus/TCP connection's buffers: served by its task, or by a hot thread while it is hot
/// ([`cpppo_net::hot`]).
struct TcpCore {
    sim: Simulator,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// A corrupt header ends the connection once the replies before it are written.
    corrupt: Option<crate::Error>,
}

impl TcpCore {
    /// Answer every whole frame buffered; whether any was.
    fn answer_buffered(&mut self) -> bool {
        let (used, corrupt) = self.sim.answer_tcp(&self.buf, &mut self.out);
        self.buf.drain(..used);
        self.corrupt = corrupt;
        used > 0
    }
}

impl HotSession for TcpCore {
    fn input(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    fn answer(&mut self, _read: usize, _now: std::time::Instant) -> Turn {
        // A delaying server never goes hot (see `serve_tcp`), so no reply waits here.
        let progressed = self.answer_buffered();
        match self.corrupt {
            Some(_) => Turn::Leave,
            None => Turn::Answered { progressed },
        }
    }
}

/// A fraction in [0, 1) from a per-thread xorshift generator seeded by the clock (good enough
/// to spread response delays; not for anything that needs real randomness).
fn random_fraction() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
                | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// Wait out a hang-up of the serial line, logging it once; the line counts as silent.
async fn hangup(decoder: &mut SerialDecoder, down: &mut bool) {
    if !*down {
        tracing::warn!("serial line hung up; waiting for it to come back");
        *down = true;
    }
    decoder.silence();
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// An RTU or ASCII decoder behind one interface.
#[derive(Debug)]
pub enum SerialDecoder {
    /// RTU.
    Rtu(rtu::Decoder),
    /// ASCII.
    Ascii(ascii::Decoder),
}

impl SerialDecoder {
    /// A decoder of `dir` frames (requests for a server, responses for a client).
    pub fn new(framing: Framing, dir: Direction) -> Self {
        match framing {
            Framing::Rtu => Self::Rtu(rtu::Decoder::new(dir)),
            Framing::Ascii => Self::Ascii(ascii::Decoder::new()),
        }
    }
    /// Add received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        match self {
            Self::Rtu(d) => d.push(bytes),
            Self::Ascii(d) => d.push(bytes),
        }
    }
    /// The line went quiet.
    pub fn silence(&mut self) {
        if let Self::Rtu(d) = self {
            d.silence();
        }
    }
    /// The next whole frame.
    pub fn next_frame(&mut self) -> Option<Adu<'_>> {
        match self {
            Self::Rtu(d) => d.next_frame(),
            Self::Ascii(d) => d.next_frame(),
        }
    }
    /// Frame a PDU for this line.
    pub fn encode(&self, out: &mut Vec<u8>, unit: u8, pdu: &[u8]) {
        match self {
            Self::Rtu(_) => rtu::encode(out, unit, |o| o.extend_from_slice(pdu)),
            Self::Ascii(_) => ascii::encode(out, unit, |o| o.extend_from_slice(pdu)),
        }
    }
}
