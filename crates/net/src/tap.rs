//! Host access through a TAP device: the host kernel sees the virtual LAN as one Ethernet
//! interface, so every simulated host's IP is reachable with ordinary tools.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use tokio::io::unix::AsyncFd;

use crate::stack::Net;

/// The clone device TAP interfaces are made from.
pub const TUN_PATH: &str = "/dev/net/tun";

/// An open TAP interface (it disappears when closed, unless made persistent elsewhere).
#[derive(Debug)]
pub struct Tap {
    file: File,
    name: String,
}

/// `struct ifreq` as TUNSETIFF reads it: the name, the flags, and padding to 40 bytes.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    pad: [u8; 22],
}

impl Tap {
    /// Create (or attach to) the TAP interface `name`; needs CAP_NET_ADMIN and `/dev/net/tun`.
    pub fn open(name: &str) -> io::Result<Self> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', ' ', '\0']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not an interface name (1-15 characters)"),
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(TUN_PATH)
            .map_err(|e| io::Error::new(e.kind(), format!("{TUN_PATH}: {e}")))?;
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
            pad: [0; 22],
        };
        if let Some(dst) = req.name.get_mut(..name.len()) {
            dst.copy_from_slice(name.as_bytes());
        }
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `req` is laid out as
        // (name[16], short flags, padding to its 40 bytes); `file` is an open descriptor.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req as *mut IfReq) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("TAP {name}: {e}")));
        }
        Ok(Self {
            file,
            name: name.to_string(),
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connect the TAP to `net` as an external link and move frames both ways until the
    /// device fails. Run it as a task.
    pub async fn attach(self, net: Net) -> io::Result<()> {
        let (port, mut out) = net.add_external();
        // SAFETY: `File` owns its descriptor and always returns the same one from
        // `as_raw_fd`; the AsyncFd owns the File until it is dropped.
        let fd = unsafe { AsyncFd::register(self.file) }.map_err(io::Error::from)?;
        let mut buf = vec![0u8; 65536];
        loop {
            tokio::select! {
                ready = fd.readable() => {
                    let mut guard = ready?;
                    loop {
                        match guard.get_inner().read(&mut buf) {
                            Ok(n) => net.inject(port, buf.get(..n).unwrap_or_default().to_vec()),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                guard.clear_ready();
                                break;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                frame = out.recv() => {
                    let Some(frame) = frame else { return Ok(()) };
                    write_frame(&fd, &frame).await?;
                    // Every frame already queued, before waiting again.
                    while let Ok(frame) = out.try_recv() {
                        write_frame(&fd, &frame).await?;
                    }
                }
            }
        }
    }
}

async fn write_frame(fd: &AsyncFd<File>, frame: &[u8]) -> io::Result<()> {
    // A TAP almost always takes the frame at once: try before asking the reactor.
    match fd.get_ref().write(frame) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        done => return done.map(|_| ()),
    }
    loop {
        let mut guard = fd.writable().await?;
        match guard.try_io(|f| f.get_ref().write(frame)) {
            Ok(r) => return r.map(|_| ()),
            Err(_would_block) => continue,
        }
    }
}
