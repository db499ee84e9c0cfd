//! Any bytes as a Modbus/TCP stream: decoding never panics, always progresses, and yields the
//! same frames and error however the stream is cut (the first byte picks the chunk size).
#![no_main]

use cpppo_modbus::tcp;
use libfuzzer_sys::fuzz_target;

type Frames = (Vec<(u16, u16, u8, Vec<u8>)>, Option<cpppo_modbus::Error>);

fn run(stream: &[u8], chunk: usize) -> Frames {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match tcp::decode(&buf) {
                Ok(Some((adu, used))) => {
                    assert!(used > tcp::HEADER_LEN && used <= tcp::MAX_FRAME);
                    out.push((adu.transaction, adu.protocol, adu.unit, adu.pdu.to_vec()));
                    buf.drain(..used);
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let [c, stream @ ..] = data else { return };
    let whole = run(stream, stream.len());
    let cut = run(stream, usize::from(*c));
    assert_eq!(whole, cut);
});
