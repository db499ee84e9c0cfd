//! Issue 19 item 4: Write Tag data must match its element count (more data than the count, or
//! a count of 0, is answered 0xFF/0x2105 as cpppo does and writes nothing), except pycomm3
//! 1.2.16's request repeated in its item, which real controllers accept.

mod common;

use common::*;
use cpppo_cip::{DataType, Segment};
use cpppo_enip::server::session::RoutePolicy;

/// Write Tag SCADA[0]: type INT, `count`, then `data` (as many bytes as given, whatever the
/// count says).
fn write_scada(count: u16, data: &[u8]) -> Vec<u8> {
    rr(&write_tag(&[tag("SCADA")], DataType::Int, count, data))
}

/// Read Tag SCADA, `count` elements: the values.
fn read_scada(c: &mut Client, count: u16) -> Vec<i16> {
    let r = c.cip(&rr(&read_tag(&[tag("SCADA")], count)));
    assert_eq!(r[..4], [0xCC, 0, 0, 0], "{}", to_hex(&r));
    r[6..]
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

const REFUSED: &str = "cd00ff010521";

#[test]
fn data_beyond_the_count_is_refused_and_not_written() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    assert_eq!(to_hex(&c.cip(&write_scada(1, &[0x7B, 0x00]))), "cd000000");
    // Two INTs under a count of 1: cpppo refuses it; so do we, writing nothing.
    let r = c.cip(&write_scada(1, &[0x01, 0x00, 0x02, 0x00]));
    assert_eq!(to_hex(&r), REFUSED);
    assert_eq!(read_scada(&mut c, 2), [123, 0]);
    // A stray byte after the element.
    assert_eq!(
        to_hex(&c.cip(&write_scada(1, &[0x05, 0x00, 0x00]))),
        REFUSED
    );
    assert_eq!(read_scada(&mut c, 1), [123]);
}

#[test]
fn a_count_of_zero_is_refused() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    assert_eq!(to_hex(&c.cip(&write_scada(0, &[]))), REFUSED);
    assert_eq!(to_hex(&c.cip(&write_scada(0, &[0x09, 0x00]))), REFUSED);
    assert_eq!(read_scada(&mut c, 1), [0]);
}

#[test]
fn pycomm3s_doubled_request_is_still_written() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // Captured from pycomm3 1.2.16: SCADA[0] = 123 (element segment 0x28 0x00), the request
    // repeated in the item.
    // Its Message Router request (with the repeat of its connected sequence count and
    // request), sent unconnected here.
    let v = vector("clients/pycomm3_write_tag");
    assert_eq!(to_hex(&v.request[46..50]), "4d059105");
    assert_eq!(to_hex(&c.cip(&rr(&v.request[46..]))), "cd000000");
    // The repeat alone, without a sequence count, is accepted as well.
    let mut mr = v.request[46..64].to_vec();
    mr.extend_from_slice(&v.request[46..64]);
    assert_eq!(to_hex(&c.cip(&rr(&mr))), "cd000000");
    let got = c.cip(&rr(&read_tag(&[tag("SCADA"), Segment::element(0)], 1)));
    assert_eq!(to_hex(&got), "cc000000c3007b00");
}
