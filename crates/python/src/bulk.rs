//! Bulk reads for Python: many operations through one pipelined, batched call whose results
//! are consumed in Rust, so Python pays for the values only (not a 6-tuple per operation).
//!
//! Memory stays flat however many operations: each distinct operation is parsed and held once
//! (the pipeline gets a clone as it sends it), and each transaction is cut down to its value
//! as it completes.

use std::collections::HashMap;

use cpppo_enip::client::operation::Literal;
use cpppo_enip::client::operation::Operation as RsOperation;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::client::{operation_of, Connector};
use crate::errors::raise;
use crate::values::list_to_py;

/// The operations: each distinct one once, and the order to run them in.
struct Plan {
    distinct: Vec<RsOperation>,
    order: Vec<u32>,
}

/// Parses `operations` (strings or `Operation`s); each distinct string is parsed once.
fn parse_all(py: Python<'_>, operations: &Bound<'_, PyAny>) -> PyResult<Plan> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut plan = Plan {
        distinct: Vec::new(),
        order: Vec::new(),
    };
    // The same object again (`["SCADA[1]"] * n`): its operation again, unlooked-up. (The
    // last item is held, so no other object can take its address meanwhile.)
    let mut last: Option<(Bound<'_, PyAny>, u32)> = None;
    for item in operations.try_iter()? {
        let item = item?;
        if let Some((prev, at)) = &last {
            if prev.is(&item) {
                plan.order.push(*at);
                continue;
            }
        }
        let at = match item.cast::<PyString>() {
            Ok(text) => {
                let text = text.to_cow()?;
                match seen.get(text.as_ref()) {
                    Some(&at) => at,
                    None => {
                        let op = RsOperation::parse(&text)
                            .map_err(|e| raise(py, "OperationError", (e.to_string(),)))?;
                        let at = plan.push(op)?;
                        seen.insert(text.into_owned(), at);
                        at
                    }
                }
            }
            Err(_) => {
                let op = operation_of(py, &item)?;
                if !op.paths.is_empty() {
                    return Err(raise(
                        py,
                        "OperationError",
                        (format!(
                            "read_many runs every operation on the connector's route; {} has \
                             its own route_path/send_path (use pipeline)",
                            op.text
                        ),),
                    ));
                }
                plan.push(op.op)?
            }
        };
        plan.order.push(at);
        last = Some((item, at));
    }
    Ok(plan)
}

impl Plan {
    fn push(&mut self, op: RsOperation) -> PyResult<u32> {
        let at = u32::try_from(self.distinct.len())
            .map_err(|_| pyo3::exceptions::PyValueError::new_err("too many operations"))?;
        self.distinct.push(op);
        Ok(at)
    }
}

/// How many results are turned into Python objects at a time (the GIL taken once for them),
/// so each transaction's memory is reused while hot instead of a million waiting at the end.
const BATCH: usize = 512;

/// Each result's value as its Python object: the values read, `True` for a write, `None`
/// for a failure.
fn to_python(py: Python<'_>, done: &mut Vec<Done>, out: &mut Vec<Py<PyAny>>) -> PyResult<()> {
    for (read, value) in done.drain(..) {
        out.push(match value {
            None => py.None(),
            Some(_) if !read => true.into_pyobject(py)?.to_owned().into_any().unbind(),
            Some(v) => list_to_py(py, &v)?.into_any().unbind(),
        });
    }
    Ok(())
}

/// One finished operation: whether it read, and its values (`None`: failed).
type Done = (bool, Option<Vec<Literal>>);

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
    let Plan { distinct, order } = parse_all(py, operations)?;
    let count = order.len();
    let ops = order
        .into_iter()
        .filter_map(move |at| distinct.get(at as usize).cloned());
    let out = connector.run_async(py, depth, |w, conn| {
        w.wait(async {
            let mut pipe = conn
                .pipeline(ops, depth, multiple)
                .fragmented(fragment)
                .replies(false);
            let mut out: Vec<Py<PyAny>> = Vec::with_capacity(count);
            let mut done = Vec::with_capacity(BATCH);
            let mut converted: PyResult<()> = Ok(());
            while let Some(t) = pipe.next_value().await {
                done.push(t?);
                if done.len() == BATCH {
                    converted = converted
                        .and_then(|()| Python::attach(|py| to_python(py, &mut done, &mut out)));
                    done.clear();
                }
            }
            converted =
                converted.and_then(|()| Python::attach(|py| to_python(py, &mut done, &mut out)));
            Ok((out, converted))
        })
    })?;
    let (out, converted) = out;
    converted?;
    PyList::new(py, out)
}
