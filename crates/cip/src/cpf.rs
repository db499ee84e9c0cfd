//! Common Packet Format (CPF): the item list inside SendRRData, SendUnitData and List* replies.
//!
//! ```text
//! item count  u16
//! item[i]     type id u16, length u16, `length` bytes of data
//! ```
//!
//! [`Packet`] is a checked view: [`Packet::new_checked`] walks the item headers and verifies that
//! exactly `count` items fill the buffer, so iterating cannot go out of bounds. [`Repr`] is the
//! decoded list: up to [`MAX_ITEMS`] [`Item`]s, held inline (no heap allocation) and borrowing
//! their payloads from the input.
//!
//! ```
//! use cpppo_cip::cpf::{Item, Repr};
//! let cpf = Repr::from_items(&[Item::NullAddress, Item::UnconnectedData(&[0x4c, 0x00])]).unwrap();
//! let bytes = cpf.to_vec().unwrap();
//! assert_eq!(bytes, [2, 0, 0, 0, 0, 0, 0xb2, 0, 2, 0, 0x4c, 0]);
//! let back = Repr::parse_bytes(&bytes).unwrap();
//! assert_eq!(back.unconnected_data(), Some(&[0x4c, 0x00][..]));
//! ```

use crate::cursor::{len_u16, Reader, Writer};
use crate::error::{Error, Result};
use crate::list::{Identity, LegacyAddress, Service, Sockaddr};

/// The most items a [`Repr`] holds. A SendRRData carries two (address + data), plus at most two
/// sockaddr items around a Forward Open; List* replies carry one per interface. A list that
/// claims more is answered with encapsulation status 0x0003 (incorrect data).
pub const MAX_ITEMS: usize = 8;

/// CPF item type ids.
pub mod type_id {
    /// Null address (unconnected messages).
    pub const NULL_ADDRESS: u16 = 0x0000;
    /// Reply item of the legacy command 0x0001.
    pub const LEGACY: u16 = 0x0001;
    /// CIP Identity (ListIdentity reply).
    pub const IDENTITY: u16 = 0x000C;
    /// Connected address: connection id.
    pub const CONNECTED_ADDRESS: u16 = 0x00A1;
    /// Connected data: sequence count + CIP message.
    pub const CONNECTED_DATA: u16 = 0x00B1;
    /// Unconnected data: a CIP message.
    pub const UNCONNECTED_DATA: u16 = 0x00B2;
    /// Communications service (ListServices reply).
    pub const SERVICE: u16 = 0x0100;
    /// Sockaddr info, originator to target.
    pub const SOCKADDR_O2T: u16 = 0x8000;
    /// Sockaddr info, target to originator.
    pub const SOCKADDR_T2O: u16 = 0x8001;
    /// Sequenced address: connection id + sequence number.
    pub const SEQUENCED_ADDRESS: u16 = 0x8002;
}

/// A checked view of a CPF list.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it; accessors then return nothing for missing bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Verifies that the item count is followed by exactly that many complete items and nothing
    /// else, and that the count is at most [`MAX_ITEMS`].
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        let mut r = Reader::new(buf);
        let count = r.u16()?;
        if usize::from(count) > MAX_ITEMS {
            return Err(Error::TooLong {
                what: "CPF item count",
                len: count.into(),
                limit: MAX_ITEMS,
            });
        }
        for _ in 0..count {
            let _type = r.u16()?;
            let len = r.u16()?;
            r.take(len.into())?;
        }
        r.finish("CPF trailing bytes after the last item")
    }

    /// The item count.
    pub fn item_count(&self) -> u16 {
        Reader::new(self.buffer.as_ref()).u16().unwrap_or(0)
    }

    /// The items as `(type id, data)`, in order; stops early on a short unchecked buffer.
    pub fn items(&self) -> RawItems<'_> {
        let mut r = Reader::new(self.buffer.as_ref());
        let left = r.u16().unwrap_or(0);
        RawItems { r, left }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// Iterator over `(type id, data)` of a [`Packet`]'s items.
#[derive(Debug, Clone)]
pub struct RawItems<'a> {
    r: Reader<'a>,
    left: u16,
}

impl<'a> Iterator for RawItems<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        let type_id = self.r.u16().ok()?;
        let len = self.r.u16().ok()?;
        let data = self.r.take(len.into()).ok()?;
        Some((type_id, data))
    }
}

