//! Routing between two simulators on loopback: a router whose `Route` map sends backplane
//! slots 1-15 to a second simulator. Unconnected Sends inside a Multiple Service Packet are
//! answered in their slots; a connection whose path names a routed slot reaches the second
//! simulator, replies keeping the client's sequence counts; the legacy command 0x0001.

use std::net::SocketAddr;
use std::sync::Arc;

use cpppo_cip::cpf::Item;
use cpppo_cip::encap::{Body, Command, Header, Packet, Register, Repr, SendData, HEADER_LEN};
use cpppo_cip::mr::{MrReply, MrRequest, Payload};
use cpppo_cip::services::cm::{ForwardOpen, ForwardOpenReply, Triad, UnconnectedSend};
use cpppo_cip::services::msp::Table;
use cpppo_cip::services::MspWriter;
use cpppo_cip::{EPath, Padding};
use cpppo_enip::client::operation::Operation;
use cpppo_enip::client::plan::Plan;
use cpppo_enip::client::route::{mr_request, CONNECTION_MANAGER};
use cpppo_enip::client::session::MESSAGE_ROUTER;
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::serve::{serve_datagrams, serve_listener, Options};
use cpppo_enip::server::route::parse_routes;
use cpppo_enip::server::session::{RoutePolicy, Shared};
use cpppo_net::os::{OsDatagram, OsListener};
use cpppo_net::Listener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::sync::watch;

/// Serve a simulator with `tags` and `routes` (JSON) on a loopback port (TCP and UDP).
async fn simulator(tags: &[&str], routes: &str, stop: &watch::Receiver<bool>) -> SocketAddr {
    let mut d = Device::new(&DeviceConfig::default());
    for t in tags {
        d.add_tag(&TagSpec::parse(t).unwrap()).unwrap();
    }
    let shared = Arc::new(Shared {
        device: Arc::new(d),
        route: RoutePolicy::Any,
        routes: parse_routes(routes).unwrap(),
        io: None,
    });
    let listener = OsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let udp = OsDatagram::bind(addr).await.unwrap();
    let opts = Arc::new(Options::default());
    tokio::spawn(serve_listener(
        listener,
        shared.clone(),
        opts.clone(),
        stop.clone(),
    ));
    tokio::spawn(serve_datagrams(udp, shared, opts, stop.clone()));
    addr
}

