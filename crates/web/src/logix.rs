//! Logix structures on the API: a structure tag's elements as JSON objects, member paths
//! (`M1.Speed`, `Motors[2].Running`, `Program:Main.Local.Speed`) as items, and writes to
//! them. Paths resolve as Read/Write Tag paths do
//! ([`cpppo_enip::server::logix::value::resolve_text`]).

use std::sync::Arc;

use cpppo_cip::Status;
use cpppo_enip::model::device::Tag;
use cpppo_enip::model::logix_type::LogixType;
use cpppo_enip::server::logix::tag_path::{DataTarget, Resolved};
use cpppo_enip::server::logix::value::{is_string, resolve_text, target_json, write_json};
use serde_json::{json, Value as Json};

use crate::api::{ApiError, Plan};
use crate::Web;

/// Whether `text` has the shape of a member path or element (not a tag name or a glob).
pub fn is_path(text: &str) -> bool {
    text.contains(['.', '[']) && !text.contains(['*', '?'])
}

/// The type name shown for a structure (Logix's own name for the built-in STRING).
fn type_name(ty: &LogixType) -> String {
    match ty {
        LogixType::Struct(u) if u.handle == cpppo_cip::types::LOGIX_STRING_HANDLE => {
            "STRING".into()
        }
        t => t.name().to_string(),
    }
}

/// A structure tag's whole target (all its elements), read through `attr` (the value the
/// API shows: the control's guard's inner attribute, so a forced error does not hide it).
fn whole(tag: &Tag, attr: Arc<dyn cpppo_enip::model::attribute::Attribute>) -> Option<DataTarget> {
    let layout = tag.layout.as_deref()?;
    let LogixType::Struct(_) = &layout.ty else {
        return None;
    };
    Some(DataTarget {
        attr,
        byte: 0,
        ty: layout.ty.clone(),
        count: layout.elements(),
        bit: None,
    })
}

/// The API item of a structure tag (`None` for other tags): `type` the structure's name,
/// `length` its elements, `values` one object per element, and `value` the object (a list
/// for an array).
pub fn struct_item(
    tag: &Tag,
    attr: Arc<dyn cpppo_enip::model::attribute::Attribute>,
) -> Option<Json> {
    let t = whole(tag, attr)?;
    let array = tag.layout.as_deref().is_some_and(|l| !l.dims.is_empty());
    let values = match target_json(&t, t.count) {
        Ok(Json::Array(v)) if t.count > 1 => v,
        Ok(one) => vec![one],
        Err(_) => Vec::new(),
    };
    let value = match (array, values.first()) {
        (false, Some(v)) => v.clone(),
        _ => Json::Array(values.clone()),
    };
    let ty = type_name(&t.ty);
    let dims = tag
        .layout
        .as_deref()
        .map(|l| {
            l.dims
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let shape = if array {
        format!("[{dims}]")
    } else {
        " x1".into()
    };
    Some(json!({
        "attribute": format!("{:<24} {ty:>10}{shape} == {value}", tag.name),
        "type": ty,
        "length": t.count,
        "dimensions": tag.layout.as_deref().map(|l| l.dims.clone()),
        "value": value,
        "values": values,
    }))
}

/// The item of a member path: its type, element count and values (`values` a list, `value`
/// the first).
pub fn member_item(web: &Web, text: &str) -> Result<Json, ApiError> {
    let (t, _) = target(web, text)?;
    let (ty, n) = match (&t.ty, t.bit) {
        (LogixType::Atomic(_), Some(_)) => ("BOOL".to_string(), 1),
        // `M1.Faults[2]`, `Motors[1]`: the one element named.
        (ty, _) if text.trim_end().ends_with(']') => (type_name(ty), 1),
        (ty, _) => (type_name(ty), t.count),
    };
    let v = target_json(&t, n).map_err(|s| read_failed(text, s))?;
    let values = match (n, v) {
        (1, one) => vec![one],
        (_, Json::Array(v)) => v,
        (_, one) => vec![one],
    };
    Ok(json!({
        "type": ty,
        "length": n,
        "error": 0,
        "value": values.first().cloned().unwrap_or(Json::Null),
        "values": values,
    }))
}

fn read_failed(text: &str, s: Status) -> ApiError {
    ApiError {
        status: 409,
        message: format!("tags.{text}: read failed (status 0x{:02x})", s.general),
    }
}

/// What `text` names inside a structure tag (reading through the guard's inner attribute),
/// and the tag.
fn target(web: &Web, text: &str) -> Result<(DataTarget, Arc<Tag>), ApiError> {
    let bad = |message: String| ApiError {
        status: 404,
        message,
    };
    let named = resolve_text(&web.device, text).map_err(|e| bad(format!("tags.{text}: {e}")))?;
    let inner = web
        .control
        .guarded(&named.tag.name)
        .map(|g| g.inner().clone());
    let mut t = match named.at {
        Resolved::Data(t) => t,
        Resolved::Flat(i) => {
            let Some(t) = whole(&named.tag, named.tag.attribute.clone()) else {
                return Err(bad(format!(
                    "tags.{text}: {} is not a structure tag (use tags/{}/attribute[{i}])",
                    named.tag.name, named.tag.name
                )));
            };
            t
        }
    };
    if let Some(inner) = inner {
        t.attr = inner;
    }
    Ok((t, named.tag))
}

/// Whether `name` is a structure tag or a member path into one (the API's Logix items).
pub fn is_logix(web: &Web, name: &str) -> bool {
    match web.device.tag(name) {
        Some(t) => whole(t, t.attribute.clone()).is_some(),
        None => is_path(name),
    }
}

/// Plan a write of `value` (JSON, or bare text for a string or a number) to element `i` of
/// what `name` names; checked now (nothing written if it is bad), applied by the action.
pub fn plan_write(web: &Web, name: &str, what: &str, i: usize, value: &str) -> Plan {
    let (mut t, tag) = target(web, name)?;
    if i >= t.count.max(1) {
        return Err(ApiError {
            status: 400,
            message: format!(
                "{what}: index {i} is out of range (0-{})",
                t.count.saturating_sub(1)
            ),
        });
    }
    t.byte += i * t.size();
    t.count -= i;
    // Text for a string member unless quoted JSON; else JSON, or the bare text.
    let text_only = matches!(&t.ty, LogixType::Struct(u) if is_string(u));
    let v = match serde_json::from_str::<Json>(value.trim()) {
        Ok(v) if !text_only || v.is_string() => v,
        _ => Json::String(value.to_string()),
    };
    let check = |_: usize, _: &[u8]| Ok(());
    write_json(&t, &v, &check).map_err(|e| ApiError {
        status: 400,
        message: format!("{what}: {e}"),
    })?;
    let guard = web.control.guarded(&tag.name);
    let note = v.to_string();
    let act: crate::api::Action = Box::new(move || {
        let write = |at: usize, data: &[u8]| match &guard {
            Some(g) => g.write_direct(at, data.len(), data),
            None => t.attr.write(at, data.len(), data),
        };
        if let Err(e) = write_json(&t, &v, &write) {
            tracing::warn!("web write failed: {e}");
        }
    });
    Ok((Some(act), note))
}
