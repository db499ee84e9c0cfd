//! Tags and structures from the JSON of pycomm3's `LogixDriver.tags` (cpppo's
//! `-D/--defined-tags`): tag name → `{tag_type: "struct"|"atomic", dimensions: [d0, d1, d2],
//! data_type: "DINT" | {name, internal_tags: {member: {offset, tag_type, data_type, array |
//! bit}}, template: {structure_size, ...}}}`. Members keep the offsets given (hidden BOOL
//! hosts included) and structures the size given.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::logix_type::{LogixType, Member, Types};
use crate::model::tagspec::TagSpec;

fn field<'a>(v: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a Value, String> {
    v.get(key).ok_or_else(|| format!("{what}: no {key:?}"))
}

fn number(v: &Value, what: &str) -> Result<u32, String> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{what}: {v} is not a number"))
}

/// The type a `data_type` value names (defining structures as they are met).
fn data_type(v: &Value, types: &mut Types, what: &str) -> Result<LogixType, String> {
    match v {
        Value::String(name) => types
            .get(name)
            .ok_or_else(|| format!("{what}: unknown type {name:?}")),
        Value::Object(o) => {
            let name = field(o, "name", what)?
                .as_str()
                .ok_or_else(|| format!("{what}: the structure name is not text"))?;
            if let Some(t) = types.get(name) {
                return Ok(t);
            }
            let what = format!("{what}: structure {name:?}");
            let size = field(o, "template", &what)?
                .get("structure_size")
                .ok_or_else(|| format!("{what}: no template.structure_size"))
                .and_then(|s| number(s, &what))?;
            let internal = field(o, "internal_tags", &what)?
                .as_object()
                .ok_or_else(|| format!("{what}: internal_tags is not an object"))?;
            let mut members = Vec::new();
            for (m, info) in internal {
                let mw = format!("{what} member {m:?}");
                let info = info
                    .as_object()
                    .ok_or_else(|| format!("{mw}: not an object"))?;
                let ty = data_type(field(info, "data_type", &mw)?, types, &mw)?;
                let offset = number(field(info, "offset", &mw)?, &mw)?;
                let bit = match info.get("bit") {
                    Some(b) => {
                        Some(u8::try_from(number(b, &mw)?).map_err(|_| format!("{mw}: bit"))?)
                    }
                    None => None,
                };
                let count = match info.get("array") {
                    Some(a) => u16::try_from(number(a, &mw)?)
                        .map_err(|_| format!("{mw}: array too long"))?,
                    None => 0,
                };
                members.push(Member {
                    hidden: m.starts_with("ZZZZZZZZZZ") || m.starts_with("__"),
                    name: m.clone(),
                    ty,
                    count,
                    bit,
                    offset,
                });
            }
            members.sort_by_key(|m| (m.offset, !m.hidden, m.bit));
            types
                .define_laid_out(name, members, size)
                .map(LogixType::Struct)
                .map_err(|e| e.to_string())
        }
        _ => Err(format!(
            "{what}: data_type is neither a name nor a structure"
        )),
    }
}

/// The tag specifications (and, into `types`, the structures) a pycomm3 tag JSON describes.
pub fn load(text: &str, types: &mut Types) -> Result<Vec<TagSpec>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let tags = v.as_object().ok_or("not an object of tags")?;
    let mut out = Vec::new();
    for (name, tag) in tags {
        let what = format!("tag {name:?}");
        let tag = tag
            .as_object()
            .ok_or_else(|| format!("{what}: not an object"))?;
        let ty = data_type(field(tag, "data_type", &what)?, types, &what)?;
        let dims: Vec<u32> = match tag.get("dimensions") {
            Some(Value::Array(d)) => d
                .iter()
                .map(|n| number(n, &what))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|n| *n > 0)
                .collect(),
            _ => Vec::new(),
        };
        let dims = dims
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let spec = match dims.as_str() {
            "" => format!("{name}={}", ty.name()),
            d => format!("{name}={}[{d}]", ty.name()),
        };
        out.push(TagSpec::parse_with(&spec, Some(types)).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// The structure types of `specs` (for callers that need them by name).
pub fn structures(specs: &[TagSpec]) -> Vec<Arc<crate::model::logix_type::Udt>> {
    let mut out = Vec::new();
    for s in specs {
        if let Some(LogixType::Struct(u)) = s.layout.as_ref().map(|l| &l.ty) {
            u.with_nested(&mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pycomm3_tag_json_loads() {
        let json = r#"{
          "M1": {"tag_type": "struct", "dimensions": [0, 0, 0], "data_type": {
              "name": "Motor", "template": {"structure_size": 12, "member_count": 4},
              "internal_tags": {
                "Speed": {"offset": 0, "tag_type": "atomic", "data_type": "REAL"},
                "ZZZZZZZZZZMotor1": {"offset": 4, "tag_type": "atomic", "data_type": "SINT"},
                "Running": {"offset": 4, "tag_type": "atomic", "data_type": "BOOL", "bit": 0},
                "Count": {"offset": 8, "tag_type": "atomic", "data_type": "DINT"}}}},
          "Program:Main.Grid": {"tag_type": "atomic", "dimensions": [4, 5, 0], "data_type": "DINT"}
        }"#;
        let mut types = Types::default();
        let specs = load(json, &mut types).unwrap();
        assert_eq!(specs.len(), 2);
        let m = types.udt("Motor").unwrap();
        assert_eq!(m.size, 12);
        assert_eq!(m.members[2].name, "Running");
        assert_eq!(m.member("count").unwrap().offset, 8);
        assert_eq!(specs[0].len, 12);
        assert_eq!(specs[1].layout.as_ref().unwrap().dims, vec![4, 5]);
        assert_eq!(structures(&specs).len(), 1);
        let bad = r#"{"X": {"data_type": "FOO"}}"#;
        assert!(load(bad, &mut types)
            .unwrap_err()
            .contains("unknown type \"FOO\""));
        let outside = r#"{"Y": {"data_type": {"name": "Small", "template": {"structure_size": 2},
            "internal_tags": {"a": {"offset": 0, "data_type": "DINT"}}}}}"#;
        assert!(load(outside, &mut types).unwrap_err().contains("outside"));
        let bit = r#"{"Z": {"data_type": {"name": "Bits", "template": {"structure_size": 4},
            "internal_tags": {"b": {"offset": 0, "data_type": "BOOL", "bit": 9}}}}}"#;
        assert!(load(bit, &mut types).unwrap_err().contains("bit is 0 to 7"));
    }
}
