//! Replay: drive tag values from a recorded history while the simulator serves clients.
//!
//! Each `["TAG", [first, last]]` → `{"write": [values]}` record of the history (as
//! `historize` writes them) sets elements `first..=last` of the device's tag `TAG` when its
//! time comes: the first record plays at once and the rest follow at their recorded spacing
//! divided by the speed ([`Pace`]). `read` records, comments and records of tags the device
//! does not have are skipped (each unknown tag is reported once). With looping, the history
//! starts over after its last record, after a pause of the records' mean spacing.
//!
//! Replay runs on its own thread ([`spawn`]): reading (and decompressing) the files and the
//! attribute writes are blocking, short operations, and the wait for each record checks the
//! stop flag at least every 50 ms.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpppo_history::{HistoryReader, Pace, ReadError, ReadOptions, Record, Timestamp};
use serde_json::Value as Json;

use crate::client::plan::encode_values;
use crate::history::historize::from_json;
use crate::model::device::Device;
use crate::server::logix::tag_path::Resolved;
use crate::server::logix::value;

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The history files (merged in time order).
    pub files: Vec<PathBuf>,
    /// Speed factor: 10.0 plays ten seconds of history per second.
    pub speed: f64,
    /// Start over after the last record.
    pub looping: bool,
}

/// Why replay could not start, or a record could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The speed is not a positive finite number.
    #[error("speed {0} must be a number above 0")]
    Speed(f64),
    /// A history file could not be opened.
    #[error("{0}")]
    Read(#[from] ReadError),
    /// The replay thread could not be started.
    #[error("cannot start the replay thread: {0}")]
    Thread(std::io::Error),
    /// A record names a tag the device does not have.
    #[error("no tag {0:?}")]
    UnknownTag(String),
    /// A record is not a tag write we can apply.
    #[error("{0}")]
    Record(String),
}

/// The write a record asks for: tag, first element, encoded-later values.
#[derive(Debug, Clone, PartialEq)]
pub struct TagWrite {
    /// Tag name.
    pub tag: String,
    /// First element written.
    pub first: usize,
    /// The values, in element order.
    pub values: Vec<Json>,
}

/// The write of a `{"write": [...]}` record; `None` for anything else (reads, other data).
pub fn tag_write(record: &Record) -> Result<Option<TagWrite>, ReplayError> {
    let bad =
        |why: &str| ReplayError::Record(format!("{} {}: {why}", record.serial(), record.payload()));
    let payload = record.payload_value().map_err(|e| bad(&e.to_string()))?;
    let Some(values) = payload.get("write") else {
        return Ok(None);
    };
    let values = match values {
        Json::Array(v) => v.clone(),
        one => vec![one.clone()],
    };
    let serial = record.serial_value().map_err(|e| bad(&e.to_string()))?;
    let tag = serial
        .get(0)
        .and_then(Json::as_str)
        .ok_or_else(|| bad("no tag name"))?;
    let range = serial.get(1);
    let first = range
        .and_then(|r| r.get(0).or(Some(r)))
        .and_then(Json::as_u64)
        .ok_or_else(|| bad("no first element"))?;
    let last = range
        .and_then(|r| r.get(1))
        .and_then(Json::as_u64)
        .unwrap_or(first);
    let first = usize::try_from(first).map_err(|_| bad("element out of range"))?;
    let count = last.checked_sub(first as u64).map(|n| n + 1);
    if count != Some(values.len() as u64) {
        return Err(bad(&format!(
            "elements {first}-{last} but {} values",
            values.len()
        )));
    }
    Ok(Some(TagWrite {
        tag: tag.to_string(),
        first,
        values,
    }))
}

/// Apply one write to the device's tag.
pub fn apply(device: &Device, w: &TagWrite) -> Result<(), ReplayError> {
    let Some(tag) = device.tag(&w.tag) else {
        return apply_member(device, w);
    };
    let attr = &tag.attribute;
    let count = w.values.len();
    if w.first
        .checked_add(count)
        .is_none_or(|end| end > attr.len())
    {
        return Err(ReplayError::Record(format!(
            "{}[{}] + {count} is beyond its {} elements",
            w.tag,
            w.first,
            attr.len()
        )));
    }
    let values = from_json(&w.values).map_err(ReplayError::Record)?;
    let data = encode_values(attr.data_type(), &values)
        .map_err(|e| ReplayError::Record(format!("{}: {e}", w.tag)))?;
    attr.write(w.first, count, &data).map_err(|st| {
        ReplayError::Record(format!(
            "{}: write refused, status 0x{:02x}",
            w.tag, st.general
        ))
    })
}

/// Apply a member-level write (`M1.Speed`, `Motors[2].Faults`, as historize records a
/// structure tag's members).
fn apply_member(device: &Device, w: &TagWrite) -> Result<(), ReplayError> {
    let looks_like_member = w.tag.contains(['.', '[']);
    let named = match value::resolve_text(device, &w.tag) {
        Ok(n) => n,
        Err(_) if !looks_like_member => return Err(ReplayError::UnknownTag(w.tag.clone())),
        Err(e) => return Err(ReplayError::Record(e)),
    };
    let Resolved::Data(mut t) = named.at else {
        return Err(ReplayError::UnknownTag(w.tag.clone()));
    };
    if w.first >= t.count.max(1) {
        return Err(ReplayError::Record(format!(
            "{}[{}] is beyond its {} elements",
            w.tag, w.first, t.count
        )));
    }
    if w.first > 0 {
        t.byte += w.first * t.size();
        t.count -= w.first;
    }
    let attr = t.attr.clone();
    let write = |at: usize, data: &[u8]| attr.write(at, data.len(), data);
    value::write_json(&t, &Json::Array(w.values.clone()), &write)
        .map_err(|e| ReplayError::Record(format!("{}: {e}", w.tag)))
}

