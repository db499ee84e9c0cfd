//! Reading a set of history files as one time-ordered stream of records.
//!
//! # Order
//!
//! Each file is first probed for the timestamp of its first record; files are then ordered
//! by that timestamp. Where timestamps do not decide (equal, or a file holds no record),
//! names do: files of one rotation set (`x.hst`, `x.hst.0`, `x.hst.1.gz`, ...) go oldest
//! first (higher number first, the live file last), other names in natural order
//! (`x.hst.9` before `x.hst.10`, see [`natural_cmp`]). If both `x.hst.1` and `x.hst.1.gz`
//! are given (a rotation caught while compressing) only the uncompressed one is read.
//!
//! Records are then merged by timestamp (ties: file order, then line order). A file is
//! opened only when the merge reaches its first timestamp, so a long rotation set is read
//! one file at a time; overlapping files are merged correctly. Each file is expected to be
//! in time order; a record earlier than one already yielded is yielded where it is found.
//!
//! # Errors
//!
//! The iterator yields `Err` for a corrupt line (with file and line number) or an I/O error
//! in one file; it never ends the reading: the line (or the rest of that file) is skipped
//! and the other records still come.

use std::cmp::{Ordering, Reverse};
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compress::{open_read, Compression};
use crate::record::{parse_line_bytes, Line, LineError, Record};
use crate::time::Timestamp;

/// A record and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file.
    pub file: Arc<Path>,
    /// The line number (1-based).
    pub line: u64,
    /// The record.
    pub record: Record,
}

/// A problem with one line or one file; reading goes on.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file could not be opened.
    #[error("{}: {source}", file.display())]
    Open {
        /// The file.
        file: Arc<Path>,
        /// Why.
        source: io::Error,
    },
    /// Reading a file failed (e.g. a truncated compressed file); the rest of it is skipped.
    #[error("{}:{line}: {source}", file.display())]
    Io {
        /// The file.
        file: Arc<Path>,
        /// The line being read.
        line: u64,
        /// Why.
        source: io::Error,
    },
    /// A line is not a record; it is skipped.
    #[error("{}:{line}: {error}", file.display())]
    Corrupt {
        /// The file.
        file: Arc<Path>,
        /// The line number (1-based).
        line: u64,
        /// Why.
        error: LineError,
    },
}

/// Bounds on the records yielded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip records before this time.
    pub since: Option<Timestamp>,
    /// Stop at the first record at or after this time (exclusive bound).
    pub until: Option<Timestamp>,
}

/// One open file, positioned after its current record.
struct Source {
    file: Arc<Path>,
    lines: Box<dyn BufRead + Send>,
    line: u64,
    buf: Vec<u8>,
}

impl Source {
    fn open(file: &Arc<Path>) -> Result<Source, ReadError> {
        let lines = open_read(file).map_err(|source| ReadError::Open {
            file: file.clone(),
            source,
        })?;
        Ok(Source {
            file: file.clone(),
            lines,
            line: 0,
            buf: Vec::with_capacity(256),
        })
    }

    /// The next record, skipping blanks and comments; corrupt lines go to `errors`.
    /// `None` at the end of the file or after an I/O error (also put in `errors`).
    fn next_record(&mut self, mut errors: Option<&mut VecDeque<ReadError>>) -> Option<Record> {
        loop {
            self.buf.clear();
            self.line += 1;
            let read = (&mut self.lines)
                .take(MAX_LINE)
                .read_until(b'\n', &mut self.buf)
                .and_then(
                    |n| match n as u64 == MAX_LINE && !self.buf.ends_with(b"\n") {
                        true => skip_line(&mut self.lines).map(|()| None),
                        false => Ok(Some(n)),
                    },
                );
            match read {
                Ok(Some(0)) => return None,
                Ok(Some(_)) => {}
                Ok(None) => {
                    if let Some(errors) = errors.as_deref_mut() {
                        errors.push_back(ReadError::Corrupt {
                            file: self.file.clone(),
                            line: self.line,
                            error: LineError::TooLong(MAX_LINE),
                        });
                    }
                    continue;
                }
                Err(source) => {
                    if let Some(errors) = errors.as_deref_mut() {
                        errors.push_back(ReadError::Io {
                            file: self.file.clone(),
                            line: self.line,
                            source,
                        });
                    }
                    return None;
                }
            }
            match parse_line_bytes(&self.buf) {
                Ok(Line::Record(record)) => return Some(record),
                Ok(_) => {}
                Err(error) => {
                    if let Some(errors) = errors.as_deref_mut() {
                        errors.push_back(ReadError::Corrupt {
                            file: self.file.clone(),
                            line: self.line,
                            error,
                        });
                    }
                }
            }
        }
    }
}

