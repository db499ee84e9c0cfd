//! EPATH: the encoded paths that address CIP objects, tags and routes.
//!
//! An EPATH is a sequence of segments. Message Router requests, Unconnected Send route paths
//! and Forward Open connection paths use the *padded* form (16 and 32-bit logical values and
//! odd-length symbols carry a pad byte so that everything stays word aligned); a few places use
//! the *packed* form without pad bytes.
//!
//! [`EPath`] is either a validated byte slice borrowed from a received frame (so parsing and
//! re-emitting copies bytes exactly and allocates nothing) or a borrowed slice of [`Segment`]s
//! built by the caller. Both iterate the same segments and emit the same way.
//!
//! ```
//! use cpppo_cip::epath::{EPath, Padding, Segment};
//! // SCADA[1]: ANSI extended symbolic "SCADA" (odd length: one pad byte) then element 1.
//! let wire = [0x91, 0x05, b'S', b'C', b'A', b'D', b'A', 0x00, 0x28, 0x01];
//! let path = EPath::parse(&wire, Padding::Padded).unwrap();
//! let segs: Vec<Segment> = path.segments().collect();
//! assert_eq!(segs, [Segment::Symbolic(b"SCADA"), Segment::element(1)]);
//! let built = [Segment::Symbolic(b"SCADA"), Segment::element(1)];
//! assert_eq!(EPath::from_segments(&built, Padding::Padded), path);
//! ```

use crate::cursor::{Reader, Writer};
use crate::error::{Error, Result};

/// Whether 16/32-bit logical values and odd-length symbols carry a pad byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Padded EPATH (Message Router request paths, route and connection paths).
    Padded,
    /// Packed EPATH (no pad bytes).
    Packed,
}

/// The type of a logical segment (bits 2..4 of the segment byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalKind {
    /// Class ID (`0x20`).
    Class,
    /// Instance ID (`0x24`).
    Instance,
    /// Member ID (`0x28`); Logix uses it as the array element index.
    Element,
    /// Connection point (`0x2C`).
    ConnectionPoint,
    /// Attribute ID (`0x30`).
    Attribute,
    /// Service ID (`0x38`, 8-bit only).
    Service,
}

impl LogicalKind {
    fn bits(self) -> u8 {
        match self {
            LogicalKind::Class => 0x00,
            LogicalKind::Instance => 0x04,
            LogicalKind::Element => 0x08,
            LogicalKind::ConnectionPoint => 0x0C,
            LogicalKind::Attribute => 0x10,
            LogicalKind::Service => 0x18,
        }
    }

    fn from_bits(bits: u8) -> Option<LogicalKind> {
        Some(match bits & 0x1C {
            0x00 => LogicalKind::Class,
            0x04 => LogicalKind::Instance,
            0x08 => LogicalKind::Element,
            0x0C => LogicalKind::ConnectionPoint,
            0x10 => LogicalKind::Attribute,
            0x18 => LogicalKind::Service,
            _ => return None,
        })
    }
}

/// The size of a logical segment's value (bits 0..1 of the segment byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// One byte.
    U8,
    /// Two bytes (preceded by a pad byte in the padded form).
    U16,
    /// Four bytes (preceded by a pad byte in the padded form).
    U32,
}

impl Width {
    /// The narrowest width that holds `value`.
    pub fn fitting(value: u32) -> Width {
        if value <= 0xFF {
            Width::U8
        } else if value <= 0xFFFF {
            Width::U16
        } else {
            Width::U32
        }
    }

    fn bytes(self) -> usize {
        match self {
            Width::U8 => 1,
            Width::U16 => 2,
            Width::U32 => 4,
        }
    }
}

/// An electronic key segment (`0x34`, key format 4): the device identity a connection expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElectronicKey {
    /// Vendor ID.
    pub vendor: u16,
    /// Device type.
    pub device_type: u16,
    /// Product code.
    pub product_code: u16,
    /// Major revision; bit 7 is the compatibility flag.
    pub major: u8,
    /// Minor revision.
    pub minor: u8,
}

