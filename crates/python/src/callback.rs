//! Python-defined attribute behaviour: a Python object's `__getitem__` / `__setitem__` serve a
//! simulator tag, as cpppo's `device.Attribute` subclasses do.
//!
//! The server runs on its own threads; each callback takes the GIL only for the call itself
//! and, on a server thread, first hands that thread's other sessions (and the I/O driver) to
//! another thread (`block_in_place`), so sessions on other tags never wait for the GIL or a
//! slow callback. (More worker threads without `block_in_place` do not suffice: a worker
//! blocked right after polling the I/O driver leaves the parked ones asleep, and every session
//! stalls; `test_a_slow_callback_does_not_hold_up_other_sessions` shows it.) Each server thread
//! keeps one Python thread state for its life ([`keep_thread_state`]). A callback that raises
//! (or returns values that do not fit the tag) answers the client with a CIP General Error
//! and logs one line on the `cpppo_rs.server.enip.device` logger; one that raises
//! `cpppo_rs.errors.StatusError` answers with that status, and an object whose `error` is
//! non-zero (cpppo's `Attribute(..., error=CODE)`) fails every access with it.

use std::sync::Arc;

use cpppo_cip::mr::status;
use cpppo_cip::{Status, TagType};
use cpppo_enip::client::plan::decode_tag;
use cpppo_enip::model::attribute::Attribute;
use cpppo_enip::runtime::simulator::TagHook;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PySlice;

use crate::values::{encode_checked, list_to_py, many_from_py};

/// The module holding `Attribute`, `_bind` and the logger name.
const DEVICE: &str = "cpppo_rs.server.enip.device";

thread_local! {
    /// This server thread's Python thread state, kept from thread start to thread stop (see
    /// [`keep_thread_state`]).
    static KEPT: std::cell::Cell<Option<(pyo3::ffi::PyGILState_STATE, *mut pyo3::ffi::PyThreadState)>> =
        const { std::cell::Cell::new(None) };
}

/// On a server thread's start: give the thread a Python thread state and release the GIL,
/// keeping the state. Without it every callback would create and destroy one (most of a
/// callback's cost); with it a callback only takes and drops the GIL.
pub fn keep_thread_state() {
    // SAFETY: called once on a fresh thread that does not hold the GIL; Ensure gives it a
    // thread state and the GIL, SaveThread releases the GIL and returns that state, which
    // `release_thread_state` restores on the same thread before releasing it.
    let kept = unsafe {
        let state = pyo3::ffi::PyGILState_Ensure();
        (state, pyo3::ffi::PyEval_SaveThread())
    };
    KEPT.with(|k| k.set(Some(kept)));
}

/// On a server thread's stop: give back the thread state [`keep_thread_state`] kept.
pub fn release_thread_state() {
    if let Some((state, tstate)) = KEPT.with(|k| k.take()) {
        // SAFETY: the pair was made on this thread by `keep_thread_state`, which released
        // the GIL; restoring then releasing ends the thread's Python state as Ensure began it.
        unsafe {
            pyo3::ffi::PyEval_RestoreThread(tstate);
            pyo3::ffi::PyGILState_Release(state);
        }
    }
}

/// A tag whose reads and writes call a Python object.
pub struct PyAttribute {
    name: String,
    /// The tag's declared shape (type, length, array-ness); its data is not used.
    inner: Arc<dyn Attribute>,
    obj: Py<PyAny>,
    /// Whether the object has an `error` attribute (looked up after each call).
    has_error: bool,
}

