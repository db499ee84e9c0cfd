//! `cpppo net ...`: the Internet of Threads tools.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{anyhow, bail, Context};
use clap::{ArgAction, Args, Subcommand};
use cpppo_enip::model::config::{parse_route_path, Config, IoConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::tag_sources::tag_sources;
use cpppo_enip::server::session::RoutePolicy;
use cpppo_fleet::link::ip;
use cpppo_fleet::web::WebOptions;
use cpppo_fleet::{HostLink, LanOptions, ModbusTemplate, Subnet, Template, ENIP_PORT};
use cpppo_net::stack::Buffers;
use cpppo_net::tap::TUN_PATH;

use crate::cli::enip::server::{parse_delay, profile_tags, HeartbeatArgs};
use crate::cli::{logging, net_vde};

/// The Internet-of-Threads verbs.
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Run a fleet of simulated devices, each at its own IP on a virtual Ethernet.
    Fleet(Box<FleetArgs>),
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
Modbus: --modbus serves Modbus/TCP on port 502 of every device too, each device with its own \
registers (--modbus-registers RANGE, repeatable, as `cpppo modbus sim` takes them; default 100 \
each of coils, discrete inputs, input and holding registers, all 0); --no-enip leaves only Modbus.\n\n\
Examples:\n  cpppo net fleet --devices 1000 --subnet 10.1.0.0/16 --tap fleet0\n  \
cpppo net fleet --devices 50 --subnet 10.2.0.0/24 --vde /tmp/vde.ctl --pcap lan.pcap SCADA=INT[10]\n  \
cpppo net fleet -n 200 -s 10.3.0.0/24 --tap fleet0 --modbus\n  \
cpppo net fleet -n 500 -s 10.4.0.0/23 --tap fleet0 --no-enip --modbus-registers 1-16=1\n  \
cpppo net fleet --devices 100 --subnet 10.3.0.0/24 --tap fleet1 --web :8080 --device-web 80\n    \
(http://127.0.0.1:8080/ lists the devices; /devices/10.3.0.2/ is one device's live page and \
/devices/10.3.0.2/api/tags/SCADA its API; http://10.3.0.2/api/... the same from its own stack)"
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
    /// speed up pipelined clients and cost memory per open connection; idle devices hold none).
    #[arg(long, default_value_t = 16384, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1024..=1_048_576))]
    tcp_buffer: u32,
    /// The virtual LAN's MTU (also set on the TAP): 1500 is standard Ethernet; jumbo frames
    /// (e.g. 9000) carry more per frame and speed up busy TAP links.
    #[arg(long, default_value_t = 1500, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(576..=65521))]
    mtu: u32,
    /// Identity serial number of the first device (the others count up); default the
    /// --config file's, or 1.
    #[arg(long)]
    serial: Option<u32>,
    /// Identity product name.
    #[arg(long)]
    product_name: Option<String>,
    /// Define a Logix structure on every device (repeatable), as the server's --udt:
    /// `Motor{Speed:REAL, Running:BOOL}`; then tags `M1=Motor`, `Flags=BOOL[64]` (DWORDs).
    #[arg(long, value_name = "NAME{MEMBER:TYPE,...}")]
    udt: Vec<String>,
    /// Serve the tags (and structures) of FILE on every device: the JSON of pycomm3's
    /// `LogixDriver.tags` (as the server's -D/--defined-tags).
    #[arg(short = 'D', long, value_name = "FILE")]
    defined_tags: Option<PathBuf>,
    /// Simulate simple (non-routing) devices.
    #[arg(short = 'S', long)]
    simple: bool,
    /// Simulate a device profile on every device, as a simple device: `powerflex750`.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Read this config file (cpppo.cfg INI: Identity, TCP/IP, ..., [Route]) for every device
    /// (repeatable; a fleet reads no default config file).
    #[arg(short = 'c', long, value_name = "FILE")]
    config: Vec<PathBuf>,
    /// Serve only this Unconnected Send route path: PORT/LINK, JSON, or false/0 for none.
    #[arg(long, value_name = "PATH")]
    route_path: Option<String>,
    /// Delay each reply by SECS, or uniformly between SECS-SECS (every device).
    #[arg(short, long, value_name = "SECS[-SECS]")]
    delay: Option<String>,
    /// Do not serve UDP.
    #[arg(short = 'U', long)]
    no_udp: bool,
    /// Also serve Modbus/TCP (port 502) on every device, each with its own registers.
    #[arg(long)]
    modbus: bool,
    /// A register range of every device's Modbus store, e.g. 40001-40100=0 (repeatable;
    /// implies --modbus).
    #[arg(long = "modbus-registers", value_name = "RANGE")]
    modbus_registers: Vec<String>,
    /// TCP send and receive buffer of each Modbus connection, bytes (as --tcp-buffer).
    #[arg(long, default_value_t = 4096, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(512..=1_048_576))]
    modbus_tcp_buffer: u32,
    /// Serve no EtherNet/IP (a Modbus-only fleet; needs --modbus).
    #[arg(long)]
    no_enip: bool,
    #[command(flatten)]
    heartbeat: HeartbeatArgs,
    /// More logging (repeat for more).
    #[arg(short, long, action = ArgAction::Count)]
    verbose: u8,
    /// Log to FILE (rotated) instead of stderr.
    #[arg(short, long, value_name = "FILE")]
    log: Option<PathBuf>,
    #[command(flatten)]
    web: FleetWebArgs,
}

/// The fleet's web options.
#[derive(Debug, Args)]
pub struct FleetWebArgs {
    /// Web server on the host at [IFACE]:PORT (":PORT" alone: 127.0.0.1): a summary at /,
    /// /devices (JSON), and each device's web API and live page under /devices/<IP>/.
    #[arg(short, long, value_name = "[IFACE]:PORT")]
    web: Option<String>,
    /// Also serve each device's web API on PORT at the device's own IP (its userspace stack).
    #[arg(long, value_name = "PORT")]
    device_web: Option<u16>,
    /// Token every mutating web API request must carry; without one, web servers off loopback
    /// (device IPs always) are read-only.
    #[arg(
        long,
        env = "CPPPO_WEB_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    web_token: Option<String>,
}

impl FleetWebArgs {
    /// The devices' web options, if any web server is asked for.
    fn options(&self) -> Option<WebOptions> {
        (self.web.is_some() || self.device_web.is_some()).then(|| WebOptions {
            device_port: self.device_web,
            token: self.web_token.clone().filter(|t| !t.is_empty()),
        })
    }
}

/// Arguments of `cpppo net run`.
#[derive(Debug, Args)]
#[command(
    after_help = "The program runs in a new network namespace with one veth interface at \
ADDR/PREFIX; its other end joins --bridge (or, without one, gets a host route to ADDR). \
Or, with --vde DIR, a TAP plugged into the VDE switch at DIR (refused at once if none listens \
there; -c/--create-switch starts one at DIR for the program, as pyco-wrapper -c does, and \
removes it after). Everything is removed when the program exits. Needs root.\n\n\
Examples:\n  cpppo net run --ip 10.77.0.2/24 --bridge br0 -- python3 -m http.server 8000\n  \
cpppo net run -c --vde /tmp/plc.sw --ip 10.40.0.32/24 -- python3 plc.py"
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
    /// Start a VDE switch at the --vde directory for the program; stop and remove it after.
    #[arg(short = 'c', long)]
    create_switch: bool,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    program: Vec<String>,
}

