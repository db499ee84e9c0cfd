//! cpppo-rs's Internet of Threads: a fleet of N EtherNet/IP controllers, each on its own
//! userspace stack (own MAC, IP, Identity serial number) on one virtual LAN, reachable from the
//! host through a TAP or a VDE switch ([`link`]). Devices may also (or instead) serve
//! Modbus/TCP, each from its own registers ([`modbus`]); a web server on the host summarises
//! them and hands each device's web API its requests ([`web`]).
#![deny(missing_docs)]

pub mod link;
pub mod modbus;
pub mod web;

use std::net::Ipv4Addr;
use std::sync::Arc;

use cpppo_cip::io::IO_PORT;
use cpppo_enip::model::config::IoConfig;
use cpppo_enip::model::device::DeviceConfig;
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::control::ServerControl;
use cpppo_enip::runtime::io::serve_io;
use cpppo_enip::runtime::simulator::{SimulatorBuilder, SimulatorError};
use cpppo_enip::runtime::switchable::StackBind;
use cpppo_enip::server::io_plan::configured_settings;
use cpppo_enip::server::route::RouteRule;
use cpppo_enip::server::session::RoutePolicy;
use cpppo_net::stack::{HostId, Net};
use cpppo_net::switch::Gateway;
pub use link::{start, HostLink, LanOptions, Running};
pub use modbus::{ModbusTemplate, MODBUS_PORT};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::web::{FleetDevice, WebOptions};

/// Why a fleet cannot be made or run; each names what was wrong in one line.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A bad subnet, device count, template or register range.
    #[error("{0}")]
    Invalid(String),
    /// An operation on a socket, file, device or tool failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        error: std::io::Error,
    },
    /// The `ip` tool refused a command.
    #[error("ip {command}: {stderr}")]
    Ip {
        /// Its arguments.
        command: String,
        /// What it said.
        stderr: String,
    },
    /// A device's simulator cannot be built.
    #[error(transparent)]
    Simulator(#[from] SimulatorError),
    /// The host link ended.
    #[error("{0}")]
    Link(String),
}

impl FleetError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |error| Self::Io { what, error }
    }
}

fn invalid(msg: String) -> FleetError {
    FleetError::Invalid(msg)
}

/// The EtherNet/IP port every device serves (TCP and UDP).
pub const ENIP_PORT: u16 = 44818;

/// An IPv4 subnet, `ADDR/PREFIX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The network address (host bits cleared).
    pub network: Ipv4Addr,
    /// The prefix length, 8-30.
    pub prefix: u8,
}

impl Subnet {
    /// Parse `ADDR/PREFIX` (prefix 8-30: room for a host address and devices).
    pub fn parse(s: &str) -> Result<Self, FleetError> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| invalid(format!("subnet {s:?} is not ADDR/PREFIX")))?;
        let addr: Ipv4Addr = a
            .parse()
            .map_err(|_| invalid(format!("subnet {s:?}: {a:?} is not an IPv4 address")))?;
        let prefix: u8 = p
            .parse()
            .ok()
            .filter(|p| (8..=30).contains(p))
            .ok_or_else(|| invalid(format!("subnet {s:?}: prefix {p:?} is not 8-30")))?;
        let mask = u32::MAX << (32 - prefix);
        Ok(Self {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    /// The netmask.
    pub fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::MAX << (32 - self.prefix))
    }

    /// The subnet's broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !(u32::MAX << (32 - self.prefix)))
    }

    /// The `n`th host address (1 is the first), if inside the subnet and not its broadcast.
    pub fn host(&self, n: u32) -> Option<Ipv4Addr> {
        let size = 1u64 << (32 - self.prefix);
        (n >= 1 && u64::from(n) < size - 1)
            .then(|| Ipv4Addr::from(u32::from(self.network).wrapping_add(n)))
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// What every device of the fleet looks like.
#[derive(Debug, Clone)]
pub struct Template {
    /// Standard object values (the Identity serial number is the first device's).
    pub config: DeviceConfig,
    /// Tags each device serves.
    pub tags: Vec<TagSpec>,
    /// Which Unconnected Send route paths each device serves.
    pub route: RoutePolicy,
    /// Where each device forwards routed requests (cpppo.cfg's `[Route]`), through its own
    /// stack.
    pub routes: Vec<RouteRule>,
    /// Delay each reply by this many seconds (uniform in the range).
    pub delay: Option<(f64, f64)>,
    /// Also answer UDP (List Identity broadcasts).
    pub udp: bool,
    /// Serve EtherNet/IP (off for Modbus-only fleets).
    pub enip: bool,
    /// Serve Modbus/TCP with these registers.
    pub modbus: Option<ModbusTemplate>,
    /// Web APIs: each device gets counters and live switches ([`ServerControl`]).
    pub web: Option<WebOptions>,
    /// Every device's class 1 adapter options (cpppo.cfg's `[I/O]`: RPI range, connection
    /// limit, multicast group, Input Only / Listen Only heartbeat points). Its `Address` is
    /// not read: each device serves I/O on UDP 2222 at its own address.
    pub io: IoConfig,
}

impl Template {
    /// Devices serving `tags` over EtherNet/IP (TCP and UDP, every route path), with the
    /// default identity and `[I/O]`, no delay, no Modbus and no web API.
    pub fn serving(tags: Vec<TagSpec>) -> Template {
        Template {
            config: DeviceConfig::default(),
            tags,
            route: RoutePolicy::default(),
            routes: Vec::new(),
            delay: None,
            udp: true,
            enip: true,
            modbus: None,
            web: None,
            io: IoConfig::default(),
        }
    }

    /// What each device serves, for the ready line: `EtherNet/IP TCP+UDP 44818, Modbus/TCP 502`.
    pub fn protocols(&self) -> String {
        let mut served = Vec::new();
        if self.enip {
            let udp = if self.udp { "+UDP" } else { "" };
            served.push(format!("EtherNet/IP TCP{udp} {ENIP_PORT}"));
        }
        if self.modbus.is_some() {
            served.push(format!("Modbus/TCP {MODBUS_PORT}"));
        }
        served.join(", ")
    }
}

/// The address the host side takes (the subnet's first); devices follow it.
pub const HOST_INDEX: u32 = 1;

/// The virtual gateway the host routes the subnet through with `--tap`: link-local, so it
/// takes no address of the subnet and clashes with no device (the switch answers for it).
pub const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(169, 254, 44, 18);

/// The gateway's MAC: locally administered, unicast, "cpppo" (no device MAC starts 02:63).
pub const GATEWAY_MAC: [u8; 6] = [0x02, 0x63, 0x70, 0x70, 0x70, 0x6f];

/// The switch's stand-in router between the host (at `host`) and the devices of `subnet`.
pub fn gateway(subnet: Subnet, host: Ipv4Addr) -> Gateway {
    Gateway {
        ip: GATEWAY_IP,
        mac: GATEWAY_MAC,
        host,
        broadcast: subnet.broadcast(),
    }
}

/// The MAC of the device at `ip`: locally administered, unicast, the IP in the low 4 bytes.
pub fn device_mac(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x00, o[0], o[1], o[2], o[3]]
}

