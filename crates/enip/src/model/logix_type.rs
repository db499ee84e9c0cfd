//! Logix data types: structures (UDTs) laid out as a Logix controller lays them out, the
//! built-in `STRING`, and the shape (type and dimensions) of a tag.
//!
//! Layout rules: each member is aligned to its element size (8-byte types to 8, arrays and
//! structures to at least 4); consecutive BOOL members share a hidden SINT host (one bit each,
//! eight per host); a BOOL array member is stored as DWORDs (32 bits each); the structure's size
//! is rounded up to its alignment.

use std::collections::BTreeMap;
use std::sync::Arc;

use cpppo_cip::services::template::{
    definition_words, encode_template, TemplateMember, TYPE_STRUCT,
};
use cpppo_cip::types::LOGIX_STRING_HANDLE;
use cpppo_cip::DataType;

/// The largest structure accepted, in bytes.
pub const MAX_STRUCT_SIZE: u32 = 1 << 21;
/// The most members a structure may have.
pub const MAX_MEMBERS: usize = 512;
/// The first template instance given to user structures.
pub const FIRST_UDT_INSTANCE: u16 = 0x100;
/// The last template instance a user structure may have.
pub const LAST_UDT_INSTANCE: u16 = 0xEFF;

/// A member or tag element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogixType {
    /// An elementary type.
    Atomic(DataType),
    /// A structure.
    Struct(Arc<Udt>),
}

impl LogixType {
    /// Bytes one element occupies.
    pub fn size(&self) -> u32 {
        match self {
            LogixType::Atomic(t) => t.size().unwrap_or(1) as u32,
            LogixType::Struct(u) => u.size,
        }
    }

    fn align(&self) -> u32 {
        match self {
            LogixType::Atomic(t) => t.size().unwrap_or(1) as u32,
            LogixType::Struct(u) => u.align,
        }
    }

    /// The type code in a template member definition or symbol type.
    pub fn type_code(&self) -> u16 {
        match self {
            LogixType::Atomic(t) => t.code(),
            LogixType::Struct(u) => TYPE_STRUCT | u.instance,
        }
    }

    /// The type name (`DINT`, `Motor`).
    pub fn name(&self) -> &str {
        match self {
            LogixType::Atomic(t) => t.name(),
            LogixType::Struct(u) => &u.name,
        }
    }
}

/// One member of a structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Name (hidden BOOL hosts are named `ZZZZZZZZZZ<struct><n>`).
    pub name: String,
    /// Element type (a BOOL member's is BOOL; a BOOL array's is DWORD).
    pub ty: LogixType,
    /// Array element count, 0 for a scalar.
    pub count: u16,
    /// For a BOOL member: its bit in the host SINT at `offset`.
    pub bit: Option<u8>,
    /// Byte offset in the structure.
    pub offset: u32,
    /// A hidden BOOL host.
    pub hidden: bool,
}

impl Member {
    /// Elements it holds (1 for a scalar).
    pub fn elements(&self) -> u32 {
        u32::from(self.count.max(1))
    }
}

/// A structure type (UDT) with its template.
#[derive(Debug, PartialEq, Eq)]
pub struct Udt {
    /// Name.
    pub name: String,
    /// Members in definition order, hidden hosts included.
    pub members: Vec<Member>,
    /// Size in bytes.
    pub size: u32,
    /// Template instance (0x100.. for user types, 0xFCE for STRING).
    pub instance: u16,
    /// Structure handle (the word after 0x02A0 in its data).
    pub handle: u16,
    /// Template data as Read Template serves it.
    pub template: Vec<u8>,
    align: u32,
}

impl Udt {
    /// The member named `name` (case-insensitive).
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// Template definition size in 32-bit words.
    pub fn definition_words(&self) -> u32 {
        definition_words(self.template.len())
    }

    /// Structures this one uses, depth first, itself last.
    pub fn with_nested(self: &Arc<Udt>, out: &mut Vec<Arc<Udt>>) {
        for m in &self.members {
            if let LogixType::Struct(u) = &m.ty {
                u.with_nested(out);
            }
        }
        if !out.iter().any(|u| u.instance == self.instance) {
            out.push(self.clone());
        }
    }
}

/// Why a type definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad structure {name:?}: {why}")]
pub struct TypeError {
    /// The structure (or definition text).
    pub name: String,
    /// What is wrong.
    pub why: String,
}

/// One member as declared: name, type name, array count (0 scalar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDecl {
    /// Member name.
    pub name: String,
    /// Type name (atomic, STRING or a defined structure).
    pub ty: String,
    /// Array count, 0 for a scalar.
    pub count: u32,
}

/// The structure types a device knows, by name; `STRING` is built in.
#[derive(Debug, Clone)]
pub struct Types {
    by_name: BTreeMap<String, Arc<Udt>>,
    next: u16,
}

