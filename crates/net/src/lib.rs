//! Transports: OS sockets, userspace TCP/IP stacks on a virtual switch, TAP and VDE.
#![deny(missing_docs)]
