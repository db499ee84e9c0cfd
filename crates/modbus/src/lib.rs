//! Modbus TCP, RTU and ASCII: sans-IO codec, simulator and poller.
#![deny(missing_docs)]
