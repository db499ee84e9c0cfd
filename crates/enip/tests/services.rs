//! Services not covered by the captured vectors: Read-Modify-Write Tag, Set/Get Attribute
//! List, Read/Write Tag by Symbol instance and by `@c/i/a`, and Get Attributes All elsewhere.

mod common;

use common::*;
use cpppo_cip::services::{AttributeIds, SetAttributeList, U16s};
use cpppo_cip::{DataType, Segment, Service};
use cpppo_enip::server::session::RoutePolicy;

/// `@class/instance`.
fn at(class: u32, instance: u32) -> [Segment<'static>; 2] {
    [Segment::class(class), Segment::instance(instance)]
}

/// `@class/instance/attribute`.
fn at3(class: u32, instance: u32, attribute: u32) -> [Segment<'static>; 3] {
    [
        Segment::class(class),
        Segment::instance(instance),
        Segment::attribute(attribute),
    ]
}

#[test]
fn read_modify_write_tag() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // SCADA[0] = 0x1234
    assert_eq!(
        to_hex(&c.cip(&rr(&write_tag(
            &[tag("SCADA")],
            DataType::Int,
            1,
            &0x1234u16.to_le_bytes()
        )))),
        "cd000000"
    );
    // OR 0x00FF, AND 0xF0FF  ->  (0x1234 | 0x00FF) & 0xF0FF = 0x10FF
    assert_eq!(
        to_hex(&c.cip(&rr(&read_modify_write(
            &[tag("SCADA")],
            &0x00FFu16.to_le_bytes(),
            &0xF0FFu16.to_le_bytes()
        )))),
        "ce000000"
    );
    assert_eq!(
        to_hex(&c.cip(&rr(&read_tag(&[tag("SCADA")], 1)))),
        "cc000000c300ff10"
    );
    // Mask size not the tag's: type mismatch. REAL: refused too.
    assert_eq!(
        to_hex(&c.cip(&rr(&read_modify_write(&[tag("SCADA")], &[0xFF], &[0x00])))),
        "ce00ff010721"
    );
    assert_eq!(
        to_hex(&c.cip(&rr(&read_modify_write(
            &[tag("FLOAT")],
            &[0xFF; 4],
            &[0x00; 4]
        )))),
        "ce00ff010721"
    );
}

#[test]
fn set_and_get_attribute_list() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // Set @22/1/3 (FLT, REAL) = 3.5 through Set Attribute List.
    let value = [&3u16.to_le_bytes()[..], &3.5f32.to_le_bytes()].concat();
    let set = SetAttributeList {
        count: 1,
        data: &value,
    };
    let r = c.cip(&rr(&request(&at(0x16, 1), Service::SetAttributeList(set))));
    assert_eq!(to_hex(&r), "840000000100030000 00".replace(' ', ""));
    let get = Service::GetAttributeSingle(&[]);
    let r = c.cip(&rr(&request(&at3(0x16, 1, 3), get)));
    assert_eq!(to_hex(&r), "8e00000000006040");
    // Identity attributes 1 and 99 in one Get Attribute List: 99 fails, 1 is answered.
    let ids = AttributeIds {
        ids: U16s::Values(&[1, 99]),
    };
    let r = c.cip(&rr(&request(&at(1, 1), Service::GetAttributeList(ids))));
    assert_eq!(
        to_hex(&r),
        "830000000200010000000100 6300 1400"
            .replace(' ', "")
            .replacen("83000000", "83000a00", 1)
    );
    // Identity attributes are read-only.
    let set = Service::SetAttributeSingle(&[0x02, 0x00]);
    let r = c.cip(&rr(&request(&at3(1, 1, 1), set)));
    assert_eq!(to_hex(&r), "90000e00");
}

#[test]
fn tags_by_symbol_instance_and_by_address() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // Write FLT (symbol instance 4, also @22/1/3) by its address, read it by symbol instance.
    let w = c.cip(&rr(&write_tag(
        &at3(0x16, 1, 3),
        DataType::Real,
        1,
        &1.5f32.to_le_bytes(),
    )));
    assert_eq!(to_hex(&w), "cd000000");
    let r = c.cip(&rr(&read_tag(&at(0x6B, 4), 1)));
    assert_eq!(to_hex(&r), "cc000000ca000000c03f");
    // Element addressing by symbol instance: SCADA (instance 1) element 3.
    let scada_3 = [
        Segment::class(0x6B),
        Segment::instance(1),
        Segment::element(3),
    ];
    let w = c.cip(&rr(&write_tag(
        &scada_3,
        DataType::Int,
        1,
        &7u16.to_le_bytes(),
    )));
    assert_eq!(to_hex(&w), "cd000000");
    assert_eq!(
        to_hex(&c.cip(&rr(&read_tag(&[tag("SCADA"), Segment::element(3)], 1)))),
        "cc000000c3000700"
    );
    // Unknown symbol instance: the object does not exist.
    assert_eq!(
        to_hex(&c.cip(&rr(&read_tag(&at(0x6B, 0x63), 1)))),
        "cc001600"
    );
}

#[test]
fn get_attributes_all_on_other_objects() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    let all = || Service::GetAttributesAll(&[]);
    let r = c.cip(&rr(&request(&at(0xF5, 1), all())));
    assert_eq!(&r[..4], &[0x81, 0, 0, 0]);
    let r = c.cip(&rr(&request(&at(0xF6, 1), all())));
    assert_eq!(to_hex(&r[4..]), "640000000f000000001d9c000001");
    // A class without instance 1 (Template): object does not exist.
    assert_eq!(
        to_hex(&c.cip(&rr(&request(&at(0x6C, 1), all())))),
        "81001600"
    );
}

#[test]
fn lenient_and_malformed_requests() {
    let mut c = Client::new(shared(RoutePolicy::Any));
    // A stray byte after the Read Tag count is ignored, as a Logix controller does.
    // Malformed: Read Tag SCADA, count 1, then a stray 0xFF.
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4c0491055343414441000100ff")))),
        "cc000000c3000000"
    );
    // A structure write is a type mismatch (no structures here), even cut short after the handle.
    // Malformed: Write Tag SCADA, type 0x02A0 handle 0x0FCE, and no count or data.
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4d049105534341444100a002ce0f")))),
        "cd00ff010721"
    );
    // Too short to hold its count: not enough data.
    // Malformed: Write Tag SCADA, type INT, and no count.
    assert_eq!(
        to_hex(&c.cip(&rr(&hex("4d049105534341444100c300")))),
        "cd001300"
    );
    // A Multiple Service Packet whose last offset is past its end is refused whole (0x09): its
    // first item, a whole write, is not done either.
    // Malformed: a Multiple Service Packet of 3 offsets, the third (0x00FF) past its end.
    let write = "4d049105534341444100c30001003412";
    let msp = format!("0a02200224010300 0800 1800 ff00 {write}").replace(' ', "");
    assert_eq!(to_hex(&c.cip(&rr(&hex(&msp)))), "8a000900");
    assert_eq!(
        to_hex(&c.cip(&rr(&read_tag(&[tag("SCADA")], 1)))),
        "cc000000c3000000"
    );
}
