//! Modbus/TCP on the devices of a fleet: every device serves port 502 of its own address from
//! its own register store (values written to one device are not seen by another).

use std::sync::Arc;

use cpppo_modbus::server::Simulator;
use cpppo_modbus::store::Store;
use cpppo_modbus::RangeSpec;
use cpppo_net::stack::{Buffers, HostId, Net};
use tokio::task::JoinHandle;

use crate::FleetError;

/// The Modbus/TCP port every device serves.
pub const MODBUS_PORT: u16 = 502;

/// Registers of each device when none are given: 100 of each table, all 0.
pub const DEFAULT_REGISTERS: &[&str] =
    &["1-100=0", "10001-10100=0", "30001-30100=0", "40001-40100=0"];

/// TCP send and receive buffer of each Modbus connection by default, bytes: a request or
/// response is at most 260 bytes, so this holds a few pipelined ones, at a quarter of the
/// EtherNet/IP default (every device's listening socket holds one pair).
pub const MODBUS_TCP_BUFFER: usize = 1024;

/// The registers every device's Modbus store starts with.
#[derive(Debug, Clone)]
pub struct ModbusTemplate {
    /// The store each device gets a copy of.
    store: Store,
    /// TCP send and receive buffer of each connection, bytes.
    tcp_buffer: usize,
}

impl ModbusTemplate {
    /// Parse register ranges as `cpppo modbus sim` takes them (`40001-40100=0`); none gives
    /// [`DEFAULT_REGISTERS`].
    pub fn parse(ranges: &[String]) -> Result<Self, FleetError> {
        let texts: Vec<&str> = if ranges.is_empty() {
            DEFAULT_REGISTERS.to_vec()
        } else {
            ranges.iter().map(String::as_str).collect()
        };
        let specs = texts
            .iter()
            .map(|t| {
                RangeSpec::parse(t)
                    .map_err(|e| FleetError::Invalid(format!("--modbus-registers: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            store: Store::from_specs(&specs),
            tcp_buffer: MODBUS_TCP_BUFFER,
        })
    }

    /// Give each Modbus connection TCP buffers of `bytes` (default [`MODBUS_TCP_BUFFER`]).
    pub fn tcp_buffer(mut self, bytes: usize) -> Self {
        self.tcp_buffer = bytes;
        self
    }

    /// Serve a fresh copy of the registers on port 502 of `host`.
    pub fn serve(&self, net: &Net, host: HostId) -> std::io::Result<JoinHandle<()>> {
        let buffers = Buffers {
            tcp_rx: self.tcp_buffer,
            tcp_tx: self.tcp_buffer,
            ..Buffers::default()
        };
        let listener = net.listen_tcp_with(host, MODBUS_PORT, buffers)?;
        let sim = Arc::new(Simulator::new(self.store.clone()));
        Ok(tokio::spawn(async move {
            if let Err(e) = sim.serve_tcp(listener).await {
                tracing::warn!("Modbus/TCP server stopped: {e}");
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpppo_modbus::{Register, Table};

    #[test]
    fn registers_default_and_parse() {
        let t = ModbusTemplate::parse(&[]).unwrap();
        for table in Table::ALL {
            assert_eq!(t.store.len(table), 100, "{table:?}");
        }
        let t = ModbusTemplate::parse(&["40001-40010=7".into()]).unwrap();
        assert_eq!(t.store.len(Table::HoldingRegisters), 10);
        assert_eq!(t.store.len(Table::Coils), 0);
        assert_eq!(t.store.get(Register::from_number(40010).unwrap()), Some(7));
        let e = ModbusTemplate::parse(&["40001-30001".into()]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--modbus-registers: bad register range"),
            "{e}"
        );
    }
}
