//! The simulator's runtime: moves bytes between transports and [`Session`]s.
//!
//! Each accepted stream gets its own task and session; UDP packets are answered statelessly
//! (the List commands only). Protocol decisions all live in the session.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_cip::frame;
use cpppo_net::{Accepted, Datagram, Listener, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::session::{on_datagram, Outcome, Session, Shared};

/// How long a client may take to accept a reply before its session is closed.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest encapsulation data accepted (the 16-bit length field's range).
const MAX_DATA: usize = frame::DEFAULT_MAX_DATA_LEN;

/// Runtime options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Delay each reply by this many seconds (a range: uniform random in it).
    pub delay: Option<(f64, f64)>,
    /// Print a summary line of each client's I/O on stdout when its session ends.
    pub print: bool,
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

async fn delay(opts: &Options) {
    if let Some((lo, hi)) = opts.delay {
        let secs = lo + (hi - lo) * random_unit();
        if secs > 0.0 && secs.is_finite() {
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        }
    }
}

/// Serve one client's stream until it closes, errs, or `shutdown` fires.
pub async fn serve_stream<S: Stream>(
    accepted: Accepted<S>,
    shared: Arc<Shared>,
    opts: Arc<Options>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Accepted {
        mut stream,
        peer,
        local,
    } = accepted;
    let mut session = Session::new(shared);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut tally = Tally::default();
    let why = 'session: loop {
        // Answer every complete frame already buffered.
        let mut used = 0;
        while let Ok(Some(len)) = frame::frame_len(buf.get(used..).unwrap_or_default(), MAX_DATA) {
            let Some(frame) = buf.get(used..used + len) else {
                break;
            };
            tally.requests += 1;
            let outcome = session.on_frame(frame, local, Instant::now());
            used += len;
            match outcome {
                Outcome::Reply(reply) => {
                    delay(&opts).await;
                    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&reply)).await {
                        Ok(Ok(())) => {
                            tally.replies += 1;
                            tally.bytes_out += reply.len() as u64;
                        }
                        Ok(Err(e)) => break 'session format!("write error: {e}"),
                        Err(_) => break 'session "client stopped reading".to_string(),
                    }
                }
                Outcome::Silent => {}
                Outcome::Close => break 'session "unregistered".to_string(),
            }
        }
        buf.drain(..used);
        tokio::select! {
            read = stream.read(&mut chunk) => match read {
                Ok(0) => break "closed by peer".to_string(),
                Ok(n) => {
                    tally.bytes_in += n as u64;
                    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                }
                Err(e) => break format!("read error: {e}"),
            },
            _ = shutdown.changed() => break "server shutting down".to_string(),
        }
    };
    let _ = stream.shutdown().await;
    tracing::info!(%peer, %local, requests = tally.requests, "session ended: {why}");
    if opts.print {
        println!(
            "{peer}: {} requests, {} replies, {} bytes in, {} bytes out; {why}",
            tally.requests, tally.replies, tally.bytes_in, tally.bytes_out
        );
    }
}

/// Accept streams from `listener` until `shutdown` fires, serving each concurrently.
pub async fn serve_listener<L: Listener>(
    mut listener: L,
    shared: Arc<Shared>,
    opts: Arc<Options>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(acc) => {
                    tracing::info!(peer = %acc.peer, "session started");
                    tokio::spawn(serve_stream(acc, shared.clone(), opts.clone(), shutdown.clone()));
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
    let mut buf = vec![0u8; 65536];
    loop {
        let got = tokio::select! {
            got = sock.recv_from(&mut buf) => got,
            _ = shutdown.changed() => return,
        };
        let rx = match got {
            Ok(rx) => rx,
            Err(e) => {
                tracing::debug!("udp receive failed: {e}");
                continue;
            }
        };
        let packet = buf.get(..rx.len).unwrap_or_default();
        if let Some(reply) = on_datagram(&shared, packet, rx.local) {
            delay(&opts).await;
            if let Err(e) = sock.send_to(&reply, rx.peer).await {
                tracing::debug!(peer = %rx.peer, "udp send failed: {e}");
            }
        }
    }
}

/// The address a server reports (for the ready line).
pub fn describe(addr: SocketAddr) -> String {
    addr.to_string()
}
