//! Building and running an EtherNet/IP CIP controller simulator from values.
//!
//! A [`SimulatorBuilder`] gathers what a simulator is (standard object values, tags, route
//! policy and routes, a device profile, reply delay, a [`ServerControl`] for the web API,
//! hooks wrapping each tag's attribute); [`SimulatorBuilder::build`] checks it all and makes a
//! [`Simulator`], which is then served on the host ([`Simulator::start`], port 0 allowed: the
//! bound address is returned) or on any [`Bind`] such as a fleet device's stack
//! ([`Simulator::spawn`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cpppo_enip::runtime::simulator::SimulatorBuilder;
//! use cpppo_enip::model::tagspec::TagSpec;
//! let sim = SimulatorBuilder::new().tag(TagSpec::parse("SCADA=INT[100]")?).build()?;
//! let running = sim.start("127.0.0.1:0".parse()?, true).await?;
//! println!("serving on {}", running.local_addr());
//! running.stop().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cpppo_net::Listener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::model::attribute::{Attribute, StoredData};
use crate::model::device::{Device, DeviceConfig, DeviceError};
use crate::model::tagspec::{TagSpec, TagSpecError};
use crate::runtime::control::ServerControl;
use crate::runtime::serve::Options;
use crate::runtime::switchable::{serve_switchable, Bind, BindError, Bound, HostBind};
use crate::server::io::{IoAdapter, IoHub, IoSettings};
use crate::server::route::RouteRule;
use crate::server::session::{IdGenerator, RoutePolicy, Shared};

/// How long [`Running::stop`] waits for the listeners to close.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// Wraps each tag's attribute as the tag is added (recording it, say); an error is one line
/// naming the tag and the reason.
pub type TagHook =
    Arc<dyn Fn(&str, Arc<dyn Attribute>) -> Result<Arc<dyn Attribute>, String> + Send + Sync>;

/// A simulator that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// A tag clashes with another or with a standard object.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A tag specification (of a profile) does not parse.
    #[error(transparent)]
    Tag(#[from] TagSpecError),
    /// A hook refused a tag.
    #[error("{0}")]
    Hook(String),
    /// No such device profile.
    #[error("unknown profile {0:?} (known: powerflex750)")]
    UnknownProfile(String),
}

/// What a simulator will be; see the [module](self) documentation.
#[derive(Default)]
pub struct SimulatorBuilder {
    config: DeviceConfig,
    tags: Vec<TagSpec>,
    attributes: Vec<(String, Arc<dyn Attribute>)>,
    route: RoutePolicy,
    routes: Vec<RouteRule>,
    profile: Option<String>,
    delay: Option<(f64, f64)>,
    control: Option<Arc<ServerControl>>,
    statistics: bool,
    hook: Option<TagHook>,
    print: bool,
    connections: Option<Arc<cpppo_net::conn::Tracker>>,
    io: Option<IoSettings>,
}

impl SimulatorBuilder {
    /// A simulator with the default standard objects and no tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// Standard object values (Identity, TCP/IP, ...).
    pub fn config(mut self, config: DeviceConfig) -> Self {
        self.config = config;
        self
    }

    /// Serve a tag.
    pub fn tag(mut self, spec: TagSpec) -> Self {
        self.tags.push(spec);
        self
    }

    /// Serve tags.
    pub fn tags(mut self, specs: impl IntoIterator<Item = TagSpec>) -> Self {
        self.tags.extend(specs);
        self
    }

    /// Serve a tag backed by a caller's attribute (a computed value such as
    /// [`crate::model::hooks::Clock`]); it is neither guarded by the control nor passed to the hook.
    pub fn attribute(mut self, name: &str, attribute: Arc<dyn Attribute>) -> Self {
        self.attributes.push((name.to_string(), attribute));
        self
    }

    /// Which Unconnected Send route paths are served (default: any).
    pub fn route(mut self, route: RoutePolicy) -> Self {
        self.route = route;
        self
    }

