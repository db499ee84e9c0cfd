//! The EtherNet/IP client for Python: cpppo's `client.connector` over the Rust [`RsConnector`].

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use cpppo_enip::client::operation::{Literal, Operation as RsOperation};
use cpppo_enip::client::route::{parse_route_path, parse_send_path, Route};
use cpppo_enip::client::{
    ClientError, Connector as RsConnector, ListReply, Options, ReplyStatus, Single, Transaction,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBytes, PyDict, PyList, PyString, PyTuple, PyWeakrefMethods, PyWeakrefReference,
};

use crate::errors::{client_error, raise};
use crate::route::Paths;
use crate::stream::{Results, Settings, Shape};
use crate::values::list_to_py;

/// How often a waiting call looks for Ctrl-C (and other Python signals).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// A timeout of `None` (cpppo: wait forever) stands for this long.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// One parsed operation (cpppo's operation syntax: `Tag[0-9]+16=(DINT)4,5`, `@1/1/7`).
#[pyclass(module = "cpppo_rs.enip.client", frozen)]
#[derive(Clone)]
pub struct Operation {
    pub(crate) op: RsOperation,
    pub(crate) text: String,
    /// Its own route and send paths (cpppo's per-operation `route_path`/`send_path`).
    pub(crate) paths: Paths,
}

#[pymethods]
impl Operation {
    /// Parses one operation; raises `OperationError` naming what is wrong. `route_path`
    /// (`"1/0"`, JSON, `"false"`) and `send_path` (`"@6/1"`, `""`: none, a simple device)
    /// route this operation its own way instead of as its connector does.
    #[new]
    #[pyo3(signature = (text, route_path=None, send_path=None))]
    fn new(
        py: Python<'_>,
        text: &str,
        route_path: Option<&str>,
        send_path: Option<&str>,
    ) -> PyResult<Self> {
        let paths = Paths::parse(py, route_path, send_path)?;
        RsOperation::parse(text)
            .map(|op| Operation {
                op,
                text: text.to_string(),
                paths,
            })
            .map_err(|e| raise(py, "OperationError", (e.to_string(),)))
    }

    /// Its own route path, as given (`None`: its connector's).
    #[getter]
    fn route_path(&self) -> Option<&str> {
        self.paths.route_path.as_ref().map(|g| g.text.as_str())
    }

    /// Its own send path, as given (`None`: its connector's; `""`: none).
    #[getter]
    fn send_path(&self) -> Option<&str> {
        self.paths.send_path.as_ref().map(|g| g.text.as_str())
    }

    /// The text it was parsed from.
    #[getter]
    fn text(&self) -> &str {
        &self.text
    }

    /// `'read'` or `'write'`.
    #[getter]
    fn method(&self) -> &'static str {
        if self.op.is_write() {
            "write"
        } else {
            "read"
        }
    }

    /// The number of elements it reads or writes.
    #[getter]
    fn elements(&self) -> u32 {
        self.op.elements()
    }

    fn __repr__(&self) -> String {
        let mut paths = String::new();
        if let Some(g) = &self.paths.route_path {
            paths += &format!(", route_path={:?}", g.text);
        }
        if let Some(g) = &self.paths.send_path {
            paths += &format!(", send_path={:?}", g.text);
        }
        format!("Operation({:?}{paths})", self.text)
    }

    fn __str__(&self) -> &str {
        &self.text
    }
}

/// Parses operations (strings) into a list of `Operation`, as cpppo's `parse_operations`;
/// `route_path`/`send_path` (texts as `Operation`'s) are stamped on each one.
#[pyfunction]
#[pyo3(signature = (tags, route_path=None, send_path=None))]
pub fn parse_operations(
    py: Python<'_>,
    tags: &Bound<'_, PyAny>,
    route_path: Option<&str>,
    send_path: Option<&str>,
) -> PyResult<Vec<Operation>> {
    if tags.is_instance_of::<PyString>() {
        return Err(PyValueError::new_err(
            "parse_operations takes a sequence of operations, not one string",
        ));
    }
    let paths = Paths::parse(py, route_path, send_path)?;
    tags.try_iter()?
        .map(|item| {
            let mut op = operation_of(py, &item?)?;
            op.paths = paths.over(&op.paths);
            Ok(op)
        })
        .collect()
}

