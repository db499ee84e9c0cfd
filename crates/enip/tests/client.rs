//! The client against two simulators, each case run against both: the Python cpppo 5.2.5
//! simulator (`.venv/bin/enip_server`, started on 127.0.0.1 port 0, its bound addresses read
//! from its output, and killed by PID when the test ends; skipped with a printed reason when the
//! venv is absent) and ours (`cpppo_enip::runtime::serve`, in-process on a listener bound to port 0,
//! shut down when the test ends).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::serve::{serve_datagrams, serve_listener, Options as ServerOptions};
use cpppo_enip::server::session::{RoutePolicy, Shared};
use cpppo_net::os::{OsDatagram, OsListener};
use cpppo_net::{Datagram, Listener};
use tokio::sync::watch;

use cpppo_cip::mr::MrReply;
use cpppo_enip::client::operation::Operation;
use cpppo_enip::client::operation::{parse_operations, Literal};
use cpppo_enip::client::plan::{Absorbed, Accumulator, Plan};
use cpppo_enip::client::poller::{PollEvent, Poller};
use cpppo_enip::client::proxy::{Proxy, POWERFLEX_750};
use cpppo_enip::client::session::{Event, Session};
use cpppo_enip::client::{blocking, ClientError, Connector, ListReply, Options, Pipeline};
use cpppo_net::drive::{Driver, Ready};

/// The Python simulator's `enip_server`, if the venv is there.
fn enip_server() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(venv) = std::env::var("CPPPO_VENV") {
        candidates.push(PathBuf::from(venv));
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    candidates.extend(manifest.ancestors().map(|a| a.join(".venv")));
    candidates.push(PathBuf::from("/work/main/.venv"));
    candidates
        .into_iter()
        .map(|v| v.join("bin").join("enip_server"))
        .find(|p| p.exists())
}

/// The port of a Python simulator's `Network TCP Server address = ('127.0.0.1', 45123)` line.
fn bound_port(line: &str) -> Option<u16> {
    let rest = line.split_once("Server address = ")?.1;
    rest.trim()
        .trim_end_matches(')')
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Which simulator a test talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The Python cpppo 5.2.5 `enip_server`, as a child process.
    Python,
    /// Ours (`cpppo_enip::runtime::serve`), in this process.
    Ours,
}

/// A running simulator; stopped (killed by PID, or shut down) when dropped.
struct Sim {
    /// Its TCP port (bound from port 0 at the first start; kept across a restart).
    port: u16,
    /// Its UDP address (the same port, unless that was taken).
    udp: SocketAddr,
    child: Option<Child>,
    stop: Option<watch::Sender<bool>>,
}

/// Tags every test uses; the PowerFlex 750 parameters as `@class/instance/attribute` tags.
const TAGS: &[&str] = &[
    "SCADA=INT[1000]",
    "FLOAT=REAL",
    "TEXT=SSTRING",
    "DINTS=DINT[100]",
    "Motor_Velocity@0x93/3/10=REAL",
    "Output_Current@0x93/7/10=REAL",
    "Speed_Units@0x93/300/10=DINT",
];

impl Sim {
    /// Starts a simulator on `port` (0: any free port, read back from the simulator).
    async fn start_on(kind: Kind, port: u16) -> Option<Sim> {
        match kind {
            Kind::Python => tokio::task::spawn_blocking(move || Sim::python(port))
                .await
                .ok()?,
            Kind::Ours => Some(Sim::ours(port).await),
        }
    }

