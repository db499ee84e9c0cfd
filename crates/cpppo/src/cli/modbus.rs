//! `cpppo modbus ...`: the Modbus tools.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use cpppo_modbus::poller::{Poller, PollerConfig, SerialTarget};
use cpppo_modbus::serial::{LineConfig, Parity, SerialPort};
use cpppo_modbus::server::{Framing, Simulator};
use cpppo_modbus::store::Store;
use cpppo_modbus::{RangeSpec, Register};
use cpppo_net::os::OsListener;
use cpppo_net::Listener;

use super::logging;

/// The Modbus verbs.
#[derive(Debug, Subcommand)]
pub enum ModbusCommand {
    /// Run a Modbus TCP (or RTU/ASCII serial) simulator.
    Sim(SimArgs),
    /// Poll registers of a Modbus device and log every change.
    Poll(PollArgs),
}

const REGISTER_HELP: &str = "Registers: <begin>[-<end>][=<value>[,<value>...]] with numbers
  1-9999 coils, 10001-19999 (100001-165536) discrete inputs,
  30001-39999 (300001-365536) input registers, 40001-99999 (400001-465536) holding registers.";

/// `cpppo modbus sim` / `modbus_sim`.
#[derive(Debug, Args)]
#[command(after_help = format!("{REGISTER_HELP}

Examples:
  modbus_sim -a :1502 40001-40100=99
  modbus_sim -a localhost:7502 --delay 0.5 1-16=1 30001-30010=0x1234 40001=1,2,3
  modbus_sim -a :1502 --delay .01-.1 40001-40100       # random delay, 10-100 ms
  modbus_sim --serial /dev/ttyUSB0 --baud 9600 --parity E -u 1,2 40001-40010
  modbus_sim -a :1502 --exception 40050=0x0C 40001-40100   # 40050 answers exception 12"))]
pub struct SimArgs {
    /// Log more (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log to this file (rotated at 10 MB, 5 kept) instead of stderr.
    #[arg(short, long)]
    log: Option<PathBuf>,
    /// [INTERFACE][:PORT] to listen on (default: all interfaces, port 502); a path starting
    /// with '/' means a serial device (as --serial).
    #[arg(short, long, default_value = ":502")]
    address: String,
    /// Number of ports to try from PORT upwards if it is busy.
    #[arg(short, long, default_value_t = 1)]
    range: u16,
    /// Unit ids to answer (comma-separated or repeated; default: all).
    #[arg(short, long, value_delimiter = ',')]
    unit: Vec<u8>,
    /// Delay every response by SECONDS, or by a random time in MIN-MAX seconds (`.01-.1`).
    #[arg(short, long, default_value = "0", value_name = "SECONDS|MIN-MAX")]
    delay: String,
    /// Serve Modbus/RTU on this serial device (a pseudo-terminal works) instead of TCP.
    #[arg(long)]
    serial: Option<PathBuf>,
    /// Use Modbus/ASCII framing on the serial device.
    #[arg(long)]
    ascii: bool,
    /// Serial baud rate.
    #[arg(long, default_value_t = 19_200)]
    baud: u32,
    /// Serial parity: N, E or O.
    #[arg(long, default_value = "N")]
    parity: Parity,
    /// Serial stop bits (1 or 2).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    stopbits: u8,
    /// REGISTER=CODE: answer any request touching REGISTER with exception CODE (any 0-255).
    #[arg(long, value_name = "REGISTER=CODE")]
    exception: Vec<String>,
    /// Register ranges and initial values.
    #[arg(required = true)]
    registers: Vec<String>,
    #[command(flatten)]
    limits: super::limits::LimitArgs,
}

/// `cpppo modbus poll` / `modbus_poll`.
#[derive(Debug, Args)]
#[command(after_help = format!("{REGISTER_HELP}
Ranges with values are written once at start, then every listed register is polled and each
change is logged as `40001 ==    99 (was: None)`.

Examples:
  modbus_poll -a :1502 40001-40010=0 40001-40100
  modbus_poll -a plc.example:502 -R 0.5 -u 1 30001-30020 1-16
  modbus_poll --serial /dev/ttyUSB0 --baud 9600 --parity E -u 3 40001-40010"))]
pub struct PollArgs {
    /// Log more (-v info: load and polled ranges, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log to this file (rotated at 10 MB, 5 kept) instead of stderr.
    #[arg(short, long)]
    log: Option<PathBuf>,
    /// HOST[:PORT] of the device (default port 502; an empty host is localhost); a path
    /// starting with '/' means a serial device (as --serial).
    #[arg(short, long, default_value = "localhost:502")]
    address: String,
    /// Merge polls of registers within this many of each other.
    #[arg(short, long, default_value_t = 1)]
    reach: u16,
    /// Modbus unit id.
    #[arg(short, long, default_value_t = 0)]
    unit: u8,
    /// Seconds between polls.
    #[arg(short = 'R', long, default_value_t = 1.0)]
    rate: f64,
    /// I/O timeout in seconds.
    #[arg(short, long, default_value_t = 1.0)]
    timeout: f64,
    /// Poll over Modbus/RTU on this serial device instead of TCP (needs -u UNIT).
    #[arg(long)]
    serial: Option<PathBuf>,
    /// Use Modbus/ASCII framing on the serial device.
    #[arg(long)]
    ascii: bool,
    /// Serial baud rate.
    #[arg(long, default_value_t = 19_200)]
    baud: u32,
    /// Serial parity: N, E or O.
    #[arg(long, default_value = "N")]
    parity: Parity,
    /// Serial stop bits (1 or 2).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    stopbits: u8,
    /// Register ranges to poll (and values to write first).
    #[arg(required = true)]
    registers: Vec<String>,
}

