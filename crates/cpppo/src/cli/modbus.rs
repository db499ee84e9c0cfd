//! `cpppo modbus ...`: the Modbus tools.

use std::process::ExitCode;

use clap::Subcommand;

use super::{not_implemented, Pending};

/// The Modbus verbs.
#[derive(Debug, Subcommand)]
pub enum ModbusCommand {
    /// Run a Modbus TCP (or RTU/ASCII serial) simulator.
    Sim(Pending),
    /// Poll registers of a Modbus device and log every change.
    Poll(Pending),
}

/// Run one Modbus verb.
pub fn run(cmd: ModbusCommand) -> ExitCode {
    match cmd {
        ModbusCommand::Sim(_) => not_implemented("modbus sim"),
        ModbusCommand::Poll(_) => not_implemented("modbus poll"),
    }
}
