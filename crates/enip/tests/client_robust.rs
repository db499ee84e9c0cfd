//! The client against a misbehaving peer (an in-process fake device on 127.0.0.1): malformed
//! frames, garbage replies and closed connections give errors or failed statuses — never a
//! panic, never a hang.

use std::time::Duration;

use cpppo_cip::encap::{Body, Command, Header, Packet, Register, Repr, SendData, HEADER_LEN};
use cpppo_cip::mr::MrReply;
use cpppo_cip::services::TagData;
use cpppo_cip::{DataType, TagType};
use cpppo_enip::client::operation::parse_operations;
use cpppo_enip::client::{ClientError, Connector, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake device answers to the `n`th frame (`None`: close the connection).
type Script = fn(n: usize, request: &[u8]) -> Option<Vec<u8>>;

/// A reply frame (session 1, the request's context echoed) emitted by the codec.
fn frame(command: Command, request: &[u8], body: Body<'_>) -> Vec<u8> {
    let context = Repr::parse_bytes(request).map_or([0; 8], |r| r.header.context);
    let header = Header {
        command,
        session: 1,
        status: 0,
        context,
        options: 0,
    };
    Repr { header, body }.to_vec().expect("a reply frame")
}

/// A reply header whose length promises `len` bytes that never come (deliberately broken).
fn header(command: Command, len: u16, request: &[u8]) -> Vec<u8> {
    let mut f = frame(command, request, Body::Empty);
    f[2..4].copy_from_slice(&len.to_le_bytes());
    f
}

fn registered(request: &[u8]) -> Vec<u8> {
    let reg = Register {
        protocol_version: 1,
        options: 0,
    };
    frame(Command::RegisterSession, request, Body::Register(reg))
}

/// A SendRRData reply carrying the Message Router reply bytes `mr` (as given, malformed or not).
fn rr_reply(request: &[u8], mr: &[u8]) -> Vec<u8> {
    let body = Body::SendData(SendData::unconnected(mr));
    frame(Command::SendRRData, request, body)
}

/// The Message Router reply bytes of `reply`.
fn mr(reply: MrReply<'_>) -> Vec<u8> {
    let mut out = vec![0u8; reply.buffer_len()];
    let n = reply.emit(&mut out).expect("a reply");
    out.truncate(n);
    out
}

/// A successful Read Tag reply: INT `value`.
fn read_int(value: i16) -> Vec<u8> {
    let value = value.to_le_bytes();
    let data = TagData {
        data_type: TagType::Atomic(DataType::Int),
        data: &value,
    };
    let reply = MrReply::success(0x4C, &[]);
    let mut out = vec![0u8; reply.buffer_len() + data.buffer_len()];
    let n = reply.emit_with(&data, &mut out).expect("a reply");
    out.truncate(n);
    out
}

async fn serve(mut stream: TcpStream, script: Script) {
    let mut n = 0;
    loop {
        let mut head = [0u8; HEADER_LEN];
        if stream.read_exact(&mut head).await.is_err() {
            return;
        }
        let len = usize::from(Packet::new_unchecked(&head[..]).length());
        let mut body = vec![0u8; len];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let mut frame = head.to_vec();
        frame.extend_from_slice(&body);
        let Some(reply) = script(n, &frame) else {
            return;
        };
        if stream.write_all(&reply).await.is_err() {
            return;
        }
        n += 1;
    }
}

/// Starts a fake device running `script`; its address.
async fn fake(script: Script) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, script));
        }
    });
    addr.to_string()
}

fn quick() -> Options {
    Options {
        timeout: Duration::from_millis(500),
        ..Options::default()
    }
}