/// The longest line read; the rest of a longer one is skipped (so a file without line
/// breaks cannot exhaust memory).
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// Discard input up to and including the next line break.
fn skip_line(input: &mut dyn BufRead) -> io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let len = buf.len();
                input.consume(len);
            }
        }
    }
}

/// A file waiting to be opened, with the time of its first record.
struct Pending {
    file: Arc<Path>,
    first: Option<Timestamp>,
    order: usize,
}

/// An open file in the merge, keyed by its current record.
struct Cursor {
    record: Record,
    line: u64,
    order: usize,
    source: Source,
}

impl Cursor {
    fn key(&self) -> (Timestamp, usize, u64) {
        (self.record.time, self.order, self.line)
    }
}

impl PartialEq for Cursor {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Cursor {}
impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cursor {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Reads a set of history files as one time-ordered stream (see the module documentation).
pub struct HistoryReader {
    pending: VecDeque<Pending>,
    heap: BinaryHeap<Reverse<Cursor>>,
    errors: VecDeque<ReadError>,
    options: ReadOptions,
    done: bool,
}

impl HistoryReader {
    /// Probe and order `files`. Fails only if a file cannot be opened at all.
    pub fn open<P: AsRef<Path>>(
        files: impl IntoIterator<Item = P>,
        options: ReadOptions,
    ) -> Result<HistoryReader, ReadError> {
        let files = dedup_compressed(files.into_iter().map(|p| p.as_ref().to_path_buf()));
        let mut probed = Vec::with_capacity(files.len());
        for file in files {
            let file: Arc<Path> = Arc::from(file);
            let first = Source::open(&file)?.next_record(None).map(|r| r.time);
            probed.push((file, first));
        }
        probed.sort_by(|a, b| {
            let none_first = a.1.is_some().cmp(&b.1.is_some());
            none_first
                .then(a.1.cmp(&b.1))
                .then_with(|| file_order(&a.0, &b.0))
        });
        let pending = probed
            .into_iter()
            .enumerate()
            .map(|(order, (file, first))| Pending { file, first, order })
            .collect();
        Ok(HistoryReader {
            pending,
            heap: BinaryHeap::new(),
            errors: VecDeque::new(),
            options,
            done: false,
        })
    }

    /// The files, in the order they are read.
    pub fn files(&self) -> Vec<Arc<Path>> {
        self.pending.iter().map(|p| p.file.clone()).collect()
    }

    /// The time of the first record of the earliest file, if any (before reading starts).
    pub fn first_time(&self) -> Option<Timestamp> {
        self.pending.iter().find_map(|p| p.first)
    }

    /// Open every pending file whose first record is due (at or before the merge's head).
    fn open_due(&mut self) {
        while let Some(front) = self.pending.front() {
            let head = self.heap.peek().map(|Reverse(c)| c.record.time);
            if matches!((head, front.first), (Some(h), Some(f)) if f > h) {
                return;
            }
            let Some(next) = self.pending.pop_front() else {
                return;
            };
            match Source::open(&next.file) {
                Err(e) => self.errors.push_back(e),
                Ok(mut source) => {
                    if let Some(record) = source.next_record(Some(&mut self.errors)) {
                        let line = source.line;
                        let order = next.order;
                        self.heap.push(Reverse(Cursor {
                            record,
                            line,
                            order,
                            source,
                        }));
                    }
                }
            }
        }
    }

    /// The next record regardless of bounds, or `None` when all files are done.
    fn next_merged(&mut self) -> Option<Entry> {
        self.open_due();
        // Replace the head's record in place (sifting it down) rather than pop and push.
        let mut head = self.heap.peek_mut()?;
        let cursor = &mut head.0;
        let file = cursor.source.file.clone();
        let line = cursor.line;
        let record = match cursor.source.next_record(Some(&mut self.errors)) {
            Some(next) => {
                cursor.line = cursor.source.line;
                std::mem::replace(&mut cursor.record, next)
            }
            None => PeekMut::pop(head).0.record,
        };
        Some(Entry { file, line, record })
    }
}

impl Iterator for HistoryReader {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(error) = self.errors.pop_front() {
                return Some(Err(error));
            }
            if self.done {
                return None;
            }
            let Some(entry) = self.next_merged() else {
                if self.errors.is_empty() {
                    self.done = true;
                }
                continue;
            };
            if self.options.since.is_some_and(|s| entry.record.time < s) {
                continue;
            }
            if self.options.until.is_some_and(|u| entry.record.time >= u) {
                self.done = true;
                self.pending.clear();
                self.heap.clear();
                continue;
            }
            return Some(Ok(entry));
        }
    }
}

