//! Historize: record every read and write of a tag to a cpppo history file.
//!
//! [`Historize`] wraps a tag's attribute. Each successful read is recorded as
//! `["TAG", [first, last]]` → `{"read": [values]}` and each successful write as
//! `{"write": [values]}` (element indices inclusive, values decoded by the tag's type), as
//! cpppo's `cpppo.server.enip.historize` does; a failed read or write becomes a `#` comment.
//!
//! Writes are applied and recorded under one lock, so the file holds them in the order they
//! were applied. A write is recorded *before* [`Attribute::write`] returns, so before the simulator sends
//! the acknowledgement. A write is applied if and only if it is recorded: if its record cannot
//! be written (a full disk), the elements it changed get their previous values back, still
//! under the lock, and the write is refused. With [`Durability::Flush`] (the default of [`Historian::open`]) the
//! record has then been handed to the kernel in one `write(2)`, so a client that saw the
//! reply will find its write in the file even if the simulator is killed with SIGKILL right
//! after. If the record cannot be written, the write is refused (the client gets an error
//! status) rather than acknowledged unrecorded. Reads are recorded the same way, but a read
//! whose record fails is still answered (the failure is logged).

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cpppo_cip::{DataType, TagType};
use cpppo_history::{Durability, Recorder, RecorderOptions, Timestamp};
use serde_json::Value as Json;

use crate::client::operation::Literal;
use crate::client::plan::decode_tag;
use crate::model::attribute::Attribute;
use crate::model::logix_type::{LogixType, TagLayout, Udt};
use crate::server::logix::value::{leaves, Leaf};
use cpppo_cip::mr::status;
use cpppo_cip::Status;

/// The history file shared by every historized tag.
pub struct Historian {
    recorder: Mutex<Recorder>,
}

impl Historian {
    /// Append to (create) `path` with [`Durability::Flush`]: every record reaches the kernel
    /// before the operation it records is answered. Rotation is off (cpppo leaves it to
    /// logrotate); the file is plain text whatever its name.
    pub fn open(path: &Path) -> io::Result<Historian> {
        Self::open_with(path, Durability::Flush)
    }

    /// Append to `path` with the given durability.
    pub fn open_with(path: &Path, durability: Durability) -> io::Result<Historian> {
        let options = RecorderOptions {
            durability,
            rotation: None,
            ..RecorderOptions::default()
        };
        Ok(Historian {
            recorder: Mutex::new(Recorder::open(path, options)?),
        })
    }

    /// Append `# text`.
    pub fn comment(&self, text: &str) -> io::Result<()> {
        self.with(|r| r.comment(text))
    }

    /// Append one record, timed now.
    pub fn record(&self, entry: Entry<'_>) -> io::Result<()> {
        self.with(|r| entry.put(r))
    }

    /// Apply `change` and record what it did while holding the file, so records of one
    /// element are in the file in the order they were applied. A change that fails is not
    /// recorded and its error is returned. A record that cannot be written is an `io` error,
    /// and then `undo` runs with what `change` returned (still holding the file): the change
    /// must not stay unrecorded.
    fn change_and_record<T>(
        &self,
        change: impl FnOnce() -> Result<T, Status>,
        record: impl FnOnce(&mut Recorder) -> io::Result<()>,
        undo: impl FnOnce(T),
    ) -> Result<io::Result<()>, Status> {
        let mut r = self
            .recorder
            .lock()
            .map_err(|_| Status::new(status::GENERAL_ERROR))?;
        let changed = change()?;
        let recorded = record(&mut r);
        if recorded.is_err() {
            undo(changed);
        }
        Ok(recorded)
    }

    /// Write out anything the durability left buffered.
    pub fn flush(&self) -> io::Result<()> {
        self.with(Recorder::flush)
    }

    fn with(&self, f: impl FnOnce(&mut Recorder) -> io::Result<()>) -> io::Result<()> {
        let mut r = self
            .recorder
            .lock()
            .map_err(|_| io::Error::other("history recorder lock poisoned"))?;
        f(&mut r)
    }
}

/// One history record: `[name, [first, last]]` → `{kind: values}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    /// The tag's name.
    pub name: &'a str,
    /// First element index.
    pub first: usize,
    /// Last element index (inclusive).
    pub last: usize,
    /// `"read"` or `"write"`.
    pub kind: &'a str,
    /// The elements' values.
    pub values: Json,
}

