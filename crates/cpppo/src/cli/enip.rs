//! `cpppo enip ...`: the EtherNet/IP tools.

use std::process::ExitCode;

use clap::Subcommand;

use super::enip_client::{ClientArgs, GetAttributeArgs, ListServicesArgs, PollArgs, ThruputArgs};

pub mod io;
pub mod print;
pub mod server;

/// The EtherNet/IP verbs.
#[derive(Debug, Subcommand)]
pub enum EnipCommand {
    /// Run a ControlLogix-like EtherNet/IP CIP controller simulator.
    Server(server::ServerArgs),
    /// Read and write tags and attributes (cpppo's operation syntax).
    Client(ClientArgs),
    /// Get/Set Attribute Single/All by numeric class/instance/attribute.
    GetAttribute(GetAttributeArgs),
    /// List Services, List Identity and List Interfaces (TCP, UDP, broadcast).
    ListServices(ListServicesArgs),
    /// Poll parameters of a device cyclically.
    Poll(PollArgs),
    /// Measure request throughput (transactions per second).
    Thruput(ThruputArgs),
    /// Run a simulator that records every tag read and write to a history file.
    Historize(super::enip_historize::HistorizeArgs),
    /// Class 1 (implicit I/O) scanner: own an adapter's assemblies, print its inputs.
    Io(io::IoArgs),
}

/// Run one EtherNet/IP verb.
pub fn run(cmd: EnipCommand) -> ExitCode {
    match cmd {
        EnipCommand::Server(args) => server::run(args),
        EnipCommand::Client(a) => super::enip_client::run_client(a),
        EnipCommand::GetAttribute(a) => super::enip_client::run_get_attribute(a),
        EnipCommand::ListServices(a) => super::enip_client::run_list_services(a),
        EnipCommand::Poll(a) => super::enip_client::run_poll(a),
        EnipCommand::Thruput(a) => super::enip_client::run_thruput(a),
        EnipCommand::Historize(args) => super::enip_historize::run(args),
        EnipCommand::Io(args) => io::run(args),
    }
}
