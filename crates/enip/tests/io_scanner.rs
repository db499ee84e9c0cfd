//! Our class 1 scanner against the ciplink 0.3.5 adapter (a strict third-party target, run
//! in-process on 127.0.0.1 with its TCP and I/O ports bound to 0). Our scanner binds its own
//! UDP port 0 and tells the adapter where T->O goes with a T->O sockaddr info item, so the
//! tests need no port 2222 and no namespaces.

use std::net::Ipv4Addr;
use std::time::Duration;

use ciplink::adapter::{Adapter, AdapterConfig, Assembly, ConnectionKind, Event};
use cpppo_enip::client::io::{IoKind, IoParams, Point};
use cpppo_enip::client::io_run::Control;
use cpppo_enip::client::io_scanner::ScanEvent;
use cpppo_enip::client::ReplyStatus;

#[path = "common/scan.rs"]
mod scan;
use scan::{scan, Scan, WAIT};

fn config(tcp: u16, io: u16) -> AdapterConfig {
    AdapterConfig {
        assemblies: vec![
            Assembly::input(100, 8),
            Assembly::output(150, 8),
            Assembly::config(1, 0),
        ],
        bind: Ipv4Addr::LOCALHOST,
        port: tcp,
        io_port: io,
        ..AdapterConfig::default()
    }
}

fn adapter() -> Adapter {
    Adapter::start(config(0, 0)).expect("ciplink adapter starts on loopback")
}

async fn start(a: &Adapter, params: IoParams) -> Scan {
    start_as(a, params, 7).await
}

async fn start_as(a: &Adapter, params: IoParams, seed: u32) -> Scan {
    scan(a.addr(), a.io_addr().port(), params, seed).await
}

/// Waits (blocking, in a helper thread) for the adapter's next event that `pick` accepts.
async fn adapter_event<T: Send + 'static>(
    a: &std::sync::Arc<Adapter>,
    pick: impl Fn(Event) -> Option<T> + Send + 'static,
) -> T {
    let a = a.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + WAIT;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            if let Some(t) = a.next_event(Some(left)).and_then(&pick) {
                return Some(t);
            }
        }
        None
    })
    .await
    .expect("adapter event thread")
    .expect("adapter event in time")
}

