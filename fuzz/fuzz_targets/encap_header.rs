//! Any bytes into the encapsulation header view and frame decoder: no panic, and a frame that
//! decodes re-emits as exactly the bytes it was decoded from.
#![no_main]

use cpppo_cip::encap::{Header, Packet, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = Packet::new_unchecked(data);
    let _ = Header::parse(&packet);
    let _ = packet.payload();
    if let Ok(packet) = Packet::new_checked(data) {
        if let Ok(repr) = Repr::parse(&packet) {
            let bytes = repr.to_vec().expect("a decoded frame re-emits");
            assert_eq!(&bytes[..], &data[..packet.frame_len()]);
        }
    }
});
