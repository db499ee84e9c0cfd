//! Small helpers the runtime uses next to the codec (`cpppo_cip`): a bounds-checked
//! little-endian reader for service data, appending integers, and a CIP status value with the
//! Message Router reply header it produces.

/// A little-endian reader over a byte slice; every accessor returns `None` past the end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Read from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2)?.try_into().ok().map(u16::from_le_bytes)
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }
}

/// Append little-endian integers to a byte vector.
pub trait Put {
    /// Append one byte.
    fn put_u8(&mut self, v: u8);
    /// Append a little-endian u16.
    fn put_u16(&mut self, v: u16);
    /// Append a little-endian u32.
    fn put_u32(&mut self, v: u32);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
}

/// A CIP general status with its extended status words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// General status.
    pub general: u8,
    /// Extended status words.
    pub extended: Vec<u16>,
}

impl Status {
    /// A general status without extended words.
    pub fn new(general: u8) -> Self {
        Self {
            general,
            extended: Vec::new(),
        }
    }

    /// A general status with one extended word.
    pub fn ext(general: u8, word: u16) -> Self {
        Self {
            general,
            extended: vec![word],
        }
    }
}

pub use cpppo_cip::mr::status;

/// Append a Message Router reply header.
pub fn put_reply_header(out: &mut Vec<u8>, service: u8, st: &Status) {
    out.put_u8(service | cpppo_cip::mr::REPLY_BIT);
    out.put_u8(0);
    out.put_u8(st.general);
    out.put_u8(st.extended.len() as u8);
    for w in &st.extended {
        out.put_u16(*w);
    }
}

/// A reply without data.
pub fn reply(service: u8, st: &Status) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 2 * st.extended.len());
    put_reply_header(&mut out, service, st);
    out
}
