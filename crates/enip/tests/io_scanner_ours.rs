//! Our class 1 scanner against our own adapter (the simulator with `@4/INSTANCE/3` assembly
//! tags), over real sockets on 127.0.0.1: data flows both ways and matches what explicit Get
//! and Set Attribute Single see on the same assemblies.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cpppo_enip::client::io::{IoKind, IoParams};
use cpppo_enip::client::io_run::{bind, drive_on, Control, Endpoints};
use cpppo_enip::client::io_scanner::{ScanEvent, Scanner};
use cpppo_enip::client::{Connector, Options};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::simulator::{Running as Served, SimulatorBuilder};
use cpppo_enip::server::io::IoSettings;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

struct Rig {
    served: Served,
    io: SocketAddr,
}

async fn simulator() -> Rig {
    let sim = SimulatorBuilder::new()
        .tags(
            [
                "Inputs@4/100/3=SINT[8]",
                "Outputs@4/150/3=SINT[8]",
                "Config@4/1/3=SINT[4]",
            ]
            .iter()
            .map(|t| TagSpec::parse(t).expect("tag")),
        )
        .io(IoSettings::default())
        .build()
        .expect("simulator");
    let served = sim
        .start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), false)
        .await
        .expect("serve TCP");
    let io = served
        .simulator()
        .start_io(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            served.shutdown(),
        )
        .await
        .expect("serve I/O");
    Rig { served, io }
}

struct Scan {
    control: UnboundedSender<Control>,
    events: UnboundedReceiver<ScanEvent>,
    task: JoinHandle<Result<Scanner, cpppo_enip::client::ClientError>>,
}

impl Scan {
    async fn until<T>(&mut self, what: &str, mut pick: impl FnMut(ScanEvent) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => {
                    if let Some(t) = pick(e) {
                        return t;
                    }
                }
                Ok(None) => panic!("scanner ended while waiting for {what}"),
                Err(_) => panic!("no {what} within {WAIT:?}"),
            }
        }
    }

    async fn input(&mut self, want: &[u8]) {
        self.until("input", |e| match e {
            ScanEvent::Input(d) if d == want => Some(()),
            _ => None,
        })
        .await
    }

    async fn stop(self) -> Scanner {
        let _ = self.control.send(Control::Stop);
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("scanner stops in time")
            .expect("scanner task")
            .expect("scanner driver")
    }
}

async fn scan(rig: &Rig, params: IoParams, seed: u32) -> Scan {
    let udp = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind UDP");
    let port = udp.local_addr().expect("UDP address").port();
    let params = IoParams {
        t_o_port: port,
        ..params
    };
    let scanner = Scanner::new(params, Options::simple(), seed).expect("scanner");
    let ends = Endpoints {
        io_port: rig.io.port(),
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        ..Endpoints::to(rig.served.local_addr())
    };
    let (control, rx) = unbounded_channel();
    let (tx, events) = unbounded_channel();
    let task = tokio::spawn(drive_on(scanner, ends, udp, rx, move |_, e| {
        let _ = tx.send(e);
    }));
    Scan {
        control,
        events,
        task,
    }
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
