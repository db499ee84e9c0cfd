//! Any bytes into the Message Router reply decoder and the per-class reply body decoder (the
//! first byte picks the class: odd = Connection Manager): no panic, and what decodes re-emits as
//! exactly its bytes.
#![no_main]

use cpppo_cip::mr::MrReply;
use cpppo_cip::services::{class, Reply, ReplyBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let Ok(mr) = MrReply::parse(data) else {
        return;
    };
    let mut out = vec![0; mr.buffer_len()];
    assert_eq!(mr.emit(&mut out), Ok(data.len()));
    assert_eq!(out, data);
    let class = (pick & 1 == 1).then_some(class::CONNECTION_MANAGER);
    if let Ok(reply) = Reply::parse(class, &mr) {
        let mut out = vec![0; reply.buffer_len()];
        assert_eq!(reply.emit(&mut out), Ok(data.len()));
        assert_eq!(out, data);
        if let ReplyBody::MultipleServicePacket(msp) = reply.body {
            msp.replies().for_each(drop);
        }
    }
});
