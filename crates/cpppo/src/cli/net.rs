//! `cpppo net ...`: the Internet of Threads tools.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{anyhow, bail, Context};
use clap::{ArgAction, Args, Subcommand};
use cpppo_enip::device::DeviceConfig;
use cpppo_net::pcap::Pcap;
use cpppo_net::stack::{Buffers, Net};
use cpppo_net::tap::{Tap, TUN_PATH};
use cpppo_net::vde::VdePlug;

use crate::cli::logging;
use crate::fleet::{gateway, Fleet, Subnet, Template, GATEWAY_IP, HOST_INDEX};

/// The Internet-of-Threads verbs.
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Run a fleet of simulated devices, each at its own IP on a virtual Ethernet.
    Fleet(FleetArgs),
    /// Run an unmodified program at its own IP in its own network namespace.
    Run(RunArgs),
}

/// Tags of each device when none are given.
const DEFAULT_TAGS: &[&str] = &["SCADA=INT[100]", "FLOAT=REAL", "COUNTS=DINT[10]"];

/// Arguments of `cpppo net fleet`.
#[derive(Debug, Args)]
#[command(
    after_help = "Addresses: the subnet's first host address is the host's (given to the TAP as a /32, \
with a route to the subnet via the virtual gateway 169.254.44.18 the fleet answers for); devices take \
the following ones, MAC 02:00:<IP>, Identity serial numbers counting up from --serial.\n\n\
Examples:\n  cpppo net fleet --devices 1000 --subnet 10.1.0.0/16 --tap fleet0\n  \
cpppo net fleet --devices 50 --subnet 10.2.0.0/24 --vde /tmp/vde.ctl --pcap lan.pcap SCADA=INT[10]"
)]
pub struct FleetArgs {
    /// Tags every device serves (NAME=TYPE[LEN]); default SCADA=INT[100] FLOAT=REAL COUNTS=DINT[10].
    tags: Vec<String>,
    /// Number of devices.
    #[arg(short = 'n', long, default_value_t = 1)]
    devices: u32,
    /// The virtual LAN's subnet, ADDR/PREFIX.
    #[arg(short, long, value_name = "CIDR")]
    subnet: String,
    /// Reach the LAN from the host through this TAP interface (created; the subnet is routed
    /// via a virtual gateway, so the host needs one neighbour entry; needs root).
    #[arg(long, value_name = "NAME", conflicts_with = "vde")]
    tap: Option<String>,
    /// Plug the LAN into the VDE switch with this control directory.
    #[arg(long, value_name = "DIR")]
    vde: Option<PathBuf>,
    /// Capture every frame of the LAN into this pcap file.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// TCP send and receive buffer of each connection, bytes (the TCP window: larger buffers
    /// speed up pipelined clients and cost memory per connection).
    #[arg(long, default_value_t = 4096, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1024..=1_048_576))]
    tcp_buffer: u32,
    /// Identity serial number of the first device (the others count up).
    #[arg(long, default_value_t = 1)]
    serial: u32,
    /// Identity product name.
    #[arg(long)]
    product_name: Option<String>,
    /// Simulate simple (non-routing) devices.
    #[arg(short = 'S', long)]
    simple: bool,
    /// Do not serve UDP.
    #[arg(short = 'U', long)]
    no_udp: bool,
    /// More logging (repeat for more).
    #[arg(short, long, action = ArgAction::Count)]
    verbose: u8,
    /// Log to FILE (rotated) instead of stderr.
    #[arg(short, long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// Arguments of `cpppo net run`.
#[derive(Debug, Args)]
#[command(
    after_help = "The program runs in a new network namespace with one veth interface at \
ADDR/PREFIX; its other end joins --bridge (or, without one, gets a host route to ADDR). \
Everything is removed when the program exits. Needs root.\n\n\
Example:\n  cpppo net run --ip 10.77.0.2/24 --bridge br0 -- python3 -m http.server 8000"
)]
pub struct RunArgs {
    /// The program's address, ADDR/PREFIX.
    #[arg(long, value_name = "ADDR/PREFIX")]
    ip: String,
    /// Join this existing bridge.
    #[arg(long, value_name = "BR", conflicts_with = "vde")]
    bridge: Option<String>,
    /// Plug into the VDE switch with this control directory (through vde_plug2tap).
    #[arg(long, value_name = "DIR")]
    vde: Option<PathBuf>,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    program: Vec<String>,
}

/// Run one Internet-of-Threads verb.
pub fn run(cmd: NetCommand) -> ExitCode {
    match cmd {
        NetCommand::Fleet(args) => fleet(args),
        NetCommand::Run(args) => netrun(args),
    }
}

use cpppo_net::sys::is_root;

