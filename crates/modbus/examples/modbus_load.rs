//! Load generator for Modbus/TCP servers (used by `bench/modbus/run.sh`): Read Holding
//! Registers on one connection, lock-step (one request in flight) or pipelined (a window of
//! requests in flight), bounded by a request count and a time limit.
//!
//! ```text
//! modbus_load HOST:PORT lockstep|pipelined [--seconds S] [--max N] [--depth D] [--count Q]
//! ```
//! Prints one JSON line: requests answered, errors (exception replies), lost (never answered),
//! seconds, requests/s, registers/s.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cpppo_modbus::tcp;
use cpppo_modbus::Request;

struct Opts {
    addr: String,
    pipelined: bool,
    seconds: f64,
    max: u64,
    depth: usize,
    count: u16,
}

fn parse() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .ok_or("usage: modbus_load HOST:PORT lockstep|pipelined [...]")?;
    let pipelined = match args.next().as_deref() {
        Some("lockstep") => false,
        Some("pipelined") => true,
        other => return Err(format!("mode {other:?}: expected lockstep or pipelined")),
    };
    let mut o = Opts {
        addr,
        pipelined,
        seconds: 5.0,
        max: 10_000_000,
        depth: 64,
        count: 1,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = format!("bad value {value:?} for {flag}");
        match flag.as_str() {
            "--seconds" => o.seconds = value.parse().map_err(|_| bad.clone())?,
            "--max" => o.max = value.parse().map_err(|_| bad.clone())?,
            "--depth" => o.depth = value.parse().map_err(|_| bad.clone())?,
            "--count" => o.count = value.parse().map_err(|_| bad.clone())?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if !(1..=125).contains(&o.count) || o.depth == 0 || o.seconds.is_nan() || o.seconds <= 0.0 {
        return Err("--count 1-125, --depth >= 1, --seconds > 0".into());
    }
    Ok(o)
}

/// Append one request with transaction id `tid`.
fn request(out: &mut Vec<u8>, tid: u16, count: u16) {
    let req = Request::ReadHoldingRegisters {
        address: 0,
        quantity: count,
    };
    tcp::encode(out, tid, 1, |o| req.emit(o));
}

/// (answered, errors, lost, elapsed): requests still unanswered after 2 s of silence count
/// as lost and end the run.
fn run(o: &Opts) -> std::io::Result<(u64, u64, u64, Duration)> {
    let mut s = TcpStream::connect(&o.addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let limit = Duration::from_secs_f64(o.seconds);
    let depth = if o.pipelined { o.depth } else { 1 };
    let mut out = Vec::with_capacity(depth * 12);
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0;
    let (mut sent, mut done, mut errors) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let mut tid = 0u16;
    loop {
        // Top up the window (stop sending at the count or time limit).
        let open = start.elapsed() < limit && sent < o.max;
        while open && sent - done < depth as u64 && sent < o.max {
            tid = tid.wrapping_add(1);
            request(&mut out, tid, o.count);
            sent += 1;
        }
        if !out.is_empty() {
            s.write_all(&out)?;
            out.clear();
        }
        if done == sent {
            break;
        }
        let n = match s.read(&mut buf[len..]) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let t = start.elapsed().saturating_sub(Duration::from_secs(2));
                return Ok((done, errors, sent - done, t));
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        len += n;
        let mut pos = 0;
        while let Ok(Some((adu, used))) = tcp::decode(&buf[pos..len]) {
            if adu.pdu.first() != Some(&3) {
                errors += 1;
            }
            done += 1;
            pos += used;
        }
        buf.copy_within(pos..len, 0);
        len -= pos;
    }
    Ok((done, errors, 0, start.elapsed()))
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok((done, errors, lost, t)) => {
            let secs = t.as_secs_f64();
            let rps = done as f64 / secs;
            println!(
                "{{\"mode\":\"{}\",\"depth\":{},\"count\":{},\"requests\":{done},\"errors\":{errors},\"lost\":{lost},\"seconds\":{secs:.3},\"requests_per_s\":{rps:.0},\"registers_per_s\":{:.0}}}",
                if o.pipelined { "pipelined" } else { "lockstep" },
                if o.pipelined { o.depth } else { 1 },
                o.count,
                rps * f64::from(o.count)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("modbus_load {}: {e}", o.addr);
            ExitCode::FAILURE
        }
    }
}
