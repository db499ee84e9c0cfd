//! Attributes: the leaves of the object model, and the hook point for custom behaviour.
//!
//! Every value a client can read or write (a Logix tag, an Identity attribute, a computed
//! clock) is an [`Attribute`]: an array of elements of one CIP data type. The default
//! implementation, [`StoredData`], keeps the elements in memory; implement the trait yourself (or
//! wrap a `StoredData`) to log, compute or forward reads and writes, as cpppo users subclass
//! `device.Attribute`.

use std::sync::RwLock;

use cpppo_cip::DataType;

use cpppo_cip::mr::status;
use cpppo_cip::value::{append_text, elements_len};
use cpppo_cip::{Status, TagType, Value as CipValue};

/// An array of CIP elements of one type that clients can read and (maybe) write.
///
/// Elements travel in their wire encoding: little-endian numbers, SSTRING as a length byte
/// then bytes, STRING as a length word then bytes.
pub trait Attribute: Send + Sync {
    /// The element type.
    fn data_type(&self) -> DataType;

    /// Number of elements.
    fn len(&self) -> usize;

    /// True when the attribute holds no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when it was declared as an array (`NAME=TYPE[LEN]`), so the tag list reports a
    /// dimension.
    fn is_array(&self) -> bool {
        self.len() > 1
    }

    /// Whether clients may write it.
    fn settable(&self) -> bool {
        true
    }

    /// For a tag: its External Access as a Logix lists it (Symbol attribute 10):
    /// [`READ_WRITE`] or [`READ_ONLY`]. A tag that refuses writes answers them itself.
    fn external_access(&self) -> u8 {
        READ_WRITE
    }

    /// Append the encoding of elements `start..start + count` to `out`.
    /// The caller has checked the range against [`Attribute::len`].
    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status>;

    /// Read as [`Attribute::read`] does, for the simulator's own use (a class 1 producer's
    /// cyclic read of its input assembly, a size probe): wrappers that observe client
    /// access (history, printing, hook records) pass it to their inner attribute without
    /// recording it. An attribute whose value is computed on read computes it here too.
    fn peek(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.read(start, count, out)
    }

    /// Replace elements `start..start + count` with `data`, which holds exactly `count`
    /// encoded elements (the caller checked the range and the encoding). A write is seen
    /// whole or not at all by concurrent readers.
    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status>;
}

/// Inside `impl Attribute for W`, where `W` wraps another attribute in a field `inner`, delegate
/// the shape of the attribute (type, length, array-ness, settable, external access) to it
/// (`without external_access`: all but that one); the wrapper then only
/// writes the `read` and `write` hooks it changes. (Exported at the crate root: wrappers in
/// other crates, such as the CLI's `-p` printer, use it too.)
#[macro_export]
macro_rules! delegate_shape_to_inner {
    () => {
        $crate::delegate_shape_to_inner!(without external_access);

        fn external_access(&self) -> u8 {
            self.inner.external_access()
        }
    };
    (without external_access) => {
        fn data_type(&self) -> cpppo_cip::DataType {
            self.inner.data_type()
        }

        fn len(&self) -> usize {
            self.inner.len()
        }

        fn is_array(&self) -> bool {
            self.inner.is_array()
        }

        fn settable(&self) -> bool {
            self.inner.settable()
        }
    };
}

/// External Access (Symbol attribute 10): Read/Write.
pub const READ_WRITE: u8 = 0;

/// External Access (Symbol attribute 10): Read Only.
pub const READ_ONLY: u8 = 2;

/// Status for an element range beyond the end of an attribute.
pub fn out_of_range() -> Status {
    Status::ext(status::GENERAL_ERROR, status::EXT_OUT_OF_RANGE)
}

/// Split `count` encoded string elements into their byte contents.
fn split_strings(ty: DataType, data: &[u8], count: usize) -> Option<Vec<Vec<u8>>> {
    let mut at = 0;
    (0..count)
        .map(|_| {
            let (value, n) = CipValue::parse(ty, data.get(at..)?).ok()?;
            at += n;
            match value {
                CipValue::Sstring(s) | CipValue::String(s) => Some(s.to_vec()),
                _ => None,
            }
        })
        .collect()
}

#[derive(Debug)]
enum Store {
    Fixed(Vec<u8>),
    Strings(Vec<Vec<u8>>),
}

/// The default attribute: a tag's (or object attribute's) stored data, typed elements in
/// memory behind a reader/writer lock.
#[derive(Debug)]
pub struct StoredData {
    ty: DataType,
    len: usize,
    array: bool,
    settable: bool,
    store: RwLock<Store>,
}

