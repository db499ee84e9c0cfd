//! Transports: OS sockets, userspace TCP/IP stacks on a virtual switch, TAP and VDE.
//!
//! Servers never touch a socket type directly. They accept byte streams through a
//! [`Listener`] and exchange packets through a [`Datagram`] socket, so the same simulator runs
//! on the host's TCP/IP stack ([`os`]) or on a userspace stack, one per simulated device.
#![deny(missing_docs)]

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncWrite};

pub mod conn;
pub mod cores;
pub mod deadline;
pub mod drive;
pub mod hot;
pub mod os;
pub mod pcap;
pub mod stack;
pub mod switch;
pub mod sys;
pub mod tap;
pub mod vde;

/// A byte stream a listener hands out: anything async-readable and -writable.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// One accepted connection: the stream and both ends' addresses.
#[derive(Debug)]
pub struct Accepted<S> {
    /// The connected byte stream.
    pub stream: S,
    /// The peer's address.
    pub peer: SocketAddr,
    /// The local address the connection arrived on (never the unspecified address).
    pub local: SocketAddr,
}

/// A source of incoming stream connections (a TCP listener, or its userspace equivalent).
pub trait Listener: Send + 'static {
    /// The stream type of accepted connections.
    type Stream: Stream;

    /// Wait for the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<Accepted<Self::Stream>>> + Send;

    /// The address this listener is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The listening socket when it is one of the host's, which [`cores::spread`] shares with
    /// the worker runtimes; `None` (the default) for userspace listeners.
    fn host_socket(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

/// Opens outgoing stream connections (a simulator routing requests to another device).
pub trait Connector: Send + Sync + 'static {
    /// The stream type of opened connections.
    type Stream: Stream;

    /// Connect to `addr` (`HOST:PORT`).
    fn connect(&self, addr: &str) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// One received packet's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes written into the caller's buffer.
    pub len: usize,
    /// The sender's address.
    pub peer: SocketAddr,
    /// The local address the packet arrived on, as well as the transport can tell (for a
    /// socket bound to the unspecified address, the address the host would answer from).
    pub local: SocketAddr,
    /// Whether the packet was sent to a broadcast or multicast address rather than to this
    /// host's own (false where the transport cannot tell).
    pub broadcast: bool,
}

/// A packet socket (UDP, or its userspace equivalent).
pub trait Datagram: Send + Sync + 'static {
    /// Wait for the next packet; it is truncated to `buf`'s length.
    fn recv_from(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<Received>> + Send;

    /// Wait for the next packet and return it in a buffer of its own size (up to 65,535
    /// bytes): a task waiting here holds no receive buffer, so thousands of idle receivers
    /// cost nothing.
    fn recv(&self) -> impl Future<Output = io::Result<(Vec<u8>, Received)>> + Send;

    /// Send one packet to `to`.
    fn send_to(&self, buf: &[u8], to: SocketAddr)
        -> impl Future<Output = io::Result<usize>> + Send;

    /// The address this socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// Joins (`join`) or leaves the multicast `group`, so its packets to this socket's port
    /// arrive (unsupported unless the transport says otherwise).
    fn membership(&self, group: Ipv4Addr, join: bool) -> io::Result<()> {
        let _ = join;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("cannot join {group} on this transport"),
        ))
    }
}
