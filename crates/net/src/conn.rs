//! The connection policy every stream server applies (the Modbus and EtherNet/IP simulators):
//! how long a client may stay idle, take to finish a frame it has begun, or take to accept a
//! reply, and how many clients are served at once.
//!
//! A server keeps one [`Tracker`] per listening service and [`Tracker::admit`]s each accepted
//! stream. When the limit is reached the longest-idle connection is told to close, so a new
//! client is never starved by connections that merely stay open. The connection's task waits
//! on [`Conn::expired`] beside its read and writes through [`Conn::write_all`].

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The limits of a server's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; at the limit a new one displaces the longest-idle.
    pub max_connections: usize,
    /// A connection with no traffic for this long is closed.
    pub idle: Duration,
    /// A frame begun must be complete within this time.
    pub frame: Duration,
    /// A reply must be accepted by the client within this time.
    pub write: Duration,
}

/// Default [`Limits::max_connections`].
pub const MAX_CONNECTIONS: usize = 1000;
/// Default [`Limits::idle`]: generous, as clients may poll slowly.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Default [`Limits::frame`].
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`Limits::write`].
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            idle: IDLE_TIMEOUT,
            frame: FRAME_TIMEOUT,
            write: WRITE_TIMEOUT,
        }
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at most {} connections (the longest-idle closed for a new one); idle timeout {:?}, \
             frame timeout {:?}, write timeout {:?}",
            self.max_connections, self.idle, self.frame, self.write
        )
    }
}

/// Why the policy ended a connection.
#[derive(Debug)]
pub enum Ended {
    /// No traffic for the idle timeout.
    Idle(Duration),
    /// A frame begun was not finished within the frame timeout.
    PartialFrame(Duration),
    /// The client did not accept a reply within the write timeout.
    StalledReader(Duration),
    /// Closed to make room for a new connection (this one was the longest idle).
    Evicted,
    /// Writing failed.
    Write(io::Error),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Idle(d) => write!(f, "idle for {d:?}"),
            Self::PartialFrame(d) => write!(f, "incomplete frame timed out after {d:?}"),
            Self::StalledReader(d) => write!(f, "client stopped reading for {d:?}"),
            Self::Evicted => f.write_str("closed for a new connection (longest idle at the limit)"),
            Self::Write(e) => write!(f, "write error: {e}"),
        }
    }
}

/// What the tracker knows of one live connection.
#[derive(Debug)]
struct Entry {
    /// Milliseconds since the tracker's epoch of the last traffic.
    last: AtomicU64,
    /// Told when the connection must close to make room.
    evict: Notify,
}

/// Counts of what the policy did, for `/metrics`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Connections open now.
    pub open: usize,
    /// Connections admitted since start.
    pub accepted: u64,
    /// Connections closed for a newer one at the limit.
    pub evicted: u64,
    /// Connections closed by one of the timeouts.
    pub timed_out: u64,
}

/// The live connections of one service, and the policy they are held to.
#[derive(Debug)]
pub struct Tracker {
    limits: Limits,
    epoch: Instant,
    live: Mutex<HashMap<u64, Arc<Entry>>>,
    next: AtomicU64,
    evicted: AtomicU64,
    timed_out: AtomicU64,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::with_limits(Limits::default())
    }
}

