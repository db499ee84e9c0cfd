//! Codec: known frames, round trips, incremental decoding, noise, hostile bytes.

use cpppo_modbus::pdu::{exception, pack_bits, pdu_len, Bits, Direction, Words};
use cpppo_modbus::register::{RangeSpec, Register, Table};
use cpppo_modbus::{ascii, rtu, tcp, Error, Request, Response};
use proptest::prelude::*;

fn emit_req(r: &Request) -> Vec<u8> {
    let mut v = Vec::new();
    r.emit(&mut v);
    v
}

#[test]
fn known_rtu_and_ascii_frames() {
    // Read 10 holding registers from 0 on unit 1: the textbook frame.
    let mut out = Vec::new();
    let req = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 10,
    };
    rtu::encode(&mut out, 1, |o| req.emit(o));
    assert_eq!(out, [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]);
    let mut out = Vec::new();
    let req = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 1,
    };
    ascii::encode(&mut out, 1, |o| req.emit(o));
    assert_eq!(out, b":010300000001FB\r\n");
}

#[test]
fn tcp_header_and_view() {
    let mut out = Vec::new();
    tcp::encode(&mut out, 0x1234, 7, |o| {
        Request::WriteSingleRegister {
            address: 5,
            value: 99,
        }
        .emit(o)
    });
    assert_eq!(out, [0x12, 0x34, 0, 0, 0, 6, 7, 6, 0, 5, 0, 99]);
    let frame = tcp::Frame::new_checked(&out[..]).unwrap();
    assert_eq!((frame.transaction(), frame.unit()), (0x1234, 7));
    assert_eq!(tcp::decode(&out[..11]), Ok(None));
    let mut bad = out.clone();
    bad[5] = 0; // length 0
    assert_eq!(tcp::decode(&bad), Err(Error::BadLength(0)));
}

#[test]
fn request_errors_map_to_exceptions() {
    let e = |pdu: &[u8]| Request::parse(pdu).unwrap_err().exception_code();
    assert_eq!(e(&[3, 0, 0, 0, 0]), exception::ILLEGAL_DATA_VALUE); // quantity 0
    assert_eq!(e(&[3, 0, 0, 0, 126]), exception::ILLEGAL_DATA_VALUE); // > 125
    assert_eq!(e(&[3, 0xFF, 0xFF, 0, 2]), exception::ILLEGAL_DATA_ADDRESS);
    assert_eq!(e(&[5, 0, 0, 0x12, 0x34]), exception::ILLEGAL_DATA_VALUE);
    assert_eq!(
        e(&[16, 0, 0, 0, 2, 3, 0, 0, 0]),
        exception::ILLEGAL_DATA_VALUE
    );
    assert!(matches!(
        Request::parse(&[0x2B, 1, 2]),
        Ok(Request::Other { function: 0x2B, .. })
    ));
    let exc = Response::parse(&[0x83, 0x42]).unwrap();
    assert_eq!(
        exc,
        Response::Exception {
            function: 3,
            code: 0x42
        }
    );
}

#[test]
fn register_numbers() {
    let r = |n| Register::from_number(n).unwrap();
    assert_eq!(
        r(1),
        Register {
            table: Table::Coils,
            offset: 0
        }
    );
    assert_eq!(r(10001).table, Table::DiscreteInputs);
    assert_eq!(r(165536).offset, 65535);
    assert_eq!(r(30001).table, Table::InputRegisters);
    assert_eq!(r(99999).offset, 59998);
    assert_eq!(r(400001), r(40001));
    assert_eq!(r(465536).number(), 465536);
    assert_eq!(r(40100).number(), 40100);
    for bad in [0, 10000, 20000, 29999, 100000, 165537, 200000, 465537] {
        assert_eq!(Register::from_number(bad), None, "{bad}");
    }
}

#[test]
fn range_specs() {
    let s = RangeSpec::parse("40001-40005=1,2").unwrap();
    assert_eq!(s.values, [1, 2, 1, 2, 1]);
    let s = RangeSpec::parse("40001=7,8,9").unwrap();
    assert_eq!((s.begin, s.end), (40001, 40003));
    let s = RangeSpec::parse("1-16=0x1").unwrap();
    assert_eq!(s.values.len(), 16);
    assert!(RangeSpec::parse("40001-40100").unwrap().values.is_empty());
    for bad in [
        "",
        "x",
        "40010-40001",
        "9999-10001",
        "40001=70000",
        "1=2",
        "0",
        "99999-400001",
    ] {
        let e = RangeSpec::parse(bad).unwrap_err();
        assert_eq!(e.text, bad);
    }
}

