//! Multiple Service Packet `0x0A` (to the Message Router, `@2/1`) and its `0x8A` reply.
//!
//! Both carry `count (UINT) | count offsets (UINT, from the start of the count) | items`, where
//! each request item is a whole Message Router request and each reply item a whole reply. A
//! received packet borrows its bytes (the offset table is validated once, the items are decoded
//! on demand, so one bad sub-request does not spoil the others); a packet to send is either a
//! slice of items or written in place by [`MspWriter`] without building a list first.

use super::{Reply, Request};
use crate::cursor::{len_u16, Reader, Writer};
use crate::error::{Error, Result};
use crate::mr::{MrReply, Payload};

/// A validated offset table over received bytes (starting at the count field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table<'a> {
    count: u16,
    bytes: &'a [u8],
}

impl<'a> Table<'a> {
    /// Validates the count and offset table at the start of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Table<'a>> {
        Self::parse_with(bytes, false)
    }

    /// Validates the table; `lenient` lets the first offset point into the table itself
    /// (offsets still ascend and stay within `bytes`).
    pub(crate) fn parse_with(bytes: &'a [u8], lenient: bool) -> Result<Table<'a>> {
        let mut r = Reader::new(bytes);
        let count = r.u16()?;
        let header = 2 + 2 * usize::from(count);
        let mut prev = if lenient { 0 } else { header };
        // A short table is truncated, whatever the offsets read so far say.
        let mut r = Reader::new(r.take(2 * usize::from(count))?);
        for _ in 0..count {
            let off = usize::from(r.u16()?);
            if off < prev || off > bytes.len() {
                return Err(Error::Malformed("multiple service packet offset"));
            }
            prev = off;
        }
        Ok(Table { count, bytes })
    }

    /// Number of items.
    pub fn count(&self) -> u16 {
        self.count
    }

    fn offset(&self, i: usize) -> usize {
        let at = 2 + 2 * i;
        self.bytes.get(at..at + 2).map_or(self.bytes.len(), |o| {
            usize::from(u16::from_le_bytes([o[0], o[1]]))
        })
    }

    /// The bytes of item `i` (empty if out of range).
    pub fn item(&self, i: usize) -> &'a [u8] {
        if i >= usize::from(self.count) {
            return &[];
        }
        let end = if i + 1 == usize::from(self.count) {
            self.bytes.len()
        } else {
            self.offset(i + 1)
        };
        self.bytes.get(self.offset(i)..end).unwrap_or(&[])
    }

    /// The bytes of every item, in order.
    pub fn items(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let t = *self;
        (0..usize::from(t.count)).map(move |i| t.item(i))
    }
}

/// Writes `count | offsets | items` for `items` (each a [`Payload`]).
fn emit_list<T: Payload>(items: &[T], buf: &mut [u8]) -> Result<usize> {
    let mut w = MspWriter::new(buf, items.len())?;
    for item in items {
        w.push(|t| item.emit(t))?;
    }
    w.finish()
}

fn list_len<T: Payload>(items: &[T]) -> usize {
    2 + items.iter().map(|i| 2 + i.buffer_len()).sum::<usize>()
}

/// Items of a packet: received bytes or a caller's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Items<'a, T> {
    /// A validated table over received bytes.
    Wire(Table<'a>),
    /// Items to send.
    List(&'a [T]),
}

/// Multiple Service Packet request data.
#[derive(Debug, Clone, Copy)]
pub struct MspRequest<'a> {
    /// The sub-requests.
    pub items: Items<'a, Request<'a>>,
}

