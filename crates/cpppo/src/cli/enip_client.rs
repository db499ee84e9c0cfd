//! `cpppo enip client | get-attribute | list-services | poll | thruput`: the EtherNet/IP
//! client tools, with cpppo's options and output.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Args;
use cpppo_enip::client::logix::Templates;
use cpppo_enip::client::operation::{parse_operations, Literal, Operation};
use cpppo_enip::client::poller::{PollEvent, Poller};
use cpppo_enip::client::proxy::{self, Proxy};
use cpppo_enip::client::route::{parse_route_path, parse_send_path, Route};
use cpppo_enip::client::{ClientError, Connector, ListReply, Options, Pipeline, Transaction};

use super::logging;

/// How List replies are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// One compact line per reply.
    Compact,
    /// cpppo's dotted keys (`'item[0].identity_object.product_name': ...`), as its enip_client
    /// prints them (the default of the `enip_client` command).
    Cpppo,
}

/// Options shared by the verbs that address a device.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// EtherNet/IP interface[:port] to connect to.
    #[arg(
        short = 'a',
        long,
        default_value = "localhost:44818",
        value_name = "HOST[:PORT]"
    )]
    pub address: String,
    /// EtherNet/IP timeout, in seconds.
    #[arg(short = 't', long, default_value_t = 5.0)]
    pub timeout: f64,
    /// Route path: PORT/LINK, JSON (a segment, "1/0" or a list), or 0/false for none.
    #[arg(long, value_name = "ROUTE_PATH")]
    pub route_path: Option<String>,
    /// Send path to the UCMM (default @6/1); '' for none (no Unconnected Send).
    #[arg(long, value_name = "SEND_PATH")]
    pub send_path: Option<String>,
    /// Unconnected Send tick length N in 0..=15 (each tick is 2**N ms).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..=15))]
    pub priority_time_tick: u8,
    /// Unconnected Send timeout ticks in 1..=255.
    #[arg(long, default_value_t = 157, value_parser = clap::value_parser!(u8).range(1..=255))]
    pub timeout_ticks: u8,
    /// Access a simple (non-routing) device, eg. a PowerFlex or MicroLogix: no send/route path.
    #[arg(short = 'S', long)]
    pub simple: bool,
    /// Bind to this local interface IP[:PORT] before connecting or sending.
    #[arg(long, value_name = "IP[:PORT]")]
    pub source_address: Option<String>,
    /// Display logging information (repeat for more).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log file (rotated at 10 MB, 5 kept).
    #[arg(short = 'l', long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

impl Target {
    /// The connector options these arguments describe.
    pub fn options(&self) -> Result<Options, String> {
        let mut route = if self.simple {
            Route::simple()
        } else {
            Route::logix()
        };
        if let Some(text) = &self.route_path {
            route.route_path = parse_route_path(text)?;
        }
        match &self.send_path {
            Some(text) => route.send_path = parse_send_path(text)?,
            // No route path: nothing to route, so no Unconnected Send either.
            None if route.route_path.is_none() => route.send_path = None,
            None => {}
        }
        route.priority_time_tick = self.priority_time_tick;
        route.timeout_ticks = self.timeout_ticks;
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout < 1e6) {
            return Err(format!("bad timeout {}", self.timeout));
        }
        Ok(Options {
            timeout: Duration::from_secs_f64(self.timeout),
            route,
            source_address: self
                .source_address
                .as_deref()
                .map(parse_source_address)
                .transpose()?,
            ..Options::default()
        })
    }
}

