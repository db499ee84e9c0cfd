//! Many lock-step EtherNet/IP clients in one process (used by `bench/latency/run.sh`): CONNS
//! connections through the crate's client ([`Connector`]), each with one Read Tag in flight,
//! on one thread, for SECS seconds; prints the aggregate reads/s (and, given the server's PID,
//! its CPU µs per request from /proc/PID/stat).
//!
//! ```text
//! lockstep_clients ADDR CONNS SECS [PID]
//! ```

use std::process::ExitCode;

use cpppo_enip::client::operation::Operation;
use cpppo_enip::client::{Connector, Options, Pipeline};

#[path = "../../../bench/latency/lockstep_driver.rs"]
mod driver;

/// One connection reading `SCADA[1]` over and over.
struct ReadTag(Pipeline<'static, Connector>);

impl driver::LockStep for ReadTag {
    const WHAT: (&'static str, &'static str) = ("Read Tag", "reads");

    async fn connect(addr: &str) -> Result<Self, String> {
        let op = Operation::parse("SCADA[1]").map_err(|e| e.to_string())?;
        let conn = Connector::connect(addr, Options::default())
            .await
            .map_err(|e| e.to_string())?;
        // The one read, planned and encoded once, taken again and again; values only.
        let reads = Pipeline::cycling(conn, vec![op], None, 1, 0).replies(false);
        Ok(ReadTag(reads))
    }

    async fn once(&mut self) -> Result<(), String> {
        match self.0.next_value().await {
            Some(Ok((_, Some(_)))) => Ok(()),
            Some(Ok((_, None))) => Err("read failed".into()),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the pipeline ended".into()),
        }
    }
}

fn main() -> ExitCode {
    driver::main::<ReadTag>("lockstep_clients")
}