/// Run one Modbus verb.
pub fn run(cmd: ModbusCommand) -> ExitCode {
    let (verbose, log) = match &cmd {
        ModbusCommand::Sim(a) => (a.verbose, a.log.clone()),
        ModbusCommand::Poll(a) => (a.verbose, a.log.clone()),
    };
    if let Err(e) = logging::init(verbose, log.as_deref()) {
        eprintln!("cannot open log file: {e}");
        return ExitCode::from(2);
    }
    // The simulator serves on one single-threaded runtime per core.
    let runtime = match cmd {
        ModbusCommand::Sim(_) => cpppo_net::cores::server_runtime(),
        ModbusCommand::Poll(_) => cpppo_net::sys::runtime(true),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cmd {
            ModbusCommand::Sim(args) => sim(args).await,
            ModbusCommand::Poll(args) => poll(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Bad command-line input (exit 2) or a failure while running (exit 1).
enum Failure {
    Usage(String),
    Run(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Run(e)
    }
}

fn seconds(what: &str, s: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| Failure::Usage(format!("bad {what} {s}: must be seconds >= 0")))
}

fn specs(texts: &[String]) -> Result<Vec<RangeSpec>, Failure> {
    texts
        .iter()
        .map(|t| RangeSpec::parse(t).map_err(|e| Failure::Usage(e.to_string())))
        .collect()
}

/// Wait for SIGINT or SIGTERM (forever if their handlers cannot be installed).
async fn shutdown() {
    if let Err(e) = cpppo_net::sys::wait_for_signal().await {
        tracing::warn!("no signal handlers: {e}");
        std::future::pending::<()>().await;
    }
}

fn announce(kind: &str, address: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Success; Started Modbus/{kind} Simulator; PID = {}; address = {address}",
        std::process::id()
    );
    let _ = out.flush();
}

async fn sim(args: SimArgs) -> Result<(), Failure> {
    let mut store = Store::from_specs(&specs(&args.registers)?);
    for text in &args.exception {
        let bad = || Failure::Usage(format!("bad --exception {text:?}: expected REGISTER=CODE"));
        let (reg, code) = text.split_once('=').ok_or_else(bad)?;
        let reg = parse_number(reg)
            .and_then(Register::from_number)
            .ok_or_else(bad)?;
        let code = parse_number(code)
            .and_then(|c| u8::try_from(c).ok())
            .ok_or_else(bad)?;
        store.fault(reg, code);
    }
    let (low, high) = delay_range(&args.delay)?;
    let limits = args
        .limits
        .limits()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let sim = Arc::new(
        Simulator::new(store)
            .units(args.unit.clone())
            .delay_between(low, high)
            .limits(limits),
    );
    let serial = args.serial.clone().or_else(|| {
        args.address
            .starts_with('/')
            .then(|| args.address.clone().into())
    });
    let served = match serial {
        Some(path) => {
            let line = LineConfig {
                baud: args.baud,
                parity: args.parity,
                stop_bits: args.stopbits,
            };
            let port = SerialPort::open(&path, &line)
                .with_context(|| format!("cannot open serial device {}", path.display()))?;
            let (framing, kind) = if args.ascii {
                (Framing::Ascii, "ASCII")
            } else {
                (Framing::Rtu, "RTU")
            };
            announce(kind, &path.display().to_string());
            tokio::spawn(sim.serve_serial(port, framing, args.baud))
        }
        None => {
            let listener = bind(&args.address, args.range).await?;
            let local = listener.local_addr().context("listening socket")?;
            announce("TCP", &local.to_string());
            tokio::spawn(sim.serve_tcp(listener))
        }
    };
    tokio::select! {
        _ = shutdown() => Ok(()),
        r = served => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow!(e).context("simulator stopped").into()),
            Err(e) => Err(anyhow!("simulator task failed: {e}").into()),
        },
    }
}

/// `SECONDS` or `MIN-MAX` (seconds, fractions allowed).
fn delay_range(text: &str) -> Result<(Duration, Duration), Failure> {
    let bad = || Failure::Usage(format!("bad --delay {text:?}: expected SECONDS or MIN-MAX"));
    let one = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(bad)
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if a > b {
                return Err(bad());
            }
            Ok((a, b))
        }
        None => one(text).map(|d| (d, d)),
    }
}

