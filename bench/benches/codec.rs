//! Codec micro-benchmarks: (a) decode a Read Tag request and encode its reply; (b) decode and
//! answer a 50-operation Multiple Service Packet of Read Tags.
//!
//! Run: `cargo bench -p cpppo-bench --bench codec` (results in `bench/results-codec.md`).

use std::hint::black_box;

use cpppo_bench::{msp_read_request, unhex, Scada, READ_TAG_FRAME};
use cpppo_cip::encap::{Body, Repr};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn read_tag(c: &mut Criterion) {
    let tags = Scada::default();
    let frame = unhex(READ_TAG_FRAME);
    let Ok(Repr {
        body: Body::SendData(send),
        ..
    }) = Repr::parse_bytes(&frame)
    else {
        panic!("read_tag.json frame does not decode");
    };
    let mr = send.cpf.unconnected_data().unwrap_or_default().to_vec();
    let (mut scratch, mut out) = ([0u8; 512], [0u8; 512]);
    let mut g = c.benchmark_group("read_tag");
    g.throughput(Throughput::Elements(1));
    g.bench_function("mr_request_to_reply", |b| {
        b.iter(|| tags.round(black_box(&mr), black_box(&mut out)))
    });
    g.bench_function("sendrrdata_frame_to_reply_frame", |b| {
        b.iter(|| tags.frame_round(black_box(&frame), &mut scratch, black_box(&mut out)))
    });
    g.finish();
}

fn msp_50(c: &mut Criterion) {
    let tags = Scada::default();
    let req = msp_read_request(50).unwrap_or_default();
    let mut out = vec![0u8; 4096];
    let mut g = c.benchmark_group("multiple_service_packet");
    g.throughput(Throughput::Elements(50));
    g.bench_function("50_read_tags_to_reply", |b| {
        b.iter(|| tags.round(black_box(&req), black_box(&mut out)))
    });
    g.finish();
}

criterion_group!(benches, read_tag, msp_50);
criterion_main!(benches);
