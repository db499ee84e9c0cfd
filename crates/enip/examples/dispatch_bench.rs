//! The simulator's own per-request cost, without any I/O: `services::execute` on a device with
//! the demo tags, for a Read Tag (`SCADA[1]`), a lower-case Read Tag (`scada[1]`), a Get
//! Attribute Single (`@1/1/7`) and a 40-read Multiple Service Packet.
//!
//! `cargo run --release -p cpppo-enip --example dispatch_bench [SECS] [ONLY]`: ONLY (a label's
//! first word, e.g. `MSP`) runs that measure alone, for `perf stat` (instructions per request
//! do not depend on the machine's load, unlike the times).

use std::time::{Duration, Instant};

use cpppo_cip::mr::MrRequest;
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::server::services::execute;

/// A Read Tag request for one element of `name[1]`.
fn read_tag(name: &str) -> Vec<u8> {
    let mut path = vec![0x91, name.len() as u8];
    path.extend_from_slice(name.as_bytes());
    if name.len() % 2 == 1 {
        path.push(0);
    }
    path.extend_from_slice(&[0x28, 1]);
    let mut r = vec![0x4C, (path.len() / 2) as u8];
    r.extend_from_slice(&path);
    r.extend_from_slice(&1u16.to_le_bytes());
    r
}

/// A Multiple Service Packet to the Message Router carrying `reqs`.
fn multiple(reqs: &[Vec<u8>]) -> Vec<u8> {
    let mut r = vec![0x0A, 0x02, 0x20, 0x02, 0x24, 0x01];
    r.extend_from_slice(&(reqs.len() as u16).to_le_bytes());
    let mut offset = 2 + 2 * reqs.len();
    for q in reqs {
        r.extend_from_slice(&(offset as u16).to_le_bytes());
        offset += q.len();
    }
    for q in reqs {
        r.extend_from_slice(q);
    }
    r
}

fn time(label: &str, dev: &Device, request: &[u8], secs: f64) {
    if let Some(only) = std::env::args().nth(2) {
        if !label.starts_with(&only) {
            return;
        }
    }
    let Ok(req) = MrRequest::parse(request) else {
        eprintln!("{label}: the request does not parse");
        return;
    };
    let reply = execute(dev, &req, 4000);
    assert_eq!(reply.get(2), Some(&0), "{label}: status {reply:02x?}");
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut n = 0u64;
    while Instant::now() < until {
        for _ in 0..1000 {
            std::hint::black_box(execute(dev, std::hint::black_box(&req), 4000));
        }
        n += 1000;
    }
    let ns = started.elapsed().as_nanos() as f64 / n as f64;
    println!("{label:<28} {ns:>9.1} ns/request ({n} requests)");
}

fn main() {
    let secs = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1.0f64)
        .clamp(0.1, 60.0);
    let mut dev = Device::new(&DeviceConfig::default());
    for spec in ["SCADA=INT[1000]", "FLOAT=REAL", "COUNTS=DINT[10]"] {
        match TagSpec::parse(spec).map(|t| dev.add_tag(&t)) {
            Ok(Ok(_)) => {}
            _ => panic!("tag {spec}"),
        }
    }
    time("Read Tag SCADA[1]", &dev, &read_tag("SCADA"), secs);
    time("Read Tag scada[1]", &dev, &read_tag("scada"), secs);
    time(
        "Get Attribute Single @1/1/7",
        &dev,
        &[0x0E, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07],
        secs,
    );
    let reads: Vec<Vec<u8>> = (0..40).map(|_| read_tag("SCADA")).collect();
    time("MSP of 40 Read Tags", &dev, &multiple(&reads), secs);
}