impl Entry<'_> {
    fn put(self, r: &mut Recorder) -> io::Result<()> {
        let serial = serde_json::json!([self.name, [self.first, self.last]]);
        let mut payload = serde_json::Map::new();
        payload.insert(self.kind.to_string(), self.values);
        r.record_value(None, &serial, &Json::Object(payload))
    }
}

/// A tag's attribute whose every read and write is recorded in a [`Historian`].
pub struct Historize {
    name: String,
    inner: Arc<dyn Attribute>,
    history: Arc<Historian>,
    udt: Option<(Arc<Udt>, bool)>,
}

impl Historize {
    /// Record `inner`'s I/O as tag `name`; writes the "Started recording" comment cpppo
    /// writes for each tag.
    pub fn new(name: &str, inner: Arc<dyn Attribute>, history: Arc<Historian>) -> io::Result<Self> {
        history.comment(&format!(
            "{}: Started recording Tag: {name}",
            Timestamp::now().render_utc(3)
        ))?;
        Ok(Self {
            name: name.to_string(),
            inner,
            history,
            udt: None,
        })
    }

    /// Record a structure tag (its Logix `layout`) member by member: a write (or read) of its
    /// bytes becomes one record per member path it touched (`M1.Speed`, `Motors[2].Faults`),
    /// as [`crate::server::logix::value::leaves`] names them. Other layouts change nothing.
    pub fn with_layout(mut self, layout: Option<&TagLayout>) -> Self {
        if let Some(l) = layout {
            if let LogixType::Struct(u) = &l.ty {
                self.udt = Some((u.clone(), !l.dims.is_empty()));
            }
        }
        self
    }

    /// For a structure tag: the member records of bytes `start..start + count`, read back from
    /// the structures they lie in.
    fn member_entries(&self, start: usize, count: usize) -> Option<Result<Vec<Leaf>, Status>> {
        let (udt, array) = self.udt.as_ref()?;
        let size = (udt.size as usize).max(1);
        let first = start / size;
        let end = (start + count).div_ceil(size) * size;
        let mut data = Vec::new();
        if let Err(st) = self.inner.read(first * size, end - first * size, &mut data) {
            return Some(Err(st));
        }
        let mut all = leaves(
            &self.name,
            udt,
            *array,
            &data,
            start - first * size..start + count - first * size,
        );
        if *array {
            // `leaves` numbers the elements it was given from 0.
            for l in &mut all {
                l.name = renumber(&l.name, &self.name, first);
            }
        }
        Some(Ok(all))
    }

    fn put_members(&self, r: &mut Recorder, kind: &str, all: &[Leaf]) -> io::Result<()> {
        for l in all {
            Entry {
                name: &l.name,
                first: 0,
                last: l.values.len().saturating_sub(1),
                kind,
                values: Json::Array(l.values.clone()),
            }
            .put(r)?;
        }
        Ok(())
    }

    fn failed(&self, op: &str, start: usize, count: usize, st: &Status) {
        let last = (start + count).saturating_sub(1);
        let text = format!(
            "{}: PLC I/O {op} Tag {:>20}[{start:>5}-{last:<5}] Exception: status 0x{:02x} {:04x?}",
            Timestamp::now().render_utc(3),
            self.name,
            st.general,
            st.extended().into_iter().collect::<Vec<_>>()
        );
        if let Err(e) = self.history.comment(&text) {
            tracing::warn!("historize {}: cannot record: {e}", self.name);
        }
    }

    /// The record of `count` elements from `start` with the encoded `data`.
    fn entry<'a>(&'a self, kind: &'a str, start: usize, count: usize, data: &[u8]) -> Entry<'a> {
        Entry {
            name: &self.name,
            first: start,
            last: (start + count).saturating_sub(1),
            kind,
            values: to_json(self.inner.data_type(), data),
        }
    }
}

/// `NAME[i]...` with `i` moved on by `by` (the element `leaves` counted from).
fn renumber(leaf: &str, name: &str, by: usize) -> String {
    let rest = leaf.get(name.len() + 1..).unwrap_or_default();
    match rest.split_once(']') {
        Some((i, tail)) => match i.parse::<usize>() {
            Ok(i) => format!("{name}[{}]{tail}", i + by),
            Err(_) => leaf.to_string(),
        },
        None => leaf.to_string(),
    }
}

