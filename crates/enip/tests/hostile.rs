//! Random and mutated frames into the session state machine: never a panic, and the session
//! keeps answering valid requests afterwards.

mod common;

use common::*;
use cpppo_cip::encap::{Body, Command};
use cpppo_enip::server::session::{Outcome, RoutePolicy};
use proptest::prelude::*;

fn seeds() -> Vec<Vec<u8>> {
    [
        "read_tag",
        "read_tag_unconnected_send",
        "write_tag_fragmented_1",
        "multiple_service_packet",
        "connected_read_0",
        "get_attributes_all_identity",
        "set_attribute_single",
        "clients/pycomm3_large_forward_open",
        "clients/pycomm3_get_instance_attribute_list_0x55",
        "clients/pylogix_read_tag_fragmented_or_unconnected_send",
    ]
    .iter()
    .map(|n| vector(n).request)
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_frames_never_panic(pick in 0usize..10, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut c = Client::new(shared(RoutePolicy::Any));
        let mut f = seeds()[pick].clone();
        for (at, v) in flips {
            let n = f.len();
            f[at % n] = v;
        }
        // keep the encapsulation length consistent with what we send, or not
        if cut % 3 == 0 {
            let len = f.len().saturating_sub(24).min(usize::from(u16::MAX)) as u16;
            f[2..4].copy_from_slice(&len.to_le_bytes());
        }
        let _ = c.send(&f);
        // still serving
        prop_assert_eq!(to_hex(&c.cip(&vector("read_tag").request)), "cc000000c3000000");
    }

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300), command in prop::sample::select(vec![0x00u16, 0x04, 0x63, 0x64, 0x65, 0x66, 0x6F, 0x70, 0x01, 0xFF])) {
        let mut c = Client::new(shared(RoutePolicy::Any));
        // A well-formed header (any command, known or not) carrying random bytes as its data.
        let f = frame(Command::from_code(command), Body::Raw(&body));
        let out = c.send(&f);
        prop_assert!(matches!(out, Outcome::Reply(_) | Outcome::Silent | Outcome::Close));
    }
}
