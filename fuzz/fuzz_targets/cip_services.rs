//! Any bytes into the per-class service dispatch (`Request::parse`): no panic; a request that
//! decodes re-emits into a request that decodes to the same value (and to the same bytes when
//! re-emitted once more).
#![no_main]

use cpppo_cip::services::Request;
use libfuzzer_sys::fuzz_target;

fn emit(req: &Request<'_>) -> Vec<u8> {
    let mut out = vec![0; req.buffer_len()];
    assert_eq!(req.emit(&mut out), Ok(out.len()));
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = Request::parse_bytes(data) else {
        return;
    };
    let once = emit(&req);
    let back = Request::parse_bytes(&once).expect("re-emitted request parses");
    assert_eq!(back, req);
    assert_eq!(emit(&back), once);
});
