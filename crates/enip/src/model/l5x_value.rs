//! Initial values of an L5X project's tags: the `<Data Format="Decorated">` elements
//! (`DataValue`, `Array`/`Element`, `Structure` with `DataValueMember`, `ArrayMember`,
//! `StructureMember`) and `<Data Format="String">`, turned into a tag's element data as the
//! model lays it out (structures by their members' offsets and bits).

use cpppo_cip::DataType;
use roxmltree::Node;

use crate::model::logix_type::{LogixType, TagLayout, Udt};

/// The element data of a tag of `layout` (`elements` elements of `ty`, BOOL one byte each)
/// from its `<Tag>` node's data, or `None` when it has no data the simulator reads.
pub fn initial(tag: Node, layout: &TagLayout) -> Result<Option<Vec<u8>>, String> {
    let size = layout.ty.size() as usize;
    let bytes = size
        .checked_mul(layout.elements())
        .ok_or("the tag is too large")?;
    let mut buf = vec![0u8; bytes];
    let data = |format: &str| {
        tag.children()
            .find(|c| c.has_tag_name("Data") && c.attribute("Format") == Some(format))
    };
    if let Some(d) = data("Decorated") {
        let Some(v) = d.children().find(Node::is_element) else {
            return Ok(None);
        };
        match v.tag_name().name() {
            "DataValue" => put_value(v, &layout.ty, &mut buf, 0)?,
            "Structure" => put_value(v, &layout.ty, &mut buf, 0)?,
            "Array" => {
                for e in elements(v) {
                    let flat = index(e, layout)?;
                    put_element(e, &layout.ty, &mut buf, flat * size)?;
                }
            }
            other => return Err(format!("unknown data element <{other}>")),
        }
        return Ok(Some(buf));
    }
    if let (Some(d), LogixType::Struct(u)) = (data("String"), &layout.ty) {
        put_string(u, &text(d)?, &mut buf, 0)?;
        return Ok(Some(buf));
    }
    Ok(None)
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.has_tag_name("Element"))
}

/// The flat index of an `<Element Index="[1,2]">` in `layout`.
fn index(e: Node, layout: &TagLayout) -> Result<usize, String> {
    let raw = e.attribute("Index").ok_or("an Element without Index")?;
    let inner = raw
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| format!("Index {raw:?} is not [i] or [i,j]"))?;
    let idx = inner
        .split(',')
        .map(|s| s.trim().parse::<u32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("Index {raw:?} is not [i] or [i,j]"))?;
    let dims = if layout.dims.is_empty() {
        vec![1]
    } else {
        layout.dims.clone()
    };
    TagLayout {
        ty: layout.ty.clone(),
        dims,
    }
    .flat(&idx)
    .ok_or_else(|| format!("Index {raw} is outside the dimensions"))
}

/// One array element at `at`: a `Value` attribute or a `<Structure>` child.
fn put_element(e: Node, ty: &LogixType, buf: &mut [u8], at: usize) -> Result<(), String> {
    match e.children().find(Node::is_element) {
        Some(s) => put_value(s, ty, buf, at),
        None => put_value(e, ty, buf, at),
    }
}

/// A `Value="..."` of an atomic type, or a `<Structure>` of a structure type, at `at`.
fn put_value(v: Node, ty: &LogixType, buf: &mut [u8], at: usize) -> Result<(), String> {
    match ty {
        LogixType::Atomic(t) => {
            let value = v
                .attribute("Value")
                .ok_or_else(|| format!("<{}> without Value", v.tag_name().name()))?;
            put_atomic(*t, value, buf, at)
        }
        LogixType::Struct(u) => put_struct(v, u, buf, at),
    }
}

fn slot(buf: &mut [u8], at: usize, n: usize) -> Result<&mut [u8], String> {
    at.checked_add(n)
        .and_then(|end| buf.get_mut(at..end))
        .ok_or_else(|| "a value lies outside the tag".to_string())
}

/// The members of a `<Structure>` (or `<StructureMember>`) into the structure at `at`.
fn put_struct(s: Node, u: &Udt, buf: &mut [u8], at: usize) -> Result<(), String> {
    for c in s.children().filter(Node::is_element) {
        let name = c.attribute("Name").unwrap_or_default();
        let m = u
            .member(name)
            .filter(|m| !m.hidden)
            .ok_or_else(|| format!("{} has no member {name:?}", u.name))?;
        let base = at
            .checked_add(m.offset as usize)
            .ok_or("a value lies outside the tag")?;
        match (c.tag_name().name(), &m.ty) {
            ("DataValueMember", LogixType::Atomic(t)) if m.count > 0 && *t == DataType::Sint => {
                // A string's DATA, given as text.
                let bytes = text(c)?;
                let dst = slot(buf, base, usize::from(m.count))?;
                let n = bytes.len().min(dst.len());
                dst[..n].copy_from_slice(&bytes[..n]);
            }
            ("DataValueMember", LogixType::Atomic(_)) if m.bit.is_some() => {
                let on = parse_int(c.attribute("Value").unwrap_or("0"))? != 0;
                set_bit(buf, base, m.bit.unwrap_or(0), on)?;
            }
            ("DataValueMember", ty) => put_value(c, ty, buf, base)?,
            ("StructureMember", LogixType::Struct(n)) => put_struct(c, n, buf, base)?,
            ("ArrayMember", ty) => {
                let bools = c.attribute("DataType") == Some("BOOL");
                let layout = TagLayout {
                    ty: ty.clone(),
                    dims: vec![if bools {
                        m.elements() * 32
                    } else {
                        m.elements()
                    }],
                };
                for e in elements(c) {
                    let i = index(e, &layout)?;
                    if bools {
                        let on = parse_int(e.attribute("Value").unwrap_or("0"))? != 0;
                        set_bit(buf, base + i / 8, (i % 8) as u8, on)?;
                    } else {
                        put_element(e, ty, buf, base + i * ty.size() as usize)?;
                    }
                }
            }
            (other, _) => {
                return Err(format!(
                    "<{other} Name={name:?}> does not fit member {name} of {}",
                    u.name
                ))
            }
        }
    }
    Ok(())
}

