//! Logix tag services: Read/Write Tag and their Fragmented forms, Read-Modify-Write Tag, and
//! the symbol attributes returned by Get Instance Attribute List.

use super::{finish_unless, U16s};
use crate::cursor::{len_u16, Reader, Writer};
use crate::error::{Error, Result};
use crate::types::{DataType, TagType};
use crate::value::{elements_len, Elements};

/// Read Tag `0x4C` request: how many elements to read from the tag (and element) in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTag {
    /// Element count.
    pub elements: u16,
}

impl ReadTag {
    /// Decodes the request data.
    pub fn parse(data: &[u8]) -> Result<ReadTag> {
        Self::parse_with(data, false)
    }

    /// Decodes the request data; `lenient` ignores bytes after the count.
    pub(crate) fn parse_with(data: &[u8], lenient: bool) -> Result<ReadTag> {
        let mut r = Reader::new(data);
        let elements = r.u16()?;
        finish_unless(lenient, &r)?;
        Ok(ReadTag { elements })
    }

    /// Bytes of the request data (2).
    #[inline]
    pub fn buffer_len(&self) -> usize {
        2
    }

    /// Writes the request data.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(self.elements)?;
        Ok(w.pos())
    }
}

/// Read Tag Fragmented `0x52` request: element count and the byte offset to resume from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTagFragmented {
    /// Element count of the whole read.
    pub elements: u16,
    /// Byte offset into the data to start this fragment at.
    pub offset: u32,
}

impl ReadTagFragmented {
    /// Decodes the request data.
    pub fn parse(data: &[u8]) -> Result<ReadTagFragmented> {
        Self::parse_with(data, false)
    }

    /// Decodes the request data; `lenient` ignores bytes after the offset.
    pub(crate) fn parse_with(data: &[u8], lenient: bool) -> Result<ReadTagFragmented> {
        let mut r = Reader::new(data);
        let out = ReadTagFragmented {
            elements: r.u16()?,
            offset: r.u32()?,
        };
        finish_unless(lenient, &r)?;
        Ok(out)
    }

    /// Bytes of the request data (6).
    #[inline]
    pub fn buffer_len(&self) -> usize {
        6
    }

    /// Writes the request data.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(self.elements)?;
        w.u32(self.offset)?;
        Ok(w.pos())
    }
}

/// Write Tag `0x4D` request: type, element count and the element data.
///
/// Bytes after the last element (pycomm3 1.2.16 repeats its whole request in one item) are not
/// an error: they are kept in `trailing` for the server to ignore and for exact re-emission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteTag<'a> {
    /// Type of the data.
    pub data_type: TagType,
    /// Element count.
    pub elements: u16,
    /// Element data (`elements` elements, or everything for a structure this codec cannot
    /// size).
    pub data: &'a [u8],
    /// Bytes after the last element.
    pub trailing: &'a [u8],
}

/// Splits `rest` after `count` elements of `ty`; unsizable types take everything.
fn split_elements(ty: TagType, count: u16, rest: &[u8]) -> Result<(&[u8], &[u8])> {
    let sizable = ty.element_size().is_some()
        || matches!(ty, TagType::Atomic(DataType::Sstring | DataType::String));
    if !sizable {
        return Ok((rest, &[]));
    }
    let len = elements_len(ty, count.into(), rest).ok_or(Error::Truncated {
        needed: rest.len() + 1,
        have: rest.len(),
    })?;
    Ok(rest.split_at(len))
}

