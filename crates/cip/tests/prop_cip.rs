//! Property tests for the CIP half of the codec: emit → parse is the identity for generated
//! EPATHs, values, Message Router requests/replies and service payloads; random bytes fed to
//! every decoder never panic (and what decodes re-emits exactly where the format is lossless).

use cpppo_cip::epath::{ElectronicKey, LogicalKind, Width};
use cpppo_cip::mr::{MrReply, MrRequest};
use cpppo_cip::services::cm::Triad;
use cpppo_cip::services::logix::InstanceEntries;
use cpppo_cip::services::msp::Table;
use cpppo_cip::services::*;
use cpppo_cip::value::{Elements, LogixString};
use cpppo_cip::{DataType, EPath, Padding, Segment, TagType, Value};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn logical() -> impl Strategy<Value = (LogicalKind, Width, u32)> {
    let kind = prop_oneof![
        Just(LogicalKind::Class),
        Just(LogicalKind::Instance),
        Just(LogicalKind::Element),
        Just(LogicalKind::ConnectionPoint),
        Just(LogicalKind::Attribute),
        Just(LogicalKind::Service),
    ];
    let width = prop_oneof![Just(Width::U8), Just(Width::U16), Just(Width::U32)];
    (kind, width, any::<u32>()).prop_map(|(k, w, v)| match (k, w) {
        (LogicalKind::Service, _) | (_, Width::U8) => (k, Width::U8, v & 0xFF),
        (_, Width::U16) => (k, w, v & 0xFFFF),
        _ => (k, w, v),
    })
}

/// An owned description of a segment (proptest values must own their data).
#[derive(Debug, Clone)]
enum Seg {
    Port(u16, Vec<u8>),
    Logical(LogicalKind, Width, u32),
    Key(u16, u16, u16, u8, u8),
    Symbolic(Vec<u8>),
    Data(Vec<u8>),
}

impl Seg {
    fn segment(&self) -> Segment<'_> {
        match self {
            Seg::Port(port, link) => Segment::Port { port: *port, link },
            Seg::Logical(kind, width, value) => Segment::Logical {
                kind: *kind,
                value: *value,
                width: *width,
            },
            Seg::Key(vendor, device_type, product_code, major, minor) => {
                Segment::Key(ElectronicKey {
                    vendor: *vendor,
                    device_type: *device_type,
                    product_code: *product_code,
                    major: *major,
                    minor: *minor,
                })
            }
            Seg::Symbolic(name) => Segment::Symbolic(name),
            Seg::Data(d) => Segment::Data(d),
        }
    }
}

fn seg() -> impl Strategy<Value = Seg> {
    prop_oneof![
        (any::<u16>(), bytes(16)).prop_map(|(p, l)| Seg::Port(p, l)),
        logical().prop_map(|(k, w, v)| Seg::Logical(k, w, v)),
        any::<(u16, u16, u16, u8, u8)>().prop_map(|(a, b, c, d, e)| Seg::Key(a, b, c, d, e)),
        bytes(40).prop_map(Seg::Symbolic),
        bytes(20).prop_map(|mut d| {
            d.truncate(d.len() & !1);
            Seg::Data(d)
        }),
    ]
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![Just(Padding::Padded), Just(Padding::Packed)]
}

fn emit_vec(len: usize, f: impl FnOnce(&mut [u8]) -> cpppo_cip::Result<usize>) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let n = f(&mut buf).expect("emit");
    assert_eq!(n, len, "buffer_len disagrees with emit");
    buf
}

fn value(ty: DataType, raw: u64, text: &[u8]) -> Value<'_> {
    match ty {
        DataType::Bool => Value::Bool(raw & 1 == 1),
        DataType::Sint => Value::Sint(raw as i8),
        DataType::Int => Value::Int(raw as i16),
        DataType::Dint => Value::Dint(raw as i32),
        DataType::Lint => Value::Lint(raw as i64),
        DataType::Usint => Value::Usint(raw as u8),
        DataType::Uint => Value::Uint(raw as u16),
        DataType::Udint => Value::Udint(raw as u32),
        DataType::Ulint => Value::Ulint(raw),
        DataType::Real => Value::Real(f32::from_bits(raw as u32)),
        DataType::Lreal => Value::Lreal(f64::from_bits(raw)),
        DataType::Byte => Value::Byte(raw as u8),
        DataType::Word => Value::Word(raw as u16),
        DataType::Dword => Value::Dword(raw as u32),
        DataType::Lword => Value::Lword(raw),
        DataType::Sstring => Value::Sstring(text),
        DataType::String => Value::String(text),
    }
}

