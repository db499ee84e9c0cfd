//! `connector.pipeline(...)` as a Python iterator, as cpppo's generators: operations are pulled
//! from the caller's iterable only as requests can be sent (up to `depth` in flight, plus one
//! held back where its route changes), and each result is yielded as soon as it (and every
//! earlier one) is complete, the GIL released while waiting. Each run of operations sharing a
//! route is one Rust [`Pipeline`]; a change of route waits for the run's replies, reroutes the
//! session and starts the next run.
//!
//! The iterator holds the session ([`Connector::lend`]) until it ends: exhausted, failed, or
//! closed/dropped early, when the replies still in flight are read and discarded so that the
//! next call on the connector finds a quiet session.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::task::{Context, Poll, Waker};

use cpppo_enip::client::operation::{Literal, Operation as RsOperation};
use cpppo_enip::client::route::Route;
use cpppo_enip::client::{ClientError, Connector as RsConnector, Pipeline, Transaction};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyIterator;

use crate::client::{planned_of, transaction, Connector, Stop};
use crate::errors::client_error;
use crate::values::list_to_py;

/// What each result is yielded as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// cpppo's `(index, description, request, reply, status, value)`.
    Tuple,
    /// The same with cpppo's summary line appended (for `process(printing=True)`).
    Line,
    /// The value only (`results`).
    Value,
}

impl Shape {
    /// `"tuple"`, `"line"` or `"value"`.
    pub(crate) fn parse(text: &str) -> PyResult<Shape> {
        match text {
            "tuple" => Ok(Shape::Tuple),
            "line" => Ok(Shape::Line),
            "value" => Ok(Shape::Value),
            _ => Err(PyValueError::new_err(format!(
                "shape must be 'tuple', 'line' or 'value', not {text:?}"
            ))),
        }
    }
}

/// How the operations are sent.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) depth: usize,
    pub(crate) multiple: usize,
    pub(crate) fragment: bool,
    pub(crate) attributes: bool,
}

/// The caller's operations, shared by the iterator and the pipeline pulling from them.
struct Source {
    iter: Py<PyIterator>,
    /// The connector's own route.
    default: Route,
    /// The route of the run being fed.
    route: Route,
    /// The first operation of the next run (its route differs from this run's).
    held: Option<(RsOperation, Route)>,
    /// What the iterable (or a bad operation in it) raised; raised after the results before it.
    error: Option<PyErr>,
    /// Nothing more is taken: the iterable is exhausted or failed, or the iterator was closed.
    ended: bool,
}

impl Source {
    /// The next operation of this run, taken from the iterable (the GIL held for it).
    fn pull(&mut self, py: Python<'_>) -> Option<RsOperation> {
        let item = match self.iter.bind(py).clone().next() {
            None => {
                self.ended = true;
                return None;
            }
            Some(Err(e)) => return self.fail(e),
            Some(Ok(item)) => item,
        };
        let (op, paths) = match planned_of(py, &item) {
            Ok(planned) => planned,
            Err(e) => return self.fail(e),
        };
        let route = if paths.is_empty() {
            if self.route == self.default {
                return Some(op);
            }
            self.default.clone()
        } else {
            paths.route(&self.default)
        };
        if route == self.route {
            return Some(op);
        }
        self.held = Some((op, route));
        None
    }

    fn fail(&mut self, e: PyErr) -> Option<RsOperation> {
        self.error = Some(e);
        self.ended = true;
        None
    }
}

fn lock(source: &Mutex<Source>) -> MutexGuard<'_, Source> {
    source.lock().unwrap_or_else(|p| p.into_inner())
}

/// A run's operations: pulled from the [`Source`] until it ends or the route changes.
struct Feed(Arc<Mutex<Source>>);

impl Iterator for Feed {
    type Item = RsOperation;

    fn next(&mut self) -> Option<RsOperation> {
        let mut source = lock(&self.0);
        if source.ended || source.held.is_some() {
            return None;
        }
        Python::attach(|py| source.pull(py))
    }
}

/// One result as the Rust pipeline gives it.
enum Got {
    Transaction(Box<Transaction>),
    Value(bool, Option<Vec<Literal>>),
}

type Pipe = Pipeline<'static, RsConnector>;