/// Run one Internet-of-Threads verb.
pub fn run(cmd: NetCommand) -> ExitCode {
    match cmd {
        NetCommand::Fleet(args) => fleet(*args),
        NetCommand::Run(args) => netrun(args),
    }
}

use cpppo_net::sys::is_root;

/// Refusals for missing privileges or devices: one line, exit code 2.
fn refuse(verb: &str, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("cpppo net {verb}: {e}");
    ExitCode::from(2)
}

/// One thread: every stack of a fleet sits behind one lock and frames are switched in the
/// sender's task, so worker threads would mostly wake each other and contend (measured:
/// lock-step Read Tag through a TAP device 3-4x faster, pipelined 30-40% faster on one thread).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    cpppo_net::sys::runtime(false)
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
        if !net_vde::switch_listening(dir) {
            return refuse("fleet", net_vde::no_switch(dir, ""));
        }
    }
    if args.web.device_web == Some(ENIP_PORT) {
        return refuse(
            "fleet",
            "--device-web 44818 is the devices' EtherNet/IP port",
        );
    }
    let template = match template(&args) {
        Ok(t) => t,
        Err(e) => return refuse("fleet", e),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return refuse("fleet", e),
    };
    match rt.block_on(serve_fleet(args, subnet, template)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => refuse("fleet", format!("{e:#}")),
    }
}

