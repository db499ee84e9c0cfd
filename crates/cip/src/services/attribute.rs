//! Attribute services: Get Attribute List `0x03`, Set Attribute List `0x04` and the attribute
//! ID list of Get Instance Attribute List `0x55`.
//!
//! Get Attributes All, Get Attribute Single and Set Attribute Single carry no structure of
//! their own (no data, or the attribute's value bytes) and are handled in [`super::Service`].
//! The values in attribute lists are sized by the attribute's type, which only the object model
//! knows: the entry iterators take a sizing function.

use super::{finish_unless, U16s};
use crate::cursor::{len_u16, Reader, Writer};
use crate::error::{Error, Result};

/// A count-prefixed list of attribute IDs (Get Attribute List, Get Instance Attribute List).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeIds<'a> {
    /// The attribute IDs.
    pub ids: U16s<'a>,
}

impl<'a> AttributeIds<'a> {
    /// Decodes the request data: UINT count, then that many UINT IDs.
    pub fn parse(data: &'a [u8]) -> Result<AttributeIds<'a>> {
        Self::parse_with(data, false)
    }

    /// Decodes the request data; `lenient` ignores bytes after the last ID.
    pub(crate) fn parse_with(data: &'a [u8], lenient: bool) -> Result<AttributeIds<'a>> {
        let mut r = Reader::new(data);
        let count = usize::from(r.u16()?);
        let ids = U16s::parse(&mut r, count)?;
        finish_unless(lenient, &r)?;
        Ok(AttributeIds { ids })
    }

    /// Bytes of the request data.
    pub fn buffer_len(&self) -> usize {
        2 + 2 * self.ids.len()
    }

    /// Writes the request data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(len_u16("attribute count", self.ids.len())?)?;
        self.ids.emit(&mut w)?;
        Ok(w.pos())
    }
}

/// Walks `count` entries of `data`: each is a UINT attribute ID, a fixed `head` of bytes
/// (the status, in replies) and then a value sized by `value_len(id, head, rest)`.
fn walk(
    count: u16,
    data: &[u8],
    head: usize,
    mut value_len: impl FnMut(u16, &[u8], &[u8]) -> Option<usize>,
) -> impl Iterator<Item = Result<(u16, &[u8], &[u8])>> {
    let mut r = Reader::new(data);
    let mut failed = false;
    (0..count).map_while(move |_| {
        if failed {
            return None;
        }
        let step = (|| {
            let id = r.u16()?;
            let h = r.take(head)?;
            let n = value_len(id, h, r.rest()).ok_or(Error::Unsupported {
                what: "attribute value size",
                value: id.into(),
            })?;
            Ok((id, h, r.take(n)?))
        })();
        failed = step.is_err();
        Some(step)
    })
}

/// Set Attribute List `0x04` request: count, then (attribute ID, value) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetAttributeList<'a> {
    /// Number of attributes.
    pub count: u16,
    /// The (ID, value) pairs, undecoded.
    pub data: &'a [u8],
}

impl<'a> SetAttributeList<'a> {
    /// Decodes the request data.
    pub fn parse(data: &'a [u8]) -> Result<SetAttributeList<'a>> {
        let mut r = Reader::new(data);
        Ok(SetAttributeList {
            count: r.u16()?,
            data: r.take_rest(),
        })
    }

    /// The (ID, value) pairs; `value_len(id, rest)` gives the size of attribute `id`'s value.
    pub fn entries(
        &self,
        mut value_len: impl FnMut(u16, &[u8]) -> Option<usize>,
    ) -> impl Iterator<Item = Result<(u16, &'a [u8])>> {
        walk(self.count, self.data, 0, move |id, _, rest| {
            value_len(id, rest)
        })
        .map(|e| e.map(|(id, _, v)| (id, v)))
    }

    /// A cursor over the (ID, value) pairs for a server that sizes and applies each value in
    /// turn, so that it can answer for every attribute up to the first it cannot size.
    pub fn cursor(&self) -> SetAttributeCursor<'a> {
        SetAttributeCursor {
            r: Reader::new(self.data),
            left: self.count,
        }
    }

    /// Bytes of the request data.
    pub fn buffer_len(&self) -> usize {
        2 + self.data.len()
    }

    /// Writes the request data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(self.count)?;
        w.bytes(self.data)?;
        Ok(w.pos())
    }
}

/// Reads a Set Attribute List request one attribute at a time: its ID, then its value once the
/// caller knows the value's size (see [`SetAttributeList::cursor`]).
#[derive(Debug, Clone)]
pub struct SetAttributeCursor<'a> {
    r: Reader<'a>,
    left: u16,
}

impl<'a> SetAttributeCursor<'a> {
    /// The next attribute ID: `None` after the request's count of them, an error if the data
    /// ends first.
    pub fn next_id(&mut self) -> Option<Result<u16>> {
        self.left = self.left.checked_sub(1)?;
        Some(self.r.u16())
    }

