//! `cpppo enip ...`: the EtherNet/IP tools.

use std::process::ExitCode;

use clap::Subcommand;

use super::{not_implemented, Pending};

pub mod server;

/// The EtherNet/IP verbs.
#[derive(Debug, Subcommand)]
pub enum EnipCommand {
    /// Run a ControlLogix-like EtherNet/IP CIP controller simulator.
    Server(server::ServerArgs),
    /// Read and write tags and attributes (cpppo's operation syntax).
    Client(Pending),
    /// Get/Set Attribute Single/All by numeric class/instance/attribute.
    GetAttribute(Pending),
    /// List Services, List Identity and List Interfaces (TCP, UDP, broadcast).
    ListServices(Pending),
    /// Poll parameters of a device cyclically.
    Poll(Pending),
    /// Measure request throughput (transactions per second).
    Thruput(Pending),
    /// Run a simulator that records every tag read and write to a history file.
    Historize(super::enip_historize::HistorizeArgs),
}

/// Run one EtherNet/IP verb.
pub fn run(cmd: EnipCommand) -> ExitCode {
    match cmd {
        EnipCommand::Server(args) => server::run(args),
        EnipCommand::Client(_) => not_implemented("enip client"),
        EnipCommand::GetAttribute(_) => not_implemented("enip get-attribute"),
        EnipCommand::ListServices(_) => not_implemented("enip list-services"),
        EnipCommand::Poll(_) => not_implemented("enip poll"),
        EnipCommand::Thruput(_) => not_implemented("enip thruput"),
        EnipCommand::Historize(args) => super::enip_historize::run(args),
    }
}
