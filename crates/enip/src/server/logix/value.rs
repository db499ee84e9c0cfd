//! Logix paths written as text (`Motors[2].Speed`, `Program:Main.Count`) and the values they
//! name as JSON, for the web API and history files: the text is parsed by the client's
//! operation syntax and resolved by [`super::tag_path::resolve`], as a Read/Write Tag path is.
//!
//! A structure is a JSON object keyed by member (hidden BOOL hosts left out, BOOL members
//! `true`/`false`, STRING members as text, member arrays as lists); see
//! [`crate::client::logix::decode`].

use std::sync::Arc;

use cpppo_cip::mr::status;
use cpppo_cip::value::{LogixString, LOGIX_STRING_LEN};
use cpppo_cip::{DataType, Status, TagType};
use serde_json::{Map, Value as Json};

use super::tag_path::{self, is_bit, DataTarget, Resolved, Step};
use crate::client::logix::decode;
use crate::client::operation::{Operation, PathStep};
use crate::client::plan::{decode_tag, encode_values};
use crate::history::historize::{from_json, value_json};
use crate::model::attribute::out_of_range;
use crate::model::device::{Device, Tag};
use crate::model::logix_type::{LogixType, Udt};

/// What a text path names.
pub struct Named {
    /// The tag.
    pub tag: Arc<Tag>,
    /// Where in it.
    pub at: Resolved,
}

