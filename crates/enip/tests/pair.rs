//! A client `Session` paired with a server `Session` in memory (quinn's `Pair`): every
//! exchange of the client runs without a socket, byte by byte when asked, with replies
//! delivered out of order when asked.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{local, shared};
use cpppo_cip::frame::frame_len;
use cpppo_cip::mr::{MrReply, Payload};
use cpppo_cip::services::msp::Table;
use cpppo_cip::services::MspWriter;
use cpppo_enip::client::operation::{parse_operations, Literal, Operation};
use cpppo_enip::client::plan::{Absorbed, Accumulator, Plan};
use cpppo_enip::client::session::{Event, Session};
use cpppo_enip::client::{ClientError, Connector, Options, ReplyStatus};
use cpppo_enip::server::session::{Outcome, RoutePolicy, Session as Server};

/// One client and one server session and the bytes between them.
struct Pair {
    client: Session,
    server: Server,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    now: Instant,
    /// Deliver bytes in pieces of this many (0: all at once).
    chunk: usize,
    /// Deliver each batch of server replies in reverse order.
    reverse: bool,
}

/// What the client decoded, owned.
#[derive(Debug, PartialEq)]
enum Got {
    Registered(u32),
    Reply(u64, Vec<u8>),
    Opened(u64, Result<u32, ReplyStatus>),
    Closed(u64, ReplyStatus),
    List(u64, usize),
}

impl Pair {
    fn new(options: Options) -> Pair {
        Pair {
            client: Session::new(options).unwrap(),
            server: Server::new(shared(RoutePolicy::Any)),
            to_server: Vec::new(),
            to_client: Vec::new(),
            now: Instant::now(),
            chunk: 0,
            reverse: false,
        }
    }

    /// A pair whose client is registered.
    fn registered(options: Options) -> Pair {
        let mut p = Pair::new(options);
        p.client.register().unwrap();
        let got = p.drive();
        assert!(matches!(got.as_slice(), [Got::Registered(h)] if *h != 0));
        p
    }

    fn pieces(bytes: &[u8], chunk: usize) -> Vec<&[u8]> {
        if chunk == 0 {
            vec![bytes]
        } else {
            bytes.chunks(chunk).collect()
        }
    }

    /// Moves bytes both ways until neither side has more to say; every client event.
    fn drive(&mut self) -> Vec<Got> {
        let mut events = Vec::new();
        loop {
            self.to_server.extend_from_slice(self.client.transmit());
            self.client.transmitted(self.now);
            let mut replies = Vec::new();
            while let Ok(Some(n)) = frame_len(&self.to_server, 65535) {
                if self.to_server.len() < n {
                    break;
                }
                let frame: Vec<u8> = self.to_server.drain(..n).collect();
                match self.server.on_frame(&frame, local(), self.now) {
                    Outcome::Reply(r) => replies.push(r.frame),
                    Outcome::Silent | Outcome::Close => {}
                    other => panic!("unexpected server outcome {other:?}"),
                }
            }
            if self.reverse {
                replies.reverse();
            }
            for r in replies {
                self.to_client.extend(r);
            }
            if self.to_client.is_empty() {
                return events;
            }
            let bytes = std::mem::take(&mut self.to_client);
            for piece in Pair::pieces(&bytes, self.chunk) {
                self.client.handle_input(piece, self.now);
                while let Some(ev) = self.client.poll_event() {
                    events.push(owned(ev.unwrap()));
                }
            }
        }
    }
}

fn owned(ev: Event<'_>) -> Got {
    match ev {
        Event::Registered(h) => Got::Registered(h),
        Event::Reply { key, message } => Got::Reply(key, message.to_vec()),
        Event::Opened { key, result } => Got::Opened(key, result),
        Event::Closed { key, status } => Got::Closed(key, status),
        Event::List { key, items } => Got::List(key, items.len()),
    }
}

fn plan(text: &str) -> Plan {
    Plan::new(&Operation::parse(text).unwrap(), false, false).unwrap()
}

/// The values (or status) an operation's reply carries.
fn outcome(plan: &Plan, reply: &[u8]) -> (ReplyStatus, Option<Vec<Literal>>) {
    let reply = MrReply::parse(reply).unwrap();
    match plan.absorb(&mut Accumulator::default(), &reply) {
        Absorbed::Done(status, value) => (status, value),
        Absorbed::More(_) => panic!("a fragmented reply"),
    }
}

