//! Many lock-step EtherNet/IP clients in one process (used by `bench/latency/run.sh`): CONNS
//! sessions, each with one Read Tag in flight, on one thread, for SECS seconds; prints the
//! aggregate reads/s (and, given the server's PID, its CPU µs per request from
//! /proc/PID/stat).
//!
//! ```text
//! lockstep_clients ADDR CONNS SECS [PID]
//! ```
//!
//! The sessions ([`Session`], sans-IO) are driven by one [`Driver`] (epoll, one `read` and one
//! `write` per reply); with `LOCKSTEP_TOKIO=1`, each is a [`Connector`] with a [`Pipeline`]
//! in a task of one current-thread tokio runtime instead.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cpppo_cip::mr::MrReply;
use cpppo_enip::client::operation::Operation;
use cpppo_enip::client::plan::{Absorbed, Accumulator, Plan};
use cpppo_enip::client::session::{Event, Session};
use cpppo_enip::client::{Connector, Options, Pipeline};
use cpppo_net::drive::{Driver, Ready};

#[path = "../../../bench/latency/lockstep_driver.rs"]
mod driver;

/// One connection reading `SCADA[1]` over and over (the tokio path).
struct ReadTag(Pipeline<'static, Connector>);

impl driver::LockStep for ReadTag {
    const WHAT: (&'static str, &'static str) = ("Read Tag", "reads");

    async fn connect(addr: &str) -> Result<Self, String> {
        let op = Operation::parse("SCADA[1]").map_err(|e| e.to_string())?;
        let conn = Connector::connect(addr, Options::default())
            .await
            .map_err(|e| e.to_string())?;
        // The one read, planned and encoded once, taken again and again; values only.
        let reads = Pipeline::cycling(conn, vec![op], None, 1, 0).replies(false);
        Ok(ReadTag(reads))
    }

    async fn once(&mut self) -> Result<(), String> {
        match self.0.next_value().await {
            Some(Ok((_, Some(_)))) => Ok(()),
            Some(Ok((_, None))) => Err("read failed".into()),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the pipeline ended".into()),
        }
    }
}

/// `conns` sessions, connected, their registrations queued, in one driver.
fn connect(addr: &str, conns: usize) -> Result<Driver<Session>, String> {
    let mut driver = Driver::new().map_err(|e| e.to_string())?;
    for _ in 0..conns {
        let stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut session = Session::new(Options::default()).map_err(|e| e.to_string())?;
        session.register().map_err(|e| e.to_string())?;
        driver.add(stream, session).map_err(|e| e.to_string())?;
    }
    Ok(driver)
}

/// Every session's replies, until `until`: answers the registration and each read with the
/// next read; the reads answered, or the first failure.
fn polled(mut driver: Driver<Session>, until: Instant) -> Result<u64, String> {
    let conns = driver.len();
    let op = Operation::parse("SCADA[1]").map_err(|e| e.to_string())?;
    let plan = Plan::new(&op, false, false).map_err(|e| e.to_string())?;
    let request = plan.request(0).map_err(|e| e.to_string())?;
    let (mut done, mut failed) = (0u64, None);
    let mut acc = Accumulator::default();
    while !driver.is_empty() && failed.is_none() {
        let open = Instant::now() < until;
        driver
            .turn(Duration::from_millis(100), |_, session, ready| {
                if let Ready::Closed(e) = ready {
                    failed.get_or_insert(format!("connection closed: {e:?}"));
                    return;
                }
                while let Some(event) = session.poll_event() {
                    let answered = match event {
                        Ok(Event::Registered(_)) => Ok(false),
                        Ok(Event::Reply { message, .. }) => read_value(&plan, &mut acc, message),
                        Ok(other) => Err(format!("unexpected {other:?}")),
                        Err(e) => Err(e.to_string()),
                    };
                    match answered {
                        Ok(read) => done += u64::from(read),
                        Err(e) => {
                            failed.get_or_insert(e);
                            return;
                        }
                    }
                    if open {
                        if let Err(e) = session.queue(&request) {
                            failed.get_or_insert(e.to_string());
                        }
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        if !open && (0..conns).all(|id| driver.get_mut(id).is_none_or(|s| s.outstanding() == 0)) {
            break;
        }
    }
    failed.map_or(Ok(done), Err)
}

/// Whether a Read Tag reply carries a value (an error if it does not).
fn read_value(plan: &Plan, acc: &mut Accumulator, message: &[u8]) -> Result<bool, String> {
    let reply = MrReply::parse(message).map_err(|e| e.to_string())?;
    acc.data.clear();
    match plan.absorb(acc, &reply) {
        Absorbed::Done(_, Some(_)) => Ok(true),
        Absorbed::Done(status, None) => Err(format!("read failed: {status}")),
        Absorbed::More(_) => Err("a fragmented reply".into()),
    }
}

fn main() -> ExitCode {
    if std::env::var_os("LOCKSTEP_TOKIO").is_some() {
        return driver::main::<ReadTag>("lockstep_clients");
    }
    driver::main_polled::<ReadTag, _>("lockstep_clients", connect, polled)
}
