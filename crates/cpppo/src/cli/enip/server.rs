//! `cpppo enip server` (and `enip_server`): the EtherNet/IP CIP controller simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::{ArgAction, Args};
use cpppo_enip::model::config::{default_paths, parse_route_path, Config};
use cpppo_enip::model::hooks::Clock;
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::control::ServerControl;
use cpppo_enip::runtime::simulator::{Simulator, SimulatorBuilder};
use cpppo_enip::runtime::tag_sources::{l5x_hook, tag_sources};
use cpppo_enip::server::io_plan::{io_plan, IoRequest};
use cpppo_enip::server::session::RoutePolicy;
use tokio::sync::watch;

use crate::cli::logging;

/// The EtherNet/IP port.
const ENIP_PORT: u16 = 44818;

/// Tags of the demo controller started when none are given.
const DEMO_TAGS: &[&str] = &[
    "SCADA=INT[1000]",
    "TEXT=SSTRING[100]",
    "FLOAT=REAL",
    "COUNTS=DINT[100]",
    "FLAGS=BOOL[16]",
    "MESSAGE=STRING",
    "REALS=LREAL[10]",
];

/// Arguments of `cpppo enip server`.
#[derive(Debug, Args)]
#[command(
    after_help = "Tags: NAME=TYPE[LEN], NAME=TYPE or NAME@CLASS/INSTANCE/ATTRIBUTE=TYPE[LEN]; \
types SINT INT DINT LINT USINT UINT UDINT ULINT REAL LREAL BOOL SSTRING STRING.\n\
Without tags, a demo controller: SCADA=INT[1000] TEXT=SSTRING[100] FLOAT=REAL COUNTS=DINT[100] \
FLAGS=BOOL[16] MESSAGE=STRING REALS=LREAL[10] and CLOCK (UTC microseconds, computed on read).\n\n\
Examples:\n  cpppo enip server                                  # demo controller on :44818\n  \
cpppo enip server -a 127.0.0.1:44819 SCADA=INT[1000] FLOAT=REAL\n  \
cpppo enip server --route-path 1/0 'FLT@0x16/1/3=REAL'\n  \
enip_server -v -d 0.01-0.05 SCADA=INT[100]"
)]
pub struct ServerArgs {
    /// Tags to serve.
    tags: Vec<String>,
    /// Define Logix structures (UDTs) for the tags: `Motor{Speed:REAL, Running:BOOL,
    /// Faults:DINT[4], Name:STRING}`; then `M1=Motor`, `Motors=Motor[10]`, `Grid=DINT[4,5]`,
    /// `Program:Main.Count=DINT`.
    #[arg(long, value_name = "NAME{MEMBER:TYPE,...}")]
    udt: Vec<String>,
    /// Serve the tags (and structures) described in FILE: the JSON of pycomm3's
    /// `LogixDriver.tags` (as cpppo's -D/--defined-tags).
    #[arg(short = 'D', long, value_name = "FILE")]
    defined_tags: Option<PathBuf>,
    /// Serve the controller a Studio 5000 project export (L5X) describes: its data types,
    /// controller and program tags with their initial values, and its name.
    #[arg(long, value_name = "FILE")]
    l5x: Option<PathBuf>,
    /// Interface and port to bind TCP and UDP to (default: all interfaces, port 44818).
    #[arg(
        short,
        long,
        default_value = "",
        hide_default_value = true,
        value_name = "[IFACE][:PORT]"
    )]
    address: String,
    /// More logging (repeat for more).
    #[arg(short, long, action = ArgAction::Count)]
    verbose: u8,
    /// Delay each reply by SECS, or uniformly between SECS-SECS.
    #[arg(short, long, value_name = "SECS[-SECS]")]
    delay: Option<String>,
    /// Web API and live page on [IFACE]:[PORT] (port 80 if none). Unlike cpppo, ":PORT" and ":"
    /// listen on 127.0.0.1 only (a safer default); give 0.0.0.0:PORT for all interfaces.
    #[arg(short, long, value_name = "[IFACE]:[PORT]")]
    web: Option<String>,
    /// Token required by mutating web API requests when --web is not on loopback.
    #[arg(
        long,
        env = "CPPPO_WEB_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    web_token: Option<String>,
    /// Log to FILE (rotated at 10 MB, 5 kept) instead of stderr.
    #[arg(short, long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Print each tag write on stdout as cpppo does (`SCADA[    1-1    ] <= [99] `); reads too with -v.
    #[arg(short, long)]
    print: bool,
    /// Serve only this Unconnected Send route path: PORT/LINK, JSON, or false/0 for none.
    #[arg(long, value_name = "PATH")]
    route_path: Option<String>,
    /// Simulate a simple (non-routing) device: only an empty route path is served.
    #[arg(short = 'S', long)]
    simple: bool,
    /// Simulate a device profile as a simple device: `powerflex750` (an Allen-Bradley
    /// PowerFlex 750 drive's parameters: Motor Velocity, Output Current, Elapsed kWh, ...).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Read this config file (cpppo.cfg INI) instead of /etc/cpppo.cfg, ~/.cpppo.cfg, ./cpppo.cfg.
    #[arg(short = 'c', long, value_name = "FILE")]
    config: Vec<PathBuf>,
    /// Read none of the default config files.
    #[arg(long)]
    no_config: bool,
    /// Do not serve UDP.
    #[arg(short = 'U', long, overrides_with = "udp")]
    no_udp: bool,
    /// Serve UDP (the default; cpppo's spelling).
    #[arg(short = 'u', long)]
    udp: bool,
    /// Do not print a summary of each client's I/O (the default).
    #[arg(long, overrides_with = "print")]
    no_print: bool,
    /// Also print "... running on (IFACE, PORT)" once listening, as cpppo's -A does.
    #[arg(short = 'A', long)]
    address_output: bool,
    /// Serve class 1 implicit I/O (a scanner owns the `@4/INSTANCE/3` assembly tags) on UDP
    /// [IFACE][:PORT] (default: --address's interface, port 2222). On by default when a tag
    /// is an assembly.
    #[arg(long, value_name = "[IFACE][:PORT]")]
    io: Option<String>,
    /// Do not serve class 1 I/O.
    #[arg(long, conflicts_with = "io")]
    no_io: bool,
    #[command(flatten)]
    heartbeat: HeartbeatArgs,
    /// Write an EDS file for the assemblies and the Identity object to FILE, then serve.
    #[arg(long, value_name = "FILE")]
    eds: Option<PathBuf>,
    /// Replay a recorded history into the tags (`--replay FILE [--speed X] [--loop]`).
    #[command(flatten)]
    replay: crate::cli::enip_historize::ReplayArgs,
    #[command(flatten)]
    limits: crate::cli::limits::LimitArgs,
}