fn data_type() -> impl Strategy<Value = DataType> {
    prop::sample::select(DataType::ALL.to_vec())
}

const TAG: [Segment<'static>; 2] = [
    Segment::Symbolic(b"SCADA"),
    Segment::Logical {
        kind: LogicalKind::Element,
        value: 7,
        width: Width::U8,
    },
];
const CM: [Segment<'static>; 2] = [
    Segment::Logical {
        kind: LogicalKind::Class,
        value: 6,
        width: Width::U8,
    },
    Segment::Logical {
        kind: LogicalKind::Instance,
        value: 1,
        width: Width::U8,
    },
];
const ROUTE: [Segment<'static>; 1] = [Segment::Port {
    port: 1,
    link: &[0],
}];

fn tag_path() -> EPath<'static> {
    EPath::from_segments(&TAG, Padding::Padded)
}

fn cm_path() -> EPath<'static> {
    EPath::from_segments(&CM, Padding::Padded)
}

/// Emits `req`, parses it back per class, and checks both the value and the bytes survive.
fn round_trip(req: &Request<'_>) {
    let wire = emit_vec(req.buffer_len(), |b| req.emit(b));
    let back = Request::parse_bytes(&wire).expect("parse");
    assert_eq!(&back, req);
    assert_eq!(emit_vec(back.buffer_len(), |b| back.emit(b)), wire);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn epath_emit_parse_identity(segs in prop::collection::vec(seg(), 0..6), pad in padding()) {
        let segments: Vec<Segment<'_>> = segs.iter().map(Seg::segment).collect();
        let path = EPath::from_segments(&segments, pad);
        let wire = emit_vec(path.buffer_len(), |b| path.emit(b));
        let back = EPath::parse(&wire, pad).expect("parse");
        prop_assert_eq!(back.segments().collect::<Vec<_>>(), segments);
        if pad == Padding::Padded {
            prop_assert_eq!(wire.len() % 2, 0);
        }
    }

    #[test]
    fn values_emit_parse_identity(ty in data_type(), raw in any::<u64>(), text in bytes(80)) {
        let v = value(ty, raw, &text);
        let wire = emit_vec(v.buffer_len(), |b| v.emit(b));
        let (back, n) = Value::parse(ty, &wire).expect("parse");
        prop_assert_eq!(n, wire.len());
        prop_assert_eq!(emit_vec(back.buffer_len(), |b| back.emit(b)), wire);
        let s = LogixString { text: &text[..text.len().min(82)] };
        let wire = emit_vec(s.buffer_len(), |b| s.emit(b));
        prop_assert_eq!(LogixString::parse(&wire).expect("parse"), (s, 88));
    }

    #[test]
    fn mr_request_and_reply_identity(
        service in 0u8..0x80,
        segs in prop::collection::vec(seg(), 0..4),
        data in bytes(64),
        status in any::<u8>(),
        ext in bytes(8),
    ) {
        let segments: Vec<Segment<'_>> = segs.iter().map(Seg::segment).collect();
        let req = MrRequest { service, path: EPath::from_segments(&segments, Padding::Padded), data: &data };
        let wire = emit_vec(req.buffer_len(), |b| req.emit(b));
        prop_assert_eq!(MrRequest::parse(&wire).expect("parse"), req);
        let ext = &ext[..ext.len() & !1];
        let rep = MrReply { general_status: status, extended_status: ext, ..MrReply::success(service, &data) };
        let wire = emit_vec(rep.buffer_len(), |b| rep.emit(b));
        prop_assert_eq!(MrReply::parse(&wire).expect("parse"), rep);
    }

    #[test]
    fn logix_services_identity(
        elements in any::<u16>(),
        offset in any::<u32>(),
        ty in data_type(),
        raw in any::<u64>(),
        text in bytes(20),
        trailing in bytes(8),
        mask in prop::sample::select(vec![1usize, 2, 4, 8, 12]),
    ) {
        round_trip(&Request { path: tag_path(), service: Service::ReadTag(ReadTag { elements }) });
        round_trip(&Request {
            path: tag_path(),
            service: Service::ReadTagFragmented(ReadTagFragmented { elements, offset }),
        });
        let v = value(ty, raw, &text);
        let data = emit_vec(v.buffer_len(), |b| v.emit(b));
        round_trip(&Request {
            path: tag_path(),
            service: Service::WriteTag(WriteTag {
                data_type: TagType::Atomic(ty),
                elements: 1,
                data: &data,
                trailing: &trailing,
            }),
        });
        round_trip(&Request {
            path: tag_path(),
            service: Service::WriteTagFragmented(WriteTagFragmented {
                data_type: TagType::Struct(elements),
                elements,
                offset,
                data: &trailing,
            }),
        });
        let or_mask = vec![raw as u8; mask];
        round_trip(&Request {
            path: tag_path(),
            service: Service::ReadModifyWrite(ReadModifyWrite { or_mask: &or_mask, and_mask: &or_mask }),
        });
    }

    #[test]
    fn attribute_and_msp_identity(ids in prop::collection::vec(any::<u16>(), 0..8), data in bytes(16)) {
        let path = EPath::from_segments(&CM[..1], Padding::Padded);
        round_trip(&Request { path: tag_path(), service: Service::GetAttributeList(AttributeIds { ids: U16s::Values(&ids) }) });
        round_trip(&Request { path, service: Service::GetInstanceAttributeList(AttributeIds { ids: U16s::Values(&ids) }) });
        round_trip(&Request { path, service: Service::SetAttributeList(SetAttributeList { count: ids.len() as u16, data: &data }) });
        round_trip(&Request { path, service: Service::SetAttributeSingle(&data) });
        round_trip(&Request { path, service: Service::GetAttributesAll(&data) });
        let subs: Vec<Request<'_>> = ids
            .iter()
            .map(|&n| Request { path: tag_path(), service: Service::ReadTag(ReadTag { elements: n }) })
            .collect();
        round_trip(&Request { path, service: Service::MultipleServicePacket(MspRequest::from_requests(&subs)) });
        let replies: Vec<Reply<'_>> = ids
            .iter()
            .map(|_| Reply::new(code::READ_TAG, 0, ReplyBody::TagData(TagData { data_type: TagType::Atomic(DataType::Int), data: &data })))
            .collect();
        let msp = Reply::new(code::MULTIPLE_SERVICE_PACKET, 0, ReplyBody::MultipleServicePacket(MspReply::from_replies(&replies)));
        let wire = emit_vec(msp.buffer_len(), |b| msp.emit(b));
        let back = Reply::parse(None, &MrReply::parse(&wire).expect("mr")).expect("reply");
        prop_assert_eq!(back, msp);
    }

    #[test]
    fn connection_manager_identity(
        large in any::<bool>(),
        ids in any::<(u32, u32, u16, u16, u32)>(),
        rpi in any::<(u32, u32)>(),
        params in any::<(u16, u16)>(),
        misc in any::<(u8, u8, u8, u8)>(),
        app in bytes(8),
        inner_data in bytes(9),
    ) {
        let triad = Triad { connection_serial: ids.2, vendor_id: ids.3, originator_serial: ids.4 };
        let conn_segs = [Segment::Port { port: 1, link: &[0] }, Segment::class(2), Segment::instance(1)];
        let conn = EPath::from_segments(&conn_segs, Padding::Padded);
        let fo = ForwardOpen {
            large,
            priority_tick: misc.0,
            timeout_ticks: misc.1,
            o_t_connection_id: ids.0,
            t_o_connection_id: ids.1,
            triad,
            timeout_multiplier: misc.2,
            o_t_rpi: rpi.0,
            o_t_params: params.0.into(),
            t_o_rpi: rpi.1,
            t_o_params: params.1.into(),
            transport: misc.3,
            connection_path: conn,
        };
        round_trip(&Request { path: cm_path(), service: Service::ForwardOpen(fo) });
        let fc = ForwardClose { priority_tick: misc.0, timeout_ticks: misc.1, triad, reserved: 0, connection_path: conn };
        round_trip(&Request { path: cm_path(), service: Service::ForwardClose(fc) });
        let message = MrRequest { service: 0x4C, path: tag_path(), data: &inner_data };
        let route = (misc.2 & 1 == 1).then(|| EPath::from_segments(&ROUTE, Padding::Padded));
        let us = UnconnectedSend { priority_tick: misc.0, timeout_ticks: misc.1, message, route_path: route, reserved: 0 };
        let req = Request { path: cm_path(), service: Service::UnconnectedSend(us) };
        let wire = emit_vec(req.buffer_len(), |b| req.emit(b));
        prop_assert_eq!(Request::parse_bytes(&wire).expect("parse"), req);
        let app = &app[..app.len() & !1];
        let body = ReplyBody::ForwardOpen(ForwardOpenReply {
            o_t_connection_id: ids.0, t_o_connection_id: ids.1, triad, o_t_api: rpi.0, t_o_api: rpi.1, reserved: 0, application: app,
        });
        for (service, body) in [
            (code::FORWARD_OPEN, body),
            (code::FORWARD_CLOSE, ReplyBody::ForwardClose(ForwardCloseReply { triad, reserved: 0, application: app })),
        ] {
            let rep = Reply::new(service, 0, body);
            let wire = emit_vec(rep.buffer_len(), |b| rep.emit(b));
            let back = Reply::parse(Some(class::CONNECTION_MANAGER), &MrReply::parse(&wire).expect("mr")).expect("reply");
            prop_assert_eq!(back.body, body);
        }
    }

    #[test]
    fn random_bytes_never_panic(data in bytes(96), class in prop::option::of(0u32..0x100)) {
        decode_everything(&data, class)?;
    }

    #[test]
    fn mutated_real_messages_never_panic(
        which in 0..REAL.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        class in prop::option::of(prop::sample::select(vec![0x02u32, 0x06, 0x6B])),
    ) {
        let mut data = unhex(REAL[which]);
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        data.truncate(cut.index(data.len() + 1));
        decode_everything(&data, class)?;
    }
}