/// Run `f` off the async scheduler when called on a server worker thread: the worker's other
/// sessions move to another thread while `f` waits for the GIL and runs the callback.
fn off_scheduler<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl PyAttribute {
    /// Call `f(object, slice(start, start + count))` with the GIL; a Python exception is
    /// logged (one line) and becomes a General Error status.
    fn call<T>(
        &self,
        what: &str,
        start: usize,
        count: usize,
        f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>, Bound<'_, PySlice>) -> PyResult<T>,
    ) -> Result<T, Status> {
        off_scheduler(|| {
            Python::attach(|py| {
                let end = start.saturating_add(count);
                let (lo, hi) = (isize::try_from(start), isize::try_from(end));
                let (Ok(lo), Ok(hi)) = (lo, hi) else {
                    return Err(Status::new(status::GENERAL_ERROR));
                };
                let key = PySlice::new(py, lo, hi, 1);
                let obj = self.obj.bind(py);
                match f(py, obj, key) {
                    // cpppo: an Attribute with a non-zero `error` fails every access with it.
                    Ok(v) => match self.has_error.then(|| forced_error(obj)).flatten() {
                        Some(code) => Err(Status::new(code)),
                        None => Ok(v),
                    },
                    Err(e) => Err(status_raised(py, &e).unwrap_or_else(|| {
                        self.log(py, what, start, end, &e);
                        Status::new(status::GENERAL_ERROR)
                    })),
                }
            })
        })
    }

    fn log(&self, py: Python<'_>, what: &str, start: usize, end: usize, e: &PyErr) {
        let kind = e
            .get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        let line = format!(
            "{} {what} [{start}:{end}] failed: {kind}: {}",
            self.name,
            e.value(py)
        );
        let logged = py
            .import("logging")
            .and_then(|m| m.call_method1("getLogger", (DEVICE,)))
            .and_then(|log| log.call_method1("warning", ("%s", line)));
        if logged.is_err() {
            // No logging module (interpreter shutting down): say it on stderr.
            eprintln!("cpppo_rs: {} {what} failed", self.name);
        }
    }
}

/// The object's `error` code, if it is a non-zero number below 256.
fn forced_error(obj: &Bound<'_, PyAny>) -> Option<u8> {
    obj.getattr(pyo3::intern!(obj.py(), "error"))
        .ok()?
        .extract::<u8>()
        .ok()
        .filter(|c| *c != 0)
}

/// The CIP status a callback asked for by raising `cpppo_rs.errors.StatusError(message,
/// status, extended_status)` (no log line: it is a deliberate answer).
fn status_raised(py: Python<'_>, e: &PyErr) -> Option<Status> {
    let class = py
        .import("cpppo_rs.errors")
        .ok()?
        .getattr("StatusError")
        .ok()?;
    let value = e.value(py);
    if !value.is_instance(&class).ok()? {
        return None;
    }
    let general = value.getattr("status").ok()?.extract::<u8>().ok()?;
    let extended = value
        .getattr("extended_status")
        .ok()
        .and_then(|x| x.extract::<Vec<u16>>().ok())
        .and_then(|x| x.first().copied());
    Some(match extended {
        Some(word) => Status::ext(general, word),
        None => Status::new(general),
    })
}

impl Attribute for PyAttribute {
    cpppo_enip::delegate_shape_to_inner!();

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        let ty = self.inner.data_type();
        let data = self.call("read", start, count, |_, obj, key| {
            let values = many_from_py(&obj.get_item(key)?)?;
            if values.len() != count {
                return Err(PyValueError::new_err(format!(
                    "__getitem__ returned {} value(s) for {count} element(s)",
                    values.len()
                )));
            }
            encode_checked(ty, &values).map_err(PyValueError::new_err)
        })?;
        out.extend_from_slice(&data);
        Ok(())
    }

    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        let ty = self.inner.data_type();
        let values = decode_tag(TagType::Atomic(ty), data)
            .filter(|v| v.len() == count)
            .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
        self.call("write", start, count, |py, obj, key| {
            obj.set_item(key, list_to_py(py, &values)?)
        })
    }
}

/// A hook giving each tag a Python object when `device._bind(name, type, length, array,
/// attribute_class, attributes)` returns one (else the tag keeps its stored data).
pub fn hook(
    py: Python<'_>,
    attribute_class: Option<Py<PyAny>>,
    attributes: Option<Py<PyAny>>,
) -> PyResult<TagHook> {
    let bind = py.import(DEVICE)?.getattr("_bind")?.unbind();
    Ok(Arc::new(move |name: &str, inner: Arc<dyn Attribute>| {
        Python::attach(|py| {
            let made = bind.call1(
                py,
                (
                    name,
                    inner.data_type().to_string(),
                    inner.len(),
                    inner.is_array(),
                    attribute_class.as_ref().map(|c| c.bind(py)),
                    attributes.as_ref().map(|a| a.bind(py)),
                ),
            );
            match made {
                Ok(obj) if obj.is_none(py) => Ok(inner),
                Ok(obj) => {
                    let has_error = obj.bind(py).hasattr("error").unwrap_or(false);
                    let attr: Arc<dyn Attribute> = Arc::new(PyAttribute {
                        name: name.to_string(),
                        inner,
                        obj,
                        has_error,
                    });
                    Ok(attr)
                }
                Err(e) => Err(format!("tag {name:?}: {}", e.value(py))),
            }
        })
    }))
}
