//! Runtime control and statistics of a running simulator, shared with its web API.
//!
//! One [`ServerControl`] per simulator: the server loops count requests, replies, bytes and
//! latency into it, register each client connection, apply its live reply delay and obey its
//! `disable`/`done` switches; the web layer reads and changes it. Tags wrapped by
//! [`ServerControl::guard`] can have an error forced on them and report every write.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::model::attribute::Attribute;
use crate::server::session::Summary;
use cpppo_cip::Status;

/// Upper bounds (seconds) of the request latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0,
];

/// Counters of one client connection (cpppo's `connections` group).
#[derive(Debug)]
pub struct ConnStats {
    /// Identifier in the API: the peer address with `.` and `:` as `_`.
    pub id: String,
    /// The client's address.
    pub peer: SocketAddr,
    /// Bytes received.
    pub received: AtomicU64,
    /// Bytes sent.
    pub processed: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
    /// Set to ask the server to close this connection.
    pub eof: AtomicBool,
    wake: tokio::sync::Notify,
}

impl ConnStats {
    /// Ask the server to close this connection now.
    pub fn close(&self) {
        self.eof.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }
}

/// Wait until the web API asks to close `conn` (forever without one).
pub async fn eof_requested(conn: Option<&ConnGuard>) {
    match conn {
        Some(g) => g.stats.wake.notified().await,
        None => std::future::pending().await,
    }
}

/// A live f64 in an atomic.
#[derive(Debug, Default)]
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn new(v: f64) -> Self {
        Self(AtomicU64::new(v.to_bits()))
    }
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
}

