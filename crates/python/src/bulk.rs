//! Bulk reads for Python: many operations through one pipelined, batched call whose results
//! are consumed in Rust, so Python pays for the values only (not a 6-tuple per operation).
//!
//! Memory stays flat however many operations: each distinct operation is parsed and held once
//! (the pipeline gets a clone as it sends it), and each transaction is cut down to its value
//! as it completes.

use std::collections::HashMap;

use cpppo_enip::client::operation::{Literal, Operation as RsOperation};
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
            Err(_) => plan.push(operation_of(py, &item)?.op)?,
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

/// What an operation came to.
enum Outcome {
    Failed,
    Written,
    Read(Vec<Literal>),
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
    let Plan { distinct, order } = parse_all(py, operations)?;
    let count = order.len();
    let ops = order
        .into_iter()
        .filter_map(move |at| distinct.get(at as usize).cloned());
    let done = connector.run(py, |w, conn| {
        w.wait(async {
            let mut pipe = conn.pipeline(ops, depth, multiple).fragmented(fragment);
            let mut out = Vec::with_capacity(count);
            while let Some(t) = pipe.next().await {
                let t = t?;
                out.push(match t.value {
                    None => Outcome::Failed,
                    Some(_) if !t.plan.kind.is_read() => Outcome::Written,
                    Some(v) => Outcome::Read(v),
                });
            }
            Ok(out)
        })
    })?;
    let items = done
        .iter()
        .map(|o| match o {
            Outcome::Failed => Ok(py.None().into_bound(py)),
            Outcome::Written => Ok(true.into_pyobject(py)?.to_owned().into_any()),
            Outcome::Read(v) => Ok(list_to_py(py, v)?.into_any()),
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}
