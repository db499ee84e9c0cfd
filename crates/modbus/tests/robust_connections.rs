//! Connection exhaustion (issue 19): 1,000 connections that stay open (idle, holding 3 bytes of
//! a header, or pipelining requests and never reading the answers) must not lock out a fresh
//! client; at the connection limit the longest-idle connection makes room; a client that stops
//! reading is closed after the write timeout.
#![cfg(feature = "runtime")]

#[path = "../../enip/tests/common/held.rs"]
mod held;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cpppo_modbus::server::Simulator;
use cpppo_modbus::store::Store;
use cpppo_modbus::{RangeSpec, Request};
use cpppo_net::conn::Limits;
use cpppo_net::os::OsListener;
use cpppo_net::Listener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// Read Holding Registers 40001-40100 (100 registers) on unit 1, transaction `t`.
fn read_request(t: u16) -> Vec<u8> {
    let mut f = Vec::new();
    let read = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 100,
    };
    cpppo_modbus::tcp::encode(&mut f, t, 1, |o| read.emit(o));
    f
}

/// The start of an MBAP header, cut after 3 of its 7 bytes (deliberately partial).
const PARTIAL: [u8; 3] = [0x00, 0x01, 0x00];

/// Requests 0..`n`, pipelined.
fn burst(n: u16) -> Vec<u8> {
    (0..n).flat_map(read_request).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_client_is_served_past_a_thousand_held_connections() {
    let _ = cpppo_net::sys::raise_open_file_limit();
    let (addr, sim) = start(Simulator::new(store())).await;
    let fresh = async {
        let mut ctx = tcp::connect_slave(addr, Slave(1)).await.unwrap();
        ctx.read_holding_registers(0, 3).await.unwrap().unwrap()
    };
    let counts = || sim.connections().counts();
    let (answer, _held) =
        held::a_fresh_client_is_served(addr, HOSTILE, (&PARTIAL, &burst(20)), counts, fresh).await;
    assert_eq!(answer, [99, 99, 99]);
    // The fresh client has gone too (its connection dropped with it).
    assert_eq!(sim.connections().counts().open, HOSTILE - 1);
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
    held::idle_partial_and_unread_are_closed(addr, &PARTIAL, burst(1000)).await;
    assert!(sim.connections().counts().timed_out >= 3);
}

/// Issue 19 item 6: 1,000 clients connecting at once are all accepted from the listen backlog
/// and answered; with a backlog of 128 hundreds of them waited a second for a SYN retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_simultaneous_connects_are_all_served_at_once() {
    let _ = cpppo_net::sys::raise_open_file_limit();
    let (addr, _sim) = start(Simulator::new(store())).await;
    held::all_served_at_once(addr, HOSTILE, |addr, i| async move {
        let t = i as u16;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&read_request(t)).await.unwrap();
        let mut reply = [0u8; 9 + 200];
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply[..2], t.to_be_bytes());
        s
    })
    .await;
}

/// A reply is traffic: a client whose replies are delayed past the idle timeout, and who asks
/// again at once, is still served (the idle time counts from the reply, not from the request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_reply_restarts_the_idle_time() {
    let limits = Limits {
        idle: Duration::from_millis(300),
        ..Limits::default()
    };
    let sim = Simulator::new(store())
        .limits(limits)
        .delay(Duration::from_millis(500));
    let (addr, sim) = start(sim).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    for t in 0..2u16 {
        s.write_all(&read_request(t)).await.unwrap();
        // MBAP (7) + function, byte count, 100 registers.
        let mut reply = [0u8; 7 + 2 + 200];
        let got = tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut reply)).await;
        assert!(matches!(got, Ok(Ok(_))), "request {t}: {got:?}");
        assert_eq!(u16::from_be_bytes([reply[0], reply[1]]), t);
    }
    assert_eq!(sim.connections().counts().timed_out, 0);
}
