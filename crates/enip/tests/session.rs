//! The session state machine without sockets: connections, sizes, timeouts, routing policy,
//! Multiple Service Packet and concurrent access to one tag.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use cpppo_cip::encap::{Body, Command, SendData};
use cpppo_cip::services::cm::Triad;
use cpppo_cip::services::{ForwardClose, ForwardOpen, Service};
use cpppo_cip::{DataType, EPath, Padding, Segment};
use cpppo_enip::server::session::{IdGenerator, Outcome, RoutePolicy, Session, Summary};
use cpppo_enip::server::session::{LARGE_CONNECTION_MAX, MAX_CONNECTIONS};

/// The connection path every test connection asks for: port 1 link 0, then `@2/1`.
fn connection_path() -> [Segment<'static>; 3] {
    let port_1_link_0 = Segment::Port {
        port: 1,
        link: &[0],
    };
    [port_1_link_0, Segment::class(2), Segment::instance(1)]
}

/// The triad of the test connections with connection serial `serial`.
fn triad(serial: u16) -> Triad {
    Triad {
        connection_serial: serial,
        vendor_id: 0x1009,
        originator_serial: 0x1234_5678,
    }
}

fn fo(large: bool, size: u16, serial: u16, rpi_us: u32, multiplier: u8) -> Vec<u8> {
    let params = if large {
        0x4200_0000 | u32::from(size)
    } else {
        0x4200 | u32::from(size)
    };
    let path = connection_path();
    to_connection_manager(Service::ForwardOpen(ForwardOpen {
        large,
        priority_tick: 0x0A,
        timeout_ticks: 0x05,
        o_t_connection_id: 0,
        t_o_connection_id: 0xCAFE_0000,
        triad: triad(serial),
        timeout_multiplier: multiplier,
        o_t_rpi: rpi_us,
        o_t_params: params,
        t_o_rpi: rpi_us,
        t_o_params: params,
        transport: 0xA3,
        connection_path: EPath::from_segments(&path, Padding::Padded),
    }))
}

fn fc(serial: u16) -> Vec<u8> {
    let path = connection_path();
    to_connection_manager(Service::ForwardClose(ForwardClose {
        priority_tick: 0x0A,
        timeout_ticks: 0x05,
        triad: triad(serial),
        reserved: 0,
        connection_path: EPath::from_segments(&path, Padding::Padded),
    }))
}

/// A SendUnitData frame on connection `id`.
fn unit(id: u32, seq: u16, mr: &[u8]) -> Vec<u8> {
    frame(
        Command::SendUnitData,
        Body::SendData(SendData::connected(id, seq, mr)),
    )
}

/// (T->O id, sequence, CIP reply) of a SendUnitData reply.
fn unit_reply(r: &[u8]) -> (u32, u16, Vec<u8>) {
    (
        u32::from_le_bytes(r[36..40].try_into().unwrap()),
        u16::from_le_bytes(r[44..46].try_into().unwrap()),
        r[46..].to_vec(),
    )
}

fn open(c: &mut Client, large: bool, size: u16, serial: u16, rpi: u32, mult: u8) -> u32 {
    let r = c.cip(&rr(&fo(large, size, serial, rpi, mult)));
    assert_eq!(
        &r[..4],
        &[if large { 0xDB } else { 0xD4 }, 0, 0, 0],
        "{}",
        to_hex(&r)
    );
    u32::from_le_bytes(r[4..8].try_into().unwrap())
}

fn read_scada(count: u16) -> Vec<u8> {
    read_tag(&[tag("SCADA")], count)
}

/// Write Tag SCADA[0] = `value`.
fn write_scada(value: i16) -> Vec<u8> {
    write_tag(&[tag("SCADA")], DataType::Int, 1, &value.to_le_bytes())
}

#[test]
fn large_forward_open_negotiates_size_and_replies_fill_it() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let id = open(&mut c, true, 4002, 1, 2_000_000, 7);
    let conn = &c.session.connections()[&id];
    assert_eq!(
        (conn.o_t_size, conn.t_o_size, conn.t_o_id),
        (4002, 4002, 0xCAFE_0000)
    );
    assert_eq!(conn.timeout, Duration::from_micros(2_000_000 * 512));
    let (t_o, seq, reply) = unit_reply(&c.reply(&unit(id, 42, &read_scada(1000))));
    assert_eq!((t_o, seq), (0xCAFE_0000, 42));
    assert_eq!((&reply[..4], reply.len()), (&[0xCC, 0, 0, 0][..], 2006));
    // The same read on a 504-byte Forward Open connection is a partial transfer.
    let small = open(&mut c, false, 504, 2, 2_000_000, 0);
    let (_, _, reply) = unit_reply(&c.reply(&unit(small, 1, &read_scada(1000))));
    assert_eq!(&reply[..4], &[0xCC, 0, 0x06, 0]);
    assert!(reply.len() <= 502);
}

