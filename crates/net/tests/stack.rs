//! Userspace stacks on the in-process switch: TCP and UDP between simulated hosts.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cpppo_net::stack::Net;
use cpppo_net::{Connector, Datagram, Listener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

fn mac(i: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, i]
}

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn tcp_echo_between_two_hosts() {
    let net = Net::default();
    let a = net
        .add_host(mac(1), Ipv4Addr::new(10, 9, 0, 1), 24, None)
        .unwrap();
    let b = net
        .add_host(mac(2), Ipv4Addr::new(10, 9, 0, 2), 24, None)
        .unwrap();
    let driver = tokio::spawn(net.run());
    let mut listener = net.listen_tcp(a, 44818).unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        "10.9.0.1:44818".parse().unwrap()
    );
    let server = tokio::spawn(async move {
        let mut acc = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 10_000];
        acc.stream.read_exact(&mut buf).await.unwrap();
        acc.stream.write_all(&buf).await.unwrap();
        acc.peer
    });
    let connector = net.connector(b);
    let mut s = timeout(LIMIT, connector.connect("10.9.0.1:44818"))
        .await
        .unwrap()
        .unwrap();
    // More than one socket buffer's worth, so flow control is exercised both ways.
    let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    let (mut r, mut w) = tokio::io::split(&mut s);
    let sent = data.clone();
    let (wrote, echoed) = tokio::join!(w.write_all(&sent), async {
        let mut back = vec![0u8; 10_000];
        r.read_exact(&mut back).await.map(|_| back)
    });
    wrote.unwrap();
    assert_eq!(echoed.unwrap(), data);
    let peer = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(peer.ip(), Ipv4Addr::new(10, 9, 0, 2));
    // The server side is gone: reading ends.
    let mut rest = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    driver.abort();
}