    /// The Python simulator on `port`: `-A` makes it print the addresses it bound
    /// (`Network TCP Server address = ('127.0.0.1', 45123)`, then the UDP one).
    fn python(port: u16) -> Option<Sim> {
        let Some(bin) = enip_server() else {
            eprintln!("SKIP: no .venv/bin/enip_server (run scripts/setup)");
            return None;
        };
        let mut child = Command::new(bin)
            .arg("-A")
            .arg("-a")
            .arg(format!("127.0.0.1:{port}"))
            .args(TAGS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Reads every line (the child never blocks on a full pipe), sending the addresses.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = bound_port(&line) {
                    let _ = tx.send((line.contains("UDP"), port));
                }
            }
        });
        let mut sim = Sim {
            port: 0,
            udp: ([127, 0, 0, 1], 0).into(),
            child: Some(child),
            stop: None,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while sim.port == 0 || sim.udp.port() == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let (udp, port) = rx
                .recv_timeout(left)
                .expect("the Python simulator printed its addresses");
            if udp {
                sim.udp.set_port(port);
            } else {
                sim.port = port;
            }
        }
        Some(sim)
    }

    async fn ours(port: u16) -> Sim {
        let mut device = Device::new(&DeviceConfig::default());
        for spec in TAGS {
            let spec = TagSpec::parse(spec).expect("test tag spec");
            device.add_tag(&spec).expect("test tag");
        }
        let shared = Arc::new(Shared {
            device: Arc::new(device),
            route: RoutePolicy::Any,
            routes: Vec::new(),
            io: None,
        });
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let listener = OsListener::bind(addr).await.expect("bind TCP");
        let addr = listener.local_addr().expect("bound TCP address");
        // UDP on the same port when it is free, else on any port.
        let udp = match OsDatagram::bind(addr).await {
            Ok(udp) => udp,
            Err(_) => OsDatagram::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .expect("bind UDP"),
        };
        let udp_addr = udp.local_addr().expect("bound UDP address");
        let (stop, shutdown) = watch::channel(false);
        let opts = Arc::new(ServerOptions::default());
        tokio::spawn(serve_datagrams(
            udp,
            shared.clone(),
            opts.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(serve_listener(listener, shared, opts, shutdown));
        Sim {
            port: addr.port(),
            udp: udp_addr,
            child: None,
            stop: Some(stop),
        }
    }

    async fn start(kind: Kind) -> Option<Sim> {
        Sim::start_on(kind, 0).await
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

/// Runs a test case against both simulators.
macro_rules! both {
    ($case:ident) => {
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn python() -> Result<(), super::ClientError> {
                super::$case(super::Kind::Python).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ours() -> Result<(), super::ClientError> {
                super::$case(super::Kind::Ours).await
            }
        }
    };
}

both!(unconnected_read_write_and_statuses);
both!(large_reads_follow_fragments_and_pipeline_in_order);
both!(connected_simple_and_routing_modes);
both!(list_identity_tcp_and_udp_unicast);
both!(powerflex_proxy_reads_and_writes_motor_velocity);
both!(poller_survives_a_simulator_restart_with_backoff);
both!(two_pollers_share_one_session);
both!(cycling_pipeline_takes_operations_in_turn);
both!(a_driver_drives_many_sessions_lock_step);

#[test]
fn blocking_client_reads_and_writes() -> Result<(), ClientError> {
    let Some(sim) = Sim::python(0) else {
        return Ok(());
    };
    let addr = sim.addr();
    let mut c = blocking::Client::connect(&addr, Options::default())?;
    c.write("SCADA[9]=(INT)9")?;
    assert_eq!(c.read("SCADA[9]")?, ints(&[9]));
    assert_eq!(c.get_attribute_single(1, 1, 1)?, [1, 0]);
    let (failures, results) = c.process(parse_operations(&["SCADA[9]", "SCADA[1000]"])?, 2, 0)?;
    assert_eq!((failures, results.len()), (1, 2));
    c.close()?;
    // Connected, then dropped without close: the Forward Close goes out best-effort, and the
    // simulator serves the next session.
    let connected = Options {
        connected: true,
        ..Options::default()
    };
    drop(blocking::Client::connect(&addr, connected)?);
    let mut again = blocking::Client::connect(&addr, Options::default())?;
    assert_eq!(again.read("SCADA[9]")?, ints(&[9]));
    Ok(())
}

/// The blocking client (blocking socket I/O, no reactor) against our simulator: lock-step
/// writes and reads see each other, a pipelined batch comes back in order, and a closed
/// session lets the next one in.
#[test]
fn blocking_client_lock_step_against_ours() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let sim = rt.block_on(Sim::ours(0));
    let mut c = blocking::Client::connect(&sim.addr(), Options::default())?;
    for i in 0..200 {
        c.write(&format!("SCADA[{}]=(INT){i}", i % 10))?;
        assert_eq!(c.read(&format!("SCADA[{}]", i % 10))?, ints(&[i]));
    }
    let ops = parse_operations(&["SCADA[5-9]", "SCADA[1000]", "SCADA[0]"])?;
    let (failures, results) = c.process(ops, 3, 0)?;
    assert_eq!((failures, results.len()), (1, 3));
    assert_eq!(results[0].value, Some(ints(&[195, 196, 197, 198, 199])));
    c.close()?;
    let mut again = blocking::Client::connect(&sim.addr(), Options::default())?;
    assert_eq!(again.read("SCADA[9]")?, ints(&[199]));
    drop(again);
    drop(sim);
    Ok(())
}

/// The blocking client's reads block the thread, bounded by the timeout: a peer that accepts
/// and never answers gets a timeout error, not a hung caller.
#[test]
fn blocking_client_times_out_on_a_silent_peer() -> Result<(), Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let silent = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let options = Options {
        timeout: Duration::from_millis(300),
        ..Options::default()
    };
    let started = Instant::now();
    let got = blocking::Client::connect(&addr, options);
    assert!(
        matches!(got, Err(ClientError::Timeout(_))),
        "{:?}",
        got.err()
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    drop(silent.join());
    Ok(())
}

fn ints(v: &[i128]) -> Vec<Literal> {
    v.iter().map(|&n| Literal::Int(n)).collect()
}

async fn unconnected_read_write_and_statuses(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let mut conn = Connector::connect(&sim.addr(), Options::default()).await?;
    assert_ne!(conn.session(), 0);
    conn.write("SCADA[1-3]=(INT)10,-20,30").await?;
    assert_eq!(conn.read("SCADA[0-4]").await?, ints(&[0, 10, -20, 30, 0]));
    conn.write("FLOAT=1.5").await?;
    assert_eq!(conn.read("FLOAT").await?, vec![Literal::Real(1.5)]);
    conn.write("TEXT=(SSTRING)\"Hello, world!\"").await?;
    assert_eq!(
        conn.read("TEXT").await?,
        vec![Literal::Text("Hello, world!".into())]
    );
    conn.write("DINTS[5]=(DINT)-2000000000").await?;
    assert_eq!(conn.read("DINTS[5]").await?, ints(&[-2_000_000_000]));

    // Errors come back as statuses on the transaction, not as connection failures.
    let ops = parse_operations(&["SCADA[1000]", "SCADA[2-4]=(DINT)1,2,3", "SCADA[1]"])?;
    let (failures, results) = conn.process(ops, 1, 0).await?;
    assert_eq!(failures, 2);
    assert_eq!(
        results[0].line(),
        "         SCADA[1000][1000-1000]+  0 == None: 'Status 255 [8453]'"
    );
    assert_eq!(results[1].status.extended, vec![0x2107]);
    assert_eq!(results[2].value, Some(ints(&[10])));
    conn.close().await
}

/// `Pipeline::cycling`: operations taken in turn, each planned once; a repeated request (the
/// same frame, its sender context patched) is answered each time with the tag's current value,
/// failures stay per operation, and a fragmented read comes back whole every round.
async fn cycling_pipeline_takes_operations_in_turn(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let mut conn = Connector::connect(&sim.addr(), Options::default()).await?;
    let ops = parse_operations(&["SCADA[1]=(INT)5", "SCADA[1]", "SCADA[1000]", "SCADA[0-999]"])?;
    for (depth, multiple) in [(1, 0), (5, 0), (5, 200)] {
        let pipe = Pipeline::cycling(&mut conn, ops.clone(), Some(10), depth, multiple);
        let results = pipe.collect().await?;
        assert_eq!(results.len(), 10, "depth {depth} multiple {multiple}");
        for (i, t) in results.iter().enumerate() {
            assert_eq!(t.index, i);
            match i % 4 {
                0 => assert!(t.status.is_ok()),
                1 => assert_eq!(t.value, Some(ints(&[5]))),
                2 => assert_eq!(t.value, None, "SCADA[1000] is past the end"),
                _ => assert_eq!(t.value.as_ref().map(Vec::len), Some(1000)),
            }
        }
    }
    // Lock-step on a blocking session: the same read sent again and again sees each write.
    let mut conn = Connector::connect_blocking(&sim.addr(), Options::default()).await?;
    let read = parse_operations(&["SCADA[2]"])?;
    for n in 0..5 {
        conn.write(&format!("SCADA[2]=(INT){n}")).await?;
        let mut reads = Pipeline::cycling(&mut conn, read.clone(), None, 1, 0).replies(false);
        for _ in 0..3 {
            let (is_read, value) = reads.next_value().await.expect("endless")?;
            assert!(is_read);
            assert_eq!(value, Some(ints(&[n])));
        }
    }
    // No operations, no results.
    let mut none = Pipeline::cycling(&mut conn, Vec::new(), None, 1, 0);
    assert!(none.next().await.is_none());
    conn.close().await
}

/// What `Driver::turn` reported about one session, in one test.
fn poll_until<T>(
    driver: &mut Driver<Session>,
    within: Duration,
    mut on_ready: impl FnMut(usize, &mut Session, Ready) -> Option<T>,
) -> Option<T> {
    let until = Instant::now() + within;
    let mut out = None;
    while out.is_none() && Instant::now() < until {
        driver
            .turn(Duration::from_millis(50), |id, s, r| {
                if out.is_none() {
                    out = on_ready(id, s, r);
                }
            })
            .expect("epoll");
    }
    out
}

/// `cpppo_net::drive::Driver` drives 20 client sessions from one thread: each registers,
/// writes its own tag element, then reads it back lock-step 10 times; every read sees that
/// session's value.
async fn a_driver_drives_many_sessions_lock_step(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let addr = sim.addr();
    let run = move || -> Result<Vec<Vec<Literal>>, ClientError> {
        const N: usize = 20;
        let mut driver = Driver::new()?;
        for _ in 0..N {
            let mut session = Session::new(Options::default())?;
            session.register()?;
            driver.add(std::net::TcpStream::connect(&addr)?, session)?;
        }
        let plan = |text: &str| Plan::new(&Operation::parse(text).unwrap(), false, false).unwrap();
        let writes: Vec<Plan> = (0..N)
            .map(|i| plan(&format!("SCADA[{}]=(INT){}", 100 + i, i * 3)))
            .collect();
        let reads: Vec<Plan> = (0..N)
            .map(|i| plan(&format!("SCADA[{}]", 100 + i)))
            .collect();
        let mut seen: Vec<Vec<Literal>> = vec![Vec::new(); N];
        let mut left = N * 11; // a write and 10 reads each
        let mut failed = None;
        let finished = poll_until(&mut driver, Duration::from_secs(10), |id, s, ready| {
            assert!(matches!(ready, Ready::Input), "session {id}: {ready:?}");
            while let Some(event) = s.poll_event() {
                let next = match event {
                    Ok(Event::Registered(_)) => writes[id].request(0),
                    Ok(Event::Reply { message, .. }) => {
                        left -= 1;
                        let reply = MrReply::parse(message).unwrap();
                        if reply.general_status != 0 {
                            failed = Some(reply.general_status);
                        } else if reply.service & 0x7F == 0x4C {
                            let mut acc = Accumulator::default();
                            if let Absorbed::Done(_, Some(v)) = reads[id].absorb(&mut acc, &reply) {
                                seen[id].extend(v);
                            }
                        }
                        reads[id].request(0)
                    }
                    other => panic!("session {id}: {other:?}"),
                };
                if seen[id].len() < 10 {
                    s.queue(&next.unwrap()).unwrap();
                }
            }
            (left == 0 || failed.is_some()).then_some(())
        });
        assert_eq!(failed, None);
        assert!(finished.is_some(), "{left} replies missing");
        Ok(seen)
    };
    let seen = tokio::task::spawn_blocking(run).await.expect("joined")?;
    for (i, values) in seen.iter().enumerate() {
        assert_eq!(values, &ints(&[(i * 3) as i128; 10]), "session {i}");
    }
    Ok(())
}

/// A session on a peer that accepts and never answers times out through the driver (its
/// deadline, `Ready::Timeout`, then the session's Timeout error); a peer that hangs up is
/// `Ready::Closed` and leaves the driver.
#[test]
fn a_driver_times_out_a_silent_peer_and_drops_a_closed_one(
) -> Result<(), Box<dyn std::error::Error>> {
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let closing = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut driver = Driver::new()?;
    let options = Options {
        timeout: Duration::from_millis(200),
        ..Options::default()
    };
    let mut quiet = Session::new(options.clone())?;
    quiet.register()?;
    let started = Instant::now();
    let q = driver.add(std::net::TcpStream::connect(silent.local_addr()?)?, quiet)?;
    let (_held, _) = silent.accept()?;
    let got = poll_until(&mut driver, Duration::from_secs(5), |id, s, ready| {
        assert_eq!(id, q);
        assert!(matches!(ready, Ready::Timeout), "{ready:?}");
        Some(s.poll_event().map(|e| e.map(|_| ())))
    });
    assert!(
        matches!(got, Some(Some(Err(ClientError::Timeout(_))))),
        "{got:?}"
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");

    let mut s = Session::new(options)?;
    s.register()?;
    let c = driver.add(std::net::TcpStream::connect(closing.local_addr()?)?, s)?;
    drop(closing.accept()?);
    let closed = poll_until(&mut driver, Duration::from_secs(5), |id, _, ready| {
        matches!(ready, Ready::Closed(_)).then_some(id)
    });
    assert_eq!(closed, Some(c));
    assert!(driver.get_mut(c).is_none());
    assert_eq!(driver.len(), 1);
    Ok(())
}

async fn large_reads_follow_fragments_and_pipeline_in_order(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let mut conn = Connector::connect(&sim.addr(), Options::default()).await?;
    let values: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    conn.write(&format!("SCADA[300-499]=(INT){}", values.join(",")))
        .await?;
    // 1000 INTs do not fit one request either: written by Write Tag Fragmented pieces.
    let all: Vec<String> = (0..1000).map(|i| (i * 7 % 1000).to_string()).collect();
    conn.write(&format!("SCADA[0-999]=(INT){}", all.join(",")))
        .await?;
    let back = conn.read("SCADA[0-999]").await?;
    assert_eq!(
        back,
        ints(&(0..1000).map(|i| i * 7 % 1000).collect::<Vec<_>>())
    );
    conn.write(&format!("SCADA[300-499]=(INT){}", values.join(",")))
        .await?;
    // 1000 INTs do not fit one reply: fetched whole by Read Tag Fragmented.
    let all = conn.read("SCADA[0-999]").await?;
    assert_eq!(all.len(), 1000);
    assert_eq!(all[300..500], ints(&(0..200).collect::<Vec<_>>())[..]);

    // Depth 5 with Multiple Service Packets: results in operation order, big ones whole.
    let texts: Vec<String> = (0..60)
        .map(|i| match i % 3 {
            0 => format!("SCADA[{}]", 300 + i),
            1 => "SCADA[0-999]".to_string(),
            _ => format!("SCADA[{}]=(INT){}", 600 + i, i),
        })
        .collect();
    let ops = parse_operations(&texts)?;
    for (depth, multiple) in [(1, 0), (5, 0), (5, 500), (20, 200)] {
        let (failures, results) = conn.process(ops.clone(), depth, multiple).await?;
        assert_eq!(failures, 0, "depth {depth} multiple {multiple}");
        assert_eq!(results.len(), 60);
        for (i, t) in results.iter().enumerate() {
            assert_eq!(t.index, i);
            match i % 3 {
                0 => assert_eq!(t.value, Some(ints(&[i as i128]))),
                1 => assert_eq!(t.value.as_ref().map(Vec::len), Some(1000)),
                _ => assert!(t.status.is_ok()),
            }
        }
    }
    // Fragmented services forced, and an explicit byte offset.
    let ops = parse_operations(&["SCADA[0-3]+4=(INT)7,8", "SCADA[0-3]"])?;
    let mut pipe = conn.pipeline(ops, 1, 0).fragmented(true);
    let mut out = Vec::new();
    while let Some(t) = pipe.next().await {
        out.push(t?);
    }
    assert_eq!(out[1].value, Some(ints(&[0, 7, 7, 8])));
    Ok(())
}

async fn connected_simple_and_routing_modes(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let connected = Options {
        connected: true,
        ..Options::default()
    };
    let mut conn = Connector::connect(&sim.addr(), connected).await?;
    assert!(conn.is_connected());
    conn.write("SCADA[7]=(INT)77").await?;
    assert_eq!(conn.read("SCADA[7]").await?, ints(&[77]));
    assert_eq!(conn.read("SCADA[0-999]").await?.len(), 1000);
    let ops = parse_operations(&["SCADA[7]"; 30])?;
    let (failures, _) = conn.process(ops, 10, 400).await?;
    assert_eq!(failures, 0);
    conn.close().await?;

    // A connection larger than 511 bytes needs a Large Forward Open.
    let large = Options {
        connected: true,
        connection_size: 4000,
        ..Options::default()
    };
    let mut conn = Connector::connect(&sim.addr(), large).await?;
    assert!(conn.is_connected());
    let ops = parse_operations(&["SCADA[0-999]", "SCADA[7]", "SCADA[0-99]"].repeat(20))?;
    let (failures, results) = conn.process(ops, 4, 3000).await?;
    assert_eq!(failures, 0);
    assert_eq!(results[58].value, Some(ints(&[77])));
    assert_eq!(results[57].value.as_ref().map(Vec::len), Some(1000));
    conn.close().await?;

    let mut simple = Connector::connect(&sim.addr(), Options::simple()).await?;
    assert_eq!(simple.read("SCADA[7]").await?, ints(&[77]));
    let name = simple.get_attribute_single(1, 1, 7).await?;
    assert_eq!(name.first(), Some(&20));
    assert_eq!(&name[1..], b"1756-L61/B LOGIX5561");
    let all = simple.get_attributes_all(1, 1).await?;
    assert_eq!(all[..2], [1, 0]); // vendor 1
    simple
        .set_attribute_single(0x93, 3, 10, &12.5f32.to_le_bytes())
        .await?;
    assert_eq!(
        simple.get_attribute_single(0x93, 3, 10).await?,
        12.5f32.to_le_bytes()
    );
    match simple.get_attribute_single(1, 1, 99).await {
        Err(ClientError::Status { status, .. }) => assert!(!status.is_ok()),
        other => panic!("expected a status error, got {other:?}"),
    }
    Ok(())
}

async fn list_identity_tcp_and_udp_unicast(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let mut tcp = Connector::connect(&sim.addr(), Options::default()).await?;
    let replies = tcp.list_identity().await?;
    let Some(ListReply::Identity(id)) = replies[0].1.first() else {
        panic!("no identity in {replies:?}")
    };
    assert_eq!(id.product_name, "1756-L61/B LOGIX5561");
    let services = tcp.list_services().await?;
    assert!(
        matches!(services[0].1.first(), Some(ListReply::Service(s)) if s.name == "Communications")
    );

    let options = Options {
        timeout: Duration::from_secs(2),
        ..Options::default()
    };
    let mut udp = Connector::udp(&sim.udp.to_string(), false, options).await?;
    let replies = udp.list_identity().await?;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].0, sim.udp);
    assert!(matches!(replies[0].1.first(), Some(ListReply::Identity(i)) if i.vendor_id == 1));
    Ok(())
}

async fn powerflex_proxy_reads_and_writes_motor_velocity(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let mut drive = Proxy::simple(&sim.addr(), POWERFLEX_750).with_checking(true);
    drive.write("Motor Velocity = (REAL)123.45").await?;
    drive.write("speed_units = 1").await?;
    let got = drive
        .read(&["motor velocity", "Speed Units", "Product Name"])
        .await?;
    assert_eq!(got[0], Some(vec![Literal::Real(f64::from(123.45f32))]));
    assert_eq!(got[1], Some(ints(&[1])));
    assert_eq!(
        got[2],
        Some(vec![Literal::Text("1756-L61/B LOGIX5561".into())])
    );
    assert!(drive.resolve("No Such Thing", false).is_err());
    // Checking mode: a parameter the device lacks is an error (cpppo's simulator answers an
    // unknown object with an encapsulation error, ours with a CIP status).
    match drive.read(&["Output Voltage"]).await {
        Err(ClientError::Status { .. } | ClientError::Encapsulation(_)) => {}
        other => panic!("expected a status error, got {other:?}"),
    }
    // ... and the proxy reconnects for the next call.
    assert_eq!(
        drive.read(&["Output Current"]).await?,
        vec![Some(vec![Literal::Real(0.0)])]
    );
    // Without checking a refused value is just None.
    let mut lax = Proxy::simple(&sim.addr(), POWERFLEX_750);
    let params = lax
        .resolve_all(&["SCADA[1000]", "Output Current"], true)
        .map_err(ClientError::Protocol)?;
    assert_eq!(
        lax.operate(&params).await?,
        vec![None, Some(vec![Literal::Real(0.0)])]
    );
    Ok(())
}

async fn poller_survives_a_simulator_restart_with_backoff(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    // The restart binds the port the first start got.
    let port = sim.port;
    let addr = sim.addr();
    let proxy = Proxy::new(
        &addr,
        Options {
            timeout: Duration::from_millis(500),
            ..Options::simple()
        },
        POWERFLEX_750,
    );
    let params = proxy
        .resolve_all(&["Motor Velocity", "Output Current"], false)
        .map_err(ClientError::Protocol)?;
    let poller = Poller::new(proxy, params, Duration::from_millis(50))
        .with_backoff(Duration::from_millis(50), Duration::from_millis(400));
    let mut events = poller.spawn();
    let mut sim = Some(sim);
    let (mut before, mut after, mut backoffs) = (0, 0, Vec::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(20), events.recv()).await
        else {
            break;
        };
        match event {
            PollEvent::Values(v) if sim.is_some() && backoffs.is_empty() => {
                assert_eq!(v.len(), 2);
                before += 1;
                if before == 3 {
                    sim = None; // killed: the poller must back off
                }
            }
            PollEvent::Values(_) => {
                after += 1;
                if after == 3 {
                    break;
                }
            }
            PollEvent::Failure { backoff, .. } => {
                backoffs.push(backoff);
                if backoffs.len() == 5 {
                    sim = Sim::start_on(kind, port).await;
                }
            }
        }
    }
    assert!(before >= 3, "polled {before} times before the restart");
    assert!(backoffs.len() >= 5, "back-offs: {backoffs:?}");
    assert_eq!(
        backoffs[..4],
        [50, 100, 200, 400].map(Duration::from_millis)
    );
    assert!(
        backoffs.iter().all(|b| *b <= Duration::from_millis(400)),
        "{backoffs:?}"
    );
    assert_eq!(after, 3, "polling resumed after the restart");
    drop(sim);
    Ok(())
}