impl Tracker {
    /// A tracker holding connections to `limits`.
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self::with_limits(limits))
    }

    fn with_limits(limits: Limits) -> Self {
        Self {
            limits: Limits {
                max_connections: limits.max_connections.max(1),
                ..limits
            },
            epoch: Instant::now(),
            live: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
        }
    }

    /// The limits connections are held to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What the policy has done so far.
    pub fn counts(&self) -> Counts {
        Counts {
            open: self.lock().len(),
            accepted: self.next.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Entry>>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Take on a new connection; at the limit, the longest-idle one is told to close first.
    pub fn admit(self: &Arc<Self>) -> Conn {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry {
            last: AtomicU64::new(self.now_ms()),
            evict: Notify::new(),
        });
        let mut live = self.lock();
        while live.len() >= self.limits.max_connections {
            let oldest = live
                .iter()
                .min_by_key(|(_, e)| e.last.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            let Some(victim) = oldest.and_then(|id| live.remove(&id)) else {
                break;
            };
            victim.evict.notify_one();
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        live.insert(id, Arc::clone(&entry));
        drop(live);
        Conn {
            tracker: Arc::clone(self),
            id,
            entry,
            partial_since: None,
        }
    }
}

/// One admitted connection; dropping it releases its place.
#[derive(Debug)]
pub struct Conn {
    tracker: Arc<Tracker>,
    id: u64,
    entry: Arc<Entry>,
    /// When the unfinished frame at the front of the buffer began to arrive.
    partial_since: Option<Instant>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.tracker.lock().remove(&self.id);
    }
}

impl Conn {
    /// Note traffic on the connection (it is no longer idle).
    pub fn active(&self) {
        self.entry
            .last
            .store(self.tracker.now_ms(), Ordering::Relaxed);
    }

    /// After answering the whole frames received: `pending` bytes of an unfinished frame are
    /// left, and `progressed` tells whether any frame was finished. The frame timeout runs from
    /// the first byte of an unfinished frame.
    pub fn buffered(&mut self, pending: usize, progressed: bool) {
        if pending == 0 {
            self.partial_since = None;
        } else if progressed || self.partial_since.is_none() {
            self.partial_since = Some(Instant::now());
        }
    }

    /// Resolve when the connection must close: idle too long, a frame unfinished too long, or
    /// displaced by a new connection. Wait on it beside the read.
    pub async fn expired(&self) -> Ended {
        let limits = self.tracker.limits;
        loop {
            let last = self.entry.last.load(Ordering::Relaxed);
            let idle_at = self.tracker.epoch + Duration::from_millis(last) + limits.idle;
            let (at, why) = match self.partial_since {
                Some(t) if t + limits.frame < idle_at => {
                    (t + limits.frame, Ended::PartialFrame(limits.frame))
                }
                _ => (idle_at, Ended::Idle(limits.idle)),
            };
            tokio::select! {
                () = self.entry.evict.notified() => return Ended::Evicted,
                () = tokio::time::sleep_until(at) => {}
            }
            // Traffic may have moved the idle deadline while we slept.
            if self.entry.last.load(Ordering::Relaxed) == last
                || matches!(why, Ended::PartialFrame(_))
            {
                self.tracker.timed_out.fetch_add(1, Ordering::Relaxed);
                return why;
            }
        }
    }

    /// Write `bytes` whole within the write timeout (and unless displaced meanwhile).
    pub async fn write_all<W: AsyncWrite + Unpin>(
        &self,
        stream: &mut W,
        bytes: &[u8],
    ) -> Result<(), Ended> {
        let limit = self.tracker.limits.write;
        tokio::select! {
            done = tokio::time::timeout(limit, stream.write_all(bytes)) => match done {
                Ok(Ok(())) => {
                    self.active();
                    Ok(())
                }
                Ok(Err(e)) => Err(Ended::Write(e)),
                Err(_) => {
                    self.tracker.timed_out.fetch_add(1, Ordering::Relaxed);
                    Err(Ended::StalledReader(limit))
                }
            },
            () = self.entry.evict.notified() => Err(Ended::Evicted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize) -> Limits {
        Limits {
            max_connections: max,
            idle: Duration::from_secs(60),
            frame: Duration::from_secs(5),
            write: Duration::from_secs(5),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_limit_the_longest_idle_is_told_to_close() {
        let t = Tracker::new(limits(2));
        let a = t.admit();
        tokio::time::advance(Duration::from_secs(1)).await;
        let b = t.admit();
        tokio::time::advance(Duration::from_secs(1)).await;
        a.active(); // now b is the longest idle
        let _c = t.admit();
        assert!(matches!(b.expired().await, Ended::Evicted));
        assert_eq!(t.counts().evicted, 1);
        assert_eq!(t.counts().open, 2);
        drop(b);
        assert_eq!(t.counts().open, 2, "a and c remain");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_and_partial_frame_timeouts() {
        let t = Tracker::new(limits(10));
        let mut c = t.admit();
        let start = Instant::now();
        assert!(matches!(c.expired().await, Ended::Idle(_)));
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        c.active();
        c.buffered(3, false);
        let start = Instant::now();
        assert!(matches!(c.expired().await, Ended::PartialFrame(_)));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(t.counts().timed_out, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn traffic_defers_the_idle_timeout() {
        let t = Tracker::new(limits(10));
        let c = t.admit();
        let start = Instant::now();
        let waiting = c.expired();
        tokio::pin!(waiting);
        tokio::select! {
            _ = &mut waiting => panic!("expired early"),
            () = tokio::time::sleep(Duration::from_secs(30)) => c.active(),
        }
        assert!(matches!(waiting.await, Ended::Idle(_)));
        assert_eq!(start.elapsed(), Duration::from_secs(90));
    }
}