/// Wraps each tag's attribute as the tag is added (`cpppo enip historize` records with it).
pub use cpppo_enip::runtime::simulator::TagHook;

/// Everything validated before anything is bound.
struct Plan {
    address: SocketAddr,
    io: Option<SocketAddr>,
    simulator: Simulator,
    udp: bool,
    address_output: bool,
    replay: Option<cpppo_enip::history::replay::ReplayOptions>,
    web: Option<std::net::SocketAddr>,
    web_token: Option<String>,
    control: Arc<ServerControl>,
}

/// Run the simulator; bad arguments or config give one line and exit code 2.
pub fn run(args: ServerArgs) -> ExitCode {
    run_with(args, None)
}

/// Run the simulator with each tag's attribute passed through `hook`.
pub fn run_with(args: ServerArgs, hook: Option<TagHook>) -> ExitCode {
    if let Err(e) = logging::init(args.verbose, args.log.as_deref()) {
        eprintln!("cpppo enip server: log file: {e}");
        return ExitCode::from(2);
    }
    let plan = match plan(&args, hook) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cpppo enip server: {e:#}");
            return ExitCode::from(2);
        }
    };
    // One single-threaded runtime per core (cpppo_net::cores).
    let rt = match cpppo_net::cores::server_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cpppo enip server: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(serve(plan)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cpppo enip server: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Tag specs simulating a named device profile (`--profile NAME`).
pub(crate) fn profile_tags(name: &str) -> anyhow::Result<Vec<TagSpec>> {
    cpppo_enip::runtime::simulator::profile_tags(name).map_err(|e| anyhow!("--profile: {e}"))
}

/// The config and the tags the command line and config declare (`--udt`, `-D`, `--l5x`,
/// TAG...), before `--profile` and the demo tags; and the L5X project, if one was loaded.
pub(crate) fn tag_specs(
    args: &ServerArgs,
) -> anyhow::Result<(
    Config,
    Vec<TagSpec>,
    Option<cpppo_enip::model::l5x::Project>,
)> {
    let config = if !args.config.is_empty() {
        Config::load(&args.config, true)?
    } else if args.no_config {
        Config::default()
    } else {
        Config::load(&default_paths(), false)?
    };
    for f in &config.loaded {
        tracing::info!("loaded config file {}", f.display());
    }
    let l5x = args.l5x.as_deref().or(config.l5x.as_deref());
    let defined = args.defined_tags.as_deref();
    let sourced = tag_sources(&config, &args.udt, defined, l5x, &args.tags)?;
    Ok((config, sourced.tags, sourced.project))
}

/// The I/O heartbeat points on the command line: the adapters' (`cpppo enip server`,
/// `cpppo net fleet`) and the scanner's (`cpppo enip io`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HeartbeatArgs {
    /// The O→T connection point of Input Only connections (a heartbeat; default 238; an
    /// adapter also reads cpppo.cfg's `[I/O] Input Only Point`).
    #[arg(long, value_name = "INSTANCE",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub input_only_point: Option<u32>,
    /// The O→T connection point of Listen Only connections (a heartbeat; default 237; an
    /// adapter also reads cpppo.cfg's `[I/O] Listen Only Point`).
    #[arg(long, value_name = "INSTANCE",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub listen_only_point: Option<u32>,
}

