//! The class 1 producers' clock: one per tokio runtime, shared by every adapter driver on it
//! ([`super::io::serve_io`]: each fleet device's, `cpppo enip server`'s UDP 2222).
//!
//! It keeps every armed adapter's next due time in a heap and ONE `timerfd` (CLOCK_MONOTONIC,
//! absolute) set for the earliest, rounded up to a 100 µs grain. When it fires, its task wakes
//! exactly the adapters then due. A fleet of 1,000 devices at RPI 10 ms so pays one wake-up
//! and one `timerfd_settime` per grain (~10 frames), where a timer per adapter paid one per
//! frame; and a frame due at t + 0.3 ms leaves at t + 0.3 ms, where tokio's millisecond wheel
//! holds it, with every other frame due in that millisecond, to the next tick. With nothing
//! armed the timerfd is disarmed: an idle fleet does not wake.
//!
//! Tokio's timer stands in where no timerfd can be had, or with `CPPPO_IO_CLOCK=tokio` (to
//! compare the two in bench/io).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use cpppo_net::sys::Timerfd;
use tokio::io::unix::AsyncFd;
use tokio::runtime::Handle;
use tokio::sync::Notify;

/// One adapter's place on its runtime's clock: armed for one instant at a time.
pub(crate) struct IoClock {
    shared: Arc<Shared>,
    slot: usize,
    armed: Option<Instant>,
}

/// The runtime's clock, shared by its adapters and its task.
struct Shared {
    state: Mutex<State>,
    /// The timer (`None`: the task sleeps on tokio's timer).
    fd: Option<AsyncFd<Timerfd>>,
    /// Tells the task, when it sleeps on tokio's timer, that the earliest time moved.
    moved: Notify,
}

#[derive(Default)]
struct State {
    /// (due, slot), earliest first; an entry whose slot is due at another time is stale.
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// Slots armed.
    armed: usize,
    /// What the timer is set to.
    set: Option<Instant>,
    /// The timerfd failed: tokio's timer from now on.
    on_tokio: bool,
}

#[derive(Default)]
struct Slot {
    /// Bumped when the slot is freed: a [`Kick`] for its former adapter does nothing.
    generation: u64,
    due: Option<Instant>,
    /// Its time came; the adapter has not seen it yet.
    fired: bool,
    waker: Option<Waker>,
}

/// The clocks of the process, one per runtime (a dead one is replaced).
static CLOCKS: Mutex<Vec<(tokio::runtime::Id, Weak<Shared>)>> = Mutex::new(Vec::new());

impl IoClock {
    /// A place on the current runtime's clock, disarmed (the clock and its task are made with
    /// the runtime's first). Call inside a tokio runtime.
    pub(crate) fn new() -> Self {
        let shared = Shared::current();
        let slot = {
            let mut s = shared.lock();
            match s.free.pop() {
                Some(i) => i,
                None => {
                    s.slots.push(Slot::default());
                    s.slots.len() - 1
                }
            }
        };
        IoClock {
            shared,
            slot,
            armed: None,
        }
    }

    /// A handle that makes [`IoClock::poll_fired`] ready at once, from anywhere.
    pub(crate) fn kick(&self) -> Kick {
        let generation = self
            .shared
            .lock()
            .slots
            .get(self.slot)
            .map_or(0, |s| s.generation);
        Kick {
            shared: Arc::downgrade(&self.shared),
            slot: self.slot,
            generation,
        }
    }

    /// Fire at `at` (`None`: not at all), instead of any time armed before.
    pub(crate) fn arm(&mut self, at: Option<Instant>) {
        if at == self.armed {
            return;
        }
        self.armed = at;
        let mut s = self.shared.lock();
        let Some(slot) = s.slots.get_mut(self.slot) else {
            return;
        };
        let was = std::mem::replace(&mut slot.due, at);
        slot.fired = false;
        match (was.is_some(), at) {
            (false, Some(_)) => s.armed += 1,
            (true, None) => s.armed -= 1,
            _ => {}
        }
        if let Some(t) = at {
            s.heap.push(Reverse((t, self.slot)));
            s.compact();
        }
        let earliest = match (s.armed, at) {
            (0, _) => {
                s.heap.clear();
                None
            }
            (_, Some(t)) if s.set.is_none_or(|set| on_grid(t) < set) => Some(on_grid(t)),
            _ => return,
        };
        self.shared.set_timer(&mut s, earliest);
    }