impl<'a> WriteTag<'a> {
    /// Decodes the request data.
    pub fn parse(data: &'a [u8]) -> Result<WriteTag<'a>> {
        Self::parse_with(data, false)
    }

    /// Decodes the request data; `lenient` does not split the elements from what follows
    /// them: every byte after the count is in `data` (a server sizes it by the tag's type).
    pub(crate) fn parse_with(data: &'a [u8], lenient: bool) -> Result<WriteTag<'a>> {
        let (data_type, n) = TagType::parse(data)?;
        let mut r = Reader::new(data.get(n..).unwrap_or(&[]));
        let elements = r.u16()?;
        let (data, trailing) = if lenient {
            (r.rest(), &[][..])
        } else {
            split_elements(data_type, elements, r.rest())?
        };
        Ok(WriteTag {
            data_type,
            elements,
            data,
            trailing,
        })
    }

    /// The elements written.
    pub fn values(&self) -> Elements<'a> {
        Elements::new(self.data_type, self.data)
    }

    /// The element data of a leniently parsed request whose elements take `n` bytes, if the
    /// request is whole and exact: at least one element, and nothing after the last one except
    /// pycomm3 1.2.16's repeat of the whole request (service code, path and this same request
    /// data again; sent connected, the repeat begins with the 2-byte sequence count too),
    /// which real controllers accept. `None`: refuse it (cpppo answers
    /// 0xFF/0x2105).
    pub fn exact_elements(&self, n: usize) -> Option<&'a [u8]> {
        if self.elements == 0 {
            return None;
        }
        let (elements, extra) = (self.data.get(..n)?, self.data.get(n..)?);
        let repeat = |e: &[u8]| self.repeated_in(elements, e);
        let sequenced = extra.get(2..).is_some_and(repeat);
        (extra.is_empty() || repeat(extra) || sequenced).then_some(elements)
    }

    /// Whether `extra` is `0x4D`, a path (its size in words, then the words) and this
    /// request's data again with `elements` as its element data.
    fn repeated_in(&self, elements: &[u8], extra: &[u8]) -> bool {
        let first = WriteTag {
            data: elements,
            trailing: &[],
            ..*self
        };
        let mut again = vec![0u8; first.buffer_len()];
        let Ok(len) = first.emit(&mut again) else {
            return false;
        };
        match extra {
            [super::code::WRITE_TAG, words, rest @ ..] => {
                rest.len() == 2 * usize::from(*words) + len && rest.ends_with(&again[..len])
            }
            _ => false,
        }
    }

    /// Bytes of the request data.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.data_type.buffer_len() + 2 + self.data.len() + self.trailing.len()
    }

    /// Writes the request data.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.nested(|t| self.data_type.emit(t))?;
        w.u16(self.elements)?;
        w.bytes(self.data)?;
        w.bytes(self.trailing)?;
        Ok(w.pos())
    }
}

/// Write Tag Fragmented `0x53` request: type, total element count, byte offset and this
/// fragment's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteTagFragmented<'a> {
    /// Type of the data.
    pub data_type: TagType,
    /// Element count of the whole write.
    pub elements: u16,
    /// Byte offset of this fragment.
    pub offset: u32,
    /// This fragment's bytes.
    pub data: &'a [u8],
}

impl<'a> WriteTagFragmented<'a> {
    /// Decodes the request data.
    pub fn parse(data: &'a [u8]) -> Result<WriteTagFragmented<'a>> {
        let (data_type, n) = TagType::parse(data)?;
        let mut r = Reader::new(data.get(n..).unwrap_or(&[]));
        Ok(WriteTagFragmented {
            data_type,
            elements: r.u16()?,
            offset: r.u32()?,
            data: r.take_rest(),
        })
    }

    /// Bytes of the request data.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.data_type.buffer_len() + 6 + self.data.len()
    }

    /// Writes the request data.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.nested(|t| self.data_type.emit(t))?;
        w.u16(self.elements)?;
        w.u32(self.offset)?;
        w.bytes(self.data)?;
        Ok(w.pos())
    }
}

/// Read-Modify-Write Tag `0x4E` request: OR and AND masks of equal size (1, 2, 4, 8 or 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadModifyWrite<'a> {
    /// Bits to set.
    pub or_mask: &'a [u8],
    /// Bits to keep (zero bits are cleared).
    pub and_mask: &'a [u8],
}

