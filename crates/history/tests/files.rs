//! History files: cpppo's samples, compression, rotation, merging, corrupt lines.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cpppo_history::{
    CompressedWriter, Compression, Durability, Entry, HistoryReader, ReadError, ReadOptions,
    Record, Recorder, RecorderOptions, Rotation, Timestamp, Zones,
};
use serde_json::json;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// A fresh directory under the target's tmp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("history-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn t(text: &str) -> Timestamp {
    Zones::utc().parse(text).unwrap()
}

/// Read everything, splitting records and errors.
fn read_all(files: &[PathBuf], options: ReadOptions) -> (Vec<Entry>, Vec<ReadError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for item in HistoryReader::open(files, options).unwrap() {
        match item {
            Ok(entry) => records.push(entry),
            Err(e) => errors.push(e),
        }
    }
    (records, errors)
}

fn lines_of(entries: &[Entry]) -> String {
    entries.iter().map(|e| e.record.to_line()).collect()
}

#[test]
fn reads_cpppo_logger_sample_and_writes_it_back_identically() {
    let sample = Path::new(DATA).join("logger_sample.txt");
    let (records, errors) = read_all(std::slice::from_ref(&sample), ReadOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].line, 2);
    assert_eq!(
        records[0].record.serial_value().unwrap(),
        json!(["SCADA", [0, 3]])
    );
    assert_eq!(
        records[1].record.payload_value().unwrap(),
        json!({"read": [1, 2, 3, 4, 0, 0]})
    );
    assert_eq!(records[2].record.serial(), "1");
    assert_eq!(records[2].record.time, t("2023-11-14 22:13:21"));

    // Every record line we write is byte-identical to cpppo's.
    let text = fs::read_to_string(&sample).unwrap();
    let record_lines: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(lines_of(&records), record_lines);

    // And so is a record built from values, with cpppo's JSON spacing.
    let built = Record::new(
        t("2023-11-14 22:13:20"),
        &json!(["SCADA", [0, 3]]),
        &json!({"write": [1, 2, 3, 4]}),
    );
    assert_eq!(
        built.unwrap().to_line(),
        text.lines().nth(1).unwrap().to_string() + "\n"
    );

    // The recorder writes the comment line the same way.
    let dir = scratch("sample");
    let path = dir.join("copy.hst");
    {
        let mut rec = Recorder::open(&path, RecorderOptions::default()).unwrap();
        rec.comment("2026-11-21 08:41:53.293: Started recording Tag: SCADA")
            .unwrap();
        for e in &records {
            rec.record(&e.record).unwrap();
        }
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), text);

    // The (empty) historize sample reads as nothing, without error.
    let (records, errors) = read_all(
        &[Path::new(DATA).join("historize_sample.txt")],
        ReadOptions::default(),
    );
    assert!(records.is_empty() && errors.is_empty());
}

