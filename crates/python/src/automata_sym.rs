//! The symbol types of Python machines (text: `str` characters; bytes: ints 0..=255 or 1-byte
//! `bytes`), their Python sources, and building a graph machine over either.

use std::sync::Arc;

use cpppo_automata::{Data, Graph, Machine as RsMachine, On, Peek, Source, State, Symbol};
use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyString};

use crate::automata::{build_error, data_to_py, Body, Machine};

/// A symbol type a Python machine runs over.
pub trait PySym: Symbol {
    /// What the symbols are, for error messages.
    const WHAT: &'static str;
    /// The symbol a Python object stands for, if it is one.
    fn from_py(o: &Bound<'_, PyAny>) -> Option<Self>;
    /// The symbol as a Python object (for predicates).
    fn to_py<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
    /// The machine of this symbol type in `body`, if it is one.
    fn of(body: &Body) -> Option<&Arc<RsMachine<Self>>>;
}

impl PySym for char {
    const WHAT: &'static str = "a text machine's symbols are 1-character strings";

    fn from_py(o: &Bound<'_, PyAny>) -> Option<char> {
        let s = o.cast::<PyString>().ok()?.to_cow().ok()?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }

    fn to_py<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyString::new(py, self.encode_utf8(&mut [0; 4])).into_any())
    }

    fn of(body: &Body) -> Option<&Arc<RsMachine<char>>> {
        match body {
            Body::Text(m) => Some(m),
            Body::Bytes(_) => None,
        }
    }
}

impl PySym for u8 {
    const WHAT: &'static str = "a byte machine's symbols are ints 0..255 or 1-byte bytes";

    fn from_py(o: &Bound<'_, PyAny>) -> Option<u8> {
        if o.is_instance_of::<PyInt>() {
            return o.extract().ok();
        }
        match o.cast::<PyBytes>().ok()?.as_bytes() {
            [b] => Some(*b),
            _ => None,
        }
    }

    fn to_py<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.into_pyobject(py)?.into_any())
    }

    fn of(body: &Body) -> Option<&Arc<RsMachine<u8>>> {
        match body {
            Body::Bytes(m) => Some(m),
            Body::Text(_) => None,
        }
    }
}

/// One state for [`build`]: `(kind, name, terminal, context, sub-machine)`; kind is
/// `"plain"`, `"input"`, `"drop"` or `"machine"` (with the sub-machine).
pub type StateSpec = (String, String, bool, Option<String>, Option<Py<Machine>>);

/// One transition: `(from, kind, key, to)`; kind is `"symbol"` (key: the symbol), `"class"`
/// (key: a predicate called with the symbol), `"any"`, `"epsilon"` or `"decide"` (key: `(on,
/// name, condition)`, on: a symbol, `True` for any or `None` for no input; the condition is
/// called with the data and the path); `to` of `None` refuses the symbol.
pub type EdgeSpec = (usize, String, Option<Py<PyAny>>, Option<usize>);

