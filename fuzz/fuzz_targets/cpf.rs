//! Any bytes into the Common Packet Format decoders: no panic, and what decodes re-emits as the
//! same bytes. The first two bytes also choose an item type for `Item::parse` on the rest.
#![no_main]

use cpppo_cip::cpf::{Item, Packet, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let view = Packet::new_unchecked(data);
    let _ = view.items().count();
    if let Ok(cpf) = Repr::parse_bytes(data) {
        assert_eq!(cpf.to_vec().expect("re-emit"), data);
        assert_eq!(
            Packet::new_checked(data).map(|p| p.items().count()),
            Ok(cpf.items().len())
        );
    }
    if let [a, b, rest @ ..] = data {
        let type_id = u16::from_le_bytes([*a, *b]);
        if let Ok(item) = Item::parse(type_id, rest) {
            let mut out = vec![0; item.buffer_len()];
            assert_eq!(item.emit(&mut out), Ok(out.len()));
            assert_eq!(&out[4..], rest);
        }
    }
});
