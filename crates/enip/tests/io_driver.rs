//! The class 1 adapter's tokio driver over real sockets on loopback: a simulator with assembly
//! tags, its I/O socket bound to port 0, a Forward Open over TCP naming a T→O port in its
//! sockaddr item, then T→O arriving every RPI and O→T landing in the output assembly.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{frame, to_connection_manager};
use cpppo_cip::cpf::{self, Item};
use cpppo_cip::encap::{Body, Command, Register, Repr, SendData};
use cpppo_cip::io::{Format, IoFrame, IoPath};
use cpppo_cip::list::Sockaddr;
use cpppo_cip::services::cm::ForwardOpenReply;
use cpppo_cip::services::{ForwardOpen, Service};
use cpppo_cip::{EPath, MrReply, Padding};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::runtime::simulator::SimulatorBuilder;
use cpppo_enip::server::io::IoSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn exchange(tcp: &mut TcpStream, session: u32, request: &[u8]) -> Vec<u8> {
    let mut f = request.to_vec();
    f[4..8].copy_from_slice(&session.to_le_bytes());
    tcp.write_all(&f).await.unwrap();
    let mut head = [0u8; 24];
    timeout(WAIT, tcp.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
    let mut out = head.to_vec();
    out.resize(24 + len, 0);
    tcp.read_exact(&mut out[24..]).await.unwrap();
    out
}

#[tokio::test]
async fn t_o_every_rpi_and_o_t_into_the_output_assembly() {
    let sim = SimulatorBuilder::new()
        .tags(
            ["Inputs@4/100/3=SINT[8]", "Outputs@4/150/3=SINT[8]"]
                .map(|t| TagSpec::parse(t).unwrap()),
        )
        .io(IoSettings::default())
        .build()
        .unwrap();
    let running = sim
        .start("127.0.0.1:0".parse().unwrap(), false)
        .await
        .unwrap();
    let io_addr = sim
        .start_io("127.0.0.1:0".parse().unwrap(), running.shutdown())
        .await
        .unwrap();
    assert_ne!(io_addr.port(), 0);
    let inputs = sim.device().attribute(4, 100, 3).unwrap().clone();
    inputs.write(0, 8, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let scanner = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = scanner.local_addr().unwrap().port();

    let mut tcp = TcpStream::connect(running.local_addr()).await.unwrap();
    let reg = frame(
        Command::RegisterSession,
        Body::Register(Register {
            protocol_version: 1,
            options: 0,
        }),
    );
    let reply = exchange(&mut tcp, 0, &reg).await;
    let session = Repr::parse_bytes(&reply).unwrap().header.session;
    let path = IoPath::assemblies(Some(1), 150, 100).to_vec().unwrap();
    let path = EPath::parse(&path, Padding::Padded).unwrap();
    let fo = ForwardOpen {
        t_o_connection_id: 0x7777,
        timeout_multiplier: 3,
        ..ForwardOpen::cyclic(false, path, 10_000, 0x480E, 0x480A)
    };
    let mr = to_connection_manager(Service::ForwardOpen(fo));
    let items = [
        Item::NullAddress,
        Item::UnconnectedData(&mr),
        Item::SockaddrT2O(Sockaddr::new(Ipv4Addr::UNSPECIFIED, port)),
    ];
    let body = Body::SendData(SendData {
        interface: 0,
        timeout: 0,
        cpf: cpf::Repr::from_items(&items).unwrap(),
    });
    let reply = exchange(&mut tcp, session, &frame(Command::SendRRData, body)).await;
    let repr = Repr::parse_bytes(&reply).unwrap();
    let Body::SendData(data) = repr.body else {
        panic!("no SendRRData reply")
    };
    let mr = MrReply::parse(data.cpf.unconnected_data().unwrap()).unwrap();
    assert_eq!(mr.general_status, 0);
    let open = ForwardOpenReply::parse(mr.data).unwrap();

    // T->O arrives on its own, every RPI, with the input bytes.
    let mut buf = [0u8; 512];
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (n, from) = timeout(WAIT, scanner.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, io_addr);
        let f = IoFrame::parse(&buf[..n], Format::Modeless).unwrap();
        assert_eq!(
            (f.connection_id, f.data),
            (0x7777, &[1, 2, 3, 4, 5, 6, 7, 8][..])
        );
        seen.push(f.encap_sequence);
    }
    assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");

    // O->T lands in the output assembly.
    let o_t = IoFrame {
        connection_id: open.o_t_connection_id,
        encap_sequence: 1,
        sequence: 1,
        run_idle: Some(1),
        data: &[9, 8, 7, 6, 5, 4, 3, 2],
    };
    let to: SocketAddr = io_addr;
    scanner.send_to(&o_t.to_vec().unwrap(), to).await.unwrap();
    let outputs = sim.device().attribute(4, 150, 3).unwrap().clone();
    let mut got = Vec::new();
    for _ in 0..100 {
        got.clear();
        outputs.read(0, 8, &mut got).unwrap();
        if got == [9, 8, 7, 6, 5, 4, 3, 2] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got, [9, 8, 7, 6, 5, 4, 3, 2]);
    assert!(sim.io().unwrap().lock().outputs_run(150));
    running.stop().await;
}
