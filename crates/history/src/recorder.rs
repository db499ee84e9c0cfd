//! Appending records to a history file, with a stated durability, and rotating it.
//!
//! # Flush policy
//!
//! [`Recorder::record`] returns only after the record is as safe as its [`Durability`] says:
//!
//! | policy | when `record` returns, the line is ... | survives |
//! | --- | --- | --- |
//! | [`Durability::Buffered`] | in our 64 KiB buffer (written when full, on [`Recorder::flush`], rotation and drop) | nothing until flushed |
//! | [`Durability::Flush`] (default) | handed to the kernel in one `write(2)` | SIGKILL / crash of this process |
//! | [`Durability::Sync`] | written and `fdatasync`ed | power loss / kernel crash |
//!
//! So a simulator that writes the record with `Flush` (or `Sync`) *before* it sends the
//! acknowledgement can be killed with SIGKILL right after, and the acknowledged write is
//! in the file. The costs are measured in the crate README.
//!
//! Every record goes out in a single `write` on a file opened for appending, so a crash
//! leaves at most one partial last line; when a file is reopened and does not end in a line
//! break, one is added first, so that partial line stays a (reported, skipped) corrupt line
//! instead of swallowing the next record.
//!
//! # Rotation
//!
//! With [`Rotation`], once the live file reaches `max_bytes` it is rotated as logrotate's
//! `delaycompress` does, which is the layout cpppo's reader expects:
//!
//! ```text
//! name.hst          the live file (newest)
//! name.hst.0        the previous one, uncompressed
//! name.hst.1.gz     older, compressed
//! ...
//! name.hst.{keep-1}.gz  the oldest kept; older ones are removed
//! ```
//!
//! Step by step: remove the oldest, shift `.i.gz` to `.i+1.gz`, rename `.0` to `.1`,
//! compress `.1` into a hidden temporary (`.name.hst.1.gz.partial`) that is renamed to
//! `name.hst.1.gz` once complete, remove `.1`, rename the live file to `.0`, and start a new
//! live file. Every rename is atomic, so at each instant every record is in a complete
//! file; the only overlap (`.1` next to `.1.gz`) is the pair the reader de-duplicates.
//! Compression runs on the recording thread (a 10 MB file takes a fraction of a second).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compress::{compress_file, Compression};
use crate::record::Record;
use crate::time::{Timestamp, DEFAULT_DIGITS};

/// How safe a record is when [`Recorder::record`] returns (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Buffered in memory; fastest, lost if the process dies before a flush.
    Buffered,
    /// Written to the kernel per record; survives SIGKILL of this process.
    #[default]
    Flush,
    /// Written and `fdatasync`ed per record; survives power loss.
    Sync,
}

/// When and how to rotate the live file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate once the live file holds at least this many bytes.
    pub max_bytes: u64,
    /// How many rotated files to keep (`.0` .. `.{keep-1}`).
    pub keep: u32,
    /// Compression of rotated files from `.1` on.
    pub compression: Compression,
}

impl Default for Rotation {
    /// 10 MB, 10 files, gzip.
    fn default() -> Self {
        Rotation {
            max_bytes: 10 * 1024 * 1024,
            keep: 10,
            compression: Compression::Gzip,
        }
    }
}

/// Options of a [`Recorder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecorderOptions {
    /// Durability of each record.
    pub durability: Durability,
    /// Rotation, if any.
    pub rotation: Option<Rotation>,
    /// Sub-second digits of timestamps (3, as cpppo).
    pub digits: u8,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            durability: Durability::Flush,
            rotation: None,
            digits: DEFAULT_DIGITS,
        }
    }
}

const BUFFER: usize = 64 * 1024;

/// Appends records to a plain-text history file (see the module documentation).
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    file: File,
    pending: String,
    size: u64,
    /// A failed write may have left a partial line: start the next write with a line break.
    broken: bool,
    /// Size at which the next rotation is tried (pushed back after a failed one).
    rotate_at: u64,
    options: RecorderOptions,
}

