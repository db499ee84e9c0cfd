//! Automata for Python: machines (graphs of states, regular expressions) built from the Python
//! classes of `cpppo_rs.automata` and run on [`cpppo_automata`], pulling symbols from a Python
//! source and reporting every transition.

use std::collections::HashMap;
use std::sync::Arc;

use cpppo_automata::{
    Data, Graph, Machine as RsMachine, Peek, Run as RsRun, Source, State, StateName, Step, Value,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use crate::errors::raise;

/// A built machine over text (`str` symbols).
#[pyclass(module = "cpppo_rs.automata", frozen)]
pub struct Machine {
    m: Arc<RsMachine<char>>,
}

/// One state for [`build_machine`]: `(kind, name, terminal, context, sub-machine)`; kind is
/// `"plain"`, `"input"`, `"drop"` or `"machine"` (with the sub-machine).
type StateSpec = (String, String, bool, Option<String>, Option<Py<Machine>>);

/// One transition: `(from, kind, key, to)`; kind is `"symbol"` (key: the 1-character string),
/// `"class"` (key: a predicate called with the symbol), `"any"` or `"epsilon"`; `to` of `None`
/// refuses the symbol.
type EdgeSpec = (usize, String, Option<Py<PyAny>>, Option<usize>);

fn build_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "AutomataError", (message,))
}

fn finish(
    m: RsMachine<char>,
    terminal: bool,
    greedy: bool,
    context: Option<&str>,
) -> RsMachine<char> {
    let m = m.terminal(terminal).greedy(greedy);
    match context {
        Some(c) => m.context(c),
        None => m,
    }
}

/// Builds a machine from its states and transitions (the Python `dfa` does this from its
/// graph of `state` objects).
#[pyfunction]
#[pyo3(signature = (name, states, edges, initial, terminal=false, greedy=true, context=None))]
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
) -> PyResult<Machine> {
    let mut g = Graph::<char>::new();
    let mut ids = Vec::with_capacity(states.len());
    for (kind, sname, term, ctx, sub) in states {
        let mut state = match (kind.as_str(), sub) {
            ("plain", _) => State::plain(&sname),
            ("input", _) => State::input(&sname),
            ("drop", _) => State::drop(&sname),
            ("machine", Some(sub)) => State::machine(RsMachine::clone(&sub.get().m)),
            (other, _) => {
                return Err(build_error(
                    py,
                    format!("state {sname:?}: unknown kind {other:?}"),
                ))
            }
        };
        if term {
            state = state.terminal();
        }
        if let Some(c) = ctx {
            state = state.context(&c);
        }
        ids.push(g.add(state));
    }
    let id = |i: usize| {
        ids.get(i)
            .copied()
            .ok_or_else(|| build_error(py, format!("no state number {i} in machine {name:?}")))
    };
    for (from, kind, key, to) in edges {
        let (from, to) = (id(from)?, to.map(id).transpose()?);
        let symbol = match (kind.as_str(), &key) {
            ("symbol", Some(k)) => Some(k.extract::<char>(py)?),
            _ => None,
        };
        match (kind.as_str(), symbol, to) {
            ("class", _, Some(to)) => {
                let Some(pred) = key else {
                    return Err(build_error(py, format!("machine {name:?}: no predicate")));
                };
                g.on_class(from, move |c| predicate(&pred, c), to);
            }
            ("symbol", Some(c), Some(to)) => {
                g.on(from, c, to);
            }
            ("symbol", Some(c), None) => {
                g.refuse(from, c);
            }
            ("any", _, Some(to)) => {
                g.on_any(from, to);
            }
            ("epsilon", _, Some(to)) => {
                g.epsilon(from, to);
            }
            (other, _, _) => {
                return Err(build_error(
                    py,
                    format!("machine {name:?}: unsupported transition {other:?}"),
                ))
            }
        }
    }
    let m = RsMachine::new(name, g, id(initial)?).map_err(|e| build_error(py, e.to_string()))?;
    Ok(Machine {
        m: Arc::new(finish(m, terminal, greedy, context)),
    })
}

/// Calls a Python predicate on a symbol; an exception counts as `False` (and is reported as
/// unraisable, as Python does for errors in callbacks it cannot propagate).
fn predicate(pred: &Py<PyAny>, c: char) -> bool {
    Python::attach(
        |py| match pred.call1(py, (c,)).and_then(|r| r.is_truthy(py)) {
            Ok(b) => b,
            Err(e) => {
                e.write_unraisable(py, Some(pred.bind(py)));
                false
            }
        },
    )
}