impl<'a> ReadModifyWrite<'a> {
    /// Decodes the request data.
    pub fn parse(data: &'a [u8]) -> Result<ReadModifyWrite<'a>> {
        Self::parse_with(data, false)
    }

    /// Decodes the request data; `lenient` accepts masks of any size (the tag's type decides)
    /// and ignores bytes after the masks.
    pub(crate) fn parse_with(data: &'a [u8], lenient: bool) -> Result<ReadModifyWrite<'a>> {
        let mut r = Reader::new(data);
        let size = usize::from(r.u16()?);
        if !lenient && !matches!(size, 1 | 2 | 4 | 8 | 12) {
            return Err(Error::Unsupported {
                what: "read-modify-write mask size",
                value: size as u32,
            });
        }
        let out = ReadModifyWrite {
            or_mask: r.take(size)?,
            and_mask: r.take(size)?,
        };
        finish_unless(lenient, &r)?;
        Ok(out)
    }

    /// Bytes of the request data.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        2 + self.or_mask.len() + self.and_mask.len()
    }

    /// Writes the request data.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if self.or_mask.len() != self.and_mask.len() {
            return Err(Error::Malformed(
                "read-modify-write masks of different sizes",
            ));
        }
        let mut w = Writer::new(buf);
        w.u16(len_u16("mask size", self.or_mask.len())?)?;
        w.bytes(self.or_mask)?;
        w.bytes(self.and_mask)?;
        Ok(w.pos())
    }
}

/// Read Tag / Read Tag Fragmented reply data: the type, then element bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagData<'a> {
    /// Type of the data.
    pub data_type: TagType,
    /// Element bytes (a fragment of them, for Read Tag Fragmented).
    pub data: &'a [u8],
}

impl<'a> TagData<'a> {
    /// Decodes reply data.
    pub fn parse(data: &'a [u8]) -> Result<TagData<'a>> {
        let (data_type, n) = TagType::parse(data)?;
        Ok(TagData {
            data_type,
            data: data.get(n..).unwrap_or(&[]),
        })
    }

    /// The elements.
    pub fn values(&self) -> Elements<'a> {
        Elements::new(self.data_type, self.data)
    }

    /// Bytes of the reply data.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.data_type.buffer_len() + self.data.len()
    }

    /// Writes the reply data.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.nested(|t| self.data_type.emit(t))?;
        w.bytes(self.data)?;
        Ok(w.pos())
    }
}

impl crate::mr::Payload for TagData<'_> {
    #[inline]
    fn buffer_len(&self) -> usize {
        TagData::buffer_len(self)
    }

    #[inline]
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        TagData::emit(self, buf)
    }
}

/// Logix symbol-object (class `0x6B`) attribute IDs clients ask for with Get Instance Attribute
/// List.
pub mod symbol_attr {
    /// Symbol name: UINT length, then the characters.
    pub const NAME: u16 = 1;
    /// Symbol type: UINT (type code, array and structure bits).
    pub const TYPE: u16 = 2;
    /// Symbol address: UDINT.
    pub const ADDRESS: u16 = 3;
    /// Symbol object address: UDINT.
    pub const OBJECT_ADDRESS: u16 = 5;
    /// Software control: UDINT.
    pub const SOFTWARE_CONTROL: u16 = 6;
    /// Element size in bytes: UINT.
    pub const ELEMENT_SIZE: u16 = 7;
    /// Array dimensions: three UDINTs.
    pub const DIMENSIONS: u16 = 8;
    /// External access: USINT.
    pub const EXTERNAL_ACCESS: u16 = 10;
}

/// Bytes a symbol attribute's value occupies at the start of `data`, or `None` if the attribute
/// is unknown or `data` is too short.
pub fn symbol_attribute_len(attribute: u16, data: &[u8]) -> Option<usize> {
    let len = match attribute {
        symbol_attr::NAME => {
            let n = data.get(..2)?;
            2 + usize::from(u16::from_le_bytes([n[0], n[1]]))
        }
        symbol_attr::TYPE | symbol_attr::ELEMENT_SIZE => 2,
        symbol_attr::ADDRESS | symbol_attr::OBJECT_ADDRESS | symbol_attr::SOFTWARE_CONTROL => 4,
        symbol_attr::DIMENSIONS => 12,
        symbol_attr::EXTERNAL_ACCESS => 1,
        _ => return None,
    };
    (len <= data.len()).then_some(len)
}

/// Symbol type bits (attribute 2): the dimension count of an array tag.
pub const SYMBOL_TYPE_DIMS_SHIFT: u16 = 13;
/// Symbol type bit: the tag is a structure (the low 12 bits are its template instance).
pub const SYMBOL_TYPE_STRUCT: u16 = 0x8000;

