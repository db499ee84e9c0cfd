//! Our class 1 scanner against our own adapter (the simulator with `@4/INSTANCE/3` assembly
//! tags), over real sockets on 127.0.0.1: data flows both ways and matches what explicit Get
//! and Set Attribute Single see on the same assemblies.

use std::net::SocketAddr;
use std::time::Duration;

use cpppo_enip::client::io::{IoKind, IoParams};
use cpppo_enip::client::io_run::Control;
use cpppo_enip::client::io_scanner::ScanEvent;
use cpppo_enip::client::{Connector, Options};
use cpppo_enip::runtime::simulator::Running as Served;

#[path = "common/scan.rs"]
mod scan;
use scan::{Scan, WAIT};

struct Rig {
    served: Served,
    io: SocketAddr,
}

async fn simulator() -> Rig {
    let (served, io) = scan::our_adapter().await;
    Rig { served, io }
}

async fn scan(rig: &Rig, params: IoParams, seed: u32) -> Scan {
    scan::scan(rig.served.local_addr(), rig.io.port(), params, seed).await
}

async fn explicit(rig: &Rig) -> Connector {
    Connector::connect(&rig.served.local_addr().to_string(), Options::simple())
        .await
        .expect("explicit session")
}

async fn assembly(c: &mut Connector, instance: u32) -> Vec<u8> {
    c.get_attribute_single(4, instance, 3)
        .await
        .expect("Get Attribute Single")
}

/// Waits until `instance` reads `want` explicitly.
async fn assembly_becomes(c: &mut Connector, instance: u32, want: &[u8]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = assembly(c, instance).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "assembly {instance} is {got:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_data_both_ways_matches_explicit_reads() {
    let rig = simulator().await;
    let mut c = explicit(&rig).await;
    c.set_attribute_single(4, 100, 3, &[1, 2, 3, 4, 5, 6, 7, 8])
        .await
        .expect("Set Attribute Single");
    let mut s = scan(&rig, IoParams::default(), 1).await;
    s.until("opened", |e| {
        matches!(e, ScanEvent::Opened { .. }).then_some(())
    })
    .await;
    s.input(&[1, 2, 3, 4, 5, 6, 7, 8]).await;
    s.control
        .send(Control::Output(vec![0x11, 0x22, 0x33]))
        .expect("control");
    assembly_becomes(&mut c, 150, &[0x11, 0x22, 0x33, 0, 0, 0, 0, 0]).await;
    c.set_attribute_single(4, 100, 3, &[9; 8])
        .await
        .expect("Set Attribute Single");
    s.input(&[9; 8]).await;
    let scanner = s.stop().await;
    let stats = scanner.stats();
    assert!(stats.received >= 2 && stats.stale == 0, "{stats:?}");
    // Forward Close freed the output assembly: another owner gets it at once.
    let mut again = scan(&rig, IoParams::default(), 2).await;
    again
        .until("reopened", |e| match e {
            ScanEvent::Opened { .. } => Some(()),
            ScanEvent::Refused { status, .. } => panic!("refused: {status}"),
            _ => None,
        })
        .await;
    again.stop().await;
    rig.served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_only_and_large_forward_open() {
    let rig = simulator().await;
    let mut c = explicit(&rig).await;
    c.set_attribute_single(4, 100, 3, &[4; 8])
        .await
        .expect("Set Attribute Single");
    let params = IoParams {
        kind: IoKind::InputOnly,
        large: true,
        ..IoParams::default()
    };
    let mut s = scan(&rig, params, 3).await;
    s.input(&[4; 8]).await;
    s.stop().await;
    rig.served.stop().await;
}

/// A class 0 Input Only connection: the scanner opens it with transport class 0 and a T->O
/// size of the input alone, and sees every change of the inputs (no sequence count tells it
/// the data is new).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class_0_input_only_sees_every_change() {
    let rig = simulator().await;
    let mut c = explicit(&rig).await;
    let params = IoParams {
        kind: IoKind::InputOnly,
        class0: true,
        ..IoParams::default()
    };
    assert_eq!(params.t_o_size(), 8);
    let mut s = scan(&rig, params, 4).await;
    for value in [1u8, 2, 1] {
        c.set_attribute_single(4, 100, 3, &[value; 8])
            .await
            .expect("Set Attribute Single");
        s.input(&[value; 8]).await;
    }
    let scanner = s.stop().await;
    let stats = scanner.stats();
    assert!(stats.received >= 3 && stats.sent >= 1, "{stats:?}");
    rig.served.stop().await;
}
