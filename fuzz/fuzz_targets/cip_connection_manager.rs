//! Any bytes into the Connection Manager decoders (Unconnected Send, Forward Open, Large Forward
//! Open, Forward Close and their replies): no panic; what decodes re-emits into bytes that
//! decode to the same value.
#![no_main]

use cpppo_cip::services::{
    ConnectionFailure, ForwardClose, ForwardCloseReply, ForwardOpen, ForwardOpenReply,
    UnconnectedSend,
};
use libfuzzer_sys::fuzz_target;

macro_rules! round_trip {
    ($data:expr, $parse:expr) => {
        if let Ok(v) = $parse($data) {
            let mut out = vec![0; v.buffer_len()];
            assert_eq!(v.emit(&mut out), Ok(out.len()));
            assert_eq!($parse(&out[..]), Ok(v));
        }
    };
}

fuzz_target!(|data: &[u8]| {
    round_trip!(data, UnconnectedSend::parse);
    round_trip!(data, |d| ForwardOpen::parse(false, d));
    round_trip!(data, |d| ForwardOpen::parse(true, d));
    round_trip!(data, ForwardClose::parse);
    round_trip!(data, ForwardOpenReply::parse);
    round_trip!(data, ForwardCloseReply::parse);
    round_trip!(data, ConnectionFailure::parse);
});