/// A running fleet.
pub struct Fleet {
    /// The virtual LAN.
    pub net: Net,
    /// Each device's address, in order.
    pub addresses: Vec<Ipv4Addr>,
    /// Each device with its control, in order (only with [`Template::web`]).
    pub devices: Arc<[FleetDevice]>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Build `count` devices on `subnet` (addresses from the second host address on) and start
    /// serving; the LAN's driver runs as a task. Call inside a tokio runtime.
    pub fn start(
        net: Net,
        subnet: Subnet,
        count: u32,
        template: &Template,
    ) -> Result<Self, FleetError> {
        if count == 0 {
            return Err(invalid("--devices must be at least 1".into()));
        }
        if !template.enip && template.modbus.is_none() {
            return Err(invalid(
                "devices serve nothing: without EtherNet/IP they need Modbus".into(),
            ));
        }
        let last = HOST_INDEX + count;
        if subnet.host(last).is_none() {
            return Err(invalid(format!(
                "subnet {subnet} has no room for {count} devices after the host address"
            )));
        }
        let (stop, shutdown) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(net.run())];
        let mut addresses = Vec::with_capacity(count as usize);
        let mut devices = Vec::new();
        for i in 0..count {
            let ip = subnet
                .host(HOST_INDEX + 1 + i)
                .ok_or_else(|| invalid(format!("subnet {subnet} is full")))?;
            let host = net
                // The host's address is every device's gateway: with a routed TAP, clients
                // beyond the subnet (other hosts, containers) get answers through the host.
                .add_host(device_mac(ip), ip, subnet.prefix, subnet.host(HOST_INDEX))
                .map_err(FleetError::io(format!("device {ip}")))?;
            if template.enip {
                let device = serve_enip(&net, host, ip, subnet, i, template, &shutdown)?;
                tasks.extend(device.1);
                devices.extend(device.0);
            }
            if let Some(m) = &template.modbus {
                tasks.push(
                    m.serve(&net, host)
                        .map_err(FleetError::io(format!("device {ip}")))?,
                );
            }
            addresses.push(ip);
        }
        Ok(Self {
            net,
            addresses,
            devices: devices.into(),
            stop,
            tasks,
        })
    }

    /// Stop serving and the driver.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.net.flush_capture();
    }
}

