//! Hot connections: connections answering requests back to back are served by a few hot
//! threads, each in a level-triggered epoll loop, as a C echo server would serve them.
//!
//! A reactor answers a lock-step request with `epoll_wait`, a task wake-up, the read, the
//! reply and the write, plus the glue of its tasks. A hot thread only reads, answers and
//! writes: with many connections it waits in `epoll_wait` and then, for each readable socket,
//! does one read, lets the session answer, and does one write; holding a single connection it
//! sleeps in that connection's `read` instead. When a connection has answered [`HOT_AFTER`]
//! requests each within [`BACK_TO_BACK`] of the one before, its server moves it out of the
//! reactor ([`serve`]), however many connections are open: its socket is deregistered from the
//! reactor and handed to the hot thread (one per serving core, [`crate::cores::count`]) holding the fewest. It
//! goes back to the reactor, its session intact, when no request came within the hot window
//! ([`WINDOW`] by default; checked from the clock read once per loop turn, no timer per
//! connection), when a reply cannot be written at once, or when the session needs the reactor
//! (a routed request, a close, a frame it does not handle here). Idle connections are never
//! hot, and a hot thread holding none sleeps in `epoll_wait` with no timeout.
//!
//! What ends a connection keeps working while it is hot: the server's task still waits on its
//! stop future (the connection policy's timeouts and displacement, a shutdown); when it fires
//! the socket is shut down, the hot thread sees the end of the stream at once and the task ends
//! the session. The hot thread notes the traffic for the policy ([`crate::conn::Activity`]).
//!
//! `CPPPO_HOT_MS` sets the window in milliseconds for servers of this process; `0` turns hot
//! connections off ([`configured_window`]). A tracker's own setting:
//! [`crate::conn::Tracker::set_hot_window`].

mod pool;

use std::any::Any;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::AsyncRead;

use crate::conn::Conn;

/// Back-to-back requests answered before a connection goes hot.
pub const HOT_AFTER: u32 = 8;
/// Requests arriving within this time of the one before count as back to back (with one
/// connection per serving core; more connections stretch it, [`crate::conn::Activity::back_to_back`]).
pub const BACK_TO_BACK: Duration = Duration::from_millis(1);
/// How long a hot connection waits for its next request before going back to the reactor.
pub const WINDOW: Duration = Duration::from_millis(20);
/// Bytes read at a time.
pub(crate) const CHUNK: usize = 4096;

/// The hot window for this process: `CPPPO_HOT_MS` milliseconds (`0`: hot connections off),
/// else [`WINDOW`].
pub fn configured_window() -> Duration {
    static WINDOW_MS: OnceLock<Duration> = OnceLock::new();
    *WINDOW_MS.get_or_init(|| match std::env::var("CPPPO_HOT_MS") {
        Err(_) => WINDOW,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                // Said once, in one line; the default stands.
                eprintln!(
                    "cpppo: CPPPO_HOT_MS={v:?} is not a whole number of milliseconds; using {} ms",
                    WINDOW.as_millis()
                );
                WINDOW
            }
        },
    })
}

/// Counts requests arriving back to back on one connection.
#[derive(Debug, Default, Clone)]
pub struct Streak {
    /// A request arriving before this is back to back with the last one.
    until: Option<Instant>,
    run: u32,
}

impl Streak {
    /// A request arrived at `at`; whether the connection now counts as hot.
    pub fn arrived(&mut self, at: Instant) -> bool {
        self.arrived_within(at, BACK_TO_BACK)
    }

    /// A request arrived at `at`, back to back if within `gap` of the one before
    /// ([`crate::conn::Activity::back_to_back`]); whether the connection now counts as hot.
    pub fn arrived_within(&mut self, at: Instant, gap: Duration) -> bool {
        let close = self.until.is_some_and(|until| at <= until);
        self.until = at.checked_add(gap);
        self.run = if close { self.run.saturating_add(1) } else { 0 };
        self.run >= HOT_AFTER
    }

    /// Whether the last [`HOT_AFTER`] requests came back to back.
    pub fn hot(&self) -> bool {
        self.run >= HOT_AFTER
    }

    /// Start counting again (the connection just left its thread).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// What a hot connection's server does with the bytes read, on the connection's thread.
pub trait HotSession: Send + 'static {
    /// The buffer received bytes are appended to (whole frames are consumed by `answer`).
    fn input(&mut self) -> &mut Vec<u8>;

    /// Answer every whole frame in [`HotSession::input`] (`read` bytes just arrived, at
    /// `now`), appending the replies to [`HotSession::output`].
    fn answer(&mut self, read: usize, now: Instant) -> Turn;

    /// Replies not yet written.
    fn output(&mut self) -> &mut Vec<u8>;
}

/// What [`HotSession::answer`] asks of the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Write the replies and read on; `progressed`: a frame was finished.
    Answered {
        /// Whether at least one whole frame was consumed.
        progressed: bool,
    },
    /// Go back to the reactor (the session needs it); the replies are not written yet.
    Leave,
}

/// How a hot spell ended.
#[derive(Debug)]
pub enum Left<S, R> {
    /// Back in the reactor, session state intact: serve it there. Unwritten replies, if any,
    /// are in the session's [`HotSession::output`].
    Reactor(S),
    /// The peer closed the connection.
    Closed,
    /// Reading, writing or changing the socket's mode failed.
    Failed(io::Error),
    /// The stop future resolved (the socket was shut down).
    Stopped(R),
}

