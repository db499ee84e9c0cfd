//! Any bytes as a sequence of Ethernet frames arriving at the fleet's routed switch from its
//! links and stacks: never panics, only names ports that exist, answers only to the sender,
//! and keeps switching (an ARP request for a stack still reaches that stack alone).
#![no_main]

use std::net::Ipv4Addr;

use cpppo_net::switch::{Gateway, Handling, Port, Switch};
use libfuzzer_sys::fuzz_target;

const STACKS: usize = 4;

fn switch() -> Switch {
    let mut s = Switch::new();
    for i in 0..STACKS as u8 {
        s.add_host([2, 0, 10, 0, 0, i + 2], Ipv4Addr::new(10, 0, 0, i + 2));
    }
    s.add_external();
    s.set_gateway(Gateway {
        ip: Ipv4Addr::new(169, 254, 44, 18),
        mac: [2, 0x63, 0x70, 0x70, 0x70, 0x6f],
        host: Ipv4Addr::new(10, 0, 0, 1),
        broadcast: Ipv4Addr::new(10, 0, 0, 255),
    });
    s
}

fuzz_target!(|data: &[u8]| {
    let mut s = switch();
    let mut out = Vec::new();
    // Each frame: one byte picks the port, one its length, then that many bytes.
    let mut rest = data;
    while let [port, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (frame, next) = tail.split_at(n);
        rest = next;
        let from = match usize::from(*port) % (STACKS + 1) {
            i if i < STACKS => Port::Host(i),
            _ => Port::External(0),
        };
        let mut frame = frame.to_vec();
        out.clear();
        let handling = s.forward(from, &mut frame, &mut out);
        for p in &out {
            match p {
                Port::Host(i) => assert!(*i < STACKS),
                Port::External(e) => assert_eq!(*e, 0),
            }
        }
        if handling == Handling::Answered {
            assert_eq!(out, [from]);
        }
    }
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&[2, 9, 9, 9, 9, 9, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&[2, 9, 9, 9, 9, 9, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 3]);
    out.clear();
    s.forward(Port::External(0), &mut arp, &mut out);
    assert_eq!(out, [Port::Host(1)]);
});