impl HeartbeatArgs {
    /// Set `io`'s heartbeat points to those given here (the command line wins over the config).
    pub fn apply(&self, io: &mut cpppo_enip::model::config::IoConfig) {
        io.input_only_point = self.input_only_point.or(io.input_only_point);
        io.listen_only_point = self.listen_only_point.or(io.listen_only_point);
    }
}

fn plan(args: &ServerArgs, hook: Option<TagHook>) -> anyhow::Result<Plan> {
    let address = parse_address(&args.address)?;
    let (mut config, mut tags, project) = tag_specs(args)?;
    let hook = match project {
        Some(project) => {
            let file = args.l5x.as_ref().or(config.l5x.as_ref());
            let file = file.map(|f| f.display().to_string()).unwrap_or_default();
            for line in &project.skipped {
                eprintln!("cpppo enip server: --l5x {file}: skipped {line}");
            }
            if let Some(name) = &project.controller {
                config.device.controller_name = name.clone();
            }
            Some(l5x_hook(Arc::new(project), hook))
        }
        None => hook,
    };
    if let Some(name) = &args.profile {
        tags.extend(profile_tags(name)?);
    }
    let demo = tags.is_empty();
    if demo {
        tags = DEMO_TAGS
            .iter()
            .map(|t| TagSpec::parse(t))
            .collect::<Result<_, _>>()?;
    }
    let route = if args.simple || args.profile.is_some() {
        RoutePolicy::Exactly(Vec::new())
    } else if let Some(r) = &args.route_path {
        parse_route_path(r).map_err(|e| anyhow!("--route-path: {e}"))?
    } else {
        config.route_path.unwrap_or_default()
    };
    let delay = args.delay.as_deref().map(parse_delay).transpose()?;
    let web = args
        .web
        .as_deref()
        .map(cpppo_web::parse_address)
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let request = match (&args.io, args.no_io) {
        (_, true) => IoRequest::Off,
        (Some(at), false) => IoRequest::At(at),
        (None, false) => IoRequest::Auto,
    };
    args.heartbeat.apply(&mut config.io);
    let planned = io_plan(request, &config.io, address, &config.device, &tags)
        .map_err(|e| anyhow!("--io: {e}"))?;
    let (io, settings) = planned.map_or((None, None), |(at, s)| (Some(at), Some(s)));
    let eds_settings = settings.clone().unwrap_or_default();
    let control = Arc::new(ServerControl::default());
    let mut builder = SimulatorBuilder::new()
        .config(config.device.clone())
        .tags(tags)
        .route(route)
        .routes(config.routes)
        .delay(delay)
        // -p prints each operation (cpppo's lines) through the hook below, not a summary.
        .print(false)
        // The web API's forced errors and live updates; counting only when it can show them.
        .control(control.clone())
        .statistics(web.is_some())
        .connections(cpppo_net::conn::Tracker::new(args.limits.limits()?));
    if demo {
        builder = builder.attribute("CLOCK", Arc::new(Clock::utc()));
    }
    if let Some(hook) = print_io(args, hook) {
        builder = builder.hook(hook);
    }
    if let Some(settings) = settings {
        builder = builder.io(settings);
    }
    let simulator = builder.build()?;
    if let Some(file) = &args.eds {
        write_eds(file, simulator.device(), &eds_settings)?;
    }
    Ok(Plan {
        address,
        io,
        simulator,
        udp: !args.no_udp,
        address_output: args.address_output,
        replay: args.replay.options()?,
        web,
        web_token: args.web_token.clone().filter(|t| !t.is_empty()),
        control,
    })
}

