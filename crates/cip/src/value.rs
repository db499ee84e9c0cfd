//! Element values of the CIP elementary types and the Logix STRING structure.
//!
//! [`Value`] is one element; strings borrow their bytes from the input. [`Elements`] walks the
//! elements of a Read/Write Tag data field. Everything is little-endian.
//!
//! ```
//! use cpppo_cip::{value::Value, DataType};
//! let (v, n) = Value::parse(DataType::Int, &[0x2A, 0x00]).unwrap();
//! assert_eq!((v, n), (Value::Int(42), 2));
//! let mut buf = [0u8; 16];
//! let n = Value::Sstring(b"Hi").emit(&mut buf).unwrap();
//! assert_eq!(&buf[..n], b"\x02Hi");
//! ```

use crate::cursor::{Reader, Writer};
use crate::error::{Error, Result};
use crate::types::{DataType, TagType};

/// Capacity of the Logix STRING `DATA` member.
pub const LOGIX_STRING_CAPACITY: usize = 82;

/// Bytes one Logix STRING occupies on the wire: DINT `LEN`, 82 SINT `DATA`, 2 bytes of padding
/// to the structure's 4-byte alignment.
pub const LOGIX_STRING_LEN: usize = 4 + LOGIX_STRING_CAPACITY + 2;

/// One element of an elementary type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// BOOL (one byte; any non-zero byte reads as true, true is written as 1).
    Bool(bool),
    /// SINT.
    Sint(i8),
    /// INT.
    Int(i16),
    /// DINT.
    Dint(i32),
    /// LINT.
    Lint(i64),
    /// USINT.
    Usint(u8),
    /// UINT.
    Uint(u16),
    /// UDINT.
    Udint(u32),
    /// ULINT.
    Ulint(u64),
    /// REAL.
    Real(f32),
    /// LREAL.
    Lreal(f64),
    /// BYTE.
    Byte(u8),
    /// WORD.
    Word(u16),
    /// DWORD.
    Dword(u32),
    /// LWORD.
    Lword(u64),
    /// SSTRING: one length byte, then the characters.
    Sstring(&'a [u8]),
    /// STRING: a two-byte length, then the characters.
    String(&'a [u8]),
}

impl<'a> Value<'a> {
    /// The type of this value.
    pub fn data_type(&self) -> DataType {
        match self {
            Value::Bool(_) => DataType::Bool,
            Value::Sint(_) => DataType::Sint,
            Value::Int(_) => DataType::Int,
            Value::Dint(_) => DataType::Dint,
            Value::Lint(_) => DataType::Lint,
            Value::Usint(_) => DataType::Usint,
            Value::Uint(_) => DataType::Uint,
            Value::Udint(_) => DataType::Udint,
            Value::Ulint(_) => DataType::Ulint,
            Value::Real(_) => DataType::Real,
            Value::Lreal(_) => DataType::Lreal,
            Value::Byte(_) => DataType::Byte,
            Value::Word(_) => DataType::Word,
            Value::Dword(_) => DataType::Dword,
            Value::Lword(_) => DataType::Lword,
            Value::Sstring(_) => DataType::Sstring,
            Value::String(_) => DataType::String,
        }
    }

    /// Decodes one element of type `ty` from the start of `buf`; returns it and its length.
    pub fn parse(ty: DataType, buf: &'a [u8]) -> Result<(Value<'a>, usize)> {
        let mut r = Reader::new(buf);
        let v = match ty {
            DataType::Bool => Value::Bool(r.u8()? != 0),
            DataType::Sint => Value::Sint(r.u8()? as i8),
            DataType::Int => Value::Int(r.u16()? as i16),
            DataType::Dint => Value::Dint(r.u32()? as i32),
            DataType::Lint => Value::Lint(r.u64()? as i64),
            DataType::Usint => Value::Usint(r.u8()?),
            DataType::Uint => Value::Uint(r.u16()?),
            DataType::Udint => Value::Udint(r.u32()?),
            DataType::Ulint => Value::Ulint(r.u64()?),
            DataType::Real => Value::Real(f32::from_bits(r.u32()?)),
            DataType::Lreal => Value::Lreal(f64::from_bits(r.u64()?)),
            DataType::Byte => Value::Byte(r.u8()?),
            DataType::Word => Value::Word(r.u16()?),
            DataType::Dword => Value::Dword(r.u32()?),
            DataType::Lword => Value::Lword(r.u64()?),
            DataType::Sstring => {
                let len = r.u8()?;
                Value::Sstring(r.take(len.into())?)
            }
            DataType::String => {
                let len = r.u16()?;
                Value::String(r.take(len.into())?)
            }
        };
        Ok((v, r.pos()))
    }

    /// Bytes this element occupies on the wire.
    pub fn buffer_len(&self) -> usize {
        match self {
            Value::Sstring(s) => 1 + s.len(),
            Value::String(s) => 2 + s.len(),
            other => other.data_type().size().unwrap_or(0),
        }
    }

    /// Writes this element to the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        match *self {
            Value::Bool(b) => w.u8(u8::from(b))?,
            Value::Sint(v) => w.u8(v as u8)?,
            Value::Int(v) => w.u16(v as u16)?,
            Value::Dint(v) => w.u32(v as u32)?,
            Value::Lint(v) => w.u64(v as u64)?,
            Value::Usint(v) | Value::Byte(v) => w.u8(v)?,
            Value::Uint(v) | Value::Word(v) => w.u16(v)?,
            Value::Udint(v) | Value::Dword(v) => w.u32(v)?,
            Value::Ulint(v) | Value::Lword(v) => w.u64(v)?,
            Value::Real(v) => w.u32(v.to_bits())?,
            Value::Lreal(v) => w.u64(v.to_bits())?,
            Value::Sstring(s) => {
                let len = u8::try_from(s.len()).map_err(|_| Error::TooLong {
                    what: "SSTRING",
                    len: s.len(),
                    limit: 255,
                })?;
                w.u8(len)?;
                w.bytes(s)?;
            }
            Value::String(s) => {
                let len = u16::try_from(s.len()).map_err(|_| Error::TooLong {
                    what: "STRING",
                    len: s.len(),
                    limit: 65535,
                })?;
                w.u16(len)?;
                w.bytes(s)?;
            }
        }
        Ok(w.pos())
    }
}