/// `cpppo enip client`: read and write tags and attributes.
#[derive(Debug, Args)]
#[command(after_help = CLIENT_HELP)]
pub struct ClientArgs {
    #[command(flatten)]
    /// The device.
    pub target: Target,
    /// Use UDP/IP (List commands).
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// Allow multiple peers and a broadcast address (UDP List commands).
    #[arg(short = 'b', long)]
    pub broadcast: bool,
    /// Print a summary of operations to stdout.
    #[arg(short = 'p', long = "print")]
    pub print: bool,
    /// Do not print the summary.
    #[arg(long = "no-print", overrides_with = "print")]
    pub no_print: bool,
    /// Print results as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Output form of List Identity/Services/Interfaces and legacy replies.
    #[arg(long, value_enum, default_value = "compact", overrides_with = "format")]
    pub format: ListFormat,
    /// Repeat the operations this many times.
    #[arg(short = 'r', long, default_value_t = 1)]
    pub repeat: usize,
    /// Use Multiple Service Packet requests targeting ~500 bytes.
    #[arg(short = 'm', long)]
    pub multiple: bool,
    /// Multiple Service Packet size limit in bytes (implies -m).
    #[arg(long, value_name = "BYTES")]
    pub multiple_limit: Option<usize>,
    /// Pipeline requests to this depth.
    #[arg(short = 'd', long, default_value_t = 1)]
    pub depth: usize,
    /// Always use Read/Write Tag Fragmented.
    #[arg(short = 'f', long)]
    pub fragment: bool,
    /// List Services upon connection.
    #[arg(short = 's', long)]
    pub list_services: bool,
    /// List Identity upon connection.
    #[arg(short = 'i', long)]
    pub list_identity: bool,
    /// List Interfaces upon connection.
    #[arg(short = 'I', long)]
    pub list_interfaces: bool,
    /// Send a legacy command (its code, eg. 0x0001).
    #[arg(short = 'L', long, value_name = "COMMAND")]
    pub legacy: Option<String>,
    /// Profiling (accepted for compatibility; ignored).
    #[arg(short = 'P', long, hide = true)]
    pub profile: bool,
    /// Open a connection (Forward Open; Large when the size needs it) and send connected.
    #[arg(short = 'c', long)]
    pub connected: bool,
    /// Tags to read/write ('-' reads them from stdin), eg. SCADA[1] 'SCADA[2-10]+4=(DINT)3,4,5'.
    pub tags: Vec<String>,
}

const CLIENT_HELP: &str = "\
Operations: Tag[<first>-<last>]+<offset>=(TYPE)<value>,<value>   eg.
  SCADA[1]  SCADA[1-10]  SCADA*20  SCADA[0-9]+16  'SCADA[1-3]=(DINT)1,2,3'
  'TEXT=(SSTRING)\"Hello, world!\"'  @1/1/7  '@0x93/3/10=(REAL)12.5'
A read larger than one reply is fetched whole (Read Tag Fragmented).

Examples:
  cpppo enip client -a 10.0.0.5 -p 'SCADA[0-9]' 'SCADA[1]=(INT)42'
  cpppo enip client -a 10.0.0.5 -p -d 20 -m 'SCADA[0-999]' -r 100
  cpppo enip client -a drive -S -p @0x93/3/10          # simple device, no routing
  cpppo enip client -u -b -a 255.255.255.255 -i        # discover devices

Exit status: 0 all succeeded, 1 some failed, 2 bad arguments or operations.";

/// `cpppo enip get-attribute`: Get/Set Attribute Single/All by numeric address.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cpppo enip get-attribute -a 10.0.0.5 @1/1 @1/1/7\n  cpppo enip get-attribute -a drive -S '@0x93/3/10=(REAL)12.5'"
)]
pub struct GetAttributeArgs {
    #[command(flatten)]
    /// The device.
    pub target: Target,
    /// Print a summary of operations (the default).
    #[arg(long = "print")]
    pub print: bool,
    /// Do not print the summary.
    #[arg(long = "no-print")]
    pub no_print: bool,
    /// Print results as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Use Multiple Service Packet requests targeting ~500 bytes.
    #[arg(short = 'm', long)]
    pub multiple: bool,
    /// Multiple Service Packet size limit in bytes (implies -m).
    #[arg(long, value_name = "BYTES")]
    pub multiple_limit: Option<usize>,
    /// Pipeline requests to this depth.
    #[arg(short = 'd', long, default_value_t = 1)]
    pub depth: usize,
    /// Profiling (accepted for compatibility; ignored).
    #[arg(short = 'P', long, hide = true)]
    pub profile: bool,
    /// Class/Instance[/Attribute][=(TYPE)value,...] ('-' reads from stdin), eg. @2/1 @1/1/7.
    #[arg(required = true)]
    pub tags: Vec<String>,
}