/// A router (tag LOCAL=INT[4]; slots 1-15 go to a second simulator with REMOTE=DINT[600],
/// port 3 to a dead address) and a registered session with it.
async fn router(stop: &watch::Receiver<bool>) -> Client {
    let remote = simulator(&["REMOTE=DINT[600]"], "{}", stop).await;
    // A port held bound but never listening: connections to it are refused, and no one else
    // can take it while the client lives.
    let dead = TcpSocket::new_v4().unwrap();
    dead.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let dead_addr = dead.local_addr().unwrap();
    let routes = format!(r#"{{"1/1-15": "{remote}", "3/0": "{dead_addr}"}}"#);
    let addr = simulator(&["LOCAL=INT[4]"], &routes, stop).await;
    let mut client = Client::connect(addr).await;
    client.dead = Some(dead);
    client
}

struct Client {
    stream: TcpStream,
    session: u32,
    /// The dead address's socket, held for the client's life.
    dead: Option<TcpSocket>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let mut c = Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            session: 0,
            dead: None,
        };
        let reg = Register {
            protocol_version: 1,
            options: 0,
        };
        let r = c
            .exchange(Command::RegisterSession, Body::Register(reg))
            .await;
        c.session = Repr::parse_bytes(&r).unwrap().header.session;
        c
    }

    /// Send one frame; its reply frame.
    async fn exchange(&mut self, command: Command, body: Body<'_>) -> Vec<u8> {
        let header = Header {
            command,
            session: self.session,
            status: 0,
            context: *b"context!",
            options: 0,
        };
        let f = Repr { header, body }.to_vec().unwrap();
        self.stream.write_all(&f).await.unwrap();
        let mut head = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut head).await.unwrap();
        let len = usize::from(Packet::new_unchecked(&head[..]).length());
        let mut rest = vec![0u8; len];
        self.stream.read_exact(&mut rest).await.unwrap();
        let f = [head.to_vec(), rest].concat();
        assert_eq!(
            Repr::parse_bytes(&f).unwrap().header.status,
            0,
            "encapsulation status"
        );
        f
    }

    /// An unconnected request (SendRRData); the CIP reply.
    async fn unconnected(&mut self, mr: &[u8]) -> Vec<u8> {
        let mut data = SendData::unconnected(mr);
        data.timeout = 5;
        let r = self
            .exchange(Command::SendRRData, Body::SendData(data))
            .await;
        let repr = Repr::parse_bytes(&r).unwrap();
        let Body::SendData(reply) = repr.body else {
            panic!("not a SendRRData reply")
        };
        assert_eq!(reply.cpf.items()[0], Item::NullAddress, "null address item");
        reply.cpf.unconnected_data().unwrap().to_vec()
    }

    /// A connected request (SendUnitData) on `id` with `sequence`: the T->O id and sequence
    /// the reply carries, and its CIP reply.
    async fn connected(&mut self, id: u32, sequence: u16, mr: &[u8]) -> (u32, u16, Vec<u8>) {
        let data = SendData::connected(id, sequence, mr);
        let r = self
            .exchange(Command::SendUnitData, Body::SendData(data))
            .await;
        let repr = Repr::parse_bytes(&r).unwrap();
        let Body::SendData(reply) = repr.body else {
            panic!("not a SendUnitData reply")
        };
        let (seq, cip) = reply.cpf.connected_data().unwrap();
        (reply.cpf.connection_id().unwrap(), seq, cip.to_vec())
    }

    /// Forward Open with `path` (route then @2/1); (our O->T id, the T->O id we chose) on
    /// success, or the failure reply.
    async fn forward_open(&mut self, path: &[u8], serial: u16) -> Result<u32, Vec<u8>> {
        self.forward_open_sized(path, serial, 500).await
    }

    /// Forward Open (Large above 511 bytes) of `size` bytes each way.
    async fn forward_open_sized(
        &mut self,
        path: &[u8],
        serial: u16,
        size: u16,
    ) -> Result<u32, Vec<u8>> {
        let large = size > 511;
        let params = if large { 0x4200_0000 } else { 0x4200 } | u32::from(size);
        let fo = ForwardOpen {
            large,
            priority_tick: 0x0A,
            timeout_ticks: 0x05,
            o_t_connection_id: 0,
            t_o_connection_id: 0x7700_0000,
            triad: Triad {
                connection_serial: serial,
                vendor_id: 0x1337,
                originator_serial: 42,
            },
            timeout_multiplier: 3,
            o_t_rpi: 2_000_000,
            o_t_params: params,
            t_o_rpi: 2_000_000,
            t_o_params: params,
            transport: 0xA3,
            connection_path: EPath::parse(path, Padding::Padded).unwrap(),
        };
        let mut data = vec![0u8; fo.buffer_len()];
        let n = fo.emit(&mut data).unwrap();
        let service = if large { 0x5B } else { 0x54 };
        let r = self
            .unconnected(&mr_request(service, &CONNECTION_MANAGER, &data[..n]).unwrap())
            .await;
        let reply = MrReply::parse(&r).unwrap();
        if reply.general_status == 0 {
            let fo = ForwardOpenReply::parse(reply.data).unwrap();
            assert_eq!(fo.t_o_connection_id, 0x7700_0000);
            Ok(fo.o_t_connection_id)
        } else {
            Err(r)
        }
    }
}

/// The Message Router request of an operation in cpppo's syntax (`REMOTE[2]=(DINT)42`).
fn op(text: &str) -> Vec<u8> {
    let op = Operation::parse(text).unwrap();
    Plan::new(&op, false, false).unwrap().request(0).unwrap()
}

fn read(name: &str, element: u8) -> Vec<u8> {
    op(&format!("{name}[{element}]"))
}

fn write_dint(name: &str, element: u8, value: i32) -> Vec<u8> {
    op(&format!("{name}[{element}]=(DINT){value}"))
}

