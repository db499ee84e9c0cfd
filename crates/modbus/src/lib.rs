//! Modbus TCP, RTU and ASCII: sans-IO codec, simulator and poller.
//!
//! The codec ([`pdu`], [`tcp`], [`rtu`], [`ascii`]) does no I/O: it parses and emits bytes.
//! [`store`] holds a device's data tables and answers requests without I/O; [`server`],
//! [`client`] and [`poller`] move the bytes over TCP and serial lines with tokio.
#![deny(missing_docs)]

pub mod ascii;
#[cfg(feature = "runtime")]
pub mod client;
pub mod error;
pub mod pdu;
#[cfg(feature = "runtime")]
pub mod poller;
pub mod register;
pub mod rtu;
#[cfg(feature = "runtime")]
pub mod serial;
#[cfg(feature = "runtime")]
pub mod server;
pub mod store;
pub mod tcp;

pub use error::Error;
pub use pdu::{Request, Response};
pub use register::{RangeSpec, Register, Table};

/// One decoded application data unit: addressing plus a PDU borrowed from the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adu<'a> {
    /// Transaction id (Modbus/TCP only; 0 on serial lines).
    pub transaction: u16,
    /// Protocol id (Modbus/TCP only; 0 means Modbus).
    pub protocol: u16,
    /// Unit id (slave address).
    pub unit: u8,
    /// Function code and data.
    pub pdu: &'a [u8],
}