/// The Logix symbol type (attribute 2) of an atomic tag with `dimensions` array dimensions
/// (0 for a scalar, at most 3): the type code in the low bits, the dimension count in bits 13-14.
pub fn atomic_symbol_type(ty: DataType, dimensions: u8) -> u16 {
    (ty.code() & 0x00FF) | (u16::from(dimensions.min(3)) << SYMBOL_TYPE_DIMS_SHIFT)
}

/// One tag as Get Instance Attribute List on the symbol class reports it; emits the attributes
/// a request asked for, in its order, after the instance ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SymbolEntry<'a> {
    /// Instance ID of the symbol object.
    pub instance: u32,
    /// Tag name (attribute 1).
    pub name: &'a [u8],
    /// Symbol type (attribute 2; see [`atomic_symbol_type`]).
    pub symbol_type: u16,
    /// Symbol address (attribute 3).
    pub address: u32,
    /// Symbol object address (attribute 5).
    pub object_address: u32,
    /// Software control (attribute 6).
    pub software_control: u32,
    /// Element size in bytes (attribute 7).
    pub element_size: u16,
    /// Array dimensions (attribute 8; 0 for unused dimensions).
    pub dimensions: [u32; 3],
    /// External access (attribute 10; 0 = read/write).
    pub external_access: u8,
}

impl SymbolEntry<'_> {
    /// Bytes of this entry with `attributes`, or `None` if one of them is unknown.
    pub fn buffer_len(&self, attributes: U16s<'_>) -> Option<usize> {
        attributes.iter().try_fold(4, |n, a| {
            let len = match a {
                symbol_attr::NAME => 2 + self.name.len(),
                other => symbol_attribute_len(other, &[0; 12])?,
            };
            Some(n + len)
        })
    }

    /// Writes the instance ID and `attributes`; an unknown attribute is
    /// [`Error::Unsupported`].
    pub fn emit(&self, attributes: U16s<'_>, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.instance)?;
        for attr in attributes.iter() {
            match attr {
                symbol_attr::NAME => {
                    w.u16(len_u16("symbol name", self.name.len())?)?;
                    w.bytes(self.name)?;
                }
                symbol_attr::TYPE => w.u16(self.symbol_type)?,
                symbol_attr::ADDRESS => w.u32(self.address)?,
                symbol_attr::OBJECT_ADDRESS => w.u32(self.object_address)?,
                symbol_attr::SOFTWARE_CONTROL => w.u32(self.software_control)?,
                symbol_attr::ELEMENT_SIZE => w.u16(self.element_size)?,
                symbol_attr::DIMENSIONS => self.dimensions.iter().try_for_each(|d| w.u32(*d))?,
                symbol_attr::EXTERNAL_ACCESS => w.u8(self.external_access)?,
                other => {
                    return Err(Error::Unsupported {
                        what: "symbol attribute",
                        value: other.into(),
                    })
                }
            }
        }
        Ok(w.pos())
    }
}

/// Iterator over the entries of a Get Instance Attribute List reply on the symbol class: each
/// is the instance ID and the bytes of the requested attributes, in request order.
#[derive(Debug, Clone)]
pub struct InstanceEntries<'a> {
    attributes: U16s<'a>,
    rest: &'a [u8],
}

impl<'a> InstanceEntries<'a> {
    /// Entries of reply `data` for a request that asked for `attributes`.
    pub fn new(attributes: U16s<'a>, data: &'a [u8]) -> InstanceEntries<'a> {
        InstanceEntries {
            attributes,
            rest: data,
        }
    }

    fn step(&mut self) -> Result<(u32, &'a [u8])> {
        let mut r = Reader::new(self.rest);
        let instance = r.u32()?;
        let start = r.pos();
        for attr in self.attributes.iter() {
            let n = symbol_attribute_len(attr, r.rest()).ok_or(Error::Unsupported {
                what: "symbol attribute (unknown or truncated)",
                value: attr.into(),
            })?;
            r.take(n)?;
        }
        let attrs = self.rest.get(start..r.pos()).unwrap_or(&[]);
        self.rest = r.rest();
        Ok((instance, attrs))
    }
}