/// One EPATH segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment<'a> {
    /// Port segment: leave through `port` to the node at `link` (a one-byte address, or a longer
    /// one such as the IP-address text `b"192.168.1.2"`). Ports 15 and above use the escape form.
    Port {
        /// Port number (1 is the backplane on a Logix chassis).
        port: u16,
        /// Link address (slot number, node address, or address text).
        link: &'a [u8],
    },
    /// A logical segment: class, instance, element, connection point, attribute or service.
    Logical {
        /// Which logical type.
        kind: LogicalKind,
        /// Its value.
        value: u32,
        /// How wide it is encoded.
        width: Width,
    },
    /// Electronic key (`0x34`).
    Key(ElectronicKey),
    /// ANSI extended symbolic segment (`0x91`): a tag or member name.
    Symbolic(&'a [u8]),
    /// Simple data segment (`0x80`): a whole number of 16-bit words, as raw bytes.
    Data(&'a [u8]),
}

const SYMBOLIC: u8 = 0x91;
const DATA: u8 = 0x80;
const KEY: u8 = 0x34;
const KEY_FORMAT: u8 = 0x04;

impl<'a> Segment<'a> {
    fn logical(kind: LogicalKind, value: u32) -> Segment<'a> {
        Segment::Logical {
            kind,
            value,
            width: Width::fitting(value),
        }
    }

    /// Class ID segment, narrowest encoding.
    pub fn class(value: u32) -> Segment<'a> {
        Self::logical(LogicalKind::Class, value)
    }

    /// Instance ID segment, narrowest encoding.
    pub fn instance(value: u32) -> Segment<'a> {
        Self::logical(LogicalKind::Instance, value)
    }

    /// Attribute ID segment, narrowest encoding.
    pub fn attribute(value: u32) -> Segment<'a> {
        Self::logical(LogicalKind::Attribute, value)
    }

    /// Element (member ID) segment, narrowest encoding.
    pub fn element(value: u32) -> Segment<'a> {
        Self::logical(LogicalKind::Element, value)
    }

    /// Member ID segment (the CIP name of [`LogicalKind::Element`]), narrowest encoding.
    pub fn member(value: u32) -> Segment<'a> {
        Self::logical(LogicalKind::Element, value)
    }

    /// Connection point segment, narrowest encoding.
    pub fn connection_point(value: u32) -> Segment<'a> {
        Self::logical(LogicalKind::ConnectionPoint, value)
    }

    /// The value of a logical segment of `kind`, if this is one.
    pub fn logical_value(&self, want: LogicalKind) -> Option<u32> {
        match *self {
            Segment::Logical { kind, value, .. } if kind == want => Some(value),
            _ => None,
        }
    }

    /// Decodes one segment from the start of `buf`; returns it and its encoded length.
    pub fn parse(buf: &'a [u8], padding: Padding) -> Result<(Segment<'a>, usize)> {
        let mut r = Reader::new(buf);
        let seg = parse_segment(&mut r, padding)?;
        Ok((seg, r.pos()))
    }

    /// Bytes this segment occupies when emitted.
    pub fn buffer_len(&self, padding: Padding) -> usize {
        let pad = |n: usize| match padding {
            Padding::Padded => n % 2,
            Padding::Packed => 0,
        };
        match *self {
            Segment::Port { port, link } => {
                let n = 1 + usize::from(link.len() != 1) + if port >= 15 { 2 } else { 0 };
                let n = n + link.len();
                n + n % 2 * usize::from(link.len() != 1)
            }
            Segment::Logical { width, .. } => {
                1 + width.bytes() + if width == Width::U8 { 0 } else { pad(1) }
            }
            Segment::Key(_) => 10,
            Segment::Symbolic(name) => 2 + name.len() + pad(name.len()),
            Segment::Data(data) => 2 + data.len(),
        }
    }

    /// Writes this segment to the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8], padding: Padding) -> Result<usize> {
        let mut w = Writer::new(buf);
        let padded = padding == Padding::Padded;
        match *self {
            Segment::Port { port, link } => emit_port(&mut w, port, link)?,
            Segment::Logical { kind, value, width } => {
                if kind == LogicalKind::Service && width != Width::U8 {
                    return Err(Error::Unsupported {
                        what: "service ID segment width",
                        value,
                    });
                }
                let format = match width {
                    Width::U8 => 0,
                    Width::U16 => 1,
                    Width::U32 => 2,
                };
                w.u8(0x20 | kind.bits() | format)?;
                if width != Width::U8 && padded {
                    w.u8(0)?;
                }
                match width {
                    Width::U8 => w.u8(narrow(value)?)?,
                    Width::U16 => w.u16(narrow(value)?)?,
                    Width::U32 => w.u32(value)?,
                }
            }
            Segment::Key(key) => {
                w.u8(KEY)?;
                w.u8(KEY_FORMAT)?;
                w.u16(key.vendor)?;
                w.u16(key.device_type)?;
                w.u16(key.product_code)?;
                w.u8(key.major)?;
                w.u8(key.minor)?;
            }
            Segment::Symbolic(name) => {
                w.u8(SYMBOLIC)?;
                w.u8(length_u8("symbol", name.len())?)?;
                w.bytes(name)?;
                if padded && name.len() % 2 == 1 {
                    w.u8(0)?;
                }
            }
            Segment::Data(data) => {
                if data.len() % 2 == 1 {
                    return Err(Error::Malformed("data segment of odd length"));
                }
                w.u8(DATA)?;
                w.u8(length_u8("data segment", data.len() / 2)?)?;
                w.bytes(data)?;
            }
        }
        Ok(w.pos())
    }
}

