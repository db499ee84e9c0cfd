//! The host operating system's sockets, through tokio.

use std::io;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};

use tokio::io::Interest;
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

use crate::sys::recv_message;

use crate::{Accepted, Connector, Datagram, Listener, Received};

/// A TCP listener on the host's stack.
#[derive(Debug)]
pub struct OsListener {
    inner: TcpListener,
}

/// Backlog used when the system's maximum cannot be read.
const FALLBACK_BACKLOG: u32 = 4096;

/// The system's largest listen backlog (`/proc/sys/net/core/somaxconn`), so a burst of
/// simultaneous connects waits in the kernel rather than for a SYN retry a second later.
pub fn max_backlog() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(FALLBACK_BACKLOG)
}

/// Bind a TCP listener to `addr` with the system's largest backlog ([`max_backlog`]); the
/// address may be reused at once after a restart, as with tokio's own `bind`.
pub fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(max_backlog())
}

impl OsListener {
    /// Bind a TCP listener to `addr` (port 0 picks a free port) with the system's largest
    /// backlog.
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(Self {
            inner: bind_tcp(addr)?,
        })
    }

    /// Bind to the first address `host` resolves to that accepts the bind.
    pub async fn bind_host(host: &str, port: u16) -> io::Result<Self> {
        let mut last = None;
        for addr in tokio::net::lookup_host((host, port)).await? {
            match bind_tcp(addr) {
                Ok(inner) => return Ok(Self { inner }),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{host:?}: no address"))
        }))
    }
}

impl From<TcpListener> for OsListener {
    /// Serve an already bound tokio listener (bound by name, or picked from a port range).
    fn from(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for OsListener {
    type Stream = TcpStream;

    async fn accept(&mut self) -> io::Result<Accepted<TcpStream>> {
        let (stream, peer) = self.inner.accept().await?;
        let local = stream.local_addr()?;
        // Small request/reply frames: send each reply at once.
        stream.set_nodelay(true)?;
        Ok(Accepted {
            stream,
            peer,
            local,
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn host_socket(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        Some(self.inner.as_fd())
    }
}

/// Outgoing TCP connections on the host's stack.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsConnector;

impl Connector for OsConnector {
    type Stream = TcpStream;

    async fn connect(&self, addr: &str) -> io::Result<TcpStream> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// A UDP socket on the host's stack.
#[derive(Debug)]
pub struct OsDatagram {
    inner: UdpSocket,
    bound: SocketAddr,
}

impl OsDatagram {
    /// Bind a UDP socket to `addr`, with broadcast reception and sending enabled.
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        let inner = UdpSocket::bind(addr).await?;
        inner.set_broadcast(true)?;
        if let SocketAddr::V4(v4) = addr {
            // Without it (a sandbox may refuse), every packet counts as addressed to us.
            let _ = crate::sys::want_destination(&inner);
            // Multicast (class 1 T->O) stays on the local network, and leaves from the
            // interface of the address we were given.
            inner.set_multicast_ttl_v4(1)?;
            if !v4.ip().is_unspecified() {
                crate::sys::multicast_from(&inner, *v4.ip())?;
            }
        }
        let bound = inner.local_addr()?;
        Ok(Self { inner, bound })
    }
}

/// The local address the host would use to answer `peer`, keeping `bound`'s port; `bound`
/// itself when it is a specific address or the route cannot be found.
fn answering_addr(bound: SocketAddr, peer: SocketAddr) -> SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let any: SocketAddr = match peer {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    };
    // Connecting a UDP socket sends nothing; it only asks the kernel for the route.
    let probe = StdUdpSocket::bind(any).and_then(|s| s.connect(peer).map(|()| s));
    match probe.and_then(|s| s.local_addr()) {
        Ok(local) => SocketAddr::new(local.ip(), bound.port()),
        Err(_) => bound,
    }
}

impl Datagram for OsDatagram {
    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<Received> {
        let m = self
            .inner
            .async_io(Interest::READABLE, || recv_message(&self.inner, buf))
            .await?;
        Ok(Received {
            len: m.len,
            peer: m.peer,
            local: answering_addr(self.bound, m.peer),
            broadcast: m.broadcast,
        })
    }

    async fn recv(&self) -> io::Result<(Vec<u8>, Received)> {
        loop {
            self.inner.readable().await?;
            // The buffer exists only between readiness and the copy, never across a wait.
            let mut buf = [0u8; 65535];
            let got = self
                .inner
                .try_io(Interest::READABLE, || recv_message(&self.inner, &mut buf));
            match got {
                Ok(crate::sys::Message {
                    len,
                    peer,
                    broadcast,
                    ..
                }) => {
                    let packet = buf.get(..len).unwrap_or_default().to_vec();
                    let local = answering_addr(self.bound, peer);
                    let rx = Received {
                        len,
                        peer,
                        local,
                        broadcast,
                    };
                    return Ok((packet, rx));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.inner.send_to(buf, to).await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn tcp_accept_reports_both_addresses() {
        let mut listener = OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"ping").await.unwrap();
            s.local_addr().unwrap()
        });
        let mut acc = listener.accept().await.unwrap();
        let mut buf = [0u8; 4];
        acc.stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        assert_eq!(acc.local, addr);
        assert_eq!(acc.peer, client.await.unwrap());
    }

    #[test]
    fn listeners_use_the_system_backlog() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        // `ss` shows a listener's backlog in its Send-Q column.
        let out = std::process::Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let backlog: u32 = text.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert_eq!(backlog, max_backlog(), "{text}");
        assert!(
            max_backlog() > 128,
            "this machine's somaxconn is {}",
            max_backlog()
        );
    }

    #[tokio::test]
    async fn udp_on_any_address_reports_the_answering_address() {
        let sock = OsDatagram::bind(SocketAddr::from(([0, 0, 0, 0], 0)))
            .await
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        peer.send_to(b"hi", ("127.0.0.1", port)).await.unwrap();
        let mut buf = [0u8; 16];
        let got = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..got.len], b"hi");
        assert_eq!(got.local, SocketAddr::from(([127, 0, 0, 1], port)));
        sock.send_to(b"ho", got.peer).await.unwrap();
        let (n, _) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ho");
    }

    #[tokio::test]
    async fn multicast_leaves_with_ttl_1_from_the_bound_address() {
        use std::os::fd::AsRawFd;
        let sock = OsDatagram::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        assert_eq!(sock.inner.multicast_ttl_v4().unwrap(), 1);
        let mut addr = libc::in_addr { s_addr: 0 };
        let mut len = std::mem::size_of::<libc::in_addr>() as libc::socklen_t;
        // SAFETY: reads an `in_addr` option into a buffer of that size.
        let rc = unsafe {
            libc::getsockopt(
                sock.inner.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_IF,
                (&mut addr as *mut libc::in_addr).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        assert_eq!(addr.s_addr.to_ne_bytes(), [127, 0, 0, 1]);
    }

    #[tokio::test]
    async fn waiting_for_a_packet_holds_no_buffer() {
        let sock = OsDatagram::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let waiting = sock.recv();
        // Thousands of idle receivers must not each keep a 64 KB buffer.
        assert!(std::mem::size_of_val(&waiting) < 1024);
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let big = vec![7u8; 9000];
        peer.send_to(&big, ("127.0.0.1", port)).await.unwrap();
        let (packet, rx) = waiting.await.unwrap();
        assert_eq!(packet, big);
        assert_eq!(rx.len, 9000);
        assert_eq!(rx.peer, peer.local_addr().unwrap());
    }
}