impl Value<'static> {
    /// The fixed-size element of type `ty` holding the integer `n`, wrapped to the type's
    /// width as two's complement (as the low bytes of `n` would be sent); BOOL is true for any
    /// non-zero `n`, REAL and LREAL take its nearest value. `None` for the string types.
    pub fn from_int(ty: DataType, n: i128) -> Option<Value<'static>> {
        Some(match ty {
            DataType::Bool => Value::Bool(n != 0),
            DataType::Sint => Value::Sint(n as i8),
            DataType::Int => Value::Int(n as i16),
            DataType::Dint => Value::Dint(n as i32),
            DataType::Lint => Value::Lint(n as i64),
            DataType::Usint => Value::Usint(n as u8),
            DataType::Uint => Value::Uint(n as u16),
            DataType::Udint => Value::Udint(n as u32),
            DataType::Ulint => Value::Ulint(n as u64),
            DataType::Byte => Value::Byte(n as u8),
            DataType::Word => Value::Word(n as u16),
            DataType::Dword => Value::Dword(n as u32),
            DataType::Lword => Value::Lword(n as u64),
            DataType::Real => Value::Real(n as f32),
            DataType::Lreal => Value::Lreal(n as f64),
            DataType::Sstring | DataType::String => return None,
        })
    }
}

/// Appends `value`'s encoding to `out`; returns the bytes appended.
pub fn append(out: &mut Vec<u8>, value: &Value<'_>) -> Result<usize> {
    let start = out.len();
    out.resize(start + value.buffer_len(), 0);
    let n = value.emit(out.get_mut(start..).unwrap_or_default());
    out.truncate(start + *n.as_ref().unwrap_or(&0));
    n
}

/// Appends the string element `s` as an SSTRING (if `ty` is one) or a STRING, cut to the most
/// bytes the type can hold (255 or 65535).
pub fn append_text(out: &mut Vec<u8>, ty: DataType, s: &[u8]) {
    let value = if ty == DataType::Sstring {
        Value::Sstring(s.get(..usize::from(u8::MAX)).unwrap_or(s))
    } else {
        Value::String(s.get(..usize::from(u16::MAX)).unwrap_or(s))
    };
    // Cut to fit, the string always encodes.
    let _ = append(out, &value);
}

