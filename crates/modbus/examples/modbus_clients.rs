//! Many lock-step Modbus/TCP clients in one process (used by `bench/latency/run.sh`): CONNS
//! connections through the crate's client ([`TcpClient`]), each with one Read Holding
//! Registers in flight, on one thread, for SECS seconds; prints the aggregate requests/s
//! (and, given the server's PID, its CPU µs per request from /proc/PID/stat).
//!
//! ```text
//! modbus_clients HOST:PORT CONNS SECS [PID]
//! ```
//!
//! The connections ([`TcpSession`], sans-IO) are driven by one [`Driver`] (epoll, one `read`
//! and one `write` per reply); with `LOCKSTEP_TOKIO=1`, each is a [`TcpClient`] in a task of
//! one current-thread tokio runtime instead.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cpppo_modbus::client::{checked, TcpClient, TcpSession};
use cpppo_modbus::Request;
use cpppo_net::drive::{Driver, Ready};

#[path = "../../../bench/latency/lockstep_driver.rs"]
mod driver;

/// One connection reading holding register 40001 over and over.
struct ReadRegister(TcpClient);

impl driver::LockStep for ReadRegister {
    const WHAT: (&'static str, &'static str) = ("Read Holding Registers", "requests");

    async fn connect(addr: &str) -> Result<Self, String> {
        TcpClient::connect(addr, Duration::from_secs(10))
            .await
            .map(ReadRegister)
            .map_err(|e| e.to_string())
    }

    async fn once(&mut self) -> Result<(), String> {
        let req = Request::ReadHoldingRegisters {
            address: 0,
            quantity: 1,
        };
        // Checked (function, count) where it lies: nothing copied or allocated.
        match self.0.call_with(1, &req, |r| r.function()).await {
            Ok(0x03) => Ok(()),
            Ok(other) => Err(format!("unexpected reply function {other:#04x}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The request every connection makes.
const READ: Request<'static> = Request::ReadHoldingRegisters {
    address: 0,
    quantity: 1,
};

/// `conns` connections, their first request queued, in one driver.
fn connect(addr: &str, conns: usize) -> Result<Driver<TcpSession>, String> {
    let mut driver = Driver::new().map_err(|e| e.to_string())?;
    for _ in 0..conns {
        let stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut session = TcpSession::new(Duration::from_secs(10));
        session.send(1, &READ).map_err(|e| e.to_string())?;
        driver.add(stream, session).map_err(|e| e.to_string())?;
    }
    Ok(driver)
}

/// Every connection's replies, until `until`, each answered with the next request; the
/// replies counted, or the first failure.
fn polled(mut driver: Driver<TcpSession>, until: Instant) -> Result<u64, String> {
    let (mut done, mut failed) = (0u64, None);
    while !driver.is_empty() && failed.is_none() {
        let open = Instant::now() < until;
        driver
            .turn(Duration::from_millis(100), |_, session, ready| {
                if let Ready::Closed(e) = ready {
                    failed.get_or_insert(format!("connection closed: {e:?}"));
                    return;
                }
                while let Some(reply) = session.poll_reply() {
                    // Checked (function, count) where it lies: nothing copied or allocated.
                    match reply
                        .map_err(|e| e.to_string())
                        .and_then(|(_, pdu)| checked(&READ, pdu).map_err(|e| e.to_string()))
                    {
                        Ok(_) => done += 1,
                        Err(e) => {
                            failed.get_or_insert(e);
                            return;
                        }
                    }
                    if open {
                        if let Err(e) = session.send(1, &READ) {
                            failed.get_or_insert(e.to_string());
                        }
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        if !open
            && (0..driver.len()).all(|id| driver.get_mut(id).is_none_or(|s| s.in_flight() == 0))
        {
            break;
        }
    }
    failed.map_or(Ok(done), Err)
}

fn main() -> ExitCode {
    if std::env::var_os("LOCKSTEP_TOKIO").is_some() {
        return driver::main::<ReadRegister>("modbus_clients");
    }
    driver::main_polled::<ReadRegister, _>("modbus_clients", connect, polled)
}