impl StoredData {
    /// `len` zeroed (or empty-string) elements of `ty`; `array` marks a declared array.
    pub fn new(ty: DataType, len: usize, array: bool) -> Self {
        let store = match ty.size() {
            Some(size) => Store::Fixed(vec![0; size.saturating_mul(len)]),
            None => Store::Strings(vec![Vec::new(); len]),
        };
        Self {
            ty,
            len,
            array,
            settable: true,
            store: RwLock::new(store),
        }
    }

    /// A read-only attribute holding the given encoded elements (`count` of them).
    /// Returns `None` if `data` is not exactly `count` elements of `ty`.
    pub fn constant(ty: DataType, count: usize, data: &[u8]) -> Option<Self> {
        if elements_len(TagType::Atomic(ty), count, data)? != data.len() {
            return None;
        }
        let v = Self::new(ty, count, count > 1);
        v.write(0, count, data).ok()?;
        Some(Self {
            settable: false,
            ..v
        })
    }

    /// A read-only single SSTRING or STRING.
    pub fn text(ty: DataType, s: &str) -> Self {
        let mut buf = Vec::new();
        append_text(&mut buf, ty, s.as_bytes());
        Self::constant(ty, 1, &buf).unwrap_or_else(|| Self::new(ty, 1, false))
    }

    /// Make a value writable or read-only.
    pub fn with_settable(mut self, settable: bool) -> Self {
        self.settable = settable;
        self
    }
}

impl Attribute for StoredData {
    fn data_type(&self) -> DataType {
        self.ty
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_array(&self) -> bool {
        self.array
    }

    fn settable(&self) -> bool {
        self.settable
    }

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        let store = self
            .store
            .read()
            .map_err(|_| Status::new(status::GENERAL_ERROR))?;
        match &*store {
            Store::Fixed(bytes) => {
                let size = self.ty.size().unwrap_or(1);
                let range =
                    start.saturating_mul(size)..(start.saturating_add(count)).saturating_mul(size);
                out.extend_from_slice(bytes.get(range).ok_or_else(out_of_range)?);
            }
            Store::Strings(items) => {
                let end = start.checked_add(count).ok_or_else(out_of_range)?;
                for s in items.get(start..end).ok_or_else(out_of_range)? {
                    append_text(out, self.ty, s);
                }
            }
        }
        Ok(())
    }

    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        let end = start.checked_add(count).ok_or_else(out_of_range)?;
        if end > self.len {
            return Err(out_of_range());
        }
        // Decode fully before taking the lock: readers see the old or the new value only.
        let strings = match self.ty.size() {
            Some(_) => None,
            None => Some(
                split_strings(self.ty, data, count)
                    .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?,
            ),
        };
        let mut store = self
            .store
            .write()
            .map_err(|_| Status::new(status::GENERAL_ERROR))?;
        match (&mut *store, strings) {
            (Store::Fixed(bytes), _) => {
                let size = self.ty.size().unwrap_or(1);
                let dst = bytes
                    .get_mut(start * size..end * size)
                    .ok_or_else(out_of_range)?;
                let src = data
                    .get(..dst.len())
                    .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
                dst.copy_from_slice(src);
            }
            (Store::Strings(items), Some(new)) => {
                for (slot, s) in items
                    .get_mut(start..end)
                    .unwrap_or_default()
                    .iter_mut()
                    .zip(new)
                {
                    *slot = s;
                }
            }
            (Store::Strings(_), None) => return Err(Status::new(status::GENERAL_ERROR)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_array_reads_and_writes_ranges() {
        let v = StoredData::new(DataType::Int, 4, true);
        v.write(1, 2, &[1, 0, 2, 0]).unwrap();
        let mut out = Vec::new();
        v.read(0, 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 1, 0, 2, 0, 0, 0]);
        assert_eq!(v.write(3, 2, &[0; 4]), Err(out_of_range()));
        assert!(v.read(3, 2, &mut out).is_err());
    }

    #[test]
    fn sstring_elements_round_trip() {
        let v = StoredData::new(DataType::Sstring, 2, true);
        v.write(1, 1, b"\x05Hello").unwrap();
        let mut out = Vec::new();
        v.read(0, 2, &mut out).unwrap();
        assert_eq!(out, b"\x00\x05Hello");
        let len = |ty: DataType, data: &[u8]| elements_len(ty.into(), 1, data);
        assert_eq!(len(DataType::Sstring, b"\x05Hello!!"), Some(6));
        assert_eq!(len(DataType::Sstring, b"\x05Hel"), None);
        assert_eq!(len(DataType::Int, b"\x01\x00\x02"), Some(2));
    }

    #[test]
    fn constants_are_read_only() {
        let v = StoredData::text(DataType::Sstring, "abc");
        assert!(!v.settable());
        let mut out = Vec::new();
        v.read(0, 1, &mut out).unwrap();
        assert_eq!(out, b"\x03abc");
    }
}
