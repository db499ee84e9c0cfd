//! Property tests of the encapsulation layer: emit then parse is the identity, a stream of frames
//! cut anywhere decodes like the whole, and arbitrary bytes never panic a decoder (and whatever
//! does decode re-emits as the very bytes it came from).

use core::net::Ipv4Addr;

use cpppo_cip::cpf::{self, Item, MAX_ITEMS};
use cpppo_cip::encap::{Body, Command, Header, Register, Repr, SendData, SendView};
use cpppo_cip::frame::{decode_datagram, Decoder, FrameError};
use cpppo_cip::list::{Identity, LegacyAddress, Service, Sockaddr};
use proptest::prelude::*;

/// Owned material from which one borrowed [`Item`] is built.
#[derive(Debug, Clone)]
struct ItemSeed {
    kind: u8,
    a: u32,
    b: u32,
    w: u16,
    data: Vec<u8>,
    addr: [u8; 4],
    zero: [u8; 8],
    text: [u8; 16],
}

fn item_seed() -> impl Strategy<Value = ItemSeed> {
    (
        0u8..11,
        any::<(u32, u32, u16)>(),
        prop::collection::vec(any::<u8>(), 0..40),
        any::<([u8; 4], [u8; 8], [u8; 16])>(),
    )
        .prop_map(|(kind, (a, b, w), data, (addr, zero, text))| ItemSeed {
            kind,
            a,
            b,
            w,
            data,
            addr,
            zero,
            text,
        })
}

fn sockaddr(s: &ItemSeed) -> Sockaddr {
    Sockaddr {
        family: s.w as i16,
        port: s.a as u16,
        addr: Ipv4Addr::from(s.addr),
        zero: s.zero,
    }
}

/// Type ids the codec does not interpret.
fn unknown_type(w: u16) -> u16 {
    match w {
        0x0000 | 0x0001 | 0x000C | 0x00A1 | 0x00B1 | 0x00B2 | 0x0100 | 0x8000 | 0x8001 | 0x8002 => {
            0x7777
        }
        other => other,
    }
}

fn item(s: &ItemSeed) -> Item<'_> {
    match s.kind {
        0 => Item::NullAddress,
        1 => Item::ConnectedAddress { connection_id: s.a },
        2 => Item::SequencedAddress {
            connection_id: s.a,
            sequence: s.b,
        },
        3 => Item::ConnectedData {
            sequence: s.w,
            data: &s.data,
        },
        4 => Item::UnconnectedData(&s.data),
        5 => Item::Identity(Identity {
            protocol_version: s.w,
            socket: sockaddr(s),
            vendor_id: s.a as u16,
            device_type: (s.a >> 16) as u16,
            product_code: s.b as u16,
            revision_major: s.text[0],
            revision_minor: s.text[1],
            status: (s.b >> 16) as u16,
            serial_number: s.a ^ s.b,
            product_name: &s.data,
            state: s.text[2],
        }),
        6 => Item::Service(Service {
            version: s.w,
            capability: s.a as u16,
            name: &s.data,
        }),
        7 => Item::Legacy(LegacyAddress {
            version: s.w,
            reserved: s.b as u16,
            socket: sockaddr(s),
            text: s.text,
        }),
        8 => Item::SockaddrO2T(sockaddr(s)),
        9 => Item::SockaddrT2O(sockaddr(s)),
        _ => Item::Unknown {
            type_id: unknown_type(s.w),
            data: &s.data,
        },
    }
}

/// Owned material for one frame.
#[derive(Debug, Clone)]
struct FrameSeed {
    shape: u8,
    code: u16,
    session: u32,
    status: u32,
    context: [u8; 8],
    options: u32,
    a: u32,
    w: u16,
    raw: Vec<u8>,
    items: Vec<ItemSeed>,
}

fn frame_seed() -> impl Strategy<Value = FrameSeed> {
    (
        0u8..5,
        any::<(u16, u32, u32, [u8; 8], u32, u32, u16)>(),
        prop::collection::vec(any::<u8>(), 1..60),
        prop::collection::vec(item_seed(), 0..=MAX_ITEMS),
    )
        .prop_map(
            |(shape, (code, session, status, context, options, a, w), raw, items)| FrameSeed {
                shape,
                code,
                session,
                status,
                context,
                options,
                a,
                w,
                raw,
                items,
            },
        )
}

fn cpf_of(items: &[ItemSeed]) -> cpf::Repr<'_> {
    let items: Vec<Item<'_>> = items.iter().map(item).collect();
    cpf::Repr::from_items(&items).expect("at most MAX_ITEMS")
}