/// One Logix STRING structure (handle `0x0FCE`): the characters in use, `LEN` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogixString<'a> {
    /// The characters (at most [`LOGIX_STRING_CAPACITY`]).
    pub text: &'a [u8],
}

impl<'a> LogixString<'a> {
    /// Decodes one Logix STRING from the start of `buf` (88 bytes).
    ///
    /// A negative or too-large `LEN` is an error; the unused tail of `DATA` is ignored.
    pub fn parse(buf: &'a [u8]) -> Result<(LogixString<'a>, usize)> {
        let mut r = Reader::new(buf);
        let len = r.u32()? as i32;
        let data = r.take(LOGIX_STRING_CAPACITY)?;
        r.take(LOGIX_STRING_LEN - 4 - LOGIX_STRING_CAPACITY)?;
        let text = usize::try_from(len)
            .ok()
            .and_then(|n| data.get(..n))
            .ok_or(Error::TooLong {
                what: "Logix STRING",
                len: len.unsigned_abs() as usize,
                limit: LOGIX_STRING_CAPACITY,
            })?;
        Ok((LogixString { text }, LOGIX_STRING_LEN))
    }

    /// Bytes one Logix STRING occupies (always [`LOGIX_STRING_LEN`]).
    pub fn buffer_len(&self) -> usize {
        LOGIX_STRING_LEN
    }

    /// Writes the structure (zero-filled beyond `LEN`); returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if self.text.len() > LOGIX_STRING_CAPACITY {
            return Err(Error::TooLong {
                what: "Logix STRING",
                len: self.text.len(),
                limit: LOGIX_STRING_CAPACITY,
            });
        }
        let mut w = Writer::new(buf);
        w.u32(self.text.len() as u32)?;
        w.bytes(self.text)?;
        w.bytes(&[0u8; LOGIX_STRING_LEN][..LOGIX_STRING_LEN - 4 - self.text.len()])?;
        Ok(w.pos())
    }
}

/// One element of tag data: an elementary value or a Logix STRING.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Element<'a> {
    /// An elementary value.
    Value(Value<'a>),
    /// A Logix STRING structure.
    LogixString(LogixString<'a>),
}

impl Element<'_> {
    /// Bytes this element occupies on the wire.
    pub fn buffer_len(&self) -> usize {
        match self {
            Element::Value(v) => v.buffer_len(),
            Element::LogixString(s) => s.buffer_len(),
        }
    }

    /// Writes this element to the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        match self {
            Element::Value(v) => v.emit(buf),
            Element::LogixString(s) => s.emit(buf),
        }
    }
}

/// Iterator over the elements of a tag data field of one type; yields an error (once) on
/// truncated data or a type whose elements this codec cannot size.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    ty: TagType,
    rest: &'a [u8],
}

impl<'a> Elements<'a> {
    /// The elements of type `ty` in `data`.
    pub fn new(ty: TagType, data: &'a [u8]) -> Elements<'a> {
        Elements { ty, rest: data }
    }

    fn step(&mut self) -> Result<Element<'a>> {
        let (el, n) = match self.ty {
            TagType::Atomic(t) => {
                let (v, n) = Value::parse(t, self.rest)?;
                (Element::Value(v), n)
            }
            TagType::LOGIX_STRING => {
                let (s, n) = LogixString::parse(self.rest)?;
                (Element::LogixString(s), n)
            }
            TagType::Struct(h) | TagType::Other(h) => {
                return Err(Error::Unsupported {
                    what: "element type",
                    value: h.into(),
                })
            }
        };
        self.rest = self.rest.get(n..).unwrap_or(&[]);
        Ok(el)
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Element<'a>>;

    fn next(&mut self) -> Option<Result<Element<'a>>> {
        if self.rest.is_empty() {
            return None;
        }
        let out = self.step();
        if out.is_err() {
            self.rest = &[];
        }
        Some(out)
    }
}