    /// Where requests for other route paths are forwarded (cpppo.cfg's `[Route]`).
    pub fn routes(mut self, routes: Vec<RouteRule>) -> Self {
        self.routes = routes;
        self
    }

    /// Simulate a device profile (see [`profile_tags`]) as a simple device: its parameters
    /// are added after the tags and only an empty route path is served.
    pub fn profile(mut self, name: &str) -> Self {
        self.profile = Some(name.to_string());
        self
    }

    /// Delay each reply by a time uniformly chosen in `lo..=hi` seconds.
    pub fn delay(mut self, delay: Option<(f64, f64)>) -> Self {
        self.delay = delay;
        self
    }

    /// Guard every tag with `control` (the web API's forced errors and live updates) and obey
    /// its switches (disable, done, delay).
    pub fn control(mut self, control: Arc<ServerControl>) -> Self {
        self.control = Some(control);
        self
    }

    /// Count requests, replies and connections into the control (what its web API shows;
    /// costs a little per request).
    pub fn statistics(mut self, on: bool) -> Self {
        self.statistics = on;
        self
    }

    /// Pass each tag's attribute through `hook` (after the control's guard).
    pub fn hook(mut self, hook: TagHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Print a summary of each client's I/O on stdout.
    pub fn print(mut self, on: bool) -> Self {
        self.print = on;
        self
    }

    /// Hold connections to these limits (idle, partial-frame and write timeouts, the
    /// connection limit); shown by the control's web API when there is one.
    pub fn connections(mut self, tracker: Arc<cpppo_net::conn::Tracker>) -> Self {
        self.connections = Some(tracker);
        self
    }

    /// Serve class 1 implicit I/O on the device's assemblies (`@4/INSTANCE/3` tags), with
    /// these settings; [`Simulator::start_io`] binds its UDP socket.
    pub fn io(mut self, settings: IoSettings) -> Self {
        self.io = Some(settings);
        self
    }

    /// Make the device: every tag added, or the first one that cannot be.
    pub fn build(mut self) -> Result<Simulator, SimulatorError> {
        if let Some(name) = self.profile.take() {
            self.tags.extend(profile_tags(&name)?);
            self.route = RoutePolicy::Exactly(Vec::new());
        }
        let mut device = Device::new(&self.config);
        for tag in &self.tags {
            let value: Arc<dyn Attribute> = Arc::new(StoredData::new(tag.ty, tag.len, tag.array));
            let attr = match &self.control {
                Some(c) => c.guard(&tag.name, value),
                None => value,
            };
            let attr = match &self.hook {
                Some(hook) => hook(&tag.name, attr).map_err(SimulatorError::Hook)?,
                None => attr,
            };
            device.add_tag_layout(&tag.name, attr, tag.address, tag.layout.clone())?;
        }
        for (name, attr) in self.attributes {
            device.add_tag_attribute(&name, attr, None)?;
        }
        if let (Some(c), Some((lo, hi))) = (&self.control, self.delay) {
            c.set_delay(lo, hi);
        }
        let device = Arc::new(device);
        let io = self.io.map(|settings| {
            let ids = Arc::new(IdGenerator::from_clock());
            Arc::new(IoHub::new(IoAdapter::new(device.clone(), settings, ids)))
        });
        if let (Some(c), Some(hub)) = (&self.control, &io) {
            let _ = c.io.set(hub.clone());
        }
        let shared = Arc::new(Shared {
            device,
            route: self.route,
            routes: self.routes,
            io,
        });
        let connections = self.connections.unwrap_or_default();
        if let Some(Ok(mut limits)) = self.control.as_ref().map(|c| c.limits.lock()) {
            *limits = Some(connections.clone());
        }
        let opts = Options {
            delay: self.delay,
            print: self.print,
            control: self.control.clone().filter(|_| self.statistics),
            connections,
        };
        Ok(Simulator {
            shared,
            opts: Arc::new(opts),
            control: self.control,
        })
    }
}

/// A built simulator, ready to serve (as often as wanted: each start serves the same device).
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
    opts: Arc<Options>,
    control: Option<Arc<ServerControl>>,
}

