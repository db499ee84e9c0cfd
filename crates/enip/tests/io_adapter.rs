//! The class 1 I/O adapter without sockets: Forward Opens through a real session (the frames a
//! scanner sends), datagrams and time fed to the adapter, T→O frames taken from it. Everything
//! a scanner would notice: the replies and their status words, where and when T→O goes, what
//! O→T does to the assemblies as an explicit Get Attribute sees them.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{frame, hex, rr, to_connection_manager, Client};
use cpppo_cip::cpf::{self, Item};
use cpppo_cip::encap::{Body, Command, Repr, SendData};
use cpppo_cip::epath::ElectronicKey;
use cpppo_cip::io::{ConnectionType, Format, IoFrame, IoPath, NetworkParams, Priority, RpiRange};
use cpppo_cip::list::Sockaddr;
use cpppo_cip::services::cm::{ForwardClose, ForwardOpenReply, Triad};
use cpppo_cip::services::{ForwardOpen, Service};
use cpppo_cip::{EPath, MrReply, Padding, Segment};
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::server::io::{Consumed, IoAdapter, IoEvent, IoHub, IoSettings};
use cpppo_enip::server::session::{IdGenerator, RoutePolicy, Session, Shared};

const PEER: [u8; 4] = [10, 9, 0, 2];
const RPI: u32 = 10_000;

/// A T->O frame sent: destination, connection id, encapsulation and CIP sequence, data.
type Sent = (SocketAddr, u32, u32, u16, Vec<u8>);

/// A device with 8-byte input 100, output 150, config 1 (4 bytes), and a session from PEER.
struct Rig {
    client: Client,
    hub: Arc<IoHub>,
    device: Arc<Device>,
    serial: u16,
}

fn peer() -> SocketAddr {
    SocketAddr::from((PEER, 50000))
}

impl Rig {
    fn new() -> Rig {
        Rig::with(IoSettings::default())
    }

    /// A rig whose adapter has `settings` (its local address set as `new`'s).
    fn with(settings: IoSettings) -> Rig {
        let mut d = Device::new(&DeviceConfig::default());
        for spec in [
            "Inputs@4/100/3=SINT[8]",
            "Outputs@4/150/3=SINT[8]",
            "Config@4/1/3=SINT[4]",
            "Big@4/300/3=INT[300]",
        ] {
            d.add_tag(&TagSpec::parse(spec).unwrap()).unwrap();
        }
        let device = Arc::new(d);
        let settings = IoSettings {
            local: Ipv4Addr::new(10, 9, 0, 1),
            ..settings
        };
        let adapter = IoAdapter::new(device.clone(), settings, Arc::new(IdGenerator::new(7)));
        let hub = Arc::new(IoHub::new(adapter));
        let shared = Arc::new(Shared {
            device: device.clone(),
            route: RoutePolicy::Any,
            routes: Vec::new(),
            io: Some(hub.clone()),
        });
        let session = Session::with_ids(shared, Arc::new(IdGenerator::new(99))).with_peer(peer());
        Rig {
            client: Client::from_session(session),
            hub,
            device,
            serial: 0,
        }
    }

    fn now(&self) -> Instant {
        self.client.now
    }

    fn advance(&mut self, d: Duration) {
        self.client.now += d;
    }

    /// The frames sent one RPI on: a new connection's first T->O is due then.
    fn after_rpi(&mut self) -> Vec<Sent> {
        self.advance(Duration::from_micros(RPI.into()));
        self.transmit()
    }