/// The length of the first `count` elements of type `ty` at the start of `data`, or `None`
/// when the type cannot be sized (an unknown structure) or `data` is too short.
pub fn elements_len(ty: TagType, count: usize, data: &[u8]) -> Option<usize> {
    if let Some(size) = ty.element_size() {
        let len = size.checked_mul(count)?;
        return (len <= data.len()).then_some(len);
    }
    let mut it = Elements::new(ty, data);
    let mut len = 0;
    for _ in 0..count {
        len += it.next()?.ok()?.buffer_len();
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        let values = [
            Value::Bool(true),
            Value::Sint(-2),
            Value::Int(-300),
            Value::Dint(-70000),
            Value::Lint(-1 << 40),
            Value::Usint(200),
            Value::Uint(60000),
            Value::Udint(4_000_000_000),
            Value::Ulint(1 << 63),
            Value::Real(1.25),
            Value::Lreal(-2.5),
            Value::Byte(0xA5),
            Value::Word(0xBEEF),
            Value::Dword(0xDEAD_BEEF),
            Value::Lword(0x0123_4567_89AB_CDEF),
            Value::Sstring(b"Hello World"),
            Value::String(b"pylogix"),
        ];
        let mut buf = [0u8; 32];
        for v in values {
            let n = v.emit(&mut buf).unwrap();
            assert_eq!(n, v.buffer_len());
            assert_eq!(Value::parse(v.data_type(), &buf[..n]), Ok((v, n)));
        }
        assert_eq!(Value::Real(1.25).emit(&mut buf), Ok(4));
        assert_eq!(buf[..4], [0x00, 0x00, 0xA0, 0x3F]);
        assert!(Value::parse(DataType::Sstring, &[5, b'a']).is_err());
    }

    #[test]
    fn integers_wrap_to_the_type_and_text_is_cut_to_fit() {
        let mut out = Vec::new();
        for (ty, n) in [
            (DataType::Int, -2),
            (DataType::Sint, 255),
            (DataType::Udint, -1),
        ] {
            let v = Value::from_int(ty, n).unwrap();
            assert_eq!(v.data_type(), ty);
            append(&mut out, &v).unwrap();
        }
        assert_eq!(out, [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(Value::from_int(DataType::Bool, 2), Some(Value::Bool(true)));
        assert_eq!(Value::from_int(DataType::Real, 3), Some(Value::Real(3.0)));
        assert_eq!(Value::from_int(DataType::Sstring, 3), None);
        out.clear();
        append_text(&mut out, DataType::Sstring, &[b'x'; 300]);
        assert_eq!((out.len(), out[0]), (256, 255));
        out.clear();
        append_text(&mut out, DataType::String, b"hi");
        assert_eq!(out, b"\x02\x00hi");
        assert!(append(&mut out, &Value::Sstring(&[0; 256])).is_err());
        assert_eq!(out.len(), 4, "a failed append leaves nothing behind");
    }

    #[test]
    fn logix_string() {
        let mut buf = [0xEEu8; 100];
        let s = LogixString { text: b"abc" };
        assert_eq!(s.emit(&mut buf), Ok(88));
        assert_eq!(buf[..7], [3, 0, 0, 0, b'a', b'b', b'c']);
        assert!(buf[7..88].iter().all(|&b| b == 0));
        assert_eq!(LogixString::parse(&buf), Ok((s, 88)));
        buf[..4].copy_from_slice(&83u32.to_le_bytes());
        assert!(LogixString::parse(&buf).is_err());
        let els: Vec<_> = Elements::new(TagType::LOGIX_STRING, &buf[..88]).collect();
        assert_eq!(els.len(), 1);
        assert!(els[0].is_err());
    }

    #[test]
    fn element_iteration_and_sizing() {
        let data = [1, 0, 2, 0, 3, 0];
        let ty = TagType::Atomic(DataType::Int);
        let got: Vec<_> = Elements::new(ty, &data).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], Ok(Element::Value(Value::Int(3))));
        assert_eq!(elements_len(ty, 2, &data), Some(4));
        assert_eq!(elements_len(ty, 4, &data), None);
        let ss = [1, b'a', 2, b'b', b'c', 9];
        assert_eq!(elements_len(DataType::Sstring.into(), 2, &ss), Some(5));
        assert_eq!(elements_len(TagType::Struct(0x1234), 1, &ss), None);
    }
}
