//! Hot connections (issue 18, `cpppo_net::hot`): a lock-step client is served on a thread of
//! its own while it sends requests back to back; everything a client or operator sees stays
//! the same: answers after a pause, the idle timeout, the connection limit, a prompt shutdown.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_enip::client::operation::Literal;
use cpppo_enip::client::{blocking, Options};
use cpppo_enip::runtime::control::ServerControl;
use cpppo_enip::runtime::serve::{serve_listener, Options as ServerOptions};
use cpppo_enip::server::session::RoutePolicy;
use cpppo_net::conn::{Counts, Limits, Tracker};
use cpppo_net::os::OsListener;
use cpppo_net::Listener;
use tokio::sync::watch;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Our simulator (`SCADA=INT[1000]`, with the web API's statistics) on a runtime of its own.
struct Sim {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    connections: Arc<Tracker>,
    control: Arc<ServerControl>,
    stop: watch::Sender<bool>,
    served: tokio::task::JoinHandle<()>,
}

fn sim(limits: Limits, window: Duration) -> Result<Sim> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let shared = common::shared(RoutePolicy::Any);
    let connections = Tracker::new(limits);
    connections.set_hot_window(Some(window));
    let control = Arc::new(ServerControl::new(None));
    let opts = Arc::new(ServerOptions {
        control: Some(control.clone()),
        connections: connections.clone(),
        ..ServerOptions::default()
    });
    let listener = rt.block_on(OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))?;
    let addr = listener.local_addr()?;
    let (stop, shutdown) = watch::channel(false);
    let served = rt.spawn(serve_listener(listener, shared, opts, shutdown));
    Ok(Sim {
        rt,
        addr,
        connections,
        control,
        stop,
        served,
    })
}

fn client(sim: &Sim) -> Result<blocking::Client> {
    Ok(blocking::Client::connect(
        &sim.addr.to_string(),
        Options::default(),
    )?)
}

/// Lock-step writes and reads of SCADA[1] (each read sees the write before it) until the
/// server has moved a connection to its own thread `hot` times in all (bounded: 20 s).
fn until_hot(c: &mut blocking::Client, counts: impl Fn() -> Counts, hot: u64) -> Result {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut i = 0i128;
    while counts().hot < hot {
        assert!(Instant::now() < deadline, "never went hot: {:?}", counts());
        i = (i + 1) % 30000;
        c.write(&format!("SCADA[1]=(INT){i}"))?;
        assert_eq!(c.read("SCADA[1]")?, [Literal::Int(i)]);
    }
    // A few more while hot.
    for j in 0..20 {
        assert_eq!(c.read("SCADA[1]")?, [Literal::Int(i)], "read {j} while hot");
    }
    Ok(())
}

