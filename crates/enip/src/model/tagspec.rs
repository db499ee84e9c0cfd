//! Tag specifications from the command line: `NAME=TYPE[LEN]`, `NAME=TYPE`,
//! `NAME@CLASS/INSTANCE/ATTRIBUTE=TYPE[LEN]`; with Logix types also `Grid=DINT[4,5]`,
//! `M1=Motor`, `Motors=Motor[10]` and program-scoped `Program:Main.Count=DINT`.
//! In Logix mode (`types` given) `Flags=BOOL[64]` is stored as Logix stores it: `DWORD[2]`.

use std::sync::Arc;

use cpppo_cip::DataType;

use crate::model::logix_type::{LogixType, TagLayout, Types};

/// The most elements one tag may have.
pub const MAX_ELEMENTS: usize = 1 << 20;

/// Where a tag's attribute lives in the object model, when given with `@c/i/a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    /// Class id.
    pub class: u16,
    /// Instance id.
    pub instance: u32,
    /// Attribute id.
    pub attribute: u16,
}

/// A parsed tag specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSpec {
    /// Tag name as given.
    pub name: String,
    /// Element type.
    pub ty: DataType,
    /// Number of elements (1 for a scalar).
    pub len: usize,
    /// Declared with `[LEN]`.
    pub array: bool,
    /// Explicit object-model address.
    pub address: Option<Address>,
    /// The Logix shape, for structures and multi-dimensional arrays (their data is then
    /// `len` elements of `ty`: SINT bytes for structures).
    pub layout: Option<Arc<TagLayout>>,
}

/// A tag specification that could not be parsed: the message names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad tag {spec:?}: {why}")]
pub struct TagSpecError {
    /// The whole specification.
    pub spec: String,
    /// What is wrong with it.
    pub why: String,
}

/// Parse a number in decimal, `0x` hex, `0o` octal or `0b` binary.
pub fn parse_number(s: &str) -> Option<u64> {
    let t = s.trim();
    let (digits, radix) = match t.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => (t.get(2..)?, 16),
        Some("0o") => (t.get(2..)?, 8),
        Some("0b") => (t.get(2..)?, 2),
        _ => (t, 10),
    };
    u64::from_str_radix(digits, radix).ok()
}

fn valid_name(name: &str) -> bool {
    // A program-scoped tag: `Program:NAME.TAG`.
    if name
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("Program:"))
    {
        return match name.get(8..).and_then(|r| r.split_once('.')) {
            Some((program, tag)) => valid_base(program) && valid_base(tag),
            None => false,
        };
    }
    valid_base(name)
}

fn valid_base(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 40
}

impl TagSpec {
    /// Parse one specification (atomic types and the built-in `STRING` structure only as
    /// `STRING`'s CIP form; see [`TagSpec::parse_with`]).
    pub fn parse(spec: &str) -> Result<TagSpec, TagSpecError> {
        Self::parse_with(spec, None)
    }