/// `cpppo enip list-services`: List Services / Identity / Interfaces over TCP or UDP.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cpppo enip list-services -a 10.0.0.5 -i\n  cpppo enip list-services -u -b -a 255.255.255.255 -i -t 2"
)]
pub struct ListServicesArgs {
    /// EtherNet/IP interface[:port] to query.
    #[arg(short = 'a', long, default_value = "localhost:44818")]
    pub address: String,
    /// Use UDP/IP.
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// Allow multiple peers and a broadcast address (collects replies for the timeout).
    #[arg(short = 'b', long)]
    pub broadcast: bool,
    /// Also List Identity.
    #[arg(short = 'i', long)]
    pub list_identity: bool,
    /// Also List Interfaces.
    #[arg(short = 'I', long)]
    pub list_interfaces: bool,
    /// Timeout, in seconds.
    #[arg(short = 't', long, default_value_t = 5.0)]
    pub timeout: f64,
    /// Bind to this local interface IP[:PORT] first (eg. to broadcast from one interface).
    #[arg(short = 'S', long, value_name = "IP[:PORT]")]
    pub source_address: Option<String>,
    /// Print results as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Output form of the replies.
    #[arg(long, value_enum, default_value = "compact", overrides_with = "format")]
    pub format: ListFormat,
    /// Display logging information.
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `cpppo enip poll`: poll named parameters (PowerFlex 750 by default) or tags cyclically.
#[derive(Debug, Args)]
#[command(
    after_help = "Parameters: names from the built-in tables (Identity, TCPIP, Product Name and the \
PowerFlex 750's Motor Velocity, Output Current, ...), matched ignoring case and spaces; with \
--pass-thru also tags and @class/instance/attribute.\n\nExamples:\n  cpppo enip poll -v TCPIP Identity\n  \
cpppo enip poll -a drive -c 0.5 'Motor Velocity' 'Output Current'"
)]
pub struct PollArgs {
    #[command(flatten)]
    /// The device.
    pub target: Target,
    /// Poll cycle, in seconds.
    #[arg(short = 'c', long, default_value_t = 1.0)]
    pub cycle: f64,
    /// Stop after this many cycles (default: poll until interrupted).
    #[arg(long)]
    pub cycles: Option<u64>,
    /// Pipeline depth.
    #[arg(short = 'd', long, default_value_t = 2)]
    pub depth: usize,
    /// Use Multiple Service Packet requests targeting ~500 bytes.
    #[arg(short = 'm', long)]
    pub multiple: bool,
    /// Multiple Service Packet size limit in bytes (implies -m).
    #[arg(long, value_name = "BYTES")]
    pub multiple_limit: Option<usize>,
    /// Parameter table: powerflex750 (default) or generic (Identity and TCP/IP only).
    #[arg(short = 'g', long, default_value = "powerflex750")]
    pub gateway: String,
    /// Allow unrecognized parameters as tags or CIP addresses.
    #[arg(short = 'p', long = "pass-thru")]
    pub pass_thru: bool,
    /// Print values as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Parameters to poll.
    #[arg(required = true)]
    pub parameters: Vec<String>,
}

/// `cpppo enip thruput`: transactions per second at a depth / multiple / repeat.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  cpppo enip thruput -a 127.0.0.1 -d 20 -m 500 -r 10000 'SCADA[0-9]'"
)]
pub struct ThruputArgs {
    /// Pipelining depth.
    #[arg(short = 'd', long, default_value_t = 1)]
    pub depth: usize,
    /// Multiple Service Packet size limit (0: none).
    #[arg(short = 'm', long, default_value_t = 0)]
    pub multiple: usize,
    /// Repeat the requests this many times.
    #[arg(short = 'r', long, default_value_t = 1)]
    pub repeat: usize,
    /// Hostname[:port] of the target controller.
    #[arg(short = 'a', long, default_value = "localhost:44818")]
    pub address: String,
    /// I/O timeout seconds.
    #[arg(short = 't', long, default_value_t = 5.0)]
    pub timeout: f64,
    /// Access a simple (non-routing) device.
    #[arg(short = 'S', long)]
    pub simple: bool,
    /// Send connected (Forward Open).
    #[arg(short = 'c', long)]
    pub connected: bool,
    /// Print each result (as cpppo's thruput does).
    #[arg(short = 'p', long = "print")]
    pub print: bool,
    /// Tags to read/write.
    #[arg(required = true)]
    pub tags: Vec<String>,
}

/// `IP` or `IP:PORT` (cpppo's `source_address`): the local address to bind.
fn parse_source_address(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    let bad = || format!("bad --source-address {text:?}: expected IP[:PORT], eg. 192.168.1.5");
    if let Ok(a) = text.parse::<std::net::SocketAddr>() {
        return Ok(a);
    }
    text.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 0))
        .map_err(|_| bad())
}

