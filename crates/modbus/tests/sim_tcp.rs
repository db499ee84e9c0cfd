//! The simulator over real TCP sockets on 127.0.0.1: tokio-modbus as the client for every
//! function code and exception, our own client pipelining, hostile bytes, and the poller.
#![cfg(feature = "runtime")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cpppo_modbus::client::{ClientError, Reply, TcpClient};
use cpppo_modbus::poller::{PollError, Poller, PollerConfig};
use cpppo_modbus::server::Simulator;
use cpppo_modbus::store::Store;
use cpppo_modbus::{RangeSpec, Register, Request};
use cpppo_net::os::OsListener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_modbus::prelude::*;

fn reg(n: u32) -> Register {
    Register::from_number(n).unwrap()
}

async fn start(specs: &[&str], units: Vec<u8>) -> (SocketAddr, Simulator) {
    let specs: Vec<RangeSpec> = specs.iter().map(|s| RangeSpec::parse(s).unwrap()).collect();
    let mut store = Store::from_specs(&specs);
    store.fault(reg(40100), 0x42);
    let sim = Simulator::new(store).units(units);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Arc::new(sim.clone()).serve_tcp(OsListener::from(listener)));
    (addr, sim)
}

const MAP: &[&str] = &[
    "1-16=1",
    "10001-10008=0",
    "30001-30010=300",
    "40001-40100=99",
];

#[tokio::test]
async fn tokio_modbus_every_function_code() {
    let (addr, _sim) = start(MAP, vec![]).await;
    let mut ctx = tcp::connect_slave(addr, Slave(1)).await.unwrap();
    assert_eq!(
        ctx.read_holding_registers(0, 3).await.unwrap(),
        Ok(vec![99, 99, 99])
    );
    assert_eq!(ctx.read_input_registers(9, 1).await.unwrap(), Ok(vec![300]));
    assert_eq!(ctx.read_coils(0, 3).await.unwrap(), Ok(vec![true; 3]));
    assert_eq!(
        ctx.read_discrete_inputs(0, 8).await.unwrap(),
        Ok(vec![false; 8])
    );
    ctx.write_single_coil(1, false).await.unwrap().unwrap();
    ctx.write_multiple_coils(2, &[false, true, false])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ctx.read_coils(0, 5).await.unwrap(),
        Ok(vec![true, false, false, true, false])
    );
    ctx.write_single_register(0, 1234).await.unwrap().unwrap();
    ctx.write_multiple_registers(1, &[5, 6, 7])
        .await
        .unwrap()
        .unwrap();
    ctx.masked_write_register(3, 0x00F2, 0x0025)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ctx.read_write_multiple_registers(0, 4, 10, &[42])
            .await
            .unwrap(),
        Ok(vec![1234, 5, 6, (7 & 0xF2) | (0x25 & !0xF2)])
    );
    assert_eq!(
        ctx.read_holding_registers(10, 1).await.unwrap(),
        Ok(vec![42])
    );
}

