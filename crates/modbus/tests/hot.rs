//! Hot connections (issue 18, `cpppo_net::hot`): a lock-step Modbus/TCP client (tokio-modbus)
//! is served on a thread of its own while it sends requests back to back; it is still answered
//! after pausing past the hot window, and stopping the simulator closes it at once.
#![cfg(feature = "runtime")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_modbus::server::Simulator;
use cpppo_modbus::store::Store;
use cpppo_modbus::{RangeSpec, Request};
use cpppo_net::conn::Limits;
use cpppo_net::os::OsListener;
use cpppo_net::Listener;
use tokio_modbus::prelude::*;

/// The simulator (40001-40100) on a runtime of its own, hot window `window`.
fn start(window: Duration) -> (tokio::runtime::Runtime, SocketAddr, Simulator) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let store = Store::from_specs(&[RangeSpec::parse("40001-40100=99").unwrap()]);
    let sim = Simulator::new(store).limits(Limits::default());
    sim.connections().set_hot_window(Some(window));
    let listener = rt
        .block_on(OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(Arc::new(sim.clone()).serve_tcp(listener));
    (rt, addr, sim)
}

/// Lock-step writes and reads of register 40002 until the simulator has moved a connection to
/// its own thread `hot` times in all (bounded: 20 s); each read sees the write before it.
async fn until_hot(ctx: &mut client::Context, sim: &Simulator, hot: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut i = 0u16;
    while sim.connections().counts().hot < hot {
        assert!(Instant::now() < deadline, "never went hot");
        i = i.wrapping_add(1);
        ctx.write_single_register(1, i).await.unwrap().unwrap();
        assert_eq!(
            ctx.read_holding_registers(1, 1).await.unwrap().unwrap(),
            [i]
        );
    }
    for _ in 0..20 {
        assert_eq!(
            ctx.read_holding_registers(1, 1).await.unwrap().unwrap(),
            [i]
        );
    }
}

/// Runs a client's steps on a runtime of its own (the simulator has another).
fn client<F: std::future::Future>(steps: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(steps)
}

#[test]
fn a_lock_step_client_pausing_past_the_hot_window_is_still_answered() {
    let (_rt, addr, sim) = start(Duration::from_millis(20));
    client(async {
        let mut ctx = tcp::connect_slave(addr, Slave(1)).await.unwrap();
        until_hot(&mut ctx, &sim, 1).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        ctx.write_single_register(2, 7).await.unwrap().unwrap();
        assert_eq!(
            ctx.read_holding_registers(2, 1).await.unwrap().unwrap(),
            [7]
        );
        until_hot(&mut ctx, &sim, 2).await;
        let counts = sim.connections().counts();
        assert_eq!((counts.open, counts.timed_out), (1, 0), "{counts:?}");
    });
}

#[test]
fn stopping_the_simulator_closes_a_hot_connection_promptly() {
    let (rt, addr, sim) = start(Duration::from_secs(30));
    client(async {
        let mut ctx = tcp::connect_slave(addr, Slave(1)).await.unwrap();
        until_hot(&mut ctx, &sim, 1).await;
        // The connection's thread waits for up to 30 s; dropping the runtime shuts its socket.
        let started = Instant::now();
        tokio::task::spawn_blocking(move || drop(rt)).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let answer = tokio::time::timeout(Duration::from_secs(1), ctx.read_holding_registers(0, 1))
            .await
            .expect("no answer, no close within 1 s");
        assert!(
            !matches!(answer, Ok(Ok(_))),
            "answered after stopping: {answer:?}"
        );
        let counts = sim.connections().counts();
        assert_eq!(counts.open, 0, "{counts:?}");
    });
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

/// Reads one reply to a request for 100 registers; its transaction id.
fn read_reply(s: &mut std::net::TcpStream) -> u16 {
    use std::io::Read;
    let mut reply = [0u8; 7 + 2 + 200];
    s.read_exact(&mut reply).unwrap();
    let (adu, used) = cpppo_modbus::tcp::decode(&reply).unwrap().unwrap();
    assert_eq!((used, adu.pdu.len()), (reply.len(), 202));
    adu.transaction
}

#[test]
fn a_stalled_reader_among_hot_connections_does_not_stall_the_others() {
    use std::io::Write;
    let (_rt, addr, sim) = start(Duration::from_secs(30));
    // The staller goes hot in lock step first.
    let mut staller = std::net::TcpStream::connect(addr).unwrap();
    staller
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut t = 0u16;
    while sim.connections().counts().hot < 1 {
        assert!(Instant::now() < deadline, "never went hot");
        staller.write_all(&read_request(t)).unwrap();
        assert_eq!(read_reply(&mut staller), t);
        t = t.wrapping_add(1);
    }
    // Then pipelines 20,000 requests (4 MB of replies) and reads none of them for now: the
    // server's writes to it stop (a partial write), its writer blocks.
    const PIPELINED: u16 = 20_000;
    let first = t;
    let mut writer = staller.try_clone().unwrap();
    let pipelining = std::thread::spawn(move || {
        let burst: Vec<u8> = (0..PIPELINED)
            .flat_map(|i| read_request(first.wrapping_add(i)))
            .collect();
        writer.write_all(&burst)
    });
    std::thread::sleep(Duration::from_millis(300));
    // Four lock-step clients go hot and are answered meanwhile.
    client(async {
        let mut tasks = tokio::task::JoinSet::new();
        for k in 0..4u16 {
            let sim = sim.clone();
            tasks.spawn(async move {
                let mut ctx = tcp::connect_slave(addr, Slave(1)).await.unwrap();
                let deadline = Instant::now() + Duration::from_secs(20);
                let (mut i, mut after) = (0u16, 0);
                while after < 500 {
                    assert!(Instant::now() < deadline, "client {k} stalled");
                    i = i.wrapping_add(1);
                    ctx.write_single_register(10 + k, i).await.unwrap().unwrap();
                    assert_eq!(
                        ctx.read_holding_registers(10 + k, 1)
                            .await
                            .unwrap()
                            .unwrap(),
                        [i]
                    );
                    if sim.connections().counts().hot >= 5 {
                        after += 1;
                    }
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    });
    // The staller reads at last: every reply, in order.
    for i in 0..PIPELINED {
        assert_eq!(read_reply(&mut staller), first.wrapping_add(i), "reply {i}");
    }
    pipelining.join().unwrap().unwrap();
    // The four closed; the staller is still served.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.connections().counts().open > 1 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            sim.connections().counts()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    staller.write_all(&read_request(7)).unwrap();
    assert_eq!(read_reply(&mut staller), 7);
    assert_eq!(sim.connections().counts().timed_out, 0);
}
