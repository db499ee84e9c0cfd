//! Modbus/TCP from Python: a simulator ([`cpppo_modbus::server::Simulator`]) on its own
//! runtime thread, and the register and value conversions the poller (`modbus_poller`) shares.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cpppo_modbus::server::Simulator as RsSimulator;
use cpppo_modbus::store::Store;
use cpppo_modbus::{RangeSpec, Register};
use cpppo_net::os::OsListener;
use cpppo_net::Listener;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyList, PyString};

use crate::errors::raise;

/// How long stopping waits for the runtime's threads.
const STOP_WAIT: Duration = Duration::from_secs(5);

pub(crate) fn runtime(name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
}

/// Register `number` (cpppo's numbering: 1.. coils, 10001.. inputs, 30001.., 40001..), or a
/// `ValueError`-like `InvalidValueError` naming it.
pub(crate) fn register(py: Python<'_>, number: u32) -> PyResult<Register> {
    Register::from_number(number).ok_or_else(|| {
        raise(
            py,
            "InvalidValueError",
            (format!(
                "{number} is not a Modbus register (1-9999 coils, 10001-19999 discrete inputs, \
                 30001-39999 input registers, 40001-99999 holding registers, or 6 digits)"
            ),),
        )
    })
}

/// `n` registers from `first` on (within its table), or an `InvalidValueError`.
fn span(py: Python<'_>, first: Register, n: usize) -> PyResult<Vec<Register>> {
    (0..n)
        .map(|i| {
            u16::try_from(i)
                .ok()
                .and_then(|i| first.offset.checked_add(i))
                .map(|offset| Register { offset, ..first })
                .ok_or_else(|| {
                    raise(
                        py,
                        "InvalidValueError",
                        (format!(
                            "{n} registers from {} run past the table",
                            first.number()
                        ),),
                    )
                })
        })
        .collect()
}

/// One value or a sequence of them as register words (`bool`s as 0/1); an `int` outside
/// 0..=65535 is an `InvalidValueError`, anything else not an int a `TypeError`.
pub(crate) fn words(py: Python<'_>, values: &Bound<'_, PyAny>) -> PyResult<Vec<u16>> {
    let word = |v: &Bound<'_, PyAny>| -> PyResult<u16> {
        if v.is_instance_of::<PyBool>() {
            return Ok(u16::from(v.extract::<bool>()?));
        }
        if !v.is_instance_of::<PyInt>() {
            return Err(PyTypeError::new_err(format!(
                "cannot write a {} to a register (int or bool)",
                v.get_type().name()?
            )));
        }
        v.extract::<u16>().map_err(|_| {
            raise(
                py,
                "InvalidValueError",
                (format!("{v} does not fit a register (0-65535)"),),
            )
        })
    };
    if values.is_instance_of::<PyInt>() || values.is_instance_of::<PyString>() {
        return Ok(vec![word(values)?]);
    }
    values.try_iter()?.map(|v| word(&v?)).collect()
}

/// A simulated Modbus/TCP device serving registers, running until `stop()`.
#[pyclass(name = "Simulator", module = "cpppo_rs.modbus", weakref)]
pub struct Simulator {
    store: Arc<Mutex<Store>>,
    rt: Mutex<Option<tokio::runtime::Runtime>>,
    address: SocketAddr,
}

