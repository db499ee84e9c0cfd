//! The few process facts the network tools need from the OS.

/// Whether this process runs as root (effective user id 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Send SIGTERM to the process `pid` (a child the caller started and has not yet reaped).
pub fn terminate(pid: u32) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: kill(2) takes plain integers; the caller names its own unreaped child.
    if unsafe { libc::kill(pid, libc::SIGTERM) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A tokio runtime with I/O and timers: on worker threads (`multi_thread`), or on the calling
/// thread alone (a fleet's stacks sit behind one lock, so its frames are best switched on one
/// thread; a client waits on one peer at a time).
pub fn runtime(multi_thread: bool) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match multi_thread {
        true => tokio::runtime::Builder::new_multi_thread(),
        false => tokio::runtime::Builder::new_current_thread(),
    };
    builder.enable_all().build()
}

/// Wait for SIGTERM or SIGINT (an error if their handlers cannot be installed).
pub async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    Ok(())
}

/// An address text that does not name a socket address.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// The port is not a number 0-65535.
    #[error("port {0:?} is not a number 0-65535")]
    Port(String),
    /// The host name does not resolve.
    #[error("cannot resolve {host:?}: {error}")]
    Resolve {
        /// The host name.
        host: String,
        /// Why not.
        error: std::io::Error,
    },
    /// The host name resolves to nothing.
    #[error("no address for {0:?}")]
    Empty(String),
}

/// `[HOST][:PORT]` (IPv6 hosts in brackets) as a socket address, an IPv4 one where the host
/// has both (EtherNet/IP and Modbus/TCP are IPv4; "localhost" may list ::1 first). An empty
/// HOST is `default_host`; text without a colon is the HOST with `default_port`, or, without
/// a default port, the PORT.
pub fn parse_address(
    s: &str,
    default_host: &str,
    default_port: Option<u16>,
) -> Result<std::net::SocketAddr, AddressError> {
    use std::net::ToSocketAddrs;
    let (host, port) = match (s.rsplit_once(':'), default_port) {
        (Some((h, p)), _) => (h, p),
        (None, Some(_)) => (s, ""),
        (None, None) => ("", s),
    };
    let port = match (port, default_port) {
        ("", Some(d)) => d,
        (p, _) => p.parse().map_err(|_| AddressError::Port(p.to_string()))?,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { default_host } else { host };
    let addrs: Vec<std::net::SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|error| AddressError::Resolve {
            host: host.to_string(),
            error,
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| AddressError::Empty(host.to_string()))
}

/// Raise this process's open-file limit (RLIMIT_NOFILE) to its hard limit, so a server can
/// hold as many connections as the system allows; returns the new (soft, hard) limits.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 here, not on every target
pub fn raise_open_file_limit() -> std::io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads the struct we pass; raising the soft limit up to the hard
        // one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok((lim.rlim_cur as u64, lim.rlim_max as u64))
}

/// This process's open-file limits (soft, hard), if they can be read.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 here, not on every target
pub fn open_file_limit() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass, which lives for the call.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0)
        .then_some((lim.rlim_cur as u64, lim.rlim_max as u64))
}

/// Ask for a receive buffer of `bytes` on a socket: past the system's limit
/// (`SO_RCVBUFFORCE`) where permitted (root, CAP_NET_ADMIN), else as much as the limit allows
/// (`SO_RCVBUF`, capped by the kernel at `net.core.rmem_max`). Returns the size granted.
pub fn grow_receive_buffer(fd: &impl std::os::fd::AsRawFd, bytes: usize) -> std::io::Result<usize> {
    let want = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let set = |option| set_option(fd, libc::SOL_SOCKET, option, &want);
    if set(libc::SO_RCVBUFFORCE).is_err() {
        set(libc::SO_RCVBUF)?;
    }
    let mut got: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `got` and `len` are valid for writes of an int and its length.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut got as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(usize::try_from(got).unwrap_or(0))
}