/// `--eds FILE`: the device's EDS (see [`cpppo_enip::server::io_eds`]).
fn write_eds(
    file: &std::path::Path,
    device: &cpppo_enip::model::device::Device,
    settings: &cpppo_enip::server::io::IoSettings,
) -> anyhow::Result<()> {
    use cpppo_enip::server::io_eds;
    let text = io_eds::device_eds(device, settings);
    std::fs::write(file, text).with_context(|| format!("--eds {}", file.display()))?;
    tracing::info!("wrote EDS file {}", file.display());
    Ok(())
}

/// With `-p`, wrap each tag (after the caller's `hook`) so each operation on it is printed
/// (see [`super::print`]).
fn print_io(args: &ServerArgs, hook: Option<TagHook>) -> Option<TagHook> {
    if !args.print || args.no_print {
        return hook;
    }
    let verbose = args.verbose > 0;
    Some(Arc::new(move |name: &str, attr| {
        let attr = match &hook {
            Some(hook) => hook(name, attr)?,
            None => attr,
        };
        let printed: Arc<dyn cpppo_enip::model::attribute::Attribute> =
            Arc::new(super::print::PrintIo::new(name, attr, verbose));
        Ok(printed)
    }))
}

/// `[IFACE][:PORT]`: all interfaces and 44818 unless given.
fn parse_address(s: &str) -> anyhow::Result<SocketAddr> {
    cpppo_net::sys::parse_address(s, "0.0.0.0", Some(ENIP_PORT))
        .map_err(|e| anyhow!("--address {s:?}: {e}"))
}

/// `SECS` or `SECS-SECS`.
pub(crate) fn parse_delay(s: &str) -> anyhow::Result<(f64, f64)> {
    let num = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && (0.0..=3600.0).contains(v))
            .ok_or_else(|| anyhow!("--delay {s:?}: {t:?} is not a number of seconds (0-3600)"))
    };
    match s.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo > hi {
                return Err(anyhow!("--delay {s:?}: range runs backwards"));
            }
            Ok((lo, hi))
        }
        None => num(s).map(|v| (v, v)),
    }
}

