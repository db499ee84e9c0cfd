//! `cpppo enip server` (and `enip_server`): the EtherNet/IP CIP controller simulator.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::{ArgAction, Args};
use cpppo_enip::config::{default_paths, parse_route_path, Config};
use cpppo_enip::control::{serve_switchable, ServerControl};
use cpppo_enip::device::Device;
use cpppo_enip::hooks::Clock;
use cpppo_enip::server::Options;
use cpppo_enip::session::{RoutePolicy, Shared};
use cpppo_enip::tagspec::TagSpec;
use cpppo_net::os::{OsDatagram, OsListener};
use cpppo_net::Listener;
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
    /// Replay a recorded history into the tags (`--replay FILE [--speed X] [--loop]`).
    #[command(flatten)]
    replay: crate::cli::enip_historize::ReplayArgs,
}

/// Wraps each tag's attribute as the tag is added (`cpppo enip historize` records with it).
pub type TagHook = Arc<
    dyn Fn(
            &str,
            Arc<dyn cpppo_enip::attribute::Attribute>,
        ) -> anyhow::Result<Arc<dyn cpppo_enip::attribute::Attribute>>
        + Send
        + Sync,
>;

/// Everything validated before anything is bound.
struct Plan {
    address: SocketAddr,
    shared: Arc<Shared>,
    opts: Options,
    udp: bool,
    address_output: bool,
    replay: Option<cpppo_enip::replay::ReplayOptions>,
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
    let plan = match plan(&args, hook.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cpppo enip server: {e:#}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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

/// Tag specs simulating a named device profile: each parameter of its table that lives outside
/// the Identity/TCP-IP objects becomes `Name_With_Underscores@CLASS/INSTANCE/ATTRIBUTE=TYPE`.
pub(crate) fn profile_tags(name: &str) -> anyhow::Result<Vec<String>> {
    use cpppo_enip::client::proxy::{Field, POWERFLEX_750};
    let table = match name.to_ascii_lowercase().as_str() {
        "powerflex750" | "powerflex_750" | "powerflex-750" => POWERFLEX_750,
        _ => {
            return Err(anyhow!(
                "--profile: unknown profile {name:?} (known: powerflex750)"
            ))
        }
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
        specs.push(format!("{}@{address}={ty}", param.name.replace(' ', "_")));
    }
    Ok(specs)
}

fn plan(args: &ServerArgs, hook: Option<&TagHook>) -> anyhow::Result<Plan> {
    let address = parse_address(&args.address)?;
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
    let mut device = Device::new(&config.device);
    let mut owned: Vec<String> = args.tags.clone();
    if let Some(name) = &args.profile {
        owned.extend(profile_tags(name)?);
    }
    let demo = owned.is_empty();
    let specs: Vec<&str> = if demo {
        DEMO_TAGS.to_vec()
    } else {
        owned.iter().map(String::as_str).collect()
    };
    let control = Arc::new(ServerControl::default());
    for spec in specs {
        let tag = TagSpec::parse(spec)?;
        let value = cpppo_enip::attribute::Value::new(tag.ty, tag.len, tag.array);
        // The web API's forced errors and live updates; the hook (if any) wraps that.
        let attr = control.guard(&tag.name, Arc::new(value));
        let attr = match hook {
            Some(hook) => hook(&tag.name, attr)?,
            None => attr,
        };
        let attr = print_io(args, &tag.name, attr);
        device.add_tag_attribute(&tag.name, attr, tag.address)?;
    }
    if demo {
        device.add_tag_attribute("CLOCK", Arc::new(Clock::utc()), None)?;
    }
    let route = if args.simple || args.profile.is_some() {
        RoutePolicy::Exactly(Vec::new())
    } else if let Some(r) = &args.route_path {
        parse_route_path(r).map_err(|e| anyhow!("--route-path: {e}"))?
    } else {
        config.route_path.unwrap_or_default()
    };
    let delay = args.delay.as_deref().map(parse_delay).transpose()?;
    if let Some((lo, hi)) = delay {
        control.set_delay(lo, hi);
    }
    let web = args
        .web
        .as_deref()
        .map(cpppo_web::parse_address)
        .transpose()
        .map_err(|e| anyhow!(e))?;
    Ok(Plan {
        address,
        shared: Arc::new(Shared {
            device: Arc::new(device),
            route,
            routes: config.routes,
        }),
        opts: Options {
            delay,
            print: false, // -p prints per operation (print_io), as cpppo does
            // Counting and live switches only when the web API can use them.
            control: web.is_some().then(|| control.clone()),
            ..Options::default()
        },
        udp: !args.no_udp,
        address_output: args.address_output,
        replay: args.replay.options()?,
        web,
        web_token: args.web_token.clone().filter(|t| !t.is_empty()),
        control,
    })
}

/// With `-p`, wrap a tag so each operation on it is printed (see [`super::print`]).
fn print_io(
    args: &ServerArgs,
    name: &str,
    attr: Arc<dyn cpppo_enip::attribute::Attribute>,
) -> Arc<dyn cpppo_enip::attribute::Attribute> {
    if args.print && !args.no_print {
        Arc::new(super::print::PrintIo::new(name, attr, args.verbose > 0))
    } else {
        attr
    }
}

/// `[IFACE][:PORT]`: all interfaces and 44818 unless given.
fn parse_address(s: &str) -> anyhow::Result<SocketAddr> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => {
            let port = p
                .parse::<u16>()
                .map_err(|_| anyhow!("--address {s:?}: port {p:?} is not a number 0-65535"))?;
            (h, port)
        }
        None => (s, ENIP_PORT),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("--address {s:?}: cannot resolve {host:?}"))?
        .collect();
    // EtherNet/IP is IPv4: prefer an IPv4 address ("localhost" may list ::1 first).
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| anyhow!("--address {s:?}: no address for {host:?}"))
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
    let listener = OsListener::bind(plan.address)
        .await
        .with_context(|| format!("cannot listen on TCP {}", plan.address))?;
    let local = listener.local_addr()?;
    let (stop, shutdown) = watch::channel(false);
    let opts = Arc::new(plan.opts);
    let mut tasks = Vec::new();
    let mut sock = None;
    if plan.udp {
        let udp_addr = SocketAddr::new(local.ip(), local.port());
        sock = Some(
            OsDatagram::bind(udp_addr)
                .await
                .with_context(|| format!("cannot bind UDP {udp_addr}"))?,
        );
    }
    if let Ok(mut a) = plan.control.address.lock() {
        *a = Some(local);
    }
    // Listeners that the web API can close and reopen; `done` ends them.
    tasks.push(tokio::spawn(serve_switchable(
        listener,
        sock,
        plan.shared.clone(),
        opts.clone(),
        plan.control.clone(),
        shutdown.clone(),
    )));
    let web_addr = match plan.web {
        Some(addr) => {
            let web = cpppo_web::Web {
                device: plan.shared.device.clone(),
                control: plan.control.clone(),
                token: plan.web_token.clone(),
                read_only: false,
            };
            Some(start_web(addr, web, shutdown.clone()).await?)
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
        cpppo_enip::replay::spawn(plan.shared.device.clone(), r, replay_stop.clone())
            .context("--replay")?;
    }
    let mut done = plan.control.watch_done();
    tokio::select! {
        r = wait_for_signal() => r?,
        _ = done.wait_for(|d| *d) => tracing::info!("done requested through the web API"),
    }
    replay_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!("shutting down");
    let _ = stop.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
    }
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

/// Bind and start the web API; off loopback without a token it is read-only. It stops when `shutdown` fires.
/// Returns the bound address and whether the API is read-only.
async fn start_web(
    addr: SocketAddr,
    mut web: cpppo_web::Web,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, bool)> {
    let listener = OsListener::bind(addr)
        .await
        .with_context(|| format!("--web: cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    if cpppo_web::needs_token(local) && web.token.is_none() {
        tracing::warn!("--web on {local} without --web-token: the API is read-only");
        web.read_only = true;
    }
    let read_only = web.read_only;
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = cpppo_web::serve(listener, web, stop).await {
            tracing::warn!("web server failed: {e}");
        }
    });
    Ok((local, read_only))
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
