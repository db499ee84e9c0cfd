//! The simulator's runtime: moves bytes between transports and [`Session`]s.
//!
//! Each accepted stream gets its own task and session; UDP packets are answered statelessly
//! (the List commands only; legacy 0x0001 too). Protocol decisions all live in the session;
//! requests it routes elsewhere go out through [`crate::runtime::upstream`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use cpppo_cip::frame;
use cpppo_net::conn::{PollOnWake, Tracker};
use cpppo_net::os::OsConnector;
use cpppo_net::{Accepted, Connector, Datagram, Listener, Stream};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::runtime::control::ConnGuard;
use crate::runtime::upstream::{exchange, Upstreams};
use crate::server::discovery::{broadcast_reply_delay, MAX_HELD_REPLIES};
use crate::server::route::Forward;
use crate::server::session::{on_datagram, Handled, IdGenerator, Session, Shared, Summary};

/// Bytes read from a stream at a time.
const READ_CHUNK: usize = 4096;

/// Largest encapsulation data accepted (the 16-bit length field's range).
const MAX_DATA: usize = frame::DEFAULT_MAX_DATA_LEN;

/// Runtime options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Delay each reply by this many seconds (a range: uniform random in it).
    pub delay: Option<(f64, f64)>,
    /// Print a summary line of each client's I/O on stdout when its session ends.
    pub print: bool,
    /// The connections being served and the limits they are held to (idle, partial-frame
    /// and write timeouts; at the connection limit the longest-idle is closed).
    pub connections: Arc<Tracker>,
    /// Live control and statistics (web API); when given, its delay replaces `delay`.
    pub control: Option<Arc<crate::runtime::control::ServerControl>>,
}

/// Counters of one session.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    requests: u64,
    replies: u64,
    bytes_in: u64,
    bytes_out: u64,
}

static RNG: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);

fn random_unit() -> f64 {
    // xorshift64*: plenty for jittering reply delays.
    let mut x = RNG.load(Ordering::Relaxed);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    RNG.store(x, Ordering::Relaxed);
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

/// The reply delay to apply now, if any (a range: uniform random in it).
#[inline]
fn delay_for(opts: &Options) -> Option<Duration> {
    let (lo, hi) = match &opts.control {
        Some(c) => c.delay(),
        None => opts.delay?,
    };
    let secs = lo + (hi - lo) * random_unit();
    (secs > 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs))
}

/// Whether replies are delayed at all (`--delay`, or the web API's delay): a side-effect-free
/// test, unlike [`delay_for`]'s draw.
fn delays(opts: &Options) -> bool {
    let (_, hi) = match &opts.control {
        Some(c) => c.delay(),
        None => match opts.delay {
            Some(d) => d,
            None => return false,
        },
    };
    hi > 0.0
}

async fn delay(opts: &Options) {
    if let Some(d) = delay_for(opts) {
        tokio::time::sleep(d).await;
    }
}

/// A routed request waiting for its answers: the frame's reply starts at `before` in the
/// output; the request arrived at `started`.
struct Pending {
    fwd: Box<Forward>,
    before: usize,
    started: Instant,
}

/// What answering one buffered frame asks of the loop running the session.
enum Step {
    /// A reply was appended (from `before` in the output).
    Replied(Summary, usize, Instant),
    /// The request goes to another device first.
    Forward(Pending),
    /// Nothing to send.
    Silent,
    /// Close the connection.
    Close,
}

/// One client's session and its buffers: served by the connection's task, or by a hot thread
/// while the connection is hot ([`cpppo_net::hot`]).
struct Core {
    session: Session,
    /// Received bytes; whole frames up to `used` are answered.
    buf: Vec<u8>,
    used: usize,
    /// Replies of one read go out in one write; kept between reads.
    out: Vec<u8>,
    tally: Tally,
    local: SocketAddr,
    /// When the bytes buffered last arrived: one clock read per read, not per frame.
    arrived: Instant,
    opts: Arc<Options>,
    conn: Option<Arc<ConnGuard>>,
    /// Left by a hot spell for the task: a routed request, a close.
    pending: Option<Pending>,
    close: Option<&'static str>,
}

