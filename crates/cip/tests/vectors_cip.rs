//! Every CIP message in the captured vectors (cpppo 5.2.5, pycomm3, pylogix) decodes into the
//! service `Repr`s and re-emits byte for byte: requests (including the request embedded in an
//! Unconnected Send and every Multiple Service Packet sub-request) and replies (including every
//! Multiple Service Packet sub-reply).
//!
//! The vectors README lists where our simulator must *answer* differently from cpppo. Those
//! cases are about what a server sends, not about decoding: cpppo's odd answers (encapsulation
//! status 0x08 with no CIP reply, `0x08` instead of `0x14`, ...) carry no CIP message or a
//! well-formed one, and the one malformed-looking request (pycomm3's Write Tag sent twice in one
//! item) must decode, with the repeat exposed as trailing bytes — asserted below.

use std::path::{Path, PathBuf};

use cpppo_cip::encap::{Body, Repr};
use cpppo_cip::epath::{EPath, Segment};
use cpppo_cip::mr::{MrReply, MrRequest};
use cpppo_cip::services::{class, Reply, ReplyBody, Request, Service};
use cpppo_cip::{DataType, TagType};

fn vector_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/cpppo-5.2.5");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("clients")] {
        for entry in std::fs::read_dir(&dir).expect("vector directory") {
            let path = entry.expect("dir entry").path();
            let is_json = path.extension().is_some_and(|e| e == "json");
            if is_json && path.file_name().is_some_and(|n| n != "INDEX.json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn load(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read vector");
    serde_json::from_str(&text).expect("vector JSON")
}

/// The frames of a vector in wire order with their direction (`true` = client to server): the
/// whole exchange when captured, else the request and response.
fn frames(v: &serde_json::Value) -> Vec<(bool, Vec<u8>)> {
    if let Some(ex) = v["exchange"].as_array() {
        return ex
            .iter()
            .map(|f| {
                let hex = f["hex"].as_str().expect("exchange hex");
                (f["dir"].as_str() == Some("c2s"), unhex(hex))
            })
            .collect();
    }
    [("request_hex", true), ("response_hex", false)]
        .into_iter()
        .filter_map(|(k, dir)| {
            let hex = v[k].as_str().filter(|h| !h.is_empty())?;
            Some((dir, unhex(hex)))
        })
        .collect()
}

/// The CIP message of a SendRRData / SendUnitData frame (after the sequence count of a
/// connected data item), if the frame carries one.
fn cip_message(frame: &[u8]) -> Option<Vec<u8>> {
    let repr = Repr::parse_bytes(frame).expect("encapsulation");
    let Body::SendData(s) = repr.body else {
        return None;
    };
    let data = s
        .cpf
        .unconnected_data()
        .or_else(|| s.cpf.connected_data().map(|(_, d)| d))?;
    Some(data.to_vec())
}

fn emit(len: usize, f: impl FnOnce(&mut [u8]) -> cpppo_cip::Result<usize>) -> Vec<u8> {
    let mut buf = vec![0u8; len + 16];
    let n = f(&mut buf).expect("emit");
    assert_eq!(n, len, "buffer_len disagrees with emit");
    buf.truncate(n);
    buf
}

/// Re-emits a path from its segments (not from its bytes) and checks it matches.
fn check_path(name: &str, path: &EPath<'_>) {
    let segs: Vec<Segment<'_>> = path.segments().collect();
    let rebuilt = EPath::from_segments(&segs, path.padding());
    let bytes = emit(rebuilt.buffer_len(), |b| rebuilt.emit(b));
    assert_eq!(
        Some(&bytes[..]),
        path.as_bytes(),
        "{name}: path from segments"
    );
}

