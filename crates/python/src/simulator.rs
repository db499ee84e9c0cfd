//! A simulated controller started from Python, on [`SimulatorBuilder`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cpppo_enip::model::config::{parse_route_path, Config};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::control::ServerControl;
use cpppo_enip::runtime::simulator::{
    Running, Simulator as RsSimulator, SimulatorBuilder, TagHook,
};
use cpppo_enip::server::io_plan::{io_plan, IoRequest};
use cpppo_enip::server::session::RoutePolicy;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::callback;
use crate::errors::raise;
use crate::sim_sources::{self, Sources};
use crate::sim_values;

/// A simulated EtherNet/IP CIP controller serving tags, running until `stop()` (or until it
/// is garbage collected, or the interpreter exits).
#[pyclass(module = "cpppo_rs.enip", subclass, weakref)]
pub struct Simulator {
    sim: RsSimulator,
    /// Taken (and shut down with the GIL released) by `_close` or when dropped.
    rt: Mutex<Option<Arc<tokio::runtime::Runtime>>>,
    running: Mutex<Option<Running>>,
    address: SocketAddr,
    /// The web API's bound address, and whether it refuses every change.
    web: Option<(SocketAddr, bool)>,
    /// The class 1 I/O adapter's bound UDP address.
    io: Option<SocketAddr>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        Python::attach(|py| self.close(py));
    }
}

/// How long a dropped simulator waits for its threads.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// What to build besides the tags (the keyword arguments of `Simulator(...)`).
struct Build<'a> {
    /// The cpppo.cfg files' settings (identity, routes, `[I/O]`).
    config: Config,
    profile: Option<&'a str>,
    delay: Option<(f64, f64)>,
    route_path: Option<&'a str>,
    simple: bool,
    web: Option<SocketAddr>,
    hook: Option<TagHook>,
    /// `io=`: `None`/`True` as the tags and config say, a string an address, `False` none.
    io: IoRequest<'a>,
    /// The TCP address (its interface is I/O's default one).
    address: SocketAddr,
}

/// The simulator, its control (for the web API) and where its I/O is served.
type Built = (RsSimulator, Option<Arc<ServerControl>>, Option<SocketAddr>);

fn build(specs: Vec<TagSpec>, b: Build<'_>) -> Result<Built, String> {
    let cfg = b.config;
    let planned =
        io_plan(b.io, &cfg.io, b.address, &cfg.device, &specs).map_err(|e| format!("io: {e}"))?;
    let mut builder = SimulatorBuilder::new()
        .config(cfg.device)
        .routes(cfg.routes)
        .tags(specs)
        .delay(b.delay);
    let route = match (b.simple, b.route_path) {
        (true, _) => Some(RoutePolicy::Exactly(Vec::new())),
        (false, Some(r)) => Some(parse_route_path(r).map_err(|e| format!("route_path: {e}"))?),
        (false, None) => cfg.route_path,
    };
    if let Some(route) = route {
        builder = builder.route(route);
    }
    if let Some(p) = b.profile {
        builder = builder.profile(p);
    }
    let control = b.web.map(|_| Arc::new(ServerControl::default()));
    if let Some(c) = &control {
        builder = builder.control(c.clone()).statistics(true);
    }
    if let Some(hook) = b.hook {
        builder = builder.hook(hook);
    }
    let io = match planned {
        Some((at, settings)) => {
            builder = builder.io(settings);
            Some(at)
        }
        None => None,
    };
    let sim = builder.build().map_err(|e| e.to_string())?;
    Ok((sim, control, io))
}

/// The web API to start: where, its control, and the token changes need.
type WebStart = (SocketAddr, Arc<ServerControl>, Option<String>);

/// The running server, the web API's address and read-only flag, and I/O's bound address.
type Started = (Running, Option<(SocketAddr, bool)>, Option<SocketAddr>);

/// Start serving (and the web API, with a control): the running server and the web API's
/// address and whether it is read-only (off loopback without a token).
async fn start(
    sim: &RsSimulator,
    addr: SocketAddr,
    udp: bool,
    io: Option<SocketAddr>,
    web: Option<WebStart>,
) -> Result<Started, String> {
    let running = sim.start(addr, udp).await.map_err(|e| e.to_string())?;
    let io = match io {
        Some(at) => match sim.start_io(at, running.shutdown()).await {
            Ok(bound) => Some(bound),
            Err(e) => {
                running.stop().await;
                return Err(format!("io: cannot serve I/O on UDP {at}: {e}"));
            }
        },
        None => None,
    };
    let Some((web_addr, control, token)) = web else {
        return Ok((running, None, io));
    };
    let api = cpppo_web::Web {
        device: sim.device().clone(),
        control,
        token,
        read_only: false,
    };
    match cpppo_web::start(web_addr, api, running.shutdown()).await {
        Ok(started) => Ok((running, Some(started), io)),
        Err(e) => {
            running.stop().await;
            Err(format!("web: cannot listen on {web_addr}: {e}"))
        }
    }
}

