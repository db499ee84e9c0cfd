//! Message Router request and reply: the envelope of every CIP explicit message.
//!
//! A request is `service (u8) | path size in words (u8) | padded EPATH | data`; a reply is
//! `service | 0x80 (u8) | reserved (u8) | general status (u8) | extended status size in words
//! (u8) | extended status words | data`. [`MrRequest`] and [`MrReply`] borrow path, status and
//! data from the input, so decoding and answering allocates nothing.
//!
//! Parse a Read Tag request for `SCADA[1]` (one element) and answer it with the INT 42:
//!
//! ```
//! use cpppo_cip::mr::{status, MrReply, MrRequest};
//!
//! let wire = [
//!     0x4C, 0x05, 0x91, 0x05, b'S', b'C', b'A', b'D', b'A', 0x00, 0x28, 0x01, 0x01, 0x00,
//! ];
//! let req = MrRequest::parse(&wire)?;
//! assert_eq!(req.service, 0x4C);
//! assert_eq!(req.path.symbol(), Some(&b"SCADA"[..]));
//! assert_eq!(req.path.element(), Some(1));
//! assert_eq!(req.data, [0x01, 0x00]);
//!
//! // Type INT (0x00C3) then the value 42.
//! let reply = MrReply::success(req.service, &[0xC3, 0x00, 0x2A, 0x00]);
//! let mut buf = [0u8; 64];
//! let n = reply.emit(&mut buf)?;
//! assert_eq!(buf[..n], [0xCC, 0x00, status::SUCCESS, 0x00, 0xC3, 0x00, 0x2A, 0x00]);
//! # Ok::<(), cpppo_cip::Error>(())
//! ```

use crate::cursor::{Reader, Writer};
use crate::epath::{EPath, Padding};
use crate::error::{Error, Result};

/// The bit a reply sets in the service code.
pub const REPLY_BIT: u8 = 0x80;

/// General status codes (CIP Vol 1, Appendix B) and common extended status codes.
pub mod status {
    /// Success.
    pub const SUCCESS: u8 = 0x00;
    /// Connection failure (the Connection Manager's extended status says which).
    pub const CONNECTION_FAILURE: u8 = 0x01;
    /// Path segment error: the path could not be understood.
    pub const PATH_SEGMENT_ERROR: u8 = 0x04;
    /// Path destination unknown: no such object, instance or tag.
    pub const PATH_DESTINATION_UNKNOWN: u8 = 0x05;
    /// Partial transfer: only part of the data was transferred.
    pub const PARTIAL_TRANSFER: u8 = 0x06;
    /// Service not supported by the object.
    pub const SERVICE_NOT_SUPPORTED: u8 = 0x08;
    /// Invalid attribute value.
    pub const INVALID_ATTRIBUTE_VALUE: u8 = 0x09;
    /// Object state conflict.
    pub const OBJECT_STATE_CONFLICT: u8 = 0x0C;
    /// Attribute not settable.
    pub const ATTRIBUTE_NOT_SETTABLE: u8 = 0x0E;
    /// Not enough data.
    pub const NOT_ENOUGH_DATA: u8 = 0x13;
    /// Attribute not supported.
    pub const ATTRIBUTE_NOT_SUPPORTED: u8 = 0x14;
    /// Too much data.
    pub const TOO_MUCH_DATA: u8 = 0x15;
    /// Object does not exist.
    pub const OBJECT_DOES_NOT_EXIST: u8 = 0x16;
    /// Embedded service error (Multiple Service Packet: a sub-request failed).
    pub const EMBEDDED_SERVICE_ERROR: u8 = 0x1E;
    /// Path size invalid.
    pub const PATH_SIZE_INVALID: u8 = 0x26;
    /// General error; see the extended status.
    pub const GENERAL_ERROR: u8 = 0xFF;

    /// Extended status with [`GENERAL_ERROR`]: an index or range out of bounds.
    pub const EXT_OUT_OF_RANGE: u16 = 0x2105;
    /// Extended status with [`GENERAL_ERROR`]: the data type does not match the tag's.
    pub const EXT_TYPE_MISMATCH: u16 = 0x2107;
}

