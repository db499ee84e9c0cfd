//! Bulk reads for Python: many operations through one pipelined, batched call whose results
//! are consumed in Rust, so Python pays for the values only (not a 6-tuple per operation).

use std::collections::HashMap;

use cpppo_enip::client::operation::Operation as RsOperation;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::client::{operation_of, Connector};
use crate::errors::raise;
use crate::values::list_to_py;

/// Parses `operations` (strings or `Operation`s); each distinct string is parsed once.
fn parse_all(py: Python<'_>, operations: &Bound<'_, PyAny>) -> PyResult<Vec<RsOperation>> {
    let mut seen: HashMap<String, RsOperation> = HashMap::new();
    let mut out: Vec<RsOperation> = Vec::new();
    // The same object again (`["SCADA[1]"] * n`): its operation again, unlooked-up. (The
    // last item is held, so no other object can take its address meanwhile.)
    let mut last: Option<Bound<'_, PyAny>> = None;
    for item in operations.try_iter()? {
        let item = item?;
        if last.as_ref().is_some_and(|l| l.is(&item)) {
            if let Some(op) = out.last() {
                out.push(op.clone());
                continue;
            }
        }
        last = Some(item.clone());
        if let Ok(text) = item.cast::<PyString>() {
            let text = text.to_cow()?;
            let text: &str = &text;
            if let Some(op) = seen.get(text) {
                out.push(op.clone());
                continue;
            }
            let op = RsOperation::parse(text)
                .map_err(|e| raise(py, "OperationError", (e.to_string(),)))?;
            seen.insert(text.to_owned(), op.clone());
            out.push(op);
        } else {
            out.push(operation_of(py, &item)?.op);
        }
    }
    Ok(out)
}

/// Runs every operation with up to `depth` requests in flight, batched into Multiple Service
/// Packets of up to `multiple` bytes; returns each one's values (`True` for a write, `None`
/// where the device refused it), as `connector.results` but in one call.
#[pyfunction]
#[pyo3(signature = (connector, operations, depth=20, multiple=4000, fragment=false))]
pub fn read_many<'py>(
    py: Python<'py>,
    connector: &Connector,
    operations: &Bound<'py, PyAny>,
    depth: usize,
    multiple: usize,
    fragment: bool,
) -> PyResult<Bound<'py, PyList>> {
    let ops = parse_all(py, operations)?;
    let done = connector.run(py, |w, conn| {
        w.wait(
            conn.pipeline(ops, depth, multiple)
                .fragmented(fragment)
                .collect(),
        )
    })?;
    let out = PyList::empty(py);
    for t in &done {
        match &t.value {
            None => out.append(py.None())?,
            Some(_) if !t.plan.kind.is_read() => out.append(true)?,
            Some(v) => out.append(list_to_py(py, v)?)?,
        }
    }
    Ok(out)
}