    /// A Forward Open (16-bit unless `large`) with this path and sizes, a new triad.
    fn open_with(&mut self, fo: Fo<'_>) -> Opened {
        self.serial += 1;
        let path = fo.path.to_vec().unwrap();
        let o_t = params(fo.large, false, fo.o_t_size);
        let t_o = params(fo.large, fo.multicast, fo.t_o_size);
        let path = EPath::parse(&path, Padding::Padded).unwrap();
        let req = ForwardOpen {
            t_o_connection_id: 0xC0DE_0000 + u32::from(self.serial),
            triad: Triad {
                connection_serial: fo.serial.unwrap_or(self.serial),
                vendor_id: 0x1337,
                originator_serial: 42,
            },
            transport: fo.transport,
            ..ForwardOpen::cyclic(fo.large, path, fo.rpi, o_t, t_o)
        };
        let mr = to_connection_manager(Service::ForwardOpen(req));
        let mut items = vec![Item::NullAddress, Item::UnconnectedData(&mr)];
        if let Some(s) = fo.sockaddr {
            items.push(Item::SockaddrT2O(s));
        }
        let body = Body::SendData(SendData {
            interface: 0,
            timeout: 0,
            cpf: cpf::Repr::from_items(&items).unwrap(),
        });
        let reply = self.client.reply(&frame(Command::SendRRData, body));
        let repr = Repr::parse_bytes(&reply).unwrap();
        let Body::SendData(data) = repr.body else {
            panic!("no SendRRData reply")
        };
        let sockaddr = data.cpf.items().iter().find_map(|i| match i {
            Item::SockaddrT2O(s) => Some(*s),
            _ => None,
        });
        let cip = data.cpf.unconnected_data().unwrap();
        let mr = MrReply::parse(cip).unwrap();
        Opened {
            status: mr.general_status,
            words: mr.extended().collect(),
            reply: (mr.general_status == 0).then(|| {
                let r = ForwardOpenReply::parse(mr.data).unwrap();
                (
                    r.o_t_connection_id,
                    r.t_o_connection_id,
                    r.o_t_api,
                    r.t_o_api,
                )
            }),
            sockaddr,
            triad_serial: fo.serial.unwrap_or(self.serial),
        }
    }

    fn open(&mut self) -> Opened {
        self.open_with(Fo::owner())
    }

    fn close(&mut self, serial: u16) -> (u8, Vec<u16>) {
        let fc = ForwardClose {
            priority_tick: 0x0A,
            timeout_ticks: 0x0E,
            triad: Triad {
                connection_serial: serial,
                vendor_id: 0x1337,
                originator_serial: 42,
            },
            reserved: 0,
            connection_path: EPath::EMPTY,
        };
        let cip = self
            .client
            .cip(&rr(&to_connection_manager(Service::ForwardClose(fc))));
        let mr = MrReply::parse(&cip).unwrap();
        (mr.general_status, mr.extended().collect())
    }

    /// Explicit Get Attribute Single of `@4/instance/3`.
    fn get(&mut self, instance: u32) -> Vec<u8> {
        let segs = [
            Segment::class(4),
            Segment::instance(instance),
            Segment::attribute(3),
        ];
        let req = cpppo_cip::Request {
            path: EPath::from_segments(&segs, Padding::Padded),
            service: Service::GetAttributeSingle(&[]),
        };
        let mut mr = vec![0; req.buffer_len()];
        req.emit(&mut mr).unwrap();
        let cip = self.client.cip(&rr(&mr));
        let reply = MrReply::parse(&cip).unwrap();
        assert_eq!(reply.general_status, 0);
        reply.data.to_vec()
    }

    fn set_inputs(&self, data: &[u8]) {
        let a = self.device.attribute(4, 100, 3).unwrap();
        a.write(0, a.len(), data).unwrap();
    }

    fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) -> Consumed {
        let now = self.now();
        self.hub.lock().handle_datagram(now, from, bytes)
    }

    /// An O→T frame (run/idle header) for connection `id`.
    fn o_t(&mut self, id: u32, encap: u32, seq: u16, run: bool, data: &[u8]) -> Consumed {
        let f = IoFrame {
            connection_id: id,
            encap_sequence: encap,
            sequence: seq,
            run_idle: Some(u32::from(run)),
            data,
        };
        self.datagram(peer(), &f.to_vec().unwrap())
    }

    /// Every T→O frame due now: (destination, connection id, encap seq, CIP seq, data).
    fn transmit(&mut self) -> Vec<Sent> {
        self.transmit_as(Format::Modeless)
    }

    /// [`Rig::transmit`] of frames in `format`.
    fn transmit_as(&mut self, format: Format) -> Vec<Sent> {
        let now = self.now();
        let mut a = self.hub.lock();
        a.handle_timeout(now);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(dest) = a.poll_transmit(now, &mut buf) {
            let f = IoFrame::parse(&buf, format).unwrap();
            out.push((
                dest,
                f.connection_id,
                f.encap_sequence,
                f.sequence,
                f.data.to_vec(),
            ));
        }
        out
    }

    /// Three heartbeats (no data) to connection `o_t` in `format` (a run/idle header, or
    /// class 0's empty frame), half a connection timeout apart, the T→O due sent after each:
    /// what keeps an Input Only connection open past its timeout.
    fn heartbeats(&mut self, o_t: u32, format: Format) {
        let timeout = Duration::from_micros(4 * u64::from(RPI));
        let t_o = match format {
            Format::Class0 => Format::Class0,
            _ => Format::Modeless,
        };
        for encap in 1..=3 {
            self.advance(timeout / 2);
            let hb = IoFrame {
                connection_id: o_t,
                encap_sequence: encap,
                sequence: 0,
                run_idle: (format == Format::RunIdle).then_some(1),
                data: &[],
            };
            let mut buf = vec![0; hb.buffer_len_as(format)];
            hb.emit_as(format, &mut buf).unwrap();
            assert_eq!(self.datagram(peer(), &buf), Consumed::Alive);
            self.transmit_as(t_o);
        }
    }

    fn events(&mut self) -> Vec<IoEvent> {
        let mut a = self.hub.lock();
        std::iter::from_fn(|| a.poll_event()).collect()
    }
}

