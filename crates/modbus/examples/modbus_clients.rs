//! Many lock-step Modbus/TCP clients in one process (used by `bench/modbus/run.sh`): CONNS
//! connections through the crate's client ([`TcpClient`]), each with one Read Holding
//! Registers in flight, on one thread, for SECS seconds; prints the aggregate requests/s
//! (and, given the server's PID, its CPU µs per request from /proc/PID/stat).
//!
//! ```text
//! modbus_clients HOST:PORT CONNS SECS [PID]
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cpppo_modbus::client::{Reply, TcpClient};
use cpppo_modbus::Request;

fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// One connection's lock-step requests until `until`; returns how many were answered.
async fn calls(mut client: TcpClient, until: Instant) -> Result<u64, String> {
    let req = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 1,
    };
    let mut done = 0u64;
    while Instant::now() < until {
        match client.call(1, &req).await {
            Ok(Reply::Words(w)) if w.len() == 1 => done += 1,
            Ok(other) => return Err(format!("unexpected reply {other:?}")),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(done)
}

async fn run(addr: &str, conns: usize, secs: f64, pid: Option<u32>) -> Result<(), String> {
    let mut all = Vec::with_capacity(conns);
    for _ in 0..conns {
        let c = TcpClient::connect(addr, Duration::from_secs(10))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        all.push(c);
    }
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    let until = t0 + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in all {
        tasks.spawn_local(calls(c, until));
    }
    let mut n = 0;
    while let Some(done) = tasks.join_next().await {
        n += done.map_err(|e| e.to_string())??;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = cpu_ticks(pid).zip(c0).map(|(a, b)| a - b);
    // Linux reports CPU time in clock ticks of 10 ms.
    let per = cpu.map_or("-".into(), |t| {
        format!("{:.2}", t as f64 * 10_000.0 / n.max(1) as f64)
    });
    println!(
        "Rust client lock-step Read Holding Registers, {conns} connections: {n} requests in {elapsed:.2} s = {:.0} requests/s; server CPU µs/request: {per}",
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
        eprintln!("usage: modbus_clients HOST:PORT CONNS SECS [PID]");
        return ExitCode::from(2);
    };
    if conns == 0 || !(secs > 0.0 && secs < 3600.0) {
        eprintln!("CONNS >= 1, 0 < SECS < 3600");
        return ExitCode::from(2);
    }
    let pid = args.get(4).and_then(|p| p.parse().ok());
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
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
            eprintln!("modbus_clients: {e}");
            ExitCode::FAILURE
        }
    }
}