async fn two_pollers_share_one_session(kind: Kind) -> Result<(), ClientError> {
    let Some(sim) = Sim::start(kind).await else {
        return Ok(());
    };
    let proxy = Proxy::simple(&sim.addr(), POWERFLEX_750);
    let fast = proxy
        .resolve_all(&["Motor Velocity"], false)
        .map_err(ClientError::Protocol)?;
    let slow = proxy
        .resolve_all(&["Speed Units", "Identity"], false)
        .map_err(ClientError::Protocol)?;
    let shared = Arc::new(tokio::sync::Mutex::new(proxy));
    let mut a = Poller::shared(shared.clone(), fast, Duration::from_millis(20)).spawn();
    let mut b = Poller::shared(shared.clone(), slow, Duration::from_millis(50)).spawn();
    let (mut got_a, mut got_b) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while (got_a < 5 || got_b < 3) && Instant::now() < deadline {
        tokio::select! {
            Some(PollEvent::Values(v)) = a.recv() => { assert_eq!(v.len(), 1); got_a += 1 }
            Some(PollEvent::Values(v)) = b.recv() => {
                assert!(matches!(&v[1].1, Some(id) if id.len() == 8));
                got_b += 1
            }
            _ = tokio::time::sleep(Duration::from_secs(5)) => break,
        }
    }
    assert!(got_a >= 5 && got_b >= 3, "polled {got_a} and {got_b} times");
    drop((a, b));
    assert_eq!(
        shared.lock().await.sessions(),
        1,
        "both pollers used one session"
    );
    Ok(())
}