impl<'a> MspRequest<'a> {
    /// Decodes the request data (validates the offset table only).
    pub fn parse(data: &'a [u8]) -> Result<MspRequest<'a>> {
        Self::parse_with(data, false)
    }

    /// Decodes the request data; `lenient` as in [`Table`]'s lenient parse.
    pub(crate) fn parse_with(data: &'a [u8], lenient: bool) -> Result<MspRequest<'a>> {
        Ok(MspRequest {
            items: Items::Wire(Table::parse_with(data, lenient)?),
        })
    }

    /// The validated offset table of a received packet (`None` for a built one).
    pub fn table(&self) -> Option<Table<'a>> {
        match self.items {
            Items::Wire(t) => Some(t),
            Items::List(_) => None,
        }
    }

    /// A packet of `requests`.
    pub fn from_requests(requests: &'a [Request<'a>]) -> MspRequest<'a> {
        MspRequest {
            items: Items::List(requests),
        }
    }

    /// Number of sub-requests.
    pub fn len(&self) -> usize {
        match self.items {
            Items::Wire(t) => t.count().into(),
            Items::List(l) => l.len(),
        }
    }

    /// True if there are no sub-requests.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sub-requests, each decoded (per its own class and service) or an error.
    pub fn requests(&self) -> impl Iterator<Item = Result<Request<'a>>> + 'a {
        let (table, list) = split(self.items);
        table
            .into_iter()
            .flat_map(|t| t.items())
            .map(Request::parse_bytes)
            .chain(list.iter().copied().map(Ok))
    }

    /// Bytes of the request data.
    pub fn buffer_len(&self) -> usize {
        match self.items {
            Items::Wire(t) => t.bytes.len(),
            Items::List(l) => list_len(l),
        }
    }

    /// Writes the request data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        match self.items {
            Items::Wire(t) => t.bytes.emit(buf),
            Items::List(l) => emit_list(l, buf),
        }
    }
}

fn split<'a, T>(items: Items<'a, T>) -> (Option<Table<'a>>, &'a [T]) {
    match items {
        Items::Wire(t) => (Some(t), &[]),
        Items::List(l) => (None, l),
    }
}

impl PartialEq for MspRequest<'_> {
    fn eq(&self, other: &MspRequest<'_>) -> bool {
        self.len() == other.len() && self.requests().eq(other.requests())
    }
}

/// Multiple Service Packet reply data.
#[derive(Debug, Clone, Copy)]
pub struct MspReply<'a> {
    /// The sub-replies.
    pub items: Items<'a, Reply<'a>>,
}

impl<'a> MspReply<'a> {
    /// Decodes the reply data (validates the offset table only).
    pub fn parse(data: &'a [u8]) -> Result<MspReply<'a>> {
        Ok(MspReply {
            items: Items::Wire(Table::parse(data)?),
        })
    }

    /// A packet of `replies`.
    pub fn from_replies(replies: &'a [Reply<'a>]) -> MspReply<'a> {
        MspReply {
            items: Items::List(replies),
        }
    }

    /// Number of sub-replies.
    pub fn len(&self) -> usize {
        match self.items {
            Items::Wire(t) => t.count().into(),
            Items::List(l) => l.len(),
        }
    }

    /// True if there are no sub-replies.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sub-replies, each decoded as a reply to a non-Connection-Manager request.
    pub fn replies(&self) -> impl Iterator<Item = Result<Reply<'a>>> + 'a {
        let (table, list) = split(self.items);
        table
            .into_iter()
            .flat_map(|t| t.items())
            .map(|b| Reply::parse(None, &MrReply::parse(b)?))
            .chain(list.iter().copied().map(Ok))
    }

    /// Bytes of the reply data.
    pub fn buffer_len(&self) -> usize {
        match self.items {
            Items::Wire(t) => t.bytes.len(),
            Items::List(l) => list_len(l),
        }
    }

    /// Writes the reply data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        match self.items {
            Items::Wire(t) => t.bytes.emit(buf),
            Items::List(l) => emit_list(l, buf),
        }
    }
}

impl PartialEq for MspReply<'_> {
    fn eq(&self, other: &MspReply<'_>) -> bool {
        self.len() == other.len() && self.replies().eq(other.replies())
    }
}

impl Eq for MspReply<'_> {}

impl Payload for Request<'_> {
    #[inline]
    fn buffer_len(&self) -> usize {
        Request::buffer_len(self)
    }

    #[inline]
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        Request::emit(self, buf)
    }
}

impl Payload for Reply<'_> {
    #[inline]
    fn buffer_len(&self) -> usize {
        Reply::buffer_len(self)
    }

    #[inline]
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        Reply::emit(self, buf)
    }
}