fn frame(s: &FrameSeed) -> Repr<'_> {
    let pick = |cmds: &[Command]| cmds[usize::from(s.w) % cmds.len()];
    let (command, body) = match s.shape {
        0 => (Command::from_code(s.code), Body::Empty),
        1 => (
            Command::RegisterSession,
            Body::Register(Register {
                protocol_version: s.w,
                options: s.a as u16,
            }),
        ),
        2 => (
            pick(&[Command::SendRRData, Command::SendUnitData]),
            Body::SendData(SendData {
                interface: s.a,
                timeout: s.w,
                cpf: cpf_of(&s.items),
            }),
        ),
        3 => (
            pick(&[
                Command::ListIdentity,
                Command::ListServices,
                Command::ListInterfaces,
                Command::Legacy,
            ]),
            Body::Items(cpf_of(&s.items)),
        ),
        _ => {
            let unknown = match Command::from_code(s.code) {
                Command::Unknown(c) => Command::Unknown(c),
                _ => Command::Unknown(0x00ff),
            };
            (
                pick(&[Command::Nop, Command::UnRegisterSession, unknown]),
                Body::Raw(&s.raw),
            )
        }
    };
    Repr {
        header: Header {
            command,
            session: s.session,
            status: s.status,
            context: s.context,
            options: s.options,
        },
        body,
    }
}

/// Decodes `stream` fed in the pieces between `cuts`, returning every frame re-emitted.
fn decode_in_pieces(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.push(0);
    cuts.push(stream.len());
    cuts.sort_unstable();
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for pair in cuts.windows(2) {
        d.feed(&stream[pair[0]..pair[1]]);
        while let Some(r) = d.decode().expect("valid frame") {
            out.push(r.to_vec().expect("emit"));
        }
    }
    assert!(d.is_idle());
    out
}

/// Every frame (re-emitted) or error, feeding `stream` in the pieces between `cuts`, with a
/// data length limit.
fn outcomes(stream: &[u8], cuts: &[usize], max: usize) -> Vec<Result<Vec<u8>, FrameError>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.push(0);
    cuts.push(stream.len());
    cuts.sort_unstable();
    let mut d = Decoder::with_max_data_len(max);
    let mut out = Vec::new();
    for pair in cuts.windows(2) {
        d.feed(&stream[pair[0]..pair[1]]);
        loop {
            match d.decode() {
                Ok(Some(r)) => out.push(Ok(r.to_vec().expect("emit"))),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
        }
    }
    out
}

/// The lean two-item view agrees with the general decoder on `bytes`: whatever it accepts
/// decodes the same both ways (header, interface, timeout, items), and it declines only what
/// is not a SendRRData / SendUnitData of exactly two items the general decoder accepts.
fn view_agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
    let general = Repr::parse_bytes(bytes);
    let two_item_send = match &general {
        Ok(Repr {
            body: Body::SendData(s),
            ..
        }) => s.cpf.items().len() == 2,
        _ => false,
    };
    match SendView::parse(bytes) {
        Some(view) => {
            prop_assert_eq!(&Ok(view.repr()), &general);
            let Ok(Repr {
                body: Body::SendData(s),
                ..
            }) = general
            else {
                unreachable!("checked above")
            };
            prop_assert_eq!(view.items(), s.cpf.items());
            prop_assert_eq!(view.address(), s.cpf.items()[0]);
            prop_assert_eq!(view.data(), s.cpf.items()[1]);
            prop_assert_eq!(view.unconnected_data(), s.cpf.unconnected_data());
            prop_assert_eq!(view.connected_data(), s.cpf.connected_data());
            prop_assert_eq!(view.connection_id(), s.cpf.connection_id());
        }
        None => prop_assert!(
            !two_item_send,
            "declined a two-item send the decoder accepts"
        ),
    }
    Ok(())
}

