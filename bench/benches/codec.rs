//! Codec micro-benchmarks: (a) decode a Read Tag request and encode its reply; (b) decode and
//! answer a 50-operation Multiple Service Packet of Read Tags.
//!
//! Each runs twice: timed by the wall clock (criterion's default) and by the CPU time of the
//! benchmark thread (`CLOCK_THREAD_CPUTIME_ID`), which is what a round costs when the
//! machine is shared with other work and wall-clock samples include time spent preempted.
//!
//! Run: `cargo bench -p cpppo-bench --bench codec` (results in `bench/results-codec.md`).

use std::hint::black_box;

use cpppo_bench::{msp_read_request, unhex, Scada, READ_TAG_FRAME};
use cpppo_cip::encap::{Body, Repr};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// CPU time consumed by the current thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Criterion measurement: CPU time of the benchmark thread.
struct ThreadCpu;

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn read_tag<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
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
    let mut g = c.benchmark_group(format!("read_tag/{clock}"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("mr_request_to_reply", |b| {
        b.iter(|| tags.round(black_box(&mr), black_box(&mut out)))
    });
    g.bench_function("sendrrdata_frame_to_reply_frame", |b| {
        b.iter(|| tags.frame_round(black_box(&frame), &mut scratch, black_box(&mut out)))
    });
    g.finish();
}

fn msp_50<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    let tags = Scada::default();
    let req = msp_read_request(50).unwrap_or_default();
    let mut out = vec![0u8; 4096];
    let mut g = c.benchmark_group(format!("multiple_service_packet/{clock}"));
    g.throughput(Throughput::Elements(50));
    g.bench_function("50_read_tags_to_reply", |b| {
        b.iter(|| tags.round(black_box(&req), black_box(&mut out)))
    });
    g.finish();
}

fn wall(c: &mut Criterion) {
    read_tag(c, "wall");
    msp_50(c, "wall");
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    read_tag(c, "thread_cpu");
    msp_50(c, "thread_cpu");
}

criterion_group!(wall_clock, wall);
criterion_group! {
    name = thread_cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = cpu
}
criterion_main!(wall_clock, thread_cpu);
