//! Transparent compression chosen by file name: `.gz`, `.bz2`, `.xz`, anything else plain.
//!
//! All three codecs are pure Rust (flate2 with miniz_oxide, bzip2 with libbz2-rs-sys,
//! lzma-rust2), so nothing needs a C compiler or a system library. Readers accept
//! concatenated members/streams, as `cat a.gz b.gz` produces.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// A compression format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// Plain text.
    #[default]
    None,
    /// gzip (`.gz`).
    Gzip,
    /// bzip2 (`.bz2`).
    Bzip2,
    /// xz (`.xz`).
    Xz,
}

const BUF: usize = 64 * 1024;

impl Compression {
    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("bz2") => Compression::Bzip2,
            Some("xz") => Compression::Xz,
            _ => Compression::None,
        }
    }

    /// The extension with its dot (`".gz"`), or `""` for plain.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Bzip2 => ".bz2",
            Compression::Xz => ".xz",
        }
    }

    /// Parse `none`, `gz`/`gzip`, `bz2`/`bzip2`, `xz`.
    pub fn from_name(name: &str) -> Option<Compression> {
        match name {
            "none" | "" => Some(Compression::None),
            "gz" | "gzip" => Some(Compression::Gzip),
            "bz2" | "bzip2" => Some(Compression::Bzip2),
            "xz" => Some(Compression::Xz),
            _ => None,
        }
    }
}

/// Open `path` for reading, decompressing according to its extension.
pub fn open_read(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    Ok(match Compression::from_path(path) {
        Compression::None => Box::new(BufReader::with_capacity(BUF, file)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUF,
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(BUF, file)),
        )),
        Compression::Bzip2 => Box::new(BufReader::with_capacity(
            BUF,
            bzip2::read::MultiBzDecoder::new(BufReader::with_capacity(BUF, file)),
        )),
        Compression::Xz => Box::new(BufReader::with_capacity(
            BUF,
            lzma_rust2::XzReader::new(BufReader::with_capacity(BUF, file), true),
        )),
    })
}

/// A writer that compresses; call [`CompressedWriter::finish`] to complete the file.
pub struct CompressedWriter {
    inner: Inner,
}

/// Each encoder is fed through a buffer: encoders are slow with many small writes.
enum Inner {
    Plain(BufWriter<File>),
    Gzip(BufWriter<flate2::write::GzEncoder<File>>),
    Bzip2(BufWriter<bzip2::write::BzEncoder<File>>),
    Xz(BufWriter<lzma_rust2::XzWriter<File>>),
}

impl CompressedWriter {
    /// Create (truncate) `path`, compressing with `compression` at its usual default level
    /// (gzip 6, bzip2 9, xz 6).
    pub fn create(path: &Path, compression: Compression) -> io::Result<CompressedWriter> {
        let level = match compression {
            Compression::Bzip2 => 9,
            _ => 6,
        };
        CompressedWriter::create_with_level(path, compression, level)
    }

    /// Create (truncate) `path`, compressing with `compression` at `level` (gzip 0-9,
    /// bzip2 1-9, xz 0-9; clamped). Lower is faster: gzip 1 writes several times faster than
    /// 6, in files about 1.5 times larger.
    pub fn create_with_level(
        path: &Path,
        compression: Compression,
        level: u32,
    ) -> io::Result<CompressedWriter> {
        let file = File::create(path)?;
        let buffered = |w| BufWriter::with_capacity(BUF, w);
        let inner = match compression {
            Compression::None => Inner::Plain(BufWriter::with_capacity(BUF, file)),
            Compression::Gzip => Inner::Gzip(buffered(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::new(level.min(9)),
            ))),
            Compression::Bzip2 => Inner::Bzip2(BufWriter::with_capacity(
                BUF,
                bzip2::write::BzEncoder::new(file, bzip2::Compression::new(level.clamp(1, 9))),
            )),
            Compression::Xz => Inner::Xz(BufWriter::with_capacity(
                BUF,
                lzma_rust2::XzWriter::new(file, lzma_rust2::XzOptions::with_preset(level.min(9)))?,
            )),
        };
        Ok(CompressedWriter { inner })
    }

    /// Create `path`, compressing according to its extension.
    pub fn create_by_name(path: &Path) -> io::Result<CompressedWriter> {
        CompressedWriter::create(path, Compression::from_path(path))
    }

    /// Write the compressed stream's end and flush everything to the file.
    pub fn finish(self) -> io::Result<()> {
        match self.inner {
            Inner::Plain(mut f) => f.flush(),
            Inner::Gzip(e) => e
                .into_inner()
                .map_err(|e| e.into_error())?
                .finish()
                .map(drop),
            Inner::Bzip2(e) => e
                .into_inner()
                .map_err(|e| e.into_error())?
                .finish()
                .map(drop),
            Inner::Xz(e) => e
                .into_inner()
                .map_err(|e| e.into_error())?
                .finish()
                .map(drop),
        }
    }
}

impl Write for CompressedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(w) => w.write(buf),
            Inner::Gzip(w) => w.write(buf),
            Inner::Bzip2(w) => w.write(buf),
            Inner::Xz(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(w) => w.flush(),
            Inner::Gzip(w) => w.flush(),
            Inner::Bzip2(w) => w.flush(),
            Inner::Xz(w) => w.flush(),
        }
    }
}

/// Compress the file `from` into `to` with `compression`, finishing it completely before
/// returning. `from` is left in place.
pub fn compress_file(from: &Path, to: &Path, compression: Compression) -> io::Result<()> {
    let mut input = BufReader::with_capacity(BUF, File::open(from)?);
    let mut output = CompressedWriter::create(to, compression)?;
    io::copy(&mut input, &mut output)?;
    output.finish()
}
