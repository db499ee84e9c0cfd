//! Load generator for EtherNet/IP simulators (ours and the Python cpppo), used by
//! `bench/enip/run.sh`. Bounded in time and count.
//!
//! ```text
//! enip_bench ADDR lockstep SECS [PID]   # one connection, one Read Tag at a time
//! enip_bench ADDR pipeline SECS [PID]   # Multiple Service Packets of 40 reads, 20 in flight
//! enip_bench ADDR idle COUNT PID        # COUNT registered idle sessions, then the server's RSS
//!                                       # and its CPU ticks over 5 s while they stay idle
//! ```
//! With PID, the server's CPU time per request (from /proc/PID/stat) is reported too.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use cpppo_cip::encap::{Body, Command, Header, Packet, Register, Repr, SendData, HEADER_LEN};
use cpppo_cip::services::{MspRequest, ReadTag};
use cpppo_cip::{EPath, Padding, Request, Segment, Service};

/// An encapsulation frame of `command` for `session` carrying `body`, emitted by the codec.
fn frame(command: Command, session: u32, body: Body<'_>) -> Vec<u8> {
    let header = Header {
        command,
        session,
        status: 0,
        context: [0; 8],
        options: 0,
    };
    Repr { header, body }
        .to_vec()
        .expect("the codec emits the benchmark's frames")
}

/// A SendRRData frame carrying the Message Router request `mr`.
fn rr(session: u32, mr: &[u8]) -> Vec<u8> {
    let body = Body::SendData(SendData::unconnected(mr));
    frame(Command::SendRRData, session, body)
}

/// The bytes of a Message Router request for `service` at `segments`.
fn request(segments: &[Segment<'_>], service: Service<'_>) -> Vec<u8> {
    let path = EPath::from_segments(segments, Padding::Padded);
    let request = Request { path, service };
    request
        .to_vec()
        .expect("the codec emits the benchmark's requests")
}

/// Read Tag of one element, `SCADA[index]`.
fn read_tag(index: u32) -> Vec<u8> {
    let path = [Segment::Symbolic(b"SCADA"), Segment::element(index)];
    request(&path, Service::ReadTag(ReadTag { elements: 1 }))
}

/// A Multiple Service Packet of `reads` Read Tags of `SCADA[1]`.
fn msp(reads: usize) -> Vec<u8> {
    let one = read_tag(1);
    let Ok(parsed) = Request::parse_bytes(&one) else {
        unreachable!("a request the codec emitted parses")
    };
    let all = vec![parsed; reads];
    let service = Service::MultipleServicePacket(MspRequest::from_requests(&all));
    request(&[Segment::class(2), Segment::instance(1)], service)
}

/// Receive one whole encapsulation frame into `buf`.
fn recv(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.resize(HEADER_LEN, 0);
    s.read_exact(buf)?;
    let len = Packet::new_unchecked(&buf[..]).frame_len();
    buf.resize(len.max(HEADER_LEN), 0);
    s.read_exact(&mut buf[HEADER_LEN..])
}

fn register(addr: &str) -> std::io::Result<(TcpStream, u32)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let reg = Register {
        protocol_version: 1,
        options: 0,
    };
    s.write_all(&frame(Command::RegisterSession, 0, Body::Register(reg)))?;
    let mut buf = Vec::new();
    recv(&mut s, &mut buf)?;
    Ok((s, Packet::new_unchecked(&buf[..]).session_handle()))
}

fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn report(what: &str, requests: u64, reads: u64, secs: f64, cpu: Option<u64>) {
    // Linux reports CPU time in clock ticks of 10 ms.
    let per = cpu.map(|t| format!("{:.2}", t as f64 * 10_000.0 / requests.max(1) as f64));
    println!(
        "{what}: {requests} requests, {reads} tag reads in {secs:.2} s = {:.0} reads/s; server CPU µs/request: {}",
        reads as f64 / secs,
        per.unwrap_or_else(|| "-".into())
    );
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(addr), Some(mode), Some(n)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: enip_bench ADDR lockstep|pipeline|idle SECS|COUNT [PID]");
        std::process::exit(2);
    };
    let n: u64 = n.parse().unwrap_or(5);
    let pid: Option<u32> = args.get(4).and_then(|p| p.parse().ok());
    match mode.as_str() {
        "lockstep" => {
            let (mut s, session) = register(addr)?;
            let req = rr(session, &read_tag(1));
            let mut buf = Vec::new();
            let (t0, c0) = (Instant::now(), cpu_ticks(pid));
            let mut count = 0u64;
            while t0.elapsed() < Duration::from_secs(n) && count < 100_000_000 {
                s.write_all(&req)?;
                recv(&mut s, &mut buf)?;
                count += 1;
            }
            let cpu = cpu_ticks(pid).zip(c0).map(|(a, b)| a - b);
            report(
                "lock-step Read Tag",
                count,
                count,
                t0.elapsed().as_secs_f64(),
                cpu,
            );
        }
        "pipeline" => {
            const DEPTH: usize = 20;
            const READS: usize = 40;
            let (mut s, session) = register(addr)?;
            let req = rr(session, &msp(READS));
            let mut buf = Vec::new();
            let (t0, c0) = (Instant::now(), cpu_ticks(pid));
            for _ in 0..DEPTH {
                s.write_all(&req)?;
            }
            let mut count = 0u64;
            while t0.elapsed() < Duration::from_secs(n) && count < 10_000_000 {
                recv(&mut s, &mut buf)?;
                if buf.get(40..44) != Some(&[0x8A, 0, 0, 0][..]) {
                    eprintln!("unexpected reply {:02x?}", buf.get(24..48));
                    std::process::exit(1);
                }
                count += 1;
                s.write_all(&req)?;
            }
            for _ in 0..DEPTH {
                recv(&mut s, &mut buf)?;
            }
            let cpu = cpu_ticks(pid).zip(c0).map(|(a, b)| a - b);
            let secs = t0.elapsed().as_secs_f64();
            report(
                "pipelined MSP x40, depth 20",
                count,
                count * READS as u64,
                secs,
                cpu,
            );
        }
        "idle" => {
            let pid = pid.unwrap_or(0);
            let before = rss_kb(pid).unwrap_or(0);
            let mut held = Vec::new();
            for _ in 0..n.min(20_000) {
                held.push(register(addr)?);
            }
            std::thread::sleep(Duration::from_millis(500));
            let after = rss_kb(pid).unwrap_or(0);
            // Then the server's CPU while they sit idle.
            let c0 = cpu_ticks(Some(pid));
            std::thread::sleep(Duration::from_secs(5));
            let idle = cpu_ticks(Some(pid)).zip(c0).map(|(a, b)| a - b);
            println!(
                "{} idle registered sessions: server RSS {before} kB -> {after} kB ({:.1} kB/session); server CPU ticks in 5 s idle: {}",
                held.len(),
                (after.saturating_sub(before)) as f64 / held.len().max(1) as f64,
                idle.map_or("-".into(), |t| t.to_string())
            );
        }
        other => {
            eprintln!("unknown mode {other:?}");
            std::process::exit(2);
        }
    }
    Ok(())
}
