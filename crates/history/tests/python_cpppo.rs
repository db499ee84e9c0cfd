//! Files exchanged with the Python cpppo 5.2.5 history module (the project's `.venv`):
//! written by cpppo's `logger`, read by us identically; written by us, read by cpppo's
//! `parse_record` (plain, .gz, .bz2, .xz). Skipped, with a note, where that Python is absent.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cpppo_history::{
    CompressedWriter, Compression, HistoryReader, ReadOptions, Record, Recorder, RecorderOptions,
    Timestamp,
};
use serde_json::{json, Value};

const SCRIPT: &str = r#"
import sys, json, warnings
warnings.simplefilter("ignore")
from cpppo.history.files import logger, parse_record, opener
mode, path = sys.argv[1], sys.argv[2]
if mode == "write":
    with logger(path) as l:
        l.comment("written by cpppo")
        for i in range(50):
            l.write({"write": [i, "x\u00e9", 1.5]}, now=1700000000.0 + i * 0.2505, serial=["SCADA", [i, i + 1]])
else:
    out = []
    with opener(path) as fd:
        n = -1
        while True:
            try:
                n, (ts, sn, js) = parse_record(fd, n=n)
            except (StopIteration, RuntimeError):
                break
            out.append([round(ts.value * 1000), sn, json.loads(js)])
    print(json.dumps(out))
"#;

fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("CPPPO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import cpppo.history.files"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "skipped: no Python with cpppo at {} (set CPPPO_PYTHON)",
            candidate.display()
        );
    }
    ok.then_some(candidate)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("history-py-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("hist.py"), SCRIPT).unwrap();
    dir
}

fn run(py: &Path, dir: &Path, mode: &str, file: &Path) -> String {
    let out = Command::new(py)
        .arg(dir.join("hist.py"))
        .arg(mode)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What cpppo reads from `file`: [[milliseconds, serial, payload], ...].
fn cpppo_reads(py: &Path, dir: &Path, file: &Path) -> Value {
    serde_json::from_str(&run(py, dir, "read", file)).unwrap()
}

/// What we read, in the same shape.
fn we_read(file: &Path) -> Value {
    let rows: Vec<Value> = HistoryReader::open([file], ReadOptions::default())
        .unwrap()
        .map(|e| {
            let r = e.unwrap().record;
            json!([
                r.time.as_micros() / 1000,
                r.serial_value().unwrap(),
                r.payload_value().unwrap()
            ])
        })
        .collect();
    Value::Array(rows)
}

#[test]
fn we_read_files_cpppo_writes_identically() {
    let Some(py) = python() else { return };
    let dir = scratch("theirs");
    let file = dir.join("theirs.hst");
    run(&py, &dir, "write", &file);
    let theirs = cpppo_reads(&py, &dir, &file);
    assert_eq!(theirs.as_array().unwrap().len(), 50);
    assert_eq!(we_read(&file), theirs);

    // Written back by our recorder: the same bytes.
    let copy = dir.join("copy.hst");
    {
        let mut rec = Recorder::open(&copy, RecorderOptions::default()).unwrap();
        rec.comment("written by cpppo").unwrap();
        for e in HistoryReader::open([&file], ReadOptions::default()).unwrap() {
            rec.record(&e.unwrap().record).unwrap();
        }
    }
    assert_eq!(fs::read(&copy).unwrap(), fs::read(&file).unwrap());
}

#[test]
fn cpppo_reads_files_we_write() {
    let Some(py) = python() else { return };
    let dir = scratch("ours");
    let t0 = Timestamp::from_micros(1_700_000_000_123_456).unwrap();
    let records: Vec<Record> = (0..40)
        .map(|i| {
            let time = t0.checked_add_micros(i * 333_333).unwrap();
            Record::new(
                time,
                &json!(["Tag", [i, i]]),
                &json!({"read": [i, "ü€"], "ok": true}),
            )
            .unwrap()
        })
        .collect();
    let plain = dir.join("ours.hst");
    {
        let mut rec = Recorder::open(&plain, RecorderOptions::default()).unwrap();
        rec.comment("written by cpppo-rs").unwrap();
        for r in &records {
            rec.record(r).unwrap();
        }
    }
    let expected = we_read(&plain);
    assert_eq!(cpppo_reads(&py, &dir, &plain), expected);
    for compression in [Compression::Gzip, Compression::Bzip2, Compression::Xz] {
        let file = dir.join(format!("ours.hst{}", compression.suffix()));
        let mut w = CompressedWriter::create(&file, compression).unwrap();
        std::io::Write::write_all(&mut w, &fs::read(&plain).unwrap()).unwrap();
        w.finish().unwrap();
        assert_eq!(cpppo_reads(&py, &dir, &file), expected, "{compression:?}");
    }
}