fn request() -> impl Strategy<Value = (u8, Vec<u8>)> {
    // (function, emitted PDU) of a valid request.
    let addr = any::<u16>();
    prop_oneof![
        (1u8..=4, addr, 1u16..=125).prop_map(|(f, a, q)| {
            let a = a.min(65535 - q + 1);
            let r = match f {
                1 => Request::ReadCoils {
                    address: a,
                    quantity: q,
                },
                2 => Request::ReadDiscreteInputs {
                    address: a,
                    quantity: q,
                },
                3 => Request::ReadHoldingRegisters {
                    address: a,
                    quantity: q,
                },
                _ => Request::ReadInputRegisters {
                    address: a,
                    quantity: q,
                },
            };
            (f, emit_req(&r))
        }),
        (addr, any::<bool>()).prop_map(|(address, value)| {
            (5, emit_req(&Request::WriteSingleCoil { address, value }))
        }),
        (addr, any::<u16>()).prop_map(|(address, value)| {
            (
                6,
                emit_req(&Request::WriteSingleRegister { address, value }),
            )
        }),
        prop::collection::vec(any::<bool>(), 1..200).prop_map(|bits| {
            let mut packed = Vec::new();
            pack_bits(bits.iter().copied(), &mut packed);
            let bits = Bits::new(&packed, bits.len() as u16).unwrap();
            (
                15,
                emit_req(&Request::WriteMultipleCoils { address: 10, bits }),
            )
        }),
        prop::collection::vec(any::<u8>(), 1..=123).prop_map(|w| {
            let bytes: Vec<u8> = w.iter().flat_map(|&b| [b, !b]).collect();
            let values = Words::new(&bytes).unwrap();
            (
                16,
                emit_req(&Request::WriteMultipleRegisters { address: 3, values }),
            )
        }),
        (addr, any::<u16>(), any::<u16>()).prop_map(|(address, and_mask, or_mask)| {
            (
                22,
                emit_req(&Request::MaskWriteRegister {
                    address,
                    and_mask,
                    or_mask,
                }),
            )
        }),
        (1u16..=125, prop::collection::vec(any::<u8>(), 1..=121)).prop_map(|(q, w)| {
            let bytes: Vec<u8> = w.iter().flat_map(|&b| [b, 1]).collect();
            let values = Words::new(&bytes).unwrap();
            let r = Request::ReadWriteMultipleRegisters {
                read_address: 0,
                read_quantity: q,
                write_address: 100,
                values,
            };
            (23, emit_req(&r))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn request_round_trip((f, pdu) in request()) {
        let parsed = Request::parse(&pdu).unwrap();
        prop_assert_eq!(parsed.function(), f);
        prop_assert_eq!(emit_req(&parsed), pdu.clone());
        prop_assert_eq!(pdu_len(Direction::Request, &pdu), Ok(Some(pdu.len())));
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Request::parse(&bytes);
        let _ = Response::parse(&bytes);
        let _ = pdu_len(Direction::Request, &bytes);
        let _ = pdu_len(Direction::Response, &bytes);
        let _ = tcp::decode(&bytes);
        let mut d = rtu::Decoder::new(Direction::Request);
        d.push(&bytes);
        while d.next_frame().is_some() {}
        d.silence();
        while d.next_frame().is_some() {}
        let mut a = ascii::Decoder::new();
        a.push(&bytes);
        while a.next_frame().is_some() {}
    }

    #[test]
    fn response_round_trip(words in prop::collection::vec(any::<u16>(), 1..=125), code in any::<u8>()) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        let r = Response::ReadHoldingRegisters(Words::new(&bytes).unwrap());
        let mut pdu = Vec::new();
        r.emit(&mut pdu);
        prop_assert_eq!(Response::parse(&pdu), Ok(r));
        prop_assert_eq!(pdu_len(Direction::Response, &pdu), Ok(Some(pdu.len())));
        let e = Response::Exception { function: 16, code };
        pdu.clear();
        e.emit(&mut pdu);
        prop_assert_eq!(Response::parse(&pdu), Ok(e));
    }

    /// TCP: a stream of frames cut at any two points decodes the same.
    #[test]
    fn tcp_split_anywhere(reqs in prop::collection::vec(request(), 1..6), cut in any::<prop::sample::Index>()) {
        let mut stream = Vec::new();
        for (i, (_, pdu)) in reqs.iter().enumerate() {
            tcp::encode(&mut stream, i as u16, 1, |o| o.extend_from_slice(pdu));
        }
        let cut = cut.index(stream.len() + 1);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for chunk in [&stream[..cut], &stream[cut..]] {
            buf.extend_from_slice(chunk);
            while let Some((adu, n)) = tcp::decode(&buf).unwrap() {
                got.push((adu.transaction, adu.pdu.to_vec()));
                buf.drain(..n);
            }
        }
        let want: Vec<_> = reqs.iter().enumerate().map(|(i, (_, p))| (i as u16, p.clone())).collect();
        prop_assert_eq!(got, want);
    }

    /// RTU: frames split anywhere, with noise between them (each burst of noise followed by
    /// a silence, as on a real line), all come out.
    #[test]
    fn rtu_resyncs_after_noise(
        reqs in prop::collection::vec(request(), 1..5),
        noise in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 5),
        chunk in 1usize..20,
    ) {
        let mut d = rtu::Decoder::new(Direction::Request);
        let mut got = Vec::new();
        for (i, (_, pdu)) in reqs.iter().enumerate() {
            let junk = &noise[i];
            for piece in junk.chunks(chunk) {
                d.push(piece);
                while let Some(f) = d.next_frame() { got.push(f.pdu.to_vec()); }
            }
            d.silence();
            while let Some(f) = d.next_frame() { got.push(f.pdu.to_vec()); }
            let mut frame = Vec::new();
            rtu::encode(&mut frame, 1 + i as u8, |o| o.extend_from_slice(pdu));
            for piece in frame.chunks(chunk) {
                d.push(piece);
                while let Some(f) = d.next_frame() { got.push(f.pdu.to_vec()); }
            }
            d.silence();
            while let Some(f) = d.next_frame() { got.push(f.pdu.to_vec()); }
        }
        // Noise may itself happen to form a valid frame (1 in 65,536); ours must all appear,
        // in order.
        let want: Vec<Vec<u8>> = reqs.iter().map(|(_, p)| p.clone()).collect();
        let mut it = got.iter();
        for w in &want {
            prop_assert!(it.any(|g| g == w), "missing {:?} in {:?}", w, got);
        }
    }

    /// ASCII: noise between frames and arbitrary splits.
    #[test]
    fn ascii_split_and_noise(
        reqs in prop::collection::vec(request(), 1..5),
        noise in prop::collection::vec("[ -9;-~]{0,8}", 5),
        chunk in 1usize..30,
    ) {
        let mut stream = Vec::new();
        for (i, (_, pdu)) in reqs.iter().enumerate() {
            stream.extend_from_slice(noise[i].as_bytes());
            ascii::encode(&mut stream, i as u8, |o| o.extend_from_slice(pdu));
        }
        let mut d = ascii::Decoder::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            d.push(piece);
            while let Some(f) = d.next_frame() { got.push((f.unit, f.pdu.to_vec())); }
        }
        let want: Vec<_> = reqs.iter().enumerate().map(|(i, (_, p))| (i as u8, p.clone())).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn rtu_noise_glued_to_frame_without_silence() {
    let mut frame = vec![0x07, 0x10, 0xFF]; // noise claiming a long write
    rtu::encode(&mut frame, 1, |o| {
        Request::ReadCoils {
            address: 1,
            quantity: 8,
        }
        .emit(o)
    });
    let mut d = rtu::Decoder::new(Direction::Request);
    d.push(&frame);
    let f = d.next_frame().expect("frame after noise");
    assert_eq!((f.unit, f.pdu), (1, &[1u8, 0, 1, 0, 8][..]));
    assert_eq!(d.noise(), 3);
}

#[test]
fn rtu_unknown_function_ends_at_silence() {
    let mut frame = Vec::new();
    rtu::encode(&mut frame, 9, |o| o.extend_from_slice(&[0x2B, 0x0E, 1, 0]));
    let mut d = rtu::Decoder::new(Direction::Request);
    d.push(&frame);
    assert!(d.next_frame().is_none());
    d.silence();
    let f = d.next_frame().unwrap();
    assert_eq!(f.pdu, &[0x2B, 0x0E, 1, 0]);
}

#[test]
fn transactions_match_out_of_order() {
    let mut t = tcp::Transactions::default();
    let a = t.start("a").unwrap();
    let b = t.start("b").unwrap();
    assert_ne!(a, b);
    assert_eq!(t.finish(b), Some("b"));
    assert_eq!(t.finish(b), None);
    assert_eq!(t.finish(a), Some("a"));
    assert_eq!(t.in_flight(), 0);
}
