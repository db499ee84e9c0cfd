//! Modbus/RTU framing: `unit PDU crc16` on a serial line, frames separated by silence.
//!
//! RTU has no length field and no start marker. [`Decoder`] works out each frame's length from
//! its function code (and byte count), checks the CRC, and on a mismatch drops one byte and
//! tries again, so it finds the next valid frame after line noise. A frame whose function code
//! it does not know ends at the next silence (the runtime reports silences with
//! [`Decoder::silence`], after 3.5 character times without a byte).

use crate::pdu::{pdu_len, Direction, MAX_PDU};
use crate::Adu;

/// Shortest RTU frame: unit, function, CRC.
pub const MIN_FRAME: usize = 4;
/// Longest RTU frame.
pub const MAX_FRAME: usize = 1 + MAX_PDU + 2;
/// Bytes kept at most while hunting for a frame; older bytes are noise.
const MAX_BUFFER: usize = 2 * MAX_FRAME;

/// CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF). On the wire it is sent low
/// byte first.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// True if `frame` ends with the CRC of the bytes before it.
pub fn crc_ok(frame: &[u8]) -> bool {
    match frame.len().checked_sub(2) {
        Some(n) if n >= 2 => crc16(&frame[..n]).to_le_bytes() == frame[n..],
        _ => false,
    }
}

/// Append one frame: `unit`, the PDU that `pdu` appends, and the CRC.
pub fn encode(out: &mut Vec<u8>, unit: u8, pdu: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.push(unit);
    pdu(out);
    let crc = crc16(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// What the bytes at the head of the buffer look like.
enum Head {
    /// A frame of this many bytes with a good CRC.
    Frame(usize),
    /// Not (yet) a frame: more bytes might make it one.
    Partial,
    /// Cannot be a frame starting here.
    Bad,
}

/// Incremental RTU frame decoder for one direction of a serial line.
#[derive(Debug)]
pub struct Decoder {
    dir: Direction,
    buf: Vec<u8>,
    /// Bytes at the head of `buf` that were followed by a silence: no frame extends past them.
    silent: usize,
    /// Bytes of the frame last returned, dropped on the next call.
    consumed: usize,
    /// Bytes discarded as noise so far.
    noise: u64,
    /// Buffer length at the last look-ahead that found nothing: a candidate frame ending
    /// within it is known to be invalid and is not checked again.
    checked: usize,
}

impl Decoder {
    /// A decoder of requests (a server's) or responses (a client's).
    pub fn new(dir: Direction) -> Self {
        Self {
            dir,
            buf: Vec::with_capacity(MAX_BUFFER),
            silent: 0,
            consumed: 0,
            noise: 0,
            checked: 0,
        }
    }

    /// Add received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.consume();
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > MAX_BUFFER {
            let excess = self.buf.len() - MAX_BUFFER;
            self.drop_head(excess);
        }
    }

    /// The line has been quiet: everything received so far is complete.
    pub fn silence(&mut self) {
        self.consume();
        self.silent = self.buf.len();
    }

    /// Bytes discarded as noise so far.
    pub fn noise(&self) -> u64 {
        self.noise
    }

    /// Bytes waiting (not yet part of a returned frame).
    pub fn pending(&self) -> usize {
        self.buf.len() - self.consumed
    }

    fn consume(&mut self) {
        let n = std::mem::take(&mut self.consumed);
        self.buf.drain(..n);
        self.silent = self.silent.saturating_sub(n);
        self.checked = self.checked.saturating_sub(n);
    }

    fn drop_head(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.silent = self.silent.saturating_sub(n);
        self.checked = self.checked.saturating_sub(n);
        self.noise += n as u64;
    }

    fn head(&self, at: usize) -> Head {
        let b = &self.buf[at..];
        let limit = if at < self.silent {
            self.silent - at
        } else {
            b.len()
        };
        let quiet = at < self.silent;
        match pdu_len(self.dir, b.get(1..).unwrap_or(&[])) {
            Ok(Some(n)) => {
                let len = 1 + n + 2;
                if len > MAX_FRAME || (quiet && len > limit) {
                    Head::Bad
                } else if len > b.len() {
                    Head::Partial
                } else if crc_ok(&b[..len]) {
                    Head::Frame(len)
                } else {
                    Head::Bad
                }
            }
            Ok(None) if quiet => Head::Bad,
            Ok(None) => Head::Partial,
            // Unknown function: the frame is everything up to the silence.
            Err(_) if quiet && limit >= MIN_FRAME && crc_ok(&b[..limit]) => Head::Frame(limit),
            Err(_) if quiet => Head::Bad,
            Err(_) => Head::Partial,
        }
    }

    /// A complete frame at some offset after the head, if noise precedes it. While the head
    /// may still become a frame of a known length, only frames after that length count: a
    /// frame's own data can hold a CRC-valid frame (1 in 65,536 per place), which must not
    /// cut it short. A head that is noise is dropped at the next silence at the latest.
    fn later_frame(&mut self) -> Option<usize> {
        let from = match pdu_len(self.dir, self.buf.get(1..).unwrap_or(&[])) {
            Ok(Some(n)) => 1 + n + 2,
            _ => 1,
        };
        let found = (from..self.buf.len().saturating_sub(MIN_FRAME - 1))
            .find(|&at| matches!(self.head_known(at), Some(true)));
        // After a find, the candidates beyond it were not looked at.
        self.checked = if found.is_some() { 0 } else { self.buf.len() };
        found
    }

    /// For a known function code at `at`: whether a whole, CRC-valid frame is there (one
    /// that was already complete at the last look-ahead is known not to be).
    fn head_known(&self, at: usize) -> Option<bool> {
        let b = self.buf.get(at..)?;
        let n = pdu_len(self.dir, b.get(1..)?).ok()??;
        let len = 1 + n + 2;
        Some(len <= b.len() && at + len > self.checked && crc_ok(&b[..len]))
    }

    /// The next complete frame, if any. The returned frame stays valid until the next call
    /// to any method.
    pub fn next_frame(&mut self) -> Option<Adu<'_>> {
        self.consume();
        loop {
            if self.buf.is_empty() {
                return None;
            }
            match self.head(0) {
                Head::Frame(len) => {
                    self.consumed = len;
                    let frame = &self.buf[..len];
                    return Some(Adu {
                        transaction: 0,
                        protocol: 0,
                        unit: frame[0],
                        pdu: &frame[1..len - 2],
                    });
                }
                Head::Bad => self.drop_head(1),
                Head::Partial => match self.later_frame() {
                    Some(at) => self.drop_head(at),
                    None => return None,
                },
            }
        }
    }
}

/// The silence that separates RTU frames at `baud`: 3.5 character times (11 bits each), and
/// at least 1.75 ms above 19,200 baud, as the specification fixes.
pub fn inter_frame_silence(baud: u32) -> std::time::Duration {
    if baud == 0 || baud > 19_200 {
        return std::time::Duration::from_micros(1750);
    }
    std::time::Duration::from_micros(38_500_000 / u64::from(baud))
}