/// A failure that has been reported already: exit 2 (usage) or 1 (I/O).
fn usage(line: impl std::fmt::Display) -> ExitCode {
    eprintln!("{line}");
    ExitCode::from(2)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(cpppo_net::sys::runtime(false)?)
}

/// Tags from the command line, with '-' replaced by the lines of stdin.
fn gather_tags(tags: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tags {
        if t == "-" {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines().map_while(Result::ok) {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    out.push(line.to_owned());
                }
            }
        } else {
            out.push(t.clone());
        }
    }
    out
}

/// Parses the operations; they run `repeat` times over, generated lazily.
fn parse_ops(tags: &[String], repeat: usize) -> Result<Repeated, String> {
    let ops = parse_operations(tags).map_err(|e| e.to_string())?;
    let count = ops.len().saturating_mul(repeat.max(1));
    Ok(Repeated { ops, count })
}

/// Operations repeated: `count` of them in all, cycling through `ops`.
struct Repeated {
    ops: Vec<Operation>,
    count: usize,
}

impl Repeated {
    /// A pipeline of them over `conn` (each operation planned once, never copied).
    fn pipeline(self, conn: &mut Connector, depth: usize, multiple: usize) -> Pipeline<'_> {
        Pipeline::cycling(conn, self.ops, Some(self.count), depth, multiple)
    }
}

fn init_logging(verbose: u8, log: Option<&std::path::Path>) {
    if let Err(e) = logging::init(verbose, log) {
        eprintln!("warning: cannot open log: {e}");
    }
}

/// Runs `cpppo enip client`.
pub fn run_client(args: ClientArgs) -> ExitCode {
    init_logging(args.target.verbose, args.target.log.as_deref());
    let options = match args.target.options() {
        Ok(o) => o,
        Err(e) => return usage(e),
    };
    let tags = gather_tags(&args.tags);
    let ops = match parse_ops(&tags, args.repeat) {
        Ok(ops) => ops,
        Err(e) => return usage(e),
    };
    let legacy = match args.legacy.as_deref().map(parse_command) {
        Some(Err(e)) => return usage(e),
        Some(Ok(c)) => Some(c),
        None => None,
    };
    let result = runtime().and_then(|rt| rt.block_on(client(&args, options, ops, legacy)));
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cpppo enip client: {}", error_line(&e));
            ExitCode::from(1)
        }
    }
}

/// An error and its causes on one line, each cause once (a cause whose text the line already
/// ends with, as an I/O error wrapped with its own message, is not repeated).
fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The Multiple Service Packet limit: the explicit one, 500 for `-m`, else 0 (none).
fn msp_limit(multiple: bool, limit: Option<usize>) -> usize {
    limit.unwrap_or(if multiple { 500 } else { 0 })
}

fn parse_command(text: &str) -> Result<u16, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| format!("bad legacy command {text:?}: expected a number such as 0x0001"))
}

async fn client(
    args: &ClientArgs,
    mut options: Options,
    ops: Repeated,
    legacy: Option<u16>,
) -> anyhow::Result<usize> {
    options.connected = args.connected;
    if let Some(m) = Some(msp_limit(args.multiple, args.multiple_limit)).filter(|&m| m > 0) {
        options.connection_size = options
            .connection_size
            .max(u32::try_from(m + 32).unwrap_or(u32::MAX));
    }
    let address = &args.target.address;
    let mut failures = 0;
    let lists: Vec<(&str, u16)> = [
        (legacy.is_some(), "Legacy", legacy.unwrap_or(1)),
        (args.list_services, "List Services", 0x04),
        (args.list_identity, "List Identity", 0x63),
        (args.list_interfaces, "List Interfaces", 0x64),
    ]
    .into_iter()
    .filter(|(on, ..)| *on)
    .map(|(_, name, code)| (name, code))
    .collect();
    if args.udp {
        let mut conn = Connector::udp(address, args.broadcast, options.clone()).await?;
        for (name, code) in &lists {
            failures +=
                print_list(&mut conn, name, *code, list_style(args.json, args.format)).await;
        }
        if ops.count > 0 {
            anyhow::bail!("tag operations need a TCP session (drop -u)");
        }
        return Ok(failures);
    }
    let mut conn = Connector::connect(address, options)
        .await
        .with_context(|| format!("cannot open a session with {address}"))?;
    for (name, code) in &lists {
        failures += print_list(&mut conn, name, *code, list_style(args.json, args.format)).await;
    }
    if ops.count > 0 {
        let begun = Instant::now();
        let count = ops.count;
        let printing = args.print && !args.no_print;
        let mut pipe = ops
            .pipeline(
                &mut conn,
                args.depth,
                msp_limit(args.multiple, args.multiple_limit),
            )
            .fragmented(args.fragment);
        // Printed or --json, structure replies (and everything after the first, to keep the
        // order) wait for the controller's templates, uploaded once the operations are done.
        let mut held = Vec::new();
        while let Some(t) = pipe.next().await {
            let t = t?;
            if t.value.is_none() {
                failures += 1;
            }
            if (args.json || printing) && (!held.is_empty() || struct_handle(&t).is_some()) {
                held.push(t);
                continue;
            }
            report(&t, printing, args.json);
        }
        drop(pipe);
        if !held.is_empty() {
            let templates = match Templates::upload(&mut conn).await {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!("structure templates not uploaded: {e}");
                    None
                }
            };
            for t in &held {
                report_struct(t, templates.as_ref(), args.json);
            }
        }
        let elapsed = begun.elapsed().as_secs_f64().max(1e-9);
        tracing::info!(
            "Client Tag I/O  Average {:7.3} TPS ({:7.3}s ea).",
            count as f64 / elapsed,
            elapsed / count as f64
        );
    }
    let _ = conn.close().await;
    Ok(failures)
}

