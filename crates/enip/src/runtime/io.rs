//! The tokio driver of the class 1 I/O adapter ([`crate::server::io`]): moves datagrams
//! between a UDP socket (port 2222, or any [`Datagram`] such as a fleet device's) and the
//! adapter, sleeps until its next timer, and logs its events. No protocol decisions here.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use cpppo_net::sys::Timerfd;
use cpppo_net::Datagram;
use tokio::io::unix::AsyncFd;
use tokio::sync::{watch, Notify};
use tokio::time::Sleep;

use crate::server::io::{IoEvent, IoHub};

/// Serve the adapter of `hub` on `sock` until `shutdown` fires.
pub async fn serve_io<D: Datagram>(sock: D, hub: Arc<IoHub>, mut shutdown: watch::Receiver<bool>) {
    let notify = Arc::new(Notify::new());
    {
        let n = notify.clone();
        hub.set_waker(Box::new(move || n.notify_one()));
    }
    let local = sock.local_addr().ok();
    // Frames due at once are built under the lock and sent after it is released.
    let mut due: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    // The waits live across turns: the clock moves only when the schedule does, and the
    // notification and shutdown waits stay registered (a turn per frame registered all three
    // anew, most of a frame's cost in the fleet).
    let mut clock = IoClock::new();
    let notified = notify.notified();
    tokio::pin!(notified);
    let stop = shutdown.changed();
    tokio::pin!(stop);
    loop {
        let next = {
            let mut a = hub.lock();
            let now = Instant::now();
            a.handle_timeout(now);
            let mut buf = spare.pop().unwrap_or_default();
            while let Some(dest) = a.poll_transmit(now, &mut buf) {
                due.push((
                    dest,
                    std::mem::replace(&mut buf, spare.pop().unwrap_or_default()),
                ));
            }
            spare.push(buf);
            while let Some(e) = a.poll_event() {
                log(&e, local);
            }
            a.poll_timeout()
        };
        for (dest, frame) in due.drain(..) {
            if let Err(e) = sock.send_to(&frame, dest).await {
                tracing::debug!(%dest, "I/O send failed: {e}");
            }
            spare.push(frame);
        }
        clock.arm(next);
        tokio::select! {
            got = sock.recv() => match got {
                Ok((packet, rx)) => {
                    hub.lock().handle_datagram(Instant::now(), rx.peer, &packet);
                }
                Err(e) => tracing::debug!("I/O receive failed: {e}"),
            },
            _ = std::future::poll_fn(|cx| clock.poll_fired(cx)), if clock.armed.is_some() => {}
            _ = &mut notified => notified.set(notify.notified()),
            _ = &mut stop => return,
        }
    }
}

/// When the adapter next has work, kept on a `timerfd` (CLOCK_MONOTONIC, absolute): a frame
/// due at t + 0.3 ms leaves then, where tokio's millisecond wheel would hold it to the next
/// tick (and 1,000 producers' frames due within that millisecond would leave as one burst).
/// Tokio's timer stands in where no timerfd can be had (out of descriptors), and while more
/// than [`PRECISE_UP_TO`] adapters of the process are armed: a timerfd costs a system call and
/// a wake-up per frame, which a fleet of 1,000 devices at RPI 10 ms cannot afford (bench/io,
/// RESULTS "Session 8 close"), where tokio fires a whole millisecond's frames at once.
/// Disarmed, it costs nothing: an idle adapter does not wake.
struct IoClock {
    fd: Option<AsyncFd<Timerfd>>,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    /// Whether the armed time is on the timerfd (else on `sleep`).
    on_fd: bool,
}

/// Armed I/O clocks in the process (adapters with a frame or a timeout to come).
static ARMED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Up to this many armed I/O clocks in the process keep sub-millisecond precision on their
/// timerfds; beyond it they fall back to tokio's millisecond timer.
pub const PRECISE_UP_TO: usize = 64;

impl IoClock {
    fn new() -> Self {
        // CPPPO_IO_CLOCK=tokio keeps tokio's millisecond timer (to compare the two in bench/io).
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
        IoClock {
            fd,
            sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            armed: None,
            on_fd: false,
        }
    }

