//! History for Python: timestamps (parse and render with zone abbreviations), the history
//! reader and player, all on [`cpppo_history`]. The Python classes (`cpppo_rs.history`) give
//! cpppo's shapes; here are the primitives they use.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use cpppo_history::{
    Entry, HistoryReader, Pace, ReadError, ReadOptions, TimeError, Timestamp, Zones,
};
use pyo3::prelude::*;

use crate::errors::raise;

/// How often a player waiting for a record's due time looks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The abbreviation table shared by every timestamp (cpppo's `timestamp._tzabbrev`, a class
/// attribute filled by `support_abbreviations`).
static ZONES: RwLock<Option<Zones>> = RwLock::new(None);

fn time_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "TimestampError", (message,))
}

fn timestamp_of(py: Python<'_>, micros: i64) -> PyResult<Timestamp> {
    Timestamp::from_micros(micros).ok_or_else(|| {
        time_error(
            py,
            format!("timestamp {micros} µs is outside years 0001..=9999"),
        )
    })
}

/// Parses `YYYY-mm-dd HH:MM:SS[.ffffff] [ZONE]` into UNIX microseconds. A time without a zone
/// is in `zone` (default UTC); ZONE may be an abbreviation added by `support_abbreviations`.
#[pyfunction]
#[pyo3(signature = (text, zone=None))]
pub fn ts_parse(py: Python<'_>, text: &str, zone: Option<&str>) -> PyResult<i64> {
    let table = ZONES.read().unwrap_or_else(PoisonError::into_inner);
    let parsed = match zone {
        None => match table.as_ref() {
            Some(z) => z.parse(text),
            None => Zones::utc().parse(text),
        },
        Some(name) => {
            let tz = Zones::zone(name).map_err(|e| time_error(py, e.to_string()))?;
            // A zone in the text wins; an abbreviation only the shared table knows is
            // looked up there.
            match (Zones::new(tz).parse(text), table.as_ref()) {
                (Err(TimeError::UnknownZone { .. }), Some(z)) => z.parse(text),
                (parsed, _) => parsed,
            }
        }
    };
    parsed
        .map(Timestamp::as_micros)
        .map_err(|e| time_error(py, e.to_string()))
}

/// Renders UNIX microseconds with `digits` (0..=6) sub-second digits: in UTC with no suffix
/// (`zone=None`), or in the zone (IANA name, `UTC`, an offset) with its abbreviation.
#[pyfunction]
#[pyo3(signature = (micros, zone=None, digits=3))]
pub fn ts_render(py: Python<'_>, micros: i64, zone: Option<&str>, digits: u8) -> PyResult<String> {
    if digits > 6 {
        return Err(time_error(
            py,
            format!("sub-second digits must be 0 to 6, not {digits}"),
        ));
    }
    let ts = timestamp_of(py, micros)?;
    match zone {
        None => Ok(ts.render_utc(digits)),
        Some(name) => {
            let tz = Zones::zone(name).map_err(|e| time_error(py, e.to_string()))?;
            Ok(ts.render_in(&tz, digits))
        }
    }
}

/// The time now, in UNIX microseconds.
#[pyfunction]
pub fn ts_now() -> i64 {
    Timestamp::now().as_micros()
}

/// Adds the abbreviations of every zone of `region` (an IANA name or a prefix: `Canada`,
/// `America/Edmonton`, `Europe`) to the shared table; returns all abbreviations now known.
#[pyfunction]
pub fn support_abbreviations(py: Python<'_>, region: &str) -> PyResult<Vec<String>> {
    let region = region.to_string();
    let mut table = ZONES.write().unwrap_or_else(PoisonError::into_inner);
    let base = table.take().unwrap_or_else(Zones::utc);
    let kept = base.clone();
    let grown = py.detach(|| base.with_region(&region));
    match grown {
        Ok(z) => {
            let all = z.abbreviations().iter().map(|s| s.to_string()).collect();
            *table = Some(z);
            Ok(all)
        }
        Err(e) => {
            *table = Some(kept);
            Err(time_error(py, e.to_string()))
        }
    }
}

