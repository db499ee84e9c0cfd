//! A native plug into a VDE switch (Debian's `vde_switch`): the control socket handshake, then
//! one Unix datagram per Ethernet frame.

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixDatagram as StdDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixDatagram;

use crate::stack::Net;

/// The request magic number.
const MAGIC: u32 = 0xfeed_face;
/// The protocol version spoken.
const VERSION: u32 = 3;
/// Request type: a new port.
const REQ_NEW_CONTROL: u32 = 0;
/// `sizeof(struct sockaddr_un)` on Linux.
const SOCKADDR_UN: usize = 110;
/// Pause after each frame sent: unpaced bursts overflow the switch's socket and are dropped.
const PACE: Duration = Duration::from_micros(20);

/// A plug connected to a VDE switch.
#[derive(Debug)]
pub struct VdePlug {
    // The switch keeps the port while the control connection is open.
    _ctl: UnixStream,
    data: StdDatagram,
    path: PathBuf,
}

fn sockaddr_un(path: &Path) -> io::Result<[u8; SOCKADDR_UN]> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let mut sa = [0u8; SOCKADDR_UN];
    sa[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
    let dst = sa
        .get_mut(2..2 + bytes.len())
        .filter(|_| bytes.len() < SOCKADDR_UN - 2)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "socket path too long"))?;
    dst.copy_from_slice(bytes);
    Ok(sa)
}

impl VdePlug {
    /// Connect to the switch whose control directory is `dir` (`vde_switch -s DIR`).
    pub fn connect(dir: &Path, description: &str) -> io::Result<Self> {
        let ctl_path = dir.join("ctl");
        let mut ctl = UnixStream::connect(&ctl_path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "VDE switch {}: {e} (is vde_switch running?)",
                    ctl_path.display()
                ),
            )
        })?;
        let path = std::env::temp_dir().join(format!(
            "cpppo-vde.{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let data = StdDatagram::bind(&path)?;
        let mut req = Vec::with_capacity(12 + SOCKADDR_UN + description.len());
        req.extend_from_slice(&MAGIC.to_ne_bytes());
        req.extend_from_slice(&VERSION.to_ne_bytes());
        req.extend_from_slice(&REQ_NEW_CONTROL.to_ne_bytes());
        req.extend_from_slice(&sockaddr_un(&path)?);
        req.extend_from_slice(description.as_bytes());
        ctl.write_all(&req)?;
        ctl.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut reply = [0u8; SOCKADDR_UN];
        let n = ctl.read(&mut reply)?;
        let name = reply.get(2..n).unwrap_or_default();
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let switch_path = {
            use std::os::unix::ffi::OsStrExt;
            PathBuf::from(std::ffi::OsStr::from_bytes(
                name.get(..end).unwrap_or_default(),
            ))
        };
        if n < 3 || switch_path.as_os_str().is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("VDE switch {} refused the plug", dir.display()),
            ));
        }
        data.connect(&switch_path)?;
        Ok(Self {
            _ctl: ctl,
            data,
            path,
        })
    }

    /// Connect the plug to `net` as an external link and move frames both ways. Run it as a
    /// task.
    pub async fn attach(self, net: Net) -> io::Result<()> {
        let (port, mut out) = net.add_external();
        self.data.set_nonblocking(true)?;
        let sock = UnixDatagram::from_std(self.data.try_clone()?)?;
        let mut buf = vec![0u8; 65536];
        loop {
            tokio::select! {
                got = sock.recv(&mut buf) => {
                    let n = got?;
                    net.inject(port, buf.get(..n).unwrap_or_default().to_vec());
                }
                frame = out.recv() => {
                    let Some(frame) = frame else { return Ok(()) };
                    // A full switch queue loses this frame only, as on a real wire.
                    let _ = sock.send(&frame).await;
                    tokio::time::sleep(PACE).await;
                }
            }
        }
    }
}

impl Drop for VdePlug {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