/// One decoded CPF item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Item<'a> {
    /// `0x0000`, no data.
    #[default]
    NullAddress,
    /// `0x00A1`: the connection id.
    ConnectedAddress {
        /// Connection id.
        connection_id: u32,
    },
    /// `0x8002`: connection id and sequence number.
    SequencedAddress {
        /// Connection id.
        connection_id: u32,
        /// Sequence number.
        sequence: u32,
    },
    /// `0x00B1`: the 2-byte connection sequence count, then the CIP message.
    ConnectedData {
        /// Sequence count.
        sequence: u16,
        /// The CIP message.
        data: &'a [u8],
    },
    /// `0x00B2`: a CIP message.
    UnconnectedData(&'a [u8]),
    /// `0x000C`: a ListIdentity reply item.
    Identity(Identity<'a>),
    /// `0x0100`: a ListServices reply item.
    Service(Service<'a>),
    /// `0x0001`: the legacy command 0x0001 reply item.
    Legacy(LegacyAddress),
    /// `0x8000`: sockaddr info, originator to target.
    SockaddrO2T(Sockaddr),
    /// `0x8001`: sockaddr info, target to originator.
    SockaddrT2O(Sockaddr),
    /// Any other type, kept as it came so it re-emits identically.
    Unknown {
        /// Item type id (not one of the known ones above).
        type_id: u16,
        /// Item data.
        data: &'a [u8],
    },
}

impl<'a> Item<'a> {
    /// Decodes the data of an item of type `type_id`. Known types must have their exact length.
    pub fn parse(type_id: u16, data: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(data);
        let item = match type_id {
            type_id::NULL_ADDRESS => Item::NullAddress,
            type_id::CONNECTED_ADDRESS => Item::ConnectedAddress {
                connection_id: r.u32()?,
            },
            type_id::SEQUENCED_ADDRESS => Item::SequencedAddress {
                connection_id: r.u32()?,
                sequence: r.u32()?,
            },
            type_id::CONNECTED_DATA => Item::ConnectedData {
                sequence: r.u16()?,
                data: r.take_rest(),
            },
            type_id::UNCONNECTED_DATA => Item::UnconnectedData(r.take_rest()),
            type_id::IDENTITY => Item::Identity(Identity::parse(r.take_rest())?),
            type_id::SERVICE => Item::Service(Service::parse(r.take_rest())?),
            type_id::LEGACY => Item::Legacy(LegacyAddress::parse(r.take_rest())?),
            type_id::SOCKADDR_O2T => Item::SockaddrO2T(Sockaddr::parse(r.take_rest())?),
            type_id::SOCKADDR_T2O => Item::SockaddrT2O(Sockaddr::parse(r.take_rest())?),
            _ => Item::Unknown {
                type_id,
                data: r.take_rest(),
            },
        };
        r.finish("CPF item length")?;
        Ok(item)
    }

    /// The type id this item is sent with.
    pub fn type_id(&self) -> u16 {
        match self {
            Item::NullAddress => type_id::NULL_ADDRESS,
            Item::ConnectedAddress { .. } => type_id::CONNECTED_ADDRESS,
            Item::SequencedAddress { .. } => type_id::SEQUENCED_ADDRESS,
            Item::ConnectedData { .. } => type_id::CONNECTED_DATA,
            Item::UnconnectedData(_) => type_id::UNCONNECTED_DATA,
            Item::Identity(_) => type_id::IDENTITY,
            Item::Service(_) => type_id::SERVICE,
            Item::Legacy(_) => type_id::LEGACY,
            Item::SockaddrO2T(_) => type_id::SOCKADDR_O2T,
            Item::SockaddrT2O(_) => type_id::SOCKADDR_T2O,
            Item::Unknown { type_id, .. } => *type_id,
        }
    }

    /// Length of the item's data (the item's length field).
    pub fn data_len(&self) -> usize {
        match self {
            Item::NullAddress => 0,
            Item::ConnectedAddress { .. } => 4,
            Item::SequencedAddress { .. } => 8,
            Item::ConnectedData { data, .. } => 2 + data.len(),
            Item::UnconnectedData(data) | Item::Unknown { data, .. } => data.len(),
            Item::Identity(id) => id.buffer_len(),
            Item::Service(s) => s.buffer_len(),
            Item::Legacy(_) => LegacyAddress::LEN,
            Item::SockaddrO2T(_) | Item::SockaddrT2O(_) => Sockaddr::LEN,
        }
    }

    /// Bytes [`Item::emit`] writes: 4 header bytes plus the data.
    pub fn buffer_len(&self) -> usize {
        4 + self.data_len()
    }

    /// Writes type id, length and data into `buf`, returning the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let data_len = self.data_len();
        let len = len_u16("CPF item", data_len)?;
        let mut w = Writer::checked(buf, 4 + data_len)?;
        let [t0, t1] = self.type_id().to_le_bytes();
        let [l0, l1] = len.to_le_bytes();
        w.bytes(&[t0, t1, l0, l1])?;
        match self {
            Item::NullAddress => {}
            Item::ConnectedAddress { connection_id } => w.u32(*connection_id)?,
            Item::SequencedAddress {
                connection_id,
                sequence,
            } => {
                w.u32(*connection_id)?;
                w.u32(*sequence)?;
            }
            Item::ConnectedData { sequence, data } => {
                w.u16(*sequence)?;
                w.bytes(data)?;
            }
            Item::UnconnectedData(data) | Item::Unknown { data, .. } => w.bytes(data)?,
            Item::Identity(id) => w.nested(|b| id.emit(b))?,
            Item::Service(s) => w.nested(|b| s.emit(b))?,
            Item::Legacy(l) => w.nested(|b| l.emit(b))?,
            Item::SockaddrO2T(s) | Item::SockaddrT2O(s) => w.nested(|b| s.emit(b))?,
        }
        Ok(w.pos())
    }
}

/// A decoded CPF list of at most [`MAX_ITEMS`] items, held inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Repr<'a> {
    len: usize,
    items: [Item<'a>; MAX_ITEMS],
}

impl<'a> Repr<'a> {
    /// An empty list (item count 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of `items`; [`Error::TooLong`] beyond [`MAX_ITEMS`].
    pub fn from_items(items: &[Item<'a>]) -> Result<Self> {
        let mut out = Self::new();
        for item in items {
            out.push(*item)?;
        }
        Ok(out)
    }

    /// Appends an item; [`Error::TooLong`] when the list is full.
    pub fn push(&mut self, item: Item<'a>) -> Result<()> {
        let slot = self.items.get_mut(self.len).ok_or(Error::TooLong {
            what: "CPF item count",
            len: self.len + 1,
            limit: MAX_ITEMS,
        })?;
        *slot = item;
        self.len += 1;
        Ok(())
    }

    /// The items, in order.
    pub fn items(&self) -> &[Item<'a>] {
        self.items.get(..self.len).unwrap_or_default()
    }

    /// Decodes the items of a checked packet.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        let mut out = Self::new();
        let mut items = RawItems {
            r: Reader::new(packet.buffer.as_ref()),
            left: 0,
        };
        items.left = items.r.u16()?;
        for (type_id, data) in items {
            out.push(Item::parse(type_id, data)?)?;
        }
        if out.len != usize::from(packet.item_count()) {
            return Err(Error::Malformed("CPF item count"));
        }
        Ok(out)
    }

    /// Checks `buf` as a [`Packet`] and decodes it; all of `buf` must be used.
    #[inline]
    pub fn parse_bytes(buf: &'a [u8]) -> Result<Self> {
        Self::parse(&Packet::new_checked(buf)?)
    }

    /// Bytes [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        items_len(self.items())
    }

    /// Writes the count and the items into `buf`, returning the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        emit_items(self.items(), buf)
    }

    /// The emitted bytes in a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        crate::cursor::emitted(self.buffer_len(), |buf| self.emit(buf))
    }

    /// The CIP message of the first unconnected data item (`0x00B2`).
    pub fn unconnected_data(&self) -> Option<&'a [u8]> {
        unconnected_data(self.items())
    }

    /// Sequence count and CIP message of the first connected data item (`0x00B1`).
    pub fn connected_data(&self) -> Option<(u16, &'a [u8])> {
        connected_data(self.items())
    }

    /// The connection id of the first connected (`0x00A1`) or sequenced (`0x8002`) address item.
    pub fn connection_id(&self) -> Option<u32> {
        connection_id(self.items())
    }
}