/// Set one socket option whose value is the plain C value `value` (an int, an `in_addr`, ...).
fn set_option<T>(
    fd: &impl std::os::fd::AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> std::io::Result<()> {
    // SAFETY: `value` is a live plain C value of the length given, on a descriptor the caller
    // owns; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Send an IPv4 UDP socket's multicast out of the interface that owns `local`
/// (`IP_MULTICAST_IF`), not by the route to the group, which on a host with several
/// interfaces may be another one.
pub fn multicast_from(
    fd: &impl std::os::fd::AsRawFd,
    local: std::net::Ipv4Addr,
) -> std::io::Result<()> {
    let addr = libc::in_addr {
        s_addr: u32::from_ne_bytes(local.octets()),
    };
    set_option(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &addr)
}

/// Have an IPv4 UDP socket report each packet's destination address (`IP_PKTINFO`), which
/// [`recv_message`] reads.
pub fn want_destination(fd: &impl std::os::fd::AsRawFd) -> std::io::Result<()> {
    set_option(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, &1 as &libc::c_int)
}

/// Have a socket stamp each packet with the time the kernel received it (`SO_TIMESTAMPNS`),
/// which [`recv_message`] reads: the arrival, not the moment this process got round to it.
pub fn want_timestamps(fd: &impl std::os::fd::AsRawFd) -> std::io::Result<()> {
    set_option(
        fd,
        libc::SOL_SOCKET,
        libc::SO_TIMESTAMPNS,
        &1 as &libc::c_int,
    )
}

/// One packet read by [`recv_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Its length (truncated to the buffer).
    pub len: usize,
    /// Its sender.
    pub peer: std::net::SocketAddr,
    /// Sent to a broadcast or multicast address rather than to one of this host's own (known
    /// only for IPv4 sockets with [`want_destination`]; false otherwise).
    pub broadcast: bool,
    /// When the kernel received it (with [`want_timestamps`]; `None` otherwise).
    pub received: Option<std::time::SystemTime>,
}

impl Message {
    /// When it arrived, on the monotonic clock: the kernel's receive time where there is one
    /// (mapped through the wall clock's distance from now), else `now`. A stamp in the future or
    /// over a second old (the wall clock stepped) counts as `now`.
    pub fn arrived(&self, now: std::time::Instant) -> std::time::Instant {
        let age = self
            .received
            .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
            .filter(|age| *age < std::time::Duration::from_secs(1));
        age.and_then(|a| now.checked_sub(a)).unwrap_or(now)
    }
}

/// One packet from a non-blocking UDP socket, with what the kernel says about it.
pub fn recv_message(fd: &impl std::os::fd::AsRawFd, buf: &mut [u8]) -> std::io::Result<Message> {
    // SAFETY: all-zero is a valid value of these plain C structs.
    let mut from: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut control = [0u64; 16]; // 128 bytes, aligned: an in_pktinfo and a timespec
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `msg` points at a live buffer of the length given with it.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    let len = usize::try_from(n).map_err(|_| std::io::Error::last_os_error())?;
    let peer = sender(&from)?;
    let (mut broadcast, mut received) = (false, None);
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info = libc::CMSG_DATA(c)
                        .cast::<libc::in_pktinfo>()
                        .read_unaligned();
                    // The header's destination; for a packet to this host, the same as the
                    // address it is answered from.
                    broadcast = info.ipi_addr.s_addr != info.ipi_spec_dst.s_addr;
                }
                (libc::SOL_SOCKET, libc::SO_TIMESTAMPNS) => {
                    let ts = libc::CMSG_DATA(c).cast::<libc::timespec>().read_unaligned();
                    received = wall_time(ts);
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Message {
        len,
        peer,
        broadcast,
        received,
    })
}

/// A one-shot kernel timer (`timerfd`) on CLOCK_MONOTONIC, the clock of
/// [`std::time::Instant`]: it becomes readable when the instant set with [`Timerfd::set`] passes,
/// to the kernel's high-resolution timer (tokio's timers round up to the next millisecond).
#[derive(Debug)]
pub struct Timerfd {
    fd: std::os::fd::OwnedFd,
}

