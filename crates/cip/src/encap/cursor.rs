//! Bounds-checked little helpers for reading and writing wire fields.
//!
//! Every read returns [`Error::Truncated`] instead of panicking when the input is short, and every
//! write returns [`Error::BufferTooSmall`] when the output is short.

use crate::error::{Error, Result};

/// Reads fields one after another from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated {
            needed: usize::MAX,
            have: self.buf.len(),
        })?;
        let out = self.buf.get(self.pos..end).ok_or(Error::Truncated {
            needed: end,
            have: self.buf.len(),
        })?;
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub(crate) fn u16_le(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32_le(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u16_be(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn i16_be(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    /// Fails with [`Error::Malformed`] naming `what` if bytes are left over.
    pub(crate) fn finish(&self, what: &'static str) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(Error::Malformed(what))
        }
    }
}

/// Writes fields one after another into a byte slice.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer over `buf`, which must hold at least `needed` bytes.
    pub(crate) fn new(buf: &'a mut [u8], needed: usize) -> Result<Self> {
        if buf.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                have: buf.len(),
            });
        }
        Ok(Writer { buf, pos: 0 })
    }

    /// Bytes written so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The unwritten tail, for nested encoders; call [`Writer::advance`] afterwards.
    pub(crate) fn tail(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.pos..).unwrap_or_default()
    }

    /// Skips `n` bytes written through [`Writer::tail`].
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
    }

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

    pub(crate) fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }

    pub(crate) fn u16_le(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u32_le(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u16_be(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn i16_be(&mut self, v: i16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }
}

/// A length as the u16 the wire carries, or [`Error::TooLong`] naming `what`.
pub(crate) fn len_u16(what: &'static str, len: usize) -> Result<u16> {
    u16::try_from(len).map_err(|_| Error::TooLong {
        what,
        len,
        limit: u16::MAX as usize,
    })
}
