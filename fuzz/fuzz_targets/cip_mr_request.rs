//! Any bytes into the Message Router request decoder: no panic, and a request that decodes
//! re-emits as exactly its bytes.
#![no_main]

use cpppo_cip::mr::MrRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = MrRequest::parse(data) {
        let mut out = vec![0; req.buffer_len()];
        assert_eq!(req.emit(&mut out), Ok(data.len()));
        assert_eq!(out, data);
    }
});
