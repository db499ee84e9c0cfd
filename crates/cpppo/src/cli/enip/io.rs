//! `cpppo enip io`: a class 1 (implicit I/O) scanner for one adapter.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{ArgAction, Args};
use cpppo_enip::client::io::{parse_data, IoKind, IoParams, Point};
use cpppo_enip::client::io_refusal::refusal_text;
use cpppo_enip::client::io_run::{bind, drive_on, Control, Endpoints};
use cpppo_enip::client::io_scanner::{ScanEvent, Scanner};
use cpppo_enip::client::Options;
use serde_json::json;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::cli::enip::server::HeartbeatArgs;
use crate::cli::logging;

/// Arguments of `cpppo enip io`.
#[derive(Debug, Args)]
#[command(
    after_help = "DATA: output bytes, comma separated, decimal or 0x hex, zero-filled to \
the output size; further DATA lines are read from stdin.\n\
Input changes print one line each (`input 1,2,3,...`; --json: one object per line); the \
connection, late and missed packets, timeouts and reconnections are reported on stderr (--json: \
on stdout). Ctrl-C or SIGTERM sends Forward Close.\n\n\
Examples:\n  cpppo enip io -a 10.0.0.2 --input 100:8 --output 150:8 1,2,0x10\n  \
cpppo enip io -a 10.0.0.2 --input 100:8 --output 150:8 --config 1:0A0B --rpi 20 --json\n  \
cpppo enip io -a 10.0.0.2 --input 100:8 --input-only --multicast\n  \
cpppo enip io -a 10.0.0.2 --input 100:8 --input-only --input-only-point 199"
)]
pub struct IoArgs {
    /// The adapter's EtherNet/IP address.
    #[arg(
        short,
        long,
        default_value = "localhost:44818",
        value_name = "HOST[:PORT]"
    )]
    address: String,
    /// Input assembly (T->O) instance and size in bytes.
    #[arg(long, value_name = "INSTANCE:SIZE")]
    input: String,
    /// Output assembly (O->T) instance and size in bytes (Exclusive Owner).
    #[arg(long, value_name = "INSTANCE:SIZE", default_value = "150:0")]
    output: String,
    /// Configuration assembly instance, and configuration data in hex (whole words).
    #[arg(long, value_name = "INSTANCE[:HEX]", default_value = "1")]
    config: String,
    /// Requested packet interval, milliseconds.
    #[arg(long, default_value_t = 10.0, value_name = "MS")]
    rpi: f64,
    /// Ask for multicast T->O.
    #[arg(long)]
    multicast: bool,
    /// Use a Large Forward Open (0x5B).
    #[arg(long)]
    large: bool,
    /// Input Only connection (O->T heartbeats to point 238, or --input-only-point).
    #[arg(long, conflicts_with = "listen_only")]
    input_only: bool,
    /// Listen Only connection (O->T heartbeats to point 237, or --listen-only-point; needs a
    /// multicast owner).
    #[arg(long)]
    listen_only: bool,
    #[command(flatten)]
    heartbeat: HeartbeatArgs,
    /// Transport class 0 (with --input-only): no sequence counts, T->O is the input alone.
    #[arg(long)]
    class0: bool,
    /// Print events as JSON objects, one per line.
    #[arg(long)]
    json: bool,
    /// Connection timeout multiplier code (0 = x4 ... 7 = x512).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=7))]
    timeout_multiplier: u8,
    /// The adapter's class 1 UDP port.
    #[arg(long, default_value_t = 2222)]
    io_port: u16,
    /// Local UDP address T->O arrives on (another port than 2222 is announced to the adapter).
    #[arg(long, default_value = "0.0.0.0:2222", value_name = "IP:PORT")]
    bind: String,
    /// EtherNet/IP timeout (TCP connect and replies), seconds.
    #[arg(short = 't', long, default_value_t = 5.0)]
    timeout: f64,
    /// Display logging information (repeat for more).
    #[arg(short = 'v', long, action = ArgAction::Count)]
    verbose: u8,
    /// Log file (rotated at 10 MB, 5 kept).
    #[arg(short = 'l', long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Output data to send first.
    data: Option<String>,
}