/// One reader item: `(file, line, micros, serial, payload)` for a record, or `(file, line,
/// None, None, message)` for a line or file that could not be read (reading goes on).
type Item = (String, u64, Option<i64>, Option<String>, String);

fn item_of(r: Result<Entry, ReadError>) -> Item {
    match r {
        Ok(e) => (
            e.file.display().to_string(),
            e.line,
            Some(e.record.time.as_micros()),
            Some(e.record.serial().to_string()),
            e.record.payload().to_string(),
        ),
        Err(e) => {
            let (file, line) = match &e {
                ReadError::Open { file, .. } => (file.display().to_string(), 0),
                ReadError::Io { file, line, .. } | ReadError::Corrupt { file, line, .. } => {
                    (file.display().to_string(), *line)
                }
            };
            (file, line, None, None, e.to_string())
        }
    }
}

/// Reads history files (plain, `.gz`, `.bz2`, `.xz`) as one time-ordered stream; optionally
/// paced: each record is yielded no sooner than `speed` × real time allows.
#[pyclass(module = "cpppo_rs.history")]
pub struct Reader {
    reader: Mutex<HistoryReader>,
    speed: Option<f64>,
    start: Option<i64>,
    pace: Option<Pace>,
}

#[pymethods]
impl Reader {
    /// Opens `files` (records at or after `since`, before `until`; UNIX µs). With `speed`,
    /// the historical time `start` (default: the first record's) plays when the first record
    /// is read, and later ones follow at `speed` × real time.
    #[new]
    #[pyo3(signature = (files, since=None, until=None, speed=None, start=None))]
    fn new(
        py: Python<'_>,
        files: Vec<PathBuf>,
        since: Option<i64>,
        until: Option<i64>,
        speed: Option<f64>,
        start: Option<i64>,
    ) -> PyResult<Self> {
        if let Some(f) = speed {
            if !(f.is_finite() && f > 0.0) {
                return Err(raise(
                    py,
                    "HistoryError",
                    (format!(
                        "invalid speed {f}: must be a finite number greater than 0"
                    ),),
                ));
            }
        }
        let options = ReadOptions {
            since: since.map(|m| timestamp_of(py, m)).transpose()?,
            until: until.map(|m| timestamp_of(py, m)).transpose()?,
        };
        let reader = py
            .detach(|| HistoryReader::open(&files, options))
            .map_err(|e| raise(py, "HistoryError", (e.to_string(),)))?;
        Ok(Reader {
            reader: Mutex::new(reader),
            speed,
            start,
            pace: None,
        })
    }

    /// The files, in the order they are read.
    fn files(&self) -> Vec<String> {
        let reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        reader
            .files()
            .iter()
            .map(|f| f.display().to_string())
            .collect()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Item>> {
        let next = {
            let reader = &self.reader;
            py.detach(|| reader.lock().unwrap_or_else(PoisonError::into_inner).next())
        };
        let Some(next) = next else {
            return Ok(None);
        };
        if let (Ok(entry), Some(speed)) = (&next, self.speed) {
            let time = entry.record.time;
            if self.pace.is_none() {
                let start = self
                    .start
                    .map(|m| timestamp_of(py, m))
                    .transpose()?
                    .unwrap_or(time);
                self.pace = Pace::new(start, speed).ok();
            }
            if let Some(pace) = &self.pace {
                wait_until(py, pace.due(time))?;
            }
        }
        Ok(Some(item_of(next)))
    }
}

/// Sleeps until `due` with the GIL released, raising what a Python signal handler raises.
fn wait_until(py: Python<'_>, due: Instant) -> PyResult<()> {
    loop {
        let now = Instant::now();
        if now >= due {
            return Ok(());
        }
        let nap = (due - now).min(SIGNAL_POLL);
        py.detach(|| std::thread::sleep(nap));
        py.check_signals()?;
    }
}

/// Adds this module's functions and classes to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Reader>()?;
    m.add_function(wrap_pyfunction!(ts_parse, m)?)?;
    m.add_function(wrap_pyfunction!(ts_render, m)?)?;
    m.add_function(wrap_pyfunction!(ts_now, m)?)?;
    m.add_function(wrap_pyfunction!(support_abbreviations, m)?)?;
    Ok(())
}
