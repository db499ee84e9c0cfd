//! Any bytes into the encapsulation header view and frame decoder: no panic, a frame that
//! decodes re-emits as exactly the bytes it was decoded from, and the lean two-item
//! `SendView` agrees with the general decoder (it declines only what is not a two-item send).
#![no_main]

use cpppo_cip::encap::{Body, Header, Packet, Repr, SendView};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = Packet::new_unchecked(data);
    let _ = Header::parse(&packet);
    let _ = packet.payload();
    if let Ok(packet) = Packet::new_checked(data) {
        if let Ok(repr) = Repr::parse(&packet) {
            let bytes = repr.to_vec().expect("a decoded frame re-emits");
            assert_eq!(&bytes[..], &data[..packet.frame_len()]);
        }
    }
    let general = Repr::parse_bytes(data);
    match SendView::parse(data) {
        Some(view) => assert_eq!(Ok(view.repr()), general, "the view and the decoder differ"),
        None => assert!(
            !matches!(&general, Ok(Repr { body: Body::SendData(s), .. }) if s.cpf.items().len() == 2),
            "the view declined a two-item send"
        ),
    }
});
