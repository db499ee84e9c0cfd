//! Automata for Python: machines (graphs of states, regular expressions) built from the Python
//! classes of `cpppo_rs.automata` and run on [`cpppo_automata`], pulling symbols from a Python
//! source and reporting every transition.

use std::collections::HashMap;
use std::sync::Arc;

use cpppo_automata::{Data, Machine as RsMachine, Run as RsRun, RunError, StateName, Step, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use crate::automata_sym::{build, EdgeSpec, PySource, StateSpec};
use crate::errors::raise;

/// A built machine: over text (`str` symbols) or bytes.
#[pyclass(module = "cpppo_rs.automata", frozen)]
pub struct Machine {
    pub(crate) m: Body,
}

/// A machine over one of the two symbol types.
pub enum Body {
    /// Over characters.
    Text(Arc<RsMachine<char>>),
    /// Over bytes.
    Bytes(Arc<RsMachine<u8>>),
}

impl Body {
    fn of<S: cpppo_automata::Symbol>(
        m: RsMachine<S>,
        terminal: bool,
        greedy: bool,
        context: Option<&str>,
        wrap: fn(Arc<RsMachine<S>>) -> Body,
    ) -> Body {
        let m = m.terminal(terminal).greedy(greedy);
        let m = match context {
            Some(c) => m.context(c),
            None => m,
        };
        wrap(Arc::new(m))
    }
}

/// An `AutomataError` (building: no offset).
pub fn build_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "AutomataError", (message,))
}

/// Builds a machine from its states and transitions (the Python `dfa` does this from its
/// graph of `state` objects).
#[pyfunction]
#[pyo3(signature = (name, states, edges, initial, terminal=false, greedy=true, context=None, bytes=false))]
#[allow(clippy::too_many_arguments)] // cpppo's dfa keywords.
pub fn build_machine(
    py: Python<'_>,
    name: &str,
    states: Vec<StateSpec>,
    edges: Vec<EdgeSpec>,
    initial: usize,
    terminal: bool,
    greedy: bool,
    context: Option<&str>,
    bytes: bool,
) -> PyResult<Machine> {
    let m = if bytes {
        let m = build::<u8>(py, name, states, edges, initial)?;
        Body::of(m, terminal, greedy, context, Body::Bytes)
    } else {
        let m = build::<char>(py, name, states, edges, initial)?;
        Body::of(m, terminal, greedy, context, Body::Text)
    };
    Ok(Machine { m })
}

/// Builds a machine accepting the sentences of the regular expression `pattern`; with
/// `bytes`, over the UTF-8 bytes of the text the pattern describes (cpppo's `regex_bytes`).
#[pyfunction]
#[pyo3(signature = (pattern, name=None, terminal=false, greedy=true, context=None, bytes=false))]
pub fn regex_machine(
    py: Python<'_>,
    pattern: &str,
    name: Option<&str>,
    terminal: bool,
    greedy: bool,
    context: Option<&str>,
    bytes: bool,
) -> PyResult<Machine> {
    let fail = |e: cpppo_automata::BuildError| build_error(py, e.to_string());
    let m = if bytes {
        let m = RsMachine::<u8>::regex_text(pattern).map_err(fail)?;
        let m = match name {
            Some(n) => m.named(n),
            None => m,
        };
        Body::of(m, terminal, greedy, context, Body::Bytes)
    } else {
        let m = RsMachine::<char>::regex(pattern).map_err(fail)?;
        let m = match name {
            Some(n) => m.named(n),
            None => m,
        };
        Body::of(m, terminal, greedy, context, Body::Text)
    };
    Ok(Machine { m })
}

/// One transition for Python: `(machine, state, depth, offset)`.
type Moved = (String, Py<PyAny>, usize, usize);

/// A run over one of the two symbol types.
enum Runs {
    Text(RsRun<'static, char>),
    Bytes(RsRun<'static, u8>),
}

/// `&'static` to the machine behind `arc`.
///
/// # Safety
/// The caller must keep a clone of `arc` alive, unmutated, for as long as the returned reference
/// (or anything borrowing from it) is used. [`Run`] does: it keeps the clone in `_machine`, and
/// `run`, the only borrower, is declared (so dropped) before it.
unsafe fn extend<S>(arc: &Arc<RsMachine<S>>) -> &'static RsMachine<S> {
    // SAFETY: the pointee lives on the heap behind `arc`; the caller keeps it alive (above).
    unsafe { &*Arc::as_ptr(arc) }
}

/// A run of a machine, stepped from Python.
#[pyclass(module = "cpppo_rs.automata")]
pub struct Run {
    // Declared before `_machine`, so dropped first: it borrows from it.
    run: Runs,
    data: Data,
    /// What `changed` last reported: each path's value kind and length (collected input only
    /// grows) or, for a number or flag, the value.
    reported: HashMap<String, Seen>,
    /// The machine `run` borrows, kept alive (and never mutated) here.
    _machine: Arc<dyn std::any::Any + Send + Sync>,
}

fn run_error(py: Python<'_>, e: RunError) -> PyErr {
    raise(py, "AutomataError", (e.to_string(), e.offset))
}

#[pymethods]
impl Run {
    /// Starts a run of `machine`, its data under `path` (cpppo's `path=`), beginning with
    /// the values of `data` (a flat mapping of dotted paths).
    #[new]
    #[pyo3(signature = (machine, path="", data=None))]
    fn new(machine: &Machine, path: &str, data: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let (run, kept): (Runs, Arc<dyn std::any::Any + Send + Sync>) = match &machine.m {
            // SAFETY: `m.clone()` is kept in the Run's `_machine`, dropped after `run`.
            Body::Text(m) => (Runs::Text(unsafe { extend(m) }.start_at(path)), m.clone()),
            // SAFETY: as above.
            Body::Bytes(m) => (Runs::Bytes(unsafe { extend(m) }.start_at(path)), m.clone()),
        };
        let mut store = Data::new();
        if let Some(d) = data {
            for (k, v) in d.iter() {
                if let Some(v) = value_from_py(&v) {
                    store.insert(k.extract::<String>()?, v);
                }
            }
        }
        Ok(Run {
            run,
            data: store,
            reported: HashMap::new(),
            _machine: kept,
        })
    }