fn set_bit(buf: &mut [u8], at: usize, bit: u8, on: bool) -> Result<(), String> {
    let b = slot(buf, at, 1)?;
    if on {
        b[0] |= 1 << bit;
    } else {
        b[0] &= !(1 << bit);
    }
    Ok(())
}

/// A string structure (`LEN` DINT + `DATA` SINT[n]) holding `text`.
fn put_string(u: &Udt, text: &[u8], buf: &mut [u8], at: usize) -> Result<(), String> {
    let (Some(len), Some(data)) = (u.member("LEN"), u.member("DATA")) else {
        return Err(format!("{} is not a string type (LEN, DATA)", u.name));
    };
    let n = text.len().min(usize::from(data.count));
    let dst = slot(buf, at + data.offset as usize, n)?;
    dst.copy_from_slice(&text[..n]);
    let count = i32::try_from(n).unwrap_or(i32::MAX);
    slot(buf, at + len.offset as usize, 4)?.copy_from_slice(&count.to_le_bytes());
    Ok(())
}

/// The bytes of a quoted L5X string (`'pump$N'`): `$'`, `$$`, `$N`/`$L`, `$R`, `$T`, `$P`
/// and `$hh` escapes.
pub fn text(n: Node) -> Result<Vec<u8>, String> {
    let raw = n.text().unwrap_or_default().trim();
    let inner = raw
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(raw);
    let b = inner.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b.get(i + 1).ok_or_else(|| format!("{raw:?}: a lone $"))?;
        let (byte, used) = match c.to_ascii_uppercase() {
            b'N' | b'L' => (b'\n', 2),
            b'R' => (b'\r', 2),
            b'T' => (b'\t', 2),
            b'P' => (0x0C, 2),
            b'\'' | b'$' | b'"' => (c, 2),
            _ => {
                let hex = inner
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("{raw:?}: bad escape at ${}", c as char))?;
                (hex, 3)
            }
        };
        out.push(byte);
        i += used;
    }
    Ok(out)
}

/// An integer as L5X writes it: decimal, `16#FF`, `8#17`, `2#1010` (with `_`), or `'a'`.
pub fn parse_int(s: &str) -> Result<i128, String> {
    let t: String = s.trim().chars().filter(|c| *c != '_').collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, t),
    };
    let v = if let Some(q) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        match q.as_bytes() {
            [c] => Some(i128::from(*c)),
            _ => None,
        }
    } else {
        let (digits, radix) = match t.split_once('#') {
            Some(("16", d)) => (d, 16),
            Some(("8", d)) => (d, 8),
            Some(("2", d)) => (d, 2),
            Some(_) => ("?", 10),
            None => (t.as_str(), 10),
        };
        i128::from_str_radix(digits, radix).ok()
    };
    let v = v.ok_or_else(|| format!("{s:?} is not an integer"))?;
    Ok(if neg { -v } else { v })
}

/// `value` (as L5X writes it) encoded as a `ty` element at `at`.
pub fn put_atomic(ty: DataType, value: &str, buf: &mut [u8], at: usize) -> Result<(), String> {
    let bad = || format!("{value:?} is not a {ty}");
    match ty {
        DataType::Real => {
            let f: f32 = value.trim().parse().map_err(|_| bad())?;
            slot(buf, at, 4)?.copy_from_slice(&f.to_le_bytes());
        }
        DataType::Lreal => {
            let f: f64 = value.trim().parse().map_err(|_| bad())?;
            slot(buf, at, 8)?.copy_from_slice(&f.to_le_bytes());
        }
        DataType::String | DataType::Sstring => return Err(bad()),
        _ => {
            let n = ty.size().unwrap_or(1);
            let v = parse_int(value)?;
            let bits = 8 * n as u32;
            let fits = if ty == DataType::Bool {
                (0..=1).contains(&v)
            } else {
                v >= -(1i128 << (bits - 1)) && v < (1i128 << bits)
            };
            if !fits {
                return Err(format!("{value:?} does not fit a {ty}"));
            }
            slot(buf, at, n)?.copy_from_slice(&v.to_le_bytes()[..n]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l5x_numbers_and_strings_parse() {
        assert_eq!(parse_int("16#00FF"), Ok(255));
        assert_eq!(parse_int("2#0000_0101"), Ok(5));
        assert_eq!(parse_int("-8#17"), Ok(-15));
        assert_eq!(parse_int("'a'"), Ok(97));
        assert!(parse_int("12x").is_err());
        let mut b = [0u8; 4];
        put_atomic(DataType::Dint, "-2", &mut b, 0).unwrap();
        assert_eq!(b, [0xFE, 0xFF, 0xFF, 0xFF]);
        assert!(put_atomic(DataType::Sint, "300", &mut b, 0)
            .unwrap_err()
            .contains("does not fit"));
        assert!(put_atomic(DataType::Dint, "1", &mut b, 2).is_err());
        let doc = roxmltree::Document::parse("<D><![CDATA['it$'s $$5$N$0A']]></D>").unwrap();
        assert_eq!(text(doc.root_element()).unwrap(), b"it's $5\n\n");
    }
}