/// Builds a graph machine over symbols `S`.
pub fn build<S: PySym>(
    py: Python<'_>,
    name: &str,
    states: Vec<StateSpec>,
    edges: Vec<EdgeSpec>,
    initial: usize,
) -> PyResult<RsMachine<S>> {
    let mut g = Graph::<S>::new();
    let mut ids = Vec::with_capacity(states.len());
    for (kind, sname, term, ctx, sub) in states {
        let mut state = match (kind.as_str(), sub) {
            ("plain", _) => State::plain(&sname),
            ("input", _) => State::input(&sname),
            ("drop", _) => State::drop(&sname),
            ("machine", Some(sub)) => match S::of(&sub.get().m) {
                Some(m) => State::machine(RsMachine::clone(m)),
                None => {
                    return Err(build_error(
                        py,
                        format!("machine {name:?}: sub-machine {sname:?} is over other symbols (text and bytes do not mix)"),
                    ))
                }
            },
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
            ("symbol", Some(k)) => Some(S::from_py(k.bind(py)).ok_or_else(|| {
                build_error(py, format!("machine {name:?}: {}, not {k}", S::WHAT))
            })?),
            _ => None,
        };
        match (kind.as_str(), symbol, to, key) {
            ("class", _, Some(to), Some(pred)) => {
                g.on_class(from, move |c| predicate(&pred, c), to);
            }
            ("symbol", Some(c), Some(to), _) => {
                g.on(from, c, to);
            }
            ("symbol", Some(c), None, _) => {
                g.refuse(from, c);
            }
            ("any", _, Some(to), _) => {
                g.on_any(from, to);
            }
            ("epsilon", _, Some(to), _) => {
                g.epsilon(from, to);
            }
            ("decide", _, to, Some(key)) => {
                let (on, dname, when): (Option<Py<PyAny>>, String, Py<PyAny>) = key.extract(py)?;
                let on = match on {
                    None => On::Epsilon,
                    Some(o) if o.bind(py).is_instance_of::<PyBool>() => On::Any,
                    Some(o) => On::Symbol(S::from_py(o.bind(py)).ok_or_else(|| {
                        build_error(py, format!("machine {name:?}: {}, not {o}", S::WHAT))
                    })?),
                };
                g.decide(from, on, &dname, move |d, p| condition(&when, d, p), to);
            }
            (other, ..) => {
                return Err(build_error(
                    py,
                    format!("machine {name:?}: unsupported transition {other:?}"),
                ))
            }
        }
    }
    RsMachine::new(name, g, id(initial)?).map_err(|e| build_error(py, e.to_string()))
}

/// Calls a Python predicate on a symbol; an exception counts as `False` (and is reported as
/// unraisable, as Python does for errors in callbacks it cannot propagate).
fn predicate<S: PySym>(pred: &Py<PyAny>, c: S) -> bool {
    Python::attach(|py| {
        let called = c
            .to_py(py)
            .and_then(|c| pred.call1(py, (c,)))
            .and_then(|r| r.is_truthy(py));
        match called {
            Ok(b) => b,
            Err(e) => {
                e.write_unraisable(py, Some(pred.bind(py)));
                false
            }
        }
    })
}

/// Calls a Python condition with the data (`{dotted path: value}`) and the deciding
/// machine's path; an exception counts as `False` (reported as unraisable).
fn condition(when: &Py<PyAny>, data: &Data, path: &str) -> bool {
    Python::attach(|py| {
        let called = data_to_py(py, data)
            .and_then(|d| when.call1(py, (d, path)))
            .and_then(|r| r.is_truthy(py));
        match called {
            Ok(b) => b,
            Err(e) => {
                e.write_unraisable(py, Some(when.bind(py)));
                false
            }
        }
    })
}

/// A Python source: an object with `peek()` (the next symbol or `None` at the end),
/// `__next__()` and `sent`. A failure in Python (or an object that is not a symbol) ends the
/// input and is raised after the step.
pub struct PySource<'py> {
    /// The Python source.
    pub src: Bound<'py, PyAny>,
    /// The first failure, raised after the step.
    pub error: Option<PyErr>,
}

impl<'py> PySource<'py> {
    /// A source reading `src`.
    pub fn new(src: &Bound<'py, PyAny>) -> Self {
        PySource {
            src: src.clone(),
            error: None,
        }
    }

    fn symbol<S: PySym>(&mut self, o: PyResult<Bound<'_, PyAny>>) -> Option<S> {
        let o = match o {
            Ok(o) if o.is_none() => return None,
            Ok(o) => o,
            Err(e) => {
                self.error.get_or_insert(e);
                return None;
            }
        };
        let s = S::from_py(&o);
        if s.is_none() {
            let shown = o.repr().map(|r| r.to_string()).unwrap_or_default();
            self.error
                .get_or_insert(PyTypeError::new_err(format!("{}, not {shown}", S::WHAT)));
        }
        s
    }
}

impl<S: PySym> Source<S> for PySource<'_> {
    fn peek(&mut self) -> Peek<S> {
        let o = self.src.call_method0("peek");
        match self.symbol(o) {
            Some(c) => Peek::Symbol(c),
            None => Peek::End,
        }
    }

    fn advance(&mut self) -> Option<S> {
        let o = self.src.call_method0("__next__");
        match o {
            Err(e) if e.is_instance_of::<PyStopIteration>(self.src.py()) => None,
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