/// Fixed-size, scheduled network connection parameters (16-bit unless `large`).
fn params(large: bool, multicast: bool, size: u16) -> u32 {
    let kind = match multicast {
        true => ConnectionType::Multicast,
        false => ConnectionType::PointToPoint,
    };
    let params = NetworkParams {
        redundant_owner: false,
        kind,
        priority: Priority::Scheduled,
        variable: false,
        size,
    };
    params.to_bits(large).unwrap()
}

struct Fo<'a> {
    path: IoPath<'a>,
    o_t_size: u16,
    t_o_size: u16,
    rpi: u32,
    large: bool,
    multicast: bool,
    sockaddr: Option<Sockaddr>,
    serial: Option<u16>,
    /// The transport class and trigger byte.
    transport: u8,
}

impl Fo<'static> {
    fn owner() -> Self {
        Fo {
            path: IoPath::assemblies(Some(1), 150, 100),
            o_t_size: 14,
            t_o_size: 10,
            rpi: RPI,
            large: false,
            multicast: false,
            sockaddr: None,
            serial: None,
            transport: 0x01,
        }
    }

    fn heartbeat(point: u32, multicast: bool) -> Self {
        let mut fo = Fo::owner();
        fo.path.o_t = point;
        fo.o_t_size = 6;
        fo.multicast = multicast;
        fo
    }
}

#[derive(Debug)]
struct Opened {
    status: u8,
    words: Vec<u16>,
    /// O→T id, T→O id, O→T API, T→O API.
    reply: Option<(u32, u32, u32, u32)>,
    sockaddr: Option<Sockaddr>,
    triad_serial: u16,
}

impl Opened {
    fn ids(&self) -> (u32, u32) {
        let (o, t, ..) = self.reply.unwrap_or_else(|| panic!("refused: {self:?}"));
        (o, t)
    }
}

