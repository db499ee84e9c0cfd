//! Services not covered by the captured vectors: Read-Modify-Write Tag, Set/Get Attribute
//! List, Read/Write Tag by Symbol instance and by `@c/i/a`, and Get Attributes All elsewhere.

mod common;

use common::*;
use cpppo_enip::server::session::RoutePolicy;

#[test]
fn read_modify_write_tag() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // SCADA[0] = 0x1234
    assert_eq!(
        to_hex(
            &c.cip(&rr(&hex("4d04910553434144410 0c30001003412"
                .replace(' ', "")
                .as_str())))
        ),
        "cd000000"
    );
    // OR 0x00FF, AND 0xF0FF  ->  (0x1234 | 0x00FF) & 0xF0FF = 0x10FF
    assert_eq!(
        to_hex(
            &c.cip(&rr(&hex("4e049105534341444100 0200 ff00 fff0"
                .replace(' ', "")
                .as_str())))
        ),
        "ce000000"
    );
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4c0491055343414441000100")))),
        "cc000000c300ff10"
    );
    // Mask size not the tag's: type mismatch. REAL: refused too.
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4e0491055343414441000100ff00")))),
        "ce00ff010721"
    );
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4e049105464c4f4154000400ffffffff00000000")))),
        "ce00ff010721"
    );
}

#[test]
fn set_and_get_attribute_list() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // Set @22/1/3 (FLT, REAL) = 3.5 through Set Attribute List.
    let r = c.cip(&rr(&hex("0402201624010100030000006040")));
    assert_eq!(to_hex(&r), "840000000100030000 00".replace(' ', ""));
    let r = c.cip(&rr(&hex("0e03201624013003")));
    assert_eq!(to_hex(&r), "8e00000000006040");
    // Identity attributes 1 and 99 in one Get Attribute List: 99 fails, 1 is answered.
    let r = c.cip(&rr(&hex("03022001240102000100 6300"
        .replace(' ', "")
        .as_str())));
    assert_eq!(
        to_hex(&r),
        "830000000200010000000100 6300 1400"
            .replace(' ', "")
            .replacen("83000000", "83000a00", 1)
    );
    // Identity attributes are read-only.
    let r = c.cip(&rr(&hex("10032001240130010200")));
    assert_eq!(to_hex(&r), "90000e00");
}

#[test]
fn tags_by_symbol_instance_and_by_address() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // Write FLT (symbol instance 4, also @22/1/3) by its address, read it by symbol instance.
    let w = c.cip(&rr(&hex("4d032016240130 03ca0001000000c03f"
        .replace(' ', "")
        .as_str())));
    assert_eq!(to_hex(&w), "cd000000");
    let r = c.cip(&rr(&hex("4c02206b24040100")));
    assert_eq!(to_hex(&r), "cc000000ca000000c03f");
    // Element addressing by symbol instance: SCADA (instance 1) element 3.
    let w = c.cip(&rr(&hex("4d03206b24012803c30001000700")));
    assert_eq!(to_hex(&w), "cd000000");
    assert_eq!(
        to_hex(&c.cip(&rr(&hex(
            "4c0591055343414441002803 0100".replace(' ', "").as_str()
        )))),
        "cc000000c3000700"
    );
    // Unknown symbol instance: the object does not exist.
    assert_eq!(to_hex(&c.cip(&rr(&hex("4c02206b24630100")))), "cc001600");
}

#[test]
fn get_attributes_all_on_other_objects() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let r = c.cip(&rr(&hex("010220f52401")));
    assert_eq!(&r[..4], &[0x81, 0, 0, 0]);
    let r = c.cip(&rr(&hex("010220f62401")));
    assert_eq!(to_hex(&r[4..]), "640000000f000000001d9c000001");
    // A class without instance 1 (Template): object does not exist.
    assert_eq!(to_hex(&c.cip(&rr(&hex("0102206c2401")))), "81001600");
}

#[test]
fn lenient_and_malformed_requests() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // A stray byte after the Read Tag count is ignored, as a Logix controller does.
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4c0491055343414441000100ff")))),
        "cc000000c3000000"
    );
    // A structure write is a type mismatch (no structures here), even cut short after the handle.
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4d049105534341444100a002ce0f")))),
        "cd00ff010721"
    );
    // Too short to hold its count: not enough data.
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4d049105534341444100c300")))),
        "cd001300"
    );
    // A Multiple Service Packet whose last offset is past its end is refused whole (0x09): its
    // first item, a whole write, is not done either.
    let write = "4d049105534341444100c30001003412";
    let msp = format!("0a02200224010300 0800 1800 ff00 {write}").replace(' ', "");
    assert_eq!(to_hex(&c.cip(&rr(&hex(&msp)))), "8a000900");
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4c0491055343414441000100")))),
        "cc000000c3000000"
    );
}
