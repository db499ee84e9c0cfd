//! A class 1 scanner run by a test: started on its own UDP port 0 on loopback (the T→O
//! sockaddr item tells the adapter where to send), with its events on a channel. Shared by
//! `io_scanner.rs` (against ciplink) and `io_scanner_ours.rs` (against our adapter).
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cpppo_enip::client::io::IoParams;
use cpppo_enip::client::io_run::{bind, drive_on, Control, Endpoints};
use cpppo_enip::client::io_scanner::{ScanEvent, Scanner};
use cpppo_enip::client::Options;
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::simulator::{Running, SimulatorBuilder};
use cpppo_enip::server::io::IoSettings;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// Our simulator on 127.0.0.1 as a class 1 adapter (input 100, output 150, config 1; 8, 8 and
/// 4 bytes): the running server (explicit messaging) and its I/O socket's address.
pub async fn our_adapter() -> (Running, SocketAddr) {
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
    (served, io)
}

/// How long any one wait of these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running scanner: its control channel, its events, its task.
pub struct Scan {
    /// Commands to the scanner (outputs, stop).
    pub control: UnboundedSender<Control>,
    /// What the scanner reports.
    pub events: UnboundedReceiver<ScanEvent>,
    /// The driver's task.
    pub task: JoinHandle<Result<Scanner, cpppo_enip::client::ClientError>>,
}

impl Scan {
    /// The next event that `pick` accepts (others are skipped), within [`WAIT`].
    pub async fn until<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(ScanEvent) -> Option<T>,
    ) -> T {
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

    /// Waits for input data equal to `want`.
    pub async fn input(&mut self, want: &[u8]) {
        self.until("input", |e| match e {
            ScanEvent::Input(d) if d == want => Some(()),
            _ => None,
        })
        .await
    }

    /// Stops the scanner (Forward Close) and returns it, within [`WAIT`].
    pub async fn stop(self) -> Scanner {
        let _ = self.control.send(Control::Stop);
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("scanner stops in time")
            .expect("scanner task")
            .expect("scanner driver")
    }
}

/// Starts a scanner (connection serial from `seed`) for the adapter whose explicit messaging
/// is at `target` and whose I/O port is `io_port`.
pub async fn scan(target: SocketAddr, io_port: u16, params: IoParams, seed: u32) -> Scan {
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
        io_port,
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        ..Endpoints::to(target)
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

/// Our adapter serving on a runtime of its own (one worker, as a server runs it, so that it
/// keeps producing whatever the scanner's thread does) and a current-thread runtime for a
/// scanner. Fields drop in order: the server before the runtimes.
pub struct Rig {
    /// The running server (explicit messaging).
    pub served: Running,
    /// Its I/O socket's address.
    pub io: SocketAddr,
    /// The scanner's runtime.
    pub scanner_rt: tokio::runtime::Runtime,
    /// The adapter's runtime.
    pub adapter_rt: tokio::runtime::Runtime,
}

impl Rig {
    /// Starts [`our_adapter`] on its runtime.
    pub fn new() -> Rig {
        let adapter_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("adapter runtime");
        let (served, io) = adapter_rt.block_on(our_adapter());
        let scanner_rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("scanner runtime");
        Rig {
            served,
            io,
            scanner_rt,
            adapter_rt,
        }
    }

    /// A scanner (connection serial from `seed`) whose connection to the adapter is open;
    /// call from inside [`Rig::scanner_rt`].
    pub async fn opened(&self, params: IoParams, seed: u32) -> Scan {
        let mut s = scan(self.served.local_addr(), self.io.port(), params, seed).await;
        s.until("the connection", |e| match e {
            ScanEvent::Opened { .. } => Some(()),
            _ => None,
        })
        .await;
        s
    }
}
