//! EtherNet/IP runtime: CIP object model, tag store, simulator, client, proxies and poller.
#![deny(missing_docs)]

pub mod attribute;
pub mod client;
pub mod config;
pub mod control;
pub mod device;
pub mod discovery;
pub mod historize;
pub mod hooks;
pub mod operation;
pub mod replay;
pub mod route;
pub mod server;
pub mod services;
pub mod session;
pub mod simulator;
pub mod switchable;
pub mod tagspec;
pub mod upstream;
