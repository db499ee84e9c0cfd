//! The tokio driver of a class 1 [`Scanner`]: a TCP stream for its session, a UDP socket for
//! its I/O, a timer; nothing else (the protocol is in the scanner).
//!
//! ```no_run
//! # async fn demo() -> Result<(), cpppo_enip::client::ClientError> {
//! use cpppo_enip::client::io::IoParams;
//! use cpppo_enip::client::io_run::{drive, Control, Endpoints};
//! use cpppo_enip::client::io_scanner::{ScanEvent, Scanner};
//! use cpppo_enip::client::Options;
//! let scanner = Scanner::new(IoParams::default(), Options::simple(), 1)?;
//! let ends = Endpoints::to("10.0.0.2:44818".parse().unwrap());
//! let (control, rx) = tokio::sync::mpsc::unbounded_channel();
//! control.send(Control::Output(vec![1, 2, 3])).ok();
//! let scanner = drive(scanner, ends, rx, |_, event| {
//!     if let ScanEvent::Input(data) = event {
//!         println!("{data:?}");
//!     }
//! })
//! .await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use cpppo_cip::io::IO_PORT;
use cpppo_net::{Connector, Datagram, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc::UnboundedReceiver;

use super::error::ClientError;
use super::io_scanner::{ScanEvent, Scanner};

/// Where a scanner's TCP session and UDP I/O go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The adapter's EtherNet/IP TCP address.
    pub adapter: SocketAddr,
    /// The adapter's class 1 UDP port (O->T goes there).
    pub io_port: u16,
    /// The local UDP address T->O arrives on (port 2222 unless the adapter is told another
    /// with the T->O sockaddr item: `IoParams::t_o_port`).
    pub bind: SocketAddr,
    /// The local address TCP connects from, if any.
    pub source: Option<SocketAddr>,
    /// How long a TCP connect may take.
    pub connect_timeout: Duration,
}

impl Endpoints {
    /// An adapter at `adapter`, I/O on port 2222 both sides.
    pub fn to(adapter: SocketAddr) -> Endpoints {
        Endpoints {
            adapter,
            io_port: IO_PORT,
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, IO_PORT)),
            source: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What the application tells a running scanner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// New output data.
    Output(Vec<u8>),
    /// The run/idle header's run bit.
    Run(bool),
    /// Forward Close and stop.
    Stop,
}

/// Binds the scanner's UDP socket (to learn its port before the scanner is built, bind port 0
/// here and put the port in `IoParams::t_o_port`).
pub async fn bind(addr: SocketAddr) -> Result<UdpSocket, ClientError> {
    Ok(UdpSocket::bind(addr).await?)
}

/// Runs `scanner` until it stops (a [`Control::Stop`], the control channel closed, or a
/// refusal that retrying cannot cure), calling `on_event` with everything it reports; binds
/// `ends.bind` for UDP.
pub async fn drive<F>(
    scanner: Scanner,
    ends: Endpoints,
    control: UnboundedReceiver<Control>,
    on_event: F,
) -> Result<Scanner, ClientError>
where
    F: FnMut(&Scanner, ScanEvent),
{
    let udp = bind(ends.bind).await?;
    drive_on(scanner, ends, udp, control, on_event).await
}

/// [`drive`] on a UDP socket already bound (it is asked for kernel receive timestamps, so
/// lateness is measured at the packet's arrival, not when this task gets to it).
pub async fn drive_on<F>(
    scanner: Scanner,
    ends: Endpoints,
    udp: UdpSocket,
    control: UnboundedReceiver<Control>,
    on_event: F,
) -> Result<Scanner, ClientError>
where
    F: FnMut(&Scanner, ScanEvent),
{
    if let Err(e) = cpppo_net::sys::want_timestamps(&udp) {
        tracing::debug!("no kernel receive timestamps, lateness counted on reading: {e}");
    }
    let tcp = TcpFrom {
        source: ends.source,
        timeout: ends.connect_timeout,
    };
    drive_with(scanner, ends, &tcp, &udp, control, on_event).await
}