#[tokio::test]
async fn tokio_modbus_exceptions() {
    let (addr, _sim) = start(MAP, vec![]).await;
    let mut ctx = tcp::connect_slave(addr, Slave(1)).await.unwrap();
    // Outside the map: 02.
    assert_eq!(
        ctx.read_holding_registers(100, 1).await.unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    assert_eq!(
        ctx.read_coils(10, 10).await.unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    assert_eq!(
        ctx.write_single_register(5000, 1).await.unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    // Bad value: 03 (tokio-modbus will not send a bad quantity, so use our client).
    let mut raw = TcpClient::connect(&addr.to_string(), Duration::from_secs(5))
        .await
        .unwrap();
    for data in [&[0u8, 0, 0, 200][..], &[0, 0, 0, 0], &[0, 0]] {
        let bad = Request::Other { function: 3, data };
        let e = raw.call(1, &bad).await.unwrap_err();
        assert!(
            matches!(
                e,
                ClientError::Exception {
                    function: 3,
                    code: 3
                }
            ),
            "{e}"
        );
    }
    let coil = Request::Other {
        function: 5,
        data: &[0, 0, 0x12, 0x34],
    };
    let e = raw.call(1, &coil).await.unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Exception {
                function: 5,
                code: 3
            }
        ),
        "{e}"
    );
    // Unknown function: 01.
    let raw = tokio_modbus::Request::Custom(0x41, vec![1, 2, 3].into());
    assert!(matches!(
        ctx.call(raw).await.unwrap(),
        Err(ExceptionCode::IllegalFunction)
    ));
    // A non-standard exception configured on 40100.
    assert_eq!(
        ctx.read_holding_registers(90, 10).await.unwrap(),
        Err(ExceptionCode::Custom(0x42))
    );
    // The connection is still good.
    assert_eq!(
        ctx.read_holding_registers(0, 1).await.unwrap(),
        Ok(vec![99])
    );
}

#[tokio::test]
async fn only_configured_units_answer() {
    let (addr, _sim) = start(MAP, vec![1, 7]).await;
    let mut ctx = tcp::connect_slave(addr, Slave(7)).await.unwrap();
    assert_eq!(
        ctx.read_holding_registers(0, 1).await.unwrap(),
        Ok(vec![99])
    );
    ctx.set_slave(Slave(2));
    assert_eq!(
        ctx.read_holding_registers(0, 1).await.unwrap(),
        Err(ExceptionCode::GatewayTargetDevice)
    );
}

#[tokio::test]
async fn pipelined_requests_all_answered_by_transaction() {
    let (addr, _sim) = start(MAP, vec![]).await;
    let mut c = TcpClient::connect(&addr.to_string(), Duration::from_secs(5))
        .await
        .unwrap();
    let mut ids = std::collections::HashMap::new();
    for i in 0..500u16 {
        let req = Request::ReadHoldingRegisters {
            address: i % 50,
            quantity: 1 + i % 50,
        };
        ids.insert(c.send(1, &req).unwrap(), 1 + i % 50);
    }
    assert_eq!(c.in_flight(), 500);
    for _ in 0..500 {
        let (id, pdu) = c.recv().await.unwrap();
        let n = ids.remove(&id).expect("known transaction");
        assert_eq!(pdu[1] as u16, 2 * n);
    }
    assert!(ids.is_empty());
}

#[tokio::test]
async fn hostile_bytes_close_only_that_connection() {
    let (addr, _sim) = start(MAP, vec![]).await;
    let mut good = TcpClient::connect(&addr.to_string(), Duration::from_secs(5))
        .await
        .unwrap();
    let read = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 2,
    };
    // A corrupt header (length 0) is dropped with the connection.
    let mut bad = TcpStream::connect(addr).await.unwrap();
    bad.write_all(&[0, 1, 0, 0, 0, 0, 1, 3, 0, 0])
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), bad.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
    // Pseudo-random garbage on many connections never stops the server.
    let mut seed = 0x1234_5678u32;
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let junk: Vec<u8> = (0..300)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        let _ = s.write_all(&junk).await;
    }
    // A half-sent frame on another connection does not block anyone.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(&[0, 1, 0, 0, 0, 6]).await.unwrap();
    assert_eq!(
        good.call(1, &read).await.unwrap(),
        Reply::Words(vec![99, 99])
    );
}