fn parse_number(text: &str) -> Option<u32> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Split `[HOST][:PORT]` (IPv6 hosts in brackets) into host and port.
fn host_port(address: &str, default_host: &str) -> Result<(String, u16), Failure> {
    let bad = || Failure::Usage(format!("bad address {address:?}: expected [HOST][:PORT]"));
    let (host, port) = match address.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            (h, p.parse::<u16>().map_err(|_| bad())?)
        }
        _ => (address, 502),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { default_host } else { host };
    Ok((host.to_string(), port))
}

async fn bind(address: &str, range: u16) -> Result<OsListener, Failure> {
    let (host, port) = host_port(address, "0.0.0.0")?;
    let mut last = None;
    for p in port..=port.saturating_add(range.max(1) - 1) {
        match OsListener::bind_host(&host, p).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    let e = last.map_or_else(|| anyhow!("no port to try"), anyhow::Error::from);
    Err(e.context(format!("cannot listen on {address}")).into())
}

async fn poll(args: PollArgs) -> Result<(), Failure> {
    let specs = specs(&args.registers)?;
    if args.rate <= 0.0 {
        return Err(Failure::Usage(format!(
            "bad --rate {}: must be > 0",
            args.rate
        )));
    }
    let serial = args.serial.clone().or_else(|| {
        args.address
            .starts_with('/')
            .then(|| args.address.clone().into())
    });
    let (host, port) = if serial.is_some() {
        (String::new(), 0)
    } else {
        host_port(&args.address, "localhost")?
    };
    let mut config = PollerConfig::new(format!("{host}:{port}"));
    if let Some(path) = &serial {
        if args.unit == 0 {
            return Err(Failure::Usage(
                "a serial line needs -u UNIT (1-247): unit 0 is a broadcast, never answered".into(),
            ));
        }
        config.address = path.display().to_string();
        config.serial = Some(SerialTarget {
            path: path.clone(),
            line: LineConfig {
                baud: args.baud,
                parity: args.parity,
                stop_bits: args.stopbits,
            },
            framing: if args.ascii {
                Framing::Ascii
            } else {
                Framing::Rtu
            },
        });
    }
    config.unit = args.unit;
    config.reach = args.reach;
    config.rate = seconds("--rate", args.rate)?;
    config.timeout = seconds("--timeout", args.timeout)?;
    let poller = Poller::spawn(config);
    // The registers to log, by register, with the number as the user wrote it.
    let mut shown: BTreeMap<Register, u32> = BTreeMap::new();
    for spec in &specs {
        for (i, (reg, _)) in spec.registers().enumerate() {
            poller.poll(reg, None);
            shown.entry(reg).or_insert(spec.begin + i as u32);
        }
    }
    let writes = async {
        for spec in specs.iter().filter(|s| !s.values.is_empty()) {
            let Some((first, _)) = spec.registers().next() else {
                continue;
            };
            match poller.write(first, &spec.values).await {
                Ok(()) => tracing::info!("wrote {}-{}", spec.begin, spec.end),
                Err(e) => tracing::warn!("writing {}-{}: {e}", spec.begin, spec.end),
            }
        }
    };
    tokio::select! {
        _ = shutdown() => return Ok(()),
        _ = writes => {}
    }
    let report = async {
        let mut last: BTreeMap<Register, Option<u16>> = BTreeMap::new();
        let mut load = String::new();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = format!("{:.2}", poller.load().0);
            if now != load {
                tracing::info!("load: {now}");
                load = now;
            }
            for (&reg, &number) in &shown {
                let val = poller.read(reg);
                let old = last.get(&reg).copied().flatten();
                if last.get(&reg).is_none_or(|o| *o != val) && (val.is_some() || old.is_some()) {
                    let fmt = |v: Option<u16>| v.map_or("None".to_string(), |v| v.to_string());
                    tracing::warn!("{number:5} == {:>5} (was: {})", fmt(val), fmt(old));
                    last.insert(reg, val);
                }
            }
        }
    };
    tokio::select! {
        _ = shutdown() => {}
        _ = report => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let hp = |a: &str| host_port(a, "H").ok();
        assert_eq!(hp(":1502"), Some(("H".into(), 1502)));
        assert_eq!(hp("localhost"), Some(("localhost".into(), 502)));
        assert_eq!(hp("10.0.0.1:7502"), Some(("10.0.0.1".into(), 7502)));
        assert_eq!(hp("[::1]:5020"), Some(("::1".into(), 5020)));
        assert_eq!(hp(""), Some(("H".into(), 502)));
        assert!(hp("host:port").is_none());
    }

    #[test]
    fn delays() {
        let d = |t: &str| delay_range(t).ok();
        let ms = Duration::from_millis;
        assert_eq!(d("0"), Some((ms(0), ms(0))));
        assert_eq!(d("2.5"), Some((ms(2500), ms(2500))));
        assert_eq!(d(".01-.1"), Some((ms(10), ms(100))));
        for bad in ["", "x", "-1", "0.2-0.1", "1-x"] {
            assert!(d(bad).is_none(), "{bad}");
        }
    }
}
