//! Splitting a TCP byte stream (or a UDP datagram) into encapsulation frames.
//!
//! [`Decoder`] buffers whatever bytes arrive and hands out whole frames: a frame split at any
//! byte boundary decodes exactly as if it had arrived in one piece. "Need more bytes" is
//! `Ok(None)`; a frame that is complete but wrong is an `Err(`[`FrameError`]`)`, which carries
//! the request's header (when it could be read) and the encapsulation status to answer with.
//!
//! # Length policy
//!
//! The header's 16-bit length caps a frame at 24 + 65 535 bytes. By default the decoder accepts
//! all of it ([`DEFAULT_MAX_DATA_LEN`]), so no peer that speaks the protocol is refused; the
//! buffer never holds more than one frame plus what arrived behind it. A runtime short of memory
//! (a fleet of simulated devices) may set a lower limit with [`Decoder::with_max_data_len`]: a
//! frame over it is reported as soon as its header arrives (status
//! [`status::INSUFFICIENT_MEMORY`]) and its data is then discarded as it streams in, without
//! being buffered, so the next frame on the connection decodes normally.
//!
//! A runtime that keeps its own buffer (a `tokio_util::codec::Decoder` over `BytesMut`, say) can
//! skip [`Decoder`] and use the two stateless pieces it is built from: [`frame_len`] says whether
//! a whole frame is buffered and how long it is, then `Repr::parse_bytes` decodes it in place.
//!
//! Errors inside a complete frame (CPF counts or item lengths that disagree, a RegisterSession of
//! the wrong length) consume that frame too; the runtime answers with [`FrameError::status`] and
//! decides whether to keep the connection.
//!
//! ```
//! use cpppo_cip::frame::Decoder;
//! use cpppo_cip::encap::Command;
//!
//! let frame = [0x65, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
//! let mut decoder = Decoder::new();
//! decoder.feed(&frame[..10]);
//! assert!(decoder.decode().unwrap().is_none()); // need more bytes
//! decoder.feed(&frame[10..]);
//! let repr = decoder.decode().unwrap().expect("a whole frame");
//! assert_eq!(repr.header.command, Command::RegisterSession);
//! ```

use crate::encap::{error_status, status, Header, Packet, Repr, HEADER_LEN};
use crate::error::Error;

/// Default largest command-data length accepted: the whole range of the 16-bit length field.
pub const DEFAULT_MAX_DATA_LEN: usize = u16::MAX as usize;

/// A frame that could not be decoded, with what the runtime needs to answer it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} (encapsulation status 0x{status:04x})")]
pub struct FrameError {
    /// The offending frame's header, when at least its 24 bytes were there.
    pub header: Option<Header>,
    /// The encapsulation status to answer with.
    pub status: u32,
    /// What was wrong.
    pub error: Error,
}

impl FrameError {
    fn in_frame(header: Header, data_len: usize, error: Error) -> Self {
        FrameError {
            header: Some(header),
            status: error_status(header.command, data_len, &error),
            error,
        }
    }

    /// The header of the error reply (same command, session and context, the error status), or
    /// `None` when the header was unreadable and nobody can be answered.
    pub fn reply_header(&self) -> Option<Header> {
        self.header.map(|h| h.reply(self.status))
    }
}

/// Decodes one complete frame that must fill `buf` exactly (a UDP datagram).
pub fn decode_datagram(buf: &[u8]) -> Result<Repr<'_>, FrameError> {
    let packet = Packet::new_unchecked(buf);
    if buf.len() < HEADER_LEN {
        return Err(FrameError {
            header: None,
            status: status::INVALID_LENGTH,
            error: Error::Truncated {
                needed: HEADER_LEN,
                have: buf.len(),
            },
        });
    }
    let header = Header::parse(&packet);
    let data_len = usize::from(packet.length());
    if packet.frame_len() != buf.len() {
        return Err(FrameError {
            header: Some(header),
            status: status::INVALID_LENGTH,
            error: Error::Malformed("datagram length differs from the header's"),
        });
    }
    Repr::parse(&packet).map_err(|e| FrameError::in_frame(header, data_len, e))
}

/// How long the frame at the start of `buf` is: `Ok(None)` if the header is not all there yet,
/// an error if its data length is over `max_data_len`, else the frame's total length (which may
/// be more than `buf` holds yet).
pub fn frame_len(buf: &[u8], max_data_len: usize) -> Result<Option<usize>, FrameError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let packet = Packet::new_unchecked(buf);
    let data_len = usize::from(packet.length());
    if data_len > max_data_len {
        return Err(FrameError {
            header: Some(Header::parse(&packet)),
            status: status::INSUFFICIENT_MEMORY,
            error: Error::TooLong {
                what: "encapsulation data",
                len: data_len,
                limit: max_data_len,
            },
        });
    }
    Ok(Some(packet.frame_len()))
}