/// Decode encoded elements of `ty` into JSON values as cpppo records them (numbers and
/// strings; undecodable data becomes its bytes).
pub fn to_json(ty: DataType, data: &[u8]) -> Json {
    match decode_tag(TagType::Atomic(ty), data) {
        Some(values) => Json::Array(values.iter().map(value_json).collect()),
        None => Json::Array(data.iter().map(|&b| Json::from(b)).collect()),
    }
}

/// One operation value as history records it.
pub fn value_json(v: &Literal) -> Json {
    match v {
        Literal::Int(n) => i64::try_from(*n)
            .map(Json::from)
            .or_else(|_| u64::try_from(*n).map(Json::from))
            .unwrap_or(Json::Null),
        Literal::Real(x) => Json::from(*x),
        Literal::Bool(b) => Json::from(*b),
        Literal::Text(s) => Json::from(s.as_str()),
    }
}

/// JSON values (as recorded) as operation values, for encoding as a tag's type.
pub fn from_json(values: &[Json]) -> Result<Vec<Literal>, String> {
    values
        .iter()
        .map(|v| match v {
            Json::Bool(b) => Ok(Literal::Bool(*b)),
            Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Ok(Literal::Int(i.into())),
                (_, Some(u), _) => Ok(Literal::Int(u.into())),
                (_, _, Some(x)) => Ok(Literal::Real(x)),
                _ => Err(format!("{n} is not a number we can write")),
            },
            Json::String(s) => Ok(Literal::Text(s.clone())),
            other => Err(format!("{other} is not a tag value")),
        })
        .collect()
}

impl Attribute for Historize {
    crate::delegate_shape_to_inner!();

