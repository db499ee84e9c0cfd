//! The hot threads: one per serving core, each serving the hot connections handed to it in a
//! level-triggered epoll loop (one read, the session's answer and one write per readable
//! socket), or, holding a single connection, in that connection's blocking `read`.

use std::os::fd::{AsRawFd, RawFd};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{Ended, HotSession, Turn, CHUNK};
use crate::conn::Activity;
use crate::sys::{self, Epoll, EventFd};

/// How long a thread holding one connection sleeps in its `read` before it looks at its queue
/// again (a connection handed to it meanwhile waits at most this long); a connection quiet
/// that long is waited for in `epoll_wait` until its next request.
const SLICE: Duration = Duration::from_millis(1);
/// The shortest time between two looks for connections that have cooled (been quiet for their
/// window); between them, a thread waits until the first connection could cool.
const SWEEP: Duration = Duration::from_millis(5);
/// The epoll token of a thread's wake-up counter.
const WAKE: u64 = u64::MAX;
/// Readiness reports taken per `epoll_wait`.
const EVENTS: usize = 256;

/// A session waiting on a hot thread, its type erased.
pub(crate) trait Hosted: Send {
    /// The session answering the connection's requests.
    fn session(&mut self) -> &mut dyn HotSession;
    /// Give the session back to the connection's task.
    fn done(self: Box<Self>, ended: Ended);
}

/// A session of type `T` and where to send it back.
pub(crate) struct Job<T> {
    pub(crate) state: T,
    pub(crate) done: tokio::sync::oneshot::Sender<(T, Ended)>,
}

impl<T: HotSession> Hosted for Job<T> {
    fn session(&mut self) -> &mut dyn HotSession {
        &mut self.state
    }

    fn done(self: Box<Self>, ended: Ended) {
        let Job { state, done } = *self;
        let _ = done.send((state, ended)); // the task may be gone (its runtime stopped)
    }
}

/// One connection handed to a hot thread.
pub(crate) struct Hand {
    /// Its socket (the task keeps another reference, to shut it down).
    pub(crate) socket: Arc<std::net::TcpStream>,
    pub(crate) job: Box<dyn Hosted>,
    pub(crate) activity: Activity,
    /// Back to the reactor after this long without a request.
    pub(crate) window: Duration,
    /// Set when the task stops the connection.
    pub(crate) stop: Arc<AtomicBool>,
}

/// What the connection's task and a hot thread share.
struct Worker {
    queue: Mutex<Vec<Hand>>,
    queued: AtomicBool,
    wake: EventFd,
    /// Connections held or queued.
    held: AtomicUsize,
}

/// The hot threads.
pub(crate) struct Pool {
    workers: Vec<Arc<Worker>>,
}

/// The hot threads, started at the first call (one per serving core); `None` if none could
/// be started (connections then stay in the reactor).
pub(crate) fn get() -> Option<&'static Pool> {
    static POOL: OnceLock<Option<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut workers = Vec::new();
        for i in 0..crate::cores::count() {
            match start(i) {
                Ok(w) => workers.push(w),
                Err(e) => {
                    eprintln!("cpppo: hot thread {i} not started: {e}");
                    break;
                }
            }
        }
        (!workers.is_empty()).then_some(Pool { workers })
    })
    .as_ref()
}

/// Start hot thread `i`, waiting in `epoll_wait` for its first connection.
fn start(i: usize) -> std::io::Result<Arc<Worker>> {
    let worker = Arc::new(Worker {
        queue: Mutex::new(Vec::new()),
        queued: AtomicBool::new(false),
        wake: EventFd::new()?,
        held: AtomicUsize::new(0),
    });
    let epoll = Epoll::new()?;
    epoll.add(worker.wake.as_raw_fd(), WAKE)?;
    let w = Arc::clone(&worker);
    std::thread::Builder::new()
        .name(format!("cpppo-hot-{i}"))
        .spawn(move || Loop::new(&w, epoll).run())?;
    Ok(worker)
}

impl Pool {
    /// Hand a connection to the hot thread holding the fewest.
    pub(crate) fn hand(&self, hand: Hand) {
        let Some(w) = self
            .workers
            .iter()
            .min_by_key(|w| w.held.load(Ordering::Relaxed))
        else {
            return hand.job.done(Ended::Reactor); // unreachable: a pool has a thread
        };
        w.held.fetch_add(1, Ordering::Relaxed);
        w.queue.lock().unwrap_or_else(|e| e.into_inner()).push(hand);
        w.queued.store(true, Ordering::Release);
        w.wake.signal();
    }
}

