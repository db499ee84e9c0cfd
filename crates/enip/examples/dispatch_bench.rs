//! The simulator's own per-request cost, without any I/O: `services::execute` on a device with
//! the demo tags, for a Read Tag (`SCADA[1]`), a lower-case Read Tag (`scada[1]`), a Get
//! Attribute Single (`@1/1/7`) and a 40-read Multiple Service Packet.
//!
//! `cargo run --release -p cpppo-enip --example dispatch_bench [SECS] [ONLY]`: ONLY (a label's
//! first word, e.g. `MSP`) runs that measure alone, for `perf stat` (instructions per request
//! do not depend on the machine's load, unlike the times).

use std::time::{Duration, Instant};

use cpppo_cip::mr::MrRequest;
use cpppo_cip::services::{MspRequest, ReadTag};
use cpppo_cip::{EPath, Padding, Request, Segment, Service};
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::server::services::execute;

/// The bytes of a request for `service` at `segments`, emitted by the codec.
fn request(segments: &[Segment<'_>], service: Service<'_>) -> Vec<u8> {
    let path = EPath::from_segments(segments, Padding::Padded);
    let request = Request { path, service };
    request
        .to_vec()
        .expect("the codec emits the benchmark's requests")
}

/// A Read Tag request for one element of `name[1]`.
fn read_tag(name: &str) -> Vec<u8> {
    let path = [Segment::Symbolic(name.as_bytes()), Segment::element(1)];
    request(&path, Service::ReadTag(ReadTag { elements: 1 }))
}

/// A Multiple Service Packet to the Message Router carrying `reqs` (each a request's bytes).
fn multiple(reqs: &[Vec<u8>]) -> Vec<u8> {
    let parsed: Vec<Request<'_>> = reqs
        .iter()
        .map(|r| Request::parse_bytes(r).expect("a request the codec emitted parses"))
        .collect();
    let service = Service::MultipleServicePacket(MspRequest::from_requests(&parsed));
    request(&[Segment::class(2), Segment::instance(1)], service)
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
        &request(
            &[
                Segment::class(1),
                Segment::instance(1),
                Segment::attribute(7),
            ],
            Service::GetAttributeSingle(&[]),
        ),
        secs,
    );
    let reads: Vec<Vec<u8>> = (0..40).map(|_| read_tag("SCADA")).collect();
    time("MSP of 40 Read Tags", &dev, &multiple(&reads), secs);
}