impl Timerfd {
    /// A disarmed, non-blocking timer.
    pub fn new() -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: timerfd_create takes plain integers.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor this process owns alone.
        Ok(Timerfd {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Registered with the current tokio runtime's reactor, to wait for it to fire (readable).
    pub fn register(self) -> std::io::Result<tokio::io::unix::AsyncFd<Self>> {
        use tokio::io::Interest;
        // SAFETY: the Timerfd owns its descriptor and moves into the AsyncFd, so the descriptor
        // stays open and the same for the AsyncFd's whole life.
        unsafe { tokio::io::unix::AsyncFd::register_with_interest(self, Interest::READABLE) }
            .map_err(std::io::Error::from)
    }

    /// Fire once at `at` (at once if it has passed), or never (`None`). Setting the timer
    /// also forgets an expiry not yet read.
    pub fn set(&self, at: Option<std::time::Instant>) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut value = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if let Some(at) = at {
            // Instant is CLOCK_MONOTONIC: the target is the clock now plus what is left.
            // SAFETY: all-zero is a valid timespec; clock_gettime fills it.
            let mut now: libc::timespec = unsafe { std::mem::zeroed() };
            // SAFETY: `now` is a live timespec.
            if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let left = at.saturating_duration_since(std::time::Instant::now());
            let now = std::time::Duration::new(
                u64::try_from(now.tv_sec).unwrap_or(0),
                u32::try_from(now.tv_nsec).unwrap_or(0),
            );
            let target = now.saturating_add(left);
            value.tv_sec = libc::time_t::try_from(target.as_secs()).unwrap_or(libc::time_t::MAX);
            // A zero it_value disarms: a deadline at the clock's origin still fires.
            value.tv_nsec = target.subsec_nanos().max(1) as libc::c_long;
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` is a live itimerspec; the old value is not asked for.
        let r = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl std::os::fd::AsRawFd for Timerfd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

/// A kernel `timespec` on CLOCK_REALTIME as a wall-clock time (`None` if out of range).
fn wall_time(ts: libc::timespec) -> Option<std::time::SystemTime> {
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
}

/// The sender address the kernel wrote into `from`.
fn sender(from: &libc::sockaddr_storage) -> std::io::Result<std::net::SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    match libc::c_int::from(from.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in (family AF_INET) into the storage.
            let a =
                unsafe { &*(from as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Ok(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6 (family AF_INET6) into the storage.
            let a =
                unsafe { &*(from as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => Err(std::io::Error::other(
            "packet from an unknown address family",
        )),
    }
}

/// `recv(2)` appended to `buf`'s spare capacity (reserving `chunk` bytes first): the count
/// read (0: the peer closed). `wait`: block (up to the socket's receive timeout) on a blocking
/// socket; else `MSG_DONTWAIT`.
pub fn recv_appended(
    fd: std::os::fd::RawFd,
    buf: &mut Vec<u8>,
    chunk: usize,
    wait: bool,
) -> std::io::Result<usize> {
    buf.reserve(chunk);
    let spare = buf.spare_capacity_mut();
    let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
    // SAFETY: receives at most `spare.len()` bytes into `buf`'s spare capacity, which the
    // kernel initialises for the count it returns; only that many are then counted.
    let n = unsafe { libc::recv(fd, spare.as_mut_ptr().cast(), spare.len(), flags) };
    let n = usize::try_from(n).map_err(|_| std::io::Error::last_os_error())?;
    // SAFETY: `n` bytes after the old length were written by recv(2).
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// `send(2)` without waiting: the bytes the socket took at once (0 when its buffer is full).
/// A closed peer is an error (`EPIPE`), not a SIGPIPE.
pub fn send_now(fd: std::os::fd::RawFd, bytes: &[u8]) -> std::io::Result<usize> {
    loop {
        // SAFETY: sends from a valid slice; MSG_DONTWAIT keeps a blocking socket from
        // waiting, MSG_NOSIGNAL turns a closed peer into EPIPE instead of SIGPIPE.
        let n = unsafe {
            libc::send(
                fd,
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        match usize::try_from(n) {
            Ok(n) => return Ok(n),
            Err(_) => {
                let e = std::io::Error::last_os_error();
                match e.kind() {
                    std::io::ErrorKind::Interrupted => continue,
                    std::io::ErrorKind::WouldBlock => return Ok(0),
                    _ => return Err(e),
                }
            }
        }
    }
}

/// Set a socket's receive timeout (`SO_RCVTIMEO`): a blocking read waits at most this long.
pub fn set_receive_timeout(
    fd: &impl std::os::fd::AsRawFd,
    timeout: std::time::Duration,
) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros().max(1)),
    };
    set_option(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
}

/// A level-triggered epoll instance: each registered descriptor carries a token.
#[derive(Debug)]
pub struct Epoll {
    fd: std::os::fd::OwnedFd,
}

/// A readiness report from [`Epoll::wait`].
pub type EpollEvent = libc::epoll_event;

/// An empty event, to fill a buffer for [`Epoll::wait`].
pub fn no_event() -> EpollEvent {
    libc::epoll_event { events: 0, u64: 0 }
}

/// The token of an event reported by [`Epoll::wait`].
pub fn event_token(e: &EpollEvent) -> u64 {
    e.u64
}

impl Epoll {
    /// A new epoll instance (close-on-exec).
    pub fn new() -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: epoll_create1 takes a flag.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor this process owns alone.
        Ok(Epoll {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watch `fd` for input (and hang-ups), reported with `token`.
    pub fn add(&self, fd: std::os::fd::RawFd, token: u64) -> std::io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
            u64: token,
        };
        self.ctl(libc::EPOLL_CTL_ADD, fd, &mut ev)
    }

    /// Watch `fd` (added before) for input, and also for room to write when `output`.
    pub fn set_output(
        &self,
        fd: std::os::fd::RawFd,
        token: u64,
        output: bool,
    ) -> std::io::Result<()> {
        let out = if output { libc::EPOLLOUT } else { 0 };
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP | out) as u32,
            u64: token,
        };
        self.ctl(libc::EPOLL_CTL_MOD, fd, &mut ev)
    }

    /// Stop watching `fd`.
    pub fn delete(&self, fd: std::os::fd::RawFd) -> std::io::Result<()> {
        let mut ev = no_event();
        self.ctl(libc::EPOLL_CTL_DEL, fd, &mut ev)
    }

    fn ctl(
        &self,
        op: libc::c_int,
        fd: std::os::fd::RawFd,
        ev: &mut libc::epoll_event,
    ) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: `ev` is a live epoll_event for the call.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, ev) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Wait up to `timeout` (`None`: forever) for ready descriptors; how many of `events`
    /// were filled (0 on timeout or an interrupted wait).
    pub fn wait(
        &self,
        events: &mut [EpollEvent],
        timeout: Option<std::time::Duration>,
    ) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd;
        let ms = timeout.map_or(-1, |t| {
            // Rounded up: a wait never ends before the time asked.
            let ms = t.as_micros().div_ceil(1000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        });
        let max = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: the kernel writes at most `max` events into the live slice.
        let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), max, ms) };
        match usize::try_from(n) {
            Ok(n) => Ok(n),
            Err(_) => {
                let e = std::io::Error::last_os_error();
                match e.kind() {
                    std::io::ErrorKind::Interrupted => Ok(0),
                    _ => Err(e),
                }
            }
        }
    }
}

/// An `eventfd` counter: one thread [`EventFd::signal`]s, another waits for it to be
/// readable (in an [`Epoll`]) and [`EventFd::drain`]s it.
#[derive(Debug)]
pub struct EventFd {
    fd: std::os::fd::OwnedFd,
}

impl EventFd {
    /// A new non-blocking, close-on-exec event counter at zero.
    pub fn new() -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: eventfd takes plain integers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor this process owns alone.
        Ok(EventFd {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Make the counter readable.
    pub fn signal(&self) {
        use std::os::fd::AsRawFd;
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. It fails only if the counter would
        // overflow, when it is readable anyway.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Reset the counter (not readable until the next signal).
    pub fn drain(&self) {
        use std::os::fd::AsRawFd;
        let mut n: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; EAGAIN (already zero) is fine.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }
}

impl std::os::fd::AsRawFd for EventFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_defaults_and_name_bad_ports() {
        let p = |s, port| parse_address(s, "0.0.0.0", port).map(|a| a.to_string());
        assert_eq!(p("", Some(44818)).unwrap(), "0.0.0.0:44818");
        assert_eq!(p(":44819", Some(44818)).unwrap(), "0.0.0.0:44819");
        assert_eq!(p("127.0.0.1", Some(44818)).unwrap(), "127.0.0.1:44818");
        assert_eq!(p("8080", None).unwrap(), "0.0.0.0:8080");
        assert_eq!(p("[::1]:0", None).unwrap(), "[::1]:0");
        let e = p(":x", Some(1)).unwrap_err().to_string();
        assert_eq!(e, "port \"x\" is not a number 0-65535");
    }

    /// Whether `t` fires within `wait` (poll(2) on its descriptor).
    fn fires_within(t: &Timerfd, wait: std::time::Duration) -> bool {
        use std::os::fd::AsRawFd;
        let mut p = libc::pollfd {
            fd: t.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(wait.as_millis()).unwrap();
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut p, 1, ms) == 1 }
    }

    #[test]
    fn a_timerfd_fires_at_the_instant_set_and_not_when_disarmed_or_moved() {
        let t = Timerfd::new().unwrap();
        let at = std::time::Instant::now() + std::time::Duration::from_micros(2_300);
        t.set(Some(at)).unwrap();
        assert!(fires_within(&t, std::time::Duration::from_secs(5)));
        assert!(
            std::time::Instant::now() >= at,
            "fired before the instant set"
        );
        // Set again: the expiry not read is forgotten.
        t.set(None).unwrap();
        assert!(!fires_within(&t, std::time::Duration::from_millis(30)));
        t.set(Some(
            std::time::Instant::now() + std::time::Duration::from_secs(60),
        ))
        .unwrap();
        assert!(!fires_within(&t, std::time::Duration::from_millis(30)));
        // An instant passed fires at once.
        t.set(Some(std::time::Instant::now())).unwrap();
        assert!(fires_within(&t, std::time::Duration::from_secs(5)));
    }

    #[test]
    fn a_datagram_over_loopback_carries_a_kernel_timestamp_no_later_than_now() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        want_timestamps(&rx).unwrap();
        want_destination(&rx).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // The kernel turns arrival stamping on a moment after the first socket asks for it
        // (deferred work): until then a datagram is stamped when it is read. So probe, at most
        // 20 times (about 1 s), until one carries the time it arrived.
        let mut ages = Vec::new();
        for _ in 0..20 {
            let before = std::time::SystemTime::now();
            tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
            let now = std::time::Instant::now();
            let mut buf = [0u8; 16];
            let m = recv_message(&rx, &mut buf).unwrap();
            let after = std::time::SystemTime::now();
            assert_eq!(
                (m.len, m.peer, m.broadcast),
                (5, tx.local_addr().unwrap(), false)
            );
            let stamp = m.received.expect("a receive timestamp");
            assert!(
                before <= stamp && stamp <= after,
                "{before:?} <= {stamp:?} <= {after:?}"
            );
            let arrived = m.arrived(now);
            assert!(arrived <= now);
            // It arrived before we read it: about 50 ms before `now` on the monotonic clock.
            if now - arrived >= std::time::Duration::from_millis(40) {
                return;
            }
            ages.push(now - arrived);
        }
        panic!("no datagram was stamped at arrival: ages {ages:?}");
    }

    #[test]
    fn without_the_option_a_datagram_counts_as_arriving_now() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 4];
        let m = loop {
            match recv_message(&rx, &mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                got => break got.unwrap(),
            }
        };
        assert_eq!(m.received, None);
        let now = std::time::Instant::now();
        assert_eq!(m.arrived(now), now);
    }
}