impl Simulator {
    /// The simulated device (its tags and objects).
    pub fn device(&self) -> &Arc<Device> {
        &self.shared.device
    }

    /// What its sessions share (device, route policy, routes).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Its class 1 I/O adapter, if it was built with one.
    pub fn io(&self) -> Option<&Arc<IoHub>> {
        self.shared.io.as_ref()
    }

    /// Serve its class 1 I/O adapter on a UDP socket bound to `addr` on the host (port 0: any
    /// free port) until `shutdown` fires; returns the bound address. An error when the
    /// simulator was built without [`SimulatorBuilder::io`] or the address cannot be bound.
    pub async fn start_io(
        &self,
        addr: SocketAddr,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<SocketAddr> {
        let hub = self.io().cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::Unsupported, "no I/O adapter configured")
        })?;
        let sock = cpppo_net::os::OsDatagram::bind(addr).await?;
        let local = cpppo_net::Datagram::local_addr(&sock)?;
        tokio::spawn(crate::runtime::io::serve_io(sock, hub, shutdown));
        Ok(local)
    }

    /// Its control, if it was built with one.
    pub fn control(&self) -> Option<&Arc<ServerControl>> {
        self.control.as_ref()
    }

    /// Serve TCP (and UDP, with `udp`, on the same port) at `addr` on the host; port 0 takes
    /// any free port, the returned [`Running::local_addr`] tells which.
    pub async fn start(&self, addr: SocketAddr, udp: bool) -> Result<Running, BindError> {
        let (bind, first) = HostBind::open(addr, udp).await?;
        let (stop, shutdown) = watch::channel(false);
        let task = self.spawn(bind, first, shutdown.clone());
        Ok(Running {
            local: bind.local_addr(),
            simulator: self.clone(),
            stop,
            shutdown,
            task,
        })
    }

    /// Serve the sockets `first` (opened by `bind`, which reopens them whenever the control
    /// re-enables the listeners) until `shutdown` is set or the control's `done`.
    pub fn spawn<B: Bind>(
        &self,
        bind: B,
        first: Bound<B>,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        if let (Some(c), Ok(local)) = (&self.control, first.0.local_addr()) {
            if let Ok(mut a) = c.address.lock() {
                *a = Some(local);
            }
        }
        tokio::spawn(serve_switchable(
            bind,
            first,
            self.shared.clone(),
            self.opts.clone(),
            self.control.clone(),
            shutdown,
        ))
    }
}

/// A simulator serving on the host.
pub struct Running {
    local: SocketAddr,
    simulator: Simulator,
    stop: watch::Sender<bool>,
    shutdown: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// The address the TCP listener (and UDP socket) is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The simulator being served.
    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// A switch that turns `true` when serving stops: tasks serving beside the simulator
    /// (its web API) end with it.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// Wait until the control's `done` is set (the web API's shutdown request); forever
    /// without a control.
    pub async fn done(&self) {
        match &self.simulator.control {
            Some(c) => {
                let _ = c.watch_done().wait_for(|d| *d).await;
            }
            None => std::future::pending().await,
        }
    }

    /// Close the listeners and every session; returns once they are closed (or after a few
    /// seconds if a session will not end).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(STOP_WAIT, self.task).await;
    }
}