/// The structure handle of a read reply's data, if it is a structure (not STRING).
fn struct_handle(t: &Transaction) -> Option<u16> {
    let reply = cpppo_cip::MrReply::parse(&t.reply).ok()?;
    match cpppo_cip::TagType::parse(reply.data).ok()? {
        (cpppo_cip::TagType::Struct(h), _) if h != cpppo_cip::types::LOGIX_STRING_HANDLE => Some(h),
        _ => None,
    }
}

/// A line (`--json`, or cpppo's) whose structure data is shown as objects by its template.
fn report_struct(t: &Transaction, templates: Option<&Templates>, json: bool) {
    let udt = struct_handle(t).and_then(|h| templates?.get(h));
    let bytes: Option<Vec<u8>> = t.value.as_ref().and_then(|values| {
        values
            .iter()
            .map(|v| match v {
                Literal::Int(b) => u8::try_from(*b).ok(),
                _ => None,
            })
            .collect()
    });
    let (Some(udt), Some(bytes)) = (udt, bytes) else {
        return report(t, true, json);
    };
    report(t, false, false);
    if json {
        let mut line = t.json();
        line["value"] = cpppo_enip::client::logix::decode(udt, &bytes);
        line["type"] = serde_json::Value::from(udt.name.as_str());
        println!("{line}");
    } else {
        println!(
            "{}",
            t.line_showing(&cpppo_enip::client::logix::python(udt, &bytes))
        );
    }
}

fn report(t: &Transaction, printing: bool, json: bool) {
    if !t.status.is_ok() {
        tracing::warn!(
            "Client {} returned non-zero status: {}",
            t.description,
            t.status
        );
    }
    if json {
        println!("{}", t.json());
    } else if printing {
        println!("{}", t.line());
    }
}

/// How List replies are printed: JSON wins over `--format`.
#[derive(Debug, Clone, Copy)]
enum ListStyle {
    Json,
    Text(ListFormat),
}

fn list_style(json: bool, format: ListFormat) -> ListStyle {
    if json {
        ListStyle::Json
    } else {
        ListStyle::Text(format)
    }
}

async fn print_list(conn: &mut Connector, name: &str, code: u16, style: ListStyle) -> usize {
    match conn.list(code).await {
        Ok(replies) if !replies.is_empty() => {
            for (i, (peer, items)) in replies.iter().enumerate() {
                match style {
                    ListStyle::Json => println!("{}", list_json(name, *peer, items)),
                    ListStyle::Text(ListFormat::Cpppo) => {
                        // cpppo names the legacy command by its code: "Legacy 0x0001".
                        let name = match name {
                            "Legacy" => format!("Legacy 0x{code:04x}"),
                            _ => name.to_owned(),
                        };
                        println!("{}", super::dotted::reply(&name, i, *peer, items))
                    }
                    ListStyle::Text(ListFormat::Compact) => {
                        println!("{name} {i:2} from {peer}: {}", list_text(items))
                    }
                }
            }
            0
        }
        Ok(_) => {
            tracing::warn!("No {name} response");
            1
        }
        Err(e) => {
            eprintln!("No {name} response: {e}");
            1
        }
    }
}