#[tokio::test]
async fn udp_broadcast_is_answered_by_every_host() {
    // The asking socket must hold every answer of one burst.
    let net = Net::new(cpppo_net::stack::Buffers {
        udp: 16384,
        ..Default::default()
    });
    let mut servers = Vec::new();
    for i in 1..=20u8 {
        let h = net
            .add_host(mac(i), Ipv4Addr::new(10, 9, 1, i), 24, None)
            .unwrap();
        let sock = net.bind_udp(h, 44818).unwrap();
        servers.push(tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let rx = sock.recv_from(&mut buf).await.unwrap();
            let reply = format!("{}", rx.local.ip());
            sock.send_to(reply.as_bytes(), rx.peer).await.unwrap();
            // Keep the socket until the reply has left.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }));
    }
    let client = net
        .add_host(mac(100), Ipv4Addr::new(10, 9, 1, 100), 24, None)
        .unwrap();
    let driver = tokio::spawn(net.run());
    let sock = net.bind_udp(client, 2222).unwrap();
    let bcast: SocketAddr = "255.255.255.255:44818".parse().unwrap();
    sock.send_to(b"who", bcast).await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut buf = [0u8; 64];
    for n in 0..20 {
        let rx = timeout(LIMIT, sock.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("only {n} answers"))
            .unwrap();
        let text = std::str::from_utf8(&buf[..rx.len]).unwrap().to_string();
        assert_eq!(text, rx.peer.ip().to_string());
        seen.insert(text);
    }
    assert_eq!(seen.len(), 20);
    assert!(net.frames() > 40);
    driver.abort();
}

#[tokio::test]
async fn idle_net_sleeps() {
    let net = Net::default();
    for i in 1..=50u8 {
        let h = net
            .add_host(mac(i), Ipv4Addr::new(10, 9, 2, i), 24, None)
            .unwrap();
        std::mem::forget(net.listen_tcp(h, 44818).unwrap());
    }
    let driver = tokio::spawn(net.run());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Nothing was sent: no frames switched, so no host was polled for traffic.
    assert_eq!(net.frames(), 0);
    driver.abort();
}

#[tokio::test]
async fn simultaneous_connections_to_one_device_are_all_accepted() {
    let net = Net::default();
    let server = net
        .add_host(mac(1), Ipv4Addr::new(10, 9, 3, 1), 24, None)
        .unwrap();
    let driver = tokio::spawn(net.run());
    let mut listener = net.listen_tcp(server, 44818).unwrap();
    let accepting = tokio::spawn(async move {
        let mut streams = Vec::new();
        for _ in 0..8 {
            let mut acc = listener.accept().await.unwrap();
            acc.stream.write_all(b"hi").await.unwrap();
            streams.push(acc.stream);
        }
        streams
    });
    let mut clients = Vec::new();
    for i in 0..8u8 {
        let h = net
            .add_host(mac(10 + i), Ipv4Addr::new(10, 9, 3, 10 + i), 24, None)
            .unwrap();
        let c = net.connector(h);
        clients.push(tokio::spawn(async move {
            let mut s = c.connect("10.9.3.1:44818").await?;
            let mut buf = [0u8; 2];
            s.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        }));
    }
    for c in clients {
        assert_eq!(&timeout(LIMIT, c).await.unwrap().unwrap().unwrap(), b"hi");
    }
    assert_eq!(timeout(LIMIT, accepting).await.unwrap().unwrap().len(), 8);
    driver.abort();
}

#[tokio::test]
async fn a_listener_rearms_for_each_connection_and_its_port_is_exclusive() {
    let net = Net::default();
    let a = net
        .add_host(mac(1), Ipv4Addr::new(10, 9, 0, 1), 24, None)
        .unwrap();
    let b = net
        .add_host(mac(2), Ipv4Addr::new(10, 9, 0, 2), 24, None)
        .unwrap();
    let driver = tokio::spawn(net.run());
    let mut listener = net.listen_tcp(a, 502).unwrap();
    let taken = net.listen_tcp(a, 502).err().map(|e| e.kind());
    assert_eq!(taken, Some(std::io::ErrorKind::AddrInUse));
    let server = tokio::spawn(async move {
        for i in 0..3u8 {
            let mut acc = listener.accept().await.unwrap();
            acc.stream.write_all(&[i]).await.unwrap();
        }
    });
    let connector = net.connector(b);
    for i in 0..3u8 {
        let mut s = timeout(LIMIT, connector.connect("10.9.0.1:502"))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        let mut got = [0u8];
        timeout(LIMIT, s.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, [i]);
    }
    timeout(LIMIT, server).await.unwrap().unwrap();
    driver.abort();
}

#[tokio::test]
async fn a_listener_with_small_buffers_still_moves_large_transfers() {
    let net = Net::default();
    let a = net
        .add_host(mac(31), Ipv4Addr::new(10, 9, 3, 1), 24, None)
        .unwrap();
    let b = net
        .add_host(mac(32), Ipv4Addr::new(10, 9, 3, 2), 24, None)
        .unwrap();
    let driver = tokio::spawn(net.run());
    let small = cpppo_net::stack::Buffers {
        tcp_rx: 512,
        tcp_tx: 512,
        ..Default::default()
    };
    let mut listener = net.listen_tcp_with(a, 502, small).unwrap();
    let server = tokio::spawn(async move {
        // Two connections: the second gets the fresh listening socket, also small.
        for _ in 0..2 {
            let mut acc = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = tokio::io::split(&mut acc.stream);
                tokio::io::copy(&mut r, &mut w).await.unwrap();
            });
        }
    });
    let connector = net.connector(b);
    for _ in 0..2 {
        let mut s = timeout(LIMIT, connector.connect("10.9.3.1:502"))
            .await
            .unwrap()
            .unwrap();
        // Twenty times the server's buffers, echoed back through them.
        let data: Vec<u8> = (0..10_240u32).map(|i| (i * 7) as u8).collect();
        let (mut r, mut w) = tokio::io::split(&mut s);
        let (wrote, echoed) = timeout(LIMIT, async {
            tokio::join!(w.write_all(&data), async {
                let mut back = vec![0u8; data.len()];
                r.read_exact(&mut back).await.map(|_| back)
            })
        })
        .await
        .unwrap();
        wrote.unwrap();
        assert_eq!(echoed.unwrap(), data);
    }
    timeout(LIMIT, server).await.unwrap().unwrap();
    driver.abort();
}
