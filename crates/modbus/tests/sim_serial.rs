//! The simulator on a pseudo-terminal (RTU and ASCII): frames through line noise, glued or
//! after a silence; foreign units and broadcasts get no answer.
#![cfg(feature = "runtime")]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_modbus::pdu::Direction;
use cpppo_modbus::serial::{LineConfig, SerialPort};
use cpppo_modbus::server::{Framing, Simulator};
use cpppo_modbus::store::Store;
use cpppo_modbus::{ascii, rtu, RangeSpec, Request};

/// A pseudo-terminal: (master, slave kept open, slave path).
fn pty() -> (File, File, PathBuf) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into the provided ints; the null pointers ask
    // for no name buffer and default settings.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors were just opened for us and are owned by nobody else.
    let (master, slave) = unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) };
    let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
    (master, slave, path)
}

/// Read whatever arrives until the line has been quiet for 100 ms (at most 2 s).
fn read_reply(master: &mut File) -> Vec<u8> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, 100) };
        if n <= 0 {
            if got.is_empty() {
                continue;
            }
            break;
        }
        let mut buf = [0u8; 512];
        let n = master.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn start(framing: Framing) -> (File, File) {
    let (master, slave, path) = pty();
    let store = Store::from_specs(&[RangeSpec::parse("40001-40010=5").unwrap()]);
    let sim = Arc::new(Simulator::new(store).units(vec![1, 2]));
    let port = SerialPort::open(&path, &LineConfig::default()).unwrap();
    tokio::spawn(sim.serve_serial(port, framing, 19_200));
    (master, slave)
}

fn frame(framing: Framing, unit: u8, req: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    match framing {
        Framing::Rtu => rtu::encode(&mut out, unit, |o| req.emit(o)),
        Framing::Ascii => ascii::encode(&mut out, unit, |o| req.emit(o)),
    }
    out
}

/// The PDU of the one reply in `bytes`.
fn reply_pdu(framing: Framing, bytes: &[u8]) -> Option<(u8, Vec<u8>)> {
    match framing {
        Framing::Rtu => {
            let mut d = rtu::Decoder::new(Direction::Response);
            d.push(bytes);
            d.silence();
            d.next_frame().map(|a| (a.unit, a.pdu.to_vec()))
        }
        Framing::Ascii => {
            let mut d = ascii::Decoder::new();
            d.push(bytes);
            d.next_frame().map(|a| (a.unit, a.pdu.to_vec()))
        }
    }
}

async fn noise_then_requests(framing: Framing, noise: &[&[u8]]) {
    let (mut master, _slave) = start(framing);
    let read = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 2,
    };
    for (i, junk) in noise.iter().enumerate() {
        master.write_all(junk).unwrap();
        if i % 2 == 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        master.write_all(&frame(framing, 1, &read)).unwrap();
        let got = tokio::task::block_in_place(|| read_reply(&mut master));
        let reply = reply_pdu(framing, &got);
        assert_eq!(
            reply,
            Some((1, vec![3, 4, 0, 5, 0, 5])),
            "after noise {junk:02x?}"
        );
    }
    // Another unit's request: silence. A broadcast write: silence, but done.
    master.write_all(&frame(framing, 9, &read)).unwrap();
    assert!(tokio::task::block_in_place(|| read_reply(&mut master)).is_empty());
    let write = Request::WriteSingleRegister {
        address: 1,
        value: 77,
    };
    master.write_all(&frame(framing, 0, &write)).unwrap();
    assert!(tokio::task::block_in_place(|| read_reply(&mut master)).is_empty());
    master.write_all(&frame(framing, 2, &read)).unwrap();
    let got = tokio::task::block_in_place(|| read_reply(&mut master));
    assert_eq!(reply_pdu(framing, &got), Some((2, vec![3, 4, 0, 5, 0, 77])));
    // Unknown function: exception 01.
    let other = Request::Other {
        function: 0x2B,
        data: &[0x0E, 1, 0],
    };
    master.write_all(&frame(framing, 1, &other)).unwrap();
    let got = tokio::task::block_in_place(|| read_reply(&mut master));
    assert_eq!(reply_pdu(framing, &got), Some((1, vec![0xAB, 1])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtu_through_noise() {
    let noise: &[&[u8]] = &[
        b"\x00",
        b"\xff\xfe\x10\x10\x01",
        b"\x01\x03\x00",
        &[0x13, 0x37, 0x13, 0x37, 0x42],
        &[0x01, 0x10, 0x00, 0x00, 0x00, 0x7B, 0xF6],
    ];
    noise_then_requests(Framing::Rtu, noise).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascii_through_noise() {
    let noise: &[&[u8]] = &[
        b"junk",
        b":0103",
        b"\r\n",
        b":ZZ\r\n",
        b"::",
        b":01030000000AF1\r\n",
    ];
    noise_then_requests(Framing::Ascii, noise).await;
}
