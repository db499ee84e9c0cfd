//! cpppo-rs: a toolkit that parses and originates industrial communication protocols.
//!
//! This crate is the facade: it re-exports the layers below and holds the command-line tools.
#![deny(missing_docs)]

pub use cpppo_automata as automata;
pub use cpppo_cip as cip;
pub use cpppo_enip as enip;
pub use cpppo_fleet as fleet;
pub use cpppo_history as history;
pub use cpppo_modbus as modbus;
pub use cpppo_net as net;
pub use cpppo_web as web;

pub mod cli;
