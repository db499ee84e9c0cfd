//! Serial ports (and pseudo-terminals) in raw mode, driven by tokio.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use tokio::io::unix::AsyncFd;

/// Parity bit setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parity {
    /// No parity bit.
    #[default]
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

impl std::str::FromStr for Parity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "N" | "NONE" => Ok(Parity::None),
            "E" | "EVEN" => Ok(Parity::Even),
            "O" | "ODD" => Ok(Parity::Odd),
            _ => Err(format!("parity {s:?} is not N, E or O")),
        }
    }
}

/// Line settings: baud rate, parity, stop bits (data bits are always 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineConfig {
    /// Bits per second.
    pub baud: u32,
    /// Parity.
    pub parity: Parity,
    /// 1 or 2.
    pub stop_bits: u8,
}

impl Default for LineConfig {
    fn default() -> Self {
        Self {
            baud: 19_200,
            parity: Parity::None,
            stop_bits: 1,
        }
    }
}

fn speed(baud: u32) -> Option<libc::speed_t> {
    Some(match baud {
        1200 => libc::B1200,
        2400 => libc::B2400,
        4800 => libc::B4800,
        9600 => libc::B9600,
        19_200 => libc::B19200,
        38_400 => libc::B38400,
        57_600 => libc::B57600,
        115_200 => libc::B115200,
        230_400 => libc::B230400,
        460_800 => libc::B460800,
        921_600 => libc::B921600,
        _ => return None,
    })
}

/// A serial port opened non-blocking in raw 8-bit mode.
#[derive(Debug)]
pub struct SerialPort {
    fd: AsyncFd<File>,
}

impl SerialPort {
    /// Open `path` and apply `line`. Fails if it is not a terminal or the baud rate is not
    /// one of the standard ones. Must be called inside a tokio runtime.
    pub fn open(path: &Path, line: &LineConfig) -> io::Result<Self> {
        let baud = speed(line.baud).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unsupported baud rate {}", line.baud),
            )
        })?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)?;
        configure(&file, baud, line)?;
        // SAFETY: `file` owns its descriptor and moves into the AsyncFd, so the descriptor
        // stays open and the same for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register(file) }?;
        Ok(Self { fd })
    }

    /// Read what is available (waiting for at least one byte). 0 means the line hung up
    /// (the other end of a pseudo-terminal closed).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|f| f.get_ref().read(buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Throw away whatever has been received and not read yet.
    pub fn discard_input(&self) -> io::Result<()> {
        // SAFETY: the descriptor is open for the life of `self`.
        if unsafe { libc::tcflush(self.fd.get_ref().as_raw_fd(), libc::TCIFLUSH) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Write all of `data`.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|f| f.get_ref().write(data)) {
                Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(Ok(n)) => data = data.get(n..).unwrap_or_default(),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}

fn configure(file: &File, baud: libc::speed_t, line: &LineConfig) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open descriptor owned by `file` for the duration of these calls, and
    // `tio` is a plain C struct that tcgetattr fully initialises before it is read.
    unsafe {
        let mut tio: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut tio) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::cfmakeraw(&mut tio);
        tio.c_cflag |= libc::CLOCAL | libc::CREAD;
        tio.c_cflag &= !(libc::PARENB | libc::PARODD | libc::CSTOPB | libc::CRTSCTS);
        match line.parity {
            Parity::None => {}
            Parity::Even => tio.c_cflag |= libc::PARENB,
            Parity::Odd => tio.c_cflag |= libc::PARENB | libc::PARODD,
        }
        if line.stop_bits >= 2 {
            tio.c_cflag |= libc::CSTOPB;
        }
        // VMIN 1: a non-blocking read with nothing to read fails with EAGAIN (with VMIN 0 it
        // returns 0, which would look like end of file).
        tio.c_cc[libc::VMIN] = 1;
        tio.c_cc[libc::VTIME] = 0;
        if libc::cfsetispeed(&mut tio, baud) != 0 || libc::cfsetospeed(&mut tio, baud) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::tcsetattr(fd, libc::TCSANOW, &tio) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