fn point(what: &str, text: &str) -> Result<Point, String> {
    let bad = || format!("bad --{what} {text:?}: expected INSTANCE:SIZE, eg. 100:8");
    let (i, s) = text.split_once(':').ok_or_else(bad)?;
    let instance = number(i).filter(|&n| (1..=0xFFFF).contains(&n));
    let size = number(s).filter(|&n| n <= 0xFFF0);
    match (instance, size) {
        (Some(i), Some(s)) => Ok(Point {
            instance: i as u16,
            size: s as u16,
        }),
        _ => Err(bad()),
    }
}

fn number(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

fn config(text: &str) -> Result<(Option<u16>, Vec<u8>), String> {
    let bad = |why: &str| format!("bad --config {text:?}: {why}");
    let (inst, hex) = text.split_once(':').unwrap_or((text, ""));
    if inst.trim() == "none" {
        return Ok((None, Vec::new()));
    }
    let inst = number(inst)
        .filter(|&n| (1..=0xFFFF).contains(&n))
        .ok_or_else(|| bad("expected INSTANCE[:HEX], eg. 1 or 1:0A0B"))?;
    let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    if hex.len() % 4 != 0 {
        return Err(bad(
            "config data must be whole 16-bit words (4 hex digits each)",
        ));
    }
    let data = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| bad("config data is not hex"))?;
    Ok((Some(inst as u16), data))
}

impl IoArgs {
    fn params(&self) -> Result<IoParams, String> {
        if !(self.rpi.is_finite() && self.rpi >= 0.1 && self.rpi <= 4_000_000.0) {
            return Err(format!(
                "bad --rpi {}: expected 0.1 to 4000000 ms",
                self.rpi
            ));
        }
        let kind = match (self.input_only, self.listen_only) {
            (true, _) => IoKind::InputOnly,
            (_, true) => IoKind::ListenOnly,
            _ => IoKind::ExclusiveOwner,
        };
        if self.class0 && kind != IoKind::InputOnly {
            return Err(
                "--class0 needs --input-only (class 0 is for Input Only connections)".into(),
            );
        }
        let (input_only_point, listen_only_point) = self.heartbeat_points(kind)?;
        let input = point("input", &self.input)?;
        let output = point("output", &self.output)?;
        if kind == IoKind::ExclusiveOwner && output.size == 0 {
            return Err("an Exclusive Owner needs --output INSTANCE:SIZE \
                 (or --input-only / --listen-only)"
                .into());
        }
        let (config, config_data) = config(&self.config)?;
        let params = IoParams {
            input,
            output,
            config,
            config_data,
            kind,
            rpi: Duration::from_secs_f64(self.rpi / 1000.0),
            multicast: self.multicast,
            large: self.large,
            timeout_multiplier: self.timeout_multiplier,
            class0: self.class0,
            input_only_point,
            listen_only_point,
            ..IoParams::default()
        };
        params.validate()?;
        Ok(params)
    }

    /// The heartbeat points (a point flag without its kind of connection is refused: it would
    /// change nothing).
    fn heartbeat_points(&self, kind: IoKind) -> Result<(u32, u32), String> {
        let HeartbeatArgs {
            input_only_point: input_only,
            listen_only_point: listen_only,
        } = self.heartbeat;
        if input_only.is_some() && kind != IoKind::InputOnly {
            return Err("--input-only-point needs --input-only".into());
        }
        if listen_only.is_some() && kind != IoKind::ListenOnly {
            return Err("--listen-only-point needs --listen-only".into());
        }
        let defaults = IoParams::default();
        Ok((
            input_only.unwrap_or(defaults.input_only_point),
            listen_only.unwrap_or(defaults.listen_only_point),
        ))
    }

    fn options(&self) -> Result<Options, String> {
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout < 1e6) {
            return Err(format!("bad --timeout {}", self.timeout));
        }
        Ok(Options {
            timeout: Duration::from_secs_f64(self.timeout),
            ..Options::simple()
        })
    }
}