impl Core {
    /// Answer the next whole frame buffered; `None` when none is whole.
    #[inline(always)]
    fn next(&mut self) -> Option<Step> {
        let rest = self.buf.get(self.used..)?;
        let len = frame::frame_len(rest, MAX_DATA).ok()??;
        let frame = rest.get(..len)?;
        self.tally.requests += 1;
        let started = self.arrived;
        // The reply is emitted straight into `out`, after the replies before it.
        let before = self.out.len();
        let handled = self
            .session
            .on_frame_into(frame, self.local, started, &mut self.out);
        self.used += len;
        Some(match handled {
            Handled::Replied(summary) => Step::Replied(summary, before, started),
            Handled::Forward(fwd) => Step::Forward(Pending {
                fwd,
                before,
                started,
            }),
            Handled::Silent => Step::Silent,
            Handled::Close => Step::Close,
        })
    }

    /// Append a routed request's reply, from its answers.
    fn finish(&mut self, pending: &Pending, answers: &[Option<Vec<u8>>]) -> Summary {
        let answer = self.session.finish(&pending.fwd, answers);
        self.out.extend_from_slice(&answer.frame);
        answer.summary
    }

    /// Count a reply (from `before` in the output) to a request that arrived at `started`.
    #[inline]
    fn replied(&mut self, summary: &Summary, before: usize, started: Instant) {
        let sent = self.out.len() - before;
        if let (Some(c), Some(g)) = (&self.opts.control, &self.conn) {
            c.exchanged(&g.stats, summary, sent, started.elapsed());
        }
        self.tally.replies += 1;
        self.tally.bytes_out += sent as u64;
    }

    /// Bytes received at `now`.
    #[inline]
    fn received(&mut self, n: usize, now: Instant) {
        self.arrived = now;
        self.tally.bytes_in += n as u64;
        if let Some(g) = &self.conn {
            g.received(n);
        }
    }

    /// Drop the answered frames from the buffer; whether any was answered.
    #[inline]
    fn consumed(&mut self) -> bool {
        let used = std::mem::take(&mut self.used);
        self.buf.drain(..used);
        used > 0
    }

    /// The web API asked to close this connection.
    #[inline]
    fn eof(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|g| g.stats.eof.load(Ordering::Relaxed))
    }
}

