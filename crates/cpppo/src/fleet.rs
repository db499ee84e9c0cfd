//! A fleet: N EtherNet/IP controllers, each on its own userspace stack (own MAC, IP, Identity
//! serial number) on one virtual LAN, reachable from the host through a TAP or a VDE switch.
//! Devices may also (or instead) serve Modbus/TCP, each from its own registers ([`modbus`]).

pub mod modbus;

use std::net::Ipv4Addr;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use cpppo_enip::control::ServerControl;
use cpppo_enip::device::{Device, DeviceConfig};
use cpppo_enip::route::Route;
use cpppo_enip::server::{serve_datagrams, serve_listener_with, Options};
use cpppo_enip::session::{RoutePolicy, Shared};
use cpppo_enip::tagspec::TagSpec;
use cpppo_net::stack::{HostId, Net};
use cpppo_net::switch::Gateway;
pub use modbus::{ModbusTemplate, MODBUS_PORT};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fleet_web::{self, FleetDevice, WebOptions};

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
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| anyhow!("subnet {s:?} is not ADDR/PREFIX"))?;
        let addr: Ipv4Addr = a
            .parse()
            .map_err(|_| anyhow!("subnet {s:?}: {a:?} is not an IPv4 address"))?;
        let prefix: u8 = p
            .parse()
            .ok()
            .filter(|p| (8..=30).contains(p))
            .ok_or_else(|| anyhow!("subnet {s:?}: prefix {p:?} is not 8-30"))?;
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
    /// Tag specifications each device gets.
    pub tags: Vec<String>,
    /// Which Unconnected Send route paths each device serves.
    pub route: RoutePolicy,
    /// Where each device forwards routed requests (cpppo.cfg's `[Route]`), through its own
    /// stack.
    pub routes: Vec<Route>,
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
}

impl Template {
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
    ) -> anyhow::Result<Self> {
        if count == 0 {
            bail!("--devices must be at least 1");
        }
        if !template.enip && template.modbus.is_none() {
            bail!("devices serve nothing: without EtherNet/IP they need Modbus");
        }
        let last = HOST_INDEX + count;
        if subnet.host(last).is_none() {
            bail!("subnet {subnet} has no room for {count} devices after the host address");
        }
        let specs = template
            .tags
            .iter()
            .map(|t| TagSpec::parse(t).map_err(|e| anyhow!("tag {t:?}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (stop, shutdown) = watch::channel(false);
        let opts = Arc::new(Options {
            delay: template.delay,
            ..Options::default()
        });
        let mut tasks = vec![tokio::spawn(net.run())];
        let mut addresses = Vec::with_capacity(count as usize);
        let mut devices = Vec::new();
        for i in 0..count {
            let ip = subnet
                .host(HOST_INDEX + 1 + i)
                .ok_or_else(|| anyhow!("subnet {subnet} is full"))?;
            let host = net
                // The host's address is every device's gateway: with a routed TAP, clients
                // beyond the subnet (other hosts, containers) get answers through the host.
                .add_host(device_mac(ip), ip, subnet.prefix, subnet.host(HOST_INDEX))
                .with_context(|| format!("device {ip}"))?;
            if template.enip {
                let control = template.web.as_ref().map(|_| control(ip, template.delay));
                let shared = device(template, &specs, ip, subnet, i, control.as_deref())?;
                match (control, &template.web) {
                    (Some(control), Some(web)) => {
                        let serial = template.config.identity.serial.wrapping_add(i);
                        let d = FleetDevice {
                            ip,
                            serial,
                            device: shared.device.clone(),
                            control,
                        };
                        let udp = template.udp;
                        tasks.extend(fleet_web::serve(
                            &net, host, &d, shared, web, udp, &shutdown,
                        )?);
                        devices.push(d);
                    }
                    _ => tasks.extend(serve(&net, host, shared, &opts, &shutdown, template.udp)?),
                }
            }
            if let Some(m) = &template.modbus {
                tasks.push(
                    m.serve(&net, host)
                        .with_context(|| format!("device {ip}"))?,
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

/// A device's control object, reporting the device's EtherNet/IP address.
fn control(ip: Ipv4Addr, delay: Option<(f64, f64)>) -> Arc<ServerControl> {
    let c = Arc::new(ServerControl::default());
    if let Some((lo, hi)) = delay {
        c.set_delay(lo, hi);
    }
    if let Ok(mut a) = c.address.lock() {
        *a = Some((ip, ENIP_PORT).into());
    }
    c
}

fn device(
    template: &Template,
    specs: &[TagSpec],
    ip: Ipv4Addr,
    subnet: Subnet,
    i: u32,
    control: Option<&ServerControl>,
) -> anyhow::Result<Arc<Shared>> {
    let mut config = template.config.clone();
    config.identity.serial = config.identity.serial.wrapping_add(i);
    config.interface.ip_address = Some(ip);
    config.interface.network_mask = Some(subnet.mask());
    let mut device = Device::new(&config);
    for spec in specs {
        match control {
            // The web API's forced errors and live updates.
            Some(c) => {
                let value = cpppo_enip::attribute::Value::new(spec.ty, spec.len, spec.array);
                let attr = c.guard(&spec.name, Arc::new(value));
                device.add_tag_attribute(&spec.name, attr, spec.address)?;
            }
            None => device.add_tag(spec)?,
        }
    }
    Ok(Arc::new(Shared {
        device: Arc::new(device),
        route: template.route.clone(),
        routes: template.routes.clone(),
    }))
}

fn serve(
    net: &Net,
    host: HostId,
    shared: Arc<Shared>,
    opts: &Arc<Options>,
    shutdown: &watch::Receiver<bool>,
    udp: bool,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let listener = net.listen_tcp(host, ENIP_PORT)?;
    // Routed requests leave from the device's own address, over the virtual LAN.
    let mut tasks = vec![tokio::spawn(serve_listener_with(
        listener,
        shared.clone(),
        opts.clone(),
        Arc::new(net.connector(host)),
        shutdown.clone(),
    ))];
    if udp {
        let sock = net.bind_udp(host, ENIP_PORT)?;
        tasks.push(tokio::spawn(serve_datagrams(
            sock,
            shared,
            opts.clone(),
            shutdown.clone(),
        )));
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

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
