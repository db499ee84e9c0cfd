//! The driver shared by the many-connection lock-step examples (`lockstep_clients` of
//! cpppo-enip, `modbus_clients` of cpppo-modbus; each includes this file): CONNS
//! connections, each with one request in flight, on one thread (the example's own loop on a
//! `cpppo_net::drive::Driver`, [`main_polled`], or tasks of one current-thread runtime,
//! [`main`]), for SECS seconds; prints the aggregate rate and, given the server's PID, its CPU
//! µs per request (from /proc/PID/stat).
//!
//! ```text
//! EXAMPLE ADDR CONNS SECS [PID]
//! ```

use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// One client connection doing one kind of request, lock-step.
pub trait LockStep: Sized + 'static {
    /// What is asked (`Read Tag`), and what one answer is called (`reads`).
    const WHAT: (&'static str, &'static str);
    /// Connects to `addr`.
    fn connect(addr: &str) -> impl Future<Output = Result<Self, String>>;
    /// One request, answered as expected.
    fn once(&mut self) -> impl Future<Output = Result<(), String>>;
}

/// User + system CPU ticks (10 ms) of process `pid`.
fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// One connection's lock-step requests until `until`; how many were answered.
async fn requests<C: LockStep>(mut client: C, until: Instant) -> Result<u64, String> {
    let mut done = 0u64;
    while Instant::now() < until {
        client.once().await?;
        done += 1;
    }
    Ok(done)
}

/// Prints the aggregate rate of `n` answers in `elapsed` seconds over `conns` connections,
/// and the server's CPU per request (`ticks` of 10 ms).
fn report(what: (&str, &str), conns: usize, n: u64, elapsed: f64, ticks: Option<u64>) {
    // Linux reports CPU time in clock ticks of 10 ms.
    let per = ticks.map_or("-".into(), |t| {
        format!("{:.2}", t as f64 * 10_000.0 / n.max(1) as f64)
    });
    let (what, unit) = what;
    println!(
        "Rust client lock-step {what}, {conns} connections: {n} {unit} in {elapsed:.2} s = {:.0} {unit}/s; server CPU µs/request: {per}",
        n as f64 / elapsed
    );
}

async fn run<C: LockStep>(
    addr: &str,
    conns: usize,
    secs: f64,
    pid: Option<u32>,
) -> Result<(), String> {
    let mut all = Vec::with_capacity(conns);
    for _ in 0..conns {
        all.push(
            C::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?,
        );
    }
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    let until = t0 + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in all {
        tasks.spawn_local(requests(c, until));
    }
    let mut n = 0;
    while let Some(done) = tasks.join_next().await {
        n += done.map_err(|e| e.to_string())??;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = cpu_ticks(pid).zip(c0).map(|(a, b)| a - b);
    report(C::WHAT, conns, n, elapsed, cpu);
    Ok(())
}

/// `name ADDR CONNS SECS [PID]`, checked.
fn args(name: &str) -> Result<(String, usize, f64, Option<u32>), ExitCode> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(addr), Some(Ok(conns)), Some(Ok(secs))) = (
        args.get(1),
        args.get(2).map(|c| c.parse::<usize>()),
        args.get(3).map(|s| s.parse::<f64>()),
    ) else {
        eprintln!("usage: {name} ADDR CONNS SECS [PID]");
        return Err(ExitCode::from(2));
    };
    if conns == 0 || !(secs > 0.0 && secs < 3600.0) {
        eprintln!("CONNS >= 1, 0 < SECS < 3600");
        return Err(ExitCode::from(2));
    }
    let pid = args.get(4).and_then(|p| p.parse().ok());
    Ok((addr.clone(), conns, secs, pid))
}

/// The example's `main` with the connections made by `connect(ADDR, CONNS)` and driven on
/// this thread (no runtime) by `run(connections, until)`, which returns the answers counted.
#[allow(dead_code)] // an example that only has the tokio path does not call it
pub fn main_polled<C: LockStep, P>(
    name: &str,
    connect: fn(&str, usize) -> Result<P, String>,
    run: fn(P, Instant) -> Result<u64, String>,
) -> ExitCode {
    let (addr, conns, secs, pid) = match args(name) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let all = match connect(&addr, conns) {
        Ok(all) => all,
        Err(e) => {
            eprintln!("{name}: connect: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    match run(all, t0 + Duration::from_secs_f64(secs)) {
        Ok(n) => {
            let cpu = cpu_ticks(pid).zip(c0).map(|(a, b)| a - b);
            report(C::WHAT, conns, n, t0.elapsed().as_secs_f64(), cpu);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The example's `main`: `name ADDR CONNS SECS [PID]`.
pub fn main<C: LockStep>(name: &str) -> ExitCode {
    let (addr, conns, secs, pid) = match args(name) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let addr = &addr;
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
    match local.block_on(&rt, run::<C>(addr, conns, secs, pid)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