/// Runs `ops` (cpppo syntax) through the pair, all queued before any is answered; the result
/// of each, matched by key.
fn run(pair: &mut Pair, ops: &[&str]) -> Vec<(ReplyStatus, Option<Vec<Literal>>)> {
    let plans: Vec<Plan> = ops.iter().map(|t| plan(t)).collect();
    let keys: Vec<u64> = plans
        .iter()
        .map(|p| pair.client.queue(&p.request(0).unwrap()).unwrap())
        .collect();
    assert_eq!(pair.client.outstanding(), ops.len());
    let mut replies: HashMap<u64, Vec<u8>> = HashMap::new();
    for got in pair.drive() {
        let Got::Reply(key, bytes) = got else {
            panic!("unexpected event {got:?}")
        };
        assert!(
            replies.insert(key, bytes).is_none(),
            "key {key} answered twice"
        );
    }
    assert_eq!(pair.client.outstanding(), 0);
    assert_eq!(pair.client.poll_timeout(), None);
    keys.iter()
        .zip(&plans)
        .map(|(k, p)| outcome(p, &replies[k]))
        .collect()
}

fn ints(v: &[i128]) -> Option<Vec<Literal>> {
    Some(v.iter().map(|&i| Literal::Int(i)).collect())
}

#[test]
fn register_gets_the_servers_handle() {
    let p = Pair::registered(Options::default());
    assert_eq!(Some(p.client.handle()), p.server.handle());
}

#[test]
fn list_services_over_the_session() {
    let mut p = Pair::new(Options::default());
    let key = p.client.list(0x04).unwrap();
    assert_eq!(p.drive(), vec![Got::List(key, 1)]);
}

#[test]
fn read_and_write_tags_routed_and_simple() {
    for options in [Options::default(), Options::simple()] {
        let mut p = Pair::registered(options);
        let got = run(&mut p, &["SCADA[1-2]=(INT)7,8", "SCADA[0-3]", "NOPE"]);
        assert!(got[0].0.is_ok());
        assert_eq!(got[1], (ReplyStatus::OK, ints(&[0, 7, 8, 0])));
        assert_eq!(got[2].0.general, 0x05);
        assert_eq!(got[2].1, None);
    }
}

#[test]
fn multiple_service_packet() {
    let mut p = Pair::registered(Options::default());
    let plans = [plan("SCADA[5]=(INT)55"), plan("SCADA[5]"), plan("FLOAT")];
    let items: Vec<Vec<u8>> = plans.iter().map(|p| p.request(0).unwrap()).collect();
    let mut data = vec![0u8; 512];
    let mut w = MspWriter::new(&mut data, items.len()).unwrap();
    for item in &items {
        w.push(|t| item.as_slice().emit(t)).unwrap();
    }
    let n = w.finish().unwrap();
    data.truncate(n);
    let mr = cpppo_enip::client::route::mr_request(0x0A, &[0x20, 0x02, 0x24, 0x01], &data).unwrap();
    let key = p.client.queue(&mr).unwrap();
    let got = p.drive();
    let [Got::Reply(k, bytes)] = got.as_slice() else {
        panic!("{got:?}")
    };
    assert_eq!(*k, key);
    let reply = MrReply::parse(bytes).unwrap();
    assert_eq!((reply.service, reply.general_status), (0x0A, 0));
    let table = Table::parse(reply.data).unwrap();
    assert_eq!(table.count(), 3);
    assert!(outcome(&plans[0], table.item(0)).0.is_ok());
    assert_eq!(outcome(&plans[1], table.item(1)).1, ints(&[55]));
    assert_eq!(
        outcome(&plans[2], table.item(2)).1,
        Some(vec![Literal::Real(0.0)])
    );
}

#[test]
fn forward_open_connected_requests_forward_close() {
    for (options, size) in [
        (Options::default(), 500),
        (
            Options {
                connection_size: 4000,
                ..Options::simple()
            },
            4000,
        ),
    ] {
        let mut p = Pair::registered(options);
        let triad = cpppo_cip::services::cm::Triad {
            connection_serial: 7,
            vendor_id: 0x1337,
            originator_serial: 99,
        };
        let key = p.client.open_primary(triad, 0x8000_0001).unwrap();
        let got = p.drive();
        let [Got::Opened(k, Ok(id))] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(*k, key);
        assert!(p.server.connections().contains_key(id));
        let conn = p.client.primary().unwrap();
        assert_eq!((conn.o_t_id, conn.size, conn.sequence), (*id, size, 0));

        let got = run(&mut p, &["SCADA[9]=(INT)-9", "SCADA[9]"]);
        assert_eq!(got[1], (ReplyStatus::OK, ints(&[-9])));
        assert_eq!(p.client.primary().unwrap().sequence, 2);
        assert_eq!(p.server.connections()[id].sequence, Some(2));

        let key = p.client.close_primary().unwrap().unwrap();
        assert!(p.client.primary().is_none());
        assert_eq!(p.drive(), vec![Got::Closed(key, ReplyStatus::OK)]);
        assert!(p.server.connections().is_empty());
    }
}

