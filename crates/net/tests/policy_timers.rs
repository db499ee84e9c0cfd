//! In a server process (`cores::server_runtime`), the connection policy's timers run on the
//! timer runtime, not on the serving runtime: connections still time out when they should.

use std::time::{Duration, Instant};

use cpppo_net::conn::{Ended, Limits, Tracker};

#[test]
fn idle_and_partial_frame_timeouts_fire_from_the_timer_runtime() {
    let rt = cpppo_net::cores::server_runtime().expect("runtime");
    assert!(cpppo_net::cores::timers().is_some(), "a timer runtime runs");
    rt.block_on(async {
        let t = Tracker::new(Limits {
            max_connections: 10,
            idle: Duration::from_secs(1),
            frame: Duration::from_millis(100),
            write: Duration::from_secs(5),
        });
        let c = t.admit();
        let start = Instant::now();
        let why = tokio::time::timeout(Duration::from_secs(10), c.expired()).await;
        assert!(matches!(why, Ok(Ended::Idle(_))), "{why:?}");
        assert!(start.elapsed() >= Duration::from_secs(1));

        // One waiter kept: traffic defers the idle deadline, a frame begun brings it forward.
        let c = t.admit();
        let waiting = c.expired();
        tokio::pin!(waiting);
        // Active at 0.6 s, so still open at 1.2 s (past the first idle deadline).
        tokio::select! {
            why = &mut waiting => panic!("expired early: {why}"),
            () = tokio::time::sleep(Duration::from_millis(600)) => c.active(),
        }
        tokio::select! {
            why = &mut waiting => panic!("expired early: {why}"),
            () = tokio::time::sleep(Duration::from_millis(600)) => c.buffered(3, false),
        }
        let why = tokio::time::timeout(Duration::from_secs(10), &mut waiting).await;
        assert!(matches!(why, Ok(Ended::PartialFrame(_))), "{why:?}");
        assert_eq!(t.counts().timed_out, 2);
    });
}

/// The policy's timeouts need no timer in the serving runtime at all once the timer runtime
/// runs: a connection served on a runtime without one (a sleep there would panic, "timers are
/// disabled") still times out.
#[test]
fn the_policy_needs_no_timer_in_the_serving_runtime() {
    let _rt = cpppo_net::cores::server_runtime().expect("runtime");
    let no_timers = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a runtime without timers");
    let (tx, rx) = std::sync::mpsc::channel();
    let served = std::thread::spawn(move || {
        let why = no_timers.block_on(async {
            let t = Tracker::new(Limits {
                idle: Duration::from_millis(200),
                ..Limits::default()
            });
            t.admit().expired().await
        });
        let _ = tx.send(why);
    });
    let why = rx.recv_timeout(Duration::from_secs(10));
    assert!(matches!(why, Ok(Ended::Idle(_))), "{why:?}");
    served.join().expect("no panic in the serving runtime");
}