fn narrow<T: TryFrom<u32>>(value: u32) -> Result<T> {
    T::try_from(value).map_err(|_| Error::Unsupported {
        what: "logical value wider than its segment",
        value,
    })
}

fn length_u8(what: &'static str, len: usize) -> Result<u8> {
    u8::try_from(len).map_err(|_| Error::TooLong {
        what,
        len,
        limit: 255,
    })
}

fn emit_port(w: &mut Writer<'_>, port: u16, link: &[u8]) -> Result<()> {
    let extended_link = link.len() != 1;
    let id = if port >= 15 { 15 } else { port as u8 };
    w.u8(id | if extended_link { 0x10 } else { 0 })?;
    if extended_link {
        w.u8(length_u8("link address", link.len())?)?;
    }
    if port >= 15 {
        w.u16(port)?;
    }
    w.bytes(link)?;
    if extended_link && w.pos() % 2 == 1 {
        w.u8(0)?;
    }
    Ok(())
}

/// The common case, decoded without the general parser: an 8-bit logical segment (class,
/// instance, element, connection point, attribute) at the start of `bytes`, two bytes in
/// either padding. `None` for anything else.
#[inline]
fn logical_u8(bytes: &[u8]) -> Option<Segment<'static>> {
    match *bytes {
        [kind @ (0x20 | 0x24 | 0x28 | 0x2C | 0x30), value, ..] => Some(Segment::Logical {
            kind: LogicalKind::from_bits(kind)?,
            value: value.into(),
            width: Width::U8,
        }),
        _ => None,
    }
}

fn parse_segment<'a>(r: &mut Reader<'a>, padding: Padding) -> Result<Segment<'a>> {
    let start = r.pos();
    let padded = padding == Padding::Padded;
    let kind = r.u8()?;
    match kind {
        0x00..=0x1F => {
            let extended_link = kind & 0x10 != 0;
            let link_len = if extended_link {
                usize::from(r.u8()?)
            } else {
                1
            };
            let port = match kind & 0x0F {
                15 => r.u16()?,
                p => u16::from(p),
            };
            let link = r.take(link_len)?;
            if extended_link && (r.pos() - start) % 2 == 1 {
                r.u8()?;
            }
            Ok(Segment::Port { port, link })
        }
        KEY => {
            let format = r.u8()?;
            if format != KEY_FORMAT {
                return Err(Error::Unsupported {
                    what: "electronic key format",
                    value: format.into(),
                });
            }
            Ok(Segment::Key(ElectronicKey {
                vendor: r.u16()?,
                device_type: r.u16()?,
                product_code: r.u16()?,
                major: r.u8()?,
                minor: r.u8()?,
            }))
        }
        0x20..=0x3F => {
            let logical = LogicalKind::from_bits(kind).ok_or(Error::Unsupported {
                what: "logical segment type",
                value: kind.into(),
            })?;
            let width = match kind & 0x03 {
                0 => Width::U8,
                1 => Width::U16,
                2 => Width::U32,
                _ => {
                    return Err(Error::Unsupported {
                        what: "logical segment format",
                        value: kind.into(),
                    })
                }
            };
            if logical == LogicalKind::Service && width != Width::U8 {
                return Err(Error::Unsupported {
                    what: "service ID segment format",
                    value: kind.into(),
                });
            }
            if width != Width::U8 && padded {
                r.u8()?;
            }
            let value = match width {
                Width::U8 => r.u8()?.into(),
                Width::U16 => r.u16()?.into(),
                Width::U32 => r.u32()?,
            };
            Ok(Segment::Logical {
                kind: logical,
                value,
                width,
            })
        }
        SYMBOLIC => {
            let len = usize::from(r.u8()?);
            let name = r.take(len)?;
            if padded && len % 2 == 1 {
                r.u8()?;
            }
            Ok(Segment::Symbolic(name))
        }
        DATA => {
            let words = usize::from(r.u8()?);
            Ok(Segment::Data(r.take(words * 2)?))
        }
        other => Err(Error::Unsupported {
            what: "EPATH segment type",
            value: other.into(),
        }),
    }
}