impl Default for Types {
    fn default() -> Self {
        let mut t = Types {
            by_name: BTreeMap::new(),
            next: FIRST_UDT_INSTANCE,
        };
        let decls = [
            MemberDecl {
                name: "LEN".into(),
                ty: "DINT".into(),
                count: 0,
            },
            MemberDecl {
                name: "DATA".into(),
                ty: "SINT".into(),
                count: 82,
            },
        ];
        if let Ok(s) = t.build("ASCIISTRING82", &decls, 0x0FCE) {
            let s = Udt {
                handle: LOGIX_STRING_HANDLE,
                ..s
            };
            t.by_name.insert("STRING".into(), Arc::new(s));
        }
        t
    }
}

fn align_up(n: u32, a: u32) -> Option<u32> {
    let a = a.max(1);
    n.checked_add(a - 1).map(|v| v / a * a)
}

/// A stable 16-bit structure handle: CRC-16 (poly 0x8005, reflected) over the template's
/// member definitions and name, never 0 and never STRING's.
fn handle_of(template: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in template {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    match crc {
        0 | LOGIX_STRING_HANDLE => crc ^ 0x5A5A,
        c => c,
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 40
}

impl Types {
    /// The type named `name`: an atomic type or a known structure (case-insensitive).
    pub fn get(&self, name: &str) -> Option<LogixType> {
        let up = name.trim().to_ascii_uppercase();
        if up != "STRING" {
            if let Some(t) = DataType::from_name(&up) {
                return Some(LogixType::Atomic(t));
            }
        }
        self.by_name.get(&up).map(|u| LogixType::Struct(u.clone()))
    }

    /// The structure named `name`.
    pub fn udt(&self, name: &str) -> Option<&Arc<Udt>> {
        self.by_name.get(&name.to_ascii_uppercase())
    }

    /// Define a structure from its members; refused if the name is taken, a member type is
    /// unknown (or the structure itself), a member repeats, or it is too large.
    pub fn define(&mut self, name: &str, members: &[MemberDecl]) -> Result<Arc<Udt>, TypeError> {
        let err = |why: String| TypeError {
            name: name.to_string(),
            why,
        };
        if !valid_name(name) {
            return Err(err(
                "a name is a letter or _ then letters, digits or _ (at most 40)".into(),
            ));
        }
        if self.by_name.contains_key(&name.to_ascii_uppercase())
            || DataType::from_name(name).is_some()
        {
            return Err(err("a type of that name exists".into()));
        }
        if self.next > LAST_UDT_INSTANCE {
            return Err(err("too many structures".into()));
        }
        let udt = Arc::new(self.build(name, members, self.next)?);
        self.next += 1;
        self.by_name.insert(name.to_ascii_uppercase(), udt.clone());
        Ok(udt)
    }

    fn build(&self, name: &str, decls: &[MemberDecl], instance: u16) -> Result<Udt, TypeError> {
        let err = |why: String| TypeError {
            name: name.to_string(),
            why,
        };
        if decls.is_empty() {
            return Err(err("no members".into()));
        }
        if decls.len() > MAX_MEMBERS {
            return Err(err(format!("more than {MAX_MEMBERS} members")));
        }
        let mut members: Vec<Member> = Vec::new();
        let (mut at, mut align) = (0u32, 4u32);
        let mut host: Option<(u32, u8)> = None; // offset, next bit
        let overflow = || err(format!("larger than {MAX_STRUCT_SIZE} bytes"));
        for (i, d) in decls.iter().enumerate() {
            if !valid_name(&d.name) {
                return Err(err(format!("member name {:?} is not a valid name", d.name)));
            }
            if decls[..i]
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(&d.name))
            {
                return Err(err(format!("duplicate member {:?}", d.name)));
            }
            if d.ty.eq_ignore_ascii_case(name) {
                return Err(err(format!(
                    "member {:?} is of the structure itself (recursive)",
                    d.name
                )));
            }
            let ty = self
                .get(&d.ty)
                .ok_or_else(|| err(format!("member {:?} has unknown type {:?}", d.name, d.ty)))?;
            let is_bool = ty == LogixType::Atomic(DataType::Bool);
            if matches!(ty, LogixType::Atomic(DataType::String | DataType::Sstring)) {
                return Err(err(format!(
                    "member {:?}: {} cannot be a member",
                    d.name, d.ty
                )));
            }
            if d.count > u32::from(u16::MAX) {
                return Err(err(format!(
                    "member {:?}: array of {} is too long",
                    d.name, d.count
                )));
            }
            if is_bool && d.count == 0 {
                let (off, bit) = match host {
                    Some((off, bit)) if bit < 8 => (off, bit),
                    _ => {
                        let off = at;
                        members.push(Member {
                            name: format!("ZZZZZZZZZZ{name}{}", members.len()),
                            ty: LogixType::Atomic(DataType::Sint),
                            count: 0,
                            bit: None,
                            offset: off,
                            hidden: true,
                        });
                        at = at.checked_add(1).ok_or_else(overflow)?;
                        (off, 0)
                    }
                };
                members.push(Member {
                    name: d.name.clone(),
                    ty,
                    count: 0,
                    bit: Some(bit),
                    offset: off,
                    hidden: false,
                });
                host = Some((off, bit + 1));
                continue;
            }
            host = None;
            let (ty, count) = if is_bool {
                (LogixType::Atomic(DataType::Dword), d.count.div_ceil(32))
            } else {
                (ty, d.count)
            };
            let mut a = ty.align();
            if count > 0 {
                a = a.max(4);
            }
            align = align.max(ty.align().max(4));
            let offset = align_up(at, a).ok_or_else(overflow)?;
            let bytes = ty.size().checked_mul(count.max(1)).ok_or_else(overflow)?;
            at = offset.checked_add(bytes).ok_or_else(overflow)?;
            if at > MAX_STRUCT_SIZE {
                return Err(overflow());
            }
            members.push(Member {
                name: d.name.clone(),
                ty,
                count: count as u16,
                bit: None,
                offset,
                hidden: false,
            });
        }
        let size = align_up(at, align)
            .filter(|s| *s <= MAX_STRUCT_SIZE)
            .ok_or_else(overflow)?;
        Ok(finish(name, members, size, align, instance))
    }

    /// Define a structure whose members are already laid out (offsets, bits and size as a
    /// controller reported them, e.g. in pycomm3's tag JSON); refused if a member repeats or
    /// lies outside `size`.
    pub fn define_laid_out(
        &mut self,
        name: &str,
        members: Vec<Member>,
        size: u32,
    ) -> Result<Arc<Udt>, TypeError> {
        let err = |why: String| TypeError {
            name: name.to_string(),
            why,
        };
        if let Some(u) = self.udt(name) {
            return Ok(u.clone());
        }
        if members.is_empty() || members.len() > MAX_MEMBERS {
            return Err(err(format!("from 1 to {MAX_MEMBERS} members")));
        }
        if size > MAX_STRUCT_SIZE {
            return Err(err(format!("larger than {MAX_STRUCT_SIZE} bytes")));
        }
        for (i, m) in members.iter().enumerate() {
            if members[..i]
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(&m.name))
            {
                return Err(err(format!("duplicate member {:?}", m.name)));
            }
            if m.bit.is_some_and(|b| b > 7) {
                return Err(err(format!("member {:?}: a BOOL bit is 0 to 7", m.name)));
            }
            let bytes = if m.bit.is_some() {
                1
            } else {
                m.ty.size().saturating_mul(m.elements())
            };
            if m.offset.saturating_add(bytes) > size {
                return Err(err(format!(
                    "member {:?} lies outside its {size} bytes",
                    m.name
                )));
            }
        }
        if self.next > LAST_UDT_INSTANCE {
            return Err(err("too many structures".into()));
        }
        let udt = Arc::new(finish(name, members, size, 4, self.next));
        self.next += 1;
        self.by_name.insert(name.to_ascii_uppercase(), udt.clone());
        Ok(udt)
    }

    /// Define structures from compact text: `Motor{Speed:REAL, Running:BOOL, Faults:DINT[4]}`
    /// (several may follow each other, later ones using earlier ones).
    pub fn define_compact(&mut self, text: &str) -> Result<Vec<Arc<Udt>>, TypeError> {
        let mut out = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let err = |why: &str| TypeError {
                name: text.to_string(),
                why: why.to_string(),
            };
            let (name, after) = rest
                .split_once('{')
                .ok_or_else(|| err("expected NAME{MEMBER:TYPE, ...}"))?;
            let (body, after) = after.split_once('}').ok_or_else(|| err("missing '}'"))?;
            let decls = body
                .split(',')
                .map(|m| parse_member(m).map_err(|why| err(&why)))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(self.define(name.trim(), &decls)?);
            rest = after.trim_start_matches([',', ';', ' ']).trim();
        }
        Ok(out)
    }
}