/// Waits (bounded: 5 s) until no connection is open; how long that took.
fn until_closed(sim: &Sim) -> Duration {
    let started = Instant::now();
    while sim.connections.counts().open > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still open: {:?}",
            sim.connections.counts()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

#[test]
fn a_lock_step_client_pausing_past_the_hot_window_is_still_answered() -> Result {
    let sim = sim(Limits::default(), Duration::from_millis(20))?;
    let counts = || sim.connections.counts();
    let mut c = client(&sim)?;
    until_hot(&mut c, counts, 1)?;
    // Longer than the window: the connection goes back to the reactor, session intact.
    std::thread::sleep(Duration::from_millis(150));
    c.write("SCADA[2]=(INT)42")?;
    assert_eq!(c.read("SCADA[2]")?, [Literal::Int(42)]);
    // And hot again.
    until_hot(&mut c, counts, 2)?;
    assert_eq!(counts().open, 1);
    assert_eq!(counts().timed_out, 0);
    Ok(())
}

/// A client repeating the very same read (answered from the session's memory of its bytes,
/// whether hot or not) sees each write another connection makes before its next read.
#[test]
fn a_repeated_read_sees_every_write_from_another_connection() -> Result {
    let sim = sim(Limits::default(), Duration::from_millis(20))?;
    let mut reader = client(&sim)?;
    let mut writer = client(&sim)?;
    writer.write("SCADA[2]=(INT)-2")?;
    let mut expect = 0i128;
    for i in 1..=300i128 {
        for j in 0..4 {
            assert_eq!(
                reader.read("SCADA[1]")?,
                [Literal::Int(expect)],
                "round {i}, read {j}"
            );
        }
        // Other request bytes in between: another element, then the first again.
        assert_eq!(reader.read("SCADA[2]")?, [Literal::Int(-2)], "round {i}");
        assert_eq!(
            reader.read("SCADA[1]")?,
            [Literal::Int(expect)],
            "round {i}"
        );
        writer.write(&format!("SCADA[1]=(INT){i}"))?;
        expect = i;
    }
    assert_eq!(reader.read("SCADA[1]")?, [Literal::Int(expect)]);
    Ok(())
}

#[test]
fn a_hot_connection_still_times_out_when_idle() -> Result {
    let limits = Limits {
        idle: Duration::from_millis(400),
        ..Limits::default()
    };
    // A window longer than the idle timeout: the idle timeout bounds it.
    let sim = sim(limits, Duration::from_secs(30))?;
    let mut c = client(&sim)?;
    until_hot(&mut c, || sim.connections.counts(), 1)?;
    let idle = until_closed(&sim);
    assert!(idle >= Duration::from_millis(300), "closed after {idle:?}");
    assert!(idle < Duration::from_secs(3), "closed after {idle:?}");
    assert_eq!(sim.connections.counts().timed_out, 1);
    Ok(())
}

#[test]
fn shutting_down_the_server_closes_a_hot_connection_promptly() -> Result {
    let sim = sim(Limits::default(), Duration::from_secs(30))?;
    let mut c = client(&sim)?;
    until_hot(&mut c, || sim.connections.counts(), 1)?;
    sim.stop.send(true)?;
    let took = until_closed(&sim);
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    let served = sim
        .rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(1), sim.served).await });
    assert!(matches!(served, Ok(Ok(()))), "{served:?}");
    assert!(c.read("SCADA[1]").is_err(), "answered after shutdown");
    Ok(())
}

/// A reply delay set through the web API while a connection is hot, longer than the idle
/// timeout: the delayed reply still arrives (the connection leaves the hot thread, so the
/// delay counts as its activity, as in the reactor) and nothing times out.
#[test]
fn a_delay_longer_than_the_idle_timeout_set_while_hot_still_answers() -> Result {
    let limits = Limits {
        idle: Duration::from_millis(300),
        ..Limits::default()
    };
    let sim = sim(limits, Duration::from_secs(30))?;
    let counts = || sim.connections.counts();
    let mut c = client(&sim)?;
    until_hot(&mut c, counts, 1)?;
    sim.control.set_delay(0.5, 0.5);
    let asked = Instant::now();
    let value = c.read("SCADA[1]")?;
    assert!(asked.elapsed() >= Duration::from_millis(450), "not delayed");
    assert!(matches!(value.as_slice(), [Literal::Int(_)]), "{value:?}");
    sim.control.set_delay(0.0, 0.0);
    c.write("SCADA[1]=(INT)7")?;
    assert_eq!(c.read("SCADA[1]")?, [Literal::Int(7)]);
    assert_eq!(counts().timed_out, 0);
    assert_eq!(counts().open, 1);
    Ok(())
}

