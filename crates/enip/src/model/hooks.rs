//! Attribute hooks: examples of customising what reads and writes do.
//!
//! - [`Clock`] computes its value on every read (the Wall Clock object uses it; bind it to a
//!   tag to offer a computed clock tag).
//! - [`Recorder`] wraps any attribute and appends one line per read and write to a file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use cpppo_cip::DataType;

use crate::model::attribute::{out_of_range, Attribute};
use cpppo_cip::mr::status;
use cpppo_cip::Status;

/// A clock in microseconds since 1970-01-01 (UTC, or local wall time), computed on each read.
/// Writing sets it: later reads advance from the written value.
#[derive(Debug)]
pub struct Clock {
    local: bool,
    offset_us: Arc<AtomicI64>,
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Clock {
    /// UTC microseconds (ULINT), as Wall Clock attribute 6.
    pub fn utc() -> Self {
        Self {
            local: false,
            offset_us: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A UTC and a local clock that are set together (writing either moves both).
    pub fn pair() -> (Self, Self) {
        let utc = Self::utc();
        let local = Self {
            local: true,
            offset_us: utc.offset_us.clone(),
        };
        (utc, local)
    }

    /// Local wall-clock microseconds (LINT), as Wall Clock attribute 11.
    pub fn local() -> Self {
        Self {
            local: true,
            offset_us: Arc::new(AtomicI64::new(0)),
        }
    }

    fn zone_offset_us(&self) -> i64 {
        if !self.local {
            return 0;
        }
        let secs = jiff::Zoned::now().offset().seconds();
        i64::from(secs) * 1_000_000
    }

    /// The current value.
    pub fn now(&self) -> i64 {
        now_us()
            .saturating_add(self.zone_offset_us())
            .saturating_add(self.offset_us.load(Ordering::Relaxed))
    }
}

impl Attribute for Clock {
    fn data_type(&self) -> DataType {
        if self.local {
            DataType::Lint
        } else {
            DataType::Ulint
        }
    }

    fn len(&self) -> usize {
        1
    }

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        if start + count > 1 {
            return Err(out_of_range());
        }
        if count == 1 {
            out.extend_from_slice(&self.now().to_le_bytes());
        }
        Ok(())
    }

    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        if start + count > 1 {
            return Err(out_of_range());
        }
        if count == 1 {
            let bytes: [u8; 8] = data
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
            let wanted = i64::from_le_bytes(bytes);
            let base = now_us().saturating_add(self.zone_offset_us());
            self.offset_us
                .store(wanted.saturating_sub(base), Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Wraps an attribute and records every read and write (or failure) as a line in a file:
/// `<unix seconds> <tag> read|write [start+count] <hex data or error>`.
pub struct Recorder {
    name: String,
    inner: Arc<dyn Attribute>,
    file: Arc<Mutex<File>>,
}

impl Recorder {
    /// Record `inner`'s I/O under `name` to `file` (shared by many recorders).
    pub fn new(name: &str, inner: Arc<dyn Attribute>, file: Arc<Mutex<File>>) -> Self {
        Self {
            name: name.to_string(),
            inner,
            file,
        }
    }

    /// Open (append to) a record file.
    pub fn open(path: &Path) -> io::Result<Arc<Mutex<File>>> {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Arc::new(Mutex::new(f)))
    }

    fn record(&self, op: &str, start: usize, count: usize, result: Result<&[u8], &Status>) {
        let when = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let what = match result {
            Ok(data) => data.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            Err(st) => format!(
                "error 0x{:02x} {:04x?}",
                st.general,
                st.extended().into_iter().collect::<Vec<_>>()
            ),
        };
        if let Ok(mut f) = self.file.lock() {
            // A record that cannot be written must not fail the client's request.
            let _ = writeln!(f, "{when:.6} {} {op} [{start}+{count}] {what}", self.name);
        }
    }
}

impl Attribute for Recorder {
    crate::delegate_shape_to_inner!();

    fn peek(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.inner.peek(start, count, out)
    }

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        let from = out.len();
        let r = self.inner.read(start, count, out);
        match &r {
            Ok(()) => self.record(
                "read",
                start,
                count,
                Ok(out.get(from..).unwrap_or_default()),
            ),
            Err(e) => self.record("read", start, count, Err(e)),
        }
        r
    }

    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        let r = self.inner.write(start, count, data);
        match &r {
            Ok(()) => self.record("write", start, count, Ok(data)),
            Err(e) => self.record("write", start, count, Err(e)),
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attribute::StoredData;

    #[test]
    fn clock_reads_now_and_can_be_set() {
        let c = Clock::utc();
        let mut out = Vec::new();
        c.read(0, 1, &mut out).unwrap();
        let t = i64::from_le_bytes(out.clone().try_into().unwrap());
        assert!((t - now_us()).abs() < 5_000_000);
        c.write(0, 1, &1_000_000i64.to_le_bytes()).unwrap();
        assert!((c.now() - 1_000_000).abs() < 5_000_000);
    }

    #[test]
    fn recorder_logs_reads_and_writes() {
        let path = std::env::temp_dir().join(format!("cpppo-rec-{}.txt", std::process::id()));
        let file = Recorder::open(&path).unwrap();
        let r = Recorder::new("T", Arc::new(StoredData::new(DataType::Int, 2, true)), file);
        r.write(1, 1, &[7, 0]).unwrap();
        let mut out = Vec::new();
        r.read(0, 2, &mut out).unwrap();
        assert!(r.read(1, 5, &mut out).is_err());
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("T write [1+1] 0700"), "{text}");
        assert!(lines[1].ends_with("T read [0+2] 00000700"), "{text}");
        assert!(lines[2].contains("error 0xff"), "{text}");
    }
}
