//! Errors produced while decoding or encoding wire data.

/// Why a frame or field could not be decoded or encoded.
///
/// Decoders return these instead of panicking; the runtime maps them onto the right
/// encapsulation or CIP status so the peer gets an answer and the session survives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// More bytes are needed: `needed` is the total length the decoder must see (when known).
    #[error("truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// Total bytes the decoder needs.
        needed: usize,
        /// Bytes it was given.
        have: usize,
    },
    /// A length field is larger than the protocol or this implementation allows.
    #[error("{what} length {len} exceeds the limit {limit}")]
    TooLong {
        /// Which length field.
        what: &'static str,
        /// The value found.
        len: usize,
        /// The largest value accepted.
        limit: usize,
    },
    /// A field holds a value this codec does not understand.
    #[error("unsupported {what} 0x{value:x}")]
    Unsupported {
        /// Which field.
        what: &'static str,
        /// The value found.
        value: u32,
    },
    /// The bytes are inconsistent (lengths that disagree, bad padding, ...).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// An output buffer is too small for the value being emitted.
    #[error("buffer too small: need {needed} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes the encoder needs.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
}

/// Result alias used throughout the codec.
pub type Result<T> = core::result::Result<T, Error>;
