//! Connection exhaustion (issue 19): 1,000 connections that stay open (idle, holding 3 bytes of
//! a header, or pipelining requests and never reading the answers) must not lock out a fresh
//! client; at the connection limit the longest-idle connection makes room; a client that stops
//! reading is closed after the write timeout.
#![cfg(feature = "runtime")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_modbus::server::Simulator;
use cpppo_modbus::store::Store;
use cpppo_modbus::RangeSpec;
use cpppo_net::conn::Limits;
use cpppo_net::os::OsListener;
use cpppo_net::Listener;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_modbus::prelude::*;

/// Hostile connections held open: the default connection limit.
const HOSTILE: usize = 1000;

async fn start(sim: Simulator) -> (SocketAddr, Simulator) {
    let listener = OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Arc::new(sim.clone()).serve_tcp(listener));
    (addr, sim)
}

fn store() -> Store {
    Store::from_specs(&[RangeSpec::parse("40001-40100=99").unwrap()])
}

/// Read Holding Registers 40001-40125 (125 registers), transaction `t`.
fn read_request(t: u16) -> Vec<u8> {
    let mut f = t.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0, 0, 6, 1, 3, 0, 0, 0, 100]);
    f
}

/// A third idle, a third holding 3 bytes of an MBAP header, a third pipelining 20 requests
/// and never reading.
async fn hostile(addr: SocketAddr) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(HOSTILE);
    for i in 0..HOSTILE {
        let mut s = TcpStream::connect(addr).await.unwrap();
        match i * 3 / HOSTILE {
            0 => {}
            1 => s.write_all(&[0x00, 0x01, 0x00]).await.unwrap(),
            _ => {
                let burst: Vec<u8> = (0..20).flat_map(read_request).collect();
                s.write_all(&burst).await.unwrap();
            }
        }
        held.push(s);
    }
    held
}

/// Whether the server has closed `s` (EOF or reset), without blocking; answers to pipelined
/// requests are read and dropped.
fn is_closed(s: &TcpStream) -> bool {
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
fn closed(held: &[TcpStream]) -> Vec<usize> {
    (0..held.len()).filter(|&i| is_closed(&held[i])).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_client_is_served_past_a_thousand_held_connections() {
    let _ = cpppo_net::sys::raise_open_file_limit();
    let (addr, sim) = start(Simulator::new(store())).await;
    let held = tokio::time::timeout(Duration::from_secs(30), hostile(addr))
        .await
        .expect("connecting the hostile clients took too long");
    // All of them accepted and counted before the fresh client arrives.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.connections().counts().open < HOSTILE && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.connections().counts().open, HOSTILE);

    let started = Instant::now();
    let served = tokio::time::timeout(Duration::from_secs(1), async {
        let mut ctx = tcp::connect_slave(addr, Slave(1)).await.unwrap();
        ctx.read_holding_registers(0, 3).await.unwrap().unwrap()
    })
    .await;
    assert_eq!(
        served.ok(),
        Some(vec![99, 99, 99]),
        "fresh client not served within 1 s ({:?})",
        started.elapsed()
    );
    // It displaced exactly one connection, one of the idle ones (the longest idle).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gone = closed(&held);
    assert_eq!(gone.len(), 1, "closed: {gone:?}");
    assert!(gone[0] < HOSTILE / 3, "closed a busy connection: {gone:?}");
    // The fresh client has gone too (its connection dropped with it).
    assert_eq!(sim.connections().counts().open, HOSTILE - 1);
    assert_eq!(sim.connections().counts().evicted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_partial_and_unread_connections_time_out() {
    let limits = Limits {
        idle: Duration::from_millis(600),
        frame: Duration::from_millis(300),
        write: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, sim) = start(Simulator::new(store()).limits(limits)).await;
    let idle = TcpStream::connect(addr).await.unwrap();
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial.write_all(&[0x00, 0x01, 0x00]).await.unwrap();
    // A client that pipelines without end and never reads: once the socket buffers are full
    // the server cannot write, and must give up after the write timeout.
    let unread = TcpStream::connect(addr).await.unwrap();
    let flood = tokio::spawn(async move {
        let mut unread = unread;
        let burst: Vec<u8> = (0..1000).flat_map(read_request).collect();
        let started = Instant::now();
        loop {
            if unread.write_all(&burst).await.is_err() {
                return started.elapsed();
            }
        }
    });
    let held = [idle, partial];
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
    let flooded = tokio::time::timeout(Duration::from_secs(20), flood)
        .await
        .expect("a client that never reads was never closed")
        .unwrap();
    assert!(flooded < Duration::from_secs(20));
    assert!(sim.connections().counts().timed_out >= 3);
}

/// Issue 19 item 6: 1,000 clients connecting at once are all accepted from the listen backlog
/// and answered; with a backlog of 128 hundreds of them waited a second for a SYN retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_simultaneous_connects_are_all_served_at_once() {
    let _ = cpppo_net::sys::raise_open_file_limit();
    let (addr, _sim) = start(Simulator::new(store())).await;
    let started = Instant::now();
    let clients: Vec<_> = (0..HOSTILE as u16)
        .map(|t| {
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.write_all(&read_request(t)).await.unwrap();
                let mut reply = [0u8; 9 + 200];
                tokio::io::AsyncReadExt::read_exact(&mut s, &mut reply)
                    .await
                    .unwrap();
                assert_eq!(reply[..2], t.to_be_bytes());
                let took = started.elapsed();
                (s, took)
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
    println!("1,000 simultaneous connects: the last served after {slowest:?}");
    // A dropped SYN is retried after 1 s: any client that slow was not taken from the backlog.
    assert!(slowest < Duration::from_millis(900), "{slowest:?}");
}
