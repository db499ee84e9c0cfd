//! Minimal byte reading/writing and the few wire structures the simulator needs.
//!
//! TODO: use cpppo_cip::{encap, cpf, epath, mr} once the codec crate lands; this module is a
//! stopgap so the simulator could be built in parallel with it.

use cpppo_cip::DataType;

/// Encapsulation header length.
pub const HEADER_LEN: usize = 24;

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

/// An encapsulation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Command code.
    pub command: u16,
    /// Length of the body that follows.
    pub length: u16,
    /// Session handle.
    pub session: u32,
    /// Status.
    pub status: u32,
    /// Sender context, echoed in replies.
    pub context: [u8; 8],
    /// Options.
    pub options: u32,
}

impl Header {
    /// Parse the first 24 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Option<Header> {
        let mut r = Reader::new(buf);
        Some(Header {
            command: r.u16()?,
            length: r.u16()?,
            session: r.u32()?,
            status: r.u32()?,
            context: r.take(8)?.try_into().ok()?,
            options: r.u32()?,
        })
    }

    /// A reply frame to this request: same command and context, with `session`, `status` and
    /// `body`. Bodies longer than 65,535 bytes are never produced by the simulator.
    pub fn reply(&self, session: u32, status: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.put_u16(self.command);
        out.put_u16(u16::try_from(body.len()).unwrap_or(u16::MAX));
        out.put_u32(session);
        out.put_u32(status);
        out.extend_from_slice(&self.context);
        out.put_u32(0);
        out.extend_from_slice(body);
        out
    }
}

/// Parse a Common Packet Format item list: `(type, data)` pairs.
pub fn parse_cpf(buf: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let mut r = Reader::new(buf);
    let count = r.u16()?;
    let mut items = Vec::with_capacity(usize::from(count).min(8));
    for _ in 0..count {
        let kind = r.u16()?;
        let len = r.u16()?;
        items.push((kind, r.take(usize::from(len))?));
    }
    Some(items)
}

/// Append a CPF item list.
pub fn put_cpf(out: &mut Vec<u8>, items: &[(u16, &[u8])]) {
    out.put_u16(items.len() as u16);
    for (kind, data) in items {
        out.put_u16(*kind);
        out.put_u16(u16::try_from(data.len()).unwrap_or(u16::MAX));
        out.extend_from_slice(data);
    }
}

/// One EPATH segment the simulator understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Port segment: port number and link address bytes.
    Port(u16, Vec<u8>),
    /// Logical class.
    Class(u32),
    /// Logical instance.
    Instance(u32),
    /// Logical attribute.
    Attribute(u32),
    /// Logical element (array index).
    Element(u32),
    /// Logical connection point.
    ConnectionPoint(u32),
    /// ANSI extended symbolic segment (a tag name).
    Symbol(String),
}

/// Parse a padded EPATH.
pub fn parse_path(buf: &[u8]) -> Option<Vec<Segment>> {
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let kind = r.u8()?;
        let seg = match kind {
            0x91 => {
                let len = usize::from(r.u8()?);
                let name = r.take(len)?;
                if len % 2 == 1 {
                    r.take(1)?;
                }
                Segment::Symbol(String::from_utf8_lossy(name).into_owned())
            }
            0x20..=0x3F => {
                let value = match kind & 0x03 {
                    0 => u32::from(r.u8()?),
                    1 => {
                        r.u8()?;
                        u32::from(r.u16()?)
                    }
                    2 => {
                        r.u8()?;
                        r.u32()?
                    }
                    _ => return None,
                };
                match (kind >> 2) & 0x07 {
                    0 => Segment::Class(value),
                    1 => Segment::Instance(value),
                    2 => Segment::Element(value),
                    3 => Segment::ConnectionPoint(value),
                    4 => Segment::Attribute(value),
                    _ => return None,
                }
            }
            0x00..=0x1F => {
                let extended_link = kind & 0x10 != 0;
                let mut port = u16::from(kind & 0x0F);
                let link_len = if extended_link {
                    usize::from(r.u8()?)
                } else {
                    1
                };
                if port == 0x0F {
                    port = r.u16()?;
                }
                let link = r.take(link_len)?.to_vec();
                if extended_link && link_len % 2 == 1 {
                    r.take(1)?;
                }
                Segment::Port(port, link)
            }
            _ => return None,
        };
        out.push(seg);
    }
    Some(out)
}

/// A Message Router request: service, path and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// Service code.
    pub service: u8,
    /// The raw request path bytes.
    pub path: &'a [u8],
    /// Request data.
    pub data: &'a [u8],
}

impl<'a> Request<'a> {
    /// Parse a Message Router request.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(buf);
        let service = r.u8()?;
        let words = usize::from(r.u8()?);
        let path = r.take(words * 2)?;
        Some(Self {
            service,
            path,
            data: r.rest(),
        })
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

/// General status codes (CIP Vol 1, Appendix B).
pub mod status {
    /// Success.
    pub const SUCCESS: u8 = 0x00;
    /// Connection failure.
    pub const CONNECTION_FAILURE: u8 = 0x01;
    /// Path segment error.
    pub const PATH_SEGMENT: u8 = 0x04;
    /// Path destination unknown.
    pub const PATH_UNKNOWN: u8 = 0x05;
    /// Partial transfer: more data follows.
    pub const PARTIAL: u8 = 0x06;
    /// Service not supported.
    pub const SERVICE_NOT_SUPPORTED: u8 = 0x08;
    /// Invalid attribute value.
    pub const INVALID_VALUE: u8 = 0x09;
    /// Attribute not settable.
    pub const NOT_SETTABLE: u8 = 0x0E;
    /// Not enough data.
    pub const NOT_ENOUGH_DATA: u8 = 0x13;
    /// Attribute not supported.
    pub const ATTRIBUTE_NOT_SUPPORTED: u8 = 0x14;
    /// Too much data.
    pub const TOO_MUCH_DATA: u8 = 0x15;
    /// Object does not exist.
    pub const OBJECT_DOES_NOT_EXIST: u8 = 0x16;
    /// Embedded service error (Multiple Service Packet).
    pub const EMBEDDED_ERROR: u8 = 0x1E;
    /// General error, with a vendor-specific extended status.
    pub const GENERAL: u8 = 0xFF;
    /// Extended status: index/range out of bounds (Logix).
    pub const EXT_OUT_OF_RANGE: u16 = 0x2105;
    /// Extended status: data type mismatch (Logix).
    pub const EXT_TYPE_MISMATCH: u16 = 0x2107;
}

/// Append a Message Router reply header.
pub fn put_reply_header(out: &mut Vec<u8>, service: u8, st: &Status) {
    out.put_u8(service | 0x80);
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

/// The wire type code as written in Read/Write Tag data.
pub fn type_code(t: DataType) -> u16 {
    t.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse() {
        let p = parse_path(&[0x91, 0x05, b'S', b'C', b'A', b'D', b'A', 0, 0x28, 0x01]).unwrap();
        assert_eq!(
            p,
            vec![Segment::Symbol("SCADA".into()), Segment::Element(1)]
        );
        let p = parse_path(&[0x20, 0x06, 0x24, 0x01, 0x01, 0x00, 0x25, 0x00, 0x34, 0x12]).unwrap();
        assert_eq!(
            p,
            vec![
                Segment::Class(6),
                Segment::Instance(1),
                Segment::Port(1, vec![0]),
                Segment::Instance(0x1234)
            ]
        );
        assert_eq!(parse_path(&[0x91, 0x09, b'a']), None);
        assert_eq!(parse_path(&[0x23, 0x00]), None);
    }
}