    /// The bytes not read yet: the current attribute's value starts here.
    pub fn rest(&self) -> &'a [u8] {
        self.r.rest()
    }

    /// Takes the next `n` bytes as the current attribute's value.
    pub fn value(&mut self, n: usize) -> Result<&'a [u8]> {
        self.r.take(n)
    }
}

/// Get / Set Attribute List reply: count, then per attribute its ID, a UINT status and (Get,
/// status 0 only) its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeListReply<'a> {
    /// Number of attributes.
    pub count: u16,
    /// The entries, undecoded.
    pub data: &'a [u8],
}

impl<'a> AttributeListReply<'a> {
    /// Decodes reply data.
    pub fn parse(data: &'a [u8]) -> Result<AttributeListReply<'a>> {
        let mut r = Reader::new(data);
        Ok(AttributeListReply {
            count: r.u16()?,
            data: r.take_rest(),
        })
    }

    /// Entries of a Get Attribute List reply: (ID, status, value). `value_len(id, rest)` sizes
    /// the value of a successful attribute; failed ones carry no value.
    pub fn get_entries(
        &self,
        mut value_len: impl FnMut(u16, &[u8]) -> Option<usize>,
    ) -> impl Iterator<Item = Result<(u16, u16, &'a [u8])>> {
        walk(self.count, self.data, 2, move |id, head, rest| {
            if head == [0, 0] {
                value_len(id, rest)
            } else {
                Some(0)
            }
        })
        .map(|e| e.map(|(id, h, v)| (id, u16::from_le_bytes([h[0], h[1]]), v)))
    }

    /// Entries of a Set Attribute List reply: (ID, status).
    pub fn set_entries(&self) -> impl Iterator<Item = Result<(u16, u16)>> + 'a {
        walk(self.count, self.data, 2, |_, _, _| Some(0))
            .map(|e| e.map(|(id, h, _)| (id, u16::from_le_bytes([h[0], h[1]]))))
    }

    /// Bytes of the reply data.
    pub fn buffer_len(&self) -> usize {
        2 + self.data.len()
    }

    /// Writes the reply data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(self.count)?;
        w.bytes(self.data)?;
        Ok(w.pos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_ids() {
        let data = [3, 0, 1, 0, 2, 0, 8, 0];
        let ids = AttributeIds::parse(&data).unwrap();
        assert_eq!(ids.ids.iter().collect::<Vec<_>>(), [1, 2, 8]);
        assert_eq!(
            ids,
            AttributeIds {
                ids: U16s::Values(&[1, 2, 8])
            }
        );
        let mut buf = [0u8; 8];
        assert_eq!(ids.emit(&mut buf), Ok(8));
        assert_eq!(buf, data);
        assert!(AttributeIds::parse(&[2, 0, 1, 0]).is_err());
        assert!(AttributeIds::parse(&[1, 0, 1, 0, 0]).is_err());
        // A server ignores what follows the IDs, but not missing ones.
        let lenient = AttributeIds::parse_with(&[1, 0, 1, 0, 0], true).unwrap();
        assert_eq!(lenient.ids.iter().collect::<Vec<_>>(), [1]);
        assert!(AttributeIds::parse_with(&[2, 0, 1, 0], true).is_err());
    }

    #[test]
    fn get_attribute_list_reply_entries() {
        // Wall clock: attribute 6 not supported (0x16); attribute 11 = 8-byte time.
        let data = [2, 0, 6, 0, 0x16, 0, 11, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        let rep = AttributeListReply::parse(&data).unwrap();
        let got: Vec<_> = rep.get_entries(|_, _| Some(8)).collect();
        assert_eq!(got[0], Ok((6, 0x16, &[][..])));
        assert_eq!(got[1], Ok((11, 0, &data[10..])));
        let short: Vec<_> = rep.get_entries(|_, _| Some(9)).collect();
        assert!(short[1].is_err());
    }

    #[test]
    fn set_attribute_list_entries() {
        let data = [1, 0, 3, 0, 0, 0, 0x60, 0x40];
        let req = SetAttributeList::parse(&data).unwrap();
        let got: Vec<_> = req.entries(|_, _| Some(4)).collect();
        assert_eq!(got, [Ok((3, &data[4..]))]);
        let mut cur = req.cursor();
        assert_eq!(cur.next_id(), Some(Ok(3)));
        assert_eq!(cur.rest(), &data[4..]);
        assert_eq!(cur.value(4), Ok(&data[4..]));
        assert_eq!(cur.next_id(), None);
        let mut short = SetAttributeList::parse(&[2, 0, 3, 0, 1]).unwrap().cursor();
        assert_eq!(short.next_id(), Some(Ok(3)));
        assert!(short.value(2).is_err());
        assert!(matches!(
            short.next_id(),
            Some(Err(Error::Truncated { .. }))
        ));
        let rep = AttributeListReply::parse(&[1, 0, 3, 0, 0x0E, 0]).unwrap();
        assert_eq!(rep.set_entries().collect::<Vec<_>>(), [Ok((3, 0x0E))]);
    }
}
