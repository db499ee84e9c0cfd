//! EtherNet/IP client: sessions, pipelined tag and attribute I/O, typed proxies and a poller.
//!
//! The layers, bottom up:
//!
//! - [`route`]: the send path / route path an Unconnected Send carries (or none, for simple
//!   devices), parsed from cpppo's command-line forms.
//! - [`plan`]: turns a parsed [`Operation`](crate::client::operation::Operation) into a Message Router
//!   request, and absorbs its reply (following Read Tag Fragmented when a read is larger than
//!   one reply; splitting a write larger than one message into Write Tag Fragmented pieces).
//! - [`session`]: the sans-IO client session: request queueing, RegisterSession, Forward
//!   Open/Close, sequence counts and reply matching, with no socket (bytes and time in, bytes
//!   and replies out).
//! - [`Connector`]: drives a [`session::Session`] over a TCP socket or any `cpppo_net` stream
//!   (or a UDP socket for List commands), with direct `read`/`write`/attribute calls.
//! - [`Single`]: one operation planned and encoded once, run lock-step by
//!   [`Connector::perform`] (the lean path of `read`/`write`).
//! - [`Pipeline`]: many operations in flight at once (a depth), optionally batched into Multiple
//!   Service Packets under a size limit, yielded in order as [`Transaction`]s.
//! - [`proxy`]: named, typed parameters (Identity, TCP/IP, AB PowerFlex 750) over a connector
//!   that reconnects after I/O failures; [`poller`]: cyclic polling with capped back-off.
//! - [`blocking`]: the same calls for code without an async runtime.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cpppo_enip::client::ClientError> {
//! use cpppo_enip::client::{Connector, Options};
//! use cpppo_enip::client::operation::parse_operations;
//! let mut conn = Connector::connect("127.0.0.1:44818", Options::default()).await?;
//! let ops = parse_operations(&["SCADA[1-3]", "SCADA[4]=(INT)99"])?;
//! let (failures, results) = conn.process(ops, 2, 0).await?;
//! assert_eq!(failures, 0);
//! println!("{}", results[0].line());
//! # Ok(()) }
//! ```

pub mod blocking;
mod connector;
mod error;
mod format;
pub mod io;
mod io_cyclic;
pub mod io_refusal;
pub mod io_run;
pub mod io_scanner;
pub mod logix;
pub mod operation;
mod pipeline;
pub mod plan;
pub mod poller;
pub mod proxy;
pub mod route;
pub mod session;
mod single;

pub use connector::{resolve, Connector, IdentityInfo, Interrupt, ListReply, Options, ServiceInfo};
pub use error::{ClientError, ReplyStatus};
pub use format::{python_json, python_value, python_values};
pub use pipeline::{Pipeline, Transaction};
pub use single::Single;