#[test]
fn a_hot_connection_is_displaced_at_the_connection_limit() -> Result {
    let limits = Limits {
        max_connections: 1,
        ..Limits::default()
    };
    let sim = sim(limits, Duration::from_secs(30))?;
    let mut a = client(&sim)?;
    until_hot(&mut a, || sim.connections.counts(), 1)?;
    // A newcomer at the limit of one: the hot connection (waiting on its thread) makes room.
    let started = Instant::now();
    let mut b = client(&sim)?;
    assert_eq!(b.read("SCADA[1]")?.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let counts = sim.connections.counts();
    assert_eq!((counts.open, counts.evicted), (1, 1), "{counts:?}");
    assert!(
        a.read("SCADA[1]").is_err(),
        "the displaced connection still answered"
    );
    Ok(())
}

/// `n` lock-step clients, each writing and reading its own element `SCADA[k]` (so a reply
/// meant for another connection would show another value), until every one of them has done
/// `after` requests since the server counted `n` moves to a hot thread (bounded: 30 s).
/// Client `k` asks `go_on(k)` after each request; `false` closes it mid-stream. The clients
/// still open come back (in order).
fn lock_step_many(
    sim: &Sim,
    n: usize,
    after: u32,
    go_on: impl Fn(usize) -> bool + Sync,
) -> Result<Vec<blocking::Client>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let one = |k: usize| -> std::result::Result<Option<blocking::Client>, String> {
        let mut c = client(sim).map_err(|e| e.to_string())?;
        let (mut since_hot, mut v) = (0u32, 0i128);
        let tag = format!("SCADA[{}]", k + 1);
        while since_hot < after {
            if Instant::now() > deadline {
                return Err(format!("client {k}: {:?}", sim.connections.counts()));
            }
            v = (v + 1) % 30000;
            c.write(&format!("{tag}=(INT){v}"))
                .map_err(|e| e.to_string())?;
            let got = c.read(&tag).map_err(|e| e.to_string())?;
            if got != [Literal::Int(v)] {
                return Err(format!("client {k} read {got:?}, wrote {v}"));
            }
            if sim.connections.counts().hot >= n as u64 {
                since_hot += 1;
            }
            if !go_on(k) {
                return Ok(None);
            }
        }
        Ok(Some(c))
    };
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..n).map(|k| scope.spawn(move || one(k))).collect();
        let mut open = Vec::new();
        for t in threads {
            open.extend(t.join().map_err(|_| "a client panicked")??);
        }
        Ok(open)
    })
}

#[test]
fn fifty_lock_step_connections_all_go_hot_and_each_gets_its_own_answers() -> Result {
    let sim = sim(Limits::default(), Duration::from_millis(20))?;
    let clients = lock_step_many(&sim, 50, 300, |_| true)?;
    let counts = sim.connections.counts();
    assert!(counts.hot >= 50, "{counts:?}");
    assert_eq!((counts.open, counts.timed_out), (50, 0), "{counts:?}");
    drop(clients);
    until_closed(&sim);
    Ok(())
}

#[test]
fn a_connection_closed_by_its_peer_leaves_the_other_hot_ones_served() -> Result {
    let sim = sim(Limits::default(), Duration::from_secs(30))?;
    // Client 0 goes away mid-stream once all ten went hot; the others carry on for 500
    // requests each after that.
    let others = lock_step_many(&sim, 10, 500, |k| {
        k != 0 || sim.connections.counts().hot < 10
    })?;
    assert_eq!(others.len(), 9);
    let counts = sim.connections.counts();
    assert_eq!((counts.open, counts.timed_out), (9, 0), "{counts:?}");
    Ok(())
}

#[test]
fn shutting_down_the_server_closes_many_hot_connections_promptly() -> Result {
    // A window of 30 s: the twenty connections are still hot when the server stops.
    let sim = sim(Limits::default(), Duration::from_secs(30))?;
    let mut clients = lock_step_many(&sim, 20, 50, |_| true)?;
    assert_eq!(sim.connections.counts().open, 20);
    sim.stop.send(true)?;
    let took = until_closed(&sim);
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    for (k, c) in clients.iter_mut().enumerate() {
        assert!(
            c.read("SCADA[1]").is_err(),
            "client {k} answered after shutdown"
        );
    }
    Ok(())
}