impl Recorder {
    /// Open (create or append to) the live file `path`.
    pub fn open(path: impl Into<PathBuf>, options: RecorderOptions) -> io::Result<Recorder> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let (file, size) = open_live(&path)?;
        Ok(Recorder {
            path,
            file,
            pending: String::with_capacity(BUFFER),
            size,
            broken: false,
            rotate_at: options.rotation.map_or(u64::MAX, |r| r.max_bytes),
            options,
        })
    }

    /// The live file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the live file, including any not yet written.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append `record`; on return it is as safe as the durability says.
    pub fn record(&mut self, record: &Record) -> io::Result<()> {
        let before = self.pending.len();
        record.write_line(self.options.digits, &mut self.pending);
        self.size += (self.pending.len() - before) as u64;
        self.settle()
    }

    /// Append a record of `serial` and `payload` (serialized as Python's `json.dumps`) at
    /// `time` (now if `None`).
    pub fn record_value(
        &mut self,
        time: Option<Timestamp>,
        serial: &impl Serialize,
        payload: &impl Serialize,
    ) -> io::Result<()> {
        let record = Record::new(time.unwrap_or_else(Timestamp::now), serial, payload)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.record(&record)
    }

    /// Append a `# text` comment line (line breaks in `text` become spaces).
    pub fn comment(&mut self, text: &str) -> io::Result<()> {
        let before = self.pending.len();
        self.pending.push_str("# ");
        self.pending.extend(
            text.chars()
                .map(|c| if matches!(c, '\n' | '\r') { ' ' } else { c }),
        );
        self.pending.push('\n');
        self.size += (self.pending.len() - before) as u64;
        self.settle()
    }

    /// Write out anything buffered (to the kernel). On an error the buffered records are
    /// dropped (they are not recorded; any part that reached the file is cut off as a corrupt
    /// line by the next write) and the error returned.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.broken {
            self.pending.insert(0, '\n');
        }
        let result = self.file.write_all(self.pending.as_bytes());
        self.broken = result.is_err();
        self.pending.clear();
        result
    }

    /// Write out anything buffered and `fdatasync` the file.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        self.file.sync_data()
    }

    /// Apply the durability policy, then rotate if due. A failed rotation does not fail the
    /// record (it is written): it is logged and tried again after another `max_bytes`.
    fn settle(&mut self) -> io::Result<()> {
        match self.options.durability {
            Durability::Buffered if self.pending.len() < BUFFER => {}
            Durability::Buffered | Durability::Flush => self.flush()?,
            Durability::Sync => self.sync()?,
        }
        if self.size >= self.rotate_at {
            if let Err(e) = self.rotate() {
                tracing::error!("history {}: rotation failed: {e}", self.path.display());
                let step = self.options.rotation.map_or(u64::MAX, |r| r.max_bytes);
                self.rotate_at = self.size.saturating_add(step);
            }
        }
        Ok(())
    }

    /// Rotate now (if rotation is configured; otherwise just flush).
    pub fn rotate(&mut self) -> io::Result<()> {
        self.flush()?;
        let Some(rotation) = self.options.rotation else {
            return Ok(());
        };
        if self.options.durability == Durability::Sync {
            self.file.sync_data()?;
        }
        shift_rotated(&self.path, rotation)?;
        if rotation.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            fs::rename(&self.path, numbered(&self.path, 0, Compression::None))?;
        }
        let (file, size) = open_live(&self.path)?;
        self.file = file;
        self.size = size;
        self.broken = false;
        self.rotate_at = rotation.max_bytes;
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!(
                "history {}: records lost on close: {e}",
                self.path.display()
            );
        }
    }
}

/// `name.hst.N` plus the compression suffix.
pub fn numbered(path: &Path, n: u32, compression: Compression) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}{}", compression.suffix()));
    PathBuf::from(name)
}

/// Make room for a new `.0`: drop the oldest, shift the compressed ones, compress `.0`
/// into `.1`.
fn shift_rotated(path: &Path, rotation: Rotation) -> io::Result<()> {
    let keep = rotation.keep;
    let ext = rotation.compression;
    remove_if_present(&numbered(path, keep.saturating_sub(1), ext))?;
    remove_if_present(&numbered(path, keep.saturating_sub(1), Compression::None))?;
    for n in (1..keep.saturating_sub(1)).rev() {
        rename_if_present(&numbered(path, n, ext), &numbered(path, n + 1, ext))?;
    }
    let zero = numbered(path, 0, Compression::None);
    if keep < 2 || !zero.exists() {
        return remove_if_present(&zero);
    }
    let one = numbered(path, 1, Compression::None);
    fs::rename(&zero, &one)?;
    if ext == Compression::None {
        return Ok(());
    }
    let target = numbered(path, 1, ext);
    let partial = partial_name(&target);
    compress_file(&one, &partial, ext)?;
    File::open(&partial)?.sync_all()?;
    fs::rename(&partial, &target)?;
    fs::remove_file(&one)
}

/// `dir/.name.partial` for `dir/name`: hidden, so a `name*` glob does not pick it up.
fn partial_name(target: &Path) -> PathBuf {
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(target.file_name().unwrap_or_default());
    hidden.push(".partial");
    target.with_file_name(hidden)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Open the live file for appending; if it ends in a partial line, end that line first.
fn open_live(path: &Path) -> io::Result<(File, u64)> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut size = file.metadata()?.len();
    if size > 0 {
        let mut last = [0_u8; 1];
        file.seek(SeekFrom::Start(size - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
            size += 1;
        }
    }
    Ok((file, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names_are_hidden() {
        let p = partial_name(Path::new("/tmp/x/plant.hst.1.gz"));
        assert_eq!(p, Path::new("/tmp/x/.plant.hst.1.gz.partial"));
        assert_eq!(
            numbered(Path::new("a/b.hst"), 3, Compression::Xz),
            Path::new("a/b.hst.3.xz")
        );
    }
}