/// Runs `cpppo enip io`.
pub fn run(args: IoArgs) -> ExitCode {
    if let Err(e) = logging::init(args.verbose, args.log.as_deref()) {
        eprintln!("warning: cannot open log: {e}");
    }
    let prepared = (|| {
        let params = args.params()?;
        let options = args.options()?;
        let adapter = cpppo_enip::client::resolve(&args.address).map_err(|e| e.to_string())?;
        let local: SocketAddr = args
            .bind
            .parse()
            .map_err(|_| format!("bad --bind {:?}: expected IP:PORT", args.bind))?;
        let first = match &args.data {
            Some(d) => Some(parse_data(d, params.o_t_data())?),
            None => None,
        };
        Ok::<_, String>((params, options, adapter, local, first))
    })();
    let (params, options, adapter, local, first) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cpppo enip io: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match cpppo_net::sys::runtime(false) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cpppo enip io: {e}");
            return ExitCode::from(1);
        }
    };
    let ends = Endpoints {
        io_port: args.io_port,
        bind: local,
        connect_timeout: options.timeout,
        ..Endpoints::to(adapter)
    };
    let json = args.json;
    let result = rt.block_on(scan(params, options, ends, first, json));
    // The stdin reader thread may still be blocked on a read: do not wait for it.
    rt.shutdown_background();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cpppo enip io: {e}");
            ExitCode::from(1)
        }
    }
}

/// Scans until stopped; Ok(false) if the adapter refused the connection for good.
async fn scan(
    mut params: IoParams,
    options: Options,
    ends: Endpoints,
    first: Option<Vec<u8>>,
    json: bool,
) -> Result<bool, String> {
    let udp = bind(ends.bind)
        .await
        .map_err(|e| format!("cannot bind UDP {}: {e}", ends.bind))?;
    let local = udp.local_addr().map_err(|e| e.to_string())?;
    params.t_o_port = local.port();
    let size = params.o_t_data();
    let seed = std::process::id().rotate_left(16)
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    let mut scanner = Scanner::new(params, options, seed).map_err(|e| e.to_string())?;
    if let Some(data) = first {
        scanner.set_output(&data);
    }
    let (control, rx) = unbounded_channel();
    read_stdin(control.clone(), size);
    let stop = control.clone();
    tokio::spawn(async move {
        if cpppo_net::sys::wait_for_signal().await.is_ok() {
            let _ = stop.send(Control::Stop);
        }
    });
    report(
        json,
        "bound",
        json!({"udp": local.to_string()}),
        &format!("UDP {local}"),
    );
    let mut refused = false;
    let scanner = drive_on(scanner, ends, udp, rx, |_, event| {
        refused |= matches!(event, ScanEvent::Refused { retry: false, .. });
        print_event(json, &event);
    })
    .await
    .map_err(|e| e.to_string())?;
    drop(control);
    let s = scanner.stats();
    report(
        json,
        "stats",
        json!({"sent": s.sent, "received": s.received, "missed": s.missed, "late": s.late, "stale": s.stale}),
        &format!(
            "sent {} received {} missed {} late {} stale {}",
            s.sent, s.received, s.missed, s.late, s.stale
        ),
    );
    Ok(!refused)
}

/// DATA lines from stdin, each sent as new output (a bad line is reported and skipped).
fn read_stdin(control: UnboundedSender<Control>, size: usize) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_data(line, size) {
                Ok(data) => {
                    if control.send(Control::Output(data)).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("cpppo enip io: {e}"),
            }
        }
    });
}