impl Simulator {
    /// Stop serving and end the runtime's threads, with the GIL released: Python callbacks
    /// on those threads (and their kept thread states) need it to finish.
    fn close(&self, py: Python<'_>) {
        let running = self.running.lock().ok().and_then(|mut r| r.take());
        let rt = self.rt.lock().ok().and_then(|mut r| r.take());
        py.detach(move || {
            if let (Some(rt), Some(running)) = (&rt, running) {
                rt.block_on(running.stop());
            }
            // A concurrent `stop()` holding a clone drops the last one (without the GIL).
            if let Some(rt) = rt.and_then(Arc::into_inner) {
                rt.shutdown_timeout(STOP_WAIT);
            }
        });
    }
}

#[pymethods]
impl Simulator {
    /// Builds a simulator serving `tags` (cpppo's `NAME=TYPE[LEN]` specifications) and starts
    /// it on `address` (`HOST:PORT`; port 0 takes a free port, see `address`), TCP and, with
    /// `udp`, UDP. `profile` simulates a device profile (`"powerflex750"`); `delay` is a
    /// `(lo, hi)` reply delay in seconds. `config` is a cpppo.cfg file or a list of them,
    /// read in order, as `cpppo enip server --config` reads them (Identity and other object
    /// values, `Route Path`, `[Route]`, `[Tags]`/`[Assembly]` tags, `[Logix]` UDTs,
    /// `Defined Tags`, `L5X`, `[I/O]`); none are read by default. `udt` defines Logix
    /// structures (`"Motor{Speed:REAL, Running:BOOL}"`, then `tags=["M1=Motor"]`),
    /// `defined_tags` serves a pycomm3 tag JSON file and `l5x` a Studio 5000 project export
    /// (its tags with their initial values, and its controller name), as the CLI's `--udt`,
    /// `-D` and `--l5x`. A file that cannot be read raises `TagFileError` (an `OSError`), a
    /// source that cannot be served `TagSourceError` (a `ValueError`), naming it. `route_path` is cpppo's `--route-path` (JSON, or `"0"`/`"false"`: only an
    /// empty route path); `simple` serves only an empty route path (`--simple`). `web` starts
    /// the web API on `[HOST]:[PORT]` (port 0 allowed; see `web_address`); with `web_token`,
    /// every request that changes the simulator must carry it (`?token=TOKEN` or
    /// `Authorization: Bearer TOKEN`: the CLI's `--web-token`). Off loopback without a token
    /// the web API refuses every change (`web_read_only`).
    /// `io` serves class 1 I/O (Forward Open of class 1 and 0 over TCP, the data on UDP)
    /// like `cpppo enip server`: by default on UDP 2222 of `address`'s interface when a tag
    /// is an assembly (`'Inputs@4/100/3=SINT[8]'`) or cpppo.cfg's `[I/O] Address` says
    /// where; a string `[HOST][:PORT]` serves it there (port 0 allowed, see `io_address`);
    /// `False` not at all. `input_only_point` and `listen_only_point` are the O->T heartbeat
    /// points of Input Only and Listen Only connections (238 and 237 by default, or cpppo.cfg's
    /// `[I/O]`), as the CLI's `--input-only-point` and `--listen-only-point`; anything but an
    /// instance number 1..4294967295 raises `ValueError`.
    /// `attribute_class` (a `device.Attribute` subclass) and `attributes` (tag name → object
    /// with `__getitem__`/`__setitem__`) give tags Python-defined behaviour.
    #[new]
    #[pyo3(signature = (tags=Vec::new(), address="127.0.0.1:0", udp=false, profile=None,
        delay=None, config=None, route_path=None, simple=false, web=None,
        attribute_class=None, attributes=None, web_token=None, io=None, udt=Vec::new(),
        defined_tags=None, l5x=None, input_only_point=None, listen_only_point=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        tags: Vec<String>,
        address: &str,
        udp: bool,
        profile: Option<&str>,
        delay: Option<(f64, f64)>,
        config: Option<&Bound<'_, PyAny>>,
        route_path: Option<&str>,
        simple: bool,
        web: Option<&str>,
        attribute_class: Option<Py<PyAny>>,
        attributes: Option<Py<PyAny>>,
        web_token: Option<String>,
        io: Option<&Bound<'_, PyAny>>,
        udt: Vec<String>,
        defined_tags: Option<std::path::PathBuf>,
        l5x: Option<std::path::PathBuf>,
        input_only_point: Option<&Bound<'_, PyAny>>,
        listen_only_point: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let sim_error = |m: String| raise(py, "SimulatorError", (m,));
        let mut config = sim_sources::load_config(py, &sim_sources::config_paths(config)?)?;
        let io_cfg = &mut config.io;
        io_cfg.input_only_point =
            sim_sources::heartbeat_point("input_only_point", input_only_point)?
                .or(io_cfg.input_only_point);
        io_cfg.listen_only_point =
            sim_sources::heartbeat_point("listen_only_point", listen_only_point)?
                .or(io_cfg.listen_only_point);
        let addr: SocketAddr = address
            .parse()
            .map_err(|e| sim_error(format!("bad address {address:?} (want HOST:PORT): {e}")))?;
        let web = web
            .map(|w| cpppo_web::parse_address(w).map_err(sim_error))
            .transpose()?;
        match (&web, web_token.as_deref()) {
            (_, Some("")) => return Err(sim_error("web_token must not be empty".into())),
            (None, Some(_)) => {
                return Err(sim_error(
                    "web_token is for the web API: give web= too".into(),
                ))
            }
            _ => {}
        }
        let io_text = match io {
            Some(v) if v.is_instance_of::<pyo3::types::PyBool>() => v.extract::<bool>()?,
            _ => true,
        };
        let io_at = match io {
            Some(v) if !v.is_instance_of::<pyo3::types::PyBool>() => {
                Some(v.extract::<String>().map_err(|_| {
                    sim_error("io must be None, a bool or \"[HOST][:PORT]\"".into())
                })?)
            }
            _ => None,
        };
        let io = match (&io_at, io_text) {
            (Some(at), _) => IoRequest::At(at),
            (None, true) => IoRequest::Auto,
            (None, false) => IoRequest::Off,
        };
        let hooked = attribute_class.is_some() || attributes.is_some();
        let hook = match (&attribute_class, &attributes) {
            (None, None) => None,
            _ => Some(callback::hook(py, attribute_class, attributes)?),
        };
        let sources = Sources {
            udt: &udt,
            defined_tags,
            l5x,
            tags: &tags,
        };
        let (specs, hook) = sim_sources::gather(py, &mut config, sources, hook)?;
        let b = Build {
            config,
            profile,
            delay,
            route_path,
            simple,
            web,
            hook,
            io,
            address: addr,
        };
        let (sim, control, io) = build(specs, b).map_err(sim_error)?;
        let mut rt = tokio::runtime::Builder::new_multi_thread();
        rt.worker_threads(1)
            .thread_name("cpppo-rs-simulator")
            .enable_all();
        if hooked {
            // Threads that call Python keep a Python thread state for their lifetime.
            rt.on_thread_start(callback::keep_thread_state)
                .on_thread_stop(callback::release_thread_state);
        }
        let rt = rt
            .build()
            .map_err(|e| sim_error(format!("cannot start a runtime: {e}")))?;
        let web = web
            .zip(control)
            .map(|(addr, control)| (addr, control, web_token));
        let (running, web, io) = match py.detach(|| rt.block_on(start(&sim, addr, udp, io, web))) {
            Ok(started) => started,
            Err(e) => {
                // Its threads may need the GIL to end (their kept thread states).
                py.detach(move || drop(rt));
                return Err(sim_error(e));
            }
        };
        Ok(Simulator {
            address: running.local_addr(),
            sim,
            rt: Mutex::new(Some(Arc::new(rt))),
            running: Mutex::new(Some(running)),
            web,
            io,
        })
    }

    /// The web API's bound address, `(host, port)`, if it was started.
    #[getter]
    fn web_address(&self) -> Option<(String, u16)> {
        self.web.map(|(w, _)| (w.ip().to_string(), w.port()))
    }

    /// The class 1 I/O adapter's bound UDP address, `(host, port)`, if it serves I/O.
    #[getter]
    fn io_address(&self) -> Option<(String, u16)> {
        self.io.map(|a| (a.ip().to_string(), a.port()))
    }

    /// Whether the web API refuses every change (started off loopback without a
    /// `web_token`); `None` without a web API.
    #[getter]
    fn web_read_only(&self) -> Option<bool> {
        self.web.map(|(_, read_only)| read_only)
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
    /// when `count` is None); `name` may also be an element (`SCADA[3]`: one by default) or a
    /// path into a structure tag (`M1.Speed`, `Motors[2].Faults`, `M1.Cell`: a dict).
    #[pyo3(signature = (name, start=0, count=None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        start: usize,
        count: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        sim_values::read(py, self.sim.device(), name, start, count)
    }

    /// Writes `values` (one value or a sequence) into tag `name` from element `start`; `name`
    /// may be an element or a path into a structure tag, as for `read` (a structure takes a
    /// dict of some of its members).
    #[pyo3(signature = (name, values, start=0))]
    fn write(
        &self,
        py: Python<'_>,
        name: &str,
        values: &Bound<'_, PyAny>,
        start: usize,
    ) -> PyResult<()> {
        sim_values::write(py, self.sim.device(), name, values, start)
    }

    /// Stops serving and closes its sockets (again: nothing).
    fn stop(&self, py: Python<'_>) {
        let taken = self.running.lock().ok().and_then(|mut r| r.take());
        let rt = self.rt.lock().ok().and_then(|r| r.clone());
        if let (Some(running), Some(rt)) = (taken, rt) {
            // The clone is dropped here too, without the GIL, should `_close` have run.
            py.detach(move || rt.block_on(running.stop()));
        }
    }

    /// Stops serving and ends its threads (at interpreter exit; `stop()` suffices otherwise).
    fn _close(&self, py: Python<'_>) {
        self.close(py);
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