/// Incremental decoder of a stream of encapsulation frames.
#[derive(Debug, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    skip: usize,
    max_data_len: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder accepting frames up to [`DEFAULT_MAX_DATA_LEN`] bytes of data.
    pub fn new() -> Self {
        Self::with_max_data_len(DEFAULT_MAX_DATA_LEN)
    }

    /// A decoder refusing frames with more than `max_data_len` bytes of data.
    pub fn with_max_data_len(max_data_len: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            start: 0,
            skip: 0,
            max_data_len,
        }
    }

    /// Appends bytes received from the peer (data of a refused frame is dropped here).
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = bytes.get(n..).unwrap_or_default();
        }
        if self.start > 0 {
            self.buf.drain(..self.start.min(self.buf.len()));
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received and not yet handed out as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// True when no partial frame is pending (a clean place for the peer to close).
    pub fn is_idle(&self) -> bool {
        self.buffered() == 0 && self.skip == 0
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed, or the error of a frame that
    /// is over the limit or malformed (that frame is consumed; call again for the next one).
    pub fn decode(&mut self) -> Result<Option<Repr<'_>>, FrameError> {
        let avail = self.buf.get(self.start..).unwrap_or_default();
        if self.skip > 0 {
            let n = self.skip.min(avail.len());
            self.skip -= n;
            self.start += n;
            if self.skip > 0 {
                return Ok(None);
            }
        }
        let avail = self.buf.get(self.start..).unwrap_or_default();
        let total = match frame_len(avail, self.max_data_len) {
            Ok(Some(total)) => total,
            Ok(None) => return Ok(None),
            Err(e) => {
                // Drop the header now and the data as it comes.
                self.start += HEADER_LEN;
                self.skip = usize::from(Packet::new_unchecked(avail).length());
                return Err(e);
            }
        };
        if avail.len() < total {
            return Ok(None);
        }
        let begin = self.start;
        self.start += total;
        let frame = self.buf.get(begin..begin + total).unwrap_or_default();
        let packet = Packet::new_unchecked(frame);
        let header = Header::parse(&packet);
        Repr::parse(&packet)
            .map(Some)
            .map_err(|e| FrameError::in_frame(header, total - HEADER_LEN, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encap::{Body, Command};

    const REGISTER: [u8; 28] = [
        0x65, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 1, 0, 0, 0,
    ];

    #[test]
    fn byte_at_a_time_equals_whole() {
        let mut stream = REGISTER.to_vec();
        stream.extend(REGISTER);
        let mut d = Decoder::new();
        let mut seen = 0;
        for b in &stream {
            d.feed(std::slice::from_ref(b));
            if let Some(r) = d.decode().unwrap() {
                assert_eq!(r.to_vec().unwrap(), REGISTER);
                seen += 1;
            }
        }
        assert_eq!(seen, 2);
        assert!(d.is_idle());
    }

    #[test]
    fn oversize_is_reported_then_skipped() {
        let mut big = REGISTER.to_vec();
        big[0] = 0x00; // NOP with 100 bytes of data
        big[2] = 100;
        big.truncate(24);
        big.extend([0xAA; 100]);
        let mut stream = big.clone();
        stream.extend(REGISTER);
        for split in [1, 7, 24, 25, 60, 124, 130] {
            let mut d = Decoder::with_max_data_len(50);
            d.feed(&stream[..split]);
            let mut errors = Vec::new();
            let mut frames = Vec::new();
            for chunk in [&stream[split..], &[][..]] {
                loop {
                    match d.decode() {
                        Ok(Some(r)) => frames.push(r.to_vec().unwrap()),
                        Ok(None) => break,
                        Err(e) => errors.push(e),
                    }
                }
                d.feed(chunk);
            }
            assert_eq!(frames, vec![REGISTER.to_vec()], "split {split}");
            assert_eq!(errors.len(), 1);
            let e = &errors[0];
            assert_eq!(e.status, status::INSUFFICIENT_MEMORY);
            let reply = e.reply_header().unwrap();
            assert_eq!(reply.command, Command::Nop);
            assert_eq!(reply.context, [1, 2, 3, 4, 5, 6, 7, 8]);
        }
    }

    #[test]
    fn malformed_frame_is_consumed_and_answerable() {
        let mut bad = REGISTER.to_vec();
        bad[2] = 3;
        bad.truncate(27);
        let mut d = Decoder::new();
        d.feed(&bad);
        d.feed(&REGISTER);
        let e = d.decode().unwrap_err();
        assert_eq!(e.status, status::INVALID_LENGTH);
        assert_eq!(e.header.map(|h| h.session), Some(0));
        let r = d.decode().unwrap().unwrap();
        assert!(matches!(r.body, Body::Register(_)));
        assert!(d.decode().unwrap().is_none());
    }

    #[test]
    fn datagrams_must_be_exact() {
        assert!(decode_datagram(&REGISTER).is_ok());
        assert_eq!(decode_datagram(&REGISTER[..10]).unwrap_err().header, None);
        let mut long = REGISTER.to_vec();
        long.push(0);
        let e = decode_datagram(&long).unwrap_err();
        assert_eq!(e.status, status::INVALID_LENGTH);
        assert!(e.header.is_some());
    }
}
