//! What a server needs besides the request and reply types of [`crate::services`]: the CIP
//! status it answers with, the reply data it builds (attribute list entries, instance list
//! entries, a refused route), appending emitted values to a vector, and reading an Unconnected
//! Send as leniently as a Logix controller.
//!
//! A server answers each request with a [`Status`] (general status and at most one extended
//! word) and a [`crate::services::ReplyBody`]; [`append`] writes either into the growing
//! output without building the bytes by hand.
//!
//! ```
//! use cpppo_cip::mr::status;
//! use cpppo_cip::server::{append, Status};
//!
//! let st = Status::ext(status::GENERAL_ERROR, status::EXT_OUT_OF_RANGE);
//! let mut out = Vec::new();
//! append(&mut out, &st.reply(0x4C))?;
//! assert_eq!(out, [0xCC, 0x00, 0xFF, 0x01, 0x05, 0x21]);
//! # Ok::<(), cpppo_cip::Error>(())
//! ```

use crate::cursor::{len_u16, Reader, Writer};
use crate::error::Result;
use crate::mr::{status, MrReply, Payload};

/// The most extended status words a [`Status`] holds: the extended status and up to four
/// additional words (a refused Forward Open's accepted size or RPI range).
pub const MAX_STATUS_WORDS: usize = 5;

/// A CIP reply status: the general status and at most [`MAX_STATUS_WORDS`] extended status
/// words (the first is "the" extended status; a Connection Manager refusal may add more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Status {
    /// General status ([`status`]).
    pub general: u8,
    extended: [u8; 2 * MAX_STATUS_WORDS],
    words: u8,
}

impl Status {
    /// Success.
    pub const SUCCESS: Status = Status::new(status::SUCCESS);

    /// A general status without extended words.
    #[inline]
    pub const fn new(general: u8) -> Status {
        Status {
            general,
            extended: [0; 2 * MAX_STATUS_WORDS],
            words: 0,
        }
    }

    /// A general status with one extended word.
    pub const fn ext(general: u8, word: u16) -> Status {
        Status::new(general).with_word(word)
    }

    /// This status with `word` appended to its extended status (ignored once
    /// [`MAX_STATUS_WORDS`] are held).
    pub const fn with_word(mut self, word: u16) -> Status {
        let at = 2 * self.words as usize;
        if at < 2 * MAX_STATUS_WORDS {
            let [lo, hi] = word.to_le_bytes();
            self.extended[at] = lo;
            self.extended[at + 1] = hi;
            self.words += 1;
        }
        self
    }

    /// The status of a decoded reply (its first [`MAX_STATUS_WORDS`] extended words).
    pub fn of(reply: &MrReply<'_>) -> Status {
        reply
            .extended()
            .fold(Status::new(reply.general_status), Status::with_word)
    }

    /// Whether this is success.
    pub fn is_success(&self) -> bool {
        self.general == status::SUCCESS
    }

    /// The (first) extended status word, if any.
    pub fn extended(&self) -> Option<u16> {
        self.words().next()
    }

    /// All extended status words, in order (the extended status, then any additional words).
    pub fn words(&self) -> impl Iterator<Item = u16> + '_ {
        self.extended_status()
            .chunks_exact(2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
    }

    /// The extended status as wire bytes (little-endian words).
    #[inline]
    pub fn extended_status(&self) -> &[u8] {
        self.extended
            .get(..2 * usize::from(self.words))
            .unwrap_or_default()
    }

    /// The reply to `service` with this status and no data.
    #[inline]
    pub fn reply(&self, service: u8) -> MrReply<'_> {
        MrReply {
            service,
            reserved: 0,
            general_status: self.general,
            extended_status: self.extended_status(),
            data: &[],
        }
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x{:02x}", self.general)?;
        for word in self.words() {
            write!(f, "/0x{word:04x}")?;
        }
        Ok(())
    }
}

/// Appends `value`, emitted, to `out`; returns the bytes appended.
#[inline]
pub fn append(out: &mut Vec<u8>, value: &(impl Payload + ?Sized)) -> Result<usize> {
    let start = out.len();
    out.resize(start + value.buffer_len(), 0);
    let tail = out.get_mut(start..).unwrap_or_default();
    let n = value.emit(tail);
    out.truncate(start + *n.as_ref().unwrap_or(&0));
    n
}

impl Payload for MrReply<'_> {
    fn buffer_len(&self) -> usize {
        MrReply::buffer_len(self)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        MrReply::emit(self, buf)
    }
}

/// One entry of a Get / Set Attribute List reply: attribute ID, status (as a 16-bit word) and,
/// for a successful Get, the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeEntry<'a> {
    /// Attribute ID.
    pub id: u16,
    /// The attribute's status (a general status code, widened).
    pub status: u16,
    /// Its value (empty for Set Attribute List and for failed attributes).
    pub value: &'a [u8],
}

impl Payload for AttributeEntry<'_> {
    fn buffer_len(&self) -> usize {
        4 + self.value.len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(self.id)?;
        w.u16(self.status)?;
        w.bytes(self.value)?;
        Ok(w.pos())
    }
}

