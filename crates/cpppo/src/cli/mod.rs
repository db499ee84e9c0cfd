//! The `cpppo` command tree. Each protocol group lives in its own module.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod dotted;
pub mod enip;
pub mod enip_client;
pub mod enip_historize;
pub mod history;
pub mod limits;
pub mod logging;
pub mod modbus;
pub mod net;
mod net_vde;

/// cpppo: parse and originate industrial protocols (EtherNet/IP CIP, Modbus).
#[derive(Debug, Parser)]
#[command(
    name = "cpppo",
    version,
    about = "Industrial protocol toolkit: EtherNet/IP CIP and Modbus simulators, clients and tools",
    after_help = "Examples:\n  cpppo enip server                      # demo ControlLogix-like controller on :44818\n  cpppo enip server SCADA=INT[1000] FLOAT=REAL\n  cpppo modbus sim 40001-40100=99\n  cpppo history cat plant.hst.gz --speed 10"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// EtherNet/IP CIP: controller simulator, client and tools.
    #[command(subcommand)]
    Enip(Box<enip::EnipCommand>),
    /// Modbus TCP/RTU/ASCII: simulator and poller.
    #[command(subcommand)]
    Modbus(modbus::ModbusCommand),
    /// Time-series history files: print, filter and play back.
    #[command(subcommand)]
    History(history::HistoryCommand),
    /// Internet of Threads: simulated devices at their own IP addresses.
    #[command(subcommand)]
    Net(net::NetCommand),
}

/// A usage error as one line naming the offending text, e.g.
/// `cpppo: error: unexpected argument '--bogus' found (see --help)`.
fn usage_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("error: invalid arguments");
    format!("cpppo: {first} (see --help)")
}

/// Run the command line, with `prefix` inserted after the program name.
///
/// The compatibility binaries (`enip_server`, `modbus_sim`, ...) call this with their
/// group and verb, so `enip_server -a :44818` is `cpppo enip server -a :44818`.
pub fn main_as(prefix: &[&str]) -> ExitCode {
    // Every server may hold as many connections as the system lets this process open.
    let _ = cpppo_net::sys::raise_open_file_limit();
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.is_empty() {
        args.push("cpppo".into());
    }
    let rest = args.split_off(1);
    args[0] = "cpppo".into();
    args.extend(prefix.iter().map(OsString::from));
    args.extend(rest);
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's full text on stdout, exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", usage_error_line(&e));
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Enip(cmd) => enip::run(*cmd),
        Command::Modbus(cmd) => modbus::run(cmd),
        Command::History(cmd) => history::run(cmd),
        Command::Net(cmd) => net::run(cmd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_one_line_naming_the_bad_text() {
        let err = Cli::try_parse_from(["cpppo", "enip", "bogus-verb"]).unwrap_err();
        let line = usage_error_line(&err);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("bogus-verb"), "{line}");
    }
}
