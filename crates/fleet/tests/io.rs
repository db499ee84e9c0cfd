//! Every fleet device is a class 1 adapter on UDP 2222 at its own address, with the template's
//! assembly tags: our scanner, a host on the same virtual LAN (its own port 2222), owns two
//! devices' outputs at once and reads each one's inputs, which explicit Set Attribute changes.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cpppo_cip::io::IO_PORT;
use cpppo_enip::client::io::{IoKind, IoParams};
use cpppo_enip::client::io_run::{drive_with, Control, Endpoints, Over};
use cpppo_enip::client::io_scanner::{ScanEvent, Scanner};
use cpppo_enip::client::{Connector, Options};
use cpppo_enip::model::config::IoConfig;
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_fleet::{device_mac, Fleet, Subnet, Template};
use cpppo_net::stack::{HostId, Net, NetDatagram};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const WAIT: Duration = Duration::from_secs(10);

fn template() -> Template {
    let tags = [
        "Inputs@4/100/3=SINT[8]",
        "Outputs@4/150/3=SINT[8]",
        "Config@4/1/3=SINT[4]",
    ];
    Template::serving(
        tags.iter()
            .map(|t| TagSpec::parse(t).expect("tag"))
            .collect(),
    )
}

struct Scan {
    control: UnboundedSender<Control>,
    events: UnboundedReceiver<ScanEvent>,
}

impl Scan {
    async fn input(&mut self, want: &[u8]) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ScanEvent::Input(d))) if d == want => return,
                Ok(Some(ScanEvent::Refused { status, .. })) => panic!("refused: {status}"),
                Ok(Some(_)) => {}
                Ok(None) => panic!("scanner ended"),
                Err(_) => panic!("no input {want:?} within {WAIT:?}"),
            }
        }
    }
}

/// A scanner on `client` (its own UDP port 2222) owning the device at `device`.
fn scan(net: &Net, client: HostId, udp: NetDatagram, device: Ipv4Addr, seed: u32) -> Scan {
    scan_with(net, client, udp, device, IoParams::default(), seed)
}

/// A scanner on `client` opening `params` with the device at `device`.
fn scan_with(
    net: &Net,
    client: HostId,
    udp: NetDatagram,
    device: Ipv4Addr,
    params: IoParams,
    seed: u32,
) -> Scan {
    let scanner = Scanner::new(params, Options::simple(), seed).expect("scanner");
    let ends = Endpoints::to(SocketAddr::from((device, 44818)));
    let (control, rx) = unbounded_channel();
    let (tx, events) = unbounded_channel();
    let connector = net.connector(client);
    tokio::spawn(async move {
        let _ = drive_with(scanner, ends, &connector, &Over(udp), rx, move |_, e| {
            let _ = tx.send(e);
        })
        .await;
    });
    Scan { control, events }
}

/// A scanner host of its own at `me` (its UDP 2222) opening `params` with the device at
/// `device`, multicast T->O at RPI 20 ms.
fn multicast_scan(net: &Net, me: Ipv4Addr, device: Ipv4Addr, params: IoParams) -> Scan {
    let client = net.add_host(device_mac(me), me, 24, None).expect("host");
    let udp = net.bind_udp(client, IO_PORT).expect("UDP 2222");
    let params = IoParams {
        multicast: true,
        rpi: Duration::from_millis(20),
        ..params
    };
    scan_with(net, client, udp, device, params, u32::from(me.octets()[3]))
}

async fn explicit(net: &Net, client: HostId, device: Ipv4Addr) -> Connector {
    use cpppo_net::Connector as _;
    let addr = SocketAddr::from((device, 44818));
    let stream = net
        .connector(client)
        .connect(&addr.to_string())
        .await
        .expect("connect");
    Connector::over(stream, addr, Options::simple())
        .await
        .expect("session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_device_serves_io_at_its_own_address() {
    let net = Net::default();
    let subnet = Subnet::parse("10.6.0.0/24").expect("subnet");
    let fleet = Fleet::start(net.clone(), subnet, 2, &template()).expect("fleet");
    let (a, b) = (fleet.addresses[0], fleet.addresses[1]);
    // Two scanner hosts: each binds its own port 2222 (T->O goes to the peer's 2222).
    let mut scans = Vec::new();
    for (n, device) in [(200u8, a), (201u8, b)] {
        let me = Ipv4Addr::new(10, 6, 0, n);
        let client = net.add_host(device_mac(me), me, 24, None).expect("host");
        let udp = net.bind_udp(client, IO_PORT).expect("UDP 2222");
        let mut c = explicit(&net, client, device).await;
        let data = [n; 8];
        c.set_attribute_single(4, 100, 3, &data)
            .await
            .expect("set inputs");
        let mut s = scan(&net, client, udp, device, u32::from(n));
        s.input(&data).await;
        s.control
            .send(Control::Output(vec![n, 1, 2]))
            .expect("control");
        scans.push((s, c, n));
    }
    for (s, c, n) in &mut scans {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let out = c
                .get_attribute_single(4, 150, 3)
                .await
                .expect("get outputs");
            if out == [*n, 1, 2, 0, 0, 0, 0, 0] {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "outputs {out:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = s.control.send(Control::Stop);
    }
    fleet.stop().await;
}

/// Waits for a scanner's Forward Open to be answered: opened, with its multicast group if
/// any, or the refusal.
async fn answered(scan: &mut Scan) -> Result<Option<std::net::SocketAddrV4>, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, scan.events.recv()).await {
            Ok(Some(ScanEvent::Opened { multicast, .. })) => return Ok(multicast),
            Ok(Some(ScanEvent::Refused { status, .. })) => return Err(status.to_string()),
            Ok(Some(_)) => {}
            Ok(None) => panic!("scanner ended"),
            Err(_) => panic!("no Forward Open reply within {WAIT:?}"),
        }
    }
}

