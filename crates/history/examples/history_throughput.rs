//! Throughput figures for the README: recorder per durability policy, gzip writing, and
//! reading a 1M-record `.gz` file.
//!
//! `cargo run --release -p cpppo-history --example history_throughput [DIR]`

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use cpppo_history::{
    CompressedWriter, Durability, HistoryReader, ReadOptions, Record, Recorder, RecorderOptions,
    Timestamp,
};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/history-throughput".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let t0 = Timestamp::now();
    let record = |i: u64| {
        let time = t0.checked_add_micros(i as i64 * 1000).unwrap_or(t0);
        Record::new(
            time,
            &json!(["SCADA", [i % 1000, i % 1000 + 3]]),
            &json!({"write": [i, 2, 3, 4]}),
        )
    };

    for (name, durability, count) in [
        ("buffered", Durability::Buffered, 1_000_000_u64),
        ("flush", Durability::Flush, 1_000_000),
        ("sync", Durability::Sync, 2_000),
    ] {
        let path = dir.join(format!("rec-{name}.hst"));
        let _ = std::fs::remove_file(&path);
        let options = RecorderOptions {
            durability,
            ..RecorderOptions::default()
        };
        let mut rec = Recorder::open(&path, options)?;
        let started = Instant::now();
        for i in 0..count {
            rec.record(&record(i)?)?;
        }
        rec.flush()?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "recorder {name:9} {count:>8} records {secs:7.3} s {:>10.0} records/s",
            count as f64 / secs
        );
    }

    // Building the records alone (JSON serialization), for comparison.
    let started = Instant::now();
    let mut bytes = 0;
    for i in 0..1_000_000 {
        bytes += record(i)?.to_line().len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "format only        1000000 records {secs:7.3} s {:>10.0} records/s ({bytes} bytes)",
        1e6 / secs
    );

    let gz = dir.join("million.hst.gz");
    let started = Instant::now();
    let mut w = CompressedWriter::create_by_name(&gz)?;
    let mut line = String::with_capacity(128);
    for i in 0..1_000_000 {
        line.clear();
        record(i)?.write_line(3, &mut line);
        w.write_all(line.as_bytes())?;
    }
    w.finish()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "write .gz          1000000 records {secs:7.3} s {:>10.0} records/s ({} bytes)",
        1e6 / secs,
        std::fs::metadata(&gz)?.len()
    );

    // The pieces: compression alone, decompression alone, parsing alone.
    let mut text = String::with_capacity(80_000_000);
    for i in 0..1_000_000 {
        record(i)?.write_line(3, &mut text);
    }
    for level in [1, 6] {
        let started = Instant::now();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(text.as_bytes())?;
        let out = e.finish()?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "gzip level {level} only 1000000 records {secs:7.3} s {:>10.0} records/s ({} bytes)",
            1e6 / secs,
            out.len()
        );
    }
    let started = Instant::now();
    let mut sink = Vec::with_capacity(text.len());
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&gz)?),
        &mut sink,
    )?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "gunzip only        1000000 records {secs:7.3} s {:>10.0} records/s",
        1e6 / secs
    );
    let started = Instant::now();
    let mut n = 0;
    for line in text.lines() {
        if matches!(
            cpppo_history::parse_line(line),
            Ok(cpppo_history::Line::Record(_))
        ) {
            n += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "parse only        {n:>8} records {secs:7.3} s {:>10.0} records/s",
        n as f64 / secs
    );

    for _ in 0..2 {
        let started = Instant::now();
        let mut n = 0_u64;
        for item in HistoryReader::open([&gz], ReadOptions::default())? {
            item?;
            n += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "read .gz          {n:>8} records {secs:7.3} s {:>10.0} records/s",
            n as f64 / secs
        );
    }
    Ok(())
}
