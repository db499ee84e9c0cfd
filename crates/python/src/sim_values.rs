//! What `Simulator.read` and `Simulator.write` name: a tag (its elements, as CIP values), an
//! element of one (`SCADA[3]`), or a path into a structure tag (`M1.Speed`,
//! `Motors[2].Faults`, `M1.Cell`) resolved as a Read/Write Tag path is
//! ([`resolve_text`]), its values decoded: numbers, BOOLs, STRING text, a structure a dict.

use std::sync::Arc;

use cpppo_cip::TagType;
use cpppo_enip::client::operation::int_range;
use cpppo_enip::client::plan::decode_tag;
use cpppo_enip::model::device::{Device, Tag};
use cpppo_enip::model::logix_type::LogixType;
use cpppo_enip::server::logix::tag_path::{is_bit, DataTarget, Resolved};
use cpppo_enip::server::logix::value::{resolve_text, target_json, write_json};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

use crate::errors::raise;
use crate::values::{encode_checked, list_to_py, many_from_py};

/// What a name passed to `read`/`write` names.
pub enum Named {
    /// Elements of a tag, from an element (0 for the tag's name, `i` for `TAG[i]`); whether an
    /// element was named (then one element by default).
    Elements(Arc<Tag>, usize, bool),
    /// A path inside a structure tag.
    Data(DataTarget),
}

/// `name` on `device`: a tag's name first, else a path (`UnknownTagError` naming it).
pub fn named(py: Python<'_>, device: &Device, name: &str) -> PyResult<Named> {
    if let Some(tag) = device.tag(name) {
        return Ok(Named::Elements(tag.clone(), 0, false));
    }
    let unknown = |why: String| raise(py, "UnknownTagError", (why,));
    if !name.contains(['.', '[']) {
        return Err(unknown(format!("the simulator has no tag {name:?}")));
    }
    let found = resolve_text(device, name).map_err(|e| unknown(format!("{name}: {e}")))?;
    Ok(match found.at {
        Resolved::Flat(i) => Named::Elements(found.tag, i, true),
        Resolved::Data(t) => Named::Data(t),
    })
}

fn simulator_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "SimulatorError", (message,))
}

/// `start..start + count` if within the `len` elements of `what`, else a `SimulatorError`.
fn range(py: Python<'_>, what: &str, len: usize, start: usize, count: usize) -> PyResult<()> {
    match start.checked_add(count) {
        Some(end) if end <= len && count > 0 => Ok(()),
        _ => Err(simulator_error(
            py,
            format!(
                "{what} has {len} element(s): elements {start}..{} do not exist",
                start.saturating_add(count)
            ),
        )),
    }
}

/// `sim.read(name, start, count)`: the values as a list.
pub fn read<'py>(
    py: Python<'py>,
    device: &Device,
    name: &str,
    start: usize,
    count: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    match named(py, device, name)? {
        Named::Elements(tag, first, one) => {
            let len = tag.attribute.len();
            let start = first.saturating_add(start);
            let count = count.unwrap_or(if one { 1 } else { len.saturating_sub(start) });
            range(py, &tag.name, len, start, count)?;
            let mut data = Vec::new();
            let ty = tag.attribute.data_type();
            let values = tag
                .attribute
                .read(start, count, &mut data)
                .ok()
                .and_then(|()| decode_tag(TagType::Atomic(ty), &data))
                .ok_or_else(|| simulator_error(py, format!("cannot read {} as {ty}", tag.name)))?;
            list_to_py(py, &values)
        }
        Named::Data(mut t) => {
            let len = if is_bit(&t) { 1 } else { t.count };
            let one = name.trim_end().ends_with(']') || len == 1;
            let count = count.unwrap_or(if one { 1 } else { len.saturating_sub(start) });
            range(py, name, len, start, count)?;
            t.byte += start * t.size();
            let got = target_json(&t, count)
                .map_err(|s| simulator_error(py, format!("reading {name} failed: {s:?}")))?;
            let items = match (count, got) {
                (1, one) => vec![one],
                (_, Json::Array(v)) => v,
                (_, one) => vec![one],
            };
            let items = items
                .iter()
                .map(|v| json_to_py(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)
        }
    }
}