impl Simulator {
    fn stop_now(&self, py: Python<'_>) {
        let rt = self.rt.lock().ok().and_then(|mut r| r.take());
        if let Some(rt) = rt {
            py.detach(|| rt.shutdown_timeout(STOP_WAIT));
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.get_mut().ok().and_then(|r| r.take()) {
            // Nothing here calls into Python: no need to release the GIL to end it.
            rt.shutdown_background();
        }
    }
}

#[pymethods]
impl Simulator {
    /// Serves `registers` (cpppo's `modbus_sim` ranges: `40001-40100=99`, `1-16=1`, ...) on
    /// `address` (`HOST:PORT`; port 0 takes a free port, see `address`), answering the unit
    /// ids `units` (all when empty), each reply delayed by `delay` seconds (or a `(lo, hi)`
    /// range).
    #[new]
    #[pyo3(signature = (registers=Vec::new(), address="127.0.0.1:0", units=Vec::new(), delay=None))]
    fn new(
        py: Python<'_>,
        registers: Vec<String>,
        address: &str,
        units: Vec<u8>,
        delay: Option<(f64, f64)>,
    ) -> PyResult<Self> {
        let sim_error = |m: String| raise(py, "SimulatorError", (m,));
        let specs = registers
            .iter()
            .map(|r| RangeSpec::parse(r).map_err(|e| sim_error(e.to_string())))
            .collect::<PyResult<Vec<_>>>()?;
        let addr: SocketAddr = address
            .parse()
            .map_err(|e| sim_error(format!("bad address {address:?} (want HOST:PORT): {e}")))?;
        let (lo, hi) = delay.unwrap_or((0.0, 0.0));
        let secs = |s: f64| {
            Duration::try_from_secs_f64(s)
                .map_err(|_| sim_error(format!("bad delay {s}: want seconds >= 0")))
        };
        let sim = RsSimulator::new(Store::from_specs(&specs))
            .units(units)
            .delay_between(secs(lo)?, secs(hi)?);
        let store = sim.store();
        let rt = runtime("cpppo-rs-modbus-sim")
            .map_err(|e| sim_error(format!("cannot start a runtime: {e}")))?;
        let listener = py
            .detach(|| rt.block_on(OsListener::bind(addr)))
            .map_err(|e| sim_error(format!("cannot listen on {addr}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| sim_error(e.to_string()))?;
        rt.spawn(Arc::new(sim).serve_tcp(listener));
        Ok(Simulator {
            store,
            rt: Mutex::new(Some(rt)),
            address,
        })
    }

    /// The bound address, `(host, port)`.
    #[getter]
    fn address(&self) -> (String, u16) {
        (self.address.ip().to_string(), self.address.port())
    }

    /// Whether it is still serving.
    #[getter]
    fn running(&self) -> bool {
        self.rt.lock().map(|r| r.is_some()).unwrap_or(false)
    }

    /// The values of `count` registers (coils and inputs as 0/1) from register number
    /// `register` on.
    #[pyo3(signature = (register, count=1))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        register: u32,
        count: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let regs = span(py, self::register(py, register)?, count)?;
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let values = regs
            .iter()
            .map(|r| store.get(*r).ok_or(r.number()))
            .collect::<Result<Vec<_>, _>>();
        drop(store);
        let values = values.map_err(|n| {
            raise(
                py,
                "SimulatorError",
                (format!("register {n} is not simulated"),),
            )
        })?;
        PyList::new(py, values)
    }

    /// Writes `values` (one or a sequence; `bool`s as 0/1) from register number `register` on.
    /// Any table may be written this way, inputs included.
    fn write(&self, py: Python<'_>, register: u32, values: &Bound<'_, PyAny>) -> PyResult<()> {
        let values = words(py, values)?;
        let regs = span(py, self::register(py, register)?, values.len())?;
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = regs.iter().find(|r| store.get(**r).is_none()) {
            let n = r.number();
            drop(store);
            return Err(raise(
                py,
                "SimulatorError",
                (format!("register {n} is not simulated"),),
            ));
        }
        for (r, v) in regs.iter().zip(values) {
            store.set(*r, v);
        }
        Ok(())
    }

    /// Stops serving and closes its sockets (again: nothing). The registers stay readable.
    fn stop(&self, py: Python<'_>) {
        self.stop_now(py);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.stop_now(py);
        false
    }

    fn __repr__(&self) -> String {
        let running = if self.running() { "True" } else { "False" };
        format!("Simulator(address='{}', running={running})", self.address)
    }
}
