//! A fleet with its LAN, host link and web summary: what `cpppo net fleet` runs.
//!
//! The host reaches the LAN through a TAP device (routed: the subnet goes via a virtual
//! gateway the switch answers for, so the host's kernel keeps one neighbour entry however
//! many devices it talks to) or a VDE switch, or not at all.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cpppo_net::pcap::Pcap;
use cpppo_net::stack::{Buffers, Net};
use cpppo_net::tap::Tap;
use cpppo_net::vde::VdePlug;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::web::FleetWeb;
use crate::{gateway, Fleet, FleetError, Subnet, Template, GATEWAY_IP, HOST_INDEX};

/// How the host reaches the fleet's LAN.
#[derive(Debug, Clone, Default)]
pub enum HostLink {
    /// It does not (devices talk among themselves; a pcap may record them).
    #[default]
    None,
    /// Through a TAP interface of this name (created; needs root).
    Tap(String),
    /// Through the VDE switch with this control directory.
    Vde(PathBuf),
}

/// The fleet's LAN and everything around its devices.
#[derive(Debug, Clone)]
pub struct LanOptions {
    /// The LAN's subnet: the host takes its first address, devices the following ones.
    pub subnet: Subnet,
    /// How many devices.
    pub devices: u32,
    /// TCP buffers and MTU of every stack (the MTU is also the TAP's).
    pub buffers: Buffers,
    /// Capture every frame of the LAN into this pcap file.
    pub pcap: Option<PathBuf>,
    /// How the host reaches the LAN.
    pub link: HostLink,
    /// Serve the fleet's web summary on the host at this address (port 0: any).
    pub web: Option<SocketAddr>,
}

/// A fleet serving, with its host link and web summary.
pub struct Running {
    /// The devices.
    pub fleet: Fleet,
    /// How the host reaches the LAN, as a sentence for the ready line.
    pub via: String,
    /// Where the web summary is served.
    pub web: Option<SocketAddr>,
    /// How long starting the devices took.
    pub started: Duration,
    links: Vec<JoinHandle<std::io::Result<()>>>,
    web_stop: watch::Sender<bool>,
}

/// Make the LAN, link the host to it, start the devices and the web summary.
pub async fn start(lan: &LanOptions, template: &Template) -> Result<Running, FleetError> {
    let net = Net::new(lan.buffers);
    if let Some(path) = &lan.pcap {
        let pcap =
            Pcap::create(path).map_err(FleetError::io(format!("--pcap {}", path.display())))?;
        net.capture(pcap);
    }
    let (via, links) = link(&net, lan)?;
    let begun = Instant::now();
    let fleet = Fleet::start(net, lan.subnet, lan.devices, template)?;
    let started = begun.elapsed();
    let (web_stop, web_shutdown) = watch::channel(false);
    let web = match lan.web {
        Some(addr) => {
            let summary = FleetWeb {
                subnet: lan.subnet,
                via: via.clone(),
                udp: template.udp,
                devices: fleet.devices.clone(),
                options: template.web.clone().unwrap_or_default(),
            };
            Some(crate::web::start(addr, summary, web_shutdown).await?)
        }
        None => None,
    };
    Ok(Running {
        fleet,
        via,
        web,
        started,
        links,
        web_stop,
    })
}

impl Running {
    /// Wait until the host link fails or closes (forever without one): why.
    pub async fn link_failure(&mut self) -> FleetError {
        if self.links.is_empty() {
            std::future::pending::<()>().await;
        }
        let links = &mut self.links;
        let done = std::future::poll_fn(|cx| {
            for t in links.iter_mut() {
                if let std::task::Poll::Ready(r) = std::pin::Pin::new(t).poll(cx) {
                    return std::task::Poll::Ready(r);
                }
            }
            std::task::Poll::Pending
        })
        .await;
        FleetError::Link(match done {
            Ok(Ok(())) => "host link closed".into(),
            Ok(Err(e)) => format!("host link failed: {e}"),
            Err(e) => format!("host link task: {e}"),
        })
    }

    /// Stop the web summary, the devices and the host link.
    pub async fn stop(self) {
        let _ = self.web_stop.send(true);
        self.fleet.stop().await;
        for l in self.links {
            l.abort();
        }
    }
}

type Links = (String, Vec<JoinHandle<std::io::Result<()>>>);

/// Attach the host link: how the host reaches the LAN (a sentence) and the link's task.
fn link(net: &Net, lan: &LanOptions) -> Result<Links, FleetError> {
    let host_ip = lan
        .subnet
        .host(HOST_INDEX)
        .ok_or_else(|| FleetError::Invalid(format!("subnet {} too small", lan.subnet)))?;
    match &lan.link {
        HostLink::None => Ok(("no host link".into(), Vec::new())),
        HostLink::Tap(name) => {
            let tap = Tap::open(name).map_err(FleetError::io(format!("TAP {name}")))?;
            // Routed, not connected: the host's kernel keeps one neighbour entry (the
            // gateway's) however many devices it talks to; the switch stands in for it.
            net.set_gateway(gateway(lan.subnet, host_ip));
            let mtu = lan.buffers.mtu.to_string();
            ip(&["link", "set", "dev", name, "mtu", &mtu, "up"])?;
            ip(&["addr", "replace", &format!("{host_ip}/32"), "dev", name])?;
            let (subnet, gw, src) = (
                lan.subnet.to_string(),
                GATEWAY_IP.to_string(),
                host_ip.to_string(),
            );
            ip(&[
                "route", "replace", &subnet, "via", &gw, "dev", name, "onlink", "src", &src,
            ])?;
            let via = format!("host {host_ip} on TAP {name} via gateway {GATEWAY_IP}");
            Ok((via, vec![tokio::spawn(tap.attach(net.clone()))]))
        }
        HostLink::Vde(dir) => {
            let plug = VdePlug::connect(dir, "cpppo net fleet")
                .map_err(FleetError::io(format!("VDE switch {}", dir.display())))?;
            let via = format!("VDE switch {}", dir.display());
            Ok((via, vec![tokio::spawn(plug.attach(net.clone()))]))
        }
    }
}

/// Run the `ip` tool (iproute2) with `args`; what it says on failure is the error.
pub fn ip(args: &[&str]) -> Result<(), FleetError> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(FleetError::io("cannot run the `ip` tool (iproute2)"))?;
    if !out.status.success() {
        return Err(FleetError::Ip {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}
