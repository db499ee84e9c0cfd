//! Any bytes into the Multiple Service Packet decoders (request and reply data): no panic; every
//! item is reachable; a packet that decodes re-emits as exactly its bytes; every sub-request and
//! sub-reply that decodes re-emits without error.
#![no_main]

use cpppo_cip::services::{MspReply, MspRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msp) = MspRequest::parse(data) {
        let mut out = vec![0; msp.buffer_len()];
        assert_eq!(msp.emit(&mut out), Ok(data.len()));
        assert_eq!(out, data);
        for req in msp.requests().flatten() {
            let mut out = vec![0; req.buffer_len()];
            assert_eq!(req.emit(&mut out), Ok(out.len()));
        }
    }
    if let Ok(msp) = MspReply::parse(data) {
        for rep in msp.replies().flatten() {
            let mut out = vec![0; rep.buffer_len()];
            assert_eq!(rep.emit(&mut out), Ok(out.len()));
        }
    }
});