/// The structure with its template data and handle.
fn finish(name: &str, members: Vec<Member>, size: u32, align: u32, instance: u16) -> Udt {
    let defs: Vec<(TemplateMember, &str)> = members
        .iter()
        .map(|m| {
            let info = m.bit.map_or(m.count, u16::from);
            let def = TemplateMember {
                info,
                type_code: m.ty.type_code(),
                offset: m.offset,
            };
            (def, m.name.as_str())
        })
        .collect();
    let template = encode_template(name, &defs);
    let handle = handle_of(&template);
    Udt {
        name: name.to_string(),
        members,
        size,
        instance,
        handle,
        template,
        align,
    }
}

fn parse_member(m: &str) -> Result<MemberDecl, String> {
    let (name, ty) = m
        .split_once(':')
        .ok_or_else(|| format!("member {:?} is not NAME:TYPE", m.trim()))?;
    let (ty, count) = match ty.split_once('[') {
        Some((t, n)) => {
            let n = n
                .trim()
                .strip_suffix(']')
                .ok_or_else(|| format!("missing ']' in {:?}", ty.trim()))?;
            let count = crate::model::tagspec::parse_number(n)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("array length {n:?} is not a number of at least 1"))?;
            (t, count)
        }
        None => (ty, 0),
    };
    Ok(MemberDecl {
        name: name.trim().to_string(),
        ty: ty.trim().to_string(),
        count,
    })
}

