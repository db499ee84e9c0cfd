//! Any bytes into the class 1 I/O decoders: frames in both real-time formats (what decodes
//! re-emits as the same bytes) and I/O connection paths (what decodes re-parses the same).
#![no_main]

use cpppo_cip::io::{Format, IoFrame, IoPath};
use cpppo_cip::{EPath, Padding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::Modeless, Format::RunIdle] {
        if let Ok(frame) = IoFrame::parse(data, format) {
            assert_eq!(frame.to_vec().expect("re-emit"), data);
        }
    }
    if let Ok(path) = EPath::parse(data, Padding::Padded) {
        if let Ok(io) = IoPath::parse(&path) {
            let wire = io.to_vec().expect("re-emit");
            let again = EPath::parse(&wire, Padding::Padded).expect("re-parse");
            assert_eq!(IoPath::parse(&again), Ok(io));
        }
    }
});
