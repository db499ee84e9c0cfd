//! CIP elementary data types: codes, names and sizes; the tag type field of Logix services.

use crate::cursor::{Reader, Writer};
use crate::error::Result;

/// A CIP elementary data type, by its type code (CIP Vol 1, C-6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum DataType {
    /// Boolean, one byte on the wire (0 or non-zero).
    Bool = 0xC1,
    /// Signed 8-bit integer.
    Sint = 0xC2,
    /// Signed 16-bit integer.
    Int = 0xC3,
    /// Signed 32-bit integer.
    Dint = 0xC4,
    /// Signed 64-bit integer.
    Lint = 0xC5,
    /// Unsigned 8-bit integer.
    Usint = 0xC6,
    /// Unsigned 16-bit integer.
    Uint = 0xC7,
    /// Unsigned 32-bit integer.
    Udint = 0xC8,
    /// Unsigned 64-bit integer.
    Ulint = 0xC9,
    /// IEEE 754 single precision.
    Real = 0xCA,
    /// IEEE 754 double precision.
    Lreal = 0xCB,
    /// Character string, 2-byte length then bytes.
    String = 0xD0,
    /// 8-bit bit string.
    Byte = 0xD1,
    /// 16-bit bit string.
    Word = 0xD2,
    /// 32-bit bit string.
    Dword = 0xD3,
    /// 64-bit bit string.
    Lword = 0xD4,
    /// Short string, 1-byte length then bytes.
    Sstring = 0xDA,
}

impl DataType {
    /// Every type, in code order.
    pub const ALL: [DataType; 17] = [
        DataType::Bool,
        DataType::Sint,
        DataType::Int,
        DataType::Dint,
        DataType::Lint,
        DataType::Usint,
        DataType::Uint,
        DataType::Udint,
        DataType::Ulint,
        DataType::Real,
        DataType::Lreal,
        DataType::String,
        DataType::Byte,
        DataType::Word,
        DataType::Dword,
        DataType::Lword,
        DataType::Sstring,
    ];

    /// The type code as it appears on the wire.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// The type for a wire type code, if it is an elementary type.
    pub fn from_code(code: u16) -> Option<DataType> {
        Self::ALL.iter().copied().find(|t| t.code() == code)
    }

    /// The upper-case name (`"DINT"`).
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "BOOL",
            DataType::Sint => "SINT",
            DataType::Int => "INT",
            DataType::Dint => "DINT",
            DataType::Lint => "LINT",
            DataType::Usint => "USINT",
            DataType::Uint => "UINT",
            DataType::Udint => "UDINT",
            DataType::Ulint => "ULINT",
            DataType::Real => "REAL",
            DataType::Lreal => "LREAL",
            DataType::String => "STRING",
            DataType::Byte => "BYTE",
            DataType::Word => "WORD",
            DataType::Dword => "DWORD",
            DataType::Lword => "LWORD",
            DataType::Sstring => "SSTRING",
        }
    }

    /// The type named `name`, case-insensitively (`"dint"`, `"DINT"`).
    pub fn from_name(name: &str) -> Option<DataType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Bytes one element occupies on the wire, or `None` for variable-length strings.
    pub fn size(self) -> Option<usize> {
        match self {
            DataType::Bool | DataType::Sint | DataType::Usint | DataType::Byte => Some(1),
            DataType::Int | DataType::Uint | DataType::Word => Some(2),
            DataType::Dint | DataType::Udint | DataType::Real | DataType::Dword => Some(4),
            DataType::Lint | DataType::Ulint | DataType::Lreal | DataType::Lword => Some(8),
            DataType::String | DataType::Sstring => None,
        }
    }
}

impl core::fmt::Display for DataType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The type code a Logix controller puts in front of structure data: `0x02A0`, followed by the
/// structure handle.
pub const STRUCT_TYPE_PREFIX: u16 = 0x02A0;

/// The structure handle of the Logix built-in `STRING` (DINT LEN + SINT DATA\[82\]).
pub const LOGIX_STRING_HANDLE: u16 = 0x0FCE;

/// The type field that precedes tag data in Read/Write Tag services.
///
/// Elementary types are a two-byte code; structures are the prefix `0x02A0` followed by a
/// two-byte structure handle (four bytes in all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagType {
    /// An elementary type (`0x00C3` for INT).
    Atomic(DataType),
    /// A structure, by its handle (`0x0FCE` for the Logix STRING).
    Struct(u16),
    /// A two-byte type code this codec does not know; carried through unchanged.
    Other(u16),
}

impl TagType {
    /// The Logix STRING structure.
    pub const LOGIX_STRING: TagType = TagType::Struct(LOGIX_STRING_HANDLE);

    /// Bytes the type field occupies on the wire (2, or 4 for structures).
    #[inline]
    pub fn buffer_len(self) -> usize {
        match self {
            TagType::Struct(_) => 4,
            _ => 2,
        }
    }

    /// Decodes a type field from the start of `buf`; returns it and its length.
    pub fn parse(buf: &[u8]) -> Result<(TagType, usize)> {
        let mut r = Reader::new(buf);
        let code = r.u16()?;
        if code == STRUCT_TYPE_PREFIX {
            return Ok((TagType::Struct(r.u16()?), 4));
        }
        Ok((
            DataType::from_code(code).map_or(TagType::Other(code), TagType::Atomic),
            2,
        ))
    }

    /// Writes the type field to the start of `buf`; returns the bytes written.
    #[inline]
    pub fn emit(self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        match self {
            TagType::Atomic(t) => w.u16(t.code())?,
            TagType::Struct(handle) => {
                w.u16(STRUCT_TYPE_PREFIX)?;
                w.u16(handle)?;
            }
            TagType::Other(code) => w.u16(code)?,
        }
        Ok(w.pos())
    }

    /// Bytes one element of this type occupies, when that is fixed and known
    /// (elementary types and the Logix STRING structure, 88 bytes).
    pub fn element_size(self) -> Option<usize> {
        match self {
            TagType::Atomic(t) => t.size(),
            TagType::Struct(LOGIX_STRING_HANDLE) => Some(crate::value::LOGIX_STRING_LEN),
            _ => None,
        }
    }
}

impl From<DataType> for TagType {
    fn from(t: DataType) -> TagType {
        TagType::Atomic(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for t in DataType::ALL {
            assert_eq!(DataType::from_code(t.code()), Some(t));
            assert_eq!(DataType::from_name(&t.name().to_lowercase()), Some(t));
        }
        assert_eq!(DataType::from_name("FLOAT"), None);
        assert_eq!(DataType::Real.size(), Some(4));
    }

    #[test]
    fn tag_types_on_the_wire() {
        let mut buf = [0u8; 4];
        assert_eq!(TagType::LOGIX_STRING.emit(&mut buf), Ok(4));
        assert_eq!(buf, [0xA0, 0x02, 0xCE, 0x0F]);
        assert_eq!(TagType::parse(&buf), Ok((TagType::LOGIX_STRING, 4)));
        assert_eq!(
            TagType::parse(&[0xC3, 0x00]),
            Ok((TagType::Atomic(DataType::Int), 2))
        );
        assert_eq!(
            TagType::parse(&[0x34, 0x12]),
            Ok((TagType::Other(0x1234), 2))
        );
        assert!(TagType::parse(&[0xA0, 0x02, 0xCE]).is_err());
    }
}