#[test]
fn exclusive_owner_exchanges_data_both_ways() {
    let mut rig = Rig::new();
    rig.set_inputs(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let opened = rig.open();
    let (o_t, t_o) = opened.ids();
    assert_eq!(t_o, 0xC0DE_0001, "p2p T->O keeps the originator's id");
    assert_ne!(o_t, 0, "the target picks the O->T id");
    assert_eq!(opened.reply.map(|r| (r.2, r.3)), Some((RPI, RPI)));
    // The first T->O is due one RPI after the open (the Forward Open reply goes first), then
    // goes to the peer's port 2222 without waiting for O->T.
    assert!(rig.transmit().is_empty(), "no T->O before the reply");
    let rpi = Duration::from_micros(RPI.into());
    assert_eq!(rig.hub.lock().poll_timeout(), Some(rig.now() + rpi));
    rig.advance(rpi);
    let sent = rig.transmit();
    assert_eq!(sent.len(), 1);
    let (dest, id, encap, seq, data) = &sent[0];
    assert_eq!(*dest, SocketAddr::from((PEER, 2222)));
    assert_eq!((*id, *encap, *seq), (t_o, 1, 1));
    assert_eq!(data, &[1, 2, 3, 4, 5, 6, 7, 8]);
    // O->T writes the output assembly, as an explicit read sees it.
    assert_eq!(rig.o_t(o_t, 1, 1, true, &[9; 8]), Consumed::Data);
    assert_eq!(rig.get(150), [9; 8]);
    assert!(rig.hub.lock().outputs_run(150));
    // Input changes show in the next T->O with a new CIP sequence count.
    rig.set_inputs(&[8; 8]);
    rig.advance(Duration::from_micros(RPI.into()));
    let sent = rig.transmit();
    assert_eq!(
        (sent[0].2, sent[0].3, sent[0].4.clone()),
        (2, 2, vec![8; 8])
    );
    assert!(matches!(
        rig.events()[..],
        [
            IoEvent::Opened { .. },
            IoEvent::OutputsRun { instance: 150 }
        ]
    ));
}

#[test]
fn t_o_runs_on_its_own_timer_and_counts_only_new_data() {
    let mut rig = Rig::new();
    let (o_t, t_o) = rig.open().ids();
    let mut frames = rig.transmit();
    assert!(
        frames.is_empty(),
        "the first T->O is due one RPI after the open"
    );
    for encap in 1..=6 {
        rig.advance(Duration::from_micros(RPI.into()));
        frames.extend(rig.transmit());
        // O->T now and then keeps the connection open.
        if encap % 2 == 0 {
            assert_eq!(
                rig.o_t(o_t, encap, encap as u16, true, &[0; 8]),
                Consumed::Data
            );
        }
    }
    // Six productions, one per RPI whatever O->T did; encapsulation numbers count frames, the
    // CIP sequence count stays (the data did not change).
    assert_eq!(frames.len(), 6);
    assert!(frames.iter().all(|f| f.1 == t_o && f.3 == 1));
    assert_eq!(
        frames.iter().map(|f| f.2).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    // Nothing is due between RPIs.
    rig.advance(Duration::from_micros(u64::from(RPI) / 2));
    assert!(rig.transmit().is_empty());
}

#[test]
fn t_o_goes_where_the_sockaddr_item_says() {
    let mut rig = Rig::new();
    let mut fo = Fo::owner();
    fo.sockaddr = Some(Sockaddr::new(Ipv4Addr::UNSPECIFIED, 2223));
    rig.open_with(fo).ids();
    assert_eq!(rig.after_rpi()[0].0, SocketAddr::from((PEER, 2223)));
    let mut fo = Fo::owner();
    fo.path.o_t = 300; // another owner, another output
    fo.o_t_size = 606;
    fo.large = true;
    fo.sockaddr = Some(Sockaddr::new(Ipv4Addr::new(10, 9, 0, 7), 2224));
    let opened = rig.open_with(fo);
    assert_eq!(opened.status, 0, "{opened:?}");
    let mut dests: Vec<_> = rig.after_rpi().into_iter().map(|f| f.0).collect();
    dests.sort();
    let second = SocketAddr::from(([10, 9, 0, 7], 2224));
    assert_eq!(dests, [SocketAddr::from((PEER, 2223)), second]);
}

#[test]
fn wrong_sizes_are_refused_with_the_size_accepted() {
    let mut rig = Rig::new();
    let mut fo = Fo::owner();
    fo.o_t_size = 12; // 8 + 2 + 4 is 14
    let r = rig.open_with(fo);
    assert_eq!((r.status, r.words), (0x01, vec![0x0109, 14]));
    let mut fo = Fo::owner();
    fo.t_o_size = 14; // 8 + 2 is 10
    let r = rig.open_with(fo);
    assert_eq!((r.status, r.words), (0x01, vec![0x0109, 10]));
    // 16-bit Forward Open cannot carry 602 bytes: the Large one can.
    let mut fo = Fo::owner();
    fo.path.o_t = 300;
    fo.o_t_size = 606;
    fo.large = true;
    assert_eq!(rig.open_with(fo).status, 0);
}

#[test]
fn rpi_outside_the_range_is_refused_with_the_range() {
    let mut rig = Rig::new();
    let mut fo = Fo::owner();
    fo.rpi = 100;
    let r = rig.open_with(fo);
    assert_eq!(r.status, 0x01);
    let range = RpiRange::from_words(r.words.iter().copied()).unwrap();
    assert_eq!(range, IoSettings::default().rpi);
}

#[test]
fn ownership_conflict_duplicate_and_forward_close() {
    let mut rig = Rig::new();
    let first = rig.open();
    first.ids();
    let conflict = rig.open();
    assert_eq!((conflict.status, conflict.words), (0x01, vec![0x0106]));
    let mut fo = Fo::owner();
    fo.serial = Some(first.triad_serial);
    let dup = rig.open_with(fo);
    assert_eq!((dup.status, dup.words), (0x01, vec![0x0100]));
    // Forward Close frees the slot; closing it again finds nothing.
    assert_eq!(rig.close(first.triad_serial), (0, vec![]));
    assert_eq!(rig.close(first.triad_serial), (0x01, vec![0x0107]));
    assert!(rig.transmit().is_empty() || rig.hub.lock().connections().count() == 0);
    assert_eq!(rig.open().status, 0);
}

#[test]
fn heartbeat_points_are_configurable() {
    // A Logix module profile with other heartbeat instances: 199 Input Only, 198 Listen Only.
    let mut rig = Rig::with(IoSettings {
        input_only_point: 199,
        listen_only_point: 198,
        ..IoSettings::default()
    });
    let io = rig.open_with(Fo::heartbeat(199, true));
    assert_eq!(io.status, 0, "input only at the configured point");
    let lo = rig.open_with(Fo::heartbeat(198, true));
    assert_eq!(lo.status, 0);
    assert_eq!(lo.ids().1, io.ids().1, "listen only joins the producer");
    // The default points are now plain (missing) output assemblies: refused.
    assert_ne!(rig.open_with(Fo::heartbeat(238, true)).status, 0);
    assert_ne!(rig.open_with(Fo::heartbeat(237, true)).status, 0);
    assert_eq!(rig.open().status, 0, "an owner of the outputs still opens");
}

#[test]
fn input_only_heartbeats_and_listen_only_needs_a_multicast_producer() {
    let mut rig = Rig::new();
    let lo = rig.open_with(Fo::heartbeat(237, true));
    assert_eq!((lo.status, lo.words), (0x01, vec![0x0119]));
    let io = rig.open_with(Fo::heartbeat(238, true));
    let (io_o_t, io_t_o) = io.ids();
    // Multicast T->O: the group Logix would pick for 10.9.0.1, named in the reply.
    let group = Sockaddr::new(Ipv4Addr::new(239, 192, 1, 0), 2222);
    assert_eq!(io.sockaddr, Some(group));
    let lo = rig.open_with(Fo::heartbeat(237, true));
    assert_eq!(lo.ids().1, io_t_o, "listen only joins the producer");
    let sent = rig.after_rpi();
    assert_eq!(sent.len(), 1, "one producer for both");
    assert_eq!(sent[0].0, SocketAddr::from(([239, 192, 1, 0], 2222)));
    // A heartbeat keeps the input only connection open past its timeout; the outputs are not
    // owned by either.
    rig.heartbeats(io_o_t, Format::RunIdle);
    let open: Vec<_> = rig.hub.lock().connections().map(|c| c.o_t_id).collect();
    assert_eq!(
        open,
        [io_o_t],
        "the silent listen only timed out, the input only did not"
    );
    assert_eq!(rig.open().status, 0, "the outputs are free for an owner");
}

#[test]
fn class_0_input_only_sends_the_data_alone() {
    let mut rig = Rig::new();
    rig.set_inputs(&[4, 3, 2, 1, 0, 0, 0, 9]);
    let class0 = |o_t_size, t_o_size, point| {
        let mut fo = Fo::heartbeat(point, false);
        (fo.o_t_size, fo.t_o_size, fo.transport) = (o_t_size, t_o_size, 0x00);
        fo
    };
    // T->O is the input alone (8, not 8 + 2), the heartbeat is empty; else refused with the
    // size accepted. An owner (or a listener) cannot use class 0.
    let r = rig.open_with(class0(0, 10, 238));
    assert_eq!((r.status, r.words), (0x01, vec![0x0109, 8]));
    let r = rig.open_with(class0(2, 8, 238));
    assert_eq!((r.status, r.words), (0x01, vec![0x0109, 0]));
    for (o_t_size, point) in [(14, 150), (0, 237)] {
        let r = rig.open_with(class0(o_t_size, 8, point));
        assert_eq!((r.status, r.words), (0x01, vec![0x0103]), "point {point}");
    }
    let (o_t, t_o) = rig.open_with(class0(0, 8, 238)).ids();
    rig.advance(Duration::from_micros(RPI.into()));
    let mut buf = Vec::new();
    let now = rig.now();
    assert!(rig.hub.lock().poll_transmit(now, &mut buf).is_some());
    let f = IoFrame::parse(&buf, Format::Class0).unwrap();
    assert_eq!(
        (f.connection_id, f.data),
        (t_o, &[4u8, 3, 2, 1, 0, 0, 0, 9][..])
    );
    // The connected data item holds 8 bytes: no sequence count.
    assert_eq!(buf[buf.len() - 10..buf.len() - 8], [8, 0]);
    // An empty heartbeat keeps it open past its timeout.
    rig.heartbeats(o_t, Format::Class0);
    let open: Vec<_> = rig.hub.lock().connections().map(|c| c.o_t_id).collect();
    assert_eq!(open, [o_t]);
}

#[test]
fn stale_and_duplicate_o_t_are_dropped() {
    let mut rig = Rig::new();
    let (o_t, _) = rig.open().ids();
    assert_eq!(rig.o_t(o_t, 5, 5, true, &[5; 8]), Consumed::Data);
    assert_eq!(rig.o_t(o_t, 4, 6, true, &[6; 8]), Consumed::Stale);
    assert_eq!(rig.o_t(o_t, 5, 6, true, &[6; 8]), Consumed::Stale);
    assert_eq!(rig.o_t(o_t, 6, 5, true, &[7; 8]), Consumed::Duplicate);
    assert_eq!(rig.get(150), [5; 8]);
    // Idle: the data is not applied, the outputs are idle.
    assert_eq!(rig.o_t(o_t, 7, 6, false, &[6; 8]), Consumed::Alive);
    assert_eq!(rig.get(150), [5; 8]);
    assert!(!rig.hub.lock().outputs_run(150));
    assert_eq!(rig.o_t(o_t, 8, 7, true, &[7; 8]), Consumed::Data);
    assert_eq!(rig.get(150), [7; 8]);
    let s = rig.hub.lock().stats();
    assert_eq!((s.packets_in, s.dropped_stale), (4, 2));
}

#[test]
fn hostile_datagrams_change_nothing() {
    let mut rig = Rig::new();
    let (o_t, _) = rig.open().ids();
    assert_eq!(rig.o_t(o_t, 1, 1, true, &[1; 8]), Consumed::Data);
    let good = IoFrame {
        connection_id: o_t,
        encap_sequence: 2,
        sequence: 2,
        run_idle: Some(1),
        data: &[2; 8],
    }
    .to_vec()
    .unwrap();
    let mut unknown = good.clone();
    unknown[6] ^= 0xFF;
    let mut short = good.clone();
    short[16] = 10; // data item length says 10, 14 follow
    let stranger = SocketAddr::from(([10, 9, 0, 66], 2222));
    assert_eq!(rig.datagram(peer(), &[]), Consumed::Malformed);
    assert_eq!(rig.datagram(peer(), &hex("deadbeef")), Consumed::Malformed);
    assert_eq!(rig.datagram(peer(), &unknown), Consumed::Unknown);
    assert_eq!(
        rig.datagram(peer(), &good[..good.len() - 3]),
        Consumed::Malformed
    );
    assert_eq!(rig.datagram(peer(), &short), Consumed::Malformed);
    assert_eq!(rig.datagram(stranger, &good), Consumed::Unknown);
    let wrong_size = IoFrame {
        data: &[3; 4],
        ..IoFrame::parse(&good, Format::RunIdle).unwrap()
    }
    .to_vec()
    .unwrap();
    assert_eq!(rig.datagram(peer(), &wrong_size), Consumed::Malformed);
    for garbage in 0..=255u8 {
        rig.datagram(peer(), &vec![garbage; usize::from(garbage)]);
    }
    assert_eq!(rig.get(150), [1; 8]);
    // The real one still works.
    assert_eq!(rig.datagram(peer(), &good), Consumed::Data);
    assert_eq!(rig.get(150), [2; 8]);
}

#[test]
fn a_silent_owner_times_out_and_its_outputs_go_idle() {
    let mut rig = Rig::new();
    let opened = rig.open();
    let (o_t, _) = opened.ids();
    assert_eq!(rig.o_t(o_t, 1, 1, true, &[4; 8]), Consumed::Data);
    rig.events();
    // multiplier 0: RPI x 4.
    rig.advance(Duration::from_micros(4 * u64::from(RPI) + 1));
    rig.transmit();
    assert_eq!(
        rig.events(),
        [
            IoEvent::OutputsIdle { instance: 150 },
            IoEvent::TimedOut { o_t_id: o_t }
        ]
    );
    assert!(!rig.hub.lock().outputs_run(150));
    assert_eq!(rig.hub.lock().stats().timeouts, 1);
    assert_eq!(rig.o_t(o_t, 2, 2, true, &[5; 8]), Consumed::Unknown);
    assert_eq!(rig.get(150), [4; 8], "the last outputs stay, idle");
    assert_eq!(rig.close(opened.triad_serial).0, 0x01, "gone already");
    assert!(rig.transmit().is_empty(), "no more T->O");
    assert_eq!(rig.hub.lock().poll_timeout(), None);
}

#[test]
fn electronic_key_and_configuration() {
    let mut rig = Rig::new();
    let key = |vendor, device_type, major, minor| ElectronicKey {
        vendor,
        device_type,
        product_code: 0,
        major,
        minor,
    };
    // The default identity: vendor 1, device type 0x0E, revision 20.11.
    for (k, want) in [
        (key(2, 0, 0, 0), vec![0x0114]),
        (key(1, 0x0C, 0, 0), vec![0x0115]),
        (key(1, 0x0E, 21, 0), vec![0x0116]),
        (key(1, 0x0E, 20, 12), vec![0x0116]),
    ] {
        let mut fo = Fo::owner();
        fo.path.key = Some(k);
        let r = rig.open_with(fo);
        assert_eq!((r.status, r.words), (0x01, want), "{k:?}");
    }
    // Compatible: any minor up to ours; all zeros: anything.
    for k in [key(1, 0x0E, 0x80 | 20, 3), key(0, 0, 0, 0)] {
        let mut fo = Fo::owner();
        fo.path.key = Some(k);
        fo.path.data = Some(&[1, 2, 3, 4]);
        let r = rig.open_with(fo);
        assert_eq!(r.status, 0, "{k:?} {r:?}");
        assert_eq!(rig.close(r.triad_serial).0, 0);
    }
    assert_eq!(rig.get(1), [1, 2, 3, 4], "configuration data written");
    // Configuration data of the wrong size, or for no assembly, is refused; a configuration
    // point without data is accepted even without an assembly (Logix sends one).
    let mut fo = Fo::owner();
    fo.path.data = Some(&[1, 2]);
    assert_eq!(rig.open_with(fo).words, [0x0118]);
    let mut fo = Fo::owner();
    fo.path.config = Some(99);
    assert_eq!(rig.open_with(fo).status, 0);
    // No such assembly.
    let mut fo = Fo::owner();
    fo.path.t_o = 101;
    assert_eq!(rig.open_with(fo).words, [0x0117]);
}

#[test]
fn without_an_adapter_class_1_is_refused() {
    let mut client = Client::new(common::shared(RoutePolicy::Any));
    let path = Fo::owner().path.to_vec().unwrap();
    let path = EPath::parse(&path, Padding::Padded).unwrap();
    let (o_t, t_o) = (params(false, false, 14), params(false, false, 10));
    let req = ForwardOpen {
        t_o_connection_id: 1,
        ..ForwardOpen::cyclic(false, path, RPI, o_t, t_o)
    };
    let cip = client.cip(&rr(&to_connection_manager(Service::ForwardOpen(req))));
    let mr = MrReply::parse(&cip).unwrap();
    assert_eq!(
        (mr.general_status, mr.first_extended()),
        (0x01, Some(0x0103))
    );
}

#[test]
fn listen_only_closes_when_its_owner_closes_or_times_out() {
    for timeout in [false, true] {
        let mut rig = Rig::new();
        let owner = rig.open_with(Fo::heartbeat(238, true));
        let (owner_o_t, _) = owner.ids();
        let (lo_o_t, _) = rig.open_with(Fo::heartbeat(237, true)).ids();
        let (lo2_o_t, _) = rig.open_with(Fo::heartbeat(237, true)).ids();
        assert_eq!(rig.after_rpi().len(), 1);
        rig.events();
        if timeout {
            // Only the listeners send heartbeats: the owner times out.
            let limit = Duration::from_micros(4 * u64::from(RPI));
            for encap in 1..=3 {
                rig.advance(limit / 2);
                for id in [lo_o_t, lo2_o_t] {
                    let hb = IoFrame {
                        connection_id: id,
                        encap_sequence: encap,
                        sequence: 0,
                        run_idle: Some(1),
                        data: &[],
                    };
                    rig.datagram(peer(), &hb.to_vec().unwrap());
                }
                rig.transmit();
            }
        } else {
            assert_eq!(rig.close(owner.triad_serial).0, 0);
        }
        let first = if timeout {
            IoEvent::TimedOut { o_t_id: owner_o_t }
        } else {
            IoEvent::Closed { o_t_id: owner_o_t }
        };
        let mut events = rig.events();
        let last = events.pop();
        assert_eq!(last, Some(first), "timeout {timeout}");
        events.sort_by_key(|e| format!("{e:?}"));
        let mut gone = [lo_o_t, lo2_o_t].map(|o_t_id| IoEvent::OwnerGone { o_t_id });
        gone.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(events, gone, "timeout {timeout}");
        assert_eq!(rig.hub.lock().connections().count(), 0);
        assert!(rig.transmit().is_empty(), "the multicast producer stopped");
        let again = rig.open_with(Fo::heartbeat(237, true));
        assert_eq!((again.status, again.words), (0x01, vec![0x0119]));
    }
}

#[test]
fn a_listener_leaving_keeps_the_owner() {
    let mut rig = Rig::new();
    let (owner_o_t, _) = rig.open_with(Fo::heartbeat(238, true)).ids();
    let lo = rig.open_with(Fo::heartbeat(237, true));
    lo.ids();
    assert_eq!(rig.close(lo.triad_serial).0, 0);
    let open: Vec<_> = rig.hub.lock().connections().map(|c| c.o_t_id).collect();
    assert_eq!(open, [owner_o_t]);
    assert_eq!(rig.after_rpi().len(), 1, "the owner's T->O goes on");
}

#[test]
fn connections_count_t_o_and_the_outputs_say_why_they_are_idle() {
    use cpppo_enip::server::io::IdleReason;
    let mut rig = Rig::new();
    assert_eq!(rig.hub.lock().outputs_idle(150), Some(IdleReason::Unowned));
    let opened = rig.open();
    let (o_t, _) = opened.ids();
    assert_eq!(rig.hub.lock().outputs_idle(150), Some(IdleReason::Idle));
    assert_eq!(rig.o_t(o_t, 1, 1, true, &[1; 8]), Consumed::Data);
    assert_eq!(rig.hub.lock().outputs_idle(150), None);
    for k in 0..3u16 {
        assert_eq!(rig.after_rpi().len(), 1);
        let seq = 2 + k;
        assert_eq!(rig.o_t(o_t, seq.into(), seq, true, &[1; 8]), Consumed::Data);
    }
    // Sent 25 ms past its slot: late.
    rig.advance(Duration::from_millis(35));
    assert_eq!(rig.transmit().len(), 1);
    let conns: Vec<_> = rig.hub.lock().connections().collect();
    let [c] = &conns[..] else {
        panic!("one connection")
    };
    assert_eq!((c.packets_out, c.late()), (4, 1));
    assert_eq!(c.lateness.iter().sum::<u64>(), 4);
    assert_eq!(c.lateness[3], 1);
    assert_eq!(rig.hub.lock().output_instances(), [150]);
    assert_eq!(rig.o_t(o_t, 100, 9, false, &[1; 8]), Consumed::Alive);
    assert_eq!(rig.hub.lock().outputs_idle(150), Some(IdleReason::Idle));
    assert_eq!(rig.close(opened.triad_serial).0, 0);
    assert_eq!(rig.hub.lock().outputs_idle(150), Some(IdleReason::Closed));
    let (o_t, _) = rig.open().ids();
    assert_eq!(rig.o_t(o_t, 1, 1, true, &[1; 8]), Consumed::Data);
    rig.advance(Duration::from_micros(4 * u64::from(RPI) + 1));
    rig.transmit();
    assert_eq!(rig.hub.lock().outputs_idle(150), Some(IdleReason::TimedOut));
}
