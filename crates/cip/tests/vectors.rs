//! Every captured frame in `tests/data/vectors/cpppo-5.2.5` (cpppo 5.2.5, pycomm3, pylogix)
//! decodes at the encapsulation + CPF + list-item level, and re-emitting the decoded `Repr`
//! reproduces the captured bytes exactly.
//!
//! The vectors README lists where our simulator must *answer* differently from cpppo; those are
//! about CIP semantics and replies, not framing, so at this layer every frame round-trips.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use cpppo_cip::cpf::Item;
use cpppo_cip::encap::{Body, Command, Repr};
use cpppo_cip::frame::{decode_datagram, Decoder};

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
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Every frame of a vector file: request, response (if any) and the whole exchange, each with the
/// direction it travelled (`true` = client to server).
fn frames(v: &serde_json::Value) -> Vec<(bool, Vec<u8>)> {
    let mut out = Vec::new();
    for (key, c2s) in [("request_hex", true), ("response_hex", false)] {
        let hex = v[key].as_str().expect(key);
        if !hex.is_empty() {
            out.push((c2s, unhex(hex)));
        }
    }
    for f in v["exchange"].as_array().into_iter().flatten() {
        let c2s = f["dir"].as_str() == Some("c2s");
        out.push((c2s, unhex(f["hex"].as_str().expect("exchange hex"))));
    }
    out
}

/// Checks what a decoded frame must contain for its command.
fn check_shape(name: &str, repr: &Repr<'_>) {
    let cmd = repr.header.command;
    match (&repr.body, cmd) {
        (Body::Empty, _) => {}
        (Body::Register(r), Command::RegisterSession) => assert!(r.protocol_version >= 1),
        (Body::SendData(s), Command::SendRRData | Command::SendUnitData) => {
            let items = s.cpf.items();
            assert!(items.len() >= 2, "{name}: {items:?}");
            let has_data = s.cpf.unconnected_data().is_some() || s.cpf.connected_data().is_some();
            assert!(has_data, "{name}: no data item");
        }
        (Body::Items(cpf), Command::ListIdentity) => {
            assert!(matches!(cpf.items(), [Item::Identity(_)]), "{name}")
        }
        (Body::Items(cpf), Command::ListServices) => {
            assert!(matches!(cpf.items(), [Item::Service(_)]), "{name}")
        }
        (Body::Items(cpf), Command::ListInterfaces) => assert!(cpf.items().is_empty(), "{name}"),
        (Body::Raw(_), Command::Nop) => {}
        (body, cmd) => panic!("{name}: unexpected {cmd:?} body {body:?}"),
    }
}

