//! The simulator on userspace TCP/IP stacks (`cpppo_net::stack`), unchanged: two devices at
//! their own addresses on one virtual LAN, each with its own store, and tokio-modbus talking
//! to them from a third host over the stack's streams.
#![cfg(feature = "runtime")]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use cpppo_modbus::server::Simulator;
use cpppo_modbus::store::Store;
use cpppo_modbus::RangeSpec;
use cpppo_net::stack::{Net, NetStream};
use cpppo_net::Connector;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::timeout;
use tokio_modbus::prelude::*;

const LIMIT: Duration = Duration::from_secs(10);

/// tokio-modbus wants a `Debug` transport; the stack's stream is opaque.
struct Wire(NetStream);

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetStream")
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

async fn read(c: &mut client::Context) -> Result<Vec<u16>, ExceptionCode> {
    timeout(LIMIT, c.read_holding_registers(1, 4))
        .await
        .unwrap()
        .unwrap()
}

fn mac(i: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 5, i]
}

#[tokio::test]
async fn two_devices_on_userspace_stacks_keep_their_own_registers() {
    let net = Net::default();
    let client = net
        .add_host(mac(1), Ipv4Addr::new(10, 9, 5, 1), 24, None)
        .unwrap();
    let driver = tokio::spawn(net.run());
    let mut servers = Vec::new();
    for i in 2..=3u8 {
        let host = net
            .add_host(mac(i), Ipv4Addr::new(10, 9, 5, i), 24, None)
            .unwrap();
        let store = Store::from_specs(&[RangeSpec::parse("40001-40010=7").unwrap()]);
        let listener = net.listen_tcp(host, 502).unwrap();
        servers.push(tokio::spawn(
            Arc::new(Simulator::new(store)).serve_tcp(listener),
        ));
    }
    let connector = net.connector(client);
    let mut ctx = Vec::new();
    for ip in ["10.9.5.2:502", "10.9.5.3:502"] {
        let stream = timeout(LIMIT, connector.connect(ip))
            .await
            .unwrap()
            .unwrap();
        ctx.push(tcp::attach_slave(Wire(stream), Slave(1)));
    }
    let (a, b) = ctx.split_at_mut(1);
    let (a, b) = (&mut a[0], &mut b[0]);
    timeout(LIMIT, a.write_multiple_registers(2, &[100, 101]))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    timeout(LIMIT, b.write_single_register(2, 200))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(read(a).await, Ok(vec![7, 100, 101, 7]));
    assert_eq!(read(b).await, Ok(vec![7, 200, 7, 7]));
    // Undefined registers answer exception 02 over the stack as over OS sockets.
    assert_eq!(
        timeout(LIMIT, a.read_holding_registers(9, 2))
            .await
            .unwrap()
            .unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    for s in servers {
        s.abort();
    }
    driver.abort();
}