#[tokio::test]
async fn poller_polls_reads_writes_and_reconnects() {
    let (addr, sim) = start(MAP, vec![]).await;
    let mut config = PollerConfig::new(addr.to_string());
    config.rate = Duration::from_millis(50);
    let poller = Poller::spawn(config);
    assert_eq!(poller.read(reg(40001)), None, "read never blocks");
    for n in [40001, 40002, 40003, 40010, 1, 2, 30001] {
        poller.poll(reg(n), None);
    }
    assert_eq!(
        poller.polling().len(),
        4,
        "merged: 40001-3, 40010, 1-2, 30001"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while poller.read(reg(40010)).is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(poller.read(reg(40010)), Some(99));
    assert_eq!(poller.read(reg(1)), Some(1));
    assert_eq!(poller.read(reg(30001)), Some(300));
    poller.write(reg(40002), &[7, 8]).await.unwrap();
    poller.write(reg(2), &[0]).await.unwrap();
    assert_eq!(sim.store().lock().unwrap().get(reg(40003)), Some(8));
    let err = poller.write(reg(40500), &[1]).await.unwrap_err();
    assert!(err.to_string().contains("0x02"), "{err}");
    assert!(poller.write(reg(30001), &[1]).await.is_err(), "read-only");
    while poller.read(reg(40003)) != Some(8) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(poller.read(reg(2)), Some(0));
    let (one, five, fifteen) = poller.load();
    assert!(one > 0.0 && one <= 1.0 && five > 0.0 && fifteen > 0.0);
    assert!(poller.online());
    // A register outside the map fails its range only.
    poller.poll(reg(40500), None);
    while poller.failing().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(poller.failing(), vec![(reg(40500), 1)]);
    assert_eq!(poller.read(reg(40001)), Some(99));
}

/// A PLC on `listener` serving one connection at a time; aborting the task closes both.
fn plc(listener: TcpListener, value: u16) -> tokio::task::JoinHandle<()> {
    let store = Store::from_specs(&[RangeSpec::parse(&format!("40001={value}")).unwrap()]);
    let sim = Simulator::new(store);
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let _ = sim.serve_connection(sock).await;
        }
    })
}

#[tokio::test]
async fn poller_goes_offline_and_comes_back() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = plc(listener, 5);
    let mut config = PollerConfig::new(addr.to_string());
    config.rate = Duration::from_millis(20);
    config.timeout = Duration::from_millis(500);
    let poller = Poller::spawn(config);
    poller.poll(reg(40001), None);
    let wait = |want: Option<u16>| {
        let p = &poller;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while p.read(reg(40001)) != want && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            p.read(reg(40001))
        }
    };
    assert_eq!(wait(Some(5)).await, Some(5));
    // The PLC goes away: reads turn to None, writes fail at once.
    server.abort();
    let _ = server.await;
    assert_eq!(wait(None).await, None);
    assert!(!poller.online());
    assert!(matches!(
        poller.write(reg(40001), &[1]).await,
        Err(PollError::Offline(_))
    ));
    // It comes back (on the same port) with another value: the poller reconnects. The port
    // may take a moment to be free again (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                panic!("cannot rebind {addr}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let _server = plc(listener, 6);
    assert_eq!(wait(Some(6)).await, Some(6));
    poller.write(reg(40001), &[9]).await.unwrap();
    assert_eq!(wait(Some(9)).await, Some(9));
}

#[tokio::test]
async fn responses_are_delayed_as_configured() {
    let store = Store::from_specs(&[RangeSpec::parse("40001=1").unwrap()]);
    let sim =
        Simulator::new(store).delay_between(Duration::from_millis(150), Duration::from_millis(250));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Arc::new(sim).serve_tcp(OsListener::from(listener)));
    let mut c = TcpClient::connect(&addr.to_string(), Duration::from_secs(5))
        .await
        .unwrap();
    let read = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 1,
    };
    for _ in 0..3 {
        let t = std::time::Instant::now();
        assert_eq!(c.call(1, &read).await.unwrap(), Reply::Words(vec![1]));
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
    }
}