fn list_text(items: &[ListReply]) -> String {
    let mut parts = Vec::new();
    for item in items {
        match item {
            ListReply::Identity(id) => parts.push(format!(
                "{{vendor_id: {}, device_type: {}, product_code: {}, revision: {}.{}, status: 0x{:04X}, serial_number: 0x{:08X}, product_name: {:?}, state: {}, socket: {}}}",
                id.vendor_id, id.device_type, id.product_code, id.revision.0, id.revision.1,
                id.status, id.serial_number, id.product_name, id.state, id.socket
            )),
            ListReply::Service(s) => parts.push(format!(
                "{{version: {}, capability: 0x{:04X}, service_name: {:?}}}",
                s.version, s.capability, s.name
            )),
            ListReply::Other { type_id, data } => {
                parts.push(format!("{{type_id: 0x{type_id:04X}, length: {}}}", data.len()))
            }
        }
    }
    format!("[{}]", parts.join(", "))
}

fn list_json(name: &str, peer: std::net::SocketAddr, items: &[ListReply]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|item| match item {
            ListReply::Identity(id) => serde_json::json!({
                "type": "identity", "vendor_id": id.vendor_id, "device_type": id.device_type,
                "product_code": id.product_code, "revision": [id.revision.0, id.revision.1],
                "status": id.status, "serial_number": id.serial_number,
                "product_name": id.product_name, "state": id.state, "socket": id.socket.to_string(),
            }),
            ListReply::Service(s) => serde_json::json!({
                "type": "service", "version": s.version, "capability": s.capability, "name": s.name,
            }),
            ListReply::Other { type_id, data } => serde_json::json!({
                "type_id": type_id, "data": data,
            }),
        })
        .collect();
    serde_json::json!({"command": name, "peer": peer.to_string(), "items": items})
}