#[test]
fn a_repeated_sequence_count_is_answered_again_not_executed_again() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let id = open(&mut c, true, 4000, 1, 1_000_000, 3);
    // Read-Modify-Write SCADA[0] |= 1, then <<: executed once per new sequence count only.
    let inc = read_modify_write(&[tag("SCADA")], &[0x01, 0x00], &[0xFF, 0xFF]);
    let first = unit_reply(&c.reply(&unit(id, 9, &inc)));
    let again = unit_reply(&c.reply(&unit(id, 9, &inc)));
    assert_eq!(first, again);
    let or_2 = read_modify_write(&[tag("SCADA")], &[0x02, 0x00], &[0xFF, 0xFF]);
    c.reply(&unit(id, 10, &or_2));
    let (_, _, r) = unit_reply(&c.reply(&unit(id, 11, &read_scada(1))));
    assert_eq!(to_hex(&r), "cc000000c3000300");
    // A write repeated with the same count is not performed twice either.
    c.reply(&unit(id, 12, &write_scada(42)));
    let (_, seq, r) = unit_reply(&c.reply(&unit(id, 12, &write_scada(43))));
    assert_eq!((seq, to_hex(&r)), (12, "cd000000".to_string()));
    let (_, _, r) = unit_reply(&c.reply(&unit(id, 13, &read_scada(1))));
    assert_eq!(to_hex(&r), "cc000000c3002a00");
}

#[test]
fn oversized_connections_are_refused() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let r = c.cip(&rr(&fo(true, LARGE_CONNECTION_MAX as u16 + 1, 1, 1000, 0)));
    assert_eq!(to_hex(&r[..6]), "db0001010901"); // 0x01 / 0x0109 invalid connection size
    let r = c.cip(&rr(&fo(false, 0x1FF, 1, 1000, 0)));
    assert_eq!(&r[..4], &[0xD4, 0, 0, 0]);
    assert!(c.session.connections().len() == 1);
}

#[test]
fn idle_connections_time_out_after_rpi_times_multiplier() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let id = open(&mut c, true, 4000, 1, 10_000, 1); // 10 ms x 8 = 80 ms
    c.now += Duration::from_millis(70);
    let (_, _, reply) = unit_reply(&c.reply(&unit(id, 1, &read_scada(1))));
    assert_eq!(
        &reply[..4],
        &[0xCC, 0, 0, 0],
        "used in time: deadline moves"
    );
    c.now += Duration::from_millis(79);
    assert_eq!(c.session.poll_timeout().map(|d| d > c.now), Some(true));
    c.now += Duration::from_millis(2);
    let (t_o, _, reply) = unit_reply(&c.reply(&unit(id, 2, &read_scada(1))));
    assert_eq!((t_o, to_hex(&reply)), (0, "cc00010107 01".replace(' ', "")));
    assert!(c.session.connections().is_empty());
}

#[test]
fn abandoned_connections_do_not_hold_their_slots() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    for serial in 0..MAX_CONNECTIONS as u16 {
        open(&mut c, false, 500, serial, 10_000, 0); // 10 ms x 4 = 40 ms
    }
    // Every slot is taken while the connections live.
    let r = c.cip(&rr(&fo(false, 500, 999, 10_000, 0)));
    assert_eq!(
        to_hex(&r[..6]),
        "d40001011301",
        "0x01/0x0113: out of connections"
    );
    // The clients go silent past the timeout: a new Forward Open gets a slot.
    c.now += Duration::from_millis(41);
    let id = open(&mut c, false, 500, 1000, 10_000, 0);
    assert_eq!(c.session.connections().keys().collect::<Vec<_>>(), [&id]);
}