    fn peek(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.inner.peek(start, count, out)
    }

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        let from = out.len();
        match self.inner.read(start, count, out) {
            Ok(()) => {
                let data = out.get(from..).unwrap_or_default();
                let recorded = match self.member_entries(start, count) {
                    Some(Ok(all)) => self.history.with(|r| self.put_members(r, "read", &all)),
                    _ => self.history.record(self.entry("read", start, count, data)),
                };
                if let Err(e) = recorded {
                    tracing::warn!("historize {}: cannot record a read: {e}", self.name);
                }
                Ok(())
            }
            Err(st) => {
                self.failed("Read ", start, count, &st);
                Err(st)
            }
        }
    }

    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        let entry = self.entry("write", start, count, data);
        // The elements' values before the write, to restore if it cannot be recorded. Taken
        // under the file's lock, as the write is.
        let done = self.history.change_and_record(
            || {
                let mut before = Vec::new();
                self.inner.read(start, count, &mut before)?;
                self.inner.write(start, count, data).map(|()| before)
            },
            |r| match self.member_entries(start, count) {
                Some(Ok(all)) => self.put_members(r, "write", &all),
                _ => entry.put(r),
            },
            |before| {
                if let Err(st) = self.inner.write(start, count, &before) {
                    tracing::error!(
                        "historize {}: cannot undo an unrecorded write: status {st:?}",
                        self.name
                    );
                }
            },
        );
        match done {
            Ok(recorded) => recorded.map_err(|e| {
                tracing::error!("historize {}: cannot record a write: {e}", self.name);
                Status::new(status::GENERAL_ERROR)
            }),
            Err(st) => {
                self.failed("Write", start, count, &st);
                Err(st)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attribute::StoredData;

    #[test]
    fn values_round_trip_through_json() {
        let j = to_json(DataType::Int, &[1, 0, 0xFF, 0xFF]);
        assert_eq!(j, serde_json::json!([1, -1]));
        let j = to_json(DataType::Real, &1.5f32.to_le_bytes());
        assert_eq!(j, serde_json::json!([1.5]));
        let j = to_json(DataType::Sstring, b"\x02hi");
        assert_eq!(j, serde_json::json!(["hi"]));
        let back = from_json(&[serde_json::json!(3), serde_json::json!(2.5)]).unwrap();
        assert_eq!(back, vec![Literal::Int(3), Literal::Real(2.5)]);
        assert!(from_json(&[serde_json::json!([1])]).is_err());
    }

    #[test]
    fn reads_and_writes_are_recorded_in_cpppo_format() {
        let dir = std::env::temp_dir().join(format!("cpppo-historize-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("unit.hst");
        let _ = std::fs::remove_file(&path);
        let history = Arc::new(Historian::open(&path).unwrap());
        let inner = Arc::new(StoredData::new(DataType::Int, 4, true));
        let tag = Historize::new("Tag_Name", inner, history).unwrap();
        tag.write(0, 4, &[0, 0, 1, 0, 2, 0, 3, 0]).unwrap();
        let mut out = Vec::new();
        tag.read(2, 1, &mut out).unwrap();
        assert!(tag.read(3, 5, &mut out).is_err());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("# ") && lines[0].ends_with("Started recording Tag: Tag_Name")
        );
        assert!(
            lines[1].ends_with("\t[\"Tag_Name\", [0, 3]]\t{\"write\": [0, 1, 2, 3]}"),
            "{text}"
        );
        assert!(
            lines[2].ends_with("\t[\"Tag_Name\", [2, 2]]\t{\"read\": [2]}"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("# ") && lines[3].contains("Exception"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_simulators_own_reads_are_not_recorded() {
        let dir = std::env::temp_dir().join(format!("cpppo-peek-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("peek.hst");
        let _ = std::fs::remove_file(&path);
        let history = Arc::new(Historian::open(&path).unwrap());
        let inner = Arc::new(StoredData::new(DataType::Sint, 4, true));
        let tag = Historize::new("Inputs", inner, history).unwrap();
        tag.write(0, 4, &[1, 2, 3, 4]).unwrap();
        // A class 1 producer reads its input assembly every RPI: not a client's read.
        let mut out = Vec::new();
        for _ in 0..100 {
            out.clear();
            tag.peek(0, 4, &mut out).unwrap();
        }
        assert_eq!(out, [1, 2, 3, 4]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().count(),
            2,
            "the start and the write only: {text}"
        );
        assert!(!text.contains("\"read\""), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn structure_writes_are_recorded_member_by_member_and_replayed() {
        use crate::history::replay::{play_once, ReplayOptions};
        use crate::model::device::Device;
        use crate::server::logix::tag_path::Resolved;
        use crate::server::logix::value::{resolve_text, target_json, tests::device, write_json};
        use serde_json::json;
        let dir = std::env::temp_dir().join(format!("cpppo-historize-udt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("udt.hst");
        let _ = std::fs::remove_file(&path);
        let history = Arc::new(Historian::open(&path).unwrap());
        let d = device();
        let tag = d.tag("Motors").unwrap();
        let rec: Arc<dyn Attribute> = Arc::new(
            Historize::new("Motors", tag.attribute.clone(), history)
                .unwrap()
                .with_layout(tag.layout.as_deref()),
        );
        let target = |d: &Device, text: &str| match resolve_text(d, text).unwrap().at {
            Resolved::Data(t) => t,
            Resolved::Flat(_) => panic!("{text}"),
        };
        // As a Write Tag of a member does: the member's bytes through the tag's attribute.
        for (text, v) in [
            ("Motors[1].Speed", json!(7.5)),
            ("Motors[2].Running", json!(true)),
            ("Motors[0].Name", json!("pump")),
        ] {
            let mut t = target(&d, text);
            t.attr = rec.clone();
            let w = |at: usize, b: &[u8]| rec.write(at, b.len(), b);
            write_json(&t, &v, &w).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // A BOOL member is written as its host byte (read, then written back): the host's
        // BOOL members are all recorded.
        let writes: Vec<&str> = text.lines().filter(|l| l.contains("{\"write\"")).collect();
        let want = [
            "[\"Motors[1].Speed\", [0, 0]]\t{\"write\": [7.5]}",
            "[\"Motors[2].Running\", [0, 0]]\t{\"write\": [true]}",
            "[\"Motors[2].Fault\", [0, 0]]\t{\"write\": [false]}",
            "[\"Motors[0].Name\", [0, 0]]\t{\"write\": [\"pump\"]}",
        ];
        assert_eq!(writes.len(), want.len(), "{text}");
        for (line, want) in writes.iter().zip(want) {
            assert!(line.ends_with(want), "{line} is not {want}");
        }
        // Replayed into a fresh device, the members get their values back.
        let fresh = device();
        let options = ReplayOptions {
            files: vec![path.clone()],
            speed: 1000.0,
            looping: false,
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let pass = play_once(&fresh, &options, &stop, &mut Default::default()).unwrap();
        assert_eq!(pass.applied, 4);
        let got = |text: &str| target_json(&target(&fresh, text), 1).unwrap();
        assert_eq!(got("Motors[1].Speed"), json!(7.5));
        assert_eq!(got("Motors[2].Running"), json!(true));
        assert_eq!(got("Motors[0].Name"), json!("pump"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