/// Decodes a request, checks it re-emits exactly (recursing into embedded requests), and
/// returns the class its reply belongs to.
fn check_request(name: &str, wire: &[u8], stats: &mut Stats) -> Option<u32> {
    let mr = MrRequest::parse(wire).unwrap_or_else(|e| panic!("{name}: MR request: {e}"));
    check_path(name, &mr.path);
    let req = Request::parse(&mr).unwrap_or_else(|e| panic!("{name}: request: {e}"));
    assert_eq!(
        emit(req.buffer_len(), |b| req.emit(b)),
        wire,
        "{name}: request re-emit"
    );
    stats.requests += 1;
    match req.service {
        Service::UnconnectedSend(send) => {
            let inner = emit(send.message.buffer_len(), |b| send.message.emit(b));
            if let Some(route) = send.route_path {
                check_path(name, &route);
            }
            check_request(name, &inner, stats)
        }
        Service::MultipleServicePacket(msp) => {
            let Some(items) = wire.get(wire.len() - msp.buffer_len()..) else {
                panic!("{name}: MSP length");
            };
            let table = cpppo_cip::services::msp::Table::parse(items).expect("MSP table");
            for (sub, raw) in msp.requests().zip(table.items()) {
                let sub = sub.unwrap_or_else(|e| panic!("{name}: MSP sub-request: {e}"));
                assert_eq!(
                    emit(sub.buffer_len(), |b| sub.emit(b)),
                    raw,
                    "{name}: MSP item"
                );
                check_request(name, raw, stats);
            }
            req.path.class()
        }
        Service::ForwardOpen(fo) => {
            check_path(name, &fo.connection_path);
            req.path.class()
        }
        Service::Other { code, .. } => panic!("{name}: undecoded service 0x{code:02x}"),
        _ => req.path.class(),
    }
}

fn check_reply(name: &str, wire: &[u8], class: Option<u32>, stats: &mut Stats) {
    let mr = MrReply::parse(wire).unwrap_or_else(|e| panic!("{name}: MR reply: {e}"));
    assert_eq!(
        emit(mr.buffer_len(), |b| mr.emit(b)),
        wire,
        "{name}: MR reply re-emit"
    );
    let reply = Reply::parse(class, &mr).unwrap_or_else(|e| panic!("{name}: reply: {e}"));
    assert_eq!(
        emit(reply.buffer_len(), |b| reply.emit(b)),
        wire,
        "{name}: reply re-emit"
    );
    stats.replies += 1;
    if let ReplyBody::MultipleServicePacket(msp) = reply.body {
        let table = cpppo_cip::services::msp::Table::parse(mr.data).expect("MSP table");
        for (sub, raw) in msp.replies().zip(table.items()) {
            let sub = sub.unwrap_or_else(|e| panic!("{name}: MSP sub-reply: {e}"));
            assert_eq!(
                emit(sub.buffer_len(), |b| sub.emit(b)),
                raw,
                "{name}: MSP reply"
            );
            check_reply(name, raw, None, stats);
        }
    }
}

#[derive(Default)]
struct Stats {
    requests: usize,
    replies: usize,
}

#[test]
fn every_cip_message_decodes_and_re_emits_identically() {
    let mut stats = Stats::default();
    for path in vector_files() {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut pending: Vec<Option<u32>> = Vec::new();
        for (c2s, frame) in frames(&load(&path)) {
            let Some(cip) = cip_message(&frame) else {
                continue;
            };
            if c2s {
                pending.push(check_request(&name, &cip, &mut stats));
            } else {
                let class = if pending.is_empty() {
                    None
                } else {
                    pending.remove(0)
                };
                check_reply(&name, &cip, class, &mut stats);
            }
        }
    }
    assert!(stats.requests > 100, "only {} requests", stats.requests);
    assert!(stats.replies > 80, "only {} replies", stats.replies);
}

/// The first request of a vector's `request_hex`, decoded.
fn request_of(file: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/cpppo-5.2.5");
    let v = load(&root.join(file));
    cip_message(&unhex(v["request_hex"].as_str().expect("request"))).expect("CIP message")
}

fn response_of(file: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/cpppo-5.2.5");
    let v = load(&root.join(file));
    cip_message(&unhex(v["response_hex"].as_str().expect("response"))).expect("CIP message")
}

#[test]
fn read_tag_scada_1() {
    let wire = request_of("read_tag.json");
    let req = Request::parse_bytes(&wire).expect("request");
    assert_eq!(req.path.symbol(), Some(&b"SCADA"[..]));
    assert_eq!(req.path.element(), Some(1));
    assert!(matches!(req.service, Service::ReadTag(r) if r.elements == 1));
    let rep = response_of("read_tag.json");
    let reply = Reply::parse(None, &MrReply::parse(&rep).expect("reply")).expect("reply");
    let ReplyBody::TagData(data) = reply.body else {
        panic!("{reply:?}")
    };
    assert_eq!(data.data_type, TagType::Atomic(DataType::Int));
    let values: Vec<_> = data.values().collect();
    assert_eq!(values.len(), 1);
    assert_eq!(
        values[0],
        Ok(cpppo_cip::value::Element::Value(cpppo_cip::Value::Int(42)))
    );
}

