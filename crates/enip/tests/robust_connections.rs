//! Connection exhaustion (issue 19): 1,000 connections that stay open (idle, holding 3 bytes of
//! a header, or pipelining requests and never reading the answers) must not lock out a fresh
//! client; the connection limit is kept by closing the longest-idle; idle, partial and unread
//! connections time out.

mod common;
#[path = "common/held.rs"]
mod held;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use cpppo_enip::runtime::serve::{serve_listener, Options};
use cpppo_enip::server::session::RoutePolicy;
use cpppo_net::conn::{Limits, Tracker};
use cpppo_net::os::OsListener;
use cpppo_net::Listener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Hostile connections held open: the default connection limit.
const HOSTILE: usize = 1000;

async fn start(opts: Options) -> (SocketAddr, Arc<Options>, tokio::sync::watch::Sender<bool>) {
    let listener = OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let opts = Arc::new(opts);
    tokio::spawn(serve_listener(
        listener,
        shared(RoutePolicy::Any),
        opts.clone(),
        shutdown,
    ));
    (addr, opts, stop)
}

/// The start of a RegisterSession header, cut after 3 of its 24 bytes (deliberately partial).
const PARTIAL: [u8; 3] = [0x65, 0x00, 0x04];

/// `n` List Services requests.
fn burst(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|_| vector("list_services_tcp").request)
        .collect()
}

/// Register a session; the reply's status.
async fn register(s: &mut TcpStream) -> Vec<u8> {
    s.write_all(&vector("register_session").request)
        .await
        .unwrap();
    let mut head = [0u8; 24];
    s.read_exact(&mut head).await.unwrap();
    let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.unwrap();
    head[8..12].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_client_is_served_past_a_thousand_held_connections() {
    let _ = cpppo_net::sys::raise_open_file_limit();
    let (addr, opts, stop) = start(Options::default()).await;
    let fresh = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        register(&mut s).await
    };
    let counts = || opts.connections.counts();
    let (answer, _held) =
        held::a_fresh_client_is_served(addr, HOSTILE, (&PARTIAL, &burst(20)), counts, fresh).await;
    assert_eq!(answer, [0, 0, 0, 0]);
    stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_partial_and_unread_connections_time_out() {
    let limits = Limits {
        idle: Duration::from_millis(600),
        frame: Duration::from_millis(300),
        write: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, opts, stop) = start(Options {
        connections: Tracker::new(limits),
        ..Options::default()
    })
    .await;
    held::idle_partial_and_unread_are_closed(addr, &PARTIAL, burst(1000)).await;
    assert!(opts.connections.counts().timed_out >= 3);
    stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_limit_the_longest_idle_connection_makes_room() {
    let limits = Limits {
        max_connections: 3,
        ..Limits::default()
    };
    let (addr, opts, stop) = start(Options {
        connections: Tracker::new(limits),
        ..Options::default()
    })
    .await;
    let mut a = TcpStream::connect(addr).await.unwrap();
    let mut b = TcpStream::connect(addr).await.unwrap();
    let mut c = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // a and c are used; b is the longest idle.
    assert_eq!(register(&mut a).await, [0; 4]);
    assert_eq!(register(&mut c).await, [0; 4]);
    let mut d = TcpStream::connect(addr).await.unwrap();
    assert_eq!(register(&mut d).await, [0; 4]);
    let mut byte = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(5), b.read(&mut byte))
        .await
        .expect("b was not closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    assert_eq!(register(&mut a).await, [0; 4], "a was closed instead");
    assert_eq!(opts.connections.counts().open, 3);
    stop.send(true).unwrap();
}

/// Issue 19 item 6: 1,000 clients connecting at once are all accepted from the listen backlog
/// and answered; with a backlog of 128 hundreds of them waited a second for a SYN retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_simultaneous_connects_are_all_served_at_once() {
    let _ = cpppo_net::sys::raise_open_file_limit();
    let (addr, _opts, stop) = start(Options::default()).await;
    held::all_served_at_once(addr, HOSTILE, |addr, _| async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert_eq!(register(&mut s).await, [0; 4]);
        s
    })
    .await;
    stop.send(true).unwrap();
}

/// A reply is traffic: a client whose replies are delayed past the idle timeout, and who asks
/// again at once, is still served (the idle time counts from the reply, not from the request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_reply_restarts_the_idle_time() {
    let limits = Limits {
        idle: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, opts, stop) = start(Options {
        delay: Some((0.5, 0.5)),
        connections: Tracker::new(limits),
        ..Options::default()
    })
    .await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    for round in 0..2 {
        let status = tokio::time::timeout(Duration::from_secs(5), register(&mut s)).await;
        assert_eq!(status.expect("no reply"), [0; 4], "round {round}");
    }
    assert_eq!(opts.connections.counts().timed_out, 0);
    stop.send(true).unwrap();
}
