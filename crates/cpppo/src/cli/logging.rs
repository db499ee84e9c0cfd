//! Logging shared by every tool: `-v` levels on stderr, or a size-rotated log file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Size at which a log file is rotated.
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;
/// How many rotated files are kept (`FILE.1` .. `FILE.5`).
pub const ROTATE_KEEP: usize = 5;

/// Map cpppo's `-v` count onto a tracing level: warnings by default, `-v` info, `-vv` debug,
/// `-vvv` and more trace. `RUST_LOG`, when set, wins.
pub fn filter(verbose: u8) -> EnvFilter {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
}

/// Install the global subscriber. With `log`, records go to that file (rotated at 10 MB,
/// 5 kept); otherwise to stderr. Calling it twice is harmless.
pub fn init(verbose: u8, log: Option<&Path>) -> io::Result<()> {
    let builder = tracing_subscriber::fmt().with_env_filter(filter(verbose));
    match log {
        Some(path) => {
            let writer = RotatingFile::open(path, ROTATE_BYTES, ROTATE_KEEP)?;
            let _ = builder.with_ansi(false).with_writer(writer).try_init();
        }
        None => {
            // Colours only on a terminal: a pipe or file gets plain text.
            use std::io::IsTerminal;
            let ansi = io::stderr().is_terminal();
            let _ = builder.with_ansi(ansi).with_writer(io::stderr).try_init();
        }
    }
    Ok(())
}

/// A log file that renames itself to `FILE.1` (shifting older ones up to `FILE.<keep>`) when it
/// grows past a size limit.
#[derive(Clone, Debug)]
pub struct RotatingFile {
    inner: Arc<Mutex<Rotating>>,
}

#[derive(Debug)]
struct Rotating {
    path: PathBuf,
    file: File,
    written: u64,
    limit: u64,
    keep: usize,
}

impl RotatingFile {
    /// Open (append to) `path`, rotating at `limit` bytes and keeping `keep` old files.
    pub fn open(path: &Path, limit: u64, keep: usize) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        let inner = Rotating {
            path: path.to_path_buf(),
            file,
            written,
            limit,
            keep,
        };
        Ok(Self {
            inner: Arc::new(Mutex::new(inner)),
        })
    }
}

impl Rotating {
    fn numbered(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        for n in (1..self.keep).rev() {
            let from = self.numbered(n);
            if from.exists() {
                fs::rename(&from, self.numbered(n + 1))?;
            }
        }
        if self.keep > 0 {
            fs::rename(&self.path, self.numbered(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl RotatingFile {
    /// Append one whole record, rotating first if it would push the file past its limit.
    /// A record is never split across two files.
    pub fn write_record(&self, record: &[u8]) -> io::Result<()> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("log file lock poisoned"))?;
        if inner.written > 0 && inner.written + record.len() as u64 > inner.limit {
            inner.rotate()?;
        }
        inner.file.write_all(record)?;
        inner.written += record.len() as u64;
        Ok(())
    }
}

/// One log record being formatted; it reaches the file whole when dropped.
#[derive(Debug)]
pub struct Record {
    file: RotatingFile,
    buf: Vec<u8>,
}

impl Write for Record {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            // A log line that cannot be written has nowhere better to be reported.
            let _ = self.file.write_record(&self.buf);
        }
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = Record;

    fn make_writer(&'a self) -> Self::Writer {
        Record {
            file: self.clone(),
            buf: Vec::with_capacity(256),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_limit_and_keeps_n_files() {
        let dir = std::env::temp_dir().join(format!("cpppo-log-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("server.log");
        let log = RotatingFile::open(&path, 100, 2).unwrap();
        for i in 0..10 {
            let mut record = log.make_writer();
            writeln!(record, "{i:040}").unwrap(); // 41 bytes a line: two lines a file
        }
        assert!(path.exists());
        assert!(dir.join("server.log.1").exists());
        assert!(dir.join("server.log.2").exists());
        assert!(
            !dir.join("server.log.3").exists(),
            "only `keep` old files remain"
        );
        let current = fs::read_to_string(&path).unwrap();
        assert!(current.len() <= 100);
        assert!(current.ends_with(&format!("{:040}\n", 9)));
        fs::remove_dir_all(&dir).unwrap();
    }
}