/// The next result of `pipe` (`None`: the run is done).
async fn fetch(pipe: &mut Pipe, shape: Shape) -> Result<Option<Got>, ClientError> {
    if shape == Shape::Value {
        let got = pipe.next_value().await.transpose()?;
        Ok(got.map(|(read, value)| Got::Value(read, value)))
    } else {
        let got = pipe.next().await.transpose()?;
        Ok(got.map(|t| Got::Transaction(Box::new(t))))
    }
}

/// The iterator's state: the running pipeline (`None` once finished).
struct Run {
    pipe: Option<Pipe>,
    settings: Settings,
    shape: Shape,
    /// The next result's index.
    index: usize,
    /// Whether the session was switched to async mode (back to blocking when given back).
    switched: bool,
}

impl Run {
    fn pipeline(
        &self,
        conn: RsConnector,
        ops: impl Iterator<Item = RsOperation> + Send + 'static,
    ) -> Pipe {
        let s = self.settings;
        Pipeline::owning(conn, ops, s.depth, s.multiple)
            .fragmented(s.fragment)
            .attributes(s.attributes)
            .replies(self.shape != Shape::Value)
    }

    /// The Python object for one result (the next index).
    fn yielded(&mut self, py: Python<'_>, got: Got) -> PyResult<Py<PyAny>> {
        let index = self.index;
        self.index += 1;
        Ok(match got {
            Got::Value(_, None) => py.None(),
            Got::Value(false, Some(_)) => true.into_pyobject(py)?.to_owned().into_any().unbind(),
            Got::Value(true, Some(v)) => list_to_py(py, &v)?.into_any().unbind(),
            Got::Transaction(mut t) => {
                t.index = index;
                transaction(py, &t, self.shape == Shape::Line)?
                    .into_any()
                    .unbind()
            }
        })
    }

    /// After a run's last result: starts the next run (the held operation first), or gives
    /// the session back.
    fn next_run(
        &mut self,
        py: Python<'_>,
        owner: &Connector,
        source: &Arc<Mutex<Source>>,
    ) -> PyResult<()> {
        let Some(pipe) = self.pipe.take() else {
            return Ok(());
        };
        let mut conn = pipe.into_connector();
        let held = lock(source).held.take();
        let Some((op, route)) = held else {
            self.give_back(py, owner, conn, source);
            return Ok(());
        };
        if let Err(e) = conn.set_route(route.clone()) {
            lock(source).ended = true;
            self.give_back(py, owner, conn, source);
            return Err(client_error(py, e));
        }
        lock(source).route = route;
        let ops = std::iter::once(op).chain(Feed(source.clone()));
        self.pipe = Some(self.pipeline(conn, ops));
        Ok(())
    }

    /// Gives the session back to its connector on the connector's route and in blocking mode
    /// (dropped if that fails).
    fn give_back(
        &mut self,
        py: Python<'_>,
        owner: &Connector,
        mut conn: RsConnector,
        source: &Mutex<Source>,
    ) {
        let rerouted = {
            let source = lock(source);
            (source.route != source.default).then(|| source.default.clone())
        };
        let mut restored = rerouted.map_or(Ok(()), |route| conn.set_route(route));
        if self.switched && restored.is_ok() {
            let _runtime = owner.waiter().rt.enter();
            restored = conn.set_blocking(true);
        }
        match restored {
            Ok(()) => owner.give_back(py, conn),
            Err(_) => owner.lost(),
        }
    }

    /// Stops taking operations, reads (and drops) the replies still in flight and gives the
    /// session back.
    fn finish(
        &mut self,
        py: Python<'_>,
        owner: &Connector,
        source: &Arc<Mutex<Source>>,
    ) -> PyResult<()> {
        {
            let mut source = lock(source);
            source.ended = true;
            source.held = None;
        }
        let Some(mut pipe) = self.pipe.take() else {
            return Ok(());
        };
        let waiter = owner.waiter();
        let drained = py.detach(|| {
            waiter.wait(async {
                while let Some(r) = pipe.next_value().await {
                    r?;
                }
                Ok(())
            })
        });
        let conn = pipe.into_connector();
        match drained {
            Ok(()) => {
                self.give_back(py, owner, conn, source);
                Ok(())
            }
            Err(stop) => {
                let (err, keep) = owner.stopped(py, stop);
                if keep {
                    self.give_back(py, owner, conn, source);
                } else {
                    drop(conn);
                    owner.lost();
                }
                Err(err)
            }
        }
    }
}

