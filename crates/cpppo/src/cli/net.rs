//! `cpppo net ...`: the Internet of Threads tools.

use std::process::ExitCode;

use clap::Subcommand;

use super::{not_implemented, Pending};

/// The Internet-of-Threads verbs.
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Run a fleet of simulated devices, each at its own IP on a virtual Ethernet.
    Fleet(Pending),
    /// Run an unmodified program at its own IP in its own network namespace.
    Run(Pending),
}

/// Run one Internet-of-Threads verb.
pub fn run(cmd: NetCommand) -> ExitCode {
    match cmd {
        NetCommand::Fleet(_) => not_implemented("net fleet"),
        NetCommand::Run(_) => not_implemented("net run"),
    }
}
