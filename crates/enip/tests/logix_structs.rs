//! Logix structures on the wire, sans-IO: the Symbol list (struct bit, template instance,
//! dimensions, programs), Template attributes and Read Template paging, Read/Write Tag of
//! whole structures, members, slices and BOOL members, and the statuses of bad requests.

use cpppo_cip::mr::status;
use cpppo_cip::services::template::{decode_template, ReadTemplate};
use cpppo_cip::{EPath, MrReply, MrRequest, Padding, Segment};
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::logix_type::Types;
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::server::services::execute;

fn device() -> Device {
    let mut types = Types::default();
    types
        .define_compact("Motor{Speed:REAL, Running:BOOL, Fault:BOOL, Faults:DINT[4], Name:STRING}")
        .unwrap();
    let mut d = Device::new(&DeviceConfig::default());
    for t in [
        "M1=Motor",
        "Motors=Motor[100]",
        "Grid=DINT[4,5]",
        "Program:Main.Count=DINT",
    ] {
        d.add_tag(&TagSpec::parse_with(t, Some(&types)).unwrap())
            .unwrap();
    }
    d
}

fn sym(name: &str) -> Segment<'_> {
    Segment::Symbolic(name.as_bytes())
}

/// Send `service` with `data` to `path`; the reply's (status, data).
fn call(d: &Device, service: u8, path: &[Segment<'_>], data: &[u8], limit: usize) -> (u8, Vec<u8>) {
    let req = MrRequest {
        service,
        path: EPath::from_segments(path, Padding::Padded),
        data,
    };
    let mut wire = vec![0u8; req.buffer_len()];
    req.emit(&mut wire).unwrap();
    let out = execute(d, &MrRequest::parse(&wire).unwrap(), limit);
    let rep = MrReply::parse(&out).unwrap();
    (rep.general_status, rep.data.to_vec())
}

fn read(d: &Device, path: &[Segment<'_>], count: u16) -> (u8, Vec<u8>) {
    call(d, 0x4C, path, &count.to_le_bytes(), 4000)
}

#[test]
fn symbols_carry_struct_types_dimensions_and_programs() {
    let d = device();
    // Get Instance Attribute List from instance 0: name, type, dimensions.
    let (st, data) = call(
        &d,
        0x55,
        &[Segment::class(0x6B), Segment::instance(0)],
        &[3, 0, 1, 0, 2, 0, 8, 0],
        4000,
    );
    assert_eq!(st, 0);
    let entries = parse_symbols(&data);
    let m1 = entries.iter().find(|e| e.1 == "M1").unwrap();
    assert_eq!(m1.2, 0x8100, "struct bit and template instance 0x100");
    let motors = entries.iter().find(|e| e.1 == "Motors").unwrap();
    assert_eq!((motors.2, motors.3), (0xA100, [100, 0, 0]));
    let grid = entries.iter().find(|e| e.1 == "Grid").unwrap();
    assert_eq!((grid.2, grid.3), (0x40C4, [4, 5, 0]));
    assert!(entries.iter().any(|e| e.1 == "Program:Main"));
    assert!(!entries.iter().any(|e| e.1.contains("Count")));
    // The program's own list.
    let (st, data) = call(
        &d,
        0x55,
        &[
            sym("Program:Main"),
            Segment::class(0x6B),
            Segment::instance(0),
        ],
        &[2, 0, 1, 0, 2, 0],
        4000,
    );
    assert_eq!(st, 0);
    assert_eq!(&data[4..6], &5u16.to_le_bytes());
    assert_eq!(&data[6..11], b"Count");
    let (st, _) = call(
        &d,
        0x55,
        &[
            sym("Program:Nope"),
            Segment::class(0x6B),
            Segment::instance(0),
        ],
        &[1, 0, 1, 0],
        4000,
    );
    assert_eq!(st, status::PATH_DESTINATION_UNKNOWN);
}

/// (instance, name, type, dims) of replies with attributes 1, 2, 8.
fn parse_symbols(mut data: &[u8]) -> Vec<(u32, String, u16, [u32; 3])> {
    let mut out = Vec::new();
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    while !data.is_empty() {
        let inst = u32_at(data, 0);
        let n = u16::from_le_bytes([data[4], data[5]]) as usize;
        let name = String::from_utf8(data[6..6 + n].to_vec()).unwrap();
        let at = 6 + n;
        let ty = u16::from_le_bytes([data[at], data[at + 1]]);
        let dims = [
            u32_at(data, at + 2),
            u32_at(data, at + 6),
            u32_at(data, at + 10),
        ];
        out.push((inst, name, ty, dims));
        data = &data[at + 14..];
    }
    out
}

#[test]
fn templates_describe_and_page() {
    let d = device();
    let (st, data) = call(
        &d,
        0x03,
        &[Segment::class(0x6C), Segment::instance(0x100)],
        &[4, 0, 4, 0, 5, 0, 2, 0, 1, 0],
        4000,
    );
    assert_eq!(st, 0);
    let words = u32::from_le_bytes(data[6..10].try_into().unwrap());
    let size = u32::from_le_bytes(data[14..18].try_into().unwrap());
    let count = u16::from_le_bytes(data[22..24].try_into().unwrap());
    assert_eq!(
        (size, count),
        (112, 6),
        "Speed, host, Running, Fault, Faults, Name"
    );
    // Read it whole as pycomm3 asks (words * 4 - 21 bytes), then in 20-byte pages.
    let whole_len = (words * 4 - 21) as u16;
    let req = |offset: u32, length: u16| {
        let r = ReadTemplate { offset, length };
        let mut b = [0u8; 6];
        r.emit(&mut b).unwrap();
        b
    };
    let (st, whole) = call(
        &d,
        0x4C,
        &[Segment::class(0x6C), Segment::instance(0x100)],
        &req(0, whole_len),
        4000,
    );
    assert_eq!(st, 0);
    let (members, name, names) = decode_template(&whole, 6).unwrap();
    assert_eq!(name, "Motor");
    assert_eq!(names[0], "Speed");
    assert_eq!(
        (members[2].info, members[2].type_code, members[2].offset),
        (0, 0xC1, 4),
        "Running: bit 0 of the host at 4"
    );
    assert_eq!(members[5].type_code, 0x8FCE, "Name: the STRING structure");
    let mut paged = Vec::new();
    loop {
        let (st, part) = call(
            &d,
            0x4C,
            &[Segment::class(0x6C), Segment::instance(0x100)],
            &req(paged.len() as u32, 500),
            24,
        );
        paged.extend_from_slice(&part);
        if st == 0 {
            break;
        }
        assert_eq!(st, status::PARTIAL_TRANSFER);
    }
    assert!(paged.starts_with(&whole));
    // STRING's template exists too (members of that type name it).
    let (st, _) = call(
        &d,
        0x03,
        &[Segment::class(0x6C), Segment::instance(0xFCE)],
        &[1, 0, 1, 0],
        4000,
    );
    assert_eq!(st, 0);
}

#[test]
fn structures_members_and_bits_read_and_write() {
    let d = device();
    // Write M1.Speed (REAL) and M1.Fault (BOOL member), read the whole structure back.
    let (st, _) = call(
        &d,
        0x4D,
        &[sym("M1"), sym("Speed")],
        &[0xCA, 0, 1, 0, 0, 0, 0xC0, 0x3F],
        4000,
    );
    assert_eq!(st, 0);
    let (st, _) = call(
        &d,
        0x4D,
        &[sym("M1"), sym("Fault")],
        &[0xC1, 0, 1, 0, 1],
        4000,
    );
    assert_eq!(st, 0);
    let (st, data) = read(&d, &[sym("M1")], 1);
    assert_eq!(st, 0);
    let handle = u16::from_le_bytes([data[2], data[3]]);
    assert_eq!(&data[..2], &[0xA0, 0x02]);
    assert_eq!(data.len(), 4 + 112);
    assert_eq!(&data[4..8], &1.5f32.to_le_bytes());
    assert_eq!(data[8], 0b10, "Fault is bit 1 of the host");
    assert_eq!(read(&d, &[sym("M1"), sym("Fault")], 1).1, [0xC1, 0, 1]);
    assert_eq!(read(&d, &[sym("M1"), sym("Running")], 1).1, [0xC1, 0, 0]);
    // Write the whole structure with its handle; a wrong handle is a type mismatch.
    let mut w = vec![0xA0, 0x02];
    w.extend_from_slice(&handle.to_le_bytes());
    w.extend_from_slice(&[1, 0]);
    let mut value = vec![0u8; 112];
    value[8..12].copy_from_slice(&77i32.to_le_bytes()); // Faults[0]
    w.extend_from_slice(&value);
    assert_eq!(
        call(&d, 0x4D, &[sym("Motors"), Segment::element(5)], &w, 4000).0,
        0
    );
    assert_eq!(
        read(&d, &[sym("Motors"), Segment::element(5), sym("Faults")], 1).1,
        [0xC4, 0, 77, 0, 0, 0]
    );
    w[2] ^= 0xFF;
    let (st, ext) = call(&d, 0x4D, &[sym("Motors"), Segment::element(5)], &w, 4000);
    assert_eq!((st, ext.len()), (status::GENERAL_ERROR, 0));
    // Member array elements, multi-dimensional elements.
    assert_eq!(
        read(
            &d,
            &[
                sym("Motors"),
                Segment::element(5),
                sym("Faults"),
                Segment::element(1)
            ],
            3
        )
        .1
        .len(),
        2 + 12
    );
    assert_eq!(
        read(
            &d,
            &[
                sym("Motors"),
                Segment::element(5),
                sym("Faults"),
                Segment::element(1)
            ],
            4
        )
        .0,
        status::GENERAL_ERROR
    );
    assert_eq!(
        call(
            &d,
            0x4D,
            &[sym("Grid"), Segment::element(1), Segment::element(2)],
            &[0xC4, 0, 1, 0, 9, 0, 0, 0],
            4000
        )
        .0,
        0
    );
    let (_, grid) = read(&d, &[sym("Grid")], 20);
    assert_eq!(grid[2 + 7 * 4], 9, "[1,2] is element 7 of a [4,5] array");
    assert_eq!(
        read(
            &d,
            &[sym("Grid"), Segment::element(4), Segment::element(0)],
            1
        )
        .0,
        status::GENERAL_ERROR
    );
    // Program scope.
    assert_eq!(read(&d, &[sym("Program:Main"), sym("Count")], 1).0, 0);
}

#[test]
fn slices_fragment_and_unknown_members_fail_as_logix() {
    let d = device();
    // 100 Motors of 112 bytes: fragmented in replies of at most 500 bytes.
    let mut all = Vec::new();
    loop {
        let mut req = 100u16.to_le_bytes().to_vec();
        req.extend_from_slice(&(all.len() as u32).to_le_bytes());
        let (st, data) = call(&d, 0x52, &[sym("Motors")], &req, 500);
        assert!(data.len() <= 500);
        all.extend_from_slice(&data[4..]);
        if st == 0 {
            break;
        }
        assert_eq!(st, status::PARTIAL_TRANSFER);
    }
    assert_eq!(all.len(), 11200);
    assert_eq!(
        read(&d, &[sym("Motors"), Segment::element(98)], 2).1.len(),
        4 + 224
    );
    assert_eq!(
        read(&d, &[sym("Motors"), Segment::element(98)], 3).0,
        status::GENERAL_ERROR
    );
    assert_eq!(
        read(&d, &[sym("M1"), sym("Nope")], 1).0,
        status::PATH_SEGMENT_ERROR
    );
    assert_eq!(
        read(&d, &[sym("M1"), sym("Speed"), sym("X")], 1).0,
        status::PATH_SEGMENT_ERROR
    );
    assert_eq!(
        read(&d, &[sym("Nope"), sym("Speed")], 1).0,
        status::PATH_DESTINATION_UNKNOWN
    );
    assert_eq!(
        read(&d, &[sym("Program:Main"), sym("Nope")], 1).0,
        status::PATH_DESTINATION_UNKNOWN
    );
}