    /// Parse one specification whose type may be one of `types`' structures (`STRING`
    /// then means the Logix structure).
    pub fn parse_with(spec: &str, types: Option<&Types>) -> Result<TagSpec, TagSpecError> {
        let err = |why: String| TagSpecError {
            spec: spec.to_string(),
            why,
        };
        let (lhs, rhs) = spec.split_once('=').unwrap_or((spec, "INT"));
        let (name, address) = match lhs.split_once('@') {
            Some((name, addr)) => (name, Some(parse_address(addr).map_err(err)?)),
            None => (lhs, None),
        };
        if !valid_name(name) {
            return Err(err(format!(
                "tag name {name:?} must be a letter or _ then letters, digits or _ (at most 40)"
            )));
        }
        let (type_name, dims) = match rhs.split_once('[') {
            Some((t, rest)) => {
                let n = rest
                    .strip_suffix(']')
                    .ok_or_else(|| err(format!("missing ']' in {rhs:?}")))?;
                let dims = n
                    .split(',')
                    .map(|d| {
                        parse_number(d)
                            .and_then(|n| usize::try_from(n).ok())
                            .filter(|n| (1..=MAX_ELEMENTS).contains(n))
                            .ok_or_else(|| {
                                err(format!(
                                    "length {:?} is not a number from 1 to {MAX_ELEMENTS}",
                                    d.trim()
                                ))
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if dims.len() > 3 {
                    return Err(err(format!("{n:?}: at most 3 dimensions")));
                }
                (t.trim(), dims)
            }
            None => (rhs.trim(), Vec::new()),
        };
        let elements = dims
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .filter(|n| *n <= MAX_ELEMENTS)
            .ok_or_else(|| err(format!("more than {MAX_ELEMENTS} elements")))?;
        let mut logix = types.and_then(|t| t.get(type_name));
        let mut dims = dims;
        let mut elements = elements;
        if logix == Some(LogixType::Atomic(DataType::Bool)) && !dims.is_empty() {
            // A Logix BOOL array is stored, listed and addressed as DWORDs of 32 bits.
            if dims.len() > 1 {
                return Err(err(format!("{type_name}: a BOOL array has one dimension")));
            }
            elements = bool_array_words(elements);
            dims = vec![elements];
            logix = Some(LogixType::Atomic(DataType::Dword));
        }
        let ty = match &logix {
            Some(LogixType::Atomic(t)) => Some(*t),
            Some(LogixType::Struct(_)) => Some(DataType::Sint),
            None => DataType::from_name(type_name),
        }
        .ok_or_else(|| {
            err(format!(
                "unknown type {type_name:?} (SINT INT DINT LINT USINT UINT UDINT ULINT REAL LREAL BOOL SSTRING STRING or a --udt structure)"
            ))
        })?;
        let (len, layout) = match logix {
            Some(LogixType::Struct(u)) => {
                let bytes = (u.size as usize)
                    .checked_mul(elements)
                    .filter(|n| *n <= MAX_STRUCT_BYTES)
                    .ok_or_else(|| err(format!("more than {MAX_STRUCT_BYTES} bytes")))?;
                (bytes, Some(LogixType::Struct(u)))
            }
            Some(t) if dims.len() > 1 || name.contains(':') => (elements, Some(t)),
            None if dims.len() > 1 || name.contains(':') => (elements, Some(LogixType::Atomic(ty))),
            _ => (elements, None),
        };
        let layout = layout.map(|ty| {
            Arc::new(TagLayout {
                ty,
                dims: dims.iter().map(|d| *d as u32).collect(),
            })
        });
        Ok(TagSpec {
            name: name.to_string(),
            ty,
            len,
            array: !dims.is_empty(),
            address,
            layout,
        })
    }
}

/// The DWORDs a Logix `BOOL[bits]` tag occupies (32 bits each, rounded up).
pub fn bool_array_words(bits: usize) -> usize {
    bits.div_ceil(32)
}

/// Where BOOL `index` of a Logix BOOL array lives in its data: byte offset and bit (the
/// DWORDs are little-endian, bit 0 of DWORD 0 first).
pub fn bool_array_bit(index: usize) -> (usize, u8) {
    (index / 8, (index % 8) as u8)
}

/// The most bytes a structure tag may hold.
pub const MAX_STRUCT_BYTES: usize = 1 << 24;

fn parse_address(addr: &str) -> Result<Address, String> {
    let parts: Vec<&str> = addr.split('/').collect();
    let [c, i, a] = parts.as_slice() else {
        return Err(format!("address {addr:?} is not CLASS/INSTANCE/ATTRIBUTE"));
    };
    let num = |s: &str, max: u64, what: &str| {
        parse_number(s)
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("{what} {s:?} is not a number from 1 to {max}"))
    };
    Ok(Address {
        class: num(c, 0xFFFF, "class")? as u16,
        instance: num(i, 0xFFFF_FFFF, "instance")? as u32,
        attribute: num(a, 0xFFFF, "attribute")? as u16,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let t = TagSpec::parse("SCADA=INT[1000]").unwrap();
        assert_eq!(
            (t.name.as_str(), t.ty, t.len, t.array),
            ("SCADA", DataType::Int, 1000, true)
        );
        let t = TagSpec::parse("FLOAT=real").unwrap();
        assert_eq!((t.ty, t.len, t.array), (DataType::Real, 1, false));
        let t = TagSpec::parse("FLT@0x16/0o1/0b11=REAL[0x2]").unwrap();
        assert_eq!(
            t.address,
            Some(Address {
                class: 22,
                instance: 1,
                attribute: 3
            })
        );
        assert_eq!(t.len, 2);
        let t = TagSpec::parse("Grid=DINT[4,5]").unwrap();
        assert_eq!((t.len, t.layout.unwrap().dims.clone()), (20, vec![4, 5]));
        let t = TagSpec::parse("Program:Main.Count=DINT").unwrap();
        assert_eq!(t.layout.unwrap().dims.len(), 0);
        let mut types = Types::default();
        types
            .define_compact("Motor{Speed:REAL, Running:BOOL}")
            .unwrap();
        let t = TagSpec::parse_with("Motors=Motor[10]", Some(&types)).unwrap();
        assert_eq!((t.ty, t.len, t.array), (DataType::Sint, 80, true));
        let t = TagSpec::parse_with("Msg=STRING", Some(&types)).unwrap();
        assert_eq!(t.len, 88);
        let t = TagSpec::parse_with("Flags=BOOL[40]", Some(&types)).unwrap();
        assert_eq!((t.ty, t.len, t.array), (DataType::Dword, 2, true));
        assert!(t.layout.is_none());
        let t = TagSpec::parse("Flags=BOOL[40]").unwrap();
        assert_eq!((t.ty, t.len), (DataType::Bool, 40));
        let t = TagSpec::parse_with("Program:P.F=BOOL[64]", Some(&types)).unwrap();
        assert_eq!(t.layout.unwrap().symbol_type(), 0x20D3);
        let e = TagSpec::parse_with("F=BOOL[2,32]", Some(&types)).unwrap_err();
        assert!(e.to_string().contains("one dimension"), "{e}");
        assert_eq!(bool_array_bit(37), (4, 5));
    }

    #[test]
    fn bad_specs_name_the_offending_text() {
        for (spec, needle) in [
            ("X=FOO", "\"FOO\""),
            ("X=INT[0]", "\"0\""),
            ("X=INT[10", "missing ']'"),
            ("1X=INT", "\"1X\""),
            ("X@1/2=INT", "\"1/2\""),
            ("X@1/0/1=INT", "instance \"0\""),
            ("X=INT[99999999]", "\"99999999\""),
            ("X=INT[2,3,4,5]", "at most 3"),
            ("X=INT[1000,1000,1000]", "more than"),
            ("Program:Main=INT", "\"Program:Main\""),
        ] {
            let e = TagSpec::parse(spec).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
            assert!(e.contains(spec), "{spec}: {e}");
        }
    }
}