/// Something that can write itself as the data field of a request or reply.
pub trait Payload {
    /// Bytes the payload occupies.
    fn buffer_len(&self) -> usize;
    /// Writes the payload to the start of `buf`; returns the bytes written.
    fn emit(&self, buf: &mut [u8]) -> Result<usize>;
}

impl Payload for [u8] {
    #[inline]
    fn buffer_len(&self) -> usize {
        self.len()
    }

    #[inline]
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.bytes(self)?;
        Ok(w.pos())
    }
}

/// A Message Router request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MrRequest<'a> {
    /// Service code (reply bit clear).
    pub service: u8,
    /// Request path (padded EPATH).
    pub path: EPath<'a>,
    /// Service data.
    pub data: &'a [u8],
}

impl<'a> MrRequest<'a> {
    /// Decodes a whole request; `buf` must be exactly the request (its data runs to the end).
    pub fn parse(buf: &'a [u8]) -> Result<MrRequest<'a>> {
        let mut r = Reader::new(buf);
        let service = r.u8()?;
        if service & REPLY_BIT != 0 {
            return Err(Error::Malformed("request with the reply bit set"));
        }
        let words = r.u8()?;
        let path = EPath::parse(r.take(usize::from(words) * 2)?, Padding::Padded)?;
        Ok(MrRequest {
            service,
            path,
            data: r.take_rest(),
        })
    }

    /// Bytes the request occupies when emitted.
    pub fn buffer_len(&self) -> usize {
        request_len(&self.path, self.data)
    }

    /// Writes the request to the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        emit_request(self.service, &self.path, self.data, buf)
    }
}

/// Bytes of a request with `path` and `payload`.
pub fn request_len(path: &EPath<'_>, payload: &(impl Payload + ?Sized)) -> usize {
    2 + path.buffer_len() + payload.buffer_len()
}

/// Writes a request `service`, `path`, `payload` to the start of `buf`; returns its length.
pub fn emit_request(
    service: u8,
    path: &EPath<'_>,
    payload: &(impl Payload + ?Sized),
    buf: &mut [u8],
) -> Result<usize> {
    let mut w = Writer::new(buf);
    w.u8(service)?;
    w.u8(path.word_len()?)?;
    w.nested(|t| path.emit(t))?;
    w.nested(|t| payload.emit(t))?;
    Ok(w.pos())
}

/// A Message Router reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MrReply<'a> {
    /// Service code of the request answered (without the reply bit).
    pub service: u8,
    /// The reserved byte after the service (0 on the wire; kept for exact re-emission).
    pub reserved: u8,
    /// General status ([`status`]).
    pub general_status: u8,
    /// Extended status words as raw little-endian bytes (even length).
    pub extended_status: &'a [u8],
    /// Reply data.
    pub data: &'a [u8],
}