    /// Ready once the armed time has come (the clock is then disarmed), or after a [`Kick`].
    pub(crate) fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.shared.lock();
        let Some(slot) = s.slots.get_mut(self.slot) else {
            return Poll::Pending;
        };
        if std::mem::take(&mut slot.fired) {
            self.armed = None;
            return Poll::Ready(());
        }
        match &slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for IoClock {
    fn drop(&mut self) {
        self.arm(None);
        let mut s = self.shared.lock();
        if let Some(slot) = s.slots.get_mut(self.slot) {
            *slot = Slot {
                generation: slot.generation.wrapping_add(1),
                ..Slot::default()
            };
            s.free.push(self.slot);
        }
    }
}

/// Makes an adapter's [`IoClock::poll_fired`] ready at once (its schedule changed).
pub(crate) struct Kick {
    shared: Weak<Shared>,
    slot: usize,
    generation: u64,
}

impl Kick {
    /// Wake the adapter now.
    pub(crate) fn kick(&self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let waker = {
            let mut s = shared.lock();
            match s.slots.get_mut(self.slot) {
                Some(slot) if slot.generation == self.generation => {
                    slot.fired = true;
                    slot.waker.take()
                }
                _ => None,
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl State {
    /// Rebuild the heap from the armed slots once stale entries outnumber them (adapters
    /// re-armed for other times faster than those times came).
    fn compact(&mut self) {
        if self.heap.len() <= 2 * self.armed + 64 {
            return;
        }
        self.heap = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.due.map(|t| Reverse((t, i))))
            .collect();
    }
}

impl Shared {
    /// The current runtime's clock, made (and its task spawned) if it has none.
    fn current() -> Arc<Shared> {
        let rt = Handle::current();
        let id = rt.id();
        let mut clocks = CLOCKS.lock().unwrap_or_else(|e| e.into_inner());
        clocks.retain(|(_, w)| w.strong_count() > 0);
        if let Some(shared) = clocks
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, w)| w.upgrade())
        {
            return shared;
        }
        let fd = match std::env::var("CPPPO_IO_CLOCK").as_deref() {
            Ok("tokio") => None,
            _ => match Timerfd::new().and_then(Timerfd::register) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    tracing::debug!("no timerfd for the I/O clock, on tokio's timer instead: {e}");
                    None
                }
            },
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            fd,
            moved: Notify::new(),
        });
        clocks.push((id, Arc::downgrade(&shared)));
        rt.spawn(shared.clone().run());
        shared
    }

    /// The state (a poisoned lock is taken over: it is consistent between calls).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Set the timer for `at` (`None`: disarmed), if it is not already.
    fn set_timer(&self, s: &mut State, at: Option<Instant>) {
        if s.set == at {
            return;
        }
        s.set = at;
        if let Some(fd) = self.fd.as_ref().filter(|_| !s.on_tokio) {
            match fd.get_ref().set(at) {
                Ok(()) => return,
                Err(e) => {
                    tracing::debug!("timerfd failed, the I/O clock is on tokio's timer: {e}");
                    s.on_tokio = true;
                }
            }
        }
        self.moved.notify_one();
    }

    /// The clock's task: wait for the timer, wake the adapters due, set it for the next.
    async fn run(self: Arc<Self>) {
        let mut due = Vec::new();
        loop {
            self.wait().await;
            self.fire(Instant::now(), &mut due);
            for w in due.drain(..) {
                w.wake();
            }
        }
    }

    /// Until the timer fires (or, on tokio's timer, the earliest time moved).
    async fn wait(&self) {
        let on_tokio = self.lock().on_tokio;
        if let Some(fd) = self.fd.as_ref().filter(|_| !on_tokio) {
            match fd.readable().await {
                Ok(mut ready) => return ready.clear_ready(),
                Err(e) => {
                    tracing::debug!("timerfd failed, the I/O clock is on tokio's timer: {e}");
                    self.lock().on_tokio = true;
                }
            }
        }
        let moved = self.moved.notified();
        let set = self.lock().set;
        match set {
            Some(at) => {
                tokio::select! {
                    _ = moved => {}
                    _ = tokio::time::sleep_until(at.into()) => {}
                }
            }
            None => moved.await,
        }
    }

    /// Mark the slots due at `now` fired, their wakers into `wake`; set the timer for the next.
    fn fire(&self, now: Instant, wake: &mut Vec<Waker>) {
        let mut s = self.lock();
        let s = &mut *s;
        while let Some(&Reverse((due, i))) = s.heap.peek() {
            let Some(slot) = s.slots.get_mut(i) else {
                s.heap.pop();
                continue;
            };
            let live = slot.due == Some(due);
            if live && due > now {
                break;
            }
            s.heap.pop();
            if live {
                slot.due = None;
                slot.fired = true;
                s.armed -= 1;
                wake.extend(slot.waker.take());
            }
        }
        if s.armed == 0 {
            s.heap.clear();
        }
        let next = s.heap.peek().map(|Reverse((t, _))| on_grid(*t));
        self.set_timer(s, next);
    }
}

/// The clock's grain: it is set to the next multiple of it (from a process-wide origin), so
/// the adapters due within one grain (1,000 at RPI 10 ms: ~10 per 100 µs) are woken at once,
/// each frame leaving at most one grain late.
const GRAIN: Duration = Duration::from_micros(100);

/// `at` rounded up to the clock's grain.
fn on_grid(at: Instant) -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    let grain = GRAIN.as_nanos();
    let since = at.saturating_duration_since(origin).as_nanos();
    let up = since.div_ceil(grain) * grain;
    let extra = u64::try_from(up - since).unwrap_or(0);
    at + Duration::from_nanos(extra)
}