/// An `Operation`'s (or a string's) operation and paths, without its text.
pub(crate) fn planned_of(
    py: Python<'_>,
    item: &Bound<'_, PyAny>,
) -> PyResult<(RsOperation, Paths)> {
    match item.cast::<Operation>() {
        Ok(op) => Ok((op.get().op.clone(), op.get().paths.clone())),
        Err(_) => operation_of(py, item).map(|op| (op.op, op.paths)),
    }
}

/// An `Operation`, or a string parsed as one.
pub(crate) fn operation_of(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Operation> {
    if let Ok(op) = item.cast::<Operation>() {
        return Ok(op.get().clone());
    }
    let text: String = item.extract().map_err(|_| {
        raise(
            py,
            "OperationError",
            (format!(
                "an operation is a string or an Operation, not {}",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ),),
        )
    })?;
    Operation::new(py, &text, None, None)
}

/// A registered EtherNet/IP session (TCP), or a UDP socket for List commands.
///
/// A TCP session stays in blocking mode ([`RsConnector::set_blocking`]) between calls, so a
/// lock-step `read`/`write` is one `write` and one `read` system call on the calling thread
/// with the GIL released; pipelines of more than one request in flight switch it to async
/// mode for their duration.
#[pyclass(module = "cpppo_rs.enip.client")]
pub struct Connector {
    rt: tokio::runtime::Runtime,
    conn: Mutex<Option<RsConnector>>,
    address: SocketAddr,
    /// The route it was made with (operations with paths of their own change it for a while).
    route: Route,
    /// Operations `read`/`write` ran lately, planned and encoded (locked only with `conn`).
    singles: Mutex<Singles>,
    /// The exception a Python signal handler raised while a blocking read waited.
    raised: Arc<Mutex<Option<PyErr>>>,
    /// Whether a pipeline iterator holds the session (`conn` is `None` meanwhile).
    lent: AtomicBool,
    /// Whether `close()` was called while it was lent: the iterator closes it when done.
    close_after: AtomicBool,
    /// The pipeline iterator it is lent to (weakly): a new call ends it first.
    lender: Mutex<Option<Py<PyWeakrefReference>>>,
}

/// How many planned operations a connector keeps for `read`/`write`.
const PLANNED: usize = 256;

/// The operations `read`/`write` ran lately: the last one by its Python string (the same
/// object again costs no lookup), the others by text.
#[derive(Default)]
struct Singles {
    last: Option<(Py<PyString>, String, Single)>,
    by_text: HashMap<String, Single>,
}

impl Singles {
    /// Makes `tag` the last operation: `None` if it already was (the same string object),
    /// else its text (the one it replaces is kept by its text).
    fn select(&mut self, tag: &Bound<'_, PyString>) -> PyResult<Option<String>> {
        if let Some((obj, ..)) = &self.last {
            if obj.is(tag) {
                return Ok(None);
            }
        }
        let text = tag.to_cow()?.into_owned();
        if let Some((_, old, single)) = self.last.take() {
            if self.by_text.len() >= PLANNED {
                self.by_text.clear();
            }
            self.by_text.insert(old, single);
        }
        Ok(Some(text))
    }

    /// The last operation, after [`Singles::select`] (`text`: its text if newly selected),
    /// planned for `conn` if it was not yet.
    fn get(
        &mut self,
        tag: Py<PyString>,
        text: Option<String>,
        conn: &RsConnector,
    ) -> Result<&mut Single, ClientError> {
        if let Some(text) = text {
            let single = match self.by_text.remove(&text) {
                Some(single) => single,
                None => conn.prepare(&RsOperation::parse(&text)?)?,
            };
            self.last = Some((tag, text, single));
        }
        match &mut self.last {
            Some((_, _, single)) => Ok(single),
            None => Err(ClientError::Protocol("no operation".into())),
        }
    }
}

fn timeout_of(seconds: Option<f64>) -> PyResult<Duration> {
    match seconds {
        None => Ok(FOREVER),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s).min(FOREVER)),
        Some(s) => Err(PyValueError::new_err(format!(
            "timeout must be a positive number of seconds or None, not {s}"
        ))),
    }
}