/// An Unconnected Send of `embedded` along `route` (padded port segments).
fn unconnected_send(embedded: &[u8], route: &[u8]) -> Vec<u8> {
    let us = UnconnectedSend {
        priority_tick: 0x0A,
        timeout_ticks: 0x05,
        message: MrRequest::parse(embedded).unwrap(),
        route_path: Some(EPath::parse(route, Padding::Padded).unwrap()),
        reserved: 0,
    };
    let mut data = vec![0u8; us.buffer_len()];
    let n = us.emit(&mut data).unwrap();
    mr_request(0x52, &CONNECTION_MANAGER, &data[..n]).unwrap()
}

fn multiple(requests: &[Vec<u8>]) -> Vec<u8> {
    let mut data = vec![0u8; 4096];
    let mut w = MspWriter::new(&mut data, requests.len()).unwrap();
    for r in requests {
        w.push(|t| r.as_slice().emit(t)).unwrap();
    }
    let n = w.finish().unwrap();
    mr_request(0x0A, &MESSAGE_ROUTER, &data[..n]).unwrap()
}

/// The replies in a Multiple Service Packet reply.
fn slots(reply: &[u8]) -> Vec<Vec<u8>> {
    let reply = MrReply::parse(reply).unwrap();
    assert_eq!(reply.service, 0x0A);
    let table = Table::parse(reply.data).unwrap();
    table.items().map(<[u8]>::to_vec).collect()
}

const SLOT3: &[u8] = &[0x01, 0x03];
const SLOT0: &[u8] = &[0x01, 0x00];

#[tokio::test]
async fn unconnected_sends_in_a_multiple_service_packet_are_answered_in_their_slots() {
    let (_stop, stop) = watch::channel(false);
    let mut c = router(&stop).await;
    let w = c
        .unconnected(&unconnected_send(&write_dint("REMOTE", 2, 42), SLOT3))
        .await;
    assert_eq!(w, [0xCD, 0, 0, 0]);
    let msp = multiple(&[
        read("LOCAL", 0),
        unconnected_send(&read("REMOTE", 2), SLOT3),
        unconnected_send(&read("LOCAL", 1), SLOT0),
        unconnected_send(&write_dint("REMOTE", 3, -7), &[0x01, 0x0F]),
        unconnected_send(&read("LOCAL", 0), SLOT3),
        unconnected_send(&read("REMOTE", 3), &[0x01, 0x01, 0x02, 0x05]),
        unconnected_send(&read("LOCAL", 0), &[0x03, 0x00]),
    ]);
    let r = c.unconnected(&msp).await;
    assert_eq!(r[2], 0x1E, "some embedded request failed");
    let s = slots(&r);
    assert_eq!(s.len(), 7);
    assert_eq!(s[0], [0xCC, 0, 0, 0, 0xC3, 0, 0, 0], "local");
    assert_eq!(
        s[1],
        [0xCC, 0, 0, 0, 0xC4, 0, 42, 0, 0, 0],
        "routed to slot 3"
    );
    assert_eq!(
        s[2],
        [0xCC, 0, 0, 0, 0xC3, 0, 0, 0],
        "unrouted slot 0: local"
    );
    assert_eq!(s[3], [0xCD, 0, 0, 0], "routed write to slot 15");
    assert_eq!(
        &s[4][..3],
        &[0xCC, 0, 0x05],
        "no LOCAL on the remote device"
    );
    assert_eq!(
        s[5],
        [0xCC, 0, 0, 0, 0xC4, 0, 0xF9, 0xFF, 0xFF, 0xFF],
        "two hops: the write above, read back"
    );
    assert_eq!(
        s[6],
        [0xCC, 0, 0x01, 1, 0x04, 0x02],
        "unreachable: 0x01/0x0204"
    );
    // An MSP without routed requests is answered as ever.
    let r = c
        .unconnected(&multiple(&[read("LOCAL", 0), read("REMOTE", 0)]))
        .await;
    let s = slots(&r);
    assert_eq!(s[0], [0xCC, 0, 0, 0, 0xC3, 0, 0, 0]);
    assert_eq!(s[1][2], 0x05);
}