async fn exchange(params: IoParams, kind: ConnectionKind) {
    let a = std::sync::Arc::new(adapter());
    a.set_input(100, &[1, 2, 3, 4, 5, 6, 7, 8])
        .expect("set input");
    let mut s = start(&a, params).await;
    let opened = adapter_event(&a, |e| match e {
        Event::Opened(info) => Some(info),
        _ => None,
    })
    .await;
    assert_eq!(opened.kind, kind);
    s.input(&[1, 2, 3, 4, 5, 6, 7, 8]).await;
    a.set_input(100, &[9; 8]).expect("set input");
    s.input(&[9; 8]).await;
    if kind == ConnectionKind::ExclusiveOwner {
        s.control
            .send(Control::Output(vec![0xAA, 0x55]))
            .expect("control");
        let a2 = a.clone();
        adapter_event(&a, move |e| match e {
            Event::Output { instance: 150 } => a2
                .output(150)
                .ok()
                .filter(|o| o.data == [0xAA, 0x55, 0, 0, 0, 0, 0, 0] && o.run),
            _ => None,
        })
        .await;
    }
    let scanner = s.stop().await;
    assert!(scanner.is_stopped());
    let closed = adapter_event(&a, |e| match e {
        Event::Closed(info) => Some(info),
        _ => None,
    })
    .await;
    assert_eq!(closed.kind, kind);
    assert!(a.connections().is_empty());
    let stats = scanner.stats();
    assert!(stats.received >= 2 && stats.sent >= 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusive_owner_exchanges_data_both_ways_and_closes() {
    exchange(IoParams::default(), ConnectionKind::ExclusiveOwner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_forward_open_exclusive_owner() {
    let params = IoParams {
        large: true,
        ..IoParams::default()
    };
    exchange(params, ConnectionKind::ExclusiveOwner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_only_receives_inputs_with_heartbeats() {
    let params = IoParams {
        kind: IoKind::InputOnly,
        ..IoParams::default()
    };
    exchange(params, ConnectionKind::InputOnly).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_size_is_refused_with_the_accepted_size_and_the_scanner_stops() {
    let a = adapter();
    let params = IoParams {
        input: Point {
            instance: 100,
            size: 4,
        },
        ..IoParams::default()
    };
    let mut s = start(&a, params).await;
    let (status, retry) = s
        .until("refusal", |e| match e {
            ScanEvent::Refused { status, retry } => Some((status, retry)),
            _ => None,
        })
        .await;
    // T->O of 8 input bytes + the sequence count.
    assert_eq!(status.general, 0x01);
    assert_eq!(status.extended, [0x0109, 10]);
    assert!(!retry);
    let scanner = tokio::time::timeout(WAIT, s.task)
        .await
        .expect("stops by itself")
        .expect("task")
        .expect("driver");
    assert!(scanner.is_stopped());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_only_without_an_owner_is_refused_and_retried() {
    let a = adapter();
    let params = IoParams {
        kind: IoKind::ListenOnly,
        multicast: true,
        ..IoParams::default()
    };
    let mut s = start(&a, params).await;
    let (status, retry) = s
        .until("refusal", |e| match e {
            ScanEvent::Refused { status, retry } => Some((status, retry)),
            _ => None,
        })
        .await;
    assert_eq!(
        (status.general, status.extended.first()),
        (0x01, Some(&0x0119))
    );
    assert!(retry);
    s.until("retry", |e| match e {
        ScanEvent::Retrying { .. } => Some(()),
        _ => None,
    })
    .await;
    let scanner = s.stop().await;
    assert!(scanner.is_stopped());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_second_owner_are_refused() {
    let a = adapter();
    let mut first = start(&a, IoParams::default()).await;
    first
        .until("opened", |e| {
            matches!(e, ScanEvent::Opened { .. }).then_some(())
        })
        .await;
    // The same triad again is a duplicate Forward Open.
    let mut again = start(&a, IoParams::default()).await;
    let status: ReplyStatus = again
        .until("refusal", |e| match e {
            ScanEvent::Refused { status, .. } => Some(status),
            _ => None,
        })
        .await;
    assert_eq!(status.extended.first(), Some(&0x0100));
    again.stop().await;
    let mut second = start_as(&a, IoParams::default(), 8).await;
    let status: ReplyStatus = second
        .until("refusal", |e| match e {
            ScanEvent::Refused { status, .. } => Some(status),
            _ => None,
        })
        .await;
    assert_eq!(status.extended.first(), Some(&0x0106));
    second.stop().await;
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_gone_times_out_then_reconnects_with_back_off() {
    let a = adapter();
    let (tcp, io) = (a.addr().port(), a.io_addr().port());
    a.set_input(100, &[5; 8]).expect("set input");
    let params = IoParams {
        rpi: Duration::from_millis(5),
        timeout_multiplier: 0,
        ..IoParams::default()
    };
    let mut s = start(&a, params).await;
    s.input(&[5; 8]).await;
    drop(a);
    s.until("timeout", |e| (e == ScanEvent::TimedOut).then_some(()))
        .await;
    s.until("retry", |e| match e {
        ScanEvent::Retrying { .. } => Some(()),
        _ => None,
    })
    .await;
    // The same adapter comes back on the same ports: the scanner finds it again.
    let back = Adapter::start(config(tcp, io)).expect("adapter restarts on its ports");
    back.set_input(100, &[6; 8]).expect("set input");
    s.until("reopened", |e| {
        matches!(e, ScanEvent::Opened { .. }).then_some(())
    })
    .await;
    s.input(&[6; 8]).await;
    let scanner = s.stop().await;
    assert!(scanner.stats().received >= 2);
}
