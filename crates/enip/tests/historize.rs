//! Historize and replay at the library level: records written by many threads at once are all
//! there and readable, a recorded history replayed into a fresh device reproduces its values,
//! and replay keeps time at 10×.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_cip::DataType;
use cpppo_enip::history::historize::{Historian, Historize};
use cpppo_enip::history::replay::{self, ReplayOptions};
use cpppo_enip::model::attribute::{Attribute, StoredData};
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_history::{HistoryReader, ReadOptions};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("historize-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn device(specs: &[&str]) -> Device {
    let mut d = Device::new(&DeviceConfig::default());
    for s in specs {
        d.add_tag(&TagSpec::parse(s).unwrap()).unwrap();
    }
    d
}

fn read_ints(attr: &dyn Attribute, start: usize, count: usize) -> Vec<i16> {
    let mut out = Vec::new();
    attr.read(start, count, &mut out).unwrap();
    out.chunks(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

#[test]
fn concurrent_writes_are_all_recorded_and_replay_reproduces_them() {
    let dir = scratch("concurrent");
    let path = dir.join("plant.hst");
    let history = Arc::new(Historian::open(&path).unwrap());
    let tag: Arc<dyn Attribute> = Arc::new(
        Historize::new(
            "SCADA",
            Arc::new(StoredData::new(DataType::Int, 64, true)),
            history,
        )
        .unwrap(),
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let tag = tag.clone();
            std::thread::spawn(move || {
                for i in 0..250_i16 {
                    let slot = t * 8 + (i as usize % 8);
                    tag.write(slot, 1, &(i + 1).to_le_bytes()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut out = Vec::new();
    tag.read(0, 64, &mut out).unwrap();

    // Every record is whole and parses; 2,000 writes and 1 read.
    let entries: Vec<_> = HistoryReader::open([&path], ReadOptions::default())
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let writes = entries
        .iter()
        .filter(|e| e.record.payload().starts_with("{\"write\""))
        .count();
    assert_eq!(writes, 2_000);
    assert_eq!(entries.len(), 2_001);

    // Replayed as fast as the pacing allows into a fresh device: the same final values.
    let fresh = Arc::new(device(&["SCADA=INT[64]"]));
    let stop = AtomicBool::new(false);
    let options = ReplayOptions {
        files: vec![path.clone()],
        speed: 1e6,
        looping: false,
    };
    let pass = replay::play_once(&fresh, &options, &stop, &mut Default::default()).unwrap();
    assert_eq!(pass.applied, 2_000);
    assert_eq!(pass.skipped, 1); // the read
    let replayed = fresh.tag("SCADA").unwrap().attribute.clone();
    assert_eq!(read_ints(&*replayed, 0, 64), read_ints(&*tag, 0, 64));
    assert_eq!(read_ints(&*replayed, 7, 1), [248]); // thread 0's last write to slot 7
}

/// How early a value may appear against its due time (clock reads and rounding only: load
/// can delay a value, never hurry it).
const EARLY: Duration = Duration::from_millis(5);
/// How late a value may appear and still count as paced at 10x (at 1x the last value is due
/// 10.5 s after the first; the slack is for a loaded machine, not a speed claim).
const LATE: Duration = Duration::from_secs(1);

#[test]
fn replay_at_10x_sets_values_on_time_and_loops() {
    let dir = scratch("timing");
    let path = dir.join("timing.hst");
    let mut text = String::from("# a history\n");
    for k in 0..8 {
        // one record every 1.5 s of history: 0.15 s apart at 10x
        let ms = 1_500 * k;
        text.push_str(&format!(
            "2023-11-14 22:13:{:02}.{:03}\t[\"LEVEL\", [0, 0]]\t{{\"write\": [{}]}}\n",
            20 + ms / 1000,
            ms % 1000,
            k + 1
        ));
    }
    std::fs::write(&path, text).unwrap();
    let dev = Arc::new(device(&["LEVEL=INT"]));
    let attr = dev.tag("LEVEL").unwrap().attribute.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let options = ReplayOptions {
        files: vec![path],
        speed: 10.0,
        looping: true,
    };
    let started = Instant::now();
    let handle = replay::spawn(dev.clone(), options, stop.clone()).unwrap();
    let mut seen: Vec<(i16, Duration)> = Vec::new();
    // 0 until the first record plays; one pass is 1.05 s, then a 0.15 s pause and the loop's
    // first value again. Bounded at 10 s however loaded the machine is.
    while started.elapsed() < Duration::from_secs(10) {
        let v = read_ints(&*attr, 0, 1)[0];
        if v != 0 && seen.last().map(|s| s.0) != Some(v) {
            seen.push((v, started.elapsed()));
        }
        if seen.len() >= 2 && seen.last().map(|s| s.0) == Some(1) {
            break; // looped
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    handle.join().unwrap();
    // In order, ending with the loop back to the first value. A sampler starved for longer
    // than 150 ms may miss a value in between, which is the sampler's doing, not the replay's.
    let values: Vec<i16> = seen.iter().map(|s| s.0).collect();
    assert_eq!(values.first(), Some(&1), "{seen:?}");
    assert_eq!(values.last(), Some(&1), "never looped: {seen:?}");
    assert!(
        values[..values.len() - 1].windows(2).all(|w| w[0] < w[1]),
        "out of order: {seen:?}"
    );
    assert!(
        values.contains(&8),
        "the last record never played: {seen:?}"
    );
    // Paced at 10x: never early, and far from 1x's pace.
    let pass = values.len() - 1;
    for (i, &(v, at)) in seen.iter().enumerate() {
        let k = if i == pass {
            8
        } else {
            u64::try_from(v - 1).unwrap()
        };
        let due = Duration::from_millis(150 * k);
        assert!(at + EARLY >= due, "value {v} early: at {at:?}, due {due:?}");
        assert!(at <= due + LATE, "value {v} late: at {at:?}, due {due:?}");
    }
}

#[test]
fn bad_replay_options_are_refused() {
    let dev = Arc::new(device(&["LEVEL=INT"]));
    let stop = Arc::new(AtomicBool::new(false));
    let missing = ReplayOptions {
        files: vec![scratch("bad").join("absent.hst")],
        speed: 1.0,
        looping: false,
    };
    let e = replay::spawn(dev.clone(), missing, stop.clone()).unwrap_err();
    assert!(e.to_string().contains("absent.hst"), "{e}");
    let zero = ReplayOptions {
        files: vec![],
        speed: 0.0,
        looping: false,
    };
    assert!(replay::spawn(dev, zero, stop).is_err());
}

#[test]
fn looping_a_history_that_spans_no_time_ends() {
    let path = scratch("instant").join("one.hst");
    std::fs::write(
        &path,
        "2023-11-14 22:13:20.000\t[\"LEVEL\", [0, 0]]\t{\"write\": [5]}\n",
    )
    .unwrap();
    let dev = Arc::new(device(&["LEVEL=INT"]));
    let options = ReplayOptions {
        files: vec![path],
        speed: 1.0,
        looping: true,
    };
    let handle = replay::spawn(dev.clone(), options, Arc::new(AtomicBool::new(false))).unwrap();
    let started = Instant::now();
    while !handle.is_finished() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(handle.is_finished(), "a one-record history loops forever");
    handle.join().unwrap();
    let attr = dev.tag("LEVEL").unwrap().attribute.clone();
    assert_eq!(read_ints(&*attr, 0, 1), [5]);
}
