//! A simulated controller started from Python, on [`SimulatorBuilder`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cpppo_cip::TagType;
use cpppo_enip::client::operation::{int_range, Literal};
use cpppo_enip::client::plan::{decode_tag, encode_values};
use cpppo_enip::model::config::Config;
use cpppo_enip::model::device::Tag;
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::simulator::{Running, Simulator as RsSimulator, SimulatorBuilder};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::errors::raise;
use crate::values::{list_to_py, many_from_py};

/// A simulated EtherNet/IP CIP controller serving tags, running until `stop()`.
#[pyclass(module = "cpppo_rs.enip")]
pub struct Simulator {
    sim: RsSimulator,
    rt: tokio::runtime::Runtime,
    running: Mutex<Option<Running>>,
    address: SocketAddr,
}

impl Simulator {
    fn tag(&self, py: Python<'_>, name: &str) -> PyResult<Arc<Tag>> {
        self.sim.device().tag(name).cloned().ok_or_else(|| {
            raise(
                py,
                "UnknownTagError",
                (format!("the simulator has no tag {name:?}"),),
            )
        })
    }

    /// `start..start + count` if it lies within `tag`, else a `SimulatorError` saying so.
    fn range(py: Python<'_>, tag: &Tag, start: usize, count: usize) -> PyResult<()> {
        let len = tag.attribute.len();
        match start.checked_add(count) {
            Some(end) if end <= len && count > 0 => Ok(()),
            _ => Err(raise(
                py,
                "SimulatorError",
                (format!(
                    "{} has {len} element(s): elements {start}..{} do not exist",
                    tag.name,
                    start.saturating_add(count)
                ),),
            )),
        }
    }
}

#[pymethods]
impl Simulator {
    /// Builds a simulator serving `tags` (cpppo's `NAME=TYPE[LEN]` specifications) and starts
    /// it on `address` (`HOST:PORT`; port 0 takes a free port, see `address`), TCP and, with
    /// `udp`, UDP. `profile` simulates a device profile (`"powerflex750"`); `delay` is a
    /// `(lo, hi)` reply delay in seconds. `config` is a list of cpppo.cfg files read in
    /// order (Identity and other object values, `Route Path`, `[Route]`); none are read by
    /// default.
    #[new]
    #[pyo3(signature = (tags=Vec::new(), address="127.0.0.1:0", udp=false, profile=None, delay=None, config=Vec::new()))]
    fn new(
        py: Python<'_>,
        tags: Vec<String>,
        address: &str,
        udp: bool,
        profile: Option<&str>,
        delay: Option<(f64, f64)>,
        config: Vec<PathBuf>,
    ) -> PyResult<Self> {
        let sim_error = |m: String| raise(py, "SimulatorError", (m,));
        let specs = tags
            .iter()
            .map(|t| TagSpec::parse(t).map_err(|e| sim_error(e.to_string())))
            .collect::<PyResult<Vec<_>>>()?;
        let addr: SocketAddr = address
            .parse()
            .map_err(|e| sim_error(format!("bad address {address:?} (want HOST:PORT): {e}")))?;
        let cfg = Config::load(&config, true).map_err(|e| sim_error(e.to_string()))?;
        let mut builder = SimulatorBuilder::new()
            .config(cfg.device)
            .routes(cfg.routes)
            .tags(specs)
            .delay(delay);
        if let Some(route) = cfg.route_path {
            builder = builder.route(route);
        }
        if let Some(p) = profile {
            builder = builder.profile(p);
        }
        let sim = builder.build().map_err(|e| sim_error(e.to_string()))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cpppo-rs-simulator")
            .enable_all()
            .build()
            .map_err(|e| sim_error(format!("cannot start a runtime: {e}")))?;
        let running = py
            .detach(|| rt.block_on(sim.start(addr, udp)))
            .map_err(|e| sim_error(e.to_string()))?;
        Ok(Simulator {
            address: running.local_addr(),
            sim,
            rt,
            running: Mutex::new(Some(running)),
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
        self.running.lock().map(|r| r.is_some()).unwrap_or(false)
    }

    /// The tag names, as declared.
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.sim.device().tags().map(|t| t.name.clone()).collect()
    }

    /// The values of elements `start..start + count` of tag `name` (all of it from `start`
    /// when `count` is None).
    #[pyo3(signature = (name, start=0, count=None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        start: usize,
        count: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let tag = self.tag(py, name)?;
        let count = count.unwrap_or_else(|| tag.attribute.len().saturating_sub(start));
        Self::range(py, &tag, start, count)?;
        let mut data = Vec::new();
        let ty = tag.attribute.data_type();
        let values = tag
            .attribute
            .read(start, count, &mut data)
            .ok()
            .and_then(|()| decode_tag(TagType::Atomic(ty), &data))
            .ok_or_else(|| {
                raise(
                    py,
                    "SimulatorError",
                    (format!("cannot read {} as {ty}", tag.name),),
                )
            })?;
        list_to_py(py, &values)
    }

    /// Writes `values` (one value or a sequence) into tag `name` from element `start`.
    #[pyo3(signature = (name, values, start=0))]
    fn write(
        &self,
        py: Python<'_>,
        name: &str,
        values: &Bound<'_, PyAny>,
        start: usize,
    ) -> PyResult<()> {
        let tag = self.tag(py, name)?;
        let values = many_from_py(values)?;
        Self::range(py, &tag, start, values.len())?;
        let ty = tag.attribute.data_type();
        if let Some((lo, hi)) = int_range(ty) {
            let outside = values
                .iter()
                .find(|v| matches!(v, Literal::Int(n) if !(lo..=hi).contains(n)));
            if let Some(v) = outside {
                return Err(raise(
                    py,
                    "InvalidValueError",
                    (format!(
                        "cannot write {}: {v} is out of range for {ty}",
                        tag.name
                    ),),
                ));
            }
        }
        let data = encode_values(ty, &values).map_err(|e| {
            raise(
                py,
                "InvalidValueError",
                (format!("cannot write {}: {e}", tag.name),),
            )
        })?;
        tag.attribute
            .write(start, values.len(), &data)
            .map_err(|s| {
                raise(
                    py,
                    "SimulatorError",
                    (format!("writing {} failed: {s:?}", tag.name),),
                )
            })
    }

    /// Stops serving and closes its sockets (again: nothing).
    fn stop(&self, py: Python<'_>) {
        let taken = self.running.lock().ok().and_then(|mut r| r.take());
        if let Some(running) = taken {
            let rt = &self.rt;
            py.detach(|| rt.block_on(running.stop()));
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.stop(py);
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "Simulator(address='{}', tags={:?}, running={})",
            self.address,
            self.tags(),
            if self.running() { "True" } else { "False" }
        )
    }
}