/// Drop `x.gz`/`x.bz2`/`x.xz` when `x` itself is also given.
fn dedup_compressed(files: impl Iterator<Item = PathBuf>) -> Vec<PathBuf> {
    let files: Vec<PathBuf> = files.collect();
    let plain: HashSet<&Path> = files
        .iter()
        .filter(|f| Compression::from_path(f) == Compression::None)
        .map(PathBuf::as_path)
        .collect();
    let mut seen = HashSet::new();
    files
        .iter()
        .filter(|f| {
            Compression::from_path(f) == Compression::None
                || !f
                    .file_stem()
                    .is_some_and(|stem| plain.contains(f.with_file_name(stem).as_path()))
        })
        .filter(|f| seen.insert((*f).clone()))
        .cloned()
        .collect()
}

/// Rotation-aware order of two file names: same rotation set oldest first (higher number
/// first, unnumbered live file last), otherwise [`natural_cmp`].
pub fn file_order(a: &Path, b: &Path) -> Ordering {
    let (a_text, b_text) = (a.to_string_lossy(), b.to_string_lossy());
    let (a_set, a_gen) = rotation_parts(&a_text);
    let (b_set, b_gen) = rotation_parts(&b_text);
    if a_set == b_set {
        // Oldest first: higher generation first, the unnumbered live file last.
        let by_gen = match (a_gen, b_gen) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => y.cmp(&x),
        };
        by_gen.then_with(|| natural_cmp(&a_text, &b_text))
    } else {
        natural_cmp(&a_text, &b_text)
    }
}

/// Split `x.hst.12.gz` into (`x.hst`, Some(12)); `x.hst` into (`x.hst`, None).
fn rotation_parts(name: &str) -> (&str, Option<u64>) {
    let base = [".gz", ".bz2", ".xz"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, num)) if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
            (stem, num.parse().ok())
        }
        _ => (base, None),
    }
}

/// Natural order: runs of digits compare as numbers (`x9` < `x10`), the rest as text.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (an, ar) = split_digits(a);
                let (bn, br) = split_digits(b);
                let (at, bt) = (an.trim_start_matches('0'), bn.trim_start_matches('0'));
                let order = at
                    .len()
                    .cmp(&bt.len())
                    .then_with(|| at.cmp(bt))
                    .then_with(|| an.len().cmp(&bn.len()));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (ar, br);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                (a, b) = (skip_char(a), skip_char(b));
            }
        }
    }
}

fn skip_char(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.as_str()
}

fn split_digits(s: &str) -> (&str, &str) {
    s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut names = vec!["x.hst.10", "x.hst.9", "x.hst.1", "x.hst", "x.hst.01", "a"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            ["a", "x.hst", "x.hst.1", "x.hst.01", "x.hst.9", "x.hst.10"]
        );
    }

    #[test]
    fn rotation_order_is_oldest_first() {
        let mut files: Vec<&Path> = [
            "p.hst",
            "p.hst.0",
            "p.hst.10.gz",
            "p.hst.9.gz",
            "p.hst.1.gz",
        ]
        .iter()
        .map(Path::new)
        .collect();
        files.sort_by(|a, b| file_order(a, b));
        let names: Vec<_> = files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "p.hst.10.gz",
                "p.hst.9.gz",
                "p.hst.1.gz",
                "p.hst.0",
                "p.hst"
            ]
        );
    }

    #[test]
    fn compressed_duplicate_dropped() {
        let files = dedup_compressed(
            ["p.hst.1", "p.hst.1.gz", "p.hst.2.gz", "p.hst.2.gz"]
                .iter()
                .map(PathBuf::from),
        );
        assert_eq!(
            files,
            [PathBuf::from("p.hst.1"), PathBuf::from("p.hst.2.gz")]
        );
    }
}