/// Read what `stream` has into `buf`'s spare capacity (reserving [`CHUNK`] bytes when it has
/// none), appending it; the count read (0: the peer closed). A leaner `read_buf` for a `Vec`.
pub async fn read_appended<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    if buf.spare_capacity_mut().is_empty() {
        buf.reserve(CHUNK);
    }
    std::future::poll_fn(|cx| {
        let mut spare = tokio::io::ReadBuf::uninit(buf.spare_capacity_mut());
        match Pin::new(&mut *stream).poll_read(cx, &mut spare) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        let n = spare.filled().len();
        // SAFETY: the first `n` bytes of the spare capacity were filled (initialised) by the
        // read, as `ReadBuf` guarantees.
        unsafe { buf.set_len(buf.len() + n) };
        Poll::Ready(Ok(n))
    })
    .await
}

/// `a` as a `B` when it is one.
fn cast<A: 'static, B: 'static>(a: A) -> Result<B, A> {
    let mut slot = Some(a);
    if let Some(b) = (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<B>>()
        .and_then(Option::take)
    {
        return Ok(b);
    }
    match slot {
        Some(a) => Err(a),
        None => unreachable!("taken only when A is B"),
    }
}

/// Whether `stream` could be served hot (a host TCP stream).
pub fn is_host<S: 'static>() -> bool {
    std::any::TypeId::of::<S>() == std::any::TypeId::of::<tokio::net::TcpStream>()
}

/// Shuts the socket down if the task waiting on the thread is dropped (the runtime stops).
struct Abort {
    socket: Arc<std::net::TcpStream>,
    stop: Arc<AtomicBool>,
    armed: bool,
}

impl Abort {
    fn fire(&mut self) {
        if self.armed {
            self.armed = false;
            self.stop.store(true, Ordering::Release);
            let _ = self.socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Abort {
    fn drop(&mut self) {
        self.fire();
    }
}

/// Serve `stream` on a hot thread until it leaves the hot state (see the module
/// documentation); `state` does the answering and comes back in every case. `stop` is what
/// ends the connection (it stays in the calling task). `window` bounds the wait for each
/// request ([`Conn::hot_window`]). A stream that is not a host TCP stream comes straight back,
/// as does every stream when no hot thread can be started.
pub async fn serve<S, T, R>(
    stream: S,
    state: T,
    conn: &Conn,
    window: Duration,
    mut stop: Pin<&mut impl Future<Output = R>>,
) -> (T, Left<S, R>)
where
    S: 'static,
    T: HotSession,
{
    let Some(pool) = pool::get() else {
        return (state, Left::Reactor(stream));
    };
    let tcp = match cast::<S, tokio::net::TcpStream>(stream) {
        Ok(tcp) => tcp,
        Err(stream) => return (state, Left::Reactor(stream)),
    };
    let socket = match tcp.into_std() {
        Ok(s) => Arc::new(s),
        Err(e) => return (state, Left::Failed(e)),
    };
    conn.went_hot();
    let flag = Arc::new(AtomicBool::new(false));
    let (done, mut rx) = tokio::sync::oneshot::channel();
    let mut abort = Abort {
        socket: Arc::clone(&socket),
        stop: Arc::clone(&flag),
        armed: true,
    };
    pool.hand(pool::Hand {
        socket: Arc::clone(&socket),
        job: Box::new(pool::Job { state, done }),
        activity: conn.activity(),
        window,
        stop: flag,
    });
    let (stopped, got) = tokio::select! {
        why = stop.as_mut() => {
            abort.fire();
            (Some(why), (&mut rx).await)
        }
        got = &mut rx => (None, got),
    };
    let Ok((state, ended)) = got else {
        // The session panicked on the hot thread: so does this task (as it would have itself).
        panic!("a hot connection's session panicked");
    };
    abort.armed = false;
    drop(abort);
    if let Some(why) = stopped {
        return (state, Left::Stopped(why));
    }
    let left = match ended {
        Ended::Reactor => back(socket),
        Ended::Closed => Left::Closed,
        Ended::Failed(e) => Left::Failed(e),
    };
    (state, left)
}

/// The socket back in this task's reactor, as `S`.
fn back<S: 'static, R>(socket: Arc<std::net::TcpStream>) -> Left<S, R> {
    let socket = match Arc::try_unwrap(socket) {
        Ok(s) => s,
        Err(_) => return Left::Failed(io::Error::other("hot socket still shared")),
    };
    let tcp = match socket
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpStream::from_std(socket))
    {
        Ok(tcp) => tcp,
        Err(e) => return Left::Failed(e),
    };
    match cast::<tokio::net::TcpStream, S>(tcp) {
        Ok(s) => Left::Reactor(s),
        Err(_) => Left::Failed(io::Error::other("not the stream type served")),
    }
}

/// How a hot thread let a connection go.
#[derive(Debug)]
pub(crate) enum Ended {
    /// Back to the reactor.
    Reactor,
    /// The peer closed the connection (or it was shut down).
    Closed,
    /// Reading or writing failed.
    Failed(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_needs_back_to_back_requests_and_restarts_after_a_gap() {
        let mut s = Streak::default();
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        for i in 0..HOT_AFTER {
            assert!(!s.arrived(at(u64::from(i) * 100)), "request {i}");
        }
        assert!(s.arrived(at(u64::from(HOT_AFTER) * 100)));
        assert!(s.hot());
        // A pause longer than BACK_TO_BACK starts the count again.
        assert!(!s.arrived(at(10_000_000)));
        assert!(!s.hot());
    }

    #[test]
    fn cast_moves_only_the_same_type() {
        assert_eq!(cast::<u32, u32>(7), Ok(7));
        assert_eq!(cast::<u32, u64>(7), Err(7));
    }
}
