//! The runtime over real loopback sockets: 400 concurrent sessions, each registered and
//! reading and writing its own element, all answered; UDP List Identity; the statistics a
//! server with live control counts.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use cpppo_cip::{DataType, Segment};
use cpppo_enip::runtime::control::ServerControl;
use cpppo_enip::runtime::serve::{serve_datagrams, serve_listener, Options};
use cpppo_enip::server::session::{RoutePolicy, Shared};
use cpppo_net::os::{OsDatagram, OsListener};
use cpppo_net::Listener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Client and server ends share this process: 2 descriptors a session, under the usual 1,024.
const SESSIONS: usize = 400;

async fn exchange(s: &mut TcpStream, frame: &[u8]) -> Vec<u8> {
    s.write_all(frame).await.unwrap();
    let mut head = [0u8; 24];
    s.read_exact(&mut head).await.unwrap();
    let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.unwrap();
    [head.to_vec(), body].concat()
}

fn with_session(frame: &[u8], session: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[4..8].copy_from_slice(session);
    f
}

/// A simulator serving TCP on 127.0.0.1 (port 0, read back) with `opts`.
struct Running {
    addr: SocketAddr,
    shared: Arc<Shared>,
    opts: Arc<Options>,
    stop: watch::Sender<bool>,
    shutdown: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

async fn start(opts: Options) -> Running {
    let shared = shared(RoutePolicy::Any);
    let listener = OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = watch::channel(false);
    let opts = Arc::new(opts);
    let task = tokio::spawn(serve_listener(
        listener,
        shared.clone(),
        opts.clone(),
        shutdown.clone(),
    ));
    Running {
        addr,
        shared,
        opts,
        stop,
        shutdown,
        task,
    }
}

/// SCADA[`n`] = `n`, then read it back, on a registered connection.
async fn write_and_read_back(mut s: TcpStream, session: Vec<u8>, n: u16) {
    let scada_n = [tag("SCADA"), Segment::element(n.into())];
    let w = write_tag(&scada_n, DataType::Int, 1, &n.to_le_bytes());
    let r = exchange(&mut s, &with_session(&rr(&w), &session)).await;
    assert_eq!(to_hex(&r[40..]), "cd000000");
    let r = exchange(&mut s, &with_session(&rr(&read_tag(&scada_n, 1)), &session)).await;
    assert_eq!(r[40..46], [0xCC, 0, 0, 0, 0xC3, 0]);
    assert_eq!(u16::from_le_bytes([r[46], r[47]]), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_sessions_are_all_served() {
    let Running {
        addr,
        shared,
        opts,
        stop,
        shutdown,
        task: server,
    } = start(Options::default()).await;
    let udp = OsDatagram::bind(addr).await.unwrap();
    tokio::spawn(serve_datagrams(udp, shared, opts, shutdown));

    // Connect and register them all first, so they are open at the same time.
    let mut clients = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let r = exchange(&mut s, &register()).await;
        clients.push((s, r[4..8].to_vec()));
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(n, (s, session))| tokio::spawn(write_and_read_back(s, session, n as u16)))
        .collect();
    let all = tokio::time::timeout(Duration::from_secs(60), futures_join(tasks)).await;
    assert!(all.is_ok(), "sessions were not all served in time");

    let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    u.send_to(&vector("list_identity_udp").request, addr)
        .await
        .unwrap();
    let mut buf = [0u8; 200];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), u.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &buf[32..38],
        &[
            0x00,
            0x02,
            (addr.port() >> 8) as u8,
            addr.port() as u8,
            127,
            0
        ]
    );
    assert!(buf[..n].windows(20).any(|w| w == b"1756-L61/B LOGIX5561"));

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn an_unfinished_frame_times_out_and_others_are_served() {
    let server = start(Options {
        connections: cpppo_net::conn::Tracker::new(cpppo_net::conn::Limits {
            frame: Duration::from_millis(300),
            ..Default::default()
        }),
        ..Options::default()
    })
    .await;
    let addr = server.addr;
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    // Malformed: a RegisterSession header cut after 3 of its 24 bytes, then nothing.
    stalled.write_all(&[0x65, 0x00, 0x04]).await.unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap(); // nothing at all: may wait
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)), "closed");
    assert!(started.elapsed() >= Duration::from_millis(250));
    let r = exchange(&mut idle, &register()).await;
    assert_eq!(&r[8..12], &[0, 0, 0, 0]);
}

#[tokio::test]
async fn statistics_count_the_services_and_statuses_the_session_answered() {
    let control = Arc::new(ServerControl::default());
    let server = start(Options {
        control: Some(control.clone()),
        ..Options::default()
    })
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let r = exchange(&mut s, &vector("register_session").request).await;
    let session = r[4..8].to_vec();
    // A Read Tag inside an Unconnected Send, and one of an unknown tag.
    let read = vector("read_tag_unconnected_send").request;
    let r = exchange(&mut s, &with_session(&read, &session)).await;
    assert_eq!(r[40..44], [0xCC, 0, 0, 0]);
    let r = exchange(
        &mut s,
        &with_session(&rr(&read_tag(&[tag("SCADB")], 1)), &session),
    )
    .await;
    assert_eq!(r[40..43], [0xCC, 0, 0x05]);
    let stats = &control.stats;
    let count = |c: &[std::sync::atomic::AtomicU64], i: usize| c[i].load(Ordering::Relaxed);
    assert_eq!(count(&stats.requests, 0x4C), 2, "the Read Tags, not 0x52");
    assert_eq!(count(&stats.requests, 0x52), 0);
    assert_eq!(count(&stats.requests, 0), 1, "RegisterSession");
    assert_eq!(count(&stats.replies, 0), 2);
    assert_eq!(count(&stats.replies, 0x05), 1);
    assert_eq!(stats.registered.load(Ordering::Relaxed), 1);
}
