//! Any bytes into the ListIdentity / ListServices / legacy / sockaddr item decoders: no panic,
//! and what decodes re-emits as the same bytes.
#![no_main]

use cpppo_cip::list::{Identity, LegacyAddress, Service, Sockaddr};
use libfuzzer_sys::fuzz_target;

fn same(emitted: Result<usize, cpppo_cip::Error>, out: &[u8], data: &[u8]) {
    assert_eq!(emitted, Ok(data.len()));
    assert_eq!(out, data);
}

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; data.len()];
    if let Ok(id) = Identity::parse(data) {
        same(id.emit(&mut out), &out, data);
    }
    if let Ok(s) = Service::parse(data) {
        let _ = s.name_trimmed();
        same(s.emit(&mut out), &out, data);
    }
    if let Ok(l) = LegacyAddress::parse(data) {
        same(l.emit(&mut out), &out, data);
    }
    if let Ok(s) = Sockaddr::parse(data) {
        same(s.emit(&mut out), &out, data);
    }
});
