//! Many lock-step EtherNet/IP clients in one process (used by `bench/enip/run.sh`): CONNS
//! connections through the crate's client ([`Connector`]), each with one Read Tag in flight,
//! on one thread, for SECS seconds; prints the aggregate reads/s (and, given the server's PID,
//! its CPU µs per request from /proc/PID/stat).
//!
//! ```text
//! lockstep_clients ADDR CONNS SECS [PID]
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_enip::client::operation::Operation;
use cpppo_enip::client::{Connector, Options};

fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// One connection's lock-step reads until `until`; returns how many were answered.
async fn reads(mut conn: Connector, op: Operation, until: Instant) -> Result<u64, String> {
    let mut done = 0u64;
    let mut pipe = conn.pipeline(std::iter::repeat(op), 1, 0);
    while Instant::now() < until {
        match pipe.next().await {
            Some(Ok(t)) if t.value.is_some() => done += 1,
            Some(Ok(t)) => return Err(format!("read failed: {}", t.value_text())),
            Some(Err(e)) => return Err(e.to_string()),
            None => break,
        }
    }
    Ok(done)
}

async fn run(addr: &str, conns: usize, secs: f64, pid: Option<u32>) -> Result<(), String> {
    let op = Operation::parse("SCADA[1]").map_err(|e| e.to_string())?;
    let mut all = Vec::with_capacity(conns);
    for _ in 0..conns {
        let c = Connector::connect(addr, Options::default())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        all.push(c);
    }
    let total = Arc::new(AtomicU64::new(0));
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    let until = t0 + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in all {
        let (op, total) = (op.clone(), total.clone());
        tasks.spawn_local(async move {
            let n = reads(c, op, until).await?;
            total.fetch_add(n, Ordering::Relaxed);
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let n = total.load(Ordering::Relaxed);
    let cpu = cpu_ticks(pid).zip(c0).map(|(a, b)| a - b);
    // Linux reports CPU time in clock ticks of 10 ms.
    let per = cpu.map_or("-".into(), |t| {
        format!("{:.2}", t as f64 * 10_000.0 / n.max(1) as f64)
    });
    println!(
        "Rust client lock-step Read Tag, {conns} connections: {n} reads in {elapsed:.2} s = {:.0} reads/s; server CPU µs/request: {per}",
        n as f64 / elapsed
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(addr), Some(Ok(conns)), Some(Ok(secs))) = (
        args.get(1),
        args.get(2).map(|c| c.parse::<usize>()),
        args.get(3).map(|s| s.parse::<f64>()),
    ) else {
        eprintln!("usage: lockstep_clients ADDR CONNS SECS [PID]");
        return ExitCode::from(2);
    };
    if conns == 0 || !(secs > 0.0 && secs < 3600.0) {
        eprintln!("CONNS >= 1, 0 < SECS < 3600");
        return ExitCode::from(2);
    }
    let pid = args.get(4).and_then(|p| p.parse().ok());
    let rt = match cpppo_net::sys::runtime(false) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&rt, run(addr, conns, secs, pid)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lockstep_clients: {e}");
            ExitCode::FAILURE
        }
    }
}