#[test]
fn forward_open_refused_reports_the_status() {
    let mut p = Pair::registered(Options::simple());
    let triad = Default::default();
    let mut params = p.client.primary_params(triad, 1).unwrap();
    params.size = 4100; // over the Large Forward Open limit of 4002 bytes
    let key = p.client.open(params, true).unwrap();
    let got = p.drive();
    let [Got::Opened(k, Err(status))] = got.as_slice() else {
        panic!("{got:?}")
    };
    assert_eq!(*k, key);
    assert_eq!(
        (status.general, &status.extended[..]),
        (0x01, &[0x0109][..])
    );
    assert!(p.client.connections().is_empty());
    assert!(p.client.primary().is_none());
}

#[test]
fn pipelined_replies_match_out_of_order() {
    for connected in [false, true] {
        let mut p = Pair::registered(Options::default());
        if connected {
            p.client.open_primary(Default::default(), 5).unwrap();
            p.drive();
            assert!(p.client.primary().is_some());
        }
        let writes: Vec<String> = (0..20)
            .map(|i| format!("SCADA[{i}]=(INT){}", i * 3))
            .collect();
        let writes: Vec<&str> = writes.iter().map(String::as_str).collect();
        run(&mut p, &writes);
        p.reverse = true;
        let reads: Vec<String> = (0..20).map(|i| format!("SCADA[{i}]")).collect();
        let reads: Vec<&str> = reads.iter().map(String::as_str).collect();
        let got = run(&mut p, &reads);
        for (i, (status, value)) in got.into_iter().enumerate() {
            assert!(status.is_ok());
            assert_eq!(
                value,
                ints(&[i as i128 * 3]),
                "read {i}, connected {connected}"
            );
        }
    }
}

#[test]
fn split_at_every_byte_decodes_the_same() {
    let ops = ["SCADA[1-3]=(INT)1,2,3", "SCADA[0-4]", "TEXT", "SCADA[2000]"];
    let mut whole = Pair::registered(Options::default());
    let expected = run(&mut whole, &ops);
    assert_eq!(expected[1].1, ints(&[0, 1, 2, 3, 0]));
    for chunk in 1..=64 {
        let mut p = Pair::new(Options::default());
        p.chunk = chunk;
        p.client.register().unwrap();
        assert!(matches!(p.drive().as_slice(), [Got::Registered(_)]));
        p.client.open_primary(Default::default(), 9).unwrap();
        assert!(matches!(p.drive().as_slice(), [Got::Opened(_, Ok(_))]));
        assert_eq!(run(&mut p, &ops), expected, "chunk {chunk}");
    }
}

#[test]
fn no_reply_times_out_at_the_deadline() {
    let mut s = Session::new(Options {
        timeout: Duration::from_millis(250),
        ..Options::default()
    })
    .unwrap();
    assert_eq!(s.poll_timeout(), None);
    s.register().unwrap();
    let t0 = Instant::now();
    s.transmitted(t0);
    let deadline = t0 + Duration::from_millis(250);
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(deadline - Duration::from_millis(1));
    assert!(s.poll_event().is_none());
    s.handle_timeout(deadline);
    assert!(matches!(s.poll_event(), Some(Err(ClientError::Timeout(_)))));
}

#[test]
fn a_refused_frame_is_an_error_not_a_panic() {
    let mut p = Pair::registered(Options::default());
    // A reply with an encapsulation error status (the server's answer to a bad session).
    let mut frame = Session::new(Options::default()).unwrap();
    // Malformed: a Read Tag with no path and no element count (the frame around it is whole).
    frame.queue_unconnected(&[0x4C, 0x00]).unwrap();
    let mut bytes = frame.transmit().to_vec();
    bytes[4..8].copy_from_slice(&0xDEADu32.to_le_bytes());
    let Outcome::Reply(reply) = p.server.on_frame(&bytes, local(), p.now) else {
        panic!("no reply")
    };
    p.client.handle_input(&reply.frame, p.now);
    assert!(matches!(
        p.client.poll_event(),
        Some(Err(ClientError::Encapsulation(0x64)))
    ));
    // A frame whose length does not suit its command (RegisterSession of 3 bytes): an error.
    let mut s = Session::new(Options::default()).unwrap();
    s.register().unwrap();
    let mut bad = s.transmit().to_vec();
    bad[2] = 3;
    bad.truncate(27);
    s.handle_input(&bad, Instant::now());
    assert!(matches!(s.poll_event(), Some(Err(ClientError::Codec(_)))));
}