/// Waits for an Input (or Listen) Only scanner's multicast connection to open: its group.
async fn opened(scan: &mut Scan) -> std::net::SocketAddrV4 {
    match answered(scan).await {
        Ok(Some(group)) => group,
        Ok(None) => panic!("opened point to point"),
        Err(status) => panic!("refused: {status}"),
    }
}

/// A fleet device's multicast T->O leaves its userspace stack for the group's MAC with TTL 1,
/// and reaches every scanner on the LAN that joined it: an Input Only owner of the multicast
/// producer and a Listen Only scanner at another address see the same changing inputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_multicast_reaches_input_only_and_listen_only_scanners() {
    let net = Net::default();
    // What a TAP would see: every frame flooded out of the LAN.
    let (_, mut wire) = net.add_external();
    let subnet = Subnet::parse("10.7.0.0/24").expect("subnet");
    let fleet = Fleet::start(net.clone(), subnet, 1, &template()).expect("fleet");
    let device = fleet.addresses[0];
    let mut scans = Vec::new();
    for (n, kind) in [(200u8, IoKind::InputOnly), (201u8, IoKind::ListenOnly)] {
        let params = IoParams {
            kind,
            ..IoParams::default()
        };
        let mut s = multicast_scan(&net, Ipv4Addr::new(10, 7, 0, n), device, params);
        // Logix's allocation for the subnet's host 2: 239.192.1.0 + 32 * (2 - 1).
        assert_eq!(
            opened(&mut s).await,
            "239.192.1.32:2222".parse().expect("group")
        );
        scans.push(s);
    }
    let me = Ipv4Addr::new(10, 7, 0, 202);
    let client = net.add_host(device_mac(me), me, 24, None).expect("host");
    let mut c = explicit(&net, client, device).await;
    for value in [7u8, 8, 9] {
        let data = [value; 8];
        c.set_attribute_single(4, 100, 3, &data)
            .await
            .expect("set inputs");
        for s in &mut scans {
            s.input(&data).await;
        }
    }
    // The T->O frames on the wire: to 01:00:5e:40:01:20 (the group's MAC), TTL 1, port 2222.
    let mut seen = 0;
    while let Ok(frame) = wire.try_recv() {
        let group = frame.get(30..34) == Some(&[239, 192, 1, 32][..]);
        if frame.get(12..14) == Some(&[8, 0][..]) && frame.get(23) == Some(&17) && group {
            assert_eq!(frame[..6], [0x01, 0x00, 0x5e, 0x40, 0x01, 0x20]);
            assert_eq!(frame[22], 1, "TTL");
            assert_eq!(frame.get(36..38), Some(&[0x08, 0xae][..]), "to port 2222");
            seen += 1;
        }
    }
    assert!(seen >= 3, "{seen} multicast T->O frames on the wire");
    for s in &scans {
        let _ = s.control.send(Control::Stop);
    }
    fleet.stop().await;
}

/// A fleet whose template names other heartbeat points (a PLC project written for a profile
/// with 199/198, as `--input-only-point 199 --listen-only-point 198` or cpppo.cfg's `[I/O]`):
/// each device opens Input Only and Listen Only there, and refuses the default 238.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_devices_heartbeat_points_are_the_templates() {
    let net = Net::default();
    let subnet = Subnet::parse("10.8.0.0/24").expect("subnet");
    let mut t = template();
    t.io = IoConfig {
        input_only_point: Some(199),
        listen_only_point: Some(198),
        ..IoConfig::default()
    };
    let fleet = Fleet::start(net.clone(), subnet, 1, &t).expect("fleet");
    let device = fleet.addresses[0];
    let cases = [
        (200u8, IoKind::InputOnly, 199, true),
        (201u8, IoKind::ListenOnly, 198, true),
        (202u8, IoKind::InputOnly, 238, false),
    ];
    let mut scans = Vec::new();
    for (n, kind, point, opens) in cases {
        let params = IoParams {
            kind,
            input_only_point: point,
            listen_only_point: point,
            ..IoParams::default()
        };
        let mut s = multicast_scan(&net, Ipv4Addr::new(10, 8, 0, n), device, params);
        let got = answered(&mut s).await;
        assert_eq!(got.is_ok(), opens, "{kind:?} at point {point}: {got:?}");
        scans.push(s);
    }
    // The two that opened see the inputs an explicit write sets.
    let me = Ipv4Addr::new(10, 8, 0, 203);
    let client = net.add_host(device_mac(me), me, 24, None).expect("host");
    let mut c = explicit(&net, client, device).await;
    let data = [5u8; 8];
    c.set_attribute_single(4, 100, 3, &data)
        .await
        .expect("set inputs");
    for s in &mut scans[..2] {
        s.input(&data).await;
    }
    for s in &scans {
        let _ = s.control.send(Control::Stop);
    }
    fleet.stop().await;
}