impl Connector {
    /// Runs one operation lock-step (planned once per text, see [`PLANNED`]) and waits for
    /// it: its values, or a `StatusError` carrying the reply's status.
    fn one(&self, py: Python<'_>, tag: &Bound<'_, PyString>) -> PyResult<Vec<Literal>> {
        let mut guard = self.session(py)?;
        let mut singles = self.singles.lock().unwrap_or_else(|p| p.into_inner());
        let text = singles.select(tag)?;
        let tag = tag.clone().unbind();
        let singles = &mut *singles;
        self.run_on(py, &mut guard, move |w, c| {
            let single = singles.get(tag, text, c).map_err(Stop::Client)?;
            if c.is_blocking() {
                c.perform_blocking(single).map_err(Stop::Client)
            } else {
                w.wait(c.perform(single))
            }
        })
    }

    /// The session, held for one call (a second thread using it meanwhile is refused: it
    /// would wait holding the GIL the first needs back).
    fn session(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, Option<RsConnector>>> {
        if self.lent.load(Ordering::Relaxed) {
            self.reclaim(py)?;
        }
        match self.conn.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(raise(
                py,
                "CommunicationError",
                ("connector is in use by another thread",),
            )),
        }
    }

    /// Runs `f` on the open session with the GIL released. A signal whose Python handler
    /// raises (Ctrl-C: `KeyboardInterrupt`) abandons the call and closes the session: a
    /// request may be half-sent and its reply would arrive for the next one.
    pub(crate) fn run<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&Waiter<'_>, &mut RsConnector) -> Result<T, Stop> + Send,
    {
        let mut guard = self.session(py)?;
        self.run_on(py, &mut guard, f)
    }

    /// [`Connector::run`] on a session already held.
    fn run_on<T, F>(
        &self,
        py: Python<'_>,
        guard: &mut MutexGuard<'_, Option<RsConnector>>,
        f: F,
    ) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&Waiter<'_>, &mut RsConnector) -> Result<T, Stop> + Send,
    {
        let Some(conn) = guard.as_mut() else {
            return Err(self.absent(py));
        };
        let waiter = Waiter { rt: &self.rt };
        let stop = match py.detach(|| f(&waiter, conn)) {
            Ok(v) => return Ok(v),
            Err(stop) => stop,
        };
        let (err, keep) = self.stopped(py, stop);
        if !keep {
            **guard = None;
        }
        Err(err)
    }

    /// Runs `f` with the session in async mode (a pipeline with more than one request in
    /// flight: blocking writes could stall against a peer blocked writing its replies), then
    /// back in blocking mode.
    pub(crate) fn run_async<T, F>(&self, py: Python<'_>, depth: usize, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&Waiter<'_>, &mut RsConnector) -> Result<T, Stop> + Send,
    {
        self.run(py, |w, c| {
            let switch = c.is_blocking() && depth > 1;
            if switch {
                let _runtime = w.rt.enter();
                c.set_blocking(false).map_err(Stop::Client)?;
            }
            let done = f(w, c)?;
            if switch {
                c.set_blocking(true).map_err(Stop::Client)?;
            }
            Ok(done)
        })
    }
}

impl Connector {
    /// Why there is no session: closed, or held by a pipeline iterator.
    fn absent(&self, py: Python<'_>) -> PyErr {
        let why = if self.lent.load(Ordering::Relaxed) {
            "the connector is in use by a pipeline that has not finished (iterate it to its \
             end, or drop it, first)"
        } else {
            "the connector is closed (close() was called)"
        };
        raise(py, "CommunicationError", (why,))
    }

    /// Hands the session to a pipeline iterator until [`Connector::give_back`] (or
    /// [`Connector::lost`]); meanwhile other calls are refused.
    pub(crate) fn lend(&self, py: Python<'_>) -> PyResult<RsConnector> {
        let mut guard = self.session(py)?;
        let conn = guard.take().ok_or_else(|| self.absent(py))?;
        self.lent.store(true, Ordering::Relaxed);
        Ok(conn)
    }

