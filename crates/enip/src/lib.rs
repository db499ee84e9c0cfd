//! EtherNet/IP runtime: CIP object model, tag store, simulator, client, proxies and poller.
#![deny(missing_docs)]

pub mod attribute;
pub mod device;
pub mod hooks;
pub mod operation;
pub mod services;
pub mod session;
pub mod tagspec;
pub mod wire;