#[test]
fn time_is_an_input_poll_timeout_then_handle_timeout() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    assert_eq!(c.session.poll_timeout(), None, "no connection, no timer");
    let short = open(&mut c, false, 500, 1, 10_000, 0); // 40 ms
    let long = open(&mut c, false, 500, 2, 10_000, 2); // 160 ms
    let start = c.now;
    assert_eq!(
        c.session.poll_timeout(),
        Some(start + Duration::from_millis(40))
    );
    c.session.handle_timeout(start + Duration::from_millis(40));
    assert_eq!(c.session.connections().keys().collect::<Vec<_>>(), [&long]);
    assert!(!c.session.connections().contains_key(&short));
    assert_eq!(
        c.session.poll_timeout(),
        Some(start + Duration::from_millis(160))
    );
    c.session.handle_timeout(start + Duration::from_millis(161));
    assert_eq!(c.session.poll_timeout(), None);
}

#[test]
fn ids_come_from_the_generator_the_server_owns() {
    let ids = Arc::new(IdGenerator::new(7));
    let mut sessions: Vec<Client> = (0..2)
        .map(|_| {
            let s = Session::with_ids(shared(RoutePolicy::Any), ids.clone());
            Client::from_session(s)
        })
        .collect();
    assert_eq!(sessions[0].handle, 7, "the injected seed is the first id");
    assert_eq!(sessions[1].handle, 7u32.wrapping_add(0x9E37_79B9));
    let a = open(&mut sessions[0], true, 4000, 1, 1_000_000, 0);
    let b = open(&mut sessions[1], true, 4000, 1, 1_000_000, 0);
    assert_eq!(a, 7u32.wrapping_add(0x9E37_79B9u32.wrapping_mul(2)));
    assert_eq!(b, 7u32.wrapping_add(0x9E37_79B9u32.wrapping_mul(3)));
    // The generator never hands out 0 (no session, no connection).
    let zero = IdGenerator::new(0);
    assert_eq!(zero.next_id(), 1);
}

#[test]
fn each_reply_says_what_it_answered() {
    let shared = shared(RoutePolicy::Any);
    let mut s = Session::new(shared);
    let now = std::time::Instant::now();
    let summary = |o: Outcome| match o {
        Outcome::Reply(a) => a.summary,
        other => panic!("no reply: {other:?}"),
    };
    // A request before RegisterSession: its service, the encapsulation status 0x64.
    let read = vector("read_tag_unconnected_send").request;
    let got = summary(s.on_frame(&read, local(), now));
    assert_eq!(
        (got.service, got.status, got.registered),
        (0x4C, 0x64, false)
    );
    let reg = vector("register_session").request;
    let got = summary(s.on_frame(&reg, local(), now));
    assert_eq!(
        got,
        Summary {
            service: 0,
            status: 0,
            registered: true
        }
    );
    let mut c = Client::from_session(s);
    // The Read Tag inside the Unconnected Send is what was asked for.
    let Outcome::Reply(a) = c.send(&read) else {
        panic!()
    };
    assert_eq!(
        a.summary,
        Summary {
            service: 0x4C,
            status: 0,
            registered: false
        }
    );
    // An unknown tag: its CIP general status.
    let unknown = read_tag(&[tag("SCADB")], 1);
    let Outcome::Reply(a) = c.send(&rr(&unknown)) else {
        panic!()
    };
    assert_eq!((a.summary.service, a.summary.status), (0x4C, 0x05));
    // List commands are encapsulation only.
    let Outcome::Reply(a) = c.send(&vector("list_identity_tcp").request) else {
        panic!()
    };
    assert_eq!(a.summary, Summary::default());
}

#[test]
fn a_refused_forward_open_echoes_the_triad_as_the_codec_emits_it() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let r = c.cip(&rr(&fo(false, 4, 0x1234, 1000, 0)));
    // 0x01/0x0109, then serial, vendor 0x1009, originator serial, remaining path 0, reserved.
    assert_eq!(to_hex(&r), "d4000101090134120910785634120000");
}

#[test]
fn forward_close_removes_the_connection() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let id = open(&mut c, false, 500, 0x77, 1_000_000, 0);
    let fc = fc(0x77);
    assert_eq!(&c.cip(&rr(&fc))[..4], &[0xCE, 0, 0, 0]);
    assert!(!c.session.connections().contains_key(&id));
    assert_eq!(&c.cip(&rr(&fc))[..6], &[0xCE, 0, 1, 1, 0x07, 0x01]);
}

