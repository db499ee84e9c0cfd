//! Property tests for the class 1 I/O codec: frames, network parameters, transport bytes and
//! I/O connection paths round-trip; arbitrary bytes never panic a decoder, and whatever decodes
//! re-emits exactly.

use cpppo_cip::epath::ElectronicKey;
use cpppo_cip::io::{
    sequence_is_newer, ConnectionType, Format, IoFrame, IoPath, NetworkParams, Priority, RpiRange,
    TransportClass,
};
use cpppo_cip::{EPath, Padding, Status};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

proptest! {
    #[test]
    fn frames_round_trip(id: u32, encap: u32, seq: u16, header: Option<u32>, data in bytes(600)) {
        let frame = IoFrame { connection_id: id, encap_sequence: encap, sequence: seq, run_idle: header, data: &data };
        let wire = frame.to_vec().unwrap();
        prop_assert_eq!(wire.len(), frame.buffer_len());
        prop_assert_eq!(IoFrame::address(&wire).unwrap(), (id, encap));
        let back = IoFrame::parse(&wire, frame.format()).unwrap();
        prop_assert_eq!(back, frame);
        prop_assert_eq!(back.connection_size(), frame.format().connection_size(data.len()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(wire in bytes(64)) {
        for format in [Format::Modeless, Format::RunIdle] {
            if let Ok(f) = IoFrame::parse(&wire, format) {
                prop_assert_eq!(f.to_vec().unwrap(), wire.clone());
            }
        }
        let _ = IoFrame::address(&wire);
        if let Ok(path) = EPath::parse(&wire, Padding::Padded) {
            let _ = IoPath::parse(&path);
        }
    }

    #[test]
    fn truncated_frames_are_errors(id: u32, seq: u16, data in bytes(16), cut in 0usize..40) {
        let frame = IoFrame { connection_id: id, encap_sequence: 1, sequence: seq, run_idle: Some(1), data: &data };
        let wire = frame.to_vec().unwrap();
        let cut = cut.min(wire.len().saturating_sub(1));
        prop_assert!(IoFrame::parse(&wire[..cut], Format::RunIdle).is_err());
    }

    #[test]
    fn network_parameters_round_trip(bits: u32, large: bool) {
        // Reserved bits (16-bit: 12; 32-bit: 28 and 24..16) are not kept.
        let kept = if large { bits & 0xEE00_FFFF } else { bits & 0xEFFF };
        let p = NetworkParams::from_bits(kept, large);
        prop_assert_eq!(p.to_bits(large).unwrap(), kept);
        prop_assert_eq!(NetworkParams::from_bits(p.to_bits(large).unwrap(), large), p);
        if !large {
            prop_assert!(p.size <= 0x1FF);
        }
        let _ = (ConnectionType::Null, Priority::Low);
    }

    #[test]
    fn transport_byte_round_trips(b: u8) {
        prop_assert_eq!(TransportClass::from_byte(b).to_byte(), b);
    }

    #[test]
    fn io_paths_round_trip(
        key: Option<(u16, u16, u16, u8, u8)>,
        config: Option<u16>,
        o_t: u16,
        t_o: u16,
        data in prop::option::of(bytes(8).prop_map(|mut d| { d.truncate(d.len() / 2 * 2); d })),
    ) {
        let io = IoPath {
            key: key.map(|(vendor, device_type, product_code, major, minor)| ElectronicKey {
                vendor, device_type, product_code, major, minor,
            }),
            class: 4,
            config: config.map(u32::from),
            o_t: o_t.into(),
            t_o: t_o.into(),
            data: data.as_deref(),
        };
        let wire = io.to_vec().unwrap();
        prop_assert_eq!(wire.len(), io.buffer_len());
        let path = EPath::parse(&wire, Padding::Padded).unwrap();
        prop_assert_eq!(IoPath::parse(&path).unwrap(), io);
    }

    #[test]
    fn sequence_order_is_antisymmetric(a: u16, b: u16) {
        prop_assert!(!(sequence_is_newer(a, b) && sequence_is_newer(b, a)));
        prop_assert!(sequence_is_newer(a.wrapping_add(1), a));
    }

    #[test]
    fn rpi_ranges_survive_a_status(min_us: u32, max_us: u32) {
        let r = RpiRange { min_us, max_us };
        let st: Status = r.refusal();
        prop_assert_eq!(RpiRange::from_words(st.words()), Some(r));
    }
}
