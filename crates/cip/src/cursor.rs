//! The byte cursors every decoder and encoder of this crate reads and writes wire fields with.
//!
//! Numbers are little-endian (as CIP and the encapsulation carry them) unless the method name
//! ends in `_be` (socket addresses). A read past the end returns [`Error::Truncated`] and a write
//! past the end [`Error::BufferTooSmall`]; neither panics.

use crate::error::{Error, Result};

/// Reads fields one after another from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes read so far.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The bytes not read yet (without reading them).
    #[inline]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Reads the next `n` bytes; [`Error::Malformed`] if `n` overflows the position.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(Error::Malformed("length overflow"))?;
        let out = self.buf.get(self.pos..end).ok_or(Error::Truncated {
            needed: end,
            have: self.buf.len(),
        })?;
        self.pos = end;
        Ok(out)
    }

    /// Reads everything not read yet.
    #[inline]
    pub(crate) fn take_rest(&mut self) -> &'a [u8] {
        let out = self.rest();
        self.pos = self.buf.len();
        out
    }

    /// Reads the next `N` bytes as an array.
    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Fails with [`Error::Malformed`] naming `what` if bytes are left over.
    #[inline]
    pub(crate) fn finish(&self, what: &'static str) -> Result<()> {
        if self.rest().is_empty() {
            Ok(())
        } else {
            Err(Error::Malformed(what))
        }
    }

    /// Reads a `u8`.
    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    /// Reads a `u16`.
    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a `u32`.
    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a `u64`.
    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a big-endian `u16`.
    #[inline]
    pub(crate) fn u16_be(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian `i16`.
    #[inline]
    pub(crate) fn i16_be(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }
}

/// Writes fields one after another into a byte slice.
#[derive(Debug)]
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    /// A writer at the start of `buf`; each write checks the room it needs.
    #[inline]
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// A writer over `buf`, or [`Error::BufferTooSmall`] for the whole of `needed` up front
    /// if `buf` is shorter.
    #[inline]
    pub(crate) fn checked(buf: &'b mut [u8], needed: usize) -> Result<Self> {
        if buf.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                have: buf.len(),
            });
        }
        Ok(Writer::new(buf))
    }

    /// Bytes written so far.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Runs a nested encoder on the unwritten tail and advances past what it says it wrote.
    #[inline]
    pub(crate) fn nested(&mut self, f: impl FnOnce(&mut [u8]) -> Result<usize>) -> Result<()> {
        let n = f(self.buf.get_mut(self.pos..).unwrap_or_default())?;
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
        Ok(())
    }

    /// Writes `src`.
    #[inline]
    pub(crate) fn bytes(&mut self, src: &[u8]) -> Result<()> {
        let have = self.buf.len();
        let end = self.pos.saturating_add(src.len());
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall { needed: end, have })?;
        dst.copy_from_slice(src);
        self.pos = end;
        Ok(())
    }

    /// Overwrites already-written bytes at `at` (ignored if out of range).
    #[inline]
    pub(crate) fn patch(&mut self, at: usize, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(at..at.saturating_add(bytes.len())) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Writes a `u8`.
    #[inline]
    pub(crate) fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }

    /// Writes a `u16`.
    #[inline]
    pub(crate) fn u16(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Writes a `u32`.
    #[inline]
    pub(crate) fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Writes a `u64`.
    #[inline]
    pub(crate) fn u64(&mut self, v: u64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Writes a big-endian `u16`.
    #[inline]
    pub(crate) fn u16_be(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes a big-endian `i16`.
    #[inline]
    pub(crate) fn i16_be(&mut self, v: i16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }
}

/// A length as the u16 the wire carries, or [`Error::TooLong`] naming `what`.
#[inline]
pub(crate) fn len_u16(what: &'static str, len: usize) -> Result<u16> {
    u16::try_from(len).map_err(|_| Error::TooLong {
        what,
        len,
        limit: u16::MAX as usize,
    })
}

/// The bytes `emit` writes into a buffer of `len` bytes, in a new vector of exactly their
/// length (what every `to_vec` of an emitted type returns).
pub(crate) fn emitted(
    len: usize,
    emit: impl FnOnce(&mut [u8]) -> Result<usize>,
) -> Result<Vec<u8>> {
    let mut out = vec![0; len];
    let n = emit(&mut out)?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_unless_told_and_reports_the_shortfall() {
        let mut r = Reader::new(&[0x34, 0x12, 0x12, 0x34, 0xFF]);
        assert_eq!(r.u16(), Ok(0x1234));
        assert_eq!(r.u16_be(), Ok(0x1234));
        assert_eq!(r.pos(), 4);
        assert_eq!(r.finish("tail"), Err(Error::Malformed("tail")));
        assert_eq!(r.u16(), Err(Error::Truncated { needed: 6, have: 5 }));
        assert_eq!(r.take(usize::MAX), Err(Error::Malformed("length overflow")));
        assert_eq!(r.rest(), &[0xFF]);
        assert_eq!(r.take_rest(), &[0xFF]);
        assert_eq!(r.finish("tail"), Ok(()));
    }

    #[test]
    fn writes_report_the_room_they_need() {
        let mut buf = [0u8; 3];
        assert_eq!(
            Writer::checked(&mut buf, 4).map(|w| w.pos()),
            Err(Error::BufferTooSmall { needed: 4, have: 3 })
        );
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.i16_be(-2), Ok(()));
        assert_eq!(w.u16(1), Err(Error::BufferTooSmall { needed: 4, have: 3 }));
        assert_eq!(w.nested(|b| Ok(b.len())), Ok(()));
        w.patch(0, &[7]);
        assert_eq!(w.pos(), 3);
        assert_eq!(buf, [7, 0xFE, 0]);
    }
}
