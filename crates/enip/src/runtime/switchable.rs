//! Serving a simulator's listeners while its [`ServerControl`] allows.
//!
//! One loop for every transport: the web API's `disable` closes the TCP listener and UDP
//! socket (and their sessions), re-enabling opens them again at the same address, `done` (or
//! the shutdown switch) ends serving for good. Where the sockets come from is a [`Bind`]: the
//! host's TCP/IP stack ([`HostBind`]) or a fleet device's userspace stack ([`StackBind`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cpppo_net::os::{OsConnector, OsDatagram, OsListener};
use cpppo_net::stack::{HostId, Net, NetConnector, NetDatagram, NetListener};
use cpppo_net::{Connector, Datagram, Listener};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::runtime::control::ServerControl;
use crate::runtime::serve::{serve_datagrams, serve_listener_with, Options};
use crate::server::session::Shared;

/// How long a closed listener's tasks get to finish before they are left behind.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// How often reopening listeners that cannot be bound yet is retried.
const REBIND_RETRY: Duration = Duration::from_millis(500);

/// A TCP listener and, if UDP is served, a datagram socket at the same address.
pub type Bound<B> = (<B as Bind>::Listener, Option<<B as Bind>::Datagram>);

/// Opens a simulator's sockets, as often as its listeners are switched on.
pub trait Bind: Send + Sync + 'static {
    /// The TCP listener type.
    type Listener: Listener;
    /// The UDP socket type.
    type Datagram: Datagram;
    /// Opens the connections of routed requests (from the same stack).
    type Connector: Connector;

    /// Open the TCP listener and, with `udp`, the UDP socket.
    fn bind(&self, udp: bool) -> impl Future<Output = io::Result<Bound<Self>>> + Send;

    /// Where routed requests go out.
    fn connector(&self) -> Arc<Self::Connector>;
}

/// The host's TCP/IP stack at one address (port 0: any free port, bound once by [`HostBind::open`]).
#[derive(Debug, Clone, Copy)]
pub struct HostBind {
    addr: SocketAddr,
}

impl HostBind {
    /// Bind TCP (and UDP, with `udp`, on the same port) at `addr`; the binder reopens
    /// exactly the bound address (port 0 is resolved once, here).
    pub async fn open(addr: SocketAddr, udp: bool) -> Result<(Self, Bound<Self>), BindError> {
        let tcp = OsListener::bind(addr)
            .await
            .map_err(|error| BindError::Tcp { addr, error })?;
        let local = tcp
            .local_addr()
            .map_err(|error| BindError::Tcp { addr, error })?;
        let sock = match udp {
            true => Some(
                OsDatagram::bind(local)
                    .await
                    .map_err(|error| BindError::Udp { addr: local, error })?,
            ),
            false => None,
        };
        Ok((Self { addr: local }, (tcp, sock)))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A listening socket that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The TCP listener.
    #[error("cannot listen on TCP {addr}: {error}")]
    Tcp {
        /// The address asked for.
        addr: SocketAddr,
        /// Why not.
        error: io::Error,
    },
    /// The UDP socket.
    #[error("cannot bind UDP {addr}: {error}")]
    Udp {
        /// The address asked for.
        addr: SocketAddr,
        /// Why not.
        error: io::Error,
    },
}

impl Bind for HostBind {
    type Listener = OsListener;
    type Datagram = OsDatagram;
    type Connector = OsConnector;

    async fn bind(&self, udp: bool) -> io::Result<Bound<Self>> {
        let tcp = OsListener::bind(self.addr).await?;
        let sock = match udp {
            true => Some(OsDatagram::bind(self.addr).await?),
            false => None,
        };
        Ok((tcp, sock))
    }

    fn connector(&self) -> Arc<OsConnector> {
        Arc::new(OsConnector)
    }
}

/// One device's port on a userspace stack of a virtual LAN; routed requests leave from the
/// device's own address.
#[derive(Clone)]
pub struct StackBind {
    /// The virtual LAN.
    pub net: Net,
    /// The device's stack.
    pub host: HostId,
    /// The TCP (and UDP) port.
    pub port: u16,
}

impl StackBind {
    /// Open the TCP listener and, with `udp`, the UDP socket (at once: a userspace stack
    /// binds without waiting).
    pub fn open(&self, udp: bool) -> io::Result<Bound<Self>> {
        let tcp = self.net.listen_tcp(self.host, self.port)?;
        let sock = udp
            .then(|| self.net.bind_udp(self.host, self.port))
            .transpose()?;
        Ok((tcp, sock))
    }
}

impl Bind for StackBind {
    type Listener = NetListener;
    type Datagram = NetDatagram;
    type Connector = NetConnector;

    async fn bind(&self, udp: bool) -> io::Result<Bound<Self>> {
        self.open(udp)
    }

    fn connector(&self) -> Arc<NetConnector> {
        Arc::new(self.net.connector(self.host))
    }
}

/// Serve `first` (opened by `bind`) and, each time `control` re-enables them, freshly bound
/// listeners; without a control, serve `first` until `shutdown`. Returns on `done` or
/// `shutdown`, after giving the listeners' tasks [`STOP_GRACE`] to end.
pub async fn serve_switchable<B: Bind>(
    bind: B,
    first: Bound<B>,
    shared: Arc<Shared>,
    opts: Arc<Options>,
    control: Option<Arc<ServerControl>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let udp = first.1.is_some();
    // Without a control, switches nobody flips (kept here: a dropped sender would close them).
    let (_never, unswitched) = watch::channel(false);
    let (mut disabled, mut done) = match &control {
        Some(c) => (c.watch_disabled(), c.watch_done()),
        None => (unswitched.clone(), unswitched),
    };
    let mut bound = Some(first);
    loop {
        let sockets = match bound.take() {
            Some(b) => b,
            None => match bind.bind(udp).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("cannot reopen listeners yet: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(REBIND_RETRY) => continue,
                        _ = done.wait_for(|d| *d) => return,
                        _ = shutdown.changed() => return,
                    }
                }
            },
        };
        let (stop, tasks) = run(sockets, &bind, &shared, &opts);
        tracing::debug!("listeners open");
        let finished = tokio::select! {
            _ = disabled.wait_for(|d| *d) => false,
            _ = done.wait_for(|d| *d) => true,
            _ = shutdown.changed() => true,
        };
        let _ = stop.send(true);
        for t in tasks {
            let _ = tokio::time::timeout(STOP_GRACE, t).await;
        }
        if finished {
            return;
        }
        tracing::info!("listeners closed by the web API");
        tokio::select! {
            _ = disabled.wait_for(|d| !*d) => {}
            _ = done.wait_for(|d| *d) => return,
            _ = shutdown.changed() => return,
        }
    }
}

/// Serve one listener (and UDP socket) until the returned switch is set; their tasks.
fn run<B: Bind>(
    (tcp, sock): Bound<B>,
    bind: &B,
    shared: &Arc<Shared>,
    opts: &Arc<Options>,
) -> (watch::Sender<bool>, Vec<JoinHandle<()>>) {
    let (stop, rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(serve_listener_with(
        tcp,
        shared.clone(),
        opts.clone(),
        bind.connector(),
        rx.clone(),
    ))];
    if let Some(sock) = sock {
        tasks.push(tokio::spawn(serve_datagrams(
            sock,
            shared.clone(),
            opts.clone(),
            rx,
        )));
    }
    (stop, tasks)
}
