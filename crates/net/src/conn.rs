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
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
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
    /// Milliseconds since the tracker's epoch when the unfinished frame at the front of the
    /// buffer began to arrive ([`NO_PARTIAL`]: none).
    partial_since: AtomicU64,
    /// Told when the deadline moved earlier (a frame began), so a waiting `expired` re-arms.
    rearm: Notify,
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
    /// Times a connection was moved to a hot thread's loop while it answered back-to-back
    /// requests ([`crate::hot`]).
    pub hot: u64,
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
    /// Connections open now (the map's length, read without its lock).
    open: AtomicUsize,
    /// The hot window in microseconds (0: connections are never served hot).
    hot_window_us: AtomicU64,
    hot: AtomicU64,
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
            open: AtomicUsize::new(0),
            hot_window_us: AtomicU64::new(micros(crate::hot::configured_window())),
            hot: AtomicU64::new(0),
        }
    }

    /// Serve a connection that answers back-to-back requests on a hot thread for up to
    /// `window` between requests ([`crate::hot`]); `None` keeps every connection in the
    /// reactor. The default comes from `CPPPO_HOT_MS` ([`crate::hot::configured_window`]).
    pub fn set_hot_window(&self, window: Option<Duration>) {
        self.hot_window_us
            .store(window.map_or(0, micros), Ordering::Relaxed);
    }

    /// The hot window ([`Tracker::set_hot_window`]).
    pub fn hot_window(&self) -> Option<Duration> {
        match self.hot_window_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
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
            hot: self.hot.load(Ordering::Relaxed),
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
            partial_since: AtomicU64::new(NO_PARTIAL),
            rearm: Notify::new(),
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
        self.open.store(live.len(), Ordering::Relaxed);
        drop(live);
        Conn {
            activity: Activity {
                tracker: Arc::clone(self),
                entry,
            },
            id,
        }
    }
}

/// [`Conn::partial_since`] when no frame is unfinished.
const NO_PARTIAL: u64 = u64::MAX;

/// One admitted connection; dropping it releases its place.
///
/// Its methods take `&self`, so one [`Conn::expired`] future can be kept (pinned) for the whole
/// life of the connection beside its reads: the timer is armed once, not once per request.
#[derive(Debug)]
pub struct Conn {
    activity: Activity,
    id: u64,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut live = self.tracker.lock();
        live.remove(&self.id);
        self.tracker.open.store(live.len(), Ordering::Relaxed);
    }
}

impl std::ops::Deref for Conn {
    type Target = Activity;

    fn deref(&self) -> &Activity {
        &self.activity
    }
}

/// What a connection's traffic tells the policy ([`Conn::active_at`], [`Conn::buffered`]),
/// detached from the [`Conn`] so that a hot thread serving it ([`crate::hot`]) can note it.
#[derive(Debug, Clone)]
pub struct Activity {
    tracker: Arc<Tracker>,
    entry: Arc<Entry>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Conn {
    /// A handle noting this connection's traffic from elsewhere (a hot thread).
    pub fn activity(&self) -> Activity {
        self.activity.clone()
    }

    /// How long a hot connection may wait for its next request on a hot thread
    /// ([`crate::hot`]): the tracker's hot window, stretched as [`Activity::back_to_back`]
    /// is by the open connections per serving core, never past the idle or frame timeouts;
    /// `None` when hot connections are off.
    pub fn hot_window(&self) -> Option<Duration> {
        let limits = self.tracker.limits;
        let window = self.tracker.hot_window()?.saturating_mul(self.share());
        Some(window.min(limits.idle).min(limits.frame))
    }

    /// Count one move of this connection to a hot thread.
    pub fn went_hot(&self) {
        self.tracker.hot.fetch_add(1, Ordering::Relaxed);
    }
}

impl Activity {
    /// Note traffic on the connection (it is no longer idle).
    pub fn active(&self) {
        self.active_at(Instant::now());
    }

    /// Whether the connection could go hot (hot connections are on): a cheap test before
    /// counting its back-to-back requests.
    pub fn may_go_hot(&self) -> bool {
        self.tracker.hot_window_us.load(Ordering::Relaxed) != 0
    }

