//! The tokio driver of the class 1 I/O adapter ([`crate::server::io`]): moves datagrams
//! between a UDP socket (port 2222, or any [`Datagram`] such as a fleet device's) and the
//! adapter, sleeps until its next timer, and logs its events. No protocol decisions here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use cpppo_net::Datagram;
use tokio::sync::watch;

use super::io_clock::IoClock;
use crate::server::io::{IoEvent, IoHub};

/// Serve the adapter of `hub` on `sock` until `shutdown` fires.
pub async fn serve_io<D: Datagram>(sock: D, hub: Arc<IoHub>, mut shutdown: watch::Receiver<bool>) {
    // The clock is shared by the runtime's adapters; a change of schedule from outside (a
    // Forward Open or Close) fires this adapter's place on it at once.
    let mut clock = IoClock::new();
    let kick = clock.kick();
    hub.set_waker(Box::new(move || kick.kick()));
    let local = sock.local_addr().ok();
    // Frames due at once are built under the lock and sent after it is released.
    let mut due: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    // The shutdown wait lives across turns (registering the waits anew each turn was most of
    // a frame's cost in the fleet).
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
            biased;
            _ = std::future::poll_fn(|cx| clock.poll_fired(cx)) => {}
            got = sock.recv() => match got {
                Ok((packet, rx)) => {
                    hub.lock().handle_datagram(Instant::now(), rx.peer, &packet);
                }
                Err(e) => tracing::debug!("I/O receive failed: {e}"),
            },
            _ = &mut stop => return,
        }
    }
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