impl cpppo_net::hot::HotSession for Core {
    fn input(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    fn answer(&mut self, read: usize, now: Instant) -> cpppo_net::hot::Turn {
        use cpppo_net::hot::Turn;
        self.received(read, now);
        // The session's CIP connections past their deadline are closed before a request can
        // refresh one (as the reactor's timer would have).
        if self.session.poll_timeout().is_some_and(|due| due <= now) {
            self.session.handle_timeout(now);
        }
        if delays(&self.opts) {
            // A delay (set through the web API while hot) is the reactor's to wait: a hot
            // thread would sleep its other connections' turns, and the idle timeout would not
            // see the delayed reply as activity.
            return Turn::Leave;
        }
        while let Some(step) = self.next() {
            match step {
                Step::Replied(summary, before, started) => {
                    self.replied(&summary, before, started);
                }
                Step::Silent => {}
                Step::Forward(p) => {
                    self.pending = Some(p);
                    return Turn::Leave;
                }
                Step::Close => {
                    self.close = Some("unregistered");
                    return Turn::Leave;
                }
            }
        }
        if self.eof() {
            return Turn::Leave;
        }
        if self.session.poll_timeout().is_some_and(|due| due <= now) {
            self.session.handle_timeout(now);
        }
        Turn::Answered {
            progressed: self.consumed(),
        }
    }
}

/// Serve one client's stream until it closes, errs, or `shutdown` fires; its session
/// handle and connection ids come from `ids`. Requests routed elsewhere go out through
/// `connector`. A connection answering requests back to back is served by a hot thread's
/// epoll loop ([`cpppo_net::hot`]) until it pauses.
pub async fn serve_stream<S: Stream, C: Connector>(
    accepted: Accepted<S>,
    shared: Arc<Shared>,
    ids: Arc<IdGenerator>,
    opts: Arc<Options>,
    connector: Arc<C>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Accepted {
        stream,
        peer,
        local,
    } = accepted;
    let mut stream = Some(stream);
    let conn = opts.control.as_ref().map(|c| Arc::new(c.connect(peer)));
    let mut core = Core {
        session: Session::with_ids(shared, ids).with_peer(peer),
        // Grows to the largest frame seen; idle sessions stay small.
        buf: Vec::with_capacity(READ_CHUNK),
        used: 0,
        out: Vec::new(),
        tally: Tally::default(),
        local,
        arrived: Instant::now(),
        opts: opts.clone(),
        conn: conn.clone(),
        pending: None,
        close: None,
    };
    let mut upstreams: Upstreams<C::Stream> = HashMap::new();
    let limits = opts.connections.admit();
    // What ends the session besides its stream, armed once for the session's life (not once
    // per request): the connection policy, the web API's eof, the server's shutdown.
    // Polled only when one of them woke the task, not on every request's wake-up.
    let stop = std::pin::pin!(async {
        tokio::select! {
            why = limits.expired() => why.to_string(),
            _ = crate::runtime::control::eof_requested(conn.as_deref()) => "closed by the web API (eof)".to_string(),
            _ = shutdown.changed() => "server shutting down".to_string(),
        }
    });
    let mut stop = PollOnWake::new(stop);
    let mut expiry = Expiry::default();
    let mut streak = cpppo_net::hot::Streak::default();
    let why = loop {
        // Answer every complete frame already buffered; the replies go out in one write.
        let mut close = core.close.take();
        let mut pending = core.pending.take();
        while close.is_none() {
            let step = match pending.take() {
                Some(p) => Step::Forward(p),
                None => match core.next() {
                    Some(step) => step,
                    None => break,
                },
            };
            let (summary, before, started) = match step {
                Step::Replied(summary, before, started) => (summary, before, started),
                Step::Forward(p) => {
                    // Boxed: routing is rare, and its large future would otherwise be
                    // reserved in every session's task, idle ones included.
                    let answers =
                        Box::pin(forward(connector.as_ref(), &mut upstreams, &p.fwd)).await;
                    (core.finish(&p, &answers), p.before, p.started)
                }
                Step::Silent => continue,
                Step::Close => {
                    close = Some("unregistered");
                    break;
                }
            };
            delay(&opts).await;
            core.replied(&summary, before, started);
        }
        let Some(sock) = stream.as_mut() else {
            break "hot connection lost".to_string();
        };
        if !core.out.is_empty() {
            if let Err(why) = limits.write_all(sock, &core.out).await {
                break why.to_string();
            }
            core.out.clear();
            if core.out.capacity() > READ_CHUNK {
                core.out = Vec::new(); // a large reply's buffer is not kept by an idle session
            }
        }
        if let Some(why) = close {
            break why.to_string();
        }
        if core.eof() {
            break "closed by the web API (eof)".to_string();
        }
        let progressed = core.consumed();
        core.buf.reserve(READ_CHUNK);
        // A frame begun must be finished in time; an idle session may wait the idle timeout.
        limits.buffered(core.buf.len(), progressed);
        let due = core.session.poll_timeout();
        if streak.hot() {
            // Counted again from zero whether or not it may go hot now (a cheap test per
            // request when it may not: hot connections off, or replies delayed).
            streak.reset();
            if let Some(window) = limits.hot_window().filter(|_| !delays(&opts)) {
                // Back here by the session's own next deadline (its CIP connections').
                let window = due.map_or(window, |due| {
                    window.min(due.saturating_duration_since(Instant::now()))
                });
                if let Some(sock) = stream.take() {
                    // Boxed: only a hot connection pays for this future's room, not every
                    // idle session's task.
                    let (back, left) = Box::pin(cpppo_net::hot::serve(
                        sock,
                        core,
                        &limits,
                        window,
                        std::pin::Pin::new(&mut stop),
                    ))
                    .await;
                    core = back;
                    match left {
                        cpppo_net::hot::Left::Reactor(s) => stream = Some(s),
                        cpppo_net::hot::Left::Closed => break "closed by peer".to_string(),
                        cpppo_net::hot::Left::Failed(e) => break format!("read error: {e}"),
                        cpppo_net::hot::Left::Stopped(why) => break why,
                    }
                    continue; // answer what the hot spell left
                }
            }
        }
        let wait = expiry.arm(due.map(tokio::time::Instant::from_std));
        let Some(sock) = stream.as_mut() else {
            break "hot connection lost".to_string();
        };
        tokio::select! {
            // The stop future first: it is a flag test until one of its own wake-ups, and a
            // flood of requests cannot starve it (nor pays for a random start per poll).
            biased;
            why = &mut stop => break why,
            () = wait => {
                expiry.fired();
                core.session.handle_timeout(Instant::now());
            }
            read = cpppo_net::hot::read_appended(sock, &mut core.buf) => match read {
                Ok(0) => break "closed by peer".to_string(),
                Ok(n) => {
                    let now = tokio::time::Instant::now();
                    limits.active_at(now);
                    core.received(n, now.into_std());
                    if cpppo_net::hot::is_host::<S>() {
                        if let Some(gap) = limits.back_to_back() {
                            streak.arrived_within(core.arrived, gap);
                        }
                    }
                }
                Err(e) => break format!("read error: {e}"),
            },
        }
    };
    if let Some(mut s) = stream {
        let _ = s.shutdown().await;
    }
    let tally = core.tally;
    tracing::info!(%peer, %local, requests = tally.requests, "session ended: {why}");
    if opts.print {
        println!(
            "{peer}: {} requests, {} replies, {} bytes in, {} bytes out; {why}",
            tally.requests, tally.replies, tally.bytes_in, tally.bytes_out
        );
    }
}

/// The session's own timer (its CIP connections' idle deadlines), kept between requests:
/// armed for the earliest deadline, and moved only when a deadline earlier than the armed one
/// appears. Traffic only moves deadlines later, so it is not re-armed per request; firing
/// early is harmless (the session frees only what is due, and it is armed again).
#[derive(Default)]
struct Expiry {
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

impl Expiry {
    /// The future to wait on for `due` (forever without a deadline).
    fn arm(&mut self, due: Option<tokio::time::Instant>) -> ExpiryWait<'_> {
        let Some(due) = due else {
            return ExpiryWait(None);
        };
        match &mut self.sleep {
            Some(s) if self.armed && s.deadline() <= due => {}
            Some(s) => s.as_mut().reset(due),
            None => self.sleep = Some(Box::pin(cpppo_net::conn::policy_sleep(due))),
        }
        self.armed = true;
        ExpiryWait(self.sleep.as_mut().map(|s| s.as_mut()))
    }

