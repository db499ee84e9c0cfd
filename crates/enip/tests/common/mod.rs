//! Helpers shared by the simulator's integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use cpppo_cip::encap::{Body, Command, Header, Register, Repr, SendData};
use cpppo_cip::{EPath, Padding, Request, Segment, Service};
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::server::session::{Answer, Outcome, RoutePolicy, Session, Shared};

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cip/tests/data/vectors/cpppo-5.2.5")
}

pub struct Vector {
    pub request: Vec<u8>,
    pub response: Vec<u8>,
}

pub fn vector(name: &str) -> Vector {
    let path = vectors_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    Vector {
        request: hex(v["request_hex"].as_str().unwrap()),
        response: hex(v["response_hex"].as_str().unwrap()),
    }
}

/// The device the vectors were captured from.
pub fn shared(route: RoutePolicy) -> Arc<Shared> {
    let mut d = Device::new(&DeviceConfig::default());
    for spec in [
        "SCADA=INT[1000]",
        "TEXT=SSTRING[100]",
        "FLOAT=REAL",
        "FLT@22/1/3=REAL",
    ] {
        d.add_tag(&TagSpec::parse(spec).unwrap()).unwrap();
    }
    Arc::new(Shared {
        device: Arc::new(d),
        route,
        routes: Vec::new(),
        io: None,
    })
}

/// The address cpppo reported in the captured ListIdentity replies.
pub fn local() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 44818))
}

/// A session with a registered handle.
pub struct Client {
    pub session: Session,
    pub handle: u32,
    pub now: Instant,
}

impl Client {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self::from_session(Session::new(shared))
    }

    /// Register `session` (a new one).
    pub fn from_session(mut session: Session) -> Self {
        let now = Instant::now();
        let reg = Register {
            protocol_version: 1,
            options: 0,
        };
        let reg = frame(Command::RegisterSession, Body::Register(reg));
        let Outcome::Reply(Answer { frame: r, .. }) = session.on_frame(&reg, local(), now) else {
            panic!("no RegisterSession reply")
        };
        let handle = Repr::parse_bytes(&r).unwrap().header.session;
        assert_ne!(handle, 0);
        Client {
            session,
            handle,
            now,
        }
    }

    /// Send a frame with our session handle patched in; the reply with its handle zeroed.
    pub fn send(&mut self, frame: &[u8]) -> Outcome {
        let mut f = frame.to_vec();
        if f.len() >= 8 {
            f[4..8].copy_from_slice(&self.handle.to_le_bytes());
        }
        match self.session.on_frame(&f, local(), self.now) {
            Outcome::Reply(mut r) => {
                if r.frame.len() >= 8 {
                    r.frame[4..8].fill(0);
                }
                Outcome::Reply(r)
            }
            other => other,
        }
    }

    pub fn reply(&mut self, frame: &[u8]) -> Vec<u8> {
        match self.send(frame) {
            Outcome::Reply(r) => r.frame,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    /// The CIP reply inside a SendRRData reply.
    pub fn cip(&mut self, frame: &[u8]) -> Vec<u8> {
        let r = self.reply(frame);
        let repr = Repr::parse_bytes(&r).unwrap();
        assert_eq!(
            repr.header.status,
            0,
            "encapsulation status: {}",
            to_hex(&r)
        );
        let Body::SendData(data) = repr.body else {
            panic!("not a SendRRData reply: {}", to_hex(&r))
        };
        data.cpf.unconnected_data().unwrap().to_vec()
    }
}

/// Zero the session handle of a captured frame.
pub fn masked(frame: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    if f.len() >= 8 {
        f[4..8].fill(0);
    }
    f
}

/// A request frame (session 0, context 0) emitted by the codec.
pub fn frame(command: Command, body: Body<'_>) -> Vec<u8> {
    let header = Header {
        command,
        session: 0,
        status: 0,
        context: [0; 8],
        options: 0,
    };
    Repr { header, body }.to_vec().unwrap()
}

/// A SendRRData frame carrying `mr` (a Message Router request) without Unconnected Send.
pub fn rr(mr: &[u8]) -> Vec<u8> {
    frame(
        Command::SendRRData,
        Body::SendData(SendData::unconnected(mr)),
    )
}

/// A Message Router request to the Connection Manager (`@6/1`), emitted by the codec.
pub fn to_connection_manager(service: Service<'_>) -> Vec<u8> {
    let segments = [Segment::class(6), Segment::instance(1)];
    let req = Request {
        path: EPath::from_segments(&segments, Padding::Padded),
        service,
    };
    let mut out = vec![0; req.buffer_len()];
    let n = req.emit(&mut out).unwrap();
    out.truncate(n);
    out
}