/// Builds a machine accepting the sentences of the regular expression `pattern`.
#[pyfunction]
#[pyo3(signature = (pattern, name=None, terminal=false, greedy=true, context=None))]
pub fn regex_machine(
    py: Python<'_>,
    pattern: &str,
    name: Option<&str>,
    terminal: bool,
    greedy: bool,
    context: Option<&str>,
) -> PyResult<Machine> {
    let m = RsMachine::<char>::regex(pattern).map_err(|e| build_error(py, e.to_string()))?;
    let m = match name {
        Some(n) => m.named(n),
        None => m,
    };
    Ok(Machine {
        m: Arc::new(finish(m, terminal, greedy, context)),
    })
}

/// A Python source: an object with `peek()` (the next symbol or `None` at the end), `next()`
/// and `sent`. A failure in Python (or a symbol that is not one character) ends the input and
/// is raised after the step.
struct PySource<'py> {
    src: Bound<'py, PyAny>,
    error: Option<PyErr>,
}

impl PySource<'_> {
    fn symbol(&mut self, o: PyResult<Bound<'_, PyAny>>) -> Option<char> {
        let o = match o {
            Ok(o) if o.is_none() => return None,
            Ok(o) => o,
            Err(e) => {
                self.error.get_or_insert(e);
                return None;
            }
        };
        let text: Option<String> = o.extract().ok();
        let mut chars = text.as_deref().unwrap_or("").chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => {
                self.error.get_or_insert(PyTypeError::new_err(format!(
                    "a text machine's symbols are 1-character strings, not {}",
                    o.repr().map(|r| r.to_string()).unwrap_or_default()
                )));
                None
            }
        }
    }
}

impl Source<char> for PySource<'_> {
    fn peek(&mut self) -> Peek<char> {
        let o = self.src.call_method0("peek");
        match self.symbol(o) {
            Some(c) => Peek::Symbol(c),
            None => Peek::End,
        }
    }

    fn advance(&mut self) -> Option<char> {
        let o = self.src.call_method0("__next__");
        match o {
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyStopIteration>(self.src.py()) => None,
            o => self.symbol(o),
        }
    }

    fn sent(&self) -> usize {
        self.src
            .getattr("sent")
            .and_then(|s| s.extract())
            .unwrap_or(0)
    }
}

/// One transition for Python: `(machine, state, depth, offset)`.
type Moved = (String, Py<PyAny>, usize, usize);

/// A run of a machine, stepped from Python.
#[pyclass(module = "cpppo_rs.automata")]
pub struct Run {
    // Declared before `machine`, so dropped first: it borrows from it.
    run: RsRun<'static, char>,
    data: Data,
    /// What `changed` last reported: each path's value kind and length (collected input only
    /// grows) or, for a number or flag, the value.
    reported: HashMap<String, Seen>,
    _machine: Arc<RsMachine<char>>,
}

#[pymethods]
impl Run {
    /// Starts a run of `machine`, its data under `path` (cpppo's `path=`), beginning with
    /// the values of `data` (a flat mapping of dotted paths).
    #[new]
    #[pyo3(signature = (machine, path="", data=None))]
    fn new(machine: &Machine, path: &str, data: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let owned = Arc::clone(&machine.m);
        // SAFETY: the machine lives on the heap behind `owned`, which this Run keeps (in
        // `_machine`) and never mutates; `run`, the only borrower, is dropped before it.
        let borrowed: &'static RsMachine<char> = unsafe { &*Arc::as_ptr(&owned) };
        let mut store = Data::new();
        if let Some(d) = data {
            for (k, v) in d.iter() {
                if let Some(v) = value_from_py(&v) {
                    store.insert(k.extract::<String>()?, v);
                }
            }
        }
        Ok(Run {
            run: borrowed.start_at(path),
            data: store,
            reported: HashMap::new(),
            _machine: owned,
        })
    }

    /// The next transition as `(machine, state, depth, offset)` (state: a name, or a regex
    /// DFA's state number), or `None` when the machine is done. Raises `AutomataError` when
    /// it cannot proceed.
    fn step(&mut self, py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Option<Moved>> {
        let mut src = PySource {
            src: source.clone(),
            error: None,
        };
        let step = self.run.step(&mut src, &mut self.data);
        if let Some(e) = src.error {
            return Err(e);
        }
        match step {
            Err(e) => Err(raise(py, "AutomataError", (e.to_string(), e.offset))),
            Ok(Step::Done(_)) | Ok(Step::NeedInput) => Ok(None),
            Ok(Step::Transition(t)) => {
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
        if !self.run.is_finished() {
            return Ok(None);
        }
        let mut src = PySource {
            src: source.clone(),
            error: None,
        };
        match self.run.step(&mut src, &mut self.data) {
            Ok(Step::Done(o)) => Ok(Some(o.terminal)),
            Ok(_) => Ok(None),
            Err(e) => Err(raise(py, "AutomataError", (e.to_string(), e.offset))),
        }
    }

    /// The data collected so far: `{dotted path: str | bytes | int | float | bool}`.
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.data.iter() {
            d.set_item(k, value_to_py(py, v)?)?;
        }
        Ok(d)
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