/// The `Connector` drives the same session over any byte stream: here an in-memory duplex
/// pipe served by the simulator's own stream loop.
#[tokio::test]
async fn connector_drives_the_session_over_any_stream() {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let peer: std::net::SocketAddr = "127.0.0.1:44818".parse().unwrap();
    let accepted = cpppo_net::Accepted {
        stream: server,
        peer,
        local: peer,
    };
    tokio::spawn(cpppo_enip::runtime::serve::serve_stream(
        accepted,
        shared(RoutePolicy::Any),
        std::sync::Arc::new(cpppo_enip::server::session::IdGenerator::new(1)),
        std::sync::Arc::new(cpppo_enip::runtime::serve::Options::default()),
        std::sync::Arc::new(cpppo_net::os::OsConnector),
        shutdown,
    ));
    let options = Options {
        connected: true,
        ..Options::default()
    };
    let mut conn = Connector::over(client, peer, options).await.unwrap();
    assert!(conn.is_connected());
    assert_ne!(conn.session(), 0);
    conn.write("SCADA[3]=(INT)33").await.unwrap();
    assert_eq!(conn.read("SCADA[3]").await.unwrap(), vec![Literal::Int(33)]);
    let ops = parse_operations(&["SCADA[3]"; 50]).unwrap();
    let (failures, results) = conn.process(ops, 10, 300).await.unwrap();
    assert_eq!((failures, results.len()), (0, 50));
    assert!(results
        .iter()
        .all(|t| t.value == Some(vec![Literal::Int(33)])));
    conn.close().await.unwrap();
}

/// A request queued again is sent as the codec emits it, with a fresh sender context each
/// time (the session copies the last frame and patches its context): each copy decodes as the
/// same SendRRData, each reply comes back under its own key, and a write between the repeats
/// is seen by the next one.
#[test]
fn a_repeated_request_is_the_same_frame_with_a_new_context() {
    use cpppo_cip::encap::{Body, Command, Repr};
    let mut p = Pair::registered(Options::simple());
    let read = plan("SCADA[7]").request(0).unwrap();
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    for _ in 0..3 {
        let key = p.client.queue(&read).unwrap();
        frames.push((key, p.client.transmit().to_vec()));
        p.client.transmitted(p.now);
    }
    let keys: Vec<u64> = frames.iter().map(|(k, _)| *k).collect();
    assert!(keys.windows(2).all(|k| k[0] != k[1]), "keys {keys:?}");
    for (key, frame) in &frames {
        let repr = Repr::parse_bytes(frame).unwrap();
        assert_eq!(repr.header.command, Command::SendRRData);
        assert_eq!(u64::from_le_bytes(repr.header.context), *key);
        assert_eq!(repr.header.session, p.client.handle());
        let Body::SendData(send) = repr.body else {
            panic!("not SendData: {:?}", repr.body)
        };
        assert_eq!(send.cpf.unconnected_data(), Some(read.as_slice()));
        // Only the context differs from the first copy.
        let (first, this) = (&frames[0].1, frame);
        assert_eq!(first.len(), this.len());
        let differ: Vec<usize> = (0..first.len()).filter(|&i| first[i] != this[i]).collect();
        assert!(differ.iter().all(|i| (12..20).contains(i)), "{differ:?}");
    }
    // Sent again (the frames were only inspected above): each answered under its own key.
    for (_, frame) in &frames {
        p.to_server.extend_from_slice(frame);
    }
    assert_eq!(p.client.outstanding(), 3);
    let got = p.drive();
    let answered: Vec<u64> = got
        .iter()
        .map(|g| match g {
            Got::Reply(k, _) => *k,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(answered, keys);
    // A write, then the same read again: the repeat sees the new value.
    let r = run(&mut p, &["SCADA[7]=(INT)77", "SCADA[7]"]);
    assert_eq!(r[1].1, ints(&[77]));
    assert_eq!(run(&mut p, &["SCADA[7]"])[0].1, ints(&[77]));
}