/// Real CIP messages from the captured vectors (requests and replies), to mutate.
const REAL: [&str; 8] = [
    // Unconnected Send: Multiple Service Packet of reads and a write.
    "520220062401059d56000a022002240105000c001a00280034003e004c059105534341444100280001004c059105534341444100280103004c049105464c4f41540001004c0391045445585401004d0591055343414441002805c3000100370001000100",
    // Large Forward Open (pycomm3).
    "5b02200624010a05000000006b5370de27040910d8e88eac0700000001402000a00f004201402000a00f0042a303010020022401",
    // Forward Close (pylogix).
    "4e02200624010a0e10a337132a0000000300010020022401",
    // Get Instance Attribute List (pycomm3).
    "5502206b240007000100020003000500060008000a00",
    // Write Tag sent twice in one item (pycomm3).
    "4d0591055343414441002800c30001007b0003004d0591055343414441002800c30001007b00",
    // MSP reply (pycomm3).
    "8a0000000300080010001a00cc000000c3002a00cc000000ca000000a03fcc000000da000b48656c6c6f20576f726c64",
    // Large Forward Open reply (pycomm3).
    "db000000f7def4656b5370de27040910d8e88eac01402000014020000000",
    // Read Tag Fragmented reply, partial transfer.
    "d2000600c30090009100920093009400",
];

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Feeds `data` to every CIP decoder; what decodes must re-emit (exactly, where lossless).
fn decode_everything(data: &[u8], class: Option<u32>) -> Result<(), TestCaseError> {
    let _ = EPath::parse(data, Padding::Packed).map(|p| p.segments().count());
    if let Ok(mr) = MrRequest::parse(data) {
        prop_assert_eq!(emit_vec(mr.buffer_len(), |b| mr.emit(b)), data.to_vec());
        if let Ok(req) = Request::parse(&mr) {
            let _ = emit_vec(req.buffer_len(), |b| req.emit(b));
            if let Service::MultipleServicePacket(msp) = req.service {
                msp.requests().for_each(drop);
            }
        }
    }
    if let Ok(mr) = MrReply::parse(data) {
        prop_assert_eq!(emit_vec(mr.buffer_len(), |b| mr.emit(b)), data.to_vec());
        if let Ok(rep) = Reply::parse(class, &mr) {
            prop_assert_eq!(emit_vec(rep.buffer_len(), |b| rep.emit(b)), data.to_vec());
            if let ReplyBody::MultipleServicePacket(msp) = rep.body {
                msp.replies().for_each(drop);
            }
        }
    }
    for service in [
        0x01, 0x03, 0x04, 0x0A, 0x0E, 0x10, 0x4C, 0x4D, 0x4E, 0x52, 0x53, 0x54, 0x55, 0x5B,
    ] {
        let _ = Service::parse(class, service, data);
        let _ = Service::parse(Some(class::CONNECTION_MANAGER), service, data);
    }
    for ty in DataType::ALL {
        let _ = Value::parse(ty, data);
        Elements::new(TagType::Atomic(ty), data).for_each(drop);
    }
    let _ = TagType::parse(data);
    let _ = LogixString::parse(data);
    Elements::new(TagType::LOGIX_STRING, data).for_each(drop);
    if let Ok(t) = Table::parse(data) {
        t.items().for_each(drop);
    }
    InstanceEntries::new(U16s::Values(&[1, 2, 8]), data).for_each(drop);
    if let Ok(list) = AttributeListReply::parse(data) {
        list.get_entries(|_, _| Some(4)).for_each(drop);
        list.set_entries().for_each(drop);
    }
    for large in [false, true] {
        let _ = ForwardOpen::parse(large, data);
    }
    let _ = ForwardOpenReply::parse(data);
    let _ = UnconnectedSend::parse(data);
    Ok(())
}
