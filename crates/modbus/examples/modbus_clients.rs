//! Many lock-step Modbus/TCP clients in one process (used by `bench/latency/run.sh`): CONNS
//! connections through the crate's client ([`TcpClient`]), each with one Read Holding
//! Registers in flight, on one thread, for SECS seconds; prints the aggregate requests/s
//! (and, given the server's PID, its CPU µs per request from /proc/PID/stat).
//!
//! ```text
//! modbus_clients HOST:PORT CONNS SECS [PID]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use cpppo_modbus::client::TcpClient;
use cpppo_modbus::Request;

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

fn main() -> ExitCode {
    driver::main::<ReadRegister>("modbus_clients")
}
