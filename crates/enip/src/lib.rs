//! EtherNet/IP runtime: CIP object model, tag store, simulator, client, proxies and poller.
//!
//! Grouped by role:
//! - [`model`]: the CIP object model (classes → instances → attributes), tags and their specs,
//!   attribute hooks, and the `cpppo.cfg` device configuration;
//! - [`server`]: the sans-IO server session and the services it answers (no sockets, no clocks:
//!   bytes and `now` in, replies and timeouts out), routing rules and discovery replies;
//! - [`runtime`]: the tokio drivers: the server loop over any `cpppo_net` transport, the
//!   switchable listeners, the simulator builder, live control and statistics, and the router's
//!   upstream connections;
//! - [`client`]: cpppo's operation syntax, the sans-IO client session and its drivers
//!   (connector, pipeline, proxies, poller);
//! - [`history`]: recording tag I/O to history files and replaying them into a simulator.
#![deny(missing_docs)]

pub mod client;
pub mod history;
pub mod model;
pub mod runtime;
pub mod server;
