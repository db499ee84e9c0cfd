//! A session's memory of the last plain tag read it answered, keyed by the request's bytes.
//!
//! A lock-step client asks the same question over and over: the same Read Tag, often inside
//! the same Unconnected Send, byte for byte. The object model's shape (its tags, classes and
//! attributes) never changes while it is served, so what such a request names can be decided
//! once; a repeat of the same bytes is then answered by reading the attribute again, with no
//! decoding. The value itself is read afresh every time, through the attribute and its hooks
//! (history, delays, Python callbacks, the web API's guard), so a write from anywhere is seen
//! by the next read.

use cpppo_cip::Status;

use crate::server::services::PlainRead;

/// A request message decided once: a plain tag read, maybe inside an Unconnected Send.
pub(crate) struct Known {
    /// What it reads.
    pub read: PlainRead,
    /// The service of the message itself (Unconnected Send when the read is inside one).
    pub outer: u8,
    /// The reply size limit the read gets whatever the envelope's (inside an Unconnected
    /// Send: the unconnected limit).
    pub limit: Option<usize>,
}

impl Known {
    /// Read and append the reply, within `limit` (the envelope's) unless the message has its own.
    pub fn answer(&self, limit: usize, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Status {
        self.read.answer(self.limit.unwrap_or(limit), scratch, out)
    }
}

/// The last message decided, and its bytes.
#[derive(Default)]
pub(crate) struct Repeat {
    message: Vec<u8>,
    known: Option<Known>,
}

impl Repeat {
    /// The last message's decision when `message` repeats its bytes exactly; taken out, so
    /// give it back with [`Repeat::keep`].
    #[inline]
    pub fn take(&mut self, message: &[u8]) -> Option<Known> {
        if self.known.is_some() && self.message == message {
            self.known.take()
        } else {
            None
        }
    }

    /// Give back what [`Repeat::take`] took.
    pub fn keep(&mut self, known: Known) {
        self.known = Some(known);
    }

    /// Remember `known` for a repeat of `message`.
    pub fn remember(&mut self, message: &[u8], known: Known) {
        self.message.clear();
        self.message.extend_from_slice(message);
        self.known = Some(known);
    }
}
