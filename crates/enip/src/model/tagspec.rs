//! Tag specifications from the command line: `NAME=TYPE[LEN]`, `NAME=TYPE`,
//! `NAME@CLASS/INSTANCE/ATTRIBUTE=TYPE[LEN]`.

use cpppo_cip::DataType;

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
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 40
}

impl TagSpec {
    /// Parse one specification.
    pub fn parse(spec: &str) -> Result<TagSpec, TagSpecError> {
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
        let (type_name, len, array) = match rhs.split_once('[') {
            Some((t, rest)) => {
                let n = rest
                    .strip_suffix(']')
                    .ok_or_else(|| err(format!("missing ']' in {rhs:?}")))?;
                let len = parse_number(n)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| (1..=MAX_ELEMENTS).contains(n))
                    .ok_or_else(|| {
                        err(format!(
                            "length {n:?} is not a number from 1 to {MAX_ELEMENTS}"
                        ))
                    })?;
                (t, len, true)
            }
            None => (rhs, 1, false),
        };
        let ty = DataType::from_name(type_name.trim()).ok_or_else(|| {
            err(format!(
                "unknown type {type_name:?} (SINT INT DINT LINT USINT UINT UDINT ULINT REAL LREAL BOOL SSTRING STRING ...)"
            ))
        })?;
        Ok(TagSpec {
            name: name.to_string(),
            ty,
            len,
            array,
            address,
        })
    }
}

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
        ] {
            let e = TagSpec::parse(spec).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
            assert!(e.contains(spec), "{spec}: {e}");
        }
    }
}
