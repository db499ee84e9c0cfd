//! Codec errors.

use crate::pdu::exception;

/// Why bytes could not be decoded as a Modbus frame or PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The PDU ends before its fields do.
    #[error("truncated PDU")]
    Truncated,
    /// The PDU has bytes after its last field.
    #[error("unexpected bytes after the PDU")]
    TrailingBytes,
    /// A quantity of 0 or above the function's limit.
    #[error("quantity {0} out of range")]
    BadQuantity(u16),
    /// Address + quantity runs past register 65535.
    #[error("address range runs past 65535")]
    AddressOverflow,
    /// A single-coil value other than 0x0000 or 0xFF00.
    #[error("coil value {0:#06x} is neither 0x0000 nor 0xFF00")]
    BadCoilValue(u16),
    /// A byte count that does not match the quantity or the data.
    #[error("byte count {0} does not match")]
    BadByteCount(u8),
    /// A function code whose layout is unknown.
    #[error("unknown function code {0:#04x}")]
    UnknownFunction(u8),
    /// An MBAP length field outside 2..=254.
    #[error("MBAP length {0} out of range")]
    BadLength(u16),
}

impl Error {
    /// The exception code a server answers a request that fails to parse with this error.
    pub fn exception_code(&self) -> u8 {
        match self {
            Self::UnknownFunction(_) => exception::ILLEGAL_FUNCTION,
            Self::AddressOverflow => exception::ILLEGAL_DATA_ADDRESS,
            _ => exception::ILLEGAL_DATA_VALUE,
        }
    }
}