    /// The armed deadline passed.
    fn fired(&mut self) {
        self.armed = false;
    }
}

/// Waits on the armed [`Expiry`], if any.
struct ExpiryWait<'a>(Option<std::pin::Pin<&'a mut tokio::time::Sleep>>);

impl std::future::Future for ExpiryWait<'_> {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        match self.0.as_mut() {
            Some(s) => s.as_mut().poll(cx),
            None => std::task::Poll::Pending,
        }
    }
}

/// How long a routed request may take.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Exchange each routed request with its target, in order; `None` for each that failed
/// (it is answered 0x01/0x0204).
async fn forward<C: Connector>(
    connector: &C,
    upstreams: &mut Upstreams<C::Stream>,
    fwd: &Forward,
) -> Vec<Option<Vec<u8>>> {
    let mut answers = Vec::with_capacity(fwd.hops.len());
    for hop in &fwd.hops {
        let answer = match tokio::time::timeout(
            FORWARD_TIMEOUT,
            exchange(connector, upstreams, hop),
        )
        .await
        {
            Ok(Ok(cip)) => Some(cip),
            Ok(Err(e)) => {
                tracing::warn!(target = %hop.target, "routing failed: {e}");
                upstreams.remove(&hop.target);
                None
            }
            Err(_) => {
                tracing::warn!(target = %hop.target, "routing timed out");
                upstreams.remove(&hop.target);
                None
            }
        };
        answers.push(answer);
    }
    answers
}

/// Accept streams from `listener` until `shutdown` fires, serving each concurrently; routed
/// requests go out over the host's TCP/IP stack.
pub async fn serve_listener<L: Listener>(
    listener: L,
    shared: Arc<Shared>,
    opts: Arc<Options>,
    shutdown: watch::Receiver<bool>,
) {
    serve_listener_with(listener, shared, opts, Arc::new(OsConnector), shutdown).await
}

/// Accept streams from `listener` until `shutdown` fires, serving each concurrently; routed
/// requests go out through `connector`. A host listener is shared with the worker runtimes
/// ([`cpppo_net::cores`]), each serving the sessions it accepts on its own thread.
pub async fn serve_listener_with<L: Listener, C: Connector>(
    listener: L,
    shared: Arc<Shared>,
    opts: Arc<Options>,
    connector: Arc<C>,
    shutdown: watch::Receiver<bool>,
) {
    let ids = Arc::new(IdGenerator::from_clock());
    let _spread = match listener.host_socket() {
        Some(fd) => {
            let (shared, opts, connector) = (shared.clone(), opts.clone(), connector.clone());
            let (ids, shutdown) = (ids.clone(), shutdown.clone());
            let spread = cpppo_net::cores::spread(&fd, move |l| {
                let listener = cpppo_net::os::OsListener::from(l);
                let (shared, opts, connector) = (shared.clone(), opts.clone(), connector.clone());
                accept_loop(
                    listener,
                    shared,
                    ids.clone(),
                    opts,
                    connector,
                    shutdown.clone(),
                )
            });
            match spread {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!("serving on one core only: {e}");
                    None
                }
            }
        }
        None => None,
    };
    accept_loop(listener, shared, ids, opts, connector, shutdown).await
}