#[tokio::test]
async fn a_connection_whose_path_names_a_routed_slot_reaches_that_device() {
    let (_stop, stop) = watch::channel(false);
    let mut c = router(&stop).await;
    c.unconnected(&unconnected_send(&write_dint("REMOTE", 1, 1234), SLOT3))
        .await;
    let id = c
        .forward_open(&[0x01, 0x03, 0x20, 0x02, 0x24, 0x01], 1)
        .await
        .unwrap();
    let (t_o, seq, r) = c.connected(id, 5, &read("REMOTE", 1)).await;
    assert_eq!((t_o, seq), (0x7700_0000, 5));
    assert_eq!(r, [0xCC, 0, 0, 0, 0xC4, 0, 0xD2, 0x04, 0, 0]);
    // Connected MSP, routed as a whole.
    let (_, seq, r) = c
        .connected(id, 6, &multiple(&[read("REMOTE", 1), read("REMOTE", 0)]))
        .await;
    assert_eq!(seq, 6);
    assert_eq!(slots(&r)[0], [0xCC, 0, 0, 0, 0xC4, 0, 0xD2, 0x04, 0, 0]);
    // A repeated sequence count is answered again, not executed again.
    let (_, _, w) = c.connected(id, 7, &write_dint("REMOTE", 0, 1)).await;
    assert_eq!(w, [0xCD, 0, 0, 0]);
    c.unconnected(&unconnected_send(&write_dint("REMOTE", 0, 2), SLOT3))
        .await;
    let (_, seq, again) = c.connected(id, 7, &write_dint("REMOTE", 0, 1)).await;
    assert_eq!((seq, again), (7, w));
    let r = c
        .unconnected(&unconnected_send(&read("REMOTE", 0), SLOT3))
        .await;
    assert_eq!(r[6], 2, "the repeated write did not happen twice");

    // A Large Forward Open's size holds on the routed device too: 2,400 bytes in one reply.
    let large = c
        .forward_open_sized(&[0x01, 0x03, 0x20, 0x02, 0x24, 0x01], 4, 4000)
        .await
        .unwrap();
    let all = op("REMOTE[0-599]");
    let (_, seq, r) = c.connected(large, 1, &all).await;
    assert_eq!((seq, &r[..6]), (1, &[0xCC, 0, 0, 0, 0xC4, 0][..]));
    assert_eq!(r.len(), 6 + 2400);
    assert_eq!(&r[10..14], &1234i32.to_le_bytes(), "REMOTE[1]");
    // Unconnected, the same read is cut at the unconnected size (status 0x06).
    let r = c.unconnected(&unconnected_send(&all, SLOT3)).await;
    assert_eq!(r[2], 0x06);

    // A local connection (slot 0) carrying routed and local Unconnected Sends.
    let local = c
        .forward_open(&[0x01, 0x00, 0x20, 0x02, 0x24, 0x01], 2)
        .await
        .unwrap();
    let (_, seq, r) = c
        .connected(local, 9, &unconnected_send(&read("REMOTE", 1), SLOT3))
        .await;
    assert_eq!(seq, 9);
    assert_eq!(r, [0xCC, 0, 0, 0, 0xC4, 0, 0xD2, 0x04, 0, 0]);
    let (_, _, r) = c.connected(local, 10, &read("LOCAL", 0)).await;
    assert_eq!(r, [0xCC, 0, 0, 0, 0xC3, 0, 0, 0]);
    let (_, _, r) = c
        .connected(local, 11, &unconnected_send(&read("LOCAL", 0), SLOT0))
        .await;
    assert_eq!(r, [0xCC, 0, 0, 0, 0xC3, 0, 0, 0]);

    // A connection to an unreachable device is refused: 0x01/0x0204, with the triad.
    let dead = c
        .forward_open(&[0x03, 0x00, 0x20, 0x02, 0x24, 0x01], 3)
        .await;
    let dead = dead.unwrap_err();
    assert_eq!(&dead[..6], &[0xD4, 0, 0x01, 1, 0x04, 0x02]);
    assert_eq!(&dead[6..8], &3u16.to_le_bytes(), "connection serial");
    // Refused here already (too large): the device is not asked.
    let big = c
        .forward_open_sized(&[0x01, 0x03, 0x20, 0x02, 0x24, 0x01], 5, 4100)
        .await;
    assert_eq!(&big.unwrap_err()[..6], &[0xDB, 0, 0x01, 1, 0x09, 0x01]);
    // The routed connection still works.
    let (_, seq, r) = c.connected(id, 12, &read("REMOTE", 1)).await;
    assert_eq!(
        (seq, r),
        (12, vec![0xCC, 0, 0, 0, 0xC4, 0, 0xD2, 0x04, 0, 0])
    );
}