    /// The next transition as `(machine, state, depth, offset)` (state: a name, or a regex
    /// DFA's state number), or `None` when the machine is done. Raises `AutomataError` when
    /// it cannot proceed.
    fn step(&mut self, py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Option<Moved>> {
        let mut src = PySource::new(source);
        let step = match &mut self.run {
            Runs::Text(r) => r.step(&mut src, &mut self.data),
            Runs::Bytes(r) => r.step(&mut src, &mut self.data),
        };
        if let Some(e) = src.error {
            return Err(e);
        }
        match step.map_err(|e| run_error(py, e))? {
            Step::Done(_) | Step::NeedInput => Ok(None),
            Step::Transition(t) => {
                let state = match t.state {
                    StateName::Named(n) => PyString::new(py, n).into_any().unbind(),
                    StateName::Dfa(i) => i.into_pyobject(py)?.into_any().unbind(),
                };
                Ok(Some((t.machine.to_string(), state, t.depth, t.offset)))
            }
        }
    }

    /// Whether the machine ended terminal (`None` while it runs).
    fn terminal(&mut self, py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Option<bool>> {
        let mut src = PySource::new(source);
        let step = match &mut self.run {
            Runs::Text(r) if r.is_finished() => r.step(&mut src, &mut self.data),
            Runs::Bytes(r) if r.is_finished() => r.step(&mut src, &mut self.data),
            _ => return Ok(None),
        };
        match step.map_err(|e| run_error(py, e))? {
            Step::Done(o) => Ok(Some(o.terminal)),
            _ => Ok(None),
        }
    }

    /// The data collected so far: `{dotted path: str | bytes | int | float | bool}`.
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        data_to_py(py, &self.data)
    }

    /// The values that changed since the last call (all of them on the first call).
    fn changed<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.data.iter() {
            let now = Seen::of(v);
            if self.reported.get(k) != Some(&now) {
                d.set_item(k, value_to_py(py, v)?)?;
                self.reported.insert(k.to_string(), now);
            }
        }
        Ok(d)
    }
}

/// Data as `{dotted path: str | bytes | int | float | bool}`.
pub fn data_to_py<'py>(py: Python<'py>, data: &Data) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in data.iter() {
        d.set_item(k, value_to_py(py, v)?)?;
    }
    Ok(d)
}

/// A cheap fingerprint of a data value, to tell whether it changed.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Text(usize),
    Bytes(usize),
    Int(i64),
    Float(u64),
    Bool(bool),
}

impl Seen {
    fn of(v: &Value) -> Seen {
        match v {
            Value::Text(t) => Seen::Text(t.len()),
            Value::Bytes(b) => Seen::Bytes(b.len()),
            Value::Int(i) => Seen::Int(*i),
            Value::Float(x) => Seen::Float(x.to_bits()),
            Value::Bool(b) => Seen::Bool(*b),
        }
    }
}

fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Text(t) => PyString::new(py, t).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(x) => PyFloat::new(py, *x).into_any(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
    })
}

fn value_from_py(o: &Bound<'_, PyAny>) -> Option<Value> {
    if o.is_instance_of::<PyBool>() {
        return o.extract().ok().map(Value::Bool);
    }
    if o.is_instance_of::<PyInt>() {
        return o.extract().ok().map(Value::Int);
    }
    if o.is_instance_of::<PyFloat>() {
        return o.extract().ok().map(Value::Float);
    }
    if o.is_instance_of::<PyString>() {
        return o.extract().ok().map(Value::Text);
    }
    if o.is_instance_of::<PyBytes>() {
        return o.extract().ok().map(Value::Bytes);
    }
    None
}

/// Adds this module's functions and classes to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Machine>()?;
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(build_machine, m)?)?;
    m.add_function(wrap_pyfunction!(regex_machine, m)?)?;
    Ok(())
}