impl<'a> Iterator for InstanceEntries<'a> {
    type Item = Result<(u32, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let out = self.step();
        if out.is_err() {
            self.rest = &[];
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_tag_keeps_trailing_bytes() {
        // pycomm3 1.2.16: the request data followed by a repeat of the whole request.
        let data = [0xC3, 0x00, 0x01, 0x00, 0x7B, 0x00, 0x4D, 0x05, 0x91];
        let w = WriteTag::parse(&data).unwrap();
        assert_eq!(w.data_type, TagType::Atomic(DataType::Int));
        assert_eq!(
            (w.elements, w.data, w.trailing),
            (1, &data[4..6], &data[6..])
        );
        let mut buf = [0u8; 16];
        assert_eq!(w.emit(&mut buf), Ok(data.len()));
        assert_eq!(buf[..data.len()], data);
        assert!(WriteTag::parse(&[0xC4, 0x00, 0x02, 0x00, 1, 0, 0, 0]).is_err());
    }

    #[test]
    fn write_tag_strings_and_structs() {
        let data = [0xDA, 0x00, 0x01, 0x00, 0x02, b'H', b'i'];
        let w = WriteTag::parse(&data).unwrap();
        assert_eq!((w.data, w.trailing), (&data[4..], &[][..]));
        let s = [0xA0, 0x02, 0x34, 0x12, 0x01, 0x00, 9, 9, 9];
        let w = WriteTag::parse(&s).unwrap();
        assert_eq!(w.data_type, TagType::Struct(0x1234));
        assert_eq!(w.data, &s[6..]);
    }

    #[test]
    fn fixed_requests_reject_extra_bytes() {
        assert_eq!(ReadTag::parse(&[1, 0]), Ok(ReadTag { elements: 1 }));
        assert!(ReadTag::parse(&[1, 0, 0]).is_err());
        assert!(ReadTag::parse(&[1]).is_err());
        let f = ReadTagFragmented::parse(&[0xE8, 0x03, 0xE8, 0x01, 0, 0]).unwrap();
        assert_eq!((f.elements, f.offset), (1000, 488));
        let rmw = ReadModifyWrite::parse(&[2, 0, 1, 0, 0xFF, 0xFE]).unwrap();
        assert_eq!(
            (rmw.or_mask, rmw.and_mask),
            (&[1, 0][..], &[0xFF, 0xFE][..])
        );
        assert!(ReadModifyWrite::parse(&[3, 0, 1, 2, 3, 4, 5, 6]).is_err());
    }

    #[test]
    fn lenient_requests_ignore_extra_bytes_but_not_missing_ones() {
        assert_eq!(
            ReadTag::parse_with(&[1, 0, 0], true),
            Ok(ReadTag { elements: 1 })
        );
        assert!(ReadTag::parse_with(&[1], true).is_err());
        let f = ReadTagFragmented::parse_with(&[2, 0, 4, 0, 0, 0, 9], true).unwrap();
        assert_eq!((f.elements, f.offset), (2, 4));
        assert!(ReadTagFragmented::parse_with(&[2, 0, 4, 0, 0], true).is_err());
        // A 3-byte mask is left for the server to refuse by the tag's type.
        let rmw = ReadModifyWrite::parse_with(&[3, 0, 1, 2, 3, 4, 5, 6, 7], true).unwrap();
        assert_eq!(
            (rmw.or_mask, rmw.and_mask),
            (&[1, 2, 3][..], &[4, 5, 6][..])
        );
        assert!(ReadModifyWrite::parse_with(&[3, 0, 1, 2, 3, 4, 5], true).is_err());
    }

    #[test]
    fn write_tag_data_must_match_its_count_but_for_pycomm3s_repeat() {
        let lenient = |d: &'static [u8]| WriteTag::parse_with(d, true).unwrap();
        // One INT, exactly.
        assert_eq!(
            lenient(&[0xC3, 0x00, 0x01, 0x00, 0x7B, 0x00]).exact_elements(2),
            Some(&[0x7B, 0x00][..])
        );
        // Count 0, and two INTs under a count of 1: refused.
        assert_eq!(lenient(&[0xC3, 0x00, 0x00, 0x00]).exact_elements(0), None);
        assert_eq!(
            lenient(&[0xC3, 0x00, 0x01, 0x00, 0x7B, 0x00, 0x7C, 0x00]).exact_elements(2),
            None
        );
        // pycomm3 1.2.16: service 0x4D, path "SCADA" (4 words), then the same data again.
        let doubled: &'static [u8] = &[
            0xC3, 0x00, 0x01, 0x00, 0x7B, 0x00, // the request data
            0x4D, 0x04, 0x91, 0x05, b'S', b'C', b'A', b'D', b'A', 0x00, // service and path
            0xC3, 0x00, 0x01, 0x00, 0x7B, 0x00, // the same data
        ];
        assert_eq!(lenient(doubled).exact_elements(2), Some(&[0x7B, 0x00][..]));
        // Sent connected, the repeat carries the sequence count too.
        let mut connected = doubled[..6].to_vec();
        connected.extend_from_slice(&[0x03, 0x00]);
        connected.extend_from_slice(&doubled[6..]);
        let connected: &'static [u8] = Box::leak(connected.into_boxed_slice());
        assert_eq!(
            lenient(connected).exact_elements(2),
            Some(&[0x7B, 0x00][..])
        );
        // A repeat with another value is not pycomm3's.
        let mut other = doubled.to_vec();
        *other.last_mut().unwrap() = 0x01;
        let other: &'static [u8] = Box::leak(other.into_boxed_slice());
        assert_eq!(lenient(other).exact_elements(2), None);
    }

    #[test]
    fn lenient_write_tag_leaves_the_data_unsplit() {
        // Two INTs announced, one sent: the server, not the codec, finds it short.
        let data = [0xC3, 0x00, 0x02, 0x00, 0x7B, 0x00];
        assert!(WriteTag::parse(&data).is_err());
        let w = WriteTag::parse_with(&data, true).unwrap();
        assert_eq!((w.elements, w.data, w.trailing), (2, &data[4..], &[][..]));
        assert!(WriteTag::parse_with(&[0xC3, 0x00, 0x02], true).is_err());
    }

    #[test]
    fn instance_entries() {
        let attrs = [symbol_attr::NAME, symbol_attr::TYPE];
        let mut data = vec![];
        data.extend_from_slice(&7u32.to_le_bytes());
        data.extend_from_slice(&[5, 0, b'S', b'C', b'A', b'D', b'A', 0xC3, 0x20]);
        data.extend_from_slice(&9u32.to_le_bytes());
        data.extend_from_slice(&[1, 0, b'X', 0xC4, 0x00]);
        let got: Vec<_> = InstanceEntries::new(U16s::Values(&attrs), &data).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], Ok((9, &[1, 0, b'X', 0xC4, 0x00][..])));
        let bad: Vec<_> = InstanceEntries::new(U16s::Values(&[99]), &data).collect();
        assert!(bad[0].is_err());
    }

    #[test]
    fn symbol_entries_emit_what_was_asked() {
        // pycomm3 asks for 1, 2, 3, 5, 6, 8, 10.
        let attrs = U16s::Values(&[1, 2, 3, 5, 6, 8, 10]);
        let entry = SymbolEntry {
            instance: 3,
            name: b"SCADA",
            symbol_type: atomic_symbol_type(DataType::Int, 1),
            dimensions: [1000, 0, 0],
            ..SymbolEntry::default()
        };
        assert_eq!(entry.symbol_type, 0x20C3);
        let mut buf = [0u8; 64];
        let n = entry.emit(attrs, &mut buf).unwrap();
        assert_eq!(Some(n), entry.buffer_len(attrs));
        assert_eq!(n, 4 + 7 + 2 + 4 + 4 + 4 + 12 + 1);
        let got: Vec<_> = InstanceEntries::new(attrs, &buf[..n]).collect();
        assert_eq!(got, [Ok((3, &buf[4..n]))]);
        assert!(entry.emit(U16s::Values(&[4]), &mut buf).is_err());
        assert_eq!(entry.buffer_len(U16s::Values(&[4])), None);
    }
}