/// The UDP side of the driver: a host socket, or any [`Datagram`] (a fleet device's, on a
/// userspace stack) through [`Over`].
pub trait IoSocket: Send + Sync {
    /// Sends one datagram.
    fn send_to(&self, buf: &[u8], to: SocketAddr)
        -> impl Future<Output = io::Result<usize>> + Send;
    /// Receives one datagram into `buf`: its length, and when it arrived (the kernel's
    /// receive time where the socket reports one, else now).
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<(usize, Instant)>> + Send;
    /// Joins (`join`) or leaves a multicast group, on the interface that leads to `toward`
    /// (the adapter: its multicast arrives there).
    fn membership(&self, group: Ipv4Addr, join: bool, toward: IpAddr) -> io::Result<()>;
}

impl IoSocket for UdpSocket {
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<usize> {
        UdpSocket::send_to(self, buf, to).await
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Instant)> {
        loop {
            self.readable().await?;
            match self.try_io(Interest::READABLE, || {
                cpppo_net::sys::recv_message(self, buf)
            }) {
                Ok(m) => return Ok((m.len, m.arrived(Instant::now()))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn membership(&self, group: Ipv4Addr, join: bool, toward: IpAddr) -> io::Result<()> {
        let iface = interface_toward(toward).unwrap_or(Ipv4Addr::UNSPECIFIED);
        match join {
            true => self.join_multicast_v4(group, iface),
            false => self.leave_multicast_v4(group, iface),
        }
    }
}

/// A [`Datagram`] as the driver's UDP side (multicast membership through
/// [`Datagram::membership`]).
#[derive(Debug)]
pub struct Over<D>(pub D);

impl<D: Datagram> IoSocket for Over<D> {
    async fn send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.0.send_to(buf, to).await
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Instant)> {
        let r = self.0.recv_from(buf).await?;
        Ok((r.len, Instant::now()))
    }

    fn membership(&self, group: Ipv4Addr, join: bool, _toward: IpAddr) -> io::Result<()> {
        // A userspace stack has one interface: the one toward the adapter.
        self.0.membership(group, join)
    }
}

/// The local IPv4 address the host's routes use to reach `peer` (a UDP socket connected to it
/// sends nothing; it only asks the kernel for the route).
fn interface_toward(peer: IpAddr) -> Option<Ipv4Addr> {
    let probe = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    probe.connect((peer, 9)).ok()?;
    match probe.local_addr().ok()?.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// Host TCP connections, from a source address if given, within a timeout.
#[derive(Debug, Clone, Copy)]
pub struct TcpFrom {
    /// The local address to connect from.
    pub source: Option<SocketAddr>,
    /// How long a connect may take.
    pub timeout: Duration,
}

impl Connector for TcpFrom {
    type Stream = TcpStream;

    async fn connect(&self, addr: &str) -> io::Result<TcpStream> {
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not IP:PORT"))?;
        let go = async {
            let s = match self.source {
                None => TcpStream::connect(addr).await?,
                Some(src) => {
                    let socket = if src.is_ipv4() {
                        tokio::net::TcpSocket::new_v4()?
                    } else {
                        tokio::net::TcpSocket::new_v6()?
                    };
                    socket.bind(src)?;
                    socket.connect(addr).await?
                }
            };
            s.set_nodelay(true)?;
            Ok(s)
        };
        tokio::time::timeout(self.timeout, go)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out"))?
    }
}

/// Runs `scanner` with TCP from `connector` and UDP on `udp` (see [`drive`]).
pub async fn drive_with<C, U, F>(
    mut scanner: Scanner,
    ends: Endpoints,
    connector: &C,
    udp: &U,
    mut control: UnboundedReceiver<Control>,
    mut on_event: F,
) -> Result<Scanner, ClientError>
where
    C: Connector,
    U: IoSocket,
    F: FnMut(&Scanner, ScanEvent),
{
    let o_t = SocketAddr::new(ends.adapter.ip(), ends.io_port);
    let adapter = ends.adapter.to_string();
    let mut tcp: Option<C::Stream> = None;
    let mut joined: Option<SocketAddrV4> = None;
    let mut rbuf = vec![0u8; 8192];
    let mut ubuf = vec![0u8; 65536];
    let mut control_open = true;
    // One timer for the whole run, moved with `reset` (not a new one registered every turn).
    let sleep = tokio::time::sleep_until(Instant::now().into());
    tokio::pin!(sleep);
    loop {
        let now = Instant::now();
        scanner.handle_timeout(now);
        if tcp.is_some() && !scanner.wants_tcp() {
            tcp = None;
        }
        if scanner.wants_connect() {
            match connector.connect(&adapter).await {
                Ok(s) => {
                    tcp = Some(s);
                    scanner.connected(Instant::now());
                }
                Err(e) => scanner.disconnected(Instant::now(), &e.to_string()),
            }
        }
        flush(&mut scanner, &mut tcp).await;
        let now = Instant::now();
        while let Some(d) = scanner.poll_datagram(now) {
            if let Err(e) = udp.send_to(d, o_t).await {
                tracing::debug!("O->T to {o_t}: {e}");
            }
        }
        membership(udp, &mut joined, scanner.multicast(), ends.adapter.ip());
        while let Some(e) = scanner.poll_event() {
            on_event(&scanner, e);
        }
        if scanner.is_stopped() {
            return Ok(scanner);
        }
        let deadline = scanner
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        sleep.as_mut().reset(deadline.into());
        tokio::select! {
            r = read(&mut tcp, &mut rbuf) => match r {
                Ok(n) => scanner.handle_input(rbuf.get(..n).unwrap_or_default(), Instant::now()),
                Err(why) => {
                    tcp = None;
                    scanner.disconnected(Instant::now(), &why);
                }
            },
            r = udp.recv(&mut ubuf) => {
                if let Ok((n, at)) = r {
                    scanner.handle_datagram(at, ubuf.get(..n).unwrap_or_default());
                }
            }
            c = control.recv(), if control_open => match c {
                Some(Control::Output(data)) => scanner.set_output(&data),
                Some(Control::Run(run)) => scanner.set_run(run),
                Some(Control::Stop) => scanner.stop(Instant::now()),
                None => {
                    control_open = false;
                    scanner.stop(Instant::now());
                }
            },
            _ = &mut sleep => {}
        }
    }
}

async fn flush<S: Stream>(scanner: &mut Scanner, tcp: &mut Option<S>) {
    let Some(stream) = tcp else {
        return;
    };
    if scanner.transmit().is_empty() {
        return;
    }
    match stream.write_all(scanner.transmit()).await {
        Ok(()) => scanner.transmitted(Instant::now()),
        Err(e) => {
            *tcp = None;
            scanner.disconnected(Instant::now(), &e.to_string());
        }
    }
}

/// Reads from the stream, or waits forever without one.
async fn read<S: Stream>(tcp: &mut Option<S>, buf: &mut [u8]) -> Result<usize, String> {
    match tcp {
        Some(s) => match s.read(buf).await {
            Ok(0) => Err("connection closed by the adapter".into()),
            Ok(n) => Ok(n),
            Err(e) => Err(e.to_string()),
        },
        None => std::future::pending().await,
    }
}

/// Joins the multicast group T->O comes on, and leaves the one it no longer does.
fn membership<U: IoSocket>(
    udp: &U,
    joined: &mut Option<SocketAddrV4>,
    want: Option<SocketAddrV4>,
    toward: IpAddr,
) {
    if *joined == want {
        return;
    }
    if let Some(old) = joined.take() {
        let _ = udp.membership(*old.ip(), false, toward);
    }
    if let Some(group) = want {
        // Tried once per connection: a failure is logged, not retried every loop.
        if let Err(e) = udp.membership(*group.ip(), true, toward) {
            tracing::warn!("cannot join multicast group {group}: {e}");
        }
        *joined = Some(group);
    }
}