#[tokio::test]
async fn a_refused_or_silent_registration_is_an_error() {
    let closes = fake(|_, _| None).await;
    assert!(matches!(
        Connector::connect(&closes, quick()).await,
        Err(ClientError::Closed)
    ));
    let refuses = fake(|_, req| {
        let frame = registered(req);
        let reply = Repr::parse_bytes(&frame).expect("a frame");
        let header = reply.header.reply(0x69); // status: unsupported protocol
        Some(Repr { header, ..reply }.to_vec().expect("a frame"))
    })
    .await;
    assert!(matches!(
        Connector::connect(&refuses, quick()).await,
        Err(ClientError::Encapsulation(0x69))
    ));
    // A header promising more than ever comes: the timeout ends the wait.
    let short = fake(|_, req| Some(header(Command::RegisterSession, 400, req))).await;
    assert!(matches!(
        Connector::connect(&short, quick()).await,
        Err(ClientError::Timeout(_))
    ));
}

#[tokio::test]
async fn garbage_replies_are_errors_not_panics() {
    // Every byte pattern the script can think of, one connection each.
    let scripts: [Script; 6] = [
        |n, req| {
            Some(if n == 0 {
                registered(req)
            } else {
                vec![0xFF; 40]
            })
        },
        |n, req| {
            Some(if n == 0 {
                registered(req)
            } else {
                rr_reply(req, &[])
            })
        },
        |n, req| {
            Some(if n == 0 {
                registered(req)
            } else {
                rr_reply(req, &[0x4C, 0, 0, 0]) // no reply bit: malformed on purpose
            })
        },
        |n, req| {
            Some(if n == 0 {
                registered(req)
            } else {
                rr_reply(req, &[0xCC, 0, 0, 9, 1]) // extended status cut short, on purpose
            })
        },
        |n, req| {
            Some(if n == 0 {
                registered(req)
            } else {
                rr_reply(req, &mr(MrReply::success(0x4C, &[0xC3])))
            })
        },
        |n, req| {
            if n == 0 {
                return Some(registered(req));
            }
            let mut f = rr_reply(req, &read_int(1));
            f[2] = 3; // encapsulation length shorter than its CPF claims
            f.truncate(27);
            Some(f)
        },
    ];
    for (i, script) in scripts.into_iter().enumerate() {
        let addr = fake(script).await;
        let mut conn = Connector::connect(&addr, quick()).await.expect("registers");
        let got = tokio::time::timeout(Duration::from_secs(5), conn.read("SCADA[1]")).await;
        match got {
            Ok(Err(_)) => {}
            other => panic!("script {i}: expected an error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_bad_multiple_service_packet_fails_its_operations() {
    // Replies to any MSP with a table whose offsets point past the end (malformed on purpose).
    let addr = fake(|n, req| {
        if n == 0 {
            return Some(registered(req));
        }
        Some(rr_reply(req, &[0x8A, 0, 0, 0, 2, 0, 6, 0, 0xFF, 0x7F]))
    })
    .await;
    let mut conn = Connector::connect(&addr, quick()).await.expect("registers");
    let ops = parse_operations(&["A", "B", "C"]).expect("operations");
    let (failures, results) = conn.process(ops, 1, 500).await.expect("completes");
    assert_eq!(failures, 3);
    assert!(results.iter().all(|t| !t.status.is_ok()));
}

#[tokio::test]
async fn a_peer_that_closes_mid_pipeline_ends_it_with_an_error() {
    let addr = fake(|n, req| match n {
        0 => Some(registered(req)),
        1 | 2 => Some(rr_reply(req, &read_int(7))),
        _ => None,
    })
    .await;
    let mut conn = Connector::connect(&addr, quick()).await.expect("registers");
    let ops = parse_operations(&["A"; 10]).expect("operations");
    let mut pipe = conn.pipeline(ops, 1, 0);
    let mut ok = 0;
    let mut failed = None;
    while let Some(t) = pipe.next().await {
        match t {
            Ok(_) => ok += 1,
            Err(e) => failed = Some(e),
        }
    }
    assert_eq!(ok, 2);
    assert!(matches!(failed, Some(ClientError::Closed)), "{failed:?}");
}
