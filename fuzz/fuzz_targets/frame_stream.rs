//! Any bytes as a TCP stream: the incremental decoder never panics or stalls, yields the same
//! frames and errors however the stream is cut, and also treats the bytes as one UDP datagram.
//! The first byte picks the chunk size and the second the data length limit.
#![no_main]

use cpppo_cip::frame::{decode_datagram, Decoder, FrameError};
use libfuzzer_sys::fuzz_target;

/// Every frame (re-emitted) or error, feeding `stream` in `chunk`-byte pieces.
fn run(stream: &[u8], chunk: usize, max: usize) -> Vec<Result<Vec<u8>, FrameError>> {
    let mut d = Decoder::with_max_data_len(max);
    let mut out = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        d.feed(piece);
        loop {
            match d.decode() {
                Ok(Some(r)) => out.push(Ok(r.to_vec().expect("re-emit"))),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
            assert!(out.len() <= stream.len(), "decoder made no progress");
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let _ = decode_datagram(data);
    let [c, m, stream @ ..] = data else { return };
    let max = if *m == 0xff {
        usize::from(u16::MAX)
    } else {
        usize::from(*m) * 4
    };
    let whole = run(stream, stream.len(), max);
    let cut = run(stream, usize::from(*c % 32) + 1, max);
    assert_eq!(whole, cut);
});
