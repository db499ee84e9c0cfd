//! Any bytes as a Modbus request and response PDU: parsing never panics, whatever parses
//! re-emits as exactly its bytes, and the simulator's store answers every request with a
//! response (or exception) that itself parses.
#![no_main]

use cpppo_modbus::pdu::{pdu_len, Direction};
use cpppo_modbus::store::Store;
use cpppo_modbus::{RangeSpec, Request, Response};
use libfuzzer_sys::fuzz_target;
use std::sync::{Mutex, OnceLock};

/// One device for every input (building it per input would dominate the run time).
static STORE: OnceLock<Mutex<Store>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = Request::parse(data) {
        let mut out = Vec::new();
        req.emit(&mut out);
        assert_eq!(out, data, "request re-emit");
        if !matches!(req, Request::Other { .. }) {
            assert_eq!(pdu_len(Direction::Request, data), Ok(Some(data.len())));
        }
    }
    if let Ok(resp) = Response::parse(data) {
        let mut out = Vec::new();
        resp.emit(&mut out);
        assert_eq!(out, data, "response re-emit");
        assert_eq!(pdu_len(Direction::Response, data), Ok(Some(data.len())));
    }
    let mut store = STORE
        .get_or_init(|| {
            Mutex::new(Store::from_specs(&[
                RangeSpec::parse("1-100=1").expect("spec"),
                RangeSpec::parse("10001-10100=0").expect("spec"),
                RangeSpec::parse("30001-30100=3").expect("spec"),
                RangeSpec::parse("40001-40200=4").expect("spec"),
            ]))
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::new();
    store.respond(data, &mut out);
    assert!(
        Response::parse(&out).is_ok(),
        "store answer {out:?} does not parse"
    );
});