    /// Ends the pipeline iterator holding the session (its replies in flight read and
    /// dropped), so that a new call can use the session.
    fn reclaim(&self, py: Python<'_>) -> PyResult<()> {
        let lender = self.lender.lock().unwrap_or_else(|p| p.into_inner()).take();
        match lender.and_then(|w| w.bind(py).upgrade()) {
            Some(it) => match it.cast::<Results>() {
                Ok(results) => results.borrow().close(py),
                Err(_) => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Notes the pipeline iterator the session is lent to.
    fn lent_to(&self, results: &Bound<'_, Results>) -> PyResult<()> {
        let weak = PyWeakrefReference::new(results)?;
        *self.lender.lock().unwrap_or_else(|p| p.into_inner()) = Some(weak.unbind());
        Ok(())
    }

    /// Takes the session back from a pipeline iterator (closing it if `close()` was called
    /// meanwhile).
    pub(crate) fn give_back(&self, py: Python<'_>, conn: RsConnector) {
        self.lent.store(false, Ordering::Relaxed);
        if self.close_after.load(Ordering::Relaxed) {
            let rt = &self.rt;
            let _ = py.detach(|| rt.block_on(conn.close()));
            return;
        }
        if let Ok(mut guard) = self.session(py) {
            *guard = Some(conn);
        }
    }

    /// A pipeline iterator dropped the session (it broke, or Ctrl-C abandoned it).
    pub(crate) fn lost(&self) {
        self.lent.store(false, Ordering::Relaxed);
    }

    /// The route the connector was made with.
    pub(crate) fn route(&self) -> &Route {
        &self.route
    }

    /// A waiter on the connector's runtime.
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        Waiter { rt: &self.rt }
    }

    /// The Python exception for `stop` (a signal handler's, if one raised during a blocking
    /// read), and whether the session is still consistent (not abandoned by a signal).
    pub(crate) fn stopped(&self, py: Python<'_>, stop: Stop) -> (PyErr, bool) {
        match stop {
            Stop::Client(e) => match self.raised.lock().map(|mut r| r.take()) {
                Ok(Some(raised)) => (raised, false),
                _ => (client_error(py, e), true),
            },
            Stop::Python(e) => (e, false),
        }
    }
}

/// The connector's check while a blocking read waits: a Python signal handler that raises
/// (Ctrl-C) ends the wait, its exception kept in `raised` for [`Connector::run`].
fn signal_check(raised: Arc<Mutex<Option<PyErr>>>) -> cpppo_enip::client::Interrupt {
    Box::new(move || {
        Python::attach(|py| py.check_signals()).map_err(|e| {
            if let Ok(mut r) = raised.lock() {
                *r = Some(e);
            }
            ClientError::Io(ErrorKind::Interrupted.into())
        })
    })
}

/// Why a call ended early: the client failed, or a Python signal handler raised.
pub(crate) enum Stop {
    Client(ClientError),
    Python(PyErr),
}

/// Runs the session's futures without the GIL, polling for Python signals meanwhile.
pub(crate) struct Waiter<'r> {
    pub(crate) rt: &'r tokio::runtime::Runtime,
}

impl Waiter<'_> {
    pub(crate) fn wait<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, Stop> {
        self.rt.block_on(async {
            tokio::select! {
                r = fut => r.map_err(Stop::Client),
                e = signalled() => Err(Stop::Python(e)),
            }
        })
    }
}

/// Resolves when a Python signal handler raises (checked every [`SIGNAL_POLL`]; only the
/// main thread runs handlers, so elsewhere this never resolves).
async fn signalled() -> PyErr {
    loop {
        tokio::time::sleep(SIGNAL_POLL).await;
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            return e;
        }
    }
}