fn template(args: &FleetArgs) -> anyhow::Result<Template> {
    let loaded = if args.config.is_empty() {
        Config::default()
    } else {
        Config::load(&args.config, true)?
    };
    let mut config = loaded.device.clone();
    config.identity.serial = args.serial.unwrap_or(if args.config.is_empty() {
        1
    } else {
        config.identity.serial
    });
    if let Some(name) = &args.product_name {
        config.identity.product_name = name.clone();
    }
    let parse = |t: &str| TagSpec::parse(t).map_err(|e| anyhow!("tag {t:?}: {e}"));
    if let Some(path) = &loaded.l5x {
        // Refused rather than ignored: a fleet serves no project's values.
        bail!(
            "config L5X {}: a fleet does not serve L5X projects (cpppo enip server --l5x does); drop it",
            path.display()
        );
    }
    let defined = args.defined_tags.as_deref();
    let mut tags = tag_sources(&loaded, &args.udt, defined, None, &args.tags)?.tags;
    if let Some(name) = &args.profile {
        tags.extend(profile_tags(name)?);
    }
    if tags.is_empty() {
        tags = DEFAULT_TAGS
            .iter()
            .map(|t| parse(t))
            .collect::<anyhow::Result<_>>()?;
    }
    let route = if args.simple || args.profile.is_some() {
        RoutePolicy::Exactly(Vec::new())
    } else if let Some(r) = &args.route_path {
        parse_route_path(r).map_err(|e| anyhow!("--route-path: {e}"))?
    } else {
        loaded.route_path.unwrap_or_default()
    };
    Ok(Template {
        config,
        tags,
        route,
        routes: loaded.routes,
        delay: args.delay.as_deref().map(parse_delay).transpose()?,
        udp: !args.no_udp,
        enip: !args.no_enip,
        modbus: modbus_template(args)?,
        web: args.web.options(),
        io: fleet_io(&loaded.io, &args.heartbeat)?,
    })
}

/// Every device's `[I/O]` options: the config's, the heartbeat points given win. An
/// `[I/O] Address` is refused: each device serves I/O at its own address, port 2222.
fn fleet_io(config: &IoConfig, heartbeat: &HeartbeatArgs) -> anyhow::Result<IoConfig> {
    if config.address.is_some() || config.disabled {
        bail!("[I/O] Address: each fleet device serves I/O on UDP 2222 at its own IP; drop it");
    }
    let mut io = config.clone();
    heartbeat.apply(&mut io);
    Ok(io)
}

/// The Modbus registers every device serves, if Modbus was asked for.
fn modbus_template(args: &FleetArgs) -> anyhow::Result<Option<ModbusTemplate>> {
    if !args.modbus && args.modbus_registers.is_empty() {
        if args.no_enip {
            bail!("--no-enip leaves nothing to serve: add --modbus");
        }
        return Ok(None);
    }
    if args.no_enip && !args.tags.is_empty() {
        bail!("tags are EtherNet/IP's: drop them or --no-enip");
    }
    if args.no_enip && args.web.options().is_some() {
        bail!("the web API shows EtherNet/IP devices: drop --web/--device-web or --no-enip");
    }
    let t = ModbusTemplate::parse(&args.modbus_registers)?;
    Ok(Some(t.tcp_buffer(args.modbus_tcp_buffer as usize)))
}