/// Runs `cpppo enip get-attribute`.
pub fn run_get_attribute(args: GetAttributeArgs) -> ExitCode {
    init_logging(args.target.verbose, args.target.log.as_deref());
    let options = match args.target.options() {
        Ok(o) => o,
        Err(e) => return usage(e),
    };
    let tags = gather_tags(&args.tags);
    let ops = match parse_ops(&tags, 1) {
        Ok(ops) => ops,
        Err(e) => return usage(e),
    };
    if let Some(op) = ops.ops.iter().find(|o| {
        matches!(
            o.path.first(),
            Some(cpppo_enip::client::operation::PathStep::Symbolic(_))
        )
    }) {
        return usage(format!(
            "bad operation {:?}: get-attribute takes @class/instance[/attribute]",
            op.to_string()
        ));
    }
    let printing = !args.no_print;
    let run = async {
        let mut conn = Connector::connect(&args.target.address, options).await?;
        let mut failures = 0;
        let mut pipe = ops
            .pipeline(
                &mut conn,
                args.depth,
                msp_limit(args.multiple, args.multiple_limit),
            )
            .attributes(true);
        while let Some(t) = pipe.next().await {
            let t = t?;
            if t.value.is_none() {
                failures += 1;
            }
            if args.json {
                println!("{}", t.json());
            } else if printing {
                println!("{}: {}", ctime(SystemTime::now()), attribute_line(&t));
            }
        }
        drop(pipe);
        let _ = conn.close().await;
        Ok::<usize, ClientError>(failures)
    };
    match runtime().map(|rt| rt.block_on(run)) {
        Ok(Ok(0)) => ExitCode::SUCCESS,
        Ok(Ok(_)) => ExitCode::from(1),
        Ok(Err(e)) => {
            eprintln!("cpppo enip get-attribute: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("cpppo enip get-attribute: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// cpppo's get_attribute line; a failure also shows its CIP status, as `client` lines do
/// (`... == None: 'Status 5 [0]'`), and is logged as `client` logs it.
fn attribute_line(t: &Transaction) -> String {
    let line = t.attribute_line();
    if t.value.is_some() {
        return line;
    }
    tracing::warn!(
        "Client {} returned non-zero status: {}",
        t.description,
        t.status
    );
    let status = cpppo_enip::client::python_value(&cpppo_enip::client::operation::Literal::Text(
        t.status.to_string(),
    ));
    format!("{line}: {status}")
}

/// Runs `cpppo enip list-services`.
pub fn run_list_services(args: ListServicesArgs) -> ExitCode {
    init_logging(args.verbose, None);
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout < 1e6) {
        return usage(format!("bad timeout {}", args.timeout));
    }
    let source_address = match args.source_address.as_deref().map(parse_source_address) {
        Some(Err(e)) => return usage(e),
        Some(Ok(a)) => Some(a),
        None => None,
    };
    let options = Options {
        timeout: Duration::from_secs_f64(args.timeout),
        source_address,
        ..Options::simple()
    };
    let run = async {
        let mut conn = if args.udp || args.broadcast {
            Connector::udp(&args.address, args.broadcast, options).await?
        } else {
            Connector::connect(&args.address, options).await?
        };
        let style = list_style(args.json, args.format);
        let mut failures = print_list(&mut conn, "List Services", 0x04, style).await;
        if args.list_identity {
            failures += print_list(&mut conn, "List Identity", 0x63, style).await;
        }
        if args.list_interfaces {
            failures += print_list(&mut conn, "List Interfaces", 0x64, style).await;
        }
        Ok::<usize, ClientError>(failures)
    };
    match runtime().map(|rt| rt.block_on(run)) {
        Ok(Ok(0)) => ExitCode::SUCCESS,
        Ok(Ok(_)) => ExitCode::from(1),
        Ok(Err(e)) => {
            eprintln!("cpppo enip list-services: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("cpppo enip list-services: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs `cpppo enip poll`.
pub fn run_poll(args: PollArgs) -> ExitCode {
    init_logging(args.target.verbose, args.target.log.as_deref());
    let mut options = match args.target.options() {
        Ok(o) => o,
        Err(e) => return usage(e),
    };
    let table = match args
        .gateway
        .to_ascii_lowercase()
        .replace(['_', '-', '.'], "")
        .as_str()
    {
        "powerflex750" | "abpowerflex750series" | "powerflex750series" | "powerflex" => {
            proxy::POWERFLEX_750
        }
        "generic" | "proxy" | "proxysimple" => proxy::GENERIC,
        other => {
            return usage(format!(
                "unknown gateway {other:?}: expected powerflex750 or generic"
            ))
        }
    };
    if args.target.route_path.is_none() && args.target.send_path.is_none() && !args.target.simple {
        // cpppo's poll talks to a PowerFlex: a simple device, unless told otherwise.
        options.route = Route::simple();
    }
    if !(args.cycle.is_finite() && args.cycle > 0.0 && args.cycle < 1e6) {
        return usage(format!("bad cycle {}", args.cycle));
    }
    let proxy = Proxy::new(&args.target.address, options, table)
        .with_depth(args.depth)
        .with_multiple(msp_limit(args.multiple, args.multiple_limit));
    let params = match proxy.resolve_all(&args.parameters, args.pass_thru) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let proxy = std::sync::Arc::new(tokio::sync::Mutex::new(proxy));
    let poller = Poller::shared(proxy.clone(), params, Duration::from_secs_f64(args.cycle));
    let verbose = args.target.verbose > 0;
    let address = args.target.address.clone();
    let run = async move {
        if verbose {
            polling_begins(&proxy, &address).await;
        }
        let mut events = poller.spawn();
        let mut cycles = 0;
        while let Some(event) = events.recv().await {
            match event {
                PollEvent::Values(values) => {
                    for (p, v) in values {
                        if args.json {
                            println!(
                                "{}",
                                serde_json::json!({"parameter": p.name, "value": proxy::values_json(&v), "units": p.units})
                            );
                        } else {
                            println!("{}", p.line(&v));
                        }
                    }
                    cycles += 1;
                    if args.cycles.is_some_and(|n| cycles >= n) {
                        break;
                    }
                }
                PollEvent::Failure { error, backoff } => {
                    tracing::warn!("poll failed: {error}; retrying in {backoff:?}");
                    if args.target.verbose > 0 {
                        eprintln!("poll failed: {error}; retrying in {backoff:?}");
                    }
                }
            }
        }
    };
    match runtime() {
        Ok(rt) => {
            rt.block_on(run);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cpppo enip poll: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// cpppo's `-v` start of polling: `Polling begins via: <product name> via <address>[<session>]`
/// (the identity read over the poller's own session).
async fn polling_begins(proxy: &tokio::sync::Mutex<Proxy>, address: &str) {
    let mut p = proxy.lock().await;
    match p.read(&["Product Name"]).await {
        Ok(values) => {
            let name = match values.first() {
                Some(Some(v)) => match v.first() {
                    Some(cpppo_enip::client::operation::Literal::Text(t)) => t.clone(),
                    _ => cpppo_enip::client::python_values(v),
                },
                _ => "(no product name)".to_string(),
            };
            let session = p.session().unwrap_or(0);
            tracing::info!("Polling begins via: {name} via {address}[{session}]");
        }
        Err(e) => tracing::info!("Polling begins via: {address} ({e})"),
    }
}

/// Runs `cpppo enip thruput`.
pub fn run_thruput(args: ThruputArgs) -> ExitCode {
    let ops = match parse_ops(&args.tags, args.repeat) {
        Ok(ops) => ops,
        Err(e) => return usage(e),
    };
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout < 1e6) {
        return usage(format!("bad timeout {}", args.timeout));
    }
    let mut options = if args.simple {
        Options::simple()
    } else {
        Options::default()
    };
    options.timeout = Duration::from_secs_f64(args.timeout);
    options.connected = args.connected;
    options.connection_size = options
        .connection_size
        .max(u32::try_from(args.multiple + 32).unwrap_or(u32::MAX));
    let run = async {
        // Lock-step (depth 1): blocking I/O, one write and one read per request.
        let mut conn = match args.depth <= 1 {
            true => Connector::connect_blocking(&args.address, options).await?,
            false => Connector::connect(&args.address, options).await?,
        };
        let cpu = cpu_seconds();
        let start = Instant::now();
        let mut num = 0usize;
        let mut failed = 0usize;
        let mut pipe = ops
            .pipeline(&mut conn, args.depth, args.multiple)
            .replies(false);
        if args.print {
            while let Some(t) = pipe.next().await {
                let t = t?;
                println!(
                    "{}: {:3}: {}",
                    ctime(SystemTime::now()),
                    t.index,
                    t.value_text()
                );
                failed += usize::from(t.value.is_none());
                num += 1;
            }
        } else {
            // Values only: no transaction (description, request) made per operation.
            while let Some(v) = pipe.next_value().await {
                failed += usize::from(v?.1.is_none());
                num += 1;
            }
        }
        let elapsed = start.elapsed().as_secs_f64().max(1e-9);
        let cpu = cpu_seconds() - cpu;
        let requests = pipe.requests();
        drop(pipe);
        let _ = conn.close().await;
        println!(
            "{num:3} operations using {requests:3} requests in {elapsed:7.2}s at pipeline depth {:2}; {:5.1} TPS",
            args.depth,
            num as f64 / elapsed
        );
        if num > 0 {
            eprintln!(
                "client CPU {:.2} us/op; {failed} failed",
                cpu * 1e6 / num as f64
            );
        }
        Ok::<usize, ClientError>(failed)
    };
    match runtime().map(|rt| rt.block_on(run)) {
        Ok(Ok(0)) => ExitCode::SUCCESS,
        Ok(Ok(_)) => ExitCode::from(1),
        Ok(Err(e)) => {
            eprintln!("cpppo enip thruput: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("cpppo enip thruput: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// User + system CPU seconds of this process (from /proc; 0 where unavailable).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command: state is field 3; utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// `Sat Nov 21 08:35:42 2026` (UTC), as Python's `time.ctime` prints it.
pub fn ctime(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let (y, m, d) = cpppo_history::time::civil_from_days(days);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WD
        .get(days.rem_euclid(7) as usize)
        .copied()
        .unwrap_or("???");
    let mon = MON
        .get((m as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("???");
    format!(
        "{wd} {mon} {d:2} {:02}:{:02}:{:02} {y}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_matches_python() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_250_142);
        assert_eq!(ctime(t), "Sat Nov 21 08:35:42 2026");
    }

    #[test]
    fn error_causes_are_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = anyhow::Error::new(ClientError::Io(io)).context("cannot open a session with h");
        let line = error_line(&e);
        assert_eq!(line.matches("refused").count(), 1, "{line}");
        assert!(
            line.starts_with("cannot open a session with h: I/O error: "),
            "{line}"
        );
    }

    #[test]
    fn legacy_command_parses_hex_and_decimal() {
        assert_eq!(parse_command("0x0001"), Ok(1));
        assert_eq!(parse_command("99"), Ok(99));
        assert!(parse_command("zz").is_err());
    }
}