    /// The longest gap between requests that still counts as back to back ([`crate::hot`]):
    /// `None` when hot connections are off, else [`crate::hot::BACK_TO_BACK`] times the open
    /// connections per serving core (at least once): busy lock-step clients sharing the cores
    /// each send their requests that much further apart.
    pub fn back_to_back(&self) -> Option<Duration> {
        if self.tracker.hot_window_us.load(Ordering::Relaxed) == 0 {
            return None;
        }
        Some(crate::hot::BACK_TO_BACK.saturating_mul(self.share()))
    }

    /// The open connections per serving core (at least 1).
    fn share(&self) -> u32 {
        let share = self.tracker.open().div_ceil(crate::cores::count()).max(1);
        u32::try_from(share).unwrap_or(u32::MAX)
    }

    /// Note traffic on the connection at `now` (a time the caller read already).
    pub fn active_at(&self, now: Instant) {
        let ms = now
            .saturating_duration_since(self.tracker.epoch)
            .as_millis();
        self.entry
            .last
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// After answering the whole frames received: `pending` bytes of an unfinished frame are
    /// left, and `progressed` tells whether any frame was finished. The frame timeout runs from
    /// the first byte of an unfinished frame.
    pub fn buffered(&self, pending: usize, progressed: bool) {
        let partial = &self.entry.partial_since;
        let since = partial.load(Ordering::Relaxed);
        if pending == 0 {
            if since != NO_PARTIAL {
                partial.store(NO_PARTIAL, Ordering::Relaxed);
            }
        } else if progressed || since == NO_PARTIAL {
            partial.store(self.tracker.now_ms(), Ordering::Relaxed);
            if since == NO_PARTIAL {
                self.entry.rearm.notify_one(); // the deadline may now be earlier
            }
        }
    }
}

impl Conn {
    /// When the connection must close if nothing changes, and why.
    fn deadline(&self) -> (Instant, Ended) {
        let limits = self.tracker.limits;
        let at = |ms: u64| self.tracker.epoch + Duration::from_millis(ms);
        let idle_at = at(self.entry.last.load(Ordering::Relaxed)) + limits.idle;
        match self.entry.partial_since.load(Ordering::Relaxed) {
            NO_PARTIAL => (idle_at, Ended::Idle(limits.idle)),
            since if at(since) + limits.frame < idle_at => {
                (at(since) + limits.frame, Ended::PartialFrame(limits.frame))
            }
            _ => (idle_at, Ended::Idle(limits.idle)),
        }
    }