#[derive(Debug, Clone, Copy)]
enum Inner<'a> {
    Raw(&'a [u8]),
    Segments(&'a [Segment<'a>]),
}

/// An EPATH: validated wire bytes or a caller-built list of segments.
#[derive(Debug, Clone, Copy)]
pub struct EPath<'a> {
    inner: Inner<'a>,
    padding: Padding,
    /// The first class ID, found while validating (it picks the service decoder).
    class: Option<u32>,
}

impl<'a> EPath<'a> {
    /// The empty path.
    pub const EMPTY: EPath<'static> = EPath {
        inner: Inner::Raw(&[]),
        padding: Padding::Padded,
        class: None,
    };

    /// Validates `bytes` as a sequence of whole segments and borrows them.
    pub fn parse(bytes: &'a [u8], padding: Padding) -> Result<EPath<'a>> {
        let mut r = Reader::new(bytes);
        let mut class = None;
        while !r.rest().is_empty() {
            let seg = match logical_u8(r.rest()) {
                Some(seg) => {
                    r.take(2)?;
                    seg
                }
                None => parse_segment(&mut r, padding)?,
            };
            class = class.or(seg.logical_value(LogicalKind::Class));
        }
        Ok(EPath {
            inner: Inner::Raw(bytes),
            padding,
            class,
        })
    }

    /// A path made of `segments`.
    pub fn from_segments(segments: &'a [Segment<'a>], padding: Padding) -> EPath<'a> {
        EPath {
            inner: Inner::Segments(segments),
            padding,
            class: segments
                .iter()
                .find_map(|s| s.logical_value(LogicalKind::Class)),
        }
    }

    /// Padded or packed.
    pub fn padding(&self) -> Padding {
        self.padding
    }

    /// The segments, in order.
    pub fn segments(&self) -> Segments<'a> {
        Segments {
            inner: self.inner,
            padding: self.padding,
            pos: 0,
        }
    }

    /// True if the path has no segments.
    pub fn is_empty(&self) -> bool {
        match self.inner {
            Inner::Raw(b) => b.is_empty(),
            Inner::Segments(s) => s.is_empty(),
        }
    }

    /// The wire bytes, when this path was parsed from them.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.inner {
            Inner::Raw(b) => Some(b),
            Inner::Segments(_) => None,
        }
    }

    /// Bytes this path occupies when emitted.
    pub fn buffer_len(&self) -> usize {
        match self.inner {
            Inner::Raw(b) => b.len(),
            Inner::Segments(s) => s.iter().map(|seg| seg.buffer_len(self.padding)).sum(),
        }
    }

    /// Writes the path to the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        match self.inner {
            Inner::Raw(b) => w.bytes(b)?,
            Inner::Segments(segs) => {
                for seg in segs {
                    w.nested(|tail| seg.emit(tail, self.padding))?;
                }
            }
        }
        Ok(w.pos())
    }

    /// The length in 16-bit words, as Message Router and route paths count it.
    pub fn word_len(&self) -> Result<u8> {
        let len = self.buffer_len();
        if len % 2 == 1 {
            return Err(Error::Malformed("EPATH of odd length"));
        }
        u8::try_from(len / 2).map_err(|_| Error::TooLong {
            what: "EPATH words",
            len: len / 2,
            limit: 255,
        })
    }

    fn first(&self, kind: LogicalKind) -> Option<u32> {
        self.segments().find_map(|s| s.logical_value(kind))
    }

    /// The first class ID in the path (the object class the request addresses).
    pub fn class(&self) -> Option<u32> {
        self.class
    }

    /// The first instance ID in the path.
    pub fn instance(&self) -> Option<u32> {
        self.first(LogicalKind::Instance)
    }

    /// The first attribute ID in the path.
    pub fn attribute(&self) -> Option<u32> {
        self.first(LogicalKind::Attribute)
    }

    /// The first element (member ID) in the path.
    pub fn element(&self) -> Option<u32> {
        self.first(LogicalKind::Element)
    }

    /// The first symbolic name in the path (the tag name of a Logix request).
    pub fn symbol(&self) -> Option<&'a [u8]> {
        self.segments().find_map(|s| match s {
            Segment::Symbolic(name) => Some(name),
            _ => None,
        })
    }
}

impl PartialEq for EPath<'_> {
    fn eq(&self, other: &EPath<'_>) -> bool {
        self.padding == other.padding && self.segments().eq(other.segments())
    }
}

