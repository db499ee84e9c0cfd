//! CIP elementary data types: codes, names and sizes.

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
}
