//! Class 1 I/O load for `bench/io/run.sh`: N Exclusive Owner connections from our scanner,
//! one per adapter, each on its own UDP port (announced in the Forward Open), for SECS seconds
//! after all are open; then T->O lateness (arrival after the previous one plus the API),
//! packets lost, and this process's CPU.
//!
//! ```text
//! io_bench FIRST_IP[:TCP_PORT] N RPI_MS SECS [IO_PORT [ADAPTER_PID]]   # adapters at FIRST_IP, +1, ...
//! ```
//! Prints one line: `n N open N rpi_ms R p50_us P p75_us P p90_us P p99_us P p999_us P max_us M
//! received R lost L
//! cpu_pct C adapter_cpu_pct A adapter_wakeups_per_s W` (CPU in % of one core over the SECS
//! window; A and W, the adapter's wake-ups from sleep summed over its threads, with a PID).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use cpppo_enip::client::io::{Histogram, IoParams};
use cpppo_enip::client::io_run::{bind, drive_on, Control, Endpoints};
use cpppo_enip::client::io_scanner::{ScanEvent, Scanner};
use cpppo_enip::client::Options;

/// CPU seconds (user + system) of process `pid` ("self" for this one).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the ")".
    (ticks(11) + ticks(12)) / 100.0
}

/// Voluntary context switches (wake-ups from sleep) of process `pid`, summed over its threads.
fn wake_ups(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .sum()
}

fn usage() -> ! {
    eprintln!("usage: io_bench FIRST_IP[:TCP_PORT] N RPI_MS SECS [IO_PORT [ADAPTER_PID]]");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let first: SocketAddr = match args.get(1) {
        Some(a) => a
            .parse()
            .or_else(|_| {
                a.parse::<Ipv4Addr>()
                    .map(|ip| SocketAddr::from((ip, 44818)))
            })
            .unwrap_or_else(|_| usage()),
        None => usage(),
    };
    let num = |i: usize| -> f64 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| usage())
    };
    let (n, rpi_ms, secs) = (num(2) as u32, num(3), num(4));
    let io_port: u16 = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(2222);
    let adapter_pid = args.get(6).cloned();
    let _ = cpppo_net::sys::raise_open_file_limit();
    let SocketAddr::V4(first) = first else {
        usage()
    };
    let mut tasks = Vec::new();
    let mut controls = Vec::new();
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    for i in 0..n {
        let ip = Ipv4Addr::from(u32::from(*first.ip()) + i);
        let udp = bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
            .await
            .expect("bind UDP");
        let _ = cpppo_net::sys::grow_receive_buffer(&udp, 1 << 20);
        let params = IoParams {
            rpi: Duration::from_secs_f64(rpi_ms / 1000.0),
            t_o_port: udp.local_addr().expect("UDP address").port(),
            ..IoParams::default()
        };
        let scanner = Scanner::new(params, Options::simple(), 0x5EED_0000 + i).expect("scanner");
        let ends = Endpoints {
            io_port,
            ..Endpoints::to(SocketAddr::from((ip, first.port())))
        };
        let (control, rx) = tokio::sync::mpsc::unbounded_channel();
        controls.push(control);
        let tx = opened_tx.clone();
        tasks.push(tokio::spawn(drive_on(
            scanner,
            ends,
            udp,
            rx,
            move |_, e| match e {
                ScanEvent::Opened { .. } => {
                    let _ = tx.send(());
                }
                ScanEvent::Refused { status, .. } => eprintln!("{ip}: refused {status}"),
                ScanEvent::Retrying { why, .. } => eprintln!("{ip}: {why}"),
                _ => {}
            },
        )));
    }
    drop(opened_tx);
    let mut open = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while open < n {
        match tokio::time::timeout_at(deadline, opened_rx.recv()).await {
            Ok(Some(())) => open += 1,
            _ => break,
        }
    }
    // One second to settle, then the CPU window; lateness and losses cover each connection
    // from its opening to its Forward Close.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t0 = Instant::now();
    let cpu = || {
        let theirs = adapter_pid.as_deref().map(|p| (cpu_secs(p), wake_ups(p)));
        (cpu_secs("self"), theirs)
    };
    let c0 = cpu();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let c1 = cpu();
    let wall = t0.elapsed().as_secs_f64();
    for c in &controls {
        let _ = c.send(Control::Stop);
    }
    let mut lateness = Histogram::default();
    let (mut received, mut lost) = (0, 0);
    for t in tasks {
        if let Ok(Ok(Ok(scanner))) = tokio::time::timeout(Duration::from_secs(10), t).await {
            let s = scanner.stats();
            lateness.merge(&s.lateness);
            received += s.received;
            lost += s.missed;
        }
    }
    let us = |d: Duration| d.as_micros();
    println!(
        "n {n} open {open} rpi_ms {rpi_ms} p50_us {} p75_us {} p90_us {} p99_us {} p999_us {} max_us {} received {received} lost {lost} cpu_pct {:.1} adapter_cpu_pct {} adapter_wakeups_per_s {}",
        us(lateness.quantile(0.5)),
        us(lateness.quantile(0.75)),
        us(lateness.quantile(0.9)),
        us(lateness.quantile(0.99)),
        us(lateness.quantile(0.999)),
        us(lateness.max()),
        (c1.0 - c0.0) * 100.0 / wall,
        match (c0.1, c1.1) {
            (Some(a), Some(b)) => format!("{:.1}", (b.0 - a.0) * 100.0 / wall),
            _ => "-".into(),
        },
        match (c0.1, c1.1) {
            (Some(a), Some(b)) => format!("{:.0}", b.1.saturating_sub(a.1) as f64 / wall),
            _ => "-".into(),
        }
    );
}