    /// Resolve when the connection must close: idle too long, a frame unfinished too long, or
    /// displaced by a new connection. Wait on it beside the read; one future may be kept for
    /// the connection's life (traffic and [`Conn::buffered`] move its deadline).
    pub async fn expired(&self) -> Ended {
        loop {
            let (at, _) = self.deadline();
            tokio::select! {
                () = self.entry.evict.notified() => return Ended::Evicted,
                () = self.entry.rearm.notified() => continue,
                () = policy_sleep(at) => {}
            }
            // Traffic may have moved the deadline while we slept.
            let (at, why) = self.deadline();
            if at <= Instant::now() {
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
        // Most replies fit the socket's buffer: one attempt before arming the timer.
        let wrote = {
            let mut first = std::pin::pin!(stream.write(bytes));
            std::future::poll_fn(|cx| match first.as_mut().poll(cx) {
                Poll::Pending => Poll::Ready(Ok(0)),
                done => done,
            })
            .await
            .map_err(Ended::Write)?
        };
        let bytes = bytes.get(wrote..).unwrap_or_default();
        if bytes.is_empty() {
            // A reply is traffic too: the idle time runs from it, not from the request (a
            // delayed reply or a slow upstream must not eat into the client's idle time).
            self.active();
            return Ok(());
        }
        tokio::select! {
            biased; // the write usually completes at once: no eviction waiter is registered
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

/// A sleep until `deadline` for a session's long timers (the policy's, a session's own), on
/// the timer runtime when the process has one ([`crate::cores::timers`]), so that the serving
/// runtime's wheel stays empty while requests flow; else on the current runtime.
pub fn policy_sleep(deadline: Instant) -> tokio::time::Sleep {
    let _timers = crate::cores::timers().map(|h| h.enter());
    tokio::time::sleep_until(deadline)
}

/// A long-lived future polled only when its own wake-up fired since its last poll.
///
/// A connection's task waits in `select!` on its read beside futures that rarely complete (the
/// policy's [`Conn::expired`], a shutdown signal). Each wake-up for a request would poll them
/// all again (re-registering their wakers under locks); wrapped in this, they are polled once,
/// and then only after one of them woke the task. The future stays where the caller pinned it
/// (in the task, no allocation of its own).
#[derive(Debug)]
pub struct PollOnWake<'a, F> {
    inner: Pin<&'a mut F>,
    flag: Arc<WakeFlag>,
    waker: Waker,
}

/// Set by the inner future's wake-ups; forwards them to the task.
#[derive(Debug)]
struct WakeFlag {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = task.as_ref() {
            w.wake_by_ref();
        }
    }
}

impl<'a, F: Future> PollOnWake<'a, F> {
    /// Wrap `inner` (polled at the first poll, then on its own wake-ups only).
    pub fn new(inner: Pin<&'a mut F>) -> Self {
        let flag = Arc::new(WakeFlag {
            woken: AtomicBool::new(true),
            task: Mutex::new(None),
        });
        Self {
            inner,
            waker: Waker::from(Arc::clone(&flag)),
            flag,
        }
    }
}

impl<F: Future> Future for PollOnWake<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        {
            let mut task = this.flag.task.lock().unwrap_or_else(|e| e.into_inner());
            if !task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        if !this.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        this.inner
            .as_mut()
            .poll(&mut Context::from_waker(&this.waker))
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
        let c = t.admit();
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

    #[tokio::test(start_paused = true)]
    async fn one_waiter_kept_for_the_connection_sees_a_frame_begin_and_finish() {
        let t = Tracker::new(limits(10));
        let c = t.admit();
        let waiting = c.expired();
        tokio::pin!(waiting);
        // Waiting on the idle deadline (60 s) when a frame begins: its 5 s deadline applies.
        tokio::select! {
            _ = &mut waiting => panic!("expired early"),
            () = tokio::time::sleep(Duration::from_secs(1)) => c.buffered(3, false),
        }
        let start = Instant::now();
        assert!(matches!((&mut waiting).await, Ended::PartialFrame(_)));
        assert_eq!(start.elapsed(), Duration::from_secs(5));

        // A frame begun and then finished in time does not time out: the idle deadline holds.
        let c = t.admit();
        let waiting = c.expired();
        tokio::pin!(waiting);
        c.buffered(3, false);
        tokio::select! {
            _ = &mut waiting => panic!("expired early"),
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                c.active();
                c.buffered(0, true);
            }
        }
        let start = Instant::now();
        assert!(matches!(waiting.await, Ended::Idle(_)));
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }

    /// Counts its polls; ready once `done` is set; keeps the last waker.
    struct Probe {
        polls: Arc<AtomicU64>,
        done: Arc<AtomicBool>,
        waker: Arc<Mutex<Option<Waker>>>,
    }

    impl Future for Probe {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            match self.done.load(Ordering::Relaxed) {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        }
    }

    #[test]
    fn poll_on_wake_polls_the_inner_future_only_after_its_own_wake_up() {
        let (polls, done) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let waker = Arc::new(Mutex::new(None::<Waker>));
        let probe = std::pin::pin!(Probe {
            polls: polls.clone(),
            done: done.clone(),
            waker: waker.clone(),
        });
        let mut f = PollOnWake::new(probe);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..3 {
            assert!(Pin::new(&mut f).poll(&mut cx).is_pending());
        }
        assert_eq!(
            polls.load(Ordering::Relaxed),
            1,
            "polled once, then left alone"
        );
        let own = waker.lock().unwrap().clone().unwrap();
        own.wake_by_ref();
        assert!(Pin::new(&mut f).poll(&mut cx).is_pending());
        assert_eq!(
            polls.load(Ordering::Relaxed),
            2,
            "polled again after its wake-up"
        );
        done.store(true, Ordering::Relaxed);
        own.wake();
        assert!(Pin::new(&mut f).poll(&mut cx).is_ready());
        assert_eq!(polls.load(Ordering::Relaxed), 3);
    }
}