    /// Note whether this clock is armed in the process-wide count.
    fn count(&mut self, at: Option<Instant>) {
        use std::sync::atomic::Ordering::Relaxed;
        match (self.armed.is_some(), at.is_some()) {
            (false, true) => {
                ARMED.fetch_add(1, Relaxed);
            }
            (true, false) => {
                ARMED.fetch_sub(1, Relaxed);
            }
            _ => {}
        }
        self.armed = at;
    }

    /// Wake at `at` (`None`: not at all).
    fn arm(&mut self, at: Option<Instant>) {
        if at == self.armed {
            return;
        }
        self.count(at);
        let precise = ARMED.load(std::sync::atomic::Ordering::Relaxed) <= PRECISE_UP_TO;
        if let Some(fd) = &self.fd {
            // Off the timerfd, it is disarmed (a stale expiry would only make an early turn).
            let on_fd = precise || self.on_fd;
            let set = match precise {
                true => fd.get_ref().set(at.map(on_grid)),
                false if on_fd => fd.get_ref().set(None),
                false => Ok(()),
            };
            match set {
                Ok(()) if precise => {
                    self.on_fd = true;
                    return;
                }
                Ok(()) => self.on_fd = false,
                Err(e) => {
                    tracing::debug!("timerfd failed, the I/O clock is on tokio's timer: {e}");
                    self.fd = None;
                    self.on_fd = false;
                }
            }
        }
        if let Some(t) = at {
            self.sleep.as_mut().reset(t.into());
        }
    }

    /// Ready once the armed time has passed (then disarmed). A stale expiry (the clock was
    /// moved after it fired) can make one early turn: the adapter finds nothing due and the
    /// clock is armed again.
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(at) = self.armed else {
            return Poll::Pending;
        };
        let fired = match self.fd.as_ref().filter(|_| self.on_fd) {
            Some(fd) => match fd.poll_read_ready(cx) {
                Poll::Ready(Ok(mut ready)) => {
                    ready.clear_ready();
                    true
                }
                Poll::Ready(Err(e)) => {
                    tracing::debug!("timerfd failed, the I/O clock is on tokio's timer: {e}");
                    self.fd = None;
                    self.on_fd = false;
                    self.sleep.as_mut().reset(at.into());
                    self.sleep.as_mut().poll(cx).is_ready()
                }
                Poll::Pending => false,
            },
            None => self.sleep.as_mut().poll(cx).is_ready(),
        };
        if fired {
            self.count(None);
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for IoClock {
    fn drop(&mut self) {
        self.count(None);
    }
}

/// The I/O clock's grain: a wake-up is set to the next multiple of it (from a process-wide
/// origin), so the producers whose frames fall due within one grain (1,000 at RPI 10 ms: ~10
/// per 100 µs) wake the thread once, the frames leaving at most one grain late.
const GRAIN: std::time::Duration = std::time::Duration::from_micros(100);

/// `at` rounded up to the I/O clock's grain.
fn on_grid(at: Instant) -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    let grain = GRAIN.as_nanos();
    let since = at.saturating_duration_since(origin).as_nanos();
    let up = since.div_ceil(grain) * grain;
    let extra = u64::try_from(up - since).unwrap_or(0);
    at + std::time::Duration::from_nanos(extra)
}

fn log(e: &IoEvent, local: Option<SocketAddr>) {
    let at = local.map(|a| a.to_string()).unwrap_or_default();
    match e {
        IoEvent::Opened { o_t_id, kind, peer } => {
            tracing::info!(%peer, "I/O {at}: {} connection 0x{o_t_id:08x} opened", kind.name())
        }
        IoEvent::Closed { o_t_id } => {
            tracing::info!("I/O {at}: connection 0x{o_t_id:08x} closed by Forward Close")
        }
        IoEvent::TimedOut { o_t_id } => {
            tracing::warn!("I/O {at}: connection 0x{o_t_id:08x} timed out")
        }
        IoEvent::OwnerGone { o_t_id } => {
            tracing::info!("I/O {at}: listen only connection 0x{o_t_id:08x} closed with its owner")
        }
        IoEvent::OutputsIdle { instance } => {
            tracing::warn!("I/O {at}: outputs idle: assembly {instance}")
        }
        IoEvent::OutputsRun { instance } => {
            tracing::info!("I/O {at}: outputs run: assembly {instance}")
        }
    }
}
