//! cpppo's `poller_modbus` from Python, on [`cpppo_modbus::poller::Poller`] (its own runtime
//! thread; the GIL is released while a write waits).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::path::PathBuf;

use cpppo_modbus::poller::{PollError, Poller as RsPoller, PollerConfig, SerialTarget};
use cpppo_modbus::serial::{LineConfig, Parity};
use cpppo_modbus::server::Framing;
use pyo3::prelude::*;

use crate::errors::raise;
use crate::modbus::{register, runtime, words};

/// cpppo's `poller_modbus` core: polls registers of one Modbus/TCP PLC in the background.
#[pyclass(module = "cpppo_rs.remote.plc_modbus")]
pub struct ModbusPoller {
    poller: Mutex<Option<Arc<RsPoller>>>,
    rt: tokio::runtime::Runtime,
}

impl ModbusPoller {
    /// The poller, unless stopped (`PlcOffline`).
    fn current(&self, py: Python<'_>) -> PyResult<Arc<RsPoller>> {
        let guard = self.poller.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .clone()
            .ok_or_else(|| raise(py, "PlcOffline", ("the poller is stopped".to_string(),)))
    }

    fn with<T>(&self, py: Python<'_>, f: impl FnOnce(&RsPoller) -> T) -> PyResult<T> {
        let poller = self.current(py)?;
        Ok(f(&poller))
    }
}

/// A positive, finite number of seconds.
fn seconds(py: Python<'_>, what: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            raise(
                py,
                "InvalidValueError",
                (format!("bad {what} {s}: want seconds > 0"),),
            )
        })
}

/// A serial line to poll over; `InvalidValueError` naming a bad setting.
fn serial_target(
    py: Python<'_>,
    path: PathBuf,
    unit: u8,
    baud: u32,
    parity: &str,
    stop_bits: u8,
    ascii: bool,
) -> PyResult<SerialTarget> {
    let bad = |m: String| raise(py, "InvalidValueError", (m,));
    if !(1..=247).contains(&unit) {
        return Err(bad(format!(
            "a serial line needs unit 1-247, not {unit} (unit 0 is a broadcast, never answered)"
        )));
    }
    if !matches!(stop_bits, 1 | 2) {
        return Err(bad(format!("stopbits must be 1 or 2, not {stop_bits}")));
    }
    let parity: Parity = parity.parse().map_err(bad)?;
    Ok(SerialTarget {
        path,
        line: LineConfig {
            baud,
            parity,
            stop_bits,
        },
        framing: if ascii { Framing::Ascii } else { Framing::Rtu },
    })
}

#[pymethods]
impl ModbusPoller {
    /// Polls the PLC at `address` (`HOST:PORT`) as unit `unit`, every `rate` seconds, merging
    /// registers within `reach` of each other into one request; `timeout` bounds each
    /// connect and reply. With `serial` (a serial device's path), polls over that line
    /// instead (Modbus/RTU, or `ascii`; `baud`, `parity` `"N"`/`"E"`/`"O"`, `stopbits`;
    /// `address` is then only a label), and `unit` must be 1-247.
    #[new]
    #[pyo3(signature = (address, unit=0, rate=1.0, reach=100, timeout=1.0, serial=None,
        baud=19200, parity="N", stopbits=1, ascii=false))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments.
    fn new(
        py: Python<'_>,
        address: String,
        unit: u8,
        rate: f64,
        reach: u16,
        timeout: f64,
        serial: Option<PathBuf>,
        baud: u32,
        parity: &str,
        stopbits: u8,
        ascii: bool,
    ) -> PyResult<Self> {
        let mut config = PollerConfig::new(address);
        if let Some(path) = serial {
            config.serial = Some(serial_target(
                py, path, unit, baud, parity, stopbits, ascii,
            )?);
        }
        config.unit = unit;
        config.rate = seconds(py, "rate", rate)?;
        config.reach = reach;
        config.timeout = seconds(py, "timeout", timeout)?;
        let rt = runtime("cpppo-rs-modbus-poll").map_err(|e| {
            raise(
                py,
                "CommunicationError",
                (format!("cannot start a runtime: {e}"),),
            )
        })?;
        let poller = {
            let _entered = rt.enter();
            RsPoller::spawn(config)
        };
        Ok(ModbusPoller {
            poller: Mutex::new(Some(Arc::new(poller))),
            rt,
        })
    }

    /// Begin polling register number `address`; a `rate` faster than the current one speeds
    /// up all polling.
    #[pyo3(signature = (address, rate=None))]
    fn poll(&self, py: Python<'_>, address: u32, rate: Option<f64>) -> PyResult<()> {
        let reg = register(py, address)?;
        let rate = rate.map(|r| seconds(py, "rate", r)).transpose()?;
        self.with(py, |p| p.poll(reg, rate))
    }

    /// The last polled value of `address` (polling it from now on); `None` until polled or
    /// while the PLC is offline.
    fn read(&self, py: Python<'_>, address: u32) -> PyResult<Option<u16>> {
        let reg = register(py, address)?;
        self.with(py, |p| {
            p.poll(reg, None);
            if p.online() {
                p.read(reg)
            } else {
                None
            }
        })
    }

    /// Writes `values` (one or a sequence) from `address` on, between polls; returns when the
    /// PLC has answered (`PlcOffline`, `ModbusError` or `InvalidValueError` if not).
    fn write(&self, py: Python<'_>, address: u32, values: &Bound<'_, PyAny>) -> PyResult<()> {
        let reg = register(py, address)?;
        let values = words(py, values)?;
        let poller = self.current(py)?;
        let rt = &self.rt;
        let done = py.detach(|| rt.block_on(poller.write(reg, &values)));
        done.map_err(|e| {
            let message = format!("write to {address} failed: {e}");
            match e {
                PollError::ReadOnly(_) | PollError::BadCount(_) => {
                    raise(py, "InvalidValueError", (message,))
                }
                PollError::Offline(_) | PollError::Stopped => raise(py, "PlcOffline", (message,)),
                PollError::Client(_) => raise(py, "ModbusError", (message,)),
            }
        })
    }

    /// The (1-minute, 5-minute, 15-minute) fraction of the PLC's I/O capacity used by polling.
    #[getter]
    fn load(&self, py: Python<'_>) -> PyResult<(f64, f64, f64)> {
        self.with(py, |p| p.load())
    }

    /// True once a poll has succeeded, until the connection fails.
    #[getter]
    fn online(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |p| p.online())
    }

    /// The `(first register number, count)` ranges being polled.
    #[getter]
    fn polling(&self, py: Python<'_>) -> PyResult<Vec<(u32, u16)>> {
        self.with(py, |p| {
            p.polling()
                .into_iter()
                .map(|(r, n)| (r.number(), n))
                .collect()
        })
    }

    /// Stops polling (again: nothing).
    fn stop(&self) {
        let taken = self.poller.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }

    /// Whether it is still polling.
    #[getter]
    fn alive(&self) -> bool {
        self.poller.lock().map(|p| p.is_some()).unwrap_or(false)
    }
}