/// Serve device `i` of the fleet (at `ip`) on `host`'s port 44818: its web-visible form, if
/// the template has web APIs, and its tasks.
fn serve_enip(
    net: &Net,
    host: HostId,
    ip: Ipv4Addr,
    subnet: Subnet,
    i: u32,
    template: &Template,
    shutdown: &watch::Receiver<bool>,
) -> Result<(Option<FleetDevice>, Vec<JoinHandle<()>>), FleetError> {
    let mut config = template.config.clone();
    config.identity.serial = config.identity.serial.wrapping_add(i);
    config.interface.ip_address = Some(ip);
    config.interface.network_mask = Some(subnet.mask());
    let serial = config.identity.serial;
    // Every device is a class 1 adapter on UDP 2222 at its own address (its assembly tags).
    let io = configured_settings(ip, subnet.mask(), &template.io);
    let mut builder = SimulatorBuilder::new()
        .config(config)
        .tags(template.tags.iter().cloned())
        .route(template.route.clone())
        .routes(template.routes.clone())
        .delay(template.delay)
        .io(io);
    // Counters and live switches (and guarded tags) only for the web APIs.
    let control = template
        .web
        .as_ref()
        .map(|_| Arc::new(ServerControl::default()));
    if let Some(c) = &control {
        builder = builder.control(c.clone()).statistics(true);
    }
    let simulator = builder.build()?;
    // Routed requests leave from the device's own address, over the virtual LAN.
    let bind = StackBind {
        net: net.clone(),
        host,
        port: ENIP_PORT,
    };
    let first = bind
        .open(template.udp)
        .map_err(FleetError::io(format!("device {ip}")))?;
    let mut tasks = vec![simulator.spawn(bind, first, shutdown.clone())];
    if let Some(hub) = simulator.io().cloned() {
        let sock = net
            .bind_udp(host, IO_PORT)
            .map_err(FleetError::io(format!("device {ip} I/O")))?;
        tasks.push(tokio::spawn(serve_io(sock, hub, shutdown.clone())));
    }
    let device = match (control, &template.web) {
        (Some(control), Some(web)) => {
            let d = FleetDevice {
                ip,
                serial,
                device: simulator.device().clone(),
                control,
            };
            if let Some(port) = web.device_port {
                let token = web.token.as_ref();
                tasks.push(web::serve_device(net, host, &d, port, token, shutdown)?);
            }
            Some(d)
        }
        _ => None,
    };
    Ok((device, tasks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpppo_net::Connector as _;
    use std::time::Duration;

    /// Whether a TCP connection from `client` to `addr` is accepted within a second.
    async fn accepts(net: &Net, client: HostId, addr: &str) -> bool {
        let connector = net.connector(client);
        let connect = connector.connect(addr);
        matches!(
            tokio::time::timeout(Duration::from_secs(1), connect).await,
            Ok(Ok(_))
        )
    }

    /// Whether `accepts` turns `want` within 10 s.
    async fn turns(net: &Net, client: HostId, addr: &str, want: bool) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if accepts(net, client, addr).await == want {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_device_closes_and_reopens_its_listeners_as_its_control_says() {
        let net = Net::default();
        let subnet = Subnet::parse("10.5.0.0/24").unwrap();
        let template = Template {
            web: Some(WebOptions::default()),
            ..Template::serving(vec![TagSpec::parse("SCADA=INT[4]").unwrap()])
        };
        let fleet = Fleet::start(net.clone(), subnet, 2, &template).unwrap();
        let me = Ipv4Addr::new(10, 5, 0, 200);
        let client = net.add_host(device_mac(me), me, 24, None).unwrap();
        assert!(turns(&net, client, "10.5.0.2:44818", true).await);
        assert!(turns(&net, client, "10.5.0.3:44818", true).await);
        let first = &fleet.devices[0];
        assert_eq!(first.serial, template.config.identity.serial);
        assert_eq!(fleet.devices[1].serial, first.serial.wrapping_add(1));
        assert_eq!(
            *first.control.address.lock().unwrap(),
            Some("10.5.0.2:44818".parse().unwrap())
        );
        first.control.set_disabled(true);
        assert!(
            turns(&net, client, "10.5.0.2:44818", false).await,
            "still open"
        );
        // The other device is not affected.
        assert!(turns(&net, client, "10.5.0.3:44818", true).await);
        first.control.set_disabled(false);
        assert!(
            turns(&net, client, "10.5.0.2:44818", true).await,
            "not reopened"
        );
        fleet.stop().await;
    }

    #[test]
    fn subnets_parse_and_number_hosts() {
        let s = Subnet::parse("10.1.2.3/16").unwrap();
        assert_eq!(s.network, Ipv4Addr::new(10, 1, 0, 0));
        assert_eq!(s.host(1), Some(Ipv4Addr::new(10, 1, 0, 1)));
        assert_eq!(s.host(65534), Some(Ipv4Addr::new(10, 1, 255, 254)));
        assert_eq!(s.host(65535), None);
        assert_eq!(s.mask(), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 1, 255, 255));
        assert_eq!(
            Subnet::parse("10.60.1.0/21").unwrap().broadcast(),
            Ipv4Addr::new(10, 60, 7, 255)
        );
        for bad in ["10.1.0.0", "10.1.0.0/31", "10.1.0/16", "x/8", "10.0.0.0/y"] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(device_mac(Ipv4Addr::new(10, 1, 0, 2)), [2, 0, 10, 1, 0, 2]);
    }
}
