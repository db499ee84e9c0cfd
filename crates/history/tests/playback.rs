//! Paced playback: order, and pacing checked loosely (speed is benchmarked, not asserted).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cpppo_history::{HistoryReader, Player, ReadOptions, Record, Timestamp, Zones};
use serde_json::json;

fn write_history(name: &str, times: &[&str]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("history-play-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.hst");
    let mut text = String::new();
    for (i, t) in times.iter().enumerate() {
        let time = Zones::utc().parse(t).unwrap();
        text.push_str(
            &Record::new(time, &i, &json!({"40001": i}))
                .unwrap()
                .to_line(),
        );
    }
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn plays_at_ten_times_real_time() {
    // 3 s of history at 10x: about 0.3 s. Each record must not come before its due time
    // (historical offset / 10); the upper bound is loose (a loaded machine is slow).
    let times = [
        "2024-01-01 00:00:00.000",
        "2024-01-01 00:00:00.500",
        "2024-01-01 00:00:01.000",
        "2024-01-01 00:00:02.000",
        "2024-01-01 00:00:03.000",
    ];
    let path = write_history("ten", &times);
    let reader = HistoryReader::open([&path], ReadOptions::default()).unwrap();
    let started = Instant::now();
    let player = Player::new(reader, Some(10.0), None).unwrap();
    let mut seen = Vec::new();
    for item in player {
        let entry = item.unwrap();
        seen.push((entry.record.time, started.elapsed()));
    }
    assert_eq!(seen.len(), times.len());
    let t0 = seen[0].0;
    for (time, elapsed) in &seen {
        let due = Duration::from_micros((time.micros_since(t0) / 10) as u64);
        assert!(
            *elapsed + Duration::from_millis(5) >= due,
            "{time}: {elapsed:?} < {due:?}"
        );
    }
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    let total = seen.last().unwrap().1;
    assert!(
        total < Duration::from_secs(3),
        "10x playback of 3 s took {total:?}"
    );
}

#[test]
fn playback_from_a_start_time_skips_earlier_records_and_waits_from_there() {
    let times = [
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:10",
        "2024-01-01 00:00:10.2",
        "2024-01-01 00:00:10.4",
    ];
    let path = write_history("since", &times);
    let since = Zones::utc().parse("2024-01-01 00:00:10").unwrap();
    let options = ReadOptions {
        since: Some(since),
        until: None,
    };
    let reader = HistoryReader::open([&path], options).unwrap();
    let started = Instant::now();
    let played: Vec<Timestamp> = Player::new(reader, Some(2.0), Some(since))
        .unwrap()
        .map(|e| e.unwrap().record.time)
        .collect();
    let elapsed = started.elapsed();
    assert_eq!(played.len(), 3);
    assert!(elapsed >= Duration::from_millis(195), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn without_speed_plays_at_once_and_bad_speed_is_refused() {
    let path = write_history("fast", &["2024-01-01 00:00:00", "2024-06-01 00:00:00"]);
    let reader = HistoryReader::open([&path], ReadOptions::default()).unwrap();
    assert_eq!(Player::new(reader, None, None).unwrap().count(), 2);
    let reader = HistoryReader::open([&path], ReadOptions::default()).unwrap();
    let err = Player::new(reader, Some(0.0), None).err().unwrap();
    assert!(err.to_string().contains("invalid speed 0"));
}