/// Writes a Multiple Service Packet body (request or reply data) in place: the count and offset
/// table first, then each item as it is pushed.
///
/// ```
/// use cpppo_cip::mr::MrReply;
/// use cpppo_cip::services::MspWriter;
/// let mut buf = [0u8; 64];
/// let mut w = MspWriter::new(&mut buf, 2)?;
/// w.push(|t| MrReply::success(0x4D, &[]).emit(t))?;
/// w.push(|t| MrReply::success(0x4D, &[]).emit(t))?;
/// let n = w.finish()?;
/// assert_eq!(buf[..n], [2, 0, 6, 0, 10, 0, 0xCD, 0, 0, 0, 0xCD, 0, 0, 0]);
/// # Ok::<(), cpppo_cip::Error>(())
/// ```
#[derive(Debug)]
pub struct MspWriter<'b> {
    w: Writer<'b>,
    count: usize,
    pushed: usize,
}

impl<'b> MspWriter<'b> {
    /// Starts a packet of `count` items in `buf`.
    pub fn new(buf: &'b mut [u8], count: usize) -> Result<MspWriter<'b>> {
        let mut w = Writer::new(buf);
        w.u16(len_u16("multiple service packet count", count)?)?;
        for _ in 0..count {
            w.u16(0)?;
        }
        Ok(MspWriter {
            w,
            count,
            pushed: 0,
        })
    }

    /// Appends the next item, written by `emit` into the free tail (returning its length).
    pub fn push(&mut self, emit: impl FnOnce(&mut [u8]) -> Result<usize>) -> Result<()> {
        if self.pushed >= self.count {
            return Err(Error::Malformed(
                "more multiple service packet items than counted",
            ));
        }
        let off = len_u16("multiple service packet offset", self.w.pos())?;
        self.w.nested(emit)?;
        let slot = 2 + 2 * self.pushed;
        self.w.patch(slot, &off.to_le_bytes());
        self.pushed += 1;
        Ok(())
    }

    /// Finishes the packet; returns its total length.
    pub fn finish(self) -> Result<usize> {
        if self.pushed != self.count {
            return Err(Error::Malformed(
                "fewer multiple service packet items than counted",
            ));
        }
        Ok(self.w.pos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epath::{EPath, Padding, Segment};
    use crate::services::{ReadTag, Service};

    #[test]
    fn offsets_are_validated() {
        assert!(Table::parse(&[1, 0, 4, 0]).is_ok());
        assert!(Table::parse(&[1, 0, 3, 0]).is_err());
        assert!(Table::parse(&[1, 0, 5, 0]).is_err());
        assert!(Table::parse(&[2, 0, 6, 0]).is_err());
        assert!(Table::parse(&[2, 0, 6, 0, 4, 0]).is_err());
        // Leniently, an offset may point into the table, but must still ascend and fit.
        let t = Table::parse_with(&[1, 0, 0, 0], true).unwrap();
        assert_eq!(t.item(0), &[1, 0, 0, 0]);
        assert!(Table::parse_with(&[2, 0, 6, 0, 4, 0], true).is_err());
        assert!(Table::parse_with(&[1, 0, 5, 0], true).is_err());
        assert!(matches!(
            Table::parse_with(&[3, 0, 0xFF, 0xFF, 6, 0], true),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn built_and_parsed_agree() {
        let segs = [Segment::Symbolic(b"SCADA"), Segment::element(1)];
        let path = EPath::from_segments(&segs, Padding::Padded);
        let reqs = [
            Request {
                path,
                service: Service::ReadTag(ReadTag { elements: 1 }),
            },
            Request {
                path,
                service: Service::GetAttributeSingle(&[]),
            },
        ];
        let msp = MspRequest::from_requests(&reqs);
        let mut buf = [0u8; 64];
        let n = msp.emit(&mut buf).unwrap();
        assert_eq!(n, msp.buffer_len());
        let parsed = MspRequest::parse(&buf[..n]).unwrap();
        assert_eq!(parsed, msp);
        assert_eq!(parsed.requests().count(), 2);
    }

    #[test]
    fn writer_counts_items() {
        let mut buf = [0u8; 16];
        let w = MspWriter::new(&mut buf, 1).unwrap();
        assert!(w.finish().is_err());
        let mut w = MspWriter::new(&mut buf, 0).unwrap();
        assert!(w.push(|_| Ok(0)).is_err());
    }
}