/// A tag's Logix shape: element type and up to three dimensions (empty for a scalar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagLayout {
    /// Element type.
    pub ty: LogixType,
    /// Dimensions, outermost first (`DINT[4,5]` is `[4, 5]`).
    pub dims: Vec<u32>,
}

impl TagLayout {
    /// Total elements.
    pub fn elements(&self) -> usize {
        self.dims
            .iter()
            .map(|d| *d as usize)
            .product::<usize>()
            .max(1)
    }

    /// The flat element index of `index` (one number per dimension), if inside.
    pub fn flat(&self, index: &[u32]) -> Option<usize> {
        if index.len() != self.dims.len() {
            return None;
        }
        let mut flat = 0usize;
        for (i, d) in index.iter().zip(&self.dims) {
            if i >= d {
                return None;
            }
            flat = flat * (*d as usize) + *i as usize;
        }
        Some(flat)
    }

    /// The Logix symbol type word: type code (or struct bit and template instance) and the
    /// dimension count in bits 13-14.
    pub fn symbol_type(&self) -> u16 {
        let base = match &self.ty {
            LogixType::Atomic(t) => t.code() & 0x00FF,
            LogixType::Struct(u) => TYPE_STRUCT | (u.instance & 0x0FFF),
        };
        base | ((self.dims.len().min(3) as u16) << 13)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn motor_lays_out_as_logix() {
        let mut t = Types::default();
        let m = t
            .define_compact("Motor{Speed:REAL, Running:BOOL, Stopped:BOOL, Faults:DINT[4], Name:STRING, Flags:BOOL[64]}")
            .unwrap()
            .remove(0);
        let off: Vec<_> = m
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.offset, m.bit))
            .collect();
        assert_eq!(off[0], ("Speed", 0, None));
        assert!(off[1].0.starts_with("ZZZZZZZZZZMotor") && off[1].1 == 4);
        assert_eq!(off[2], ("Running", 4, Some(0)));
        assert_eq!(off[3], ("Stopped", 4, Some(1)));
        assert_eq!(off[4], ("Faults", 8, None));
        assert_eq!(off[5], ("Name", 24, None));
        assert_eq!(off[6], ("Flags", 112, None));
        assert_eq!(m.members[6].count, 2);
        assert_eq!(m.size, 120);
        assert_eq!(m.instance, 0x100);
        assert_eq!(t.udt("string").unwrap().size, 88);
        assert_eq!(t.udt("STRING").unwrap().handle, 0x0FCE);
        assert_ne!(m.handle, 0);
    }

    #[test]
    fn bad_definitions_are_refused_with_a_reason() {
        let mut t = Types::default();
        for (spec, needle) in [
            ("A{x:FOO}", "unknown type \"FOO\""),
            ("A{x:A}", "recursive"),
            ("A{x:INT, X:DINT}", "duplicate member \"X\""),
            (
                "A{x:LREAL[65535], y:LREAL[65535], z:LREAL[65535], w:LREAL[65535], v:LREAL[65535]}",
                "larger than",
            ),
            ("A{x}", "not NAME:TYPE"),
            ("A{x:INT", "missing '}'"),
        ] {
            let e = t.define_compact(spec).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
        t.define_compact("A{x:INT}").unwrap();
        assert!(t
            .define_compact("a{y:INT}")
            .unwrap_err()
            .to_string()
            .contains("exists"));
    }

    #[test]
    fn dimensions_flatten_row_major() {
        let l = TagLayout {
            ty: LogixType::Atomic(DataType::Dint),
            dims: vec![4, 5],
        };
        assert_eq!(l.flat(&[1, 2]), Some(7));
        assert_eq!(l.flat(&[4, 0]), None);
        assert_eq!(l.flat(&[1]), None);
        assert_eq!(l.elements(), 20);
        assert_eq!(l.symbol_type(), 0x40C4);
    }
}