/// One entry of a Get Instance Attribute List (`0x55`) reply: the instance ID and the values of
/// the attributes asked for, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceEntry<'a> {
    /// Instance ID.
    pub instance: u32,
    /// The attribute values, encoded.
    pub values: &'a [u8],
}

impl Payload for InstanceEntry<'_> {
    fn buffer_len(&self) -> usize {
        4 + self.values.len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.instance)?;
        w.bytes(self.values)?;
        Ok(w.pos())
    }
}

/// An Unconnected Send refused for its route path, as the simulator answers it (and cpppo
/// 5.2.5 before it): the remaining route path size in words, then a reserved byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefusal {
    /// Remaining route path size in words.
    pub remaining_path_size: u8,
    /// Reserved byte (0).
    pub reserved: u8,
}

impl Payload for RouteRefusal {
    fn buffer_len(&self) -> usize {
        2
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.remaining_path_size)?;
        w.u8(self.reserved)?;
        Ok(w.pos())
    }
}

/// Unconnected Send request data as a server reads and forwards it: the embedded request and
/// the route path kept as bytes, decoded by the server only when it needs them (a route path is
/// checked before the request it carries), and any bytes after the route path ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnconnectedSendData<'a> {
    /// Priority (bit 4) and tick time (bits 0..3).
    pub priority_tick: u8,
    /// Timeout in ticks.
    pub timeout_ticks: u8,
    /// The embedded Message Router request's bytes.
    pub message: &'a [u8],
    /// The route path size in words.
    pub route_words: u8,
    /// The reserved byte after the route path size.
    pub reserved: u8,
    /// The route path's bytes (padded EPATH, unchecked; `2 × route_words` of them).
    pub route_path: &'a [u8],
}

impl<'a> UnconnectedSendData<'a> {
    /// Reads the request data; the route path (with its size) must be there.
    pub fn parse(data: &'a [u8]) -> Result<UnconnectedSendData<'a>> {
        let mut r = Reader::new(data);
        let priority_tick = r.u8()?;
        let timeout_ticks = r.u8()?;
        let size = usize::from(r.u16()?);
        let message = r.take(size)?;
        if size % 2 == 1 {
            r.u8()?;
        }
        let route_words = r.u8()?;
        let reserved = r.u8()?;
        let route_path = r.take(2 * usize::from(route_words))?;
        Ok(UnconnectedSendData {
            priority_tick,
            timeout_ticks,
            message,
            route_words,
            reserved,
            route_path,
        })
    }
}

impl Payload for UnconnectedSendData<'_> {
    fn buffer_len(&self) -> usize {
        4 + self.message.len() + self.message.len() % 2 + 2 + self.route_path.len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.priority_tick)?;
        w.u8(self.timeout_ticks)?;
        w.u16(len_u16("embedded message size", self.message.len())?)?;
        w.bytes(self.message)?;
        if self.message.len() % 2 == 1 {
            w.u8(0)?;
        }
        w.u8(self.route_words)?;
        w.u8(self.reserved)?;
        w.bytes(self.route_path)?;
        Ok(w.pos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_a_reply() {
        let st = Status::ext(status::CONNECTION_FAILURE, 0x0107);
        let mut out = vec![0xAA];
        assert_eq!(append(&mut out, &st.reply(0x4E)), Ok(6));
        assert_eq!(out, [0xAA, 0xCE, 0, 0x01, 0x01, 0x07, 0x01]);
        let parsed = MrReply::parse(&out[1..]).unwrap();
        assert_eq!(Status::of(&parsed), st);
        assert_eq!(st.to_string(), "0x01/0x0107");
        assert_eq!(Status::SUCCESS.extended_status(), &[] as &[u8]);
        assert!(Status::default().is_success());
    }

    #[test]
    fn entries_emit_their_fields() {
        let mut out = Vec::new();
        let entry = AttributeEntry {
            id: 7,
            status: 0,
            value: &[1, 2],
        };
        append(&mut out, &entry).unwrap();
        append(
            &mut out,
            &InstanceEntry {
                instance: 0x0102_0304,
                values: &[9],
            },
        )
        .unwrap();
        append(
            &mut out,
            &RouteRefusal {
                remaining_path_size: 2,
                reserved: 0,
            },
        )
        .unwrap();
        assert_eq!(out, [7, 0, 0, 0, 1, 2, 4, 3, 2, 1, 9, 2, 0]);
    }

    #[test]
    fn unconnected_send_data_is_read_leniently() {
        // Odd embedded request (pad byte), route 1/0, then a stray byte.
        let data = [10, 5, 3, 0, 0x0E, 0, 0x99, 0, 1, 0, 1, 0, 0xEE];
        let us = UnconnectedSendData::parse(&data).unwrap();
        assert_eq!(us.message, [0x0E, 0, 0x99]);
        assert_eq!((us.route_path, us.route_words), (&[1u8, 0][..], 1));
        assert!(UnconnectedSendData::parse(&data[..9]).is_err());
        let mut out = Vec::new();
        append(&mut out, &us).unwrap();
        assert_eq!(out, data[..12]);
    }
}