/// The results of `connector.pipeline(...)`, each yielded as its reply arrives.
#[pyclass(module = "cpppo_rs.enip.client", weakref)]
pub struct Results {
    owner: Py<Connector>,
    source: Arc<Mutex<Source>>,
    run: Mutex<Run>,
}

impl Results {
    /// Starts pipelining `operations` over `owner`'s session (held until the iterator ends).
    pub(crate) fn start(
        owner: Py<Connector>,
        operations: &Bound<'_, PyAny>,
        settings: Settings,
        shape: Shape,
    ) -> PyResult<Results> {
        let py = operations.py();
        let iter = operations.try_iter()?.unbind();
        let connector = owner.bind(py).borrow();
        let default = connector.route().clone();
        let mut conn = connector.lend(py)?;
        let mut run = Run {
            pipe: None,
            settings,
            shape,
            index: 0,
            switched: false,
        };
        let source = Arc::new(Mutex::new(Source {
            iter,
            route: default.clone(),
            default,
            held: None,
            error: None,
            ended: false,
        }));
        if conn.is_blocking() && settings.depth > 1 {
            // More than one request in flight: blocking writes could stall against a peer
            // blocked writing its replies.
            let _runtime = connector.waiter().rt.enter();
            if let Err(e) = conn.set_blocking(false) {
                connector.give_back(py, conn);
                return Err(client_error(py, e));
            }
            run.switched = true;
        }
        run.pipe = Some(run.pipeline(conn, Feed(source.clone())));
        drop(connector);
        Ok(Results {
            owner,
            source,
            run: Mutex::new(run),
        })
    }

    fn run(&self) -> PyResult<MutexGuard<'_, Run>> {
        match self.run.try_lock() {
            Ok(run) => Ok(run),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                Err(PyValueError::new_err("pipeline already executing"))
            }
        }
    }
}

/// Polls `fut` once; a result only if that needs no wait.
fn now<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    match std::pin::Pin::new(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

#[pymethods]
impl Results {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let owner = self.owner.bind(py).borrow();
        let mut guard = self.run()?;
        let run = &mut *guard;
        loop {
            let shape = run.shape;
            let Some(pipe) = run.pipe.as_mut() else {
                return match lock(&self.source).error.take() {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            };
            // A result already complete, or (async mode: no call blocks) one whose reply is
            // already received, costs no GIL hand-over; else wait without the GIL.
            let eager = run.switched || pipe.is_ready();
            let got = {
                let mut fut = std::pin::pin!(fetch(pipe, shape));
                let first = eager.then(|| {
                    let _runtime = owner.waiter().rt.enter();
                    now(&mut fut)
                });
                match first.flatten() {
                    Some(got) => got.map_err(Stop::Client),
                    None => {
                        let waiter = owner.waiter();
                        py.detach(|| waiter.wait(fut))
                    }
                }
            };
            match got {
                Ok(Some(got)) => return run.yielded(py, got).map(Some),
                Ok(None) => run.next_run(py, &owner, &self.source)?,
                Err(stop) => {
                    let (err, keep) = owner.stopped(py, stop);
                    lock(&self.source).ended = true;
                    if let Some(pipe) = run.pipe.take() {
                        let conn = pipe.into_connector();
                        if keep {
                            run.give_back(py, &owner, conn, &self.source);
                        } else {
                            drop(conn);
                            owner.lost();
                        }
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Ends the pipeline early: takes no more operations, reads and drops the replies still
    /// in flight, and leaves the connector ready for its next call (also done when the
    /// iterator is dropped, eg. on `break`).
    pub(crate) fn close(&self, py: Python<'_>) -> PyResult<()> {
        let owner = self.owner.bind(py).borrow();
        let mut run = self.run()?;
        run.finish(py, &owner, &self.source)
    }
}

impl Drop for Results {
    fn drop(&mut self) {
        if self.run.get_mut().map_or(true, |run| run.pipe.is_none()) {
            return;
        }
        Python::attach(|py| {
            let Ok(owner) = self.owner.bind(py).try_borrow() else {
                return;
            };
            let run = self.run.get_mut().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = run.finish(py, &owner, &self.source) {
                e.write_unraisable(py, None);
            }
        });
    }
}