#[pymethods]
impl Connector {
    /// Connects to `address` (`HOST:PORT`) and registers a session (TCP), or opens a UDP
    /// socket (`udp=True`; List commands only; `broadcast=True` collects every reply until
    /// the timeout).
    /// `route_path` (`"1/0"`, JSON, `"false"`) and `send_path` (`"@6/1"`, `""`) are
    /// cpppo's `--route-path` and `--send-path`; `simple` is both empty.
    #[new]
    #[pyo3(signature = (address, timeout=Some(5.0), udp=false, broadcast=false, simple=false, connected=false, route_path=None, send_path=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, as cpppo's connector.
    fn new(
        py: Python<'_>,
        address: &str,
        timeout: Option<f64>,
        udp: bool,
        broadcast: bool,
        simple: bool,
        connected: bool,
        route_path: Option<&str>,
        send_path: Option<&str>,
    ) -> PyResult<Self> {
        let mut options = if simple {
            Options::simple()
        } else {
            Options::default()
        };
        options.timeout = timeout_of(timeout)?;
        options.connected = connected;
        let bad_path = |e: String| raise(py, "OperationError", (e,));
        if let Some(text) = route_path {
            options.route.route_path = parse_route_path(text).map_err(bad_path)?;
        }
        if let Some(text) = send_path {
            options.route.send_path = parse_send_path(text).map_err(bad_path)?;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| client_error(py, ClientError::Io(e)))?;
        let waiter = Waiter { rt: &rt };
        let raised = Arc::new(Mutex::new(None));
        let mut conn = py
            .detach(|| {
                waiter.wait(async {
                    if udp {
                        RsConnector::udp(address, broadcast, options).await
                    } else {
                        RsConnector::connect(address, options).await
                    }
                })
            })
            .map_err(|stop| match stop {
                Stop::Client(e) => client_error(py, e),
                Stop::Python(e) => e,
            })?;
        if !udp {
            conn.set_interrupt(SIGNAL_POLL, Some(signal_check(raised.clone())))
                .and_then(|()| conn.set_blocking(true))
                .map_err(|e| client_error(py, e))?;
        }
        Ok(Connector {
            address: conn.peer(),
            route: conn.options().route.clone(),
            rt,
            conn: Mutex::new(Some(conn)),
            singles: Mutex::new(Singles::default()),
            raised,
            lent: AtomicBool::new(false),
            close_after: AtomicBool::new(false),
            lender: Mutex::new(None),
        })
    }

    /// The peer's address, `(host, port)`.
    #[getter]
    fn address(&self) -> (String, u16) {
        (self.address.ip().to_string(), self.address.port())
    }

    /// Whether `close()` has been called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        let lent = self.lent.load(Ordering::Relaxed);
        Ok(self.close_after.load(Ordering::Relaxed) || (!lent && self.session(py)?.is_none()))
    }

    /// Runs `operations` (any iterable, taken as requests can be sent) with up to `depth`
    /// requests in flight, batched into Multiple Service Packets of at most `multiple` bytes
    /// when non-zero; an iterator of each result as it arrives: cpppo's `(index, description,
    /// request, reply, status, value)` (`shape="tuple"`), with its summary line appended
    /// (`"line"`), or the value only (`"value"`).
    #[pyo3(signature = (operations, depth=1, multiple=0, fragment=false, attributes=false, shape="tuple"))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, as cpppo's pipeline.
    fn pipeline<'py>(
        slf: Bound<'py, Self>,
        operations: &Bound<'_, PyAny>,
        depth: usize,
        multiple: usize,
        fragment: bool,
        attributes: bool,
        shape: &str,
    ) -> PyResult<Bound<'py, Results>> {
        let shape = Shape::parse(shape)?;
        let settings = Settings {
            depth: depth.max(1),
            multiple,
            fragment,
            attributes,
        };
        let py = slf.py();
        let results = Bound::new(
            py,
            Results::start(slf.clone().unbind(), operations, settings, shape)?,
        )?;
        slf.borrow().lent_to(&results)?;
        Ok(results)
    }

    /// Reads one tag or attribute (`SCADA[1-3]`, `@1/1/7`); its values.
    fn read<'py>(
        &self,
        py: Python<'py>,
        tag: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyList>> {
        let values = self.one(py, tag)?;
        list_to_py(py, &values)
    }

    /// Writes one tag or attribute (`SCADA[1-3]=(INT)1,2,3`).
    fn write(&self, py: Python<'_>, operation: &Bound<'_, PyString>) -> PyResult<()> {
        self.one(py, operation).map(|_| ())
    }

    /// Get Attribute Single: the attribute's raw bytes.
    fn get_attribute_single<'py>(
        &self,
        py: Python<'py>,
        class: u32,
        instance: u32,
        attribute: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.run(py, move |w, c| {
            w.wait(c.get_attribute_single(class, instance, attribute))
        })?;
        Ok(PyBytes::new(py, &data))
    }

    /// Get Attributes All: the instance's raw bytes.
    fn get_attributes_all<'py>(
        &self,
        py: Python<'py>,
        class: u32,
        instance: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.run(py, move |w, c| {
            w.wait(c.get_attributes_all(class, instance))
        })?;
        Ok(PyBytes::new(py, &data))
    }

    /// Set Attribute Single with raw bytes.
    fn set_attribute_single(
        &self,
        py: Python<'_>,
        class: u32,
        instance: u32,
        attribute: u32,
        data: Vec<u8>,
    ) -> PyResult<()> {
        self.run(py, move |w, c| {
            w.wait(c.set_attribute_single(class, instance, attribute, &data))
        })
    }

    /// List Identity: one dict per reply item (with its `peer`).
    fn list_identity<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let replies = self.run(py, |w, c| w.wait(c.list_identity()))?;
        list_replies(py, &replies)
    }

    /// List Services: one dict per reply item (with its `peer`).
    fn list_services<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let replies = self.run(py, |w, c| w.wait(c.list_services()))?;
        list_replies(py, &replies)
    }

    /// List Interfaces: one dict per reply item (with its `peer`).
    fn list_interfaces<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let replies = self.run(py, |w, c| w.wait(c.list_interfaces()))?;
        list_replies(py, &replies)
    }

    /// Closes the connection and session (again: nothing).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.session(py)?.take();
        let Some(conn) = taken else {
            if self.lent.load(Ordering::Relaxed) {
                self.close_after.store(true, Ordering::Relaxed);
            }
            return Ok(());
        };
        let rt = &self.rt;
        py.detach(|| rt.block_on(conn.close()))
            .map_err(|e| client_error(py, e))
    }
}