/// Tag specs simulating a named device profile: each parameter of its table that lives outside
/// the Identity/TCP-IP objects becomes `Name_With_Underscores@CLASS/INSTANCE/ATTRIBUTE=TYPE`.
/// Known: `powerflex750` (an Allen-Bradley PowerFlex 750 drive).
pub fn profile_tags(name: &str) -> Result<Vec<TagSpec>, SimulatorError> {
    use crate::client::proxy::{Field, POWERFLEX_750};
    let table = match name.to_ascii_lowercase().as_str() {
        "powerflex750" | "powerflex_750" | "powerflex-750" => POWERFLEX_750,
        _ => return Err(SimulatorError::UnknownProfile(name.to_string())),
    };
    let mut seen = std::collections::HashSet::new();
    let mut specs = Vec::new();
    for param in table {
        let (Some(address), [Field::Cip(ty)]) = (param.path.strip_prefix('@'), param.fields) else {
            continue;
        };
        if address.starts_with("1/") || address.starts_with("0xF5/") || !seen.insert(address) {
            continue; // Identity and TCP/IP exist already; aliases share one attribute.
        }
        let spec = format!("{}@{address}={ty}", param.name.replace(' ', "_"));
        specs.push(TagSpec::parse(&spec)?);
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_become_tags_and_strangers_are_named() {
        let tags = profile_tags("PowerFlex750").unwrap();
        assert!(tags.iter().any(|t| t.name == "Output_Current"), "{tags:?}");
        let e = profile_tags("toaster").unwrap_err().to_string();
        assert_eq!(e, "unknown profile \"toaster\" (known: powerflex750)");
    }

    #[test]
    fn a_tag_clashing_with_another_is_refused_at_build() {
        let spec = TagSpec::parse("X=INT").unwrap();
        let e = SimulatorBuilder::new()
            .tags([spec.clone(), spec])
            .build()
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("duplicate tag name \"X\""));
    }

    use crate::client::operation::Literal;
    use crate::client::{Connector, Options as ClientOptions};

    fn simulator(control: Option<Arc<ServerControl>>) -> Simulator {
        let mut b = SimulatorBuilder::new().tag(TagSpec::parse("SCADA=INT[4]").unwrap());
        if let Some(c) = control {
            b = b.control(c).statistics(true);
        }
        b.build().unwrap()
    }

    /// A round trip through a fresh client: write `v` to SCADA[1], read it back.
    async fn round_trip(addr: SocketAddr, v: i128) -> Result<Vec<Literal>, String> {
        let mut c = Connector::connect(&addr.to_string(), ClientOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        c.write(&format!("SCADA[1]=(INT){v}"))
            .await
            .map_err(|e| e.to_string())?;
        c.read("SCADA[1]").await.map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn started_on_port_0_it_reports_its_port_serves_and_stops() {
        let running = simulator(None)
            .start("127.0.0.1:0".parse().unwrap(), true)
            .await
            .unwrap();
        let addr = running.local_addr();
        assert_ne!(addr.port(), 0);
        assert_eq!(round_trip(addr, 7).await, Ok(vec![Literal::Int(7)]));
        // UDP is served on the same port.
        let mut c = Connector::udp(&addr.to_string(), false, ClientOptions::default())
            .await
            .unwrap();
        assert!(!c.list_identity().await.unwrap().is_empty());
        running.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn the_control_closes_and_reopens_the_listeners_at_the_same_address() {
        let control = Arc::new(ServerControl::default());
        let running = simulator(Some(control.clone()))
            .start("127.0.0.1:0".parse().unwrap(), false)
            .await
            .unwrap();
        let addr = running.local_addr();
        assert_eq!(*control.address.lock().unwrap(), Some(addr));
        assert!(round_trip(addr, 1).await.is_ok());
        control.set_disabled(true);
        let closed = wait_until(|| async { tokio::net::TcpStream::connect(addr).await.is_err() });
        assert!(closed.await, "still listening after disable");
        control.set_disabled(false);
        let open = wait_until(|| async { round_trip(addr, 2).await.is_ok() });
        assert!(open.await, "not serving again after enable");
        assert!(control.stats.total_requests() > 0);
        control.set_done();
        tokio::time::timeout(Duration::from_secs(10), running.done())
            .await
            .unwrap();
        running.stop().await;
    }

    /// Whether `check` turns true within 10 s (tried every 20 ms).
    async fn wait_until<F, Fut>(check: F) -> bool
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if check().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}