/// `sim.write(name, values, start)`.
pub fn write(
    py: Python<'_>,
    device: &Device,
    name: &str,
    values: &Bound<'_, PyAny>,
    start: usize,
) -> PyResult<()> {
    let invalid = |e: String| {
        raise(
            py,
            "InvalidValueError",
            (format!("cannot write {name}: {e}"),),
        )
    };
    match named(py, device, name)? {
        Named::Elements(tag, first, _) => {
            let start = first.saturating_add(start);
            let values = many_from_py(values)?;
            range(py, &tag.name, tag.attribute.len(), start, values.len())?;
            let ty = tag.attribute.data_type();
            let data = encode_checked(ty, &values).map_err(|e| {
                raise(
                    py,
                    "InvalidValueError",
                    (format!("cannot write {}: {e}", tag.name),),
                )
            })?;
            tag.attribute
                .write(start, values.len(), &data)
                .map_err(|s| simulator_error(py, format!("writing {} failed: {s:?}", tag.name)))
        }
        Named::Data(mut t) => {
            let value = value_to_json(values)?;
            let n = match &value {
                Json::Array(v) => v.len(),
                _ => 1,
            };
            let len = if is_bit(&t) { 1 } else { t.count };
            range(py, name, len, start, n)?;
            check_ranges(&t.ty, &value).map_err(invalid)?;
            t.byte += start * t.size();
            t.count -= start;
            let attr = t.attr.clone();
            let write = |at: usize, data: &[u8]| attr.write(at, data.len(), data);
            write_json(&t, &value, &write).map_err(invalid)
        }
    }
}

/// Refuses integers outside their member's type (as `encode_checked` does for a tag), which
/// the structure writer would otherwise truncate.
fn check_ranges(ty: &LogixType, v: &Json) -> Result<(), String> {
    match (ty, v) {
        (_, Json::Array(items)) => items.iter().try_for_each(|i| check_ranges(ty, i)),
        (LogixType::Struct(u), Json::Object(members)) => {
            members.iter().try_for_each(|(k, v)| match u.member(k) {
                Some(m) => check_ranges(&m.ty, v).map_err(|e| format!("{k}: {e}")),
                None => Ok(()), // the writer names the member it does not have
            })
        }
        (LogixType::Atomic(t), Json::Number(n)) => {
            let int = n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from));
            match (int_range(*t), int) {
                (Some((lo, hi)), Some(i)) if !(lo..=hi).contains(&i) => {
                    Err(format!("{n} is out of range for {t}"))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// A Python value as JSON: `bool`, `int`, `float`, `str`, a `dict` (str keys) of them, or a
/// list or tuple of them.
fn value_to_json(o: &Bound<'_, PyAny>) -> PyResult<Json> {
    if o.is_instance_of::<PyBool>() {
        return Ok(Json::Bool(o.extract()?));
    }
    if o.is_instance_of::<PyInt>() {
        if let Ok(n) = o.extract::<i64>() {
            return Ok(Json::from(n));
        }
        return Ok(Json::from(o.extract::<u64>().map_err(|_| {
            PyTypeError::new_err(format!("{o} is too large for any tag value"))
        })?));
    }
    if o.is_instance_of::<PyFloat>() {
        let x: f64 = o.extract()?;
        return Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| PyTypeError::new_err(format!("{x} is not a finite number")));
    }
    if o.is_instance_of::<PyString>() {
        return Ok(Json::String(o.extract()?));
    }
    if let Ok(d) = o.cast::<PyDict>() {
        let mut members = Map::new();
        for (k, v) in d.iter() {
            let key: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err("structure member names are str"))?;
            members.insert(key, value_to_json(&v)?);
        }
        return Ok(Json::Object(members));
    }
    if o.is_instance_of::<PyList>() || o.is_instance_of::<PyTuple>() {
        let items = o
            .try_iter()?
            .map(|i| value_to_json(&i?))
            .collect::<PyResult<_>>()?;
        return Ok(Json::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "cannot use a {} as a tag value (int, float, bool, str, dict, or a list of them)",
        o.get_type().name()?
    )))
}

/// A decoded value as a Python object (a structure a dict).
fn json_to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (_, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
        },
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(items) => {
            let items = items
                .iter()
                .map(|i| json_to_py(py, i))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Json::Object(members) => {
            let d = PyDict::new(py);
            for (k, v) in members {
                d.set_item(k, json_to_py(py, v)?)?;
            }
            d.into_any()
        }
    })
}
