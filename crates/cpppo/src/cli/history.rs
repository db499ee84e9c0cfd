//! `cpppo history ...`: the history-file tools.

use std::process::ExitCode;

use clap::Subcommand;

use super::{not_implemented, Pending};

/// The history verbs.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Print history records in time order, optionally paced in real time.
    Cat(Pending),
}

/// Run one history verb.
pub fn run(cmd: HistoryCommand) -> ExitCode {
    match cmd {
        HistoryCommand::Cat(_) => not_implemented("history cat"),
    }
}