#[test]
fn every_vector_frame_decodes_and_re_emits_identically() {
    let files = vector_files();
    assert!(files.len() >= 60, "only {} vector files found", files.len());
    let mut checked = 0;
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let text = std::fs::read_to_string(path).expect("read vector");
        let v: serde_json::Value = serde_json::from_str(&text).expect("vector JSON");
        let frames = frames(&v);
        assert!(!frames.is_empty(), "{name}: no frames");
        for (_, bytes) in &frames {
            let repr = decode_datagram(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_shape(&name, &repr);
            assert_eq!(
                &repr.to_vec().expect("emit"),
                bytes,
                "{name}: re-emit differs"
            );
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} frames checked");
}

/// Both directions of every exchange, concatenated as the TCP stream carried them and cut at
/// every byte boundary into two pieces, decode into the same frames.
#[test]
fn every_exchange_stream_splits_anywhere() {
    for path in vector_files() {
        let text = std::fs::read_to_string(&path).expect("read vector");
        let v: serde_json::Value = serde_json::from_str(&text).expect("vector JSON");
        if v["transport"].as_str() != Some("tcp") || v["exchange"].is_null() {
            continue;
        }
        for dir in [true, false] {
            let frames: Vec<Vec<u8>> = frames(&v)
                .into_iter()
                .skip(usize::from(!v["response_hex"].as_str().unwrap_or("").is_empty()) + 1)
                .filter(|(c2s, _)| *c2s == dir)
                .map(|(_, b)| b)
                .collect();
            let stream: Vec<u8> = frames.concat();
            for cut in 0..=stream.len() {
                let mut d = Decoder::new();
                let mut got = Vec::new();
                for piece in [&stream[..cut], &stream[cut..]] {
                    d.feed(piece);
                    while let Some(r) = d.decode().expect("frame") {
                        got.push(r.to_vec().expect("emit"));
                    }
                }
                assert_eq!(got, frames, "{}: cut at {cut}", path.display());
                assert!(d.is_idle());
            }
        }
    }
}

fn vector(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vectors/cpppo-5.2.5")
        .join(name);
    let text = std::fs::read_to_string(path).expect("read vector");
    serde_json::from_str(&text).expect("vector JSON")
}

/// Decoded fields a user of the codec would look at, from known captures.
#[test]
fn decoded_fields_match_the_captures() {
    let v = vector("register_session.json");
    let req = unhex(v["request_hex"].as_str().unwrap_or_default());
    let repr = decode_datagram(&req).expect("register request");
    assert_eq!(
        repr.body,
        Body::Register(cpppo_cip::encap::Register {
            protocol_version: 1,
            options: 0
        })
    );
    let rsp = unhex(v["response_hex"].as_str().unwrap_or_default());
    assert_eq!(
        decode_datagram(&rsp).expect("reply").header.session,
        0xc8f4_3f0e
    );

    let v = vector("list_identity_udp.json");
    let rsp = unhex(v["response_hex"].as_str().unwrap_or_default());
    let repr = decode_datagram(&rsp).expect("identity reply");
    let Body::Items(cpf) = repr.body else {
        panic!("no items")
    };
    let [Item::Identity(id)] = cpf.items() else {
        panic!("not one identity item")
    };
    assert_eq!(id.product_name, b"1756-L61/B LOGIX5561");
    assert_eq!((id.vendor_id, id.device_type, id.product_code), (1, 14, 54));
    assert_eq!(id.socket.port, 44818);
    assert_eq!(id.state, 0xff);

    let v = vector("list_services_tcp.json");
    let rsp = unhex(v["response_hex"].as_str().unwrap_or_default());
    let repr = decode_datagram(&rsp).expect("services reply");
    let Body::Items(cpf) = repr.body else {
        panic!("no items")
    };
    let [Item::Service(s)] = cpf.items() else {
        panic!("not one service item")
    };
    assert_eq!(s.name_trimmed(), b"Communications");
    assert_eq!(
        s.capability & cpppo_cip::list::Service::CAPABILITY_TCP,
        0x20
    );

    let v = vector("read_tag.json");
    let req = unhex(v["request_hex"].as_str().unwrap_or_default());
    let Body::SendData(send) = decode_datagram(&req).expect("read tag").body else {
        panic!("not SendRRData")
    };
    assert_eq!(send.cpf.items()[0], Item::NullAddress);
    assert_eq!(
        send.cpf.unconnected_data().and_then(|d| d.first()),
        Some(&0x4c)
    );

    let v = vector("clients/pycomm3_write_tag.json");
    let req = unhex(v["request_hex"].as_str().unwrap_or_default());
    let repr = decode_datagram(&req).expect("connected write");
    assert_eq!(repr.header.command, Command::SendUnitData);
    let Body::SendData(send) = repr.body else {
        panic!("not SendUnitData")
    };
    assert_eq!(send.cpf.connection_id(), Some(0xe147_231f));
    assert_eq!(send.cpf.connected_data().map(|(seq, _)| seq), Some(3));
}

/// The Python cpppo 5.2.5 `enip_server` (bound to 127.0.0.1) answering the undocumented legacy
/// command 0x0001, captured over a raw socket: one item of type 0x0001 carrying its address.
#[test]
fn legacy_0x0001_reply_from_cpppo() {
    let request = unhex("0100000000000000000000006c6567616379212100000000");
    let reply = unhex(concat!(
        "01002a0000000000000000006c6567616379212100000000",
        "010001002400010000000002af12000000000000000000000000",
        "302e302e302e30000000000000000000"
    ));
    let req = decode_datagram(&request).expect("legacy request");
    assert_eq!(
        (req.header.command, req.body),
        (Command::Legacy, Body::Empty)
    );
    let repr = decode_datagram(&reply).expect("legacy reply");
    let want = cpppo_cip::list::LegacyAddress::new(std::net::Ipv4Addr::UNSPECIFIED, 44818);
    let Body::Items(cpf) = repr.body else {
        panic!("no items")
    };
    assert_eq!(cpf.items(), &[Item::Legacy(want)]);
    assert_eq!(repr.to_vec().expect("emit"), reply);
}

/// Counts heap allocations made by the current thread, to check the hot path makes none.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Decoding a SendRRData / SendUnitData frame carrying one CIP request, and emitting a reply into
/// a caller's buffer, touch no heap.
#[test]
fn hot_path_allocates_nothing() {
    let unconnected = unhex(
        vector("read_tag.json")["request_hex"]
            .as_str()
            .unwrap_or_default(),
    );
    let connected = unhex(
        vector("clients/pycomm3_write_tag.json")["request_hex"]
            .as_str()
            .unwrap_or_default(),
    );
    let mut out = [0u8; 600];
    let before = ALLOCATIONS.with(Cell::get);
    for frame in [&unconnected, &connected] {
        let repr = Repr::parse_bytes(frame).expect("decode");
        let Body::SendData(send) = repr.body else {
            panic!("not SendData")
        };
        let message = send
            .cpf
            .unconnected_data()
            .or(send.cpf.connected_data().map(|(_, m)| m))
            .expect("a CIP message");
        let reply = Repr {
            header: repr.header.reply(0),
            body: Body::SendData(cpppo_cip::encap::SendData::unconnected(message)),
        };
        let n = reply.emit(&mut out).expect("emit");
        assert!(n > 24);
    }
    assert_eq!(
        ALLOCATIONS.with(Cell::get),
        before,
        "heap allocations on the hot path"
    );
}
