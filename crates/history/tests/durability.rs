//! An acknowledged record survives SIGKILL right after the acknowledgement.
//!
//! The test re-runs its own binary as the child (the ignored `recorder_child` test, switched
//! on by an environment variable): the child records and prints `ack N` after each record
//! returns; the parent kills it with SIGKILL and checks that every acknowledged record is in
//! the file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cpppo_history::{Durability, HistoryReader, ReadOptions, Recorder, RecorderOptions, Rotation};
use serde_json::json;

const PATH_VAR: &str = "CPPPO_HISTORY_CHILD_PATH";
const MODE_VAR: &str = "CPPPO_HISTORY_CHILD_MODE";
const LIMIT_VAR: &str = "CPPPO_HISTORY_CHILD_LIMIT";

/// The child: record up to LIMIT records, acknowledging each on stdout, then idle until
/// killed (at most 30 s).
#[test]
#[ignore = "child process of the SIGKILL tests"]
fn recorder_child() {
    let Ok(path) = std::env::var(PATH_VAR) else {
        return;
    };
    let durability = match std::env::var(MODE_VAR).as_deref() {
        Ok("buffered") => Durability::Buffered,
        Ok("sync") => Durability::Sync,
        _ => Durability::Flush,
    };
    let limit: u64 = std::env::var(LIMIT_VAR)
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(1);
    let options = RecorderOptions {
        durability,
        rotation: Some(Rotation {
            max_bytes: 256 * 1024,
            keep: 50,
            ..Rotation::default()
        }),
        ..RecorderOptions::default()
    };
    let mut rec = Recorder::open(path, options).unwrap();
    let started = Instant::now();
    for n in 0..limit {
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        rec.record_value(None, &json!(["Tag", [n, n]]), &json!({"write": [n]}))
            .unwrap();
        println!("ack {n}");
    }
    std::thread::sleep(Duration::from_secs(30));
}

/// Run the child, kill it with SIGKILL after `kill_after` acknowledgements (or once it has
/// acknowledged everything), and return the highest acknowledged serial.
fn run_and_kill(path: &Path, mode: &str, limit: u64, kill_after: u64) -> Option<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "recorder_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PATH_VAR, path)
        .env(MODE_VAR, mode)
        .env(LIMIT_VAR, limit.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(n) = line
            .strip_prefix("ack ")
            .and_then(|n| n.parse::<u64>().ok())
        {
            acked = Some(n);
            if n + 1 >= kill_after {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Acknowledgements already in the pipe count too.
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line
            .strip_prefix("ack ")
            .and_then(|n| n.parse::<u64>().ok())
        {
            acked = Some(n);
        }
    }
    acked
}

/// The serials recorded in `dir` (all rotated files too).
fn recorded(dir: &Path) -> Vec<u64> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    HistoryReader::open(&files, ReadOptions::default())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.record.serial_value().unwrap()[1][0].as_u64().unwrap())
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("history-kill-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn flush_policy_survives_sigkill_mid_stream() {
    let dir = scratch("flush");
    let acked = run_and_kill(&dir.join("k.hst"), "flush", 200_000, 20_000).expect("no ack");
    let serials = recorded(&dir);
    // Every acknowledged record is there, in order; at most one more was written unacknowledged.
    assert!(
        serials.len() as u64 > acked,
        "acked {acked}, found {}",
        serials.len()
    );
    assert!(serials.len() as u64 <= acked + 2);
    assert!(serials.iter().enumerate().all(|(i, &s)| s == i as u64));
    assert!(
        std::fs::read_dir(&dir).unwrap().count() > 1,
        "no rotation happened"
    );
}

#[test]
fn buffered_policy_loses_acknowledged_records_on_sigkill() {
    // The control: proves the test above can see a loss.
    let dir = scratch("buffered");
    let acked = run_and_kill(&dir.join("k.hst"), "buffered", 500, 500).expect("no ack");
    assert_eq!(acked, 499);
    assert!(recorded(&dir).is_empty());
}

#[test]
fn sync_policy_survives_sigkill() {
    let dir = scratch("sync");
    let acked = run_and_kill(&dir.join("k.hst"), "sync", 200, 200).expect("no ack");
    assert_eq!(recorded(&dir).len() as u64, acked + 1);
}

#[test]
fn a_full_disk_is_an_error_not_an_acknowledgement() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let mut rec = Recorder::open("/dev/full", RecorderOptions::default()).unwrap();
    let err = rec
        .record_value(None, &1, &json!({"write": [1]}))
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(28), "{err}"); // ENOSPC
                                                       // Still usable (and still failing) afterwards: no panic, no silent success.
    assert!(rec.record_value(None, &2, &json!({"write": [2]})).is_err());
}