/// cpppo's status: the general status, or `(general, (extended, ...))`.
fn status_of<'py>(py: Python<'py>, s: &ReplyStatus) -> PyResult<Bound<'py, PyAny>> {
    if s.extended.is_empty() {
        return Ok(s.general.into_pyobject(py)?.into_any());
    }
    let ext = PyTuple::new(py, &s.extended)?;
    Ok(PyTuple::new(
        py,
        [s.general.into_pyobject(py)?.into_any(), ext.into_any()],
    )?
    .into_any())
}

/// A transaction as cpppo's 6-tuple (and its summary line if `line`); a successful write's
/// value is `True`, as cpppo's.
pub(crate) fn transaction<'py>(
    py: Python<'py>,
    t: &Transaction,
    line: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let value = match &t.value {
        None => py.None().into_bound(py),
        Some(_) if !t.plan.kind.is_read() => true.into_pyobject(py)?.to_owned().into_any(),
        Some(v) => list_to_py(py, v)?.into_any(),
    };
    let mut items = vec![
        t.index.into_pyobject(py)?.into_any(),
        PyString::new(py, &t.description).into_any(),
        PyBytes::new(py, &t.request).into_any(),
        PyBytes::new(py, &t.reply).into_any(),
        status_of(py, &t.status)?,
        value,
    ];
    if line {
        items.push(PyString::new(py, &t.line()).into_any());
    }
    PyTuple::new(py, items)
}

fn list_replies<'py>(
    py: Python<'py>,
    replies: &[(SocketAddr, Vec<ListReply>)],
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let mut out = Vec::new();
    for (peer, items) in replies {
        for item in items {
            let d = PyDict::new(py);
            d.set_item("peer", (peer.ip().to_string(), peer.port()))?;
            match item {
                ListReply::Identity(i) => {
                    d.set_item("protocol_version", i.protocol_version)?;
                    d.set_item("vendor_id", i.vendor_id)?;
                    d.set_item("device_type", i.device_type)?;
                    d.set_item("product_code", i.product_code)?;
                    d.set_item("product_revision", i.revision)?;
                    d.set_item("status_word", i.status)?;
                    d.set_item("serial_number", i.serial_number)?;
                    d.set_item("product_name", &i.product_name)?;
                    d.set_item("state", i.state)?;
                    d.set_item("sin_addr", i.socket.ip().to_string())?;
                    d.set_item("sin_port", i.socket.port())?;
                }
                ListReply::Service(s) => {
                    d.set_item("version", s.version)?;
                    d.set_item("capability", s.capability)?;
                    d.set_item("service_name", &s.name)?;
                }
                ListReply::Other { type_id, data } => {
                    d.set_item("type_id", type_id)?;
                    d.set_item("data", PyBytes::new(py, data))?;
                }
            }
            out.push(d);
        }
    }
    Ok(out)
}