impl Eq for EPath<'_> {}

/// Iterator over the segments of an [`EPath`].
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    inner: Inner<'a>,
    padding: Padding,
    pos: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        match self.inner {
            Inner::Raw(bytes) => {
                let rest = bytes.get(self.pos..).filter(|r| !r.is_empty())?;
                if let Some(seg) = logical_u8(rest) {
                    self.pos += 2;
                    return Some(seg);
                }
                // The bytes were validated when the path was parsed.
                let (seg, n) = Segment::parse(rest, self.padding).ok()?;
                self.pos += n;
                Some(seg)
            }
            Inner::Segments(segs) => {
                let seg = segs.get(self.pos)?;
                self.pos += 1;
                Some(*seg)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(seg: Segment<'_>, padding: Padding, wire: &[u8]) {
        let mut buf = [0u8; 64];
        let n = seg.emit(&mut buf, padding).unwrap();
        assert_eq!(&buf[..n], wire, "{seg:?}");
        assert_eq!(seg.buffer_len(padding), n);
        assert_eq!(Segment::parse(wire, padding).unwrap(), (seg, n));
    }

    #[test]
    fn logical_segments_in_every_width() {
        use Padding::*;
        round(Segment::class(0x02), Padded, &[0x20, 0x02]);
        round(Segment::instance(0x0102), Padded, &[0x25, 0x00, 0x02, 0x01]);
        round(Segment::instance(0x0102), Packed, &[0x25, 0x02, 0x01]);
        round(
            Segment::element(0x0102_0304),
            Padded,
            &[0x2A, 0x00, 0x04, 0x03, 0x02, 0x01],
        );
        round(Segment::element(0x0102_0304), Packed, &[0x2A, 4, 3, 2, 1]);
        round(Segment::attribute(7), Padded, &[0x30, 0x07]);
        round(Segment::connection_point(0x66), Padded, &[0x2C, 0x66]);
    }

    #[test]
    fn symbols_and_data() {
        round(
            Segment::Symbolic(b"SCADA"),
            Padding::Padded,
            b"\x91\x05SCADA\x00",
        );
        round(
            Segment::Symbolic(b"SCADA"),
            Padding::Packed,
            b"\x91\x05SCADA",
        );
        round(Segment::Symbolic(b"TEXT"), Padding::Padded, b"\x91\x04TEXT");
        round(
            Segment::Data(&[1, 2, 3, 4]),
            Padding::Padded,
            &[0x80, 2, 1, 2, 3, 4],
        );
    }

    #[test]
    fn port_segments() {
        let p = Padding::Padded;
        round(
            Segment::Port {
                port: 1,
                link: &[0],
            },
            p,
            &[0x01, 0x00],
        );
        round(
            Segment::Port {
                port: 2,
                link: b"192.168.1.2",
            },
            p,
            b"\x12\x0b192.168.1.2\x00",
        );
        round(
            Segment::Port {
                port: 20,
                link: &[5],
            },
            p,
            &[0x0F, 20, 0, 5],
        );
        round(
            Segment::Port {
                port: 300,
                link: &[1, 2],
            },
            p,
            &[0x1F, 2, 0x2C, 0x01, 1, 2],
        );
    }

    #[test]
    fn electronic_key() {
        let key = ElectronicKey {
            vendor: 1,
            device_type: 0x0E,
            product_code: 0x36,
            major: 0x94,
            minor: 11,
        };
        round(
            Segment::Key(key),
            Padding::Padded,
            &[0x34, 0x04, 1, 0, 0x0E, 0, 0x36, 0, 0x94, 11],
        );
    }

    #[test]
    fn path_accessors_and_errors() {
        let wire = [0x20, 0x06, 0x24, 0x01, 0x30, 0x07];
        let path = EPath::parse(&wire, Padding::Padded).unwrap();
        assert_eq!(
            (path.class(), path.instance(), path.attribute()),
            (Some(6), Some(1), Some(7))
        );
        assert_eq!(path.word_len(), Ok(3));
        assert!(EPath::parse(&[0x91, 0x05, b'S'], Padding::Padded).is_err());
        assert!(EPath::parse(&[0x23, 0x00], Padding::Padded).is_err());
        assert!(EPath::parse(&[0xE0], Padding::Padded).is_err());
        let built = [
            Segment::class(6),
            Segment::instance(1),
            Segment::attribute(7),
        ];
        assert_eq!(EPath::from_segments(&built, Padding::Padded), path);
    }
}
