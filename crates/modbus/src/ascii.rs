//! Modbus/ASCII framing: `:` then unit, PDU and LRC as hexadecimal pairs, then CR LF.
//!
//! [`Decoder`] skips anything before a `:`, restarts at a `:` seen inside a frame (as the
//! specification asks), and drops frames with a bad LRC or bad hexadecimal.

use crate::pdu::MAX_PDU;
use crate::Adu;

/// Longest ASCII frame: `:` + 2 × (unit + PDU + LRC) + CR LF.
pub const MAX_FRAME: usize = 1 + 2 * (1 + MAX_PDU + 1) + 2;

/// Longitudinal redundancy check: the two's complement of the byte sum.
pub fn lrc(data: &[u8]) -> u8 {
    data.iter()
        .fold(0u8, |a, &b| a.wrapping_add(b))
        .wrapping_neg()
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn put_hex(out: &mut Vec<u8>, b: u8) {
    out.push(HEX[usize::from(b >> 4)]);
    out.push(HEX[usize::from(b & 0xF)]);
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Append one frame: `:`, `unit` and the PDU that `pdu` appends (hex-encoded), the LRC, CR LF.
pub fn encode(out: &mut Vec<u8>, unit: u8, pdu: impl FnOnce(&mut Vec<u8>)) {
    let mut raw = Vec::with_capacity(MAX_PDU + 1);
    raw.push(unit);
    pdu(&mut raw);
    out.push(b':');
    for &b in &raw {
        put_hex(out, b);
    }
    put_hex(out, lrc(&raw));
    out.extend_from_slice(b"\r\n");
}

/// Incremental ASCII frame decoder.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Decoded bytes of the frame last returned.
    frame: Vec<u8>,
    /// Input bytes discarded so far.
    noise: u64,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Input bytes discarded as noise or bad frames so far.
    pub fn noise(&self) -> u64 {
        self.noise
    }

    fn discard(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.noise += n as u64;
    }

    /// The next complete frame with a good LRC, if any. It stays valid until the next call.
    pub fn next_frame(&mut self) -> Option<Adu<'_>> {
        loop {
            // Skip to the start marker.
            let start = self.buf.iter().position(|&c| c == b':');
            let Some(start) = start else {
                let n = self.buf.len();
                self.discard(n);
                return None;
            };
            self.discard(start);
            // A second ':' before the end restarts the frame there.
            let body = &self.buf[1..];
            let end = body.iter().position(|&c| c == b'\n' || c == b':');
            let Some(end) = end else {
                if self.buf.len() > MAX_FRAME {
                    self.discard(1);
                    continue;
                }
                return None;
            };
            if body[end] == b':' {
                self.discard(1 + end);
                continue;
            }
            // body[..end] is hex pairs followed by '\r'.
            let decoded = decode_hex(&body[..end]);
            self.discard_frame(1 + end + 1, decoded.is_none());
            let Some(raw) = decoded else { continue };
            if raw.len() < 3 || lrc(&raw) != 0 {
                self.noise += 1;
                continue;
            }
            self.frame = raw;
            let n = self.frame.len();
            return Some(Adu {
                transaction: 0,
                protocol: 0,
                unit: self.frame[0],
                pdu: &self.frame[1..n - 1],
            });
        }
    }

    fn discard_frame(&mut self, n: usize, bad: bool) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        if bad {
            self.noise += n as u64;
        }
    }
}

/// Decode `hex CR` into bytes (unit, PDU, LRC); `None` if malformed.
fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    let hex = text.strip_suffix(b"\r")?;
    if hex.len() % 2 != 0 || hex.len() > MAX_FRAME {
        return None;
    }
    hex.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}
