//! Hot connections (issue 18, `cpppo_net::hot`): a lock-step Modbus/TCP client (tokio-modbus)
//! is served on a thread of its own while it sends requests back to back; it is still answered
//! after pausing past the hot window, and stopping the simulator closes it at once.
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