async fn serve_fleet(args: FleetArgs, subnet: Subnet, template: Template) -> anyhow::Result<()> {
    let link = match (&args.tap, &args.vde) {
        (Some(name), _) => HostLink::Tap(name.clone()),
        (None, Some(dir)) => HostLink::Vde(dir.clone()),
        (None, None) => HostLink::None,
    };
    let web = args
        .web
        .web
        .as_deref()
        .map(cpppo_web::parse_address)
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let lan = LanOptions {
        subnet,
        devices: args.devices,
        buffers: Buffers {
            tcp_rx: args.tcp_buffer as usize,
            tcp_tx: args.tcp_buffer as usize,
            mtu: args.mtu as usize,
            ..Buffers::default()
        },
        pcap: args.pcap.clone(),
        link,
        web,
    };
    let mut running = cpppo_fleet::start(&lan, &template).await?;
    let first = running.fleet.addresses.first().copied();
    let last = running.fleet.addresses.last().copied();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Success; Started fleet of {} devices on {subnet}; PID = {}",
            running.fleet.addresses.len(),
            std::process::id()
        );
        if let (Some(first), Some(last)) = (first, last) {
            let serials = if template.enip {
                format!("Identity serial {} up, ", template.config.identity.serial)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "devices {first} - {last} ({}), {serials}{}, started in {:.3} s",
                template.protocols(),
                running.via,
                running.started.as_secs_f64()
            );
        }
        if let Some(w) = running.web {
            let _ = writeln!(
                out,
                "Web summary on http://{w}/, each device under http://{w}/devices/<IP>/"
            );
        }
        if let (Some(port), Some(first)) = (args.web.device_web, first) {
            let _ = writeln!(
                out,
                "Each device's web API on its own IP, e.g. http://{first}:{port}/"
            );
        }
        let _ = out.flush();
    }
    let result = tokio::select! {
        r = cpppo_net::sys::wait_for_signal() => r.context("signal handler"),
        e = running.link_failure() => Err(e.into()),
    };
    running.stop().await;
    result
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
    let switch = match &args.vde {
        Some(dir) if args.create_switch => match net_vde::OwnSwitch::start(dir) {
            Ok(s) => Some(s),
            Err(e) => return refuse("run", format!("{e:#}")),
        },
        Some(dir) if !net_vde::switch_listening(dir) => {
            return refuse("run", net_vde::no_switch(dir, ", or pass -c to create one"));
        }
        None if args.create_switch => {
            return refuse(
                "run",
                "-c/--create-switch needs --vde DIR, where to create it",
            );
        }
        _ => None,
    };
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
    drop(switch);
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
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(flatten)]
        fleet: FleetArgs,
    }

    /// The template `cpppo net fleet -s 10.9.0.0/24 ARGS...` serves.
    fn fleet_template(args: &[&str]) -> anyhow::Result<Template> {
        let argv = ["fleet", "-s", "10.9.0.0/24"]
            .into_iter()
            .chain(args.iter().copied());
        template(&Top::try_parse_from(argv)?.fleet)
    }

    #[test]
    fn fleet_heartbeat_points_from_flags_and_config() {
        let t = fleet_template(&["--input-only-point", "199", "--listen-only-point", "198"]);
        let io = t.unwrap().io;
        assert_eq!(
            (io.input_only_point, io.listen_only_point),
            (Some(199), Some(198))
        );
        let io = fleet_template(&[]).unwrap().io;
        assert_eq!((io.input_only_point, io.listen_only_point), (None, None));
        assert!(fleet_template(&["--input-only-point", "0"]).is_err());
        let cfg = std::env::temp_dir().join(format!("fleet-io-{}.cfg", std::process::id()));
        let text = "[I/O]\nInput Only Point = 254\nListen Only Point = 253\nRPI = 5-500\n";
        std::fs::write(&cfg, text).unwrap();
        let c = cfg.to_str().unwrap();
        let io = fleet_template(&["-c", c, "--listen-only-point", "198"])
            .unwrap()
            .io;
        assert_eq!(
            (io.input_only_point, io.listen_only_point),
            (Some(254), Some(198))
        );
        assert!(io.rpi.is_some(), "[I/O] RPI reaches the devices");
        std::fs::write(&cfg, "[I/O]\nAddress = :2223\n").unwrap();
        let err = fleet_template(&["-c", c]).unwrap_err().to_string();
        assert!(err.contains("[I/O] Address"), "{err}");
        std::fs::write(&cfg, "[Logix]\nL5X = p.L5X\n").unwrap();
        let err = fleet_template(&["-c", c]).unwrap_err().to_string();
        let _ = std::fs::remove_file(&cfg);
        assert!(err.starts_with("config L5X p.L5X: "), "{err}");
    }

    #[test]
    fn run_address_parses() {
        assert_eq!(parse_ip("10.0.0.2/24").unwrap(), ("10.0.0.2".into(), 24));
        assert!(parse_ip("10.0.0.2").is_err());
        assert!(parse_ip("10.0.0.2/33").is_err());
        assert!(parse_ip("host/24").is_err());
    }
}