/// cpppo 5.2.5's reply to command 0x0001 (sender context "context!", session 0), captured
/// from `python -m cpppo.server.enip` bound to 127.0.0.1: it names 0.0.0.0:44818 wherever it
/// listens.
const LEGACY_REPLY: &str = "01002a000000000000000000636f6e7465787421000000000100010024000100\
                            00000002af12000000000000000000000000302e302e302e3000000000000000\
                            0000";

#[tokio::test]
async fn legacy_command_0x0001_is_answered_as_cpppo_does_over_tcp_and_udp() {
    let (_stop, stop) = watch::channel(false);
    let addr = simulator(&["X=INT"], "{}", &stop).await;
    let header = Header {
        command: Command::Legacy,
        session: 0,
        status: 0,
        context: *b"context!",
        options: 0,
    };
    let req = Repr {
        header,
        body: Body::Empty,
    }
    .to_vec()
    .unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&req).await.unwrap();
    let mut got = vec![0u8; 66];
    s.read_exact(&mut got).await.unwrap();
    let want: Vec<u8> = (0..LEGACY_REPLY.len() / 2)
        .map(|i| u8::from_str_radix(&LEGACY_REPLY[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(got, want);
    let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    u.send_to(&req, addr).await.unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(std::time::Duration::from_secs(5), u.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &want[..]);
}

/// One client connection whose route changes between requests (`Connector::set_route`, what
/// cpppo's per-operation `route_path`/`send_path` needs): the router's own tag on route 1/0
/// and directly (no send path), the routed device's tag on route 1/3.
#[tokio::test]
async fn one_connection_reaches_each_device_along_the_route_it_is_given() {
    use cpppo_enip::client::operation::{Link, Literal, PathStep};
    use cpppo_enip::client::route::Route;
    use cpppo_enip::client::{ClientError, Connector, Options};

    let (_stop, stop) = watch::channel(false);
    let remote = simulator(&["REMOTE=DINT[4]"], "{}", &stop).await;
    let routes = format!(r#"{{"1/1-15": "{remote}"}}"#);
    let addr = simulator(&["LOCAL=INT[4]"], &routes, &stop).await;
    let mut c = Connector::connect(&addr.to_string(), Options::default())
        .await
        .unwrap();
    // Route 1/0 (the default): the router itself, which has no REMOTE.
    assert!(matches!(
        c.write("REMOTE[1]=(DINT)42").await,
        Err(ClientError::Status { .. })
    ));
    c.write("LOCAL[0]=(INT)7").await.unwrap();
    assert_eq!(c.read("LOCAL[0]").await.unwrap(), [Literal::Int(7)]);

    let slot3 = Route {
        route_path: Some(vec![PathStep::Port {
            port: 1,
            link: Link::Number(3),
        }]),
        ..Route::logix()
    };
    c.set_route(slot3.clone()).unwrap();
    assert_eq!(c.options().route, slot3);
    c.write("REMOTE[1]=(DINT)42").await.unwrap();
    assert_eq!(c.read("REMOTE[1]").await.unwrap(), [Literal::Int(42)]);
    assert!(matches!(
        c.read("LOCAL[0]").await,
        Err(ClientError::Status { .. })
    ));

    c.set_route(Route::simple()).unwrap();
    assert_eq!(c.read("LOCAL[0]").await.unwrap(), [Literal::Int(7)]);
    c.close().await.unwrap();
}
