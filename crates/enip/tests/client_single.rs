//! The lean single-operation path ([`Connector::prepare`] / [`Connector::perform`]) and the
//! TCP connector's blocking mode, against our simulator (in-process, on a listener bound to
//! port 0, shut down when the test ends).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_enip::client::operation::{Literal, Operation};
use cpppo_enip::client::{blocking, ClientError, Connector, Options};
use cpppo_enip::runtime::control::ServerControl;
use cpppo_enip::runtime::serve::{serve_listener, Options as ServerOptions};
use cpppo_enip::server::session::RoutePolicy;
use cpppo_net::os::OsListener;
use cpppo_net::Listener;
use tokio::sync::watch;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Our simulator with `SCADA=INT[1000]` on a runtime of its own; its reply delay is live.
struct Sim {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    control: Arc<ServerControl>,
    _stop: watch::Sender<bool>,
}

fn sim() -> Result<Sim> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let shared = common::shared(RoutePolicy::Any);
    let control = Arc::new(ServerControl::new(None));
    let opts = Arc::new(ServerOptions {
        control: Some(control.clone()),
        ..ServerOptions::default()
    });
    let listener = rt.block_on(OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))?;
    let addr = listener.local_addr()?;
    let (stop, shutdown) = watch::channel(false);
    rt.spawn(serve_listener(listener, shared, opts, shutdown));
    Ok(Sim {
        rt,
        addr,
        control,
        _stop: stop,
    })
}

fn ints(range: std::ops::Range<i128>) -> Vec<Literal> {
    range.map(Literal::Int).collect()
}

#[test]
fn a_prepared_operation_repeats_and_follows_fragments_and_split_writes() -> Result {
    let sim = sim()?;
    let mut c = blocking::Client::connect(&sim.addr.to_string(), Options::default())?;
    // 300 INTs (600 bytes) do not fit one 504-byte request: written in pieces.
    let values: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let text = format!("SCADA[0-299]=(INT){}", values.join(","));
    let mut write = c.prepare(&Operation::parse(&text)?)?;
    assert_eq!(c.perform(&mut write)?, ints(0..300));
    // 1000 INTs (2000 bytes) do not fit one reply: read by Read Tag Fragmented.
    let mut all = c.prepare(&Operation::parse("SCADA[0-999]")?)?;
    let got = c.perform(&mut all)?;
    assert_eq!(got.len(), 1000);
    assert_eq!(got[..300], ints(0..300)[..]);
    // The same prepared read, again and again, sees each write.
    let mut one = c.prepare(&Operation::parse("SCADA[7]")?)?;
    for i in 0..50 {
        c.write(&format!("SCADA[7]=(INT){i}"))?;
        assert_eq!(c.perform(&mut one)?, ints(i..i + 1));
        assert_eq!(c.read("SCADA[7]")?, ints(i..i + 1));
    }
    // A refusal is the reply's status, and the session carries on.
    let mut nosuch = c.prepare(&Operation::parse("NOSUCH[0]")?)?;
    match c.perform(&mut nosuch) {
        Err(ClientError::Status { what, status }) => {
            assert_eq!(status.general, 0x05, "{what}: {status}");
            assert!(what.contains("NOSUCH"), "{what}");
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert_eq!(c.perform(&mut one)?, ints(49..50));
    c.close()?;
    Ok(())
}

#[test]
fn a_tcp_connector_switches_between_blocking_and_async_mode() -> Result {
    let sim = sim()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut conn = rt.block_on(Connector::connect(
        &sim.addr.to_string(),
        Options::default(),
    ))?;
    let mut read = conn.prepare(&Operation::parse("SCADA[3]")?)?;
    assert!(!conn.is_blocking());
    match conn.perform_blocking(&mut read) {
        Err(ClientError::Protocol(why)) => assert!(why.contains("blocking mode"), "{why}"),
        other => panic!("async mode refuses a blocking call: {other:?}"),
    }
    conn.set_blocking(true)?;
    assert!(conn.is_blocking());
    rt.block_on(conn.write("SCADA[3]=(INT)33"))?;
    assert_eq!(conn.perform_blocking(&mut read)?, ints(33..34));
    // Back to async mode (inside the runtime) for a deep pipeline, then blocking again.
    let ops = (0..100).map(|i| Operation::parse(&format!("SCADA[{i}]=(INT){i}")));
    let ops = ops.collect::<std::result::Result<Vec<_>, _>>()?;
    let (failures, done) = rt.block_on(async {
        conn.set_blocking(false)?;
        conn.process(ops, 20, 0).await
    })?;
    assert_eq!((failures, done.len(), conn.is_blocking()), (0, 100, false));
    conn.set_blocking(true)?;
    assert_eq!(conn.perform_blocking(&mut read)?, ints(3..4));
    rt.block_on(conn.close())?;
    // Outside a runtime, async mode cannot be had: an error, not a panic.
    let mut other = rt.block_on(Connector::connect(
        &sim.addr.to_string(),
        Options::default(),
    ))?;
    other.set_blocking(true)?;
    assert!(matches!(
        other.set_blocking(false),
        Err(ClientError::Protocol(_))
    ));
    assert_eq!(other.perform_blocking(&mut read)?, ints(3..4));
    let udp = rt.block_on(Connector::udp(
        &sim.addr.to_string(),
        false,
        Options::default(),
    ));
    let mut udp = udp?;
    assert!(matches!(
        udp.set_blocking(true),
        Err(ClientError::Protocol(_))
    ));
    Ok(())
}

#[test]
fn an_interrupt_check_ends_a_blocking_wait_and_the_timeout_still_holds() -> Result {
    let sim = sim()?;
    let options = Options {
        timeout: Duration::from_secs(60),
        ..Options::default()
    };
    let mut c = sim
        .rt
        .block_on(Connector::connect(&sim.addr.to_string(), options))?;
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = checks.clone();
    c.set_interrupt(
        Duration::from_millis(20),
        Some(Box::new(move || {
            // The third wake-up says stop (as a Python signal handler that raised).
            match counted.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Ok(()),
                _ => Err(ClientError::Protocol("stopped by the check".into())),
            }
        })),
    )?;
    c.set_blocking(true)?;
    let mut read = c.prepare(&Operation::parse("SCADA[0]")?)?;
    assert_eq!(c.perform_blocking(&mut read)?, ints(0..1));
    assert_eq!(checks.load(Ordering::SeqCst), 0, "no wait, no check");
    // Replies now come 30 s late: the check ends the wait long before (or the 60 s timeout).
    sim.control.set_delay(30.0, 30.0);
    let started = Instant::now();
    match c.perform_blocking(&mut read) {
        Err(ClientError::Protocol(why)) => assert_eq!(why, "stopped by the check"),
        other => panic!("expected the check's error, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(checks.load(Ordering::SeqCst), 3);
    // Without a check, the connector's timeout bounds a blocking wait.
    let options = Options {
        timeout: Duration::from_millis(300),
        ..Options::default()
    };
    sim.control.set_delay(0.0, 0.0);
    let mut quick = blocking::Client::connect(&sim.addr.to_string(), options)?;
    sim.control.set_delay(30.0, 30.0);
    assert!(matches!(
        quick.read("SCADA[0]"),
        Err(ClientError::Timeout(_))
    ));
    Ok(())
}