/// `TcpClient::call_with`: the reply given where it lies, checked as `call` checks it; an
/// exception and a count other than asked are errors, and the connection goes on after them.
#[tokio::test]
async fn call_with_looks_at_the_reply_in_place_and_checks_it() {
    let (addr, _sim) = start(MAP, vec![]).await;
    let mut c = TcpClient::connect(&addr.to_string(), Duration::from_secs(5))
        .await
        .unwrap();
    let write = Request::WriteSingleRegister {
        address: 1,
        value: 4321,
    };
    assert_eq!(c.call(1, &write).await.unwrap(), Reply::Written);
    let read = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 3,
    };
    for _ in 0..3 {
        let words = c
            .call_with(1, &read, |r| match r {
                cpppo_modbus::Response::ReadHoldingRegisters(w) => w.iter().collect::<Vec<_>>(),
                other => panic!("unexpected {other:?}"),
            })
            .await
            .unwrap();
        assert_eq!(words[1], 4321);
        assert_eq!(words.len(), 3);
    }
    // Past the map: the exception, not `look`.
    let past = Request::ReadHoldingRegisters {
        address: 5000,
        quantity: 1,
    };
    let e = c.call_with(1, &past, |_| unreachable!()).await.unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Exception {
                function: 3,
                code: 2
            }
        ),
        "{e}"
    );
    // A reply of another count than asked (sent raw as a 2-register read, checked as 1).
    let one = Request::ReadHoldingRegisters {
        address: 0,
        quantity: 1,
    };
    let two = Request::Other {
        function: 3,
        data: &[0, 0, 0, 2],
    };
    let id = c.send(1, &two).unwrap();
    let (got, pdu) = c.recv().await.unwrap();
    assert_eq!(got, id);
    let e = cpppo_modbus::client::checked(&one, &pdu).unwrap_err();
    assert!(matches!(e, ClientError::Protocol(_)), "{e}");
    // And the connection still answers.
    let n = c.call_with(1, &one, |r| r.function()).await.unwrap();
    assert_eq!(n, 3);
}

/// `TcpSession`s driven from one thread by `cpppo_net::drive::Driver`: 10 connections each
/// write their own register and read it back 20 times, lock-step; a connection to a peer that
/// never answers times out (its deadline, then `ClientError::Timeout`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driven_sessions_lock_step_and_time_out() {
    use cpppo_modbus::client::{checked, TcpSession};
    use cpppo_modbus::Response;
    use cpppo_net::drive::{Driver, Ready};
    let (addr, _sim) = start(MAP, vec![]).await;
    let run = move || {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut driver = Driver::new().unwrap();
        for i in 0..10u16 {
            let mut s = TcpSession::new(Duration::from_secs(5));
            let write = Request::WriteSingleRegister {
                address: 20 + i,
                value: 1000 + i,
            };
            s.send(1, &write).unwrap();
            driver
                .add(std::net::TcpStream::connect(addr).unwrap(), s)
                .unwrap();
        }
        let mut quiet = TcpSession::new(Duration::from_millis(200));
        quiet
            .send(
                1,
                &Request::ReadCoils {
                    address: 0,
                    quantity: 1,
                },
            )
            .unwrap();
        let q = driver
            .add(
                std::net::TcpStream::connect(silent.local_addr().unwrap()).unwrap(),
                quiet,
            )
            .unwrap();
        let (_held, _) = silent.accept().unwrap();
        let mut reads = [0u32; 10];
        let mut timed_out = false;
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while (reads.iter().any(|&n| n < 20) || !timed_out) && std::time::Instant::now() < until {
            driver
                .turn(Duration::from_millis(50), |id, s, ready| {
                    if id == q {
                        assert!(matches!(ready, Ready::Timeout), "{ready:?}");
                        let got = s.poll_reply().map(|r| r.map(|_| ()));
                        assert!(matches!(got, Some(Err(ClientError::Timeout))), "{got:?}");
                        timed_out = true;
                        return;
                    }
                    assert!(matches!(ready, Ready::Input), "{ready:?}");
                    let read = Request::ReadHoldingRegisters {
                        address: 20 + id as u16,
                        quantity: 1,
                    };
                    while let Some(reply) = s.poll_reply() {
                        let (_, pdu) = reply.unwrap();
                        match pdu.first() {
                            Some(0x06) => {}
                            _ => match checked(&read, pdu).unwrap() {
                                Response::ReadHoldingRegisters(w) => {
                                    assert_eq!(w.iter().collect::<Vec<_>>(), [1000 + id as u16]);
                                    reads[id] += 1;
                                }
                                other => panic!("{other:?}"),
                            },
                        }
                        if reads[id] < 20 {
                            s.send(1, &read).unwrap();
                        }
                    }
                })
                .unwrap();
        }
        (reads, timed_out)
    };
    let (reads, timed_out) = tokio::task::spawn_blocking(run).await.unwrap();
    assert_eq!(reads, [20; 10]);
    assert!(timed_out);
}