fn sample_records(n: usize, start: &str, step_ms: i64) -> Vec<Record> {
    let t0 = t(start);
    (0..n)
        .map(|i| {
            let time = t0.checked_add_micros(i as i64 * step_ms * 1000).unwrap();
            Record::new(
                time,
                &json!(["Tag", [i, i + 1]]),
                &json!({"write": [i, "é"]}),
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn compressed_files_round_trip() {
    let dir = scratch("compressed");
    let records = sample_records(2_000, "2024-03-10 06:00:00", 7);
    let expected: String = records.iter().map(Record::to_line).collect();
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Bzip2,
        Compression::Xz,
    ] {
        let path = dir.join(format!("data.hst{}", compression.suffix()));
        let mut w = CompressedWriter::create_by_name(&path).unwrap();
        w.write_all(expected.as_bytes()).unwrap();
        w.finish().unwrap();
        if compression != Compression::None {
            assert!(
                fs::metadata(&path).unwrap().len() < expected.len() as u64 / 4,
                "{compression:?}"
            );
        }
        let (read, errors) = read_all(&[path], ReadOptions::default());
        assert!(errors.is_empty(), "{compression:?}: {errors:?}");
        assert_eq!(lines_of(&read), expected, "{compression:?}");
    }
}

#[test]
fn a_truncated_compressed_file_reports_an_error_and_keeps_what_it_has() {
    let dir = scratch("truncated");
    let records = sample_records(8_000, "2024-03-10 06:00:00", 1);
    let text: String = records.iter().map(Record::to_line).collect();
    let path = dir.join("cut.hst.gz");
    let mut w = CompressedWriter::create_by_name(&path).unwrap();
    w.write_all(text.as_bytes()).unwrap();
    w.finish().unwrap();
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let other = dir.join("other.hst");
    fs::write(&other, records[5].to_line()).unwrap();

    let (read, errors) = read_all(&[path.clone(), other], ReadOptions::default());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(&errors[0], ReadError::Io { file, .. } if **file == *path));
    assert!(read.len() > 500 && read.len() < 8_000, "{}", read.len());
    assert!(read
        .windows(2)
        .all(|w| w[0].record.time <= w[1].record.time));
}

#[test]
fn corrupt_lines_are_reported_with_file_and_line_and_skipped() {
    let dir = scratch("corrupt");
    let path = dir.join("bad.hst");
    let good = sample_records(3, "2024-01-01 00:00:00", 1000);
    let mut text = String::new();
    text.push_str("# header\n");
    text.push_str(&good[0].to_line());
    text.push_str("2024-01-01 00:00:00.500\tnot json\t{}\n");
    text.push_str("complete garbage\n");
    text.push_str(&good[1].to_line());
    text.push_str("2024-13-01 00:00:00\t1\t{}\n");
    text.push('\n');
    text.push_str(&good[2].to_line());
    text.push_str("2024-01-01 00:00:09\t1\t{\"cut off"); // a partial last line
    fs::write(&path, &text).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\n2024-01-01 00:00:10\t1\t\"\xff\"\n");
    fs::write(&path, bytes).unwrap();

    let (read, errors) = read_all(std::slice::from_ref(&path), ReadOptions::default());
    assert_eq!(
        lines_of(&read),
        good.iter().map(Record::to_line).collect::<String>()
    );
    let located: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let lines: Vec<u64> = errors
        .iter()
        .map(|e| match e {
            ReadError::Corrupt { file, line, .. } => {
                assert_eq!(**file, *path);
                *line
            }
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(lines, [3, 4, 6, 9, 10], "{located:?}");
    assert!(
        located[0].starts_with(&format!("{}:3: serial is not JSON", path.display())),
        "{located:?}"
    );
    assert!(located[2].contains("2024-13-01"), "{located:?}");
}

#[test]
fn files_merge_in_time_order_with_since_and_until() {
    let dir = scratch("merge");
    let a = sample_records(10, "2024-01-01 00:00:00", 1000); // :00 .. :09
    let b = sample_records(10, "2024-01-01 00:00:00.500", 1000); // :00.5 .. :09.5
    let later = sample_records(3, "2024-01-01 00:01:00", 1000);
    let write = |name: &str, records: &[Record]| {
        let path = dir.join(name);
        let mut w = CompressedWriter::create_by_name(&path).unwrap();
        for r in records {
            w.write_all(r.to_line().as_bytes()).unwrap();
        }
        w.finish().unwrap();
        path
    };
    let files = [
        write("z.hst", &later),
        write("b.hst.bz2", &b),
        write("a.hst.xz", &a),
    ];
    let (read, errors) = read_all(&files, ReadOptions::default());
    assert!(errors.is_empty());
    assert_eq!(read.len(), 23);
    assert!(read.windows(2).all(|w| w[0].record.time < w[1].record.time));
    assert_eq!(read[1].record, b[0]);
    assert!(read[1].file.ends_with("b.hst.bz2"));

    let options = ReadOptions {
        since: Some(t("2024-01-01 00:00:03")),
        until: Some(t("2024-01-01 00:01:01")),
    };
    let (read, _) = read_all(&files, options);
    assert_eq!(read.first().unwrap().record, a[3]);
    assert_eq!(read.last().unwrap().record, later[0]);
    assert_eq!(read.len(), 7 + 7 + 1);
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = HistoryReader::open(["/nonexistent/x.hst"], ReadOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().starts_with("/nonexistent/x.hst:"), "{err}");
}

#[test]
fn rotation_keeps_numbered_compressed_files_and_reads_back_in_order() {
    let dir = scratch("rotation");
    let path = dir.join("plant.hst");
    let options = RecorderOptions {
        durability: Durability::Buffered,
        rotation: Some(Rotation {
            max_bytes: 4_000,
            keep: 4,
            compression: Compression::Gzip,
        }),
        ..RecorderOptions::default()
    };
    let records = sample_records(1_000, "2024-06-01 00:00:00", 10);
    {
        let mut rec = Recorder::open(&path, options).unwrap();
        for r in &records {
            rec.record(r).unwrap();
        }
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "plant.hst",
            "plant.hst.0",
            "plant.hst.1.gz",
            "plant.hst.2.gz",
            "plant.hst.3.gz"
        ]
    );

    // Given in any order, the files read back as the newest records, in order, once each.
    let mut files: Vec<PathBuf> = names.iter().rev().map(|n| dir.join(n)).collect();
    files.swap(0, 2);
    let (read, errors) = read_all(&files, ReadOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    let tail = &records[records.len() - read.len()..];
    assert_eq!(
        lines_of(&read),
        tail.iter().map(Record::to_line).collect::<String>()
    );
    assert!(read.len() > 150, "{}", read.len());
    assert!(read.first().unwrap().file.ends_with("plant.hst.3.gz"));
    assert!(read.last().unwrap().file.ends_with("plant.hst"));

    // A rotation caught mid-compression (.1 beside .1.gz) is read once.
    let one = dir.join("plant.hst.1");
    let mut plain = String::new();
    for e in &read {
        if e.file.ends_with("plant.hst.1.gz") {
            plain.push_str(&e.record.to_line());
        }
    }
    fs::write(&one, plain).unwrap();
    files.push(one);
    let (again, _) = read_all(&files, ReadOptions::default());
    assert_eq!(again.len(), read.len());
}

#[test]
fn reopening_after_a_partial_line_keeps_the_next_record_intact() {
    let dir = scratch("partial");
    let path = dir.join("p.hst");
    let records = sample_records(2, "2024-01-01 00:00:00", 1000);
    fs::write(
        &path,
        format!("{}2024-01-01 00:00:00.5\t1\t{{\"cut", records[0].to_line()),
    )
    .unwrap();
    {
        let mut rec = Recorder::open(&path, RecorderOptions::default()).unwrap();
        rec.record(&records[1]).unwrap();
    }
    let (read, errors) = read_all(&[path], ReadOptions::default());
    assert_eq!(read.len(), 2);
    assert_eq!(read[1].record, records[1]);
    assert_eq!(errors.len(), 1);
}

#[test]
fn an_overlong_line_is_skipped_without_reading_it_into_memory() {
    let dir = scratch("long");
    let path = dir.join("long.hst");
    let records = sample_records(2, "2024-01-01 00:00:00", 1000);
    let mut w = CompressedWriter::create_by_name(&path).unwrap();
    w.write_all(records[0].to_line().as_bytes()).unwrap();
    let junk = vec![b'x'; 1 << 20];
    for _ in 0..20 {
        w.write_all(&junk).unwrap(); // one 20 MiB line
    }
    w.write_all(b"\n").unwrap();
    w.write_all(records[1].to_line().as_bytes()).unwrap();
    w.finish().unwrap();
    let (read, errors) = read_all(&[path], ReadOptions::default());
    assert_eq!(read.len(), 2);
    assert_eq!(read[1].line, 3);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains(":2: line longer than"),
        "{}",
        errors[0]
    );
}