/// Counters of the whole server, all monotonic except the gauges noted.
#[derive(Debug)]
pub struct Stats {
    /// Requests by CIP service code (0 = encapsulation-only commands).
    pub requests: [AtomicU64; 256],
    /// Replies by CIP general status (or encapsulation status for non-CIP replies, capped).
    pub replies: [AtomicU64; 256],
    /// TCP connections ever accepted.
    pub sessions: AtomicU64,
    /// EtherNet/IP sessions registered (successful RegisterSession replies).
    pub registered: AtomicU64,
    /// Bytes received from clients.
    pub bytes_in: AtomicU64,
    /// Bytes sent to clients.
    pub bytes_out: AtomicU64,
    /// Latency histogram bucket counts (non-cumulative), last one is +Inf.
    pub latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// Sum of latencies in microseconds.
    pub latency_us: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            requests: std::array::from_fn(|_| AtomicU64::new(0)),
            replies: std::array::from_fn(|_| AtomicU64::new(0)),
            sessions: AtomicU64::new(0),
            registered: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_us: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// Count one exchange (what the session decoded and answered), which took `took`.
    pub fn exchange(&self, summary: &Summary, took: Duration) {
        bump(&self.requests, usize::from(summary.service));
        bump(&self.replies, usize::from(summary.status));
        if summary.registered {
            self.registered.fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        bump(&self.latency, i);
        self.latency_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// Total requests counted.
    pub fn total_requests(&self) -> u64 {
        self.requests
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

fn bump(counters: &[AtomicU64], i: usize) {
    if let Some(c) = counters.get(i) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// The switches and counters of a running simulator.
pub struct ServerControl {
    /// Server-wide counters.
    pub stats: Stats,
    delay_lo: AtomicF64,
    delay_hi: AtomicF64,
    latency: AtomicF64,
    timeout: AtomicF64,
    disable: watch::Sender<bool>,
    done: watch::Sender<bool>,
    connections: Mutex<BTreeMap<String, Arc<ConnStats>>>,
    tags: RwLock<BTreeMap<String, Arc<Guarded>>>,
    changes: Arc<AtomicU64>,
    /// Where the listeners are bound (for the API's `server/control` data).
    pub address: Mutex<Option<SocketAddr>>,
    /// The TCP connection policy and its counts (for `/metrics`).
    pub limits: Mutex<Option<Arc<cpppo_net::conn::Tracker>>>,
    /// The class 1 I/O adapter, when the simulator serves implicit I/O (for `/metrics`).
    pub io: std::sync::OnceLock<Arc<crate::server::io::IoHub>>,
}

impl std::fmt::Debug for ServerControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerControl")
            .field("delay", &self.delay())
            .field("disabled", &self.disabled())
            .field("done", &self.done())
            .field("requests", &self.stats.total_requests())
            .finish()
    }
}

impl Default for ServerControl {
    fn default() -> Self {
        Self {
            stats: Stats::default(),
            delay_lo: AtomicF64::new(0.0),
            delay_hi: AtomicF64::new(0.0),
            latency: AtomicF64::new(0.1),
            timeout: AtomicF64::new(0.2),
            disable: watch::channel(false).0,
            done: watch::channel(false).0,
            connections: Mutex::new(BTreeMap::new()),
            tags: RwLock::new(BTreeMap::new()),
            changes: Arc::new(AtomicU64::new(0)),
            address: Mutex::new(None),
            limits: Mutex::new(None),
            io: std::sync::OnceLock::new(),
        }
    }
}

impl ServerControl {
    /// A control object with the reply delay set to the range `delay` (seconds).
    pub fn new(delay: Option<(f64, f64)>) -> Self {
        let c = Self::default();
        if let Some((lo, hi)) = delay {
            c.set_delay(lo, hi);
        }
        c
    }

    /// The reply delay range in seconds.
    pub fn delay(&self) -> (f64, f64) {
        (self.delay_lo.get(), self.delay_hi.get())
    }

    /// Set the reply delay range (seconds, `lo <= hi`, both finite and non-negative).
    pub fn set_delay(&self, lo: f64, hi: f64) {
        self.delay_lo.set(lo);
        self.delay_hi.set(hi.max(lo));
    }

    /// cpppo's `server.control.latency` (seconds; kept for compatibility).
    pub fn latency(&self) -> f64 {
        self.latency.get()
    }

    /// Set `server.control.latency`.
    pub fn set_latency(&self, v: f64) {
        self.latency.set(v)
    }

    /// cpppo's `server.control.timeout` (seconds; kept for compatibility).
    pub fn timeout(&self) -> f64 {
        self.timeout.get()
    }

    /// Set `server.control.timeout`.
    pub fn set_timeout(&self, v: f64) {
        self.timeout.set(v)
    }

    /// Whether the listeners are (to be) closed.
    pub fn disabled(&self) -> bool {
        *self.disable.borrow()
    }

    /// Close (`true`) or reopen (`false`) the TCP and UDP listeners.
    pub fn set_disabled(&self, v: bool) {
        self.disable.send_replace(v);
    }

    /// Watch the disable switch.
    pub fn watch_disabled(&self) -> watch::Receiver<bool> {
        self.disable.subscribe()
    }

    /// Whether the server was asked to shut down.
    pub fn done(&self) -> bool {
        *self.done.borrow()
    }

    /// Ask the server to shut down (cannot be undone).
    pub fn set_done(&self) {
        self.done.send_replace(true);
    }

    /// Watch the done switch.
    pub fn watch_done(&self) -> watch::Receiver<bool> {
        self.done.subscribe()
    }

    /// Register a new client connection; drop the returned guard when it ends.
    pub fn connect(self: &Arc<Self>, peer: SocketAddr) -> ConnGuard {
        let id = peer.to_string().replace(['.', ':', '[', ']'], "_");
        let stats = Arc::new(ConnStats {
            id: id.clone(),
            peer,
            received: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            eof: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
        });
        self.stats.sessions.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.connections.lock() {
            m.insert(id, stats.clone());
        }
        ConnGuard {
            control: self.clone(),
            stats,
        }
    }

    /// Count one answered request of connection `conn`: what it answered, its reply of `sent`
    /// bytes, and how long it took.
    pub fn exchanged(&self, conn: &ConnStats, summary: &Summary, sent: usize, took: Duration) {
        self.stats.exchange(summary, took);
        let sent = sent as u64;
        conn.requests.fetch_add(1, Ordering::Relaxed);
        conn.processed.fetch_add(sent, Ordering::Relaxed);
        self.stats.bytes_out.fetch_add(sent, Ordering::Relaxed);
    }

    /// Count one answered UDP request (a List command) of `received` bytes and its reply of
    /// `sent` bytes.
    pub fn datagram(&self, received: usize, sent: usize, took: Duration) {
        self.stats.exchange(&Summary::default(), took);
        let s = &self.stats;
        s.bytes_in.fetch_add(received as u64, Ordering::Relaxed);
        s.bytes_out.fetch_add(sent as u64, Ordering::Relaxed);
    }

    /// The open connections, by id.
    pub fn connections(&self) -> Vec<Arc<ConnStats>> {
        self.connections
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Wrap a tag's attribute so errors can be forced on it and writes are noticed.
    pub fn guard(&self, name: &str, inner: Arc<dyn Attribute>) -> Arc<dyn Attribute> {
        let g = Arc::new(Guarded {
            inner,
            error: AtomicU8::new(0),
            changes: self.changes.clone(),
        });
        if let Ok(mut m) = self.tags.write() {
            m.insert(name.to_ascii_uppercase(), g.clone());
        }
        g
    }

    /// The guarded tag called `name` (case-insensitive).
    pub fn guarded(&self, name: &str) -> Option<Arc<Guarded>> {
        self.tags
            .read()
            .ok()?
            .get(&name.to_ascii_uppercase())
            .cloned()
    }

    /// A number that grows with every write to a guarded tag.
    pub fn generation(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }
}

/// Keeps a connection listed; removes it when dropped.
#[derive(Debug)]
pub struct ConnGuard {
    control: Arc<ServerControl>,
    /// The connection's counters.
    pub stats: Arc<ConnStats>,
}

impl ConnGuard {
    /// Count `n` bytes received on this connection.
    pub fn received(&self, n: usize) {
        self.stats.received.fetch_add(n as u64, Ordering::Relaxed);
        self.control
            .stats
            .bytes_in
            .fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.control.connections.lock() {
            m.remove(&self.stats.id);
        }
    }
}

/// A tag attribute that can fail every access with a forced CIP status, and counts writes.
pub struct Guarded {
    inner: Arc<dyn Attribute>,
    error: AtomicU8,
    changes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Guarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("type", &self.inner.data_type())
            .field("len", &self.inner.len())
            .field("error", &self.error())
            .finish()
    }
}

impl Guarded {
    /// The forced general status (0: none).
    pub fn error(&self) -> u8 {
        self.error.load(Ordering::Relaxed)
    }

    /// Force a general status on every client access; 0 clears it.
    pub fn set_error(&self, e: u8) {
        self.error.store(e, Ordering::Relaxed)
    }

    /// The wrapped attribute (reads and writes here ignore the forced error).
    pub fn inner(&self) -> &Arc<dyn Attribute> {
        &self.inner
    }

    /// Write through the wrapped attribute regardless of a forced error, noting the change.
    pub fn write_direct(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        self.inner.write(start, count, data)?;
        self.changes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn forced(&self) -> Result<(), Status> {
        match self.error() {
            0 => Ok(()),
            e => Err(Status::new(e)),
        }
    }
}

impl Attribute for Guarded {
    crate::delegate_shape_to_inner!();

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.forced()?;
        self.inner.read(start, count, out)
    }

    fn peek(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.forced()?;
        self.inner.peek(start, count, out)
    }
    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        self.forced()?;
        self.write_direct(start, count, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attribute::StoredData;

    #[test]
    fn forced_error_fails_access_and_zero_clears_it() {
        let c = ServerControl::default();
        let a = c.guard(
            "X",
            Arc::new(StoredData::new(cpppo_cip::DataType::Int, 4, true)),
        );
        let g = c.guarded("x").unwrap();
        g.set_error(8);
        assert!(a.write(0, 1, &[1, 0]).is_err());
        g.set_error(0);
        assert!(a.write(0, 1, &[1, 0]).is_ok());
        assert_eq!(c.generation(), 1);
    }

    #[test]
    fn statistics_count_what_the_session_decoded() {
        let s = Stats::default();
        let read = Summary {
            service: 0x4C,
            status: 0x05,
            registered: false,
        };
        let register = Summary {
            registered: true,
            ..Summary::default()
        };
        s.exchange(&read, Duration::from_micros(50));
        s.exchange(&register, Duration::from_micros(50));
        let count = |c: &[AtomicU64], i: usize| c[i].load(Ordering::Relaxed);
        assert_eq!((count(&s.requests, 0x4C), count(&s.requests, 0)), (1, 1));
        assert_eq!((count(&s.replies, 0x05), count(&s.replies, 0)), (1, 1));
        assert_eq!(s.registered.load(Ordering::Relaxed), 1);
        assert_eq!(s.total_requests(), 2);
    }
}
