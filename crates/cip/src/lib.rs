//! Sans-IO EtherNet/IP and CIP wire codec.
//!
//! This crate parses and emits bytes and does nothing else: no sockets, no clocks, no async.
//! It follows the style of smoltcp's `wire` module: checked views over a buffer whose
//! accessors cannot panic, and high-level `Repr` types with `parse` and `emit`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cpf;
mod cursor;
pub mod encap;
pub mod epath;
pub mod error;
pub mod frame;
pub mod io;
pub mod list;
pub mod mr;
pub mod server;
pub mod services;
pub mod types;
pub mod value;

pub use epath::{EPath, Padding, Segment};
pub use error::{Error, Result};
pub use mr::{MrReply, MrRequest};
pub use server::Status;
pub use services::{Reply, Request, Service};
pub use types::{DataType, TagType};
pub use value::Value;

/// Helpers for this crate's unit tests.
#[cfg(test)]
pub(crate) mod test_util {
    /// Bytes from hex text (pairs of hex digits; the text is a test's own literal).
    pub fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