/// Resolve `text` (a tag, maybe with elements and members) on `device`; the error is one line.
pub fn resolve_text(device: &Device, text: &str) -> Result<Named, String> {
    let op = Operation::parse(text).map_err(|e| e.to_string())?;
    if op.is_write() || op.offset.is_some() || op.count.is_some_and(|c| c != 1) {
        return Err("names more than one tag, element or member".into());
    }
    let mut path = op.path.iter();
    let Some(PathStep::Symbolic(first)) = path.next() else {
        return Err("does not start with a tag name".into());
    };
    let tag = match device.tag(first) {
        Some(t) => t.clone(),
        None => {
            let program = crate::model::logix::program_prefix(first);
            match (program, path.next()) {
                (Some(p), Some(PathStep::Symbolic(t))) => device
                    .tag(&format!("Program:{p}.{t}"))
                    .cloned()
                    .ok_or_else(|| format!("no tag {first}.{t}"))?,
                _ => return Err(format!("no tag {first:?}")),
            }
        }
    };
    let steps = path
        .map(|s| match s {
            PathStep::Symbolic(m) => Ok(Step::Member(m.as_bytes())),
            PathStep::Element(e) => Ok(Step::Element(*e)),
            _ => Err("only members and [indexes] may follow a tag".to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if tag.layout.is_none() {
        return match steps.as_slice() {
            [] => Ok(Named {
                tag,
                at: Resolved::Flat(0),
            }),
            [Step::Element(e)] if (*e as usize) < tag.attribute.len() => Ok(Named {
                tag,
                at: Resolved::Flat(*e as usize),
            }),
            [Step::Element(_)] => Err("index out of range".into()),
            _ => Err(format!("tag {} has no members", tag.name)),
        };
    }
    let at = tag_path::resolve(&tag, &steps).map_err(|st| why(&tag, st))?;
    Ok(Named { tag, at })
}

fn why(tag: &Tag, st: Status) -> String {
    let what = match tag.layout.as_deref().map(|l| &l.ty) {
        Some(LogixType::Struct(u)) => format!("a member {} does not have", u.name),
        _ => format!("{} has no members", tag.name),
    };
    if st == out_of_range() {
        "index out of range".to_string()
    } else if st.general == status::PATH_SEGMENT_ERROR {
        format!("names {what}, or a bad index")
    } else {
        format!("not a path into {} (status 0x{:02x})", tag.name, st.general)
    }
}

/// True for Logix's built-in STRING (LEN DINT then DATA SINT[82]) and custom strings.
pub fn is_string(u: &Udt) -> bool {
    u.members.len() == 2 && u.member("LEN").is_some() && u.member("DATA").is_some()
}

/// The value of one element of type `ty` in `bytes`.
pub fn element_json(ty: &LogixType, bytes: &[u8]) -> Json {
    match ty {
        LogixType::Struct(u) => decode(u, bytes.get(..u.size as usize).unwrap_or(bytes)),
        LogixType::Atomic(t) => decode_tag(TagType::Atomic(*t), bytes)
            .and_then(|v| v.first().map(value_json))
            .unwrap_or(Json::Null),
    }
}

/// The value a target names: one element (a member, a BOOL member, one structure) as itself,
/// several (a member array, the rest of a structure array) as a list.
pub fn target_json(t: &DataTarget, elements: usize) -> Result<Json, Status> {
    let mut raw = Vec::new();
    if let Some(bit) = t.bit.filter(|_| is_bit(t)) {
        t.attr.read(t.byte, 1, &mut raw)?;
        return Ok(Json::Bool(raw.first().is_some_and(|b| b >> bit & 1 == 1)));
    }
    let n = elements.min(t.count).max(1);
    let size = t.size();
    t.attr.read(t.byte, n * size, &mut raw)?;
    let one = |i: usize| element_json(&t.ty, raw.get(i * size..(i + 1) * size).unwrap_or_default());
    Ok(match elements {
        1 => one(0),
        _ => (0..n).map(one).collect(),
    })
}

/// Writes bytes at a byte offset of a structure tag's storage.
pub type Writer<'a> = &'a dyn Fn(usize, &[u8]) -> Result<(), Status>;

/// Write `value` at `t` (reading through `t.attr`, writing through `write`): a BOOL member takes
/// a boolean (or 0/1), an atomic member a number (a list for a member array, from its first
/// element), a STRING text, a structure an object of some of its members (a list of objects
/// for a structure array). The error is one line.
pub fn write_json(t: &DataTarget, value: &Json, write: Writer<'_>) -> Result<(), String> {
    let failed = |st: Status| format!("write refused (status 0x{:02x})", st.general);
    if let Some(bit) = t.bit.filter(|_| is_bit(t)) {
        let value = match value {
            Json::Array(v) if v.len() == 1 => v.first().unwrap_or(value),
            v => v,
        };
        let on = match value {
            Json::Bool(b) => *b,
            Json::Number(n) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
                n.as_u64() == Some(1)
            }
            other => return Err(format!("{other} is not true or false")),
        };
        let mut host = Vec::with_capacity(1);
        t.attr.read(t.byte, 1, &mut host).map_err(failed)?;
        let b = host.first().copied().unwrap_or(0);
        let b = if on { b | 1 << bit } else { b & !(1 << bit) };
        return write(t.byte, &[b]).map_err(failed);
    }
    let items: Vec<&Json> = match value {
        Json::Array(v) => v.iter().collect(),
        one => vec![one],
    };
    if items.len() > t.count {
        return Err(format!("{} values for {} elements", items.len(), t.count));
    }
    for (i, item) in items.into_iter().enumerate() {
        let at = t.byte + i * t.size();
        match &t.ty {
            LogixType::Atomic(ty) => {
                let v = from_json(std::slice::from_ref(item))?;
                let bytes = encode_values(*ty, &v)?;
                write(at, &bytes).map_err(failed)?;
            }
            LogixType::Struct(u) if is_string(u) => {
                let Json::String(s) = item else {
                    return Err(format!("{item} is not text for {}", u.name));
                };
                let room = u.member("DATA").map_or(0, |m| m.elements() as usize);
                if s.len() > room {
                    return Err(format!("{} takes at most {room} characters", u.name));
                }
                let mut buf = [0u8; LOGIX_STRING_LEN];
                LogixString { text: s.as_bytes() }
                    .emit(&mut buf)
                    .map_err(|e| e.to_string())?;
                let n = (u.size as usize).min(LOGIX_STRING_LEN);
                write(at, buf.get(..n).unwrap_or_default()).map_err(failed)?;
            }
            LogixType::Struct(u) => {
                let Json::Object(members) = item else {
                    return Err(format!("{item} is not an object of {} members", u.name));
                };
                write_members(t, u, at, members, write)?;
            }
        }
    }
    Ok(())
}

fn write_members(
    t: &DataTarget,
    u: &Arc<Udt>,
    at: usize,
    members: &Map<String, Json>,
    write: Writer<'_>,
) -> Result<(), String> {
    for (name, v) in members {
        let m = u
            .member(name)
            .filter(|m| !m.hidden)
            .ok_or_else(|| format!("{} has no member {name:?}", u.name))?;
        let sub = DataTarget {
            attr: t.attr.clone(),
            byte: at + m.offset as usize,
            ty: m.ty.clone(),
            count: m.elements() as usize,
            bit: m.bit,
        };
        write_json(&sub, v, write).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// One leaf of a structure's data, as history records it: `name` (`M1.Speed`,
/// `Motors[2].Faults`), the values of its elements (one for a scalar) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// The member path.
    pub name: String,
    /// The values.
    pub values: Vec<Json>,
}

/// The leaves of tag `name`'s structure data `data` (elements of `udt`) that overlap bytes
/// `range` of it: atomic members (a member array as one leaf), BOOL members and strings.
pub fn leaves(
    name: &str,
    udt: &Udt,
    array: bool,
    data: &[u8],
    range: std::ops::Range<usize>,
) -> Vec<Leaf> {
    let size = (udt.size as usize).max(1);
    let mut out = Vec::new();
    for (i, chunk) in data.chunks(size).enumerate() {
        let base = i * size;
        if base >= range.end || base + size <= range.start {
            continue;
        }
        let path = if array {
            format!("{name}[{i}]")
        } else {
            name.to_string()
        };
        let r = range.start.saturating_sub(base)..range.end - base;
        struct_leaves(&path, udt, chunk, &r, &mut out);
    }
    out
}

fn struct_leaves(
    path: &str,
    udt: &Udt,
    data: &[u8],
    range: &std::ops::Range<usize>,
    out: &mut Vec<Leaf>,
) {
    for m in udt.members.iter().filter(|m| !m.hidden) {
        let at = m.offset as usize;
        let len = match m.bit {
            Some(_) => 1,
            None => (m.ty.size() * m.elements()) as usize,
        };
        if at >= range.end || at + len <= range.start {
            continue;
        }
        let name = format!("{path}.{}", m.name);
        let bytes = data.get(at..at + len).unwrap_or_default();
        match (&m.ty, m.bit) {
            (LogixType::Atomic(DataType::Bool), Some(bit)) => out.push(Leaf {
                name,
                values: vec![Json::Bool(bytes.first().is_some_and(|b| b >> bit & 1 == 1))],
            }),
            (LogixType::Struct(u), _) if !is_string(u) => {
                let r = range.start.saturating_sub(at)..range.end - at;
                if m.count == 0 {
                    struct_leaves(&name, u, bytes, &r, out);
                } else {
                    out.extend(leaves(&name, u, true, bytes, r));
                }
            }
            (ty, _) => {
                let size = ty.size() as usize;
                let values = bytes
                    .chunks(size.max(1))
                    .map(|c| element_json(ty, c))
                    .collect();
                out.push(Leaf { name, values });
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::device::DeviceConfig;
    use crate::model::logix_type::Types;
    use crate::model::tagspec::TagSpec;
    use serde_json::json;

    /// A device with `M1=Motor`, `Motors=Motor[3]`, `Program:Main.Count=DINT`.
    pub(crate) fn device() -> Device {
        let mut types = Types::default();
        types.define_compact("Cell{Volts:REAL, Ok:BOOL}").unwrap();
        types
            .define_compact(
                "Motor{Speed:REAL, Running:BOOL, Fault:BOOL, Faults:DINT[4], Name:STRING, Cell:Cell}",
            )
            .unwrap();
        let mut d = Device::new(&DeviceConfig::default());
        for t in ["M1=Motor", "Motors=Motor[3]", "Program:Main.Count=DINT"] {
            d.add_tag(&TagSpec::parse_with(t, Some(&types)).unwrap())
                .unwrap();
        }
        d
    }

    fn data(d: &Device, text: &str) -> DataTarget {
        match resolve_text(d, text).unwrap().at {
            Resolved::Data(t) => t,
            Resolved::Flat(_) => panic!("{text} is not inside a structure"),
        }
    }

    fn put(d: &Device, text: &str, v: Json) {
        let t = data(d, text);
        let w = |at: usize, b: &[u8]| t.attr.write(at, b.len(), b);
        write_json(&t, &v, &w).unwrap();
    }

    #[test]
    fn members_written_as_json_read_back_as_json() {
        let d = device();
        put(&d, "M1.Speed", json!(1.5));
        put(&d, "Motors[2].Running", json!(true));
        put(&d, "M1.Name", json!("pump"));
        put(&d, "M1.Faults[2]", json!(-9));
        put(&d, "M1", json!({"Cell": {"Ok": true, "Volts": 2.5}}));
        let m1 = target_json(&data(&d, "M1"), 1).unwrap();
        assert_eq!(
            m1,
            json!({"Speed": 1.5, "Running": false, "Fault": false, "Faults": [0, 0, -9, 0],
                   "Name": "pump", "Cell": {"Volts": 2.5, "Ok": true}})
        );
        assert_eq!(
            target_json(&data(&d, "Motors[2].Running"), 1).unwrap(),
            json!(true)
        );
        assert_eq!(
            target_json(&data(&d, "Motors[1].Running"), 1).unwrap(),
            json!(false)
        );
        let all = target_json(&data(&d, "Motors"), 3).unwrap();
        assert_eq!(all[2]["Running"], json!(true));
        let count = resolve_text(&d, "Program:Main.Count").unwrap();
        assert_eq!(count.tag.name, "Program:Main.Count");
    }

    #[test]
    fn bad_paths_and_values_are_one_line_each() {
        let d = device();
        let e = |text: &str| resolve_text(&d, text).err().unwrap();
        assert!(
            e("M1.Nope").contains("member Motor does not have"),
            "{}",
            e("M1.Nope")
        );
        assert!(e("Motors[7].Speed").contains("out of range"));
        assert!(e("Nope.X").contains("no tag"));
        let t = data(&d, "M1.Speed");
        let none = |_: usize, _: &[u8]| Ok(());
        assert!(write_json(&t, &json!("fast"), &none).is_err());
        let t = data(&d, "M1");
        let e = write_json(&t, &json!({"Nope": 1}), &none).unwrap_err();
        assert!(e.contains("no member \"Nope\""), "{e}");
        let t = data(&d, "M1.Name");
        assert!(write_json(&t, &json!("x".repeat(83)), &none).is_err());
    }

    #[test]
    fn leaves_name_each_member_a_byte_range_touches() {
        let d = device();
        put(&d, "Motors[1].Speed", json!(7.5));
        put(&d, "Motors[1].Fault", json!(true));
        let t = data(&d, "Motors");
        let mut raw = Vec::new();
        t.attr.read(0, t.attr.len(), &mut raw).unwrap();
        let Some(LogixType::Struct(u)) = d
            .tag("Motors")
            .and_then(|t| t.layout.as_ref())
            .map(|l| l.ty.clone())
        else {
            panic!("Motors is a structure array");
        };
        let size = u.size as usize;
        // The Speed of element 1 only.
        let got = leaves("Motors", &u, true, &raw, size..size + 4);
        assert_eq!(
            got,
            vec![Leaf {
                name: "Motors[1].Speed".into(),
                values: vec![json!(7.5)]
            }]
        );
        // The BOOL host byte: both BOOL members.
        let got = leaves("Motors", &u, true, &raw, size + 4..size + 5);
        let names: Vec<_> = got
            .iter()
            .map(|l| (l.name.as_str(), l.values.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("Motors[1].Running", vec![json!(false)]),
                ("Motors[1].Fault", vec![json!(true)])
            ]
        );
        let whole = leaves("M", &u, false, raw.get(..size).unwrap(), 0..size);
        let names: Vec<_> = whole.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "M.Speed",
                "M.Running",
                "M.Fault",
                "M.Faults",
                "M.Name",
                "M.Cell.Volts",
                "M.Cell.Ok"
            ]
        );
        assert_eq!(whole[3].values.len(), 4);
    }
}
