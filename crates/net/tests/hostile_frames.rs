//! Whatever arrives from a link (TAP, VDE), the switch and the stacks neither panic nor stop
//! serving: random and mutated Ethernet frames, then a real exchange that must still work.

use std::net::Ipv4Addr;
use std::time::Duration;

use cpppo_net::stack::Net;
use cpppo_net::switch::{Gateway, Handling, Port, Switch};
use cpppo_net::{Connector, Listener};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GW_MAC: [u8; 6] = [2, 0x63, 0x70, 0x70, 0x70, 0x6f];

fn routed_switch() -> Switch {
    let mut s = Switch::new();
    for i in 0..4u8 {
        s.add_host([2, 0, 10, 0, 0, i + 2], Ipv4Addr::new(10, 0, 0, i + 2));
    }
    s.add_external();
    s.set_gateway(Gateway {
        ip: Ipv4Addr::new(169, 254, 44, 18),
        mac: GW_MAC,
        host: Ipv4Addr::new(10, 0, 0, 1),
        broadcast: Ipv4Addr::new(10, 0, 0, 255),
    });
    s
}

/// Frames shaped like the real thing (ARP, IPv4 to the gateway, to a device, broadcast), with
/// arbitrary bytes after the first few header fields.
fn framelike() -> impl Strategy<Value = Vec<u8>> {
    let dst = prop_oneof![
        Just([0xffu8; 6]),
        Just(GW_MAC),
        Just([2, 0, 10, 0, 0, 3]),
        any::<[u8; 6]>()
    ];
    let ethertype = prop_oneof![Just([8u8, 6]), Just([8, 0]), any::<[u8; 2]>()];
    (
        dst,
        any::<[u8; 6]>(),
        ethertype,
        proptest::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(|(d, s, t, rest)| [&d[..], &s[..], &t[..], &rest[..]].concat())
}

proptest! {
    #[test]
    fn the_switch_takes_any_frame_from_any_port(
        frames in proptest::collection::vec(
            (prop_oneof![framelike(), proptest::collection::vec(any::<u8>(), 0..80)], 0usize..6),
            1..40,
        )
    ) {
        let mut s = routed_switch();
        for (mut frame, port) in frames {
            let from = if port < 4 { Port::Host(port) } else { Port::External(0) };
            let mut out = Vec::new();
            let handling = s.forward(from, &mut frame, &mut out);
            for p in &out {
                match p {
                    Port::Host(i) => prop_assert!(*i < 4),
                    Port::External(e) => prop_assert_eq!(*e, 0),
                }
            }
            if handling == Handling::Answered {
                prop_assert_eq!(&out, &vec![from]);
            }
        }
        // Still a switch: an ARP request for a device goes to that device alone.
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&[2, 9, 9, 9, 9, 9, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
        arp.extend_from_slice(&[2, 9, 9, 9, 9, 9, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 4]);
        let mut out = Vec::new();
        s.forward(Port::External(0), &mut arp, &mut out);
        prop_assert_eq!(out, vec![Port::Host(2)]);
    }
}

#[test]
fn garbage_from_a_link_leaves_the_stacks_serving() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let net = Net::default();
        let a = net
            .add_host([2, 0, 10, 0, 0, 2], Ipv4Addr::new(10, 0, 0, 2), 24, None)
            .unwrap();
        let b = net
            .add_host([2, 0, 10, 0, 0, 3], Ipv4Addr::new(10, 0, 0, 3), 24, None)
            .unwrap();
        let (link, _out) = net.add_external();
        let driver = tokio::spawn(net.run());
        let mut listener = net.listen_tcp(a, 44818).unwrap();
        // Thousands of hostile frames: random bytes, and SYN-like IPv4/TCP frames with broken
        // lengths, addressed to the listening device.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = prop_oneof![
            framelike(),
            proptest::collection::vec(any::<u8>(), 0..1600),
            proptest::collection::vec(any::<u8>(), 20..60).prop_map(|tail| {
                let mut f = vec![2, 0, 10, 0, 0, 2, 2, 9, 9, 9, 9, 9, 8, 0, 0x45, 0];
                f.extend_from_slice(&tail);
                f
            }),
        ];
        for _ in 0..3000 {
            let frame = strategy.new_tree(&mut runner).unwrap().current();
            net.inject(link, frame);
        }
        let server = tokio::spawn(async move {
            let mut acc = listener.accept().await.unwrap();
            acc.stream.write_all(b"still here").await.unwrap();
        });
        let mut s = tokio::time::timeout(
            Duration::from_secs(10),
            net.connector(b).connect("10.0.0.2:44818"),
        )
        .await
        .unwrap()
        .unwrap();
        let mut got = [0u8; 10];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"still here");
        server.await.unwrap();
        driver.abort();
    });
}