/// A SendRRData / SendUnitData frame of the two items `a` and `b`.
fn two_item_frame(seed: &FrameSeed, a: &ItemSeed, b: &ItemSeed) -> Vec<u8> {
    let mut s = seed.clone();
    s.shape = 2;
    s.items = vec![a.clone(), b.clone()];
    frame(&s).to_vec().expect("emit")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn send_view_agrees_with_the_general_decoder(
        seed in frame_seed(),
        (a, b) in (item_seed(), item_seed()),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        noise in prop::collection::vec(any::<u8>(), 0..80),
        (extra, cut, count) in (prop::collection::vec(any::<u8>(), 1..4), 1usize..8, 0u16..4),
    ) {
        // The data's length changed under the items (bytes after them, or some missing), and
        // another item count.
        let well_formed = two_item_frame(&seed, &a, &b);
        let mut longer = well_formed.clone();
        longer.extend(&extra);
        let mut shorter = well_formed.clone();
        shorter.truncate(well_formed.len().saturating_sub(cut).max(30));
        for mut edited in [longer, shorter] {
            let len = (edited.len() - 24) as u16;
            edited[2..4].copy_from_slice(&len.to_le_bytes());
            view_agrees(&edited)?;
        }
        let mut recounted = well_formed.clone();
        recounted[30..32].copy_from_slice(&count.to_le_bytes());
        view_agrees(&recounted)?;
        // Any frame the generator makes, a two-item send, the same mutated, random bytes.
        view_agrees(&frame(&seed).to_vec().expect("emit"))?;
        let mut bytes = two_item_frame(&seed, &a, &b);
        view_agrees(&bytes)?;
        prop_assert!(SendView::parse(&bytes).is_some(), "a well-formed two-item send is viewed");
        for (at, x) in flips {
            let n = bytes.len();
            bytes[at % n] ^= x;
        }
        view_agrees(&bytes)?;
        view_agrees(&noise)?;
    }

    #[test]
    fn emit_then_parse_is_identity(seed in frame_seed()) {
        let repr = frame(&seed);
        let bytes = repr.to_vec().expect("emit");
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse_bytes(&bytes).expect("parse"), repr);
        prop_assert_eq!(decode_datagram(&bytes).expect("datagram"), repr);
    }

    #[test]
    fn cpf_and_items_round_trip(items in prop::collection::vec(item_seed(), 0..=MAX_ITEMS)) {
        let cpf = cpf_of(&items);
        let bytes = cpf.to_vec().expect("emit");
        prop_assert_eq!(cpf::Repr::parse_bytes(&bytes).expect("parse"), cpf);
        for it in cpf.items() {
            let mut buf = vec![0; it.buffer_len()];
            prop_assert_eq!(it.emit(&mut buf), Ok(buf.len()));
            prop_assert_eq!(Item::parse(it.type_id(), &buf[4..]), Ok(*it));
        }
    }

    #[test]
    fn stream_cut_anywhere_decodes_like_whole(
        seeds in prop::collection::vec(frame_seed(), 1..5),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let frames: Vec<Vec<u8>> = seeds.iter().map(|s| frame(s).to_vec().expect("emit")).collect();
        let stream = frames.concat();
        prop_assert_eq!(decode_in_pieces(&stream, &[]), frames.clone());
        prop_assert_eq!(decode_in_pieces(&stream, &cuts), frames);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120), ty in any::<u16>()) {
        if let Ok(r) = Repr::parse_bytes(&bytes) {
            let n = r.buffer_len();
            prop_assert_eq!(r.to_vec().expect("emit"), &bytes[..n]);
        }
        let _ = decode_datagram(&bytes);
        if let Ok(c) = cpf::Repr::parse_bytes(&bytes) {
            prop_assert_eq!(c.to_vec().expect("emit"), &bytes[..]);
        }
        if let Ok(i) = Item::parse(ty, &bytes) {
            prop_assert_eq!(i.data_len(), bytes.len());
        }
        let _ = Identity::parse(&bytes);
        let _ = Service::parse(&bytes);
        let _ = LegacyAddress::parse(&bytes);
        let _ = Sockaddr::parse(&bytes);
        let mut d = Decoder::with_max_data_len(usize::from(ty) % 200);
        for chunk in bytes.chunks(usize::from(ty % 7) + 1) {
            d.feed(chunk);
            while let Ok(Some(_)) | Err(_) = d.decode() {}
        }
    }

    #[test]
    fn mutated_frames_never_panic(seed in frame_seed(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut bytes = frame(&seed).to_vec().expect("emit");
        for (at, x) in flips {
            let n = bytes.len();
            bytes[at % n] ^= x;
        }
        if let Ok(r) = Repr::parse_bytes(&bytes) {
            let n = r.buffer_len();
            prop_assert_eq!(r.to_vec().expect("emit"), &bytes[..n]);
        }
        let mut d = Decoder::with_max_data_len(64);
        d.feed(&bytes);
        d.feed(&bytes);
        let mut rounds = 0;
        while let Ok(Some(_)) | Err(_) = d.decode() {
            rounds += 1;
            prop_assert!(rounds < 10, "decoder did not make progress");
        }
    }

    #[test]
    fn errors_and_oversize_are_the_same_however_the_stream_is_cut(
        seeds in prop::collection::vec(frame_seed(), 1..5),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cuts in prop::collection::vec(any::<usize>(), 1..8),
        max in 0usize..120,
    ) {
        let mut stream: Vec<u8> = seeds.iter().flat_map(|s| frame(s).to_vec().expect("emit")).collect();
        for (at, x) in flips {
            let n = stream.len();
            stream[at % n] ^= x;
        }
        let whole = outcomes(&stream, &[], max);
        prop_assert_eq!(outcomes(&stream, &cuts, max), whole);
    }
}