/// The CIP message of the first unconnected data item (`0x00B2`) of `items`.
pub fn unconnected_data<'a>(items: &[Item<'a>]) -> Option<&'a [u8]> {
    items.iter().find_map(|i| match i {
        Item::UnconnectedData(d) => Some(*d),
        _ => None,
    })
}

/// Sequence count and CIP message of the first connected data item (`0x00B1`) of `items`.
pub fn connected_data<'a>(items: &[Item<'a>]) -> Option<(u16, &'a [u8])> {
    items.iter().find_map(|i| match i {
        Item::ConnectedData { sequence, data } => Some((*sequence, *data)),
        _ => None,
    })
}

/// The connection id of the first connected (`0x00A1`) or sequenced (`0x8002`) address item
/// of `items`.
pub fn connection_id(items: &[Item<'_>]) -> Option<u32> {
    items.iter().find_map(|i| match i {
        Item::ConnectedAddress { connection_id } | Item::SequencedAddress { connection_id, .. } => {
            Some(*connection_id)
        }
        _ => None,
    })
}

/// Bytes [`emit_items`] writes for `items`: the count and each item.
pub fn items_len(items: &[Item<'_>]) -> usize {
    2 + items.iter().map(Item::buffer_len).sum::<usize>()
}

/// Writes a CPF list of `items` (count, then each item) into `buf`, returning the bytes
/// written: what [`Repr::emit`] writes for the same items, without building a [`Repr`].
pub fn emit_items(items: &[Item<'_>], buf: &mut [u8]) -> Result<usize> {
    let mut w = Writer::checked(buf, items_len(items))?;
    w.u16(len_u16("CPF item count", items.len())?)?;
    for item in items {
        w.nested(|b| item.emit(b))?;
    }
    Ok(w.pos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_send_unit_data_items() {
        // From pycomm3_write_tag: A1 address (connection id) + B1 data (sequence 3).
        let bytes = [
            2, 0, 0xa1, 0, 4, 0, 0x1f, 0x23, 0x47, 0xe1, 0xb1, 0, 4, 0, 3, 0, 0xcd, 0,
        ];
        let cpf = Repr::parse_bytes(&bytes).unwrap();
        assert_eq!(cpf.connection_id(), Some(0xe147_231f));
        assert_eq!(cpf.connected_data(), Some((3, &[0xcd, 0][..])));
        assert_eq!(cpf.to_vec().unwrap(), bytes);
    }

    #[test]
    fn inconsistent_lists_are_errors() {
        // count says 2, only one item present
        assert!(Repr::parse_bytes(&[2, 0, 0, 0, 0, 0]).is_err());
        // trailing byte after the last item
        assert!(Repr::parse_bytes(&[1, 0, 0, 0, 0, 0, 9]).is_err());
        // item length runs past the end
        assert!(Repr::parse_bytes(&[1, 0, 0xb2, 0, 5, 0, 1]).is_err());
        // null address with data, connected address too short
        assert_eq!(
            Repr::parse_bytes(&[1, 0, 0, 0, 1, 0, 7]),
            Err(Error::Malformed("CPF item length"))
        );
        assert!(Repr::parse_bytes(&[1, 0, 0xa1, 0, 2, 0, 1, 2]).is_err());
        // too many items
        let mut many = vec![9, 0];
        many.extend([0u8; 36]);
        assert!(matches!(
            Repr::parse_bytes(&many),
            Err(Error::TooLong {
                limit: MAX_ITEMS,
                ..
            })
        ));
    }

    #[test]
    fn unknown_items_re_emit_identically() {
        let bytes = [1, 0, 0x34, 0x12, 3, 0, 1, 2, 3];
        let cpf = Repr::parse_bytes(&bytes).unwrap();
        assert_eq!(
            cpf.items(),
            &[Item::Unknown {
                type_id: 0x1234,
                data: &[1, 2, 3]
            }]
        );
        assert_eq!(cpf.to_vec().unwrap(), bytes);
    }

    #[test]
    fn full_list_rejects_one_more() {
        let mut cpf = Repr::from_items(&[Item::NullAddress; MAX_ITEMS]).unwrap();
        assert!(cpf.push(Item::NullAddress).is_err());
        assert_eq!(cpf.items().len(), MAX_ITEMS);
    }
}
