//! Modbus TCP, RTU and ASCII: sans-IO codec, simulator and poller.
//!
//! The codec ([`pdu`], [`tcp`], [`rtu`], [`ascii`]) does no I/O: it parses and emits bytes.
//! [`store`] holds a device's data tables and answers requests without I/O; [`server`],
//! [`client`] and [`poller`] move the bytes over TCP and serial lines with tokio (the
//! `runtime` feature, on by default).
//!
//! A simulator with holding registers 40001-40100 = 99, and a poller reading it:
//!
//! ```no_run
//! # #[cfg(feature = "runtime")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{sync::Arc, time::Duration};
//! use cpppo_modbus::{poller::{Poller, PollerConfig}, server::Simulator, store::Store};
//! use cpppo_modbus::{RangeSpec, Register};
//!
//! let store = Store::from_specs(&[RangeSpec::parse("40001-40100=99")?]);
//! let listener = cpppo_net::os::OsListener::bind("127.0.0.1:1502".parse()?).await?;
//! tokio::spawn(Arc::new(Simulator::new(store)).serve_tcp(listener));
//!
//! let mut config = PollerConfig::new("127.0.0.1:1502");
//! config.rate = Duration::from_millis(500);
//! let plc = Poller::spawn(config);
//! let reg = Register::from_number(40001).ok_or("not a register")?;
//! plc.poll(reg, None);                 // poll in the background
//! let value = plc.read(reg);           // None until the first poll answers
//! plc.write(reg, &[123]).await?;       // waits for its turn and the PLC's answer
//! let (one, five, fifteen) = plc.load();
//! # let _ = (value, one, five, fifteen);
//! # Ok(())
//! # }
//! ```
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