/// One connection a hot thread holds.
struct Slot {
    hand: Hand,
    fd: RawFd,
    /// When its last request arrived (or it came to this thread).
    last: Instant,
}

/// What serving a connection once decided.
enum Step {
    /// Answered; keep it.
    Keep,
    /// Nothing to read yet; keep it.
    Quiet,
    Leave(Ended),
}

/// A hot thread's state.
struct Loop<'a> {
    worker: &'a Worker,
    epoll: Epoll,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    count: usize,
    /// The slot of the only connection held, when one is.
    only: Option<usize>,
    /// The only connection's last read found nothing (wait for it in `epoll_wait`).
    quiet: bool,
    now: Instant,
    sweep_at: Instant,
}

impl<'a> Loop<'a> {
    fn new(worker: &'a Worker, epoll: Epoll) -> Self {
        let now = Instant::now();
        Loop {
            worker,
            epoll,
            slots: Vec::new(),
            free: Vec::new(),
            count: 0,
            only: None,
            quiet: false,
            now,
            sweep_at: now,
        }
    }

    fn run(mut self) {
        let mut events = vec![sys::no_event(); EVENTS];
        loop {
            if self.worker.queued.swap(false, Ordering::Acquire) {
                self.take_queue();
            }
            if let Some(i) = self.only.filter(|_| !self.quiet) {
                // The only connection, busy: wait for its next request in `read` (up to SLICE).
                self.serve(i, true);
                continue;
            }
            let timeout = match self.count {
                0 => None, // nothing held: sleep until a connection is handed over
                _ => Some(self.sweep_at.saturating_duration_since(self.now)),
            };
            let n = match self.epoll.wait(&mut events, timeout) {
                Ok(n) => n,
                Err(e) => {
                    // Not expected (a bad epoll descriptor): give every connection back.
                    eprintln!("cpppo: hot thread: epoll_wait failed: {e}");
                    self.release_all();
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            self.now = Instant::now();
            for ev in events.iter().take(n) {
                match sys::event_token(ev) {
                    WAKE => self.worker.wake.drain(),
                    i => self.serve(usize::try_from(i).unwrap_or(usize::MAX), false),
                }
            }
            if self.now >= self.sweep_at {
                self.sweep();
            }
        }
    }

    /// Take the connections handed over.
    fn take_queue(&mut self) {
        let hands =
            std::mem::take(&mut *self.worker.queue.lock().unwrap_or_else(|e| e.into_inner()));
        self.now = Instant::now();
        for hand in hands {
            self.enter(hand);
        }
    }

    /// Hold `hand`'s connection: blocking (for a read while it is the only one) with a short
    /// receive timeout, watched by this thread's epoll.
    fn enter(&mut self, mut hand: Hand) {
        let socket = &hand.socket;
        let fd = socket.as_raw_fd();
        let ready = socket
            .set_nonblocking(false)
            .and_then(|()| sys::set_receive_timeout(&**socket, SLICE));
        if let Err(e) = ready {
            return self.release(hand, Ended::Failed(e));
        }
        // Replies left by the reactor (none usually) go first.
        if let Step::Leave(ended) = write(fd, hand.job.session()) {
            return self.release(hand, ended);
        }
        let i = self.free.pop().unwrap_or(self.slots.len());
        if let Err(e) = self.epoll.add(fd, i as u64) {
            return self.release(hand, Ended::Failed(e));
        }
        let slot = Slot {
            hand,
            fd,
            last: self.now,
        };
        match self.slots.get_mut(i) {
            Some(s) => *s = Some(slot),
            None => self.slots.push(Some(slot)),
        }
        self.count += 1;
        self.only = (self.count == 1).then_some(i);
        self.quiet = false;
        self.sweep_at = self.sweep_at.min(self.now + slot_window(&self.slots, i));
    }

    /// Serve slot `i` once: read what it has (`wait`: block, it is the only one), answer,
    /// write; let it go if it leaves the hot state.
    fn serve(&mut self, i: usize, wait: bool) {
        let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return; // let go earlier in this batch
        };
        let stepped =
            std::panic::catch_unwind(AssertUnwindSafe(|| step(slot, wait, &mut self.now)));
        match stepped {
            Ok(Step::Keep) => self.quiet = false,
            Ok(Step::Quiet) => self.quiet = wait,
            Ok(Step::Leave(ended)) => self.leave(i, ended),
            Err(_) => {
                // The session panicked: its task learns it (the job is dropped unanswered).
                if let Some(slot) = self.remove(i) {
                    let _ = self.epoll.delete(slot.fd);
                    drop(slot.hand.socket);
                    self.worker.held.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Let go of the connections quiet for their window, and the stopped ones; look again
    /// when the first of the others could cool (not sooner than [`SWEEP`]).
    fn sweep(&mut self) {
        let now = self.now;
        let mut next: Option<Instant> = None;
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots.get(i).and_then(Option::as_ref) else {
                continue;
            };
            if cooled(slot, now) {
                self.leave(i, Ended::Reactor);
            } else {
                let at = slot.last + slot.hand.window;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        self.sweep_at = next.unwrap_or(now).max(now + SWEEP);
    }

    /// Stop holding slot `i` and give its session back.
    fn leave(&mut self, i: usize, ended: Ended) {
        if let Some(slot) = self.remove(i) {
            let _ = self.epoll.delete(slot.fd);
            self.release(slot.hand, ended);
        }
    }

    fn remove(&mut self, i: usize) -> Option<Slot> {
        let slot = self.slots.get_mut(i)?.take()?;
        self.free.push(i);
        self.count -= 1;
        self.only = match self.count {
            1 => self.slots.iter().position(Option::is_some),
            _ => None,
        };
        self.quiet = false;
        Some(slot)
    }

    /// Give a session back to its task (the socket reference first: the task takes it back).
    fn release(&self, hand: Hand, ended: Ended) {
        let Hand { socket, job, .. } = hand;
        drop(socket);
        self.worker.held.fetch_sub(1, Ordering::Relaxed);
        job.done(ended);
    }

    /// Give every connection back (the loop cannot wait any more).
    fn release_all(&mut self) {
        for i in 0..self.slots.len() {
            self.leave(i, Ended::Reactor);
        }
    }
}

/// The hot window of slot `i` (zero if empty).
fn slot_window(slots: &[Option<Slot>], i: usize) -> Duration {
    slots
        .get(i)
        .and_then(Option::as_ref)
        .map_or(Duration::ZERO, |s| s.hand.window)
}

/// Whether a connection has been quiet for its window at `now`, or was stopped.
fn cooled(slot: &Slot, now: Instant) -> bool {
    now.saturating_duration_since(slot.last) >= slot.hand.window
        || slot.hand.stop.load(Ordering::Acquire)
}

/// One read (blocking up to [`SLICE`] when `wait`), the answers, one write.
fn step(slot: &mut Slot, wait: bool, now: &mut Instant) -> Step {
    let fd = slot.fd;
    let session = slot.hand.job.session();
    let read = match sys::recv_appended(fd, session.input(), CHUNK, wait) {
        Ok(0) => return Step::Leave(Ended::Closed),
        Ok(n) => n,
        Err(e) => {
            return match e.kind() {
                std::io::ErrorKind::WouldBlock
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::Interrupted => {
                    if wait {
                        *now = Instant::now();
                    }
                    match cooled(slot, *now) {
                        true => Step::Leave(Ended::Reactor),
                        false => Step::Quiet,
                    }
                }
                _ => Step::Leave(Ended::Failed(e)),
            };
        }
    };
    if wait {
        *now = Instant::now(); // it slept in read: the clock moved
    }
    slot.last = *now;
    let activity = &slot.hand.activity;
    activity.active_at((*now).into());
    match session.answer(read, *now) {
        Turn::Answered { progressed } => activity.buffered(session.input().len(), progressed),
        Turn::Leave => return Step::Leave(Ended::Reactor),
    }
    write(fd, session)
}

/// Write the session's replies at once; a reply the socket cannot take whole sends the
/// connection back to the reactor (which finishes it under the write timeout).
fn write(fd: RawFd, session: &mut dyn HotSession) -> Step {
    let out = session.output();
    if out.is_empty() {
        return Step::Keep;
    }
    match sys::send_now(fd, out) {
        Ok(n) if n == out.len() => {
            out.clear();
            if out.capacity() > CHUNK {
                *out = Vec::new(); // a large reply's buffer is not kept
            }
            Step::Keep
        }
        Ok(n) => {
            out.drain(..n);
            Step::Leave(Ended::Reactor)
        }
        Err(e) => Step::Leave(Ended::Failed(e)),
    }
}