/// Refusals for missing privileges or devices: one line, exit code 2.
fn refuse(verb: &str, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("cpppo net {verb}: {e}");
    ExitCode::from(2)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn fleet(args: FleetArgs) -> ExitCode {
    if let Err(e) = logging::init(args.verbose, args.log.as_deref()) {
        return refuse("fleet", format!("log file: {e}"));
    }
    let subnet = match Subnet::parse(&args.subnet) {
        Ok(s) => s,
        Err(e) => return refuse("fleet", format!("--subnet: {e}")),
    };
    if args.tap.is_some() {
        if !is_root() {
            return refuse("fleet", "--tap needs root (CAP_NET_ADMIN)");
        }
        if !std::path::Path::new(TUN_PATH).exists() {
            return refuse("fleet", format!("--tap needs {TUN_PATH}, which is missing"));
        }
    }
    if let Some(dir) = &args.vde {
        if !dir.join("ctl").exists() {
            return refuse(
                "fleet",
                format!(
                    "no VDE switch at {} (start one: vde_switch -s {} -d)",
                    dir.display(),
                    dir.display()
                ),
            );
        }
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return refuse("fleet", e),
    };
    match rt.block_on(serve_fleet(args, subnet)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => refuse("fleet", format!("{e:#}")),
    }
}

fn template(args: &FleetArgs) -> Template {
    let mut config = DeviceConfig::default();
    config.identity.serial = args.serial;
    if let Some(name) = &args.product_name {
        config.identity.product_name = name.clone();
    }
    let tags = if args.tags.is_empty() {
        DEFAULT_TAGS.iter().map(|s| s.to_string()).collect()
    } else {
        args.tags.clone()
    };
    Template {
        config,
        tags,
        simple: args.simple,
        udp: !args.no_udp,
    }
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run the `ip` tool (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

async fn serve_fleet(args: FleetArgs, subnet: Subnet) -> anyhow::Result<()> {
    let net = Net::new(Buffers {
        tcp_rx: args.tcp_buffer as usize,
        tcp_tx: args.tcp_buffer as usize,
        ..Buffers::default()
    });
    if let Some(path) = &args.pcap {
        let pcap = Pcap::create(path).with_context(|| format!("--pcap {}", path.display()))?;
        net.capture(pcap);
    }
    let host_ip = subnet
        .host(HOST_INDEX)
        .ok_or_else(|| anyhow!("subnet {subnet} too small"))?;
    let mut links = Vec::new();
    let mut via = String::from("no host link");
    if let Some(name) = &args.tap {
        let tap = Tap::open(name)?;
        // Routed, not connected: the host's kernel keeps one neighbour entry (the gateway's)
        // however many devices it talks to; the switch stands in for the gateway.
        net.set_gateway(gateway(subnet, host_ip));
        ip(&["link", "set", "dev", name, "up"])?;
        ip(&["addr", "replace", &format!("{host_ip}/32"), "dev", name])?;
        ip(&[
            "route",
            "replace",
            &subnet.to_string(),
            "via",
            &GATEWAY_IP.to_string(),
            "dev",
            name,
            "onlink",
            "src",
            &host_ip.to_string(),
        ])?;
        via = format!("host {host_ip} on TAP {name} via gateway {GATEWAY_IP}");
        links.push(tokio::spawn(tap.attach(net.clone())));
    }
    if let Some(dir) = &args.vde {
        let plug = VdePlug::connect(dir, "cpppo net fleet")?;
        via = format!("VDE switch {}", dir.display());
        links.push(tokio::spawn(plug.attach(net.clone())));
    }
    let started = std::time::Instant::now();
    let fleet = Fleet::start(net, subnet, args.devices, &template(&args))?;
    let first = fleet.addresses.first().copied();
    let last = fleet.addresses.last().copied();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Success; Started fleet of {} devices on {subnet}; PID = {}",
            fleet.addresses.len(),
            std::process::id()
        );
        if let (Some(first), Some(last)) = (first, last) {
            let _ = writeln!(
                out,
                "devices {first} - {last} (TCP+UDP 44818), Identity serial {} up, {via}, started in {:.3} s",
                args.serial,
                started.elapsed().as_secs_f64()
            );
        }
        let _ = out.flush();
    }
    let result = tokio::select! {
        r = wait_for_signal() => r,
        r = first_link_failure(&mut links) => r,
    };
    fleet.stop().await;
    for l in links {
        l.abort();
    }
    result
}

async fn first_link_failure(
    links: &mut [tokio::task::JoinHandle<std::io::Result<()>>],
) -> anyhow::Result<()> {
    if links.is_empty() {
        std::future::pending::<()>().await;
    }
    let (done, _, _) = futures_select_all(links).await;
    match done {
        Ok(Ok(())) => Err(anyhow!("host link closed")),
        Ok(Err(e)) => Err(anyhow!("host link failed: {e}")),
        Err(e) => Err(anyhow!("host link task: {e}")),
    }
}

/// Wait for the first of `tasks` to finish (without an extra crate).
async fn futures_select_all<T>(
    tasks: &mut [tokio::task::JoinHandle<T>],
) -> (Result<T, tokio::task::JoinError>, usize, ()) {
    std::future::poll_fn(|cx| {
        for (i, t) in tasks.iter_mut().enumerate() {
            if let std::task::Poll::Ready(r) = std::pin::Pin::new(t).poll(cx) {
                return std::task::Poll::Ready((r, i, ()));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    Ok(())
}

fn netrun(args: RunArgs) -> ExitCode {
    let (addr, prefix) = match parse_ip(&args.ip) {
        Ok(v) => v,
        Err(e) => return refuse("run", e),
    };
    if !is_root() {
        return refuse(
            "run",
            "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces)",
        );
    }
    if args.vde.is_some() && !on_path("vde_plug2tap") {
        return refuse(
            "run",
            "--vde needs vde_plug2tap (Debian package vde2), which is absent",
        );
    }
    let pid = std::process::id();
    let names = Names {
        ns: format!("cpppo-run-{pid}"),
        host: format!("cpr{pid}h"),
        peer: format!("cpr{pid}p"),
    };
    let mut plug = None;
    let result = setup(&names, &args, &addr, prefix, &mut plug).and_then(supervise);
    if let Some(mut plug) = plug {
        let _ = cpppo_net::sys::terminate(plug.id());
        let _ = plug.wait();
    }
    names.cleanup();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => refuse("run", format!("{e:#}")),
    }
}

struct Names {
    ns: String,
    host: String,
    peer: String,
}

impl Names {
    fn cleanup(&self) {
        // Deleting the namespace removes the veth pair (and the TAP inside) with it.
        let _ = ip(&["link", "del", &self.host]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

fn parse_ip(s: &str) -> anyhow::Result<(String, u8)> {
    let (a, p) = s
        .split_once('/')
        .ok_or_else(|| anyhow!("--ip {s:?} is not ADDR/PREFIX"))?;
    let addr: std::net::Ipv4Addr = a
        .parse()
        .map_err(|_| anyhow!("--ip {s:?}: {a:?} is not an IPv4 address"))?;
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| anyhow!("--ip {s:?}: prefix {p:?} is not 0-32"))?;
    Ok((addr.to_string(), prefix))
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

fn setup(
    n: &Names,
    args: &RunArgs,
    addr: &str,
    prefix: u8,
    plug: &mut Option<std::process::Child>,
) -> anyhow::Result<std::process::Child> {
    let cidr = format!("{addr}/{prefix}");
    ip(&["netns", "add", &n.ns])?;
    ip(&["-n", &n.ns, "link", "set", "lo", "up"])?;
    if let Some(dir) = &args.vde {
        let tap = "vde0";
        ip(&["-n", &n.ns, "tuntap", "add", "dev", tap, "mode", "tap"])?;
        ip(&["-n", &n.ns, "addr", "add", &cidr, "dev", tap])?;
        ip(&["-n", &n.ns, "link", "set", tap, "up"])?;
        let dir = dir.to_string_lossy();
        *plug = Some(
            Command::new("ip")
                .args(["netns", "exec", &n.ns, "vde_plug2tap", "-s", &dir, tap])
                .stdin(Stdio::null())
                .spawn()
                .context("cannot start vde_plug2tap")?,
        );
    } else {
        ip(&[
            "link", "add", &n.host, "type", "veth", "peer", "name", &n.peer,
        ])?;
        ip(&["link", "set", &n.peer, "netns", &n.ns])?;
        ip(&["-n", &n.ns, "addr", "add", &cidr, "dev", &n.peer])?;
        ip(&["-n", &n.ns, "link", "set", &n.peer, "up"])?;
        match &args.bridge {
            Some(br) => ip(&["link", "set", &n.host, "master", br])?,
            None => {
                ip(&["-n", &n.ns, "route", "add", "default", "dev", &n.peer])?;
                ip(&["link", "set", &n.host, "up"])?;
                ip(&["route", "add", &format!("{addr}/32"), "dev", &n.host])?;
            }
        }
        ip(&["link", "set", &n.host, "up"])?;
    }
    let (program, rest) = args
        .program
        .split_first()
        .ok_or_else(|| anyhow!("no program given"))?;
    Command::new("ip")
        .args(["netns", "exec", &n.ns, program])
        .args(rest)
        .spawn()
        .with_context(|| format!("cannot run {program:?}"))
}

/// Wait for the program; a SIGINT/SIGTERM to us is passed on to it. Its exit code.
fn supervise(mut child: std::process::Child) -> anyhow::Result<u8> {
    let rt = runtime()?;
    let pid = child.id();
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(exit_code(status));
            }
            let stop = tokio::select! {
                _ = term.recv() => true,
                _ = int.recv() => true,
                _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => false,
            };
            if stop {
                let _ = cpppo_net::sys::terminate(pid);
            }
        }
    })
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c.clamp(0, 255) as u8,
        (None, Some(s)) => (128 + s).clamp(0, 255) as u8,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_address_parses() {
        assert_eq!(parse_ip("10.0.0.2/24").unwrap(), ("10.0.0.2".into(), 24));
        assert!(parse_ip("10.0.0.2").is_err());
        assert!(parse_ip("10.0.0.2/33").is_err());
        assert!(parse_ip("host/24").is_err());
    }
}