async fn accept_loop<L: Listener, C: Connector>(
    mut listener: L,
    shared: Arc<Shared>,
    ids: Arc<IdGenerator>,
    opts: Arc<Options>,
    connector: Arc<C>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(acc) => {
                    tracing::info!(peer = %acc.peer, "session started");
                    tokio::spawn(serve_stream(acc, shared.clone(), ids.clone(), opts.clone(), connector.clone(), shutdown.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Answer List* requests arriving on a datagram socket until `shutdown` fires.
pub async fn serve_datagrams<D: Datagram>(
    sock: D,
    shared: Arc<Shared>,
    opts: Arc<Options>,
    mut shutdown: watch::Receiver<bool>,
) {
    let sock = Arc::new(sock);
    let held = Arc::new(AtomicUsize::new(0));
    loop {
        let got = tokio::select! {
            got = sock.recv() => got,
            _ = shutdown.changed() => return,
        };
        let (packet, rx) = match got {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!("udp receive failed: {e}");
                continue;
            }
        };
        let Some(reply) = on_datagram(&shared, &packet, rx.local) else {
            continue;
        };
        // A broadcast List Identity is answered after a random wait (the spec's rule, see
        // `discovery`); datagrams arriving meanwhile are served.
        let wait = match rx.broadcast {
            true => broadcast_reply_delay(&packet),
            false => None,
        };
        match wait {
            Some(_) if held.load(Ordering::Relaxed) >= MAX_HELD_REPLIES => {
                tracing::debug!(peer = %rx.peer, "broadcast List Identity dropped: replies held");
            }
            Some(wait) => {
                held.fetch_add(1, Ordering::Relaxed);
                let (sock, opts, held) = (sock.clone(), opts.clone(), held.clone());
                let mut stop = shutdown.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            answer_datagram(&*sock, &opts, &packet, &reply, rx.peer).await;
                        }
                        _ = stop.changed() => {} // a stopped device says nothing more
                    }
                    held.fetch_sub(1, Ordering::Relaxed);
                });
            }
            None => answer_datagram(&*sock, &opts, &packet, &reply, rx.peer).await,
        }
    }
}

async fn answer_datagram<D: Datagram>(
    sock: &D,
    opts: &Options,
    packet: &[u8],
    reply: &[u8],
    peer: SocketAddr,
) {
    let started = Instant::now();
    delay(opts).await;
    if let Some(c) = &opts.control {
        c.datagram(packet.len(), reply.len(), started.elapsed());
    }
    if let Err(e) = sock.send_to(reply, peer).await {
        tracing::debug!(%peer, "udp send failed: {e}");
    }
}

/// The address a server reports (for the ready line).
pub fn describe(addr: SocketAddr) -> String {
    addr.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::{timeout, Instant};

    /// Waits on what `expiry` is armed for; `Err` if it did not fire within `limit`.
    async fn fires(expiry: &mut Expiry, due: Option<Instant>, limit: Duration) -> bool {
        let fired = timeout(limit, expiry.arm(due)).await.is_ok();
        if fired {
            expiry.fired();
        }
        fired
    }

    #[tokio::test]
    async fn the_session_timer_keeps_the_earliest_deadline_and_rearms_after_firing() {
        let mut expiry = Expiry::default();
        assert!(
            !fires(&mut expiry, None, Duration::from_millis(50)).await,
            "no deadline"
        );
        let start = Instant::now();
        let first = start + Duration::from_millis(150);
        // Armed for the first deadline: a later one (traffic moved it) does not re-arm it.
        assert!(!fires(&mut expiry, Some(first), Duration::from_millis(1)).await);
        assert!(
            fires(
                &mut expiry,
                Some(start + Duration::from_secs(30)),
                Duration::from_secs(10)
            )
            .await
        );
        assert!(
            start.elapsed() >= Duration::from_millis(150),
            "not before the first deadline"
        );
        // Fired: armed again for the deadline now asked.
        let again = Instant::now();
        assert!(
            fires(
                &mut expiry,
                Some(again + Duration::from_millis(100)),
                Duration::from_secs(10)
            )
            .await
        );
        assert!(again.elapsed() >= Duration::from_millis(100));
        // An earlier deadline than the armed one (a new connection) moves it.
        let late = Instant::now() + Duration::from_secs(30);
        assert!(!fires(&mut expiry, Some(late), Duration::from_millis(1)).await);
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(fires(&mut expiry, Some(soon), Duration::from_secs(10)).await);
    }
}
