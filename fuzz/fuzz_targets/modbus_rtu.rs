//! Any bytes as a Modbus/RTU line (both directions), fed in chunks with silences where the
//! input says: the decoder never panics, every frame it returns has a good CRC and a PDU its
//! direction's rules give that length to, and it never holds more than two frames' worth.
//! The first byte picks the chunk size; a chunk whose first byte is 0xFF is followed by a
//! silence.
#![no_main]

use cpppo_modbus::pdu::{pdu_len, Direction};
use cpppo_modbus::rtu::{self, Decoder, MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fn run(stream: &[u8], chunk: usize, dir: Direction) {
    let mut d = Decoder::new(dir);
    for piece in stream.chunks(chunk.max(1)) {
        d.push(piece);
        if piece.first() == Some(&0xFF) {
            d.silence();
        }
        while let Some(adu) = d.next_frame() {
            let mut frame = Vec::new();
            rtu::encode(&mut frame, adu.unit, |o| o.extend_from_slice(adu.pdu));
            assert!(rtu::crc_ok(&frame));
            if let Ok(n) = pdu_len(dir, adu.pdu) {
                assert_eq!(n, Some(adu.pdu.len()));
            }
        }
        assert!(d.pending() <= 2 * MAX_FRAME);
    }
}

fuzz_target!(|data: &[u8]| {
    let [c, stream @ ..] = data else { return };
    run(stream, usize::from(*c), Direction::Request);
    run(stream, usize::from(*c), Direction::Response);
});
