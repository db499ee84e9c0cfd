//! Abusive TCP clients shared by the connection-robustness tests of the EtherNet/IP and the
//! Modbus simulators (`crates/enip/tests/robust_connections.rs` and
//! `crates/modbus/tests/robust_connections.rs` include this file): each protocol supplies the
//! start of one of its headers (`partial`) and a burst of well-formed requests.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cpppo_net::conn::Counts;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Opens `count` connections to `addr`: a third idle, a third that sent `partial` (a header
/// cut short) and nothing more, a third that sent `burst` and never read the answers.
pub async fn hold(addr: SocketAddr, count: usize, partial: &[u8], burst: &[u8]) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        let mut s = TcpStream::connect(addr).await.unwrap();
        match i * 3 / count {
            0 => {}
            1 => s.write_all(partial).await.unwrap(),
            _ => s.write_all(burst).await.unwrap(),
        }
        held.push(s);
    }
    held
}

/// Holds `count` connections to `addr` (as [`hold`]) until the server (whose connection counts
/// `counts` reads) has them all open; then a fresh client, `fresh`, must get its answer within
/// 1 s, and exactly one held connection, an idle one, is closed to make room. `fresh`'s answer
/// and the held connections (still open, for the caller's own checks).
pub async fn a_fresh_client_is_served<T: std::fmt::Debug>(
    addr: SocketAddr,
    count: usize,
    (partial, burst): (&[u8], &[u8]),
    counts: impl Fn() -> Counts,
    fresh: impl Future<Output = T>,
) -> (T, Vec<TcpStream>) {
    let held = tokio::time::timeout(Duration::from_secs(30), hold(addr, count, partial, burst))
        .await
        .expect("connecting the hostile clients took too long");
    let deadline = Instant::now() + Duration::from_secs(20);
    while counts().open < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(counts().open, count);
    let started = Instant::now();
    let Ok(answer) = tokio::time::timeout(Duration::from_secs(1), fresh).await else {
        panic!(
            "fresh client not served within 1 s ({:?})",
            started.elapsed()
        );
    };
    // The limit holds: exactly one connection made room, one of the idle ones.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gone = closed(&held);
    assert_eq!(gone.len(), 1, "closed: {gone:?}");
    assert!(gone[0] < count / 3, "closed a busy connection: {gone:?}");
    assert_eq!(counts().evicted, 1);
    (answer, held)
}

/// Whether the server has closed `s` (EOF or reset), without blocking; answers to pipelined
/// requests are read and dropped.
pub fn is_closed(s: &TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.try_read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// The indexes of the connections in `held` the server has closed.
pub fn closed(held: &[TcpStream]) -> Vec<usize> {
    (0..held.len()).filter(|&i| is_closed(&held[i])).collect()
}

/// Writes `burst` to `s` over and over, never reading, until the server closes it; how long
/// that took.
fn flood(mut s: TcpStream, burst: Vec<u8>) -> JoinHandle<Duration> {
    tokio::spawn(async move {
        let started = Instant::now();
        while s.write_all(&burst).await.is_ok() {}
        started.elapsed()
    })
}

/// Against a server with an idle timeout of 600 ms and frame and write timeouts of 300 ms:
/// an idle connection, one that sent `partial` and one that writes `burst` without end and
/// never reads are all closed, the partial one first (frame timeout), the idle one after at
/// least 550 ms, the unread one within 20 s (once the socket buffers fill the server cannot
/// write and gives up after its write timeout).
pub async fn idle_partial_and_unread_are_closed(addr: SocketAddr, partial: &[u8], burst: Vec<u8>) {
    let idle = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(partial).await.unwrap();
    let unread = flood(TcpStream::connect(addr).await.unwrap(), burst);
    let held = [idle, half];
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    let mut when = [None, None];
    while when.iter().any(Option::is_none) && Instant::now() < deadline {
        for i in closed(&held) {
            when[i].get_or_insert(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let [Some(idle_after), Some(partial_after)] = when else {
        panic!(
            "not closed within 10 s: idle {:?}, partial {:?}",
            when[0], when[1]
        );
    };
    assert!(idle_after >= Duration::from_millis(550), "{idle_after:?}");
    assert!(
        partial_after >= Duration::from_millis(250),
        "{partial_after:?}"
    );
    assert!(
        partial_after < idle_after,
        "{partial_after:?} {idle_after:?}"
    );
    let flooded = tokio::time::timeout(Duration::from_secs(20), unread)
        .await
        .expect("a client that never reads was never closed")
        .unwrap();
    assert!(flooded < Duration::from_secs(20));
}

/// `count` clients connect at once, each served by `client` (which connects to the address,
/// asks and checks its answer); all are served within 0.9 s, so none waited for a SYN retry
/// (1 s) because the listen backlog was full.
pub async fn all_served_at_once<F, Fut>(addr: SocketAddr, count: usize, client: F)
where
    F: Fn(SocketAddr, usize) -> Fut,
    Fut: Future<Output = TcpStream> + Send + 'static,
{
    let started = Instant::now();
    let clients: Vec<_> = (0..count)
        .map(|i| {
            let served = client(addr, i);
            tokio::spawn(async move {
                let s = served.await;
                (s, started.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    let mut held = Vec::new();
    for c in clients {
        let (s, took) = tokio::time::timeout(Duration::from_secs(30), c)
            .await
            .expect("a client was never served")
            .unwrap();
        slowest = slowest.max(took);
        held.push(s);
    }
    println!("{count} simultaneous connects: the last served after {slowest:?}");
    assert!(slowest < Duration::from_millis(900), "{slowest:?}");
}