#[test]
fn same_service_code_differs_per_class() {
    // 0x52 on the Connection Manager is Unconnected Send; inside it, 0x52 on a tag is Read Tag
    // Fragmented.
    let wire = request_of("read_tag_fragmented_1.json");
    let req = Request::parse_bytes(&wire).expect("request");
    let Service::UnconnectedSend(send) = req.service else {
        panic!("{req:?}")
    };
    let inner = Request::parse(&send.message).expect("embedded");
    assert!(matches!(
        inner.service,
        Service::ReadTagFragmented(f) if f.elements == 1000 && f.offset == 488
    ));
    // Its reply (0xD2) is the embedded request's, decoded per the embedded request's class.
    let rep = response_of("read_tag_fragmented_1.json");
    let reply = Reply::parse_for(&req, &MrReply::parse(&rep).expect("reply")).expect("reply");
    assert_eq!(reply.general_status, 0x06);
    assert!(
        matches!(reply.body, ReplyBody::TagData(d) if d.data.len() == 488),
        "{reply:?}"
    );
    // 0x4E on the Connection Manager is Forward Close.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/cpppo-5.2.5");
    let v = load(&root.join("connected_read_2.json"));
    let wire = cip_message(&unhex(v["request_hex"].as_str().expect("hex"))).expect("cip");
    let req = Request::parse_bytes(&wire).expect("request");
    assert!(matches!(req.service, Service::ForwardClose(_)), "{req:?}");
    assert_eq!(req.path.class(), Some(class::CONNECTION_MANAGER));
}

#[test]
fn pycomm3_write_tag_twice_in_one_item_exposes_trailing_bytes() {
    let wire = request_of("clients/pycomm3_write_tag.json");
    let req = Request::parse_bytes(&wire).expect("request");
    let Service::WriteTag(w) = req.service else {
        panic!("{req:?}")
    };
    assert_eq!(w.data_type, TagType::Atomic(DataType::Int));
    assert_eq!((w.elements, w.data), (1, &[0x7B, 0x00][..]));
    // The trailing bytes are the connected sequence count and the same request again.
    let again = Request::parse_bytes(&w.trailing[2..]).expect("repeat");
    assert_eq!(again.path, req.path);
    let Service::WriteTag(w2) = again.service else {
        panic!("{again:?}")
    };
    assert_eq!(
        (w2.data_type, w2.elements, w2.data),
        (w.data_type, w.elements, w.data)
    );
    assert!(w2.trailing.is_empty());
}

#[test]
fn multiple_service_packet_and_logix_tag_list_request() {
    let wire = request_of("multiple_service_packet.json");
    let req = Request::parse_bytes(&wire).expect("request");
    let Service::UnconnectedSend(send) = req.service else {
        panic!("{req:?}")
    };
    let msp = Request::parse(&send.message).expect("MSP");
    let Service::MultipleServicePacket(msp) = msp.service else {
        panic!("{msp:?}")
    };
    let subs: Vec<_> = msp.requests().map(|r| r.expect("sub-request")).collect();
    assert_eq!(subs.len(), 5);
    assert!(matches!(subs[4].service, Service::WriteTag(_)));

    let wire = request_of("clients/pylogix_get_instance_attribute_list_0x55.json");
    let req = Request::parse_bytes(&wire).expect("request");
    assert_eq!(
        (req.path.class(), req.path.instance()),
        (Some(0x6B), Some(0))
    );
    let Service::GetInstanceAttributeList(ids) = req.service else {
        panic!("{req:?}")
    };
    assert_eq!(ids.ids.iter().collect::<Vec<_>>(), [1, 2, 8]);
}

#[test]
fn large_forward_open_reply() {
    let wire = response_of("clients/pycomm3_large_forward_open.json");
    let mr = MrReply::parse(&wire).expect("reply");
    let reply = Reply::parse(Some(class::CONNECTION_MANAGER), &mr).expect("reply");
    let ReplyBody::ForwardOpen(fo) = reply.body else {
        panic!("{reply:?}")
    };
    assert_eq!(fo.t_o_connection_id, 0xDE70_536B);
    assert_eq!((fo.o_t_api, fo.t_o_api), (2_113_537, 2_113_537));
}