async fn serve(plan: Plan) -> anyhow::Result<()> {
    let running = plan.simulator.start(plan.address, plan.udp).await?;
    let local = running.local_addr();
    let io = match plan.io {
        Some(at) => Some(
            plan.simulator
                .start_io(at, running.shutdown())
                .await
                .with_context(|| format!("--io {at}"))?,
        ),
        None => None,
    };
    let web_addr = match plan.web {
        Some(addr) => {
            let web = cpppo_web::Web {
                device: plan.simulator.device().clone(),
                control: plan.control.clone(),
                token: plan.web_token.clone(),
                read_only: false,
            };
            Some(start_web(addr, web, running.shutdown()).await?)
        }
        None => None,
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Success; Started EtherNet/IP Simulator; PID = {}; address = {local}",
            std::process::id()
        );
        if let Some(at) = io {
            let _ = writeln!(out, "I/O adapter (class 1) on udp {at}");
        }
        if let Some((w, read_only)) = web_addr {
            let _ = writeln!(out, "{}", web_ready_line(w, read_only));
        }
        if plan.address_output {
            let _ = writeln!(
                out,
                "EtherNet/IP Simulator running on ('{}', {})",
                local.ip(),
                local.port()
            );
        }
        let _ = out.flush();
    }
    let replay_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(r) = plan.replay {
        cpppo_enip::history::replay::spawn(plan.simulator.device().clone(), r, replay_stop.clone())
            .context("--replay")?;
    }
    tokio::select! {
        r = cpppo_net::sys::wait_for_signal() => r.context("signal handler")?,
        _ = running.done() => tracing::info!("done requested through the web API"),
    }
    replay_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// Where the web API listens and whether it is read-only (cpppo users expect ':PORT' to mean
/// all interfaces; ours is loopback, so the line says so).
fn web_ready_line(w: SocketAddr, read_only: bool) -> String {
    let mode = if read_only {
        "read-only: no --web-token off loopback"
    } else {
        "read-write"
    };
    let scope = if w.ip().is_loopback() {
        "; loopback only (unlike cpppo, ':PORT' means 127.0.0.1; give 0.0.0.0:PORT for all interfaces)"
    } else {
        ""
    };
    format!("Web API and live page on http://{w}/ ({mode}{scope})")
}

/// Bind and start the web API (see [`cpppo_web::start`]); it stops when `shutdown` fires.
/// Returns the bound address and whether the API is read-only.
async fn start_web(
    addr: SocketAddr,
    web: cpppo_web::Web,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, bool)> {
    let tokenless = web.token.is_none();
    let (local, read_only) = cpppo_web::start(addr, web, shutdown)
        .await
        .with_context(|| format!("--web: cannot listen on {addr}"))?;
    if read_only && tokenless {
        tracing::warn!("--web on {local} without --web-token: the API is read-only");
    }
    Ok((local, read_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_delays_parse() {
        assert_eq!(parse_address("").unwrap(), "0.0.0.0:44818".parse().unwrap());
        assert_eq!(
            parse_address(":44819").unwrap(),
            "0.0.0.0:44819".parse().unwrap()
        );
        assert_eq!(
            parse_address("127.0.0.1").unwrap(),
            "127.0.0.1:44818".parse().unwrap()
        );
        assert!(parse_address(":x")
            .unwrap_err()
            .to_string()
            .contains("\"x\""));
        assert_eq!(parse_delay("0.5").unwrap(), (0.5, 0.5));
        assert_eq!(parse_delay("0.1-0.2").unwrap(), (0.1, 0.2));
        assert!(parse_delay("-1").is_err());
        assert!(parse_delay("0.2-0.1").is_err());
    }
}
