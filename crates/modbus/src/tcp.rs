//! Modbus/TCP framing: the 7-byte MBAP header, and transaction ids for pipelining.
//!
//! ```text
//! transaction:u16  protocol:u16 (0)  length:u16 (unit + PDU)  unit:u8  PDU...
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::Error;
use crate::pdu::MAX_PDU;
use crate::Adu;

/// Length of the MBAP header, unit id included.
pub const HEADER_LEN: usize = 7;
/// Longest Modbus/TCP frame.
pub const MAX_FRAME: usize = HEADER_LEN + MAX_PDU;

/// A checked view of one Modbus/TCP frame over a buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap `buffer` after checking that it holds a header whose length field (2..=254) fits
    /// in it; accessors cannot panic afterwards. Bytes after the frame are ignored.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        let Some(h) = b.get(..HEADER_LEN) else {
            return Err(Error::Truncated);
        };
        let length = u16::from_be_bytes([h[4], h[5]]);
        if !(2..=254).contains(&length) {
            return Err(Error::BadLength(length));
        }
        if b.len() < 6 + usize::from(length) {
            return Err(Error::Truncated);
        }
        Ok(Self { buffer })
    }

    fn field(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    /// Transaction id.
    pub fn transaction(&self) -> u16 {
        self.field(0)
    }
    /// Protocol id (0 for Modbus).
    pub fn protocol(&self) -> u16 {
        self.field(2)
    }
    /// Length field: bytes that follow it (unit id + PDU).
    pub fn length(&self) -> u16 {
        self.field(4)
    }
    /// Unit id.
    pub fn unit(&self) -> u8 {
        self.buffer.as_ref()[6]
    }
    /// Total bytes of this frame in the buffer.
    pub fn frame_len(&self) -> usize {
        6 + usize::from(self.length())
    }
    /// The PDU.
    pub fn pdu(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.frame_len()]
    }
}

/// Decode the frame at the start of `buf`: `Ok(None)` if more bytes are needed,
/// `Ok(Some((adu, consumed)))` for a whole frame, `Err` if the header is corrupt (the stream
/// cannot be re-synchronised: close the connection).
pub fn decode(buf: &[u8]) -> Result<Option<(Adu<'_>, usize)>, Error> {
    match Frame::new_checked(buf) {
        Ok(frame) => {
            let len = frame.frame_len();
            let adu = Adu {
                transaction: frame.transaction(),
                protocol: frame.protocol(),
                unit: frame.unit(),
                pdu: &buf[HEADER_LEN..len],
            };
            Ok(Some((adu, len)))
        }
        Err(Error::Truncated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Append one frame: the header for `unit` and `transaction`, then the PDU that `pdu` appends.
pub fn encode(out: &mut Vec<u8>, transaction: u16, unit: u8, pdu: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&transaction.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, unit]);
    pdu(out);
    let length = u16::try_from(out.len() - start - 6).unwrap_or(u16::MAX);
    if let Some(field) = out.get_mut(start + 4..start + 6) {
        field.copy_from_slice(&length.to_be_bytes());
    }
}

/// Transactions in flight on one connection: hands out transaction ids and matches replies
/// (which a server may send in any order) to what the caller attached to each request.
#[derive(Debug)]
pub struct Transactions<T> {
    next: u16,
    pending: HashMap<u16, T, BuildHasherDefault<IdHasher>>,
}

/// Hashes a transaction id with one multiplication: ids are ours (sequential), not an
/// attacker's, so the default keyed hash (three per request) buys nothing.
#[derive(Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, id: u16) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl<T> Default for Transactions<T> {
    fn default() -> Self {
        Self {
            next: 1,
            pending: HashMap::default(),
        }
    }
}

impl<T> Transactions<T> {
    /// Register a request carrying `tag`; returns its transaction id, or `None` when all
    /// 65,536 ids are in flight.
    pub fn start(&mut self, tag: T) -> Option<u16> {
        if self.pending.len() > usize::from(u16::MAX) {
            return None;
        }
        while self.pending.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1);
        }
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.pending.insert(id, tag);
        Some(id)
    }
    /// Match a reply: the tag of the request with this id, or `None` for an unknown id.
    pub fn finish(&mut self, transaction: u16) -> Option<T> {
        self.pending.remove(&transaction)
    }
    /// Requests still waiting for a reply.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
    /// Forget every request (the connection was lost); returns their tags.
    pub fn abandon(&mut self) -> Vec<T> {
        self.pending.drain().map(|(_, t)| t).collect()
    }
}
