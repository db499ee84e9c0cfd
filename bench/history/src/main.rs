//! History throughput, ours: the records `bench/history/cpppo_history.py` writes and reads with
//! the Python cpppo, byte for byte the same lines.
//!
//! `history-bench DIR COUNT` prints `NAME COUNT SECS RATE` lines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cpppo_history::{
    CompressedWriter, Compression, Durability, HistoryReader, ReadOptions, Record, Recorder,
    RecorderOptions, Timestamp,
};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Record `i`: at 1,700,000,000 s + i ms, `["SCADA", [i % 1000, i % 1000 + 3]]` →
/// `{"write": [i, 2, 3, 4]}` (the throughput example's records).
fn record(i: u64) -> Result<Record> {
    let time = Timestamp::from_micros(1_700_000_000_000_000 + i as i64 * 1000).ok_or("time")?;
    Ok(Record::new(
        time,
        &json!(["SCADA", [i % 1000, i % 1000 + 3]]),
        &json!({"write": [i, 2, 3, 4]}),
    )?)
}

fn report(name: &str, count: u64, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!("{name} {count} {secs:.3} {:.0}", count as f64 / secs);
}

fn recorder(path: &Path, durability: Durability, count: u64) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let options = RecorderOptions {
        durability,
        ..RecorderOptions::default()
    };
    let mut rec = Recorder::open(path, options)?;
    for i in 0..count {
        rec.record(&record(i)?)?;
    }
    rec.flush()?;
    Ok(())
}

fn compressed(path: &Path, level: u32, count: u64) -> Result<()> {
    let mut w = CompressedWriter::create_with_level(path, Compression::Gzip, level)?;
    let mut line = String::with_capacity(128);
    for i in 0..count {
        line.clear();
        record(i)?.write_line(3, &mut line);
        w.write_all(line.as_bytes())?;
    }
    w.finish()?;
    Ok(())
}

/// Read every record (parsed, its JSON validated); with `decode`, also decode the payload into
/// a `serde_json::Value`, as the Python side's `json.loads` does.
fn read(path: &Path, decode: bool) -> Result<u64> {
    let mut n = 0;
    for item in HistoryReader::open([path], ReadOptions::default())? {
        let entry = item?;
        if decode {
            let _payload = entry.record.payload_value()?;
        }
        n += 1;
    }
    Ok(n)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/history-bench".into()));
    let count: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;

    let plain = dir.join("ours.hst");
    let started = Instant::now();
    recorder(&plain, Durability::Buffered, count)?;
    report("write-plain-buffered", count, started);

    let flushed = dir.join("ours-flush.hst");
    let started = Instant::now();
    recorder(&flushed, Durability::Flush, count)?;
    report("write-plain-flush", count, started);

    for level in [1, 6] {
        let gz = dir.join(format!("ours-{level}.hst.gz"));
        let started = Instant::now();
        compressed(&gz, level, count)?;
        report(&format!("write-gzip-{level}"), count, started);
    }

    let gz = dir.join("ours-6.hst.gz");
    for (name, path, decode) in [
        ("read-plain", &plain, true),
        ("read-gzip", &gz, true),
        ("read-plain-validated", &plain, false),
        ("read-gzip-validated", &gz, false),
    ] {
        let started = Instant::now();
        let n = read(path, decode)?;
        report(name, n, started);
    }
    Ok(())
}