/// Counts of one replay pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Writes applied.
    pub applied: u64,
    /// Records skipped (reads, unknown tags, bad records, unreadable lines).
    pub skipped: u64,
    /// Times of the first and last records played.
    pub span: Option<(Timestamp, Timestamp)>,
}

impl Pass {
    /// The wall-clock pause before the next loop starts: the mean spacing of the records
    /// (history span / (records - 1)) at `speed`, so the last value holds about as long as
    /// the others before the first plays again.
    pub fn loop_gap(&self, speed: f64) -> Duration {
        let records = self.applied + self.skipped;
        let Some((first, last)) = self.span else {
            return Duration::ZERO;
        };
        if records < 2 || !(speed.is_finite() && speed > 0.0) {
            return Duration::ZERO;
        }
        let mean = last.micros_since(first).max(0) as f64 / 1e6 / (records - 1) as f64;
        Duration::try_from_secs_f64(mean / speed).unwrap_or(Duration::ZERO)
    }
}

/// Play the files once, paced, applying writes; stops early when `stop` is set.
pub fn play_once(
    device: &Device,
    options: &ReplayOptions,
    stop: &AtomicBool,
    unknown: &mut HashSet<String>,
) -> Result<Pass, ReplayError> {
    let reader = HistoryReader::open(&options.files, ReadOptions::default())?;
    let mut pace: Option<Pace> = None;
    let mut pass = Pass::default();
    for item in reader {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let entry = match item {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("replay: {e}");
                pass.skipped += 1;
                continue;
            }
        };
        let time = entry.record.time;
        pass.span = Some(pass.span.map_or((time, time), |(first, _)| (first, time)));
        let pace = match pace {
            Some(p) => p,
            None => *pace.insert(
                Pace::new(time, options.speed).map_err(|_| ReplayError::Speed(options.speed))?,
            ),
        };
        if !wait_until(pace.due(time), stop) {
            break;
        }
        let result = tag_write(&entry.record).and_then(|w| match w {
            Some(w) => apply(device, &w).map(|()| true),
            None => Ok(false),
        });
        match result {
            Ok(true) => pass.applied += 1,
            Ok(false) => pass.skipped += 1,
            Err(ReplayError::UnknownTag(t)) => {
                if unknown.insert(t.clone()) {
                    tracing::warn!(
                        "replay: {}:{}: no tag {t:?}; its records are skipped",
                        entry.file.display(),
                        entry.line
                    );
                }
                pass.skipped += 1;
            }
            Err(e) => {
                tracing::warn!("replay: {}:{}: {e}", entry.file.display(), entry.line);
                pass.skipped += 1;
            }
        }
    }
    Ok(pass)
}

/// Sleep until `due` in steps of at most 50 ms; false if `stop` was set meanwhile.
fn wait_until(due: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let left = due.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Check the options (speed, files open) and start replaying on a new thread. Looping stops
/// when a pass applies nothing or its records span no time (so it never spins). Set `stop` to
/// end it.
pub fn spawn(
    device: Arc<Device>,
    options: ReplayOptions,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, ReplayError> {
    if !(options.speed.is_finite() && options.speed > 0.0) {
        return Err(ReplayError::Speed(options.speed));
    }
    HistoryReader::open(&options.files, ReadOptions::default())?;
    std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let mut unknown = HashSet::new();
            loop {
                match play_once(&device, &options, &stop, &mut unknown) {
                    Ok(pass) => {
                        tracing::info!(
                            "replay: pass done, {} writes applied, {} records skipped",
                            pass.applied,
                            pass.skipped
                        );
                        let gap = pass.loop_gap(options.speed);
                        if options.looping && gap.is_zero() {
                            tracing::warn!("replay: the history spans no time; not looping");
                        }
                        if !options.looping
                            || pass.applied == 0
                            || gap.is_zero()
                            || !wait_until(Instant::now() + gap, &stop)
                        {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::error!("replay: {e}");
                        break;
                    }
                }
            }
        })
        .map_err(ReplayError::Thread)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::device::DeviceConfig;
    use crate::model::tagspec::TagSpec;

    fn rec(serial: &str, payload: &str) -> Record {
        Record::from_json(Timestamp::now(), serial, payload).unwrap()
    }

    #[test]
    fn writes_are_parsed_and_applied() {
        let mut d = Device::new(&DeviceConfig::default());
        d.add_tag(&TagSpec::parse("SCADA=INT[10]").unwrap())
            .unwrap();
        let w = tag_write(&rec(r#"["SCADA", [2, 4]]"#, r#"{"write": [7, 8, 9]}"#))
            .unwrap()
            .unwrap();
        apply(&d, &w).unwrap();
        let mut out = Vec::new();
        d.tag("SCADA")
            .unwrap()
            .attribute
            .read(1, 4, &mut out)
            .unwrap();
        assert_eq!(out, [0, 0, 7, 0, 8, 0, 9, 0]);
        assert_eq!(
            tag_write(&rec(r#"["SCADA", [0, 0]]"#, r#"{"read": [1]}"#)).unwrap(),
            None
        );
        assert!(tag_write(&rec(r#"["SCADA", [0, 3]]"#, r#"{"write": [1]}"#)).is_err());
        let far = tag_write(&rec(r#"["SCADA", [9, 10]]"#, r#"{"write": [1, 2]}"#))
            .unwrap()
            .unwrap();
        assert!(apply(&d, &far).is_err());
        let other = tag_write(&rec(r#"["NOPE", [0, 0]]"#, r#"{"write": [1]}"#))
            .unwrap()
            .unwrap();
        assert!(matches!(apply(&d, &other), Err(ReplayError::UnknownTag(_))));
    }
}