impl<'a> MrReply<'a> {
    /// A successful reply to `service` carrying `data`.
    pub fn success(service: u8, data: &'a [u8]) -> MrReply<'a> {
        MrReply {
            service,
            reserved: 0,
            general_status: status::SUCCESS,
            extended_status: &[],
            data,
        }
    }

    /// A failed reply to `service` with `general_status` and extended status bytes (`ext`,
    /// little-endian words, e.g. `&0x2105u16.to_le_bytes()`), without data.
    pub fn error(service: u8, general_status: u8, ext: &'a [u8]) -> MrReply<'a> {
        MrReply {
            service,
            reserved: 0,
            general_status,
            extended_status: ext,
            data: &[],
        }
    }

    /// Decodes a whole reply; `buf` must be exactly the reply (its data runs to the end).
    pub fn parse(buf: &'a [u8]) -> Result<MrReply<'a>> {
        let mut r = Reader::new(buf);
        let code = r.u8()?;
        if code & REPLY_BIT == 0 {
            return Err(Error::Malformed("reply without the reply bit"));
        }
        let reserved = r.u8()?;
        let general_status = r.u8()?;
        let words = r.u8()?;
        let extended_status = r.take(usize::from(words) * 2)?;
        Ok(MrReply {
            service: code & !REPLY_BIT,
            reserved,
            general_status,
            extended_status,
            data: r.take_rest(),
        })
    }

    /// The extended status words.
    pub fn extended(&self) -> impl Iterator<Item = u16> + 'a {
        self.extended_status
            .chunks_exact(2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
    }

    /// The first extended status word, if any.
    pub fn first_extended(&self) -> Option<u16> {
        self.extended().next()
    }

    /// Bytes the reply occupies when emitted.
    pub fn buffer_len(&self) -> usize {
        reply_len(self.extended_status, self.data)
    }

    /// Writes the reply to the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.nested(|t| self.emit_header(t))?;
        w.bytes(self.data)?;
        Ok(w.pos())
    }

    /// Writes only the header (service to extended status); the caller writes the data after
    /// it. Returns the header length.
    #[inline]
    pub fn emit_header(&self, buf: &mut [u8]) -> Result<usize> {
        if self.extended_status.len() % 2 == 1 {
            return Err(Error::Malformed("extended status of odd length"));
        }
        let words = u8::try_from(self.extended_status.len() / 2).map_err(|_| Error::TooLong {
            what: "extended status words",
            len: self.extended_status.len() / 2,
            limit: 255,
        })?;
        let mut w = Writer::new(buf);
        w.u8(self.service | REPLY_BIT)?;
        w.u8(self.reserved)?;
        w.u8(self.general_status)?;
        w.u8(words)?;
        w.bytes(self.extended_status)?;
        Ok(w.pos())
    }

    /// Writes this reply's header followed by `payload` (instead of [`MrReply::data`]).
    #[inline]
    pub fn emit_with(&self, payload: &(impl Payload + ?Sized), buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.nested(|t| self.emit_header(t))?;
        w.nested(|t| payload.emit(t))?;
        Ok(w.pos())
    }
}

/// Bytes of a reply with `extended_status` bytes and `payload`.
#[inline]
pub fn reply_len(extended_status: &[u8], payload: &(impl Payload + ?Sized)) -> usize {
    4 + extended_status.len() + payload.buffer_len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epath::Segment;

    #[test]
    fn request_round_trip() {
        let wire = [0x0E, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07];
        let req = MrRequest::parse(&wire).unwrap();
        assert_eq!(req.path.class(), Some(1));
        assert!(req.data.is_empty());
        let mut buf = [0u8; 16];
        assert_eq!(req.emit(&mut buf), Ok(8));
        assert_eq!(buf[..8], wire);
        let segs = [
            Segment::class(1),
            Segment::instance(1),
            Segment::attribute(7),
        ];
        let built = MrRequest {
            service: 0x0E,
            path: EPath::from_segments(&segs, Padding::Padded),
            data: &[],
        };
        assert_eq!(built, req);
        assert_eq!(built.buffer_len(), 8);
    }

    #[test]
    fn request_errors() {
        assert!(MrRequest::parse(&[]).is_err());
        assert!(MrRequest::parse(&[0x0E, 0x03, 0x20, 0x01]).is_err());
        assert!(MrRequest::parse(&[0x8E, 0x00]).is_err());
        assert!(MrRequest::parse(&[0x0E, 0x01, 0x23, 0x00]).is_err());
    }

    #[test]
    fn reply_with_extended_status() {
        let wire = [0xCC, 0x00, 0xFF, 0x01, 0x05, 0x21];
        let rep = MrReply::parse(&wire).unwrap();
        assert_eq!(rep.service, 0x4C);
        assert_eq!(rep.general_status, status::GENERAL_ERROR);
        assert_eq!(rep.first_extended(), Some(status::EXT_OUT_OF_RANGE));
        let ext = status::EXT_OUT_OF_RANGE.to_le_bytes();
        let built = MrReply::error(0x4C, status::GENERAL_ERROR, &ext);
        let mut buf = [0u8; 8];
        assert_eq!(built.emit(&mut buf), Ok(6));
        assert_eq!(buf[..6], wire);
        assert!(MrReply::parse(&[0xCC, 0x00, 0x00, 0x02, 0x00]).is_err());
        assert!(MrReply::parse(&[0x4C, 0x00, 0x00, 0x00]).is_err());
        assert_eq!(
            built.emit(&mut [0u8; 5]),
            Err(Error::BufferTooSmall { needed: 6, have: 5 })
        );
    }
}