fn bytes(data: &[u8]) -> String {
    data.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

fn report(json: bool, event: &str, mut fields: serde_json::Value, line: &str) {
    if json {
        fields["event"] = json!(event);
        println!("{fields}");
    } else {
        eprintln!("{line}");
    }
}

fn print_event(json: bool, event: &ScanEvent) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    match event {
        ScanEvent::Input(data) if json => {
            println!("{}", json!({"event": "input", "data": data}));
        }
        ScanEvent::Input(data) => println!("input {}", bytes(data)),
        ScanEvent::Opened { opened, multicast } => report(
            json,
            "opened",
            json!({
                "o_t_id": opened.o_t_id, "t_o_id": opened.t_o_id,
                "o_t_api_ms": ms(opened.o_t_api), "t_o_api_ms": ms(opened.t_o_api),
                "multicast": multicast.map(|m| m.to_string()),
            }),
            &format!(
                "opened O->T 0x{:08X} T->O 0x{:08X} API {:.3}/{:.3} ms{}",
                opened.o_t_id,
                opened.t_o_id,
                ms(opened.o_t_api),
                ms(opened.t_o_api),
                multicast.map_or(String::new(), |m| format!(" multicast {m}"))
            ),
        ),
        ScanEvent::Refused { status, retry } => {
            let text = refusal_text(status.general, &status.extended);
            report(
                json,
                "refused",
                json!({"general": status.general, "extended": status.extended, "retry": retry,
                       "text": text}),
                &format!(
                    "Forward Open refused: {status}{}{text}{}",
                    if text.is_empty() { "" } else { ": " },
                    if *retry { "" } else { " (not retrying)" }
                ),
            )
        }
        ScanEvent::Missed { count } => report(
            json,
            "missed",
            json!({"count": count}),
            &format!("missed {count} packet(s)"),
        ),
        ScanEvent::Late { by } => report(
            json,
            "late",
            json!({"late_ms": ms(*by)}),
            &format!("late by {:.3} ms", ms(*by)),
        ),
        ScanEvent::TimedOut => report(json, "timeout", json!({}), "connection timed out"),
        ScanEvent::Retrying { why, after } => report(
            json,
            "retrying",
            json!({"why": why, "after_ms": ms(*after)}),
            &format!("{why}; retrying in {:.1} s", after.as_secs_f64()),
        ),
        ScanEvent::Closed(status) => report(
            json,
            "closed",
            json!({"status": status.to_string()}),
            &format!("closed: {status}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_config() {
        assert_eq!(
            point("input", "100:8"),
            Ok(Point {
                instance: 100,
                size: 8
            })
        );
        assert!(point("input", "100").unwrap_err().contains("INSTANCE:SIZE"));
        assert!(point("input", "0:8").is_err());
        assert_eq!(config("1"), Ok((Some(1), vec![])));
        assert_eq!(config("1:0A0B"), Ok((Some(1), vec![10, 11])));
        assert!(config("1:0A").unwrap_err().contains("whole 16-bit words"));
        assert!(config("1:zzzz").unwrap_err().contains("not hex"));
        assert_eq!(config("none"), Ok((None, vec![])));
    }

    fn params(args: &[&str]) -> Result<IoParams, String> {
        #[derive(clap::Parser)]
        struct Top {
            #[command(flatten)]
            io: IoArgs,
        }
        let argv = ["io", "--input", "100:8"].iter().chain(args);
        let top = <Top as clap::Parser>::try_parse_from(argv).map_err(|e| e.to_string())?;
        top.io.params()
    }

    #[test]
    fn heartbeat_points_from_flags() {
        let io = params(&["--input-only", "--input-only-point", "199"]).unwrap();
        assert_eq!((io.kind, io.o_t_point()), (IoKind::InputOnly, 199));
        let path = io.connection_path().unwrap();
        assert_eq!(path, [0x20, 0x04, 0x24, 0x01, 0x2C, 199, 0x2C, 100]);
        let lo = params(&["--listen-only", "--listen-only-point", "454"]).unwrap();
        assert_eq!(lo.o_t_point(), 454);
        assert_eq!(params(&["--input-only"]).unwrap().o_t_point(), 238);
        assert_eq!(params(&["--listen-only"]).unwrap().o_t_point(), 237);
        let err = params(&["--input-only-point", "199", "--output", "150:8"]).unwrap_err();
        assert_eq!(err, "--input-only-point needs --input-only");
        let err = params(&["--input-only", "--listen-only-point", "198"]).unwrap_err();
        assert_eq!(err, "--listen-only-point needs --listen-only");
        assert!(params(&["--input-only", "--input-only-point", "0"]).is_err());
    }
}