#[test]
fn connected_multiple_service_packet_and_tag_list() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let id = open(&mut c, true, 4000, 1, 1_000_000, 3);
    let mut seq = 0u16;
    let mut next = || {
        seq += 1;
        seq
    };
    for name in [
        "pycomm3_multiple_service_packet",
        "pylogix_multiple_service_packet",
    ] {
        let v = vector(&format!("clients/{name}"));
        let mr = &v.request[46..];
        let (_, _, reply) = unit_reply(&c.reply(&unit(id, next(), mr)));
        assert_eq!(&reply[..4], &[0x8A, 0, 0, 0], "{name}: {}", to_hex(&reply));
        assert_eq!(u16::from_le_bytes([reply[4], reply[5]]), 3);
    }
    for name in [
        "pycomm3_get_instance_attribute_list_0x55",
        "pylogix_get_instance_attribute_list_0x55",
    ] {
        let v = vector(&format!("clients/{name}"));
        let (_, _, reply) = unit_reply(&c.reply(&unit(id, next(), &v.request[46..])));
        assert_eq!(&reply[..4], &[0xD5, 0, 0, 0], "{name}");
        assert!(reply.windows(5).any(|w| w == b"SCADA"), "{name}");
    }
    for name in [
        "pycomm3_get_attribute_list_0x03",
        "pylogix_get_attribute_list_0x03",
    ] {
        let v = vector(&format!("clients/{name}"));
        let (_, _, reply) = unit_reply(&c.reply(&unit(id, next(), &v.request[46..])));
        // count 1, the attribute asked for, status 0, then 8 bytes of microseconds
        let attr = v.request[v.request.len() - 2];
        assert_eq!(
            &reply[..10],
            &[0x83, 0, 0, 0, 1, 0, attr, 0, 0, 0],
            "{name}: {}",
            to_hex(&reply)
        );
        assert_eq!(reply.len(), 4 + 2 + 4 + 8, "{name}");
    }
    // pycomm3 sends its Write Tag twice in one item: the trailing copy is ignored.
    let v = vector("clients/pycomm3_write_tag");
    let (_, _, reply) = unit_reply(&c.reply(&unit(id, next(), &v.request[46..])));
    assert_eq!(to_hex(&reply), "cd000000");
}

#[test]
fn route_path_policy() {
    let only_1_0 = RoutePolicy::Exactly(vec![(1, vec![0])]);
    let mut c = Client::new(shared(only_1_0));
    // cpppo's client sends port 1 link 0: served.
    assert_eq!(
        to_hex(&c.cip(&vector("read_tag_unconnected_send").request)),
        "cc000000c3000000"
    );
    // pycomm3 via port 1 link 2: refused with a routing error.
    let link_2 = [Segment::Port {
        port: 1,
        link: &[2],
    }];
    let us = unconnected_send(&read_scada(1), &link_2);
    let r = c.cip(&rr(&us));
    assert_eq!(&r[..6], &[0xD2, 0, 0x01, 1, 0x12, 0x03]);
    // A simple request (no Unconnected Send) is always served.
    assert_eq!(
        to_hex(&c.cip(&vector("read_tag").request)),
        "cc000000c3000000"
    );
    let mut simple = Client::new(shared(RoutePolicy::Exactly(vec![])));
    assert_eq!(
        simple.cip(&vector("read_tag_unconnected_send").request)[2],
        0x01
    );
}

#[test]
fn a_write_is_atomic_for_concurrent_readers() {
    let shared = shared(RoutePolicy::Any);
    let attr = shared.device.tag("SCADA").unwrap().attribute.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (attr, stop) = (attr.clone(), stop.clone());
        std::thread::spawn(move || {
            for n in 0..2000u16 {
                let data: Vec<u8> = std::iter::repeat_n(n.to_le_bytes(), 1000)
                    .flatten()
                    .collect();
                attr.write(0, 1000, &data).unwrap();
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        })
    };
    let mut reads = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
        let mut out = Vec::new();
        attr.read(0, 1000, &mut out).unwrap();
        assert!(out.chunks(2).all(|w| w == &out[..2]), "a torn read");
        reads += 1;
        assert!(reads < 10_000_000);
    }
    writer.join().unwrap();
}

#[test]
fn nop_is_silent_and_list_commands_need_no_session() {
    let shared = shared(RoutePolicy::Any);
    let mut s = cpppo_enip::server::session::Session::new(shared);
    let now = std::time::Instant::now();
    assert_eq!(
        s.on_frame(&vector("nop").request, local(), now),
        Outcome::Silent
    );
    let v = vector("list_identity_tcp");
    let Outcome::Reply(answer) = s.on_frame(&v.request, local(), now) else {
        panic!("no ListIdentity reply")
    };
    assert_eq!(answer.frame, v.response);
}
