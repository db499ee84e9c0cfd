//! The class 1 scanner's whole life, sans-IO: TCP session, Forward Open, the cyclic exchange,
//! reconnection with back-off, Forward Close.
//!
//! The runtime moves bytes and time (as with the client [`Session`]):
//!
//! - TCP: connect when [`Scanner::wants_connect`], drop the stream when
//!   [`Scanner::wants_tcp`] turns false; [`Scanner::transmit`] / [`Scanner::transmitted`]
//!   for the bytes to send, [`Scanner::handle_input`] for the bytes received,
//!   [`Scanner::disconnected`] when the stream fails.
//! - UDP: [`Scanner::poll_datagram`] for the next O->T packet (to the adapter's I/O port),
//!   [`Scanner::handle_datagram`] for every datagram received.
//! - time: [`Scanner::poll_timeout`] / [`Scanner::handle_timeout`].
//! - [`Scanner::poll_event`]: what happened, for the user.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use cpppo_cip::cpf::Item;
use cpppo_cip::io::IO_PORT;
use cpppo_cip::list::Sockaddr;
use cpppo_cip::mr::MrReply;
use cpppo_cip::services::cm::{ext, Triad};

use super::error::{ClientError, ReplyStatus};
use super::io::{IoParams, Opened};
use super::io_cyclic::{Cyclic, CyclicEvent, Stats};
use super::session::{Event, Session};
use super::Options;

/// The first back-off after a failure; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The vendor id in our connection triads.
const VENDOR: u16 = 0x1337;

/// What happened to a scanner.
#[derive(Clone, Debug, PartialEq)]
pub enum ScanEvent {
    /// The connection is open; T->O comes from `multicast` when it is a multicast group.
    Opened {
        /// Ids and intervals.
        opened: Opened,
        /// The multicast group T->O is sent to (join it), if multicast.
        multicast: Option<SocketAddrV4>,
    },
    /// The adapter refused the Forward Open; `retry` false if retrying cannot help (sizes,
    /// RPI, paths, keys): the scanner stops.
    Refused {
        /// The refusal.
        status: ReplyStatus,
        /// Whether the scanner tries again after a back-off.
        retry: bool,
    },
    /// The input data changed.
    Input(Vec<u8>),
    /// T->O packets missed.
    Missed {
        /// How many.
        count: u32,
    },
    /// A T->O packet came late.
    Late {
        /// How late.
        by: Duration,
    },
    /// No T->O within the connection timeout.
    TimedOut,
    /// Something failed; the scanner tries again after `after`.
    Retrying {
        /// What failed.
        why: String,
        /// The back-off.
        after: Duration,
    },
    /// Forward Close answered (or could not be sent); the scanner has stopped.
    Closed(ReplyStatus),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connect,
    Register,
    Open { key: u64 },
    Running,
    Closing { key: u64 },
    Backoff { until: Instant },
    Stopped,
}

/// A class 1 scanner: one connection to one adapter, kept open until stopped.
#[derive(Debug)]
pub struct Scanner {
    params: IoParams,
    options: Options,
    session: Option<Session>,
    phase: Phase,
    cyclic: Option<Cyclic>,
    triad: Triad,
    seed: u32,
    output: Vec<u8>,
    run: bool,
    backoff: Duration,
    stopping: bool,
    /// The triad of an open connection to close once a new session is up.
    close_later: Option<Triad>,
    multicast: Option<SocketAddrV4>,
    totals: Stats,
    events: VecDeque<ScanEvent>,
}

impl Scanner {
    /// A scanner for `params` over sessions with `options`; `seed` varies the connection
    /// serial numbers and ids between scanners. [`ClientError::Request`] if the parameters
    /// cannot make a Forward Open.
    pub fn new(params: IoParams, options: Options, seed: u32) -> Result<Scanner, ClientError> {
        params.forward_open(Triad::default(), 0)?;
        let output = vec![0; params.o_t_data()];
        Ok(Scanner {
            params,
            options,
            session: None,
            phase: Phase::Connect,
            cyclic: None,
            triad: Triad {
                connection_serial: (seed & 0xFFFF) as u16,
                vendor_id: VENDOR,
                originator_serial: seed.rotate_left(7) | 1,
            },
            seed,
            output,
            run: true,
            backoff: FIRST_BACKOFF,
            stopping: false,
            close_later: None,
            multicast: None,
            totals: Stats::default(),
            events: VecDeque::new(),
        })
    }

    /// The connection parameters.
    pub fn params(&self) -> &IoParams {
        &self.params
    }

    /// The open connection's cyclic exchange, if open.
    pub fn cyclic(&self) -> Option<&Cyclic> {
        self.cyclic.as_ref()
    }

    /// Counters over every connection so far (the open one included).
    pub fn stats(&self) -> Stats {
        let mut s = self.totals.clone();
        if let Some(c) = &self.cyclic {
            add(&mut s, c.stats());
        }
        s
    }

    /// The multicast group T->O arrives on, while a multicast connection is open.
    pub fn multicast(&self) -> Option<SocketAddrV4> {
        self.multicast
    }

    /// Whether the runtime should open a TCP connection now (then call
    /// [`Scanner::connected`]).
    pub fn wants_connect(&self) -> bool {
        self.phase == Phase::Connect
    }

    /// Whether the TCP connection is still needed (drop it when not).
    pub fn wants_tcp(&self) -> bool {
        matches!(
            self.phase,
            Phase::Register | Phase::Open { .. } | Phase::Running | Phase::Closing { .. }
        )
    }

    /// Whether the scanner has stopped (closed, or refused for good).
    pub fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// Whether the connection is open.
    pub fn is_running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// Sets the output data (zero-filled or cut to the output size).
    pub fn set_output(&mut self, data: &[u8]) {
        self.output = data.to_vec();
        self.output.resize(self.params.o_t_data(), 0);
        if let Some(c) = &mut self.cyclic {
            c.set_output(&self.output);
        }
    }

    /// Sets the run/idle header's run bit.
    pub fn set_run(&mut self, run: bool) {
        self.run = run;
        if let Some(c) = &mut self.cyclic {
            c.set_run(run);
        }
    }

    // -----------------------------------------------------------------------------------------
    // TCP.

    /// The TCP connection is up at `now`: register a session.
    pub fn connected(&mut self, now: Instant) {
        let result = Session::new(self.options.clone()).and_then(|mut s| {
            s.register()?;
            Ok(s)
        });
        match result {
            Ok(s) => {
                self.session = Some(s);
                self.phase = Phase::Register;
            }
            Err(e) => self.fail(now, e.to_string()),
        }
    }

    /// The TCP connection failed or closed at `now`. An open I/O connection does not depend
    /// on it and keeps running (a new session is opened for its Forward Close).
    pub fn disconnected(&mut self, now: Instant, why: &str) {
        match self.phase {
            Phase::Running => self.session = None,
            Phase::Closing { .. } => self.stopped(ReplyStatus::undecodable(why)),
            Phase::Stopped | Phase::Backoff { .. } => {}
            _ => self.fail(now, why.to_string()),
        }
    }

    /// The bytes to send on the TCP connection.
    pub fn transmit(&self) -> &[u8] {
        self.session.as_ref().map_or(&[], |s| s.transmit())
    }

    /// The bytes of [`Scanner::transmit`] were sent at `now`.
    pub fn transmitted(&mut self, now: Instant) {
        if let Some(s) = &mut self.session {
            s.transmitted(now);
        }
    }

    /// Bytes received on the TCP connection at `now`.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if let Some(s) = &mut self.session {
            s.handle_input(bytes, now);
        }
        self.absorb(now);
    }

    fn absorb(&mut self, now: Instant) {
        loop {
            let Some(session) = &mut self.session else {
                return;
            };
            let got = match session.poll_event() {
                None => return,
                Some(Err(e)) => Err(e.to_string()),
                Some(Ok(Event::Registered(_))) => Ok(None),
                Some(Ok(Event::Reply { key, message })) => Ok(Some((key, message.to_vec()))),
                Some(Ok(_)) => continue,
            };
            match got {
                Err(why) => return self.fail(now, why),
                Ok(None) => self.open(now),
                Ok(Some((key, message))) => self.reply(now, key, &message),
            }
        }
    }

    fn open(&mut self, now: Instant) {
        if self.stopping {
            return match self.close_later.take() {
                Some(triad) => self.queue_close(triad),
                None => self.stopped(ReplyStatus::OK),
            };
        }
        self.triad.connection_serial = self.triad.connection_serial.wrapping_add(1);
        let t_o_id = self
            .seed
            .rotate_left(13)
            .wrapping_add(u32::from(self.triad.connection_serial));
        let Some(session) = &mut self.session else {
            return;
        };
        let sockaddr = Sockaddr::new(Ipv4Addr::UNSPECIFIED, self.params.t_o_port);
        let extra = match self.params.t_o_port {
            IO_PORT => Vec::new(),
            _ if self.params.multicast => Vec::new(),
            _ => vec![Item::SockaddrT2O(sockaddr)],
        };
        let queued = self
            .params
            .forward_open(self.triad, t_o_id)
            .and_then(|mr| session.queue_unconnected_with(&mr, &extra));
        match queued {
            Ok(key) => self.phase = Phase::Open { key },
            Err(e) => self.fail(now, e.to_string()),
        }
    }

    fn reply(&mut self, now: Instant, key: u64, message: &[u8]) {
        let status = match MrReply::parse(message) {
            Ok(r) => (ReplyStatus::of(&r), r.data),
            Err(e) => return self.fail(now, format!("bad Forward Open reply: {e}")),
        };
        match self.phase {
            Phase::Open { key: want } if want == key => self.opened(now, status.0, status.1),
            Phase::Closing { key: want } if want == key => self.stopped(status.0),
            _ => {}
        }
    }

    fn opened(&mut self, now: Instant, status: ReplyStatus, data: &[u8]) {
        if !status.is_ok() {
            let retry = !permanent(&status);
            self.events.push_back(ScanEvent::Refused {
                status: status.clone(),
                retry,
            });
            return if retry {
                self.fail(now, format!("Forward Open refused: {status}"))
            } else {
                self.phase = Phase::Stopped;
                self.session = None;
            };
        }
        let opened = match Opened::parse(data) {
            Ok(o) => o,
            Err(e) => return self.fail(now, format!("bad Forward Open reply: {e}")),
        };
        self.multicast = self
            .session
            .as_ref()
            .and_then(Session::t_o_sockaddr)
            .filter(|s| s.addr.is_multicast())
            .map(|s| SocketAddrV4::new(s.addr, s.port));
        let mut cyclic = Cyclic::new(opened, &self.params, now);
        cyclic.set_output(&self.output);
        cyclic.set_run(self.run);
        self.cyclic = Some(cyclic);
        self.phase = Phase::Running;
        self.events.push_back(ScanEvent::Opened {
            opened,
            multicast: self.multicast,
        });
        if self.stopping {
            self.close();
        }
    }

    // -----------------------------------------------------------------------------------------
    // UDP.

    /// The next O->T packet due at `now` (send it to the adapter's I/O port).
    pub fn poll_datagram(&mut self, now: Instant) -> Option<&[u8]> {
        if self.phase != Phase::Running {
            return None;
        }
        self.cyclic.as_mut()?.poll_transmit(now)
    }

    /// A datagram arrived at `now`; false if it is not this connection's T->O.
    pub fn handle_datagram(&mut self, now: Instant, bytes: &[u8]) -> bool {
        let Some(c) = &mut self.cyclic else {
            return false;
        };
        let ours = c.handle_datagram(now, bytes);
        self.cyclic_events(now);
        ours
    }

    fn cyclic_events(&mut self, now: Instant) {
        let Some(c) = &mut self.cyclic else {
            return;
        };
        let mut timed_out = false;
        while let Some(e) = c.poll_event() {
            self.events.push_back(match e {
                CyclicEvent::Input(data) => {
                    self.backoff = FIRST_BACKOFF;
                    ScanEvent::Input(data)
                }
                CyclicEvent::Missed { count } => ScanEvent::Missed { count },
                CyclicEvent::Late { by } => ScanEvent::Late { by },
                CyclicEvent::TimedOut => {
                    timed_out = true;
                    ScanEvent::TimedOut
                }
            });
        }
        if timed_out {
            self.fail(now, "connection timed out".into());
        }
    }

    // -----------------------------------------------------------------------------------------
    // Time.

    /// When [`Scanner::handle_timeout`] (or [`Scanner::poll_datagram`]) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let session = self.session.as_ref().and_then(Session::poll_timeout);
        let cyclic = self.cyclic.as_ref().and_then(Cyclic::poll_timeout);
        let backoff = match self.phase {
            Phase::Backoff { until } => Some(until),
            _ => None,
        };
        [session, cyclic, backoff].into_iter().flatten().min()
    }

    /// The time is `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Phase::Backoff { until } = self.phase {
            if now >= until {
                self.phase = Phase::Connect;
            }
        }
        if let Some(s) = &mut self.session {
            s.handle_timeout(now);
        }
        self.absorb(now);
        if let Some(c) = &mut self.cyclic {
            c.handle_timeout(now);
        }
        self.cyclic_events(now);
    }

    // -----------------------------------------------------------------------------------------
    // Stopping and failing.

    /// Stops: Forward Close if the connection is open, else at once.
    pub fn stop(&mut self, _now: Instant) {
        self.stopping = true;
        match self.phase {
            Phase::Running => self.close(),
            Phase::Connect | Phase::Backoff { .. } => self.stopped(ReplyStatus::OK),
            _ => {}
        }
    }

    fn close(&mut self) {
        self.retire();
        if self.session.is_none() {
            // The session went away under the open connection: a new one closes it.
            self.close_later = Some(self.triad);
            self.phase = Phase::Connect;
            return;
        }
        self.queue_close(self.triad);
    }

    fn queue_close(&mut self, triad: Triad) {
        let Some(session) = &mut self.session else {
            return self.stopped(ReplyStatus::OK);
        };
        let queued = self
            .params
            .forward_close(triad)
            .and_then(|mr| session.queue_unconnected(&mr));
        match queued {
            Ok(key) => self.phase = Phase::Closing { key },
            Err(e) => self.stopped(ReplyStatus::undecodable(e.to_string())),
        }
    }

    fn stopped(&mut self, status: ReplyStatus) {
        self.retire();
        self.session = None;
        self.phase = Phase::Stopped;
        self.events.push_back(ScanEvent::Closed(status));
    }

    /// Keeps the counters of the connection that ends.
    fn retire(&mut self) {
        if let Some(c) = self.cyclic.take() {
            add(&mut self.totals, c.stats());
        }
        self.multicast = None;
    }

    fn fail(&mut self, now: Instant, why: String) {
        self.retire();
        self.session = None;
        if self.stopping {
            return self.stopped(ReplyStatus::undecodable(why));
        }
        let after = self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        self.phase = Phase::Backoff { until: now + after };
        self.events.push_back(ScanEvent::Retrying { why, after });
    }

    /// The next thing that happened.
    pub fn poll_event(&mut self) -> Option<ScanEvent> {
        self.events.pop_front()
    }
}

fn add(total: &mut Stats, s: &Stats) {
    total.sent += s.sent;
    total.received += s.received;
    total.missed += s.missed;
    total.late += s.late;
    total.stale += s.stale;
    total.lateness.merge(&s.lateness);
}

/// Refusals that another try cannot cure: sizes, RPI, network parameters, paths, keys.
fn permanent(status: &ReplyStatus) -> bool {
    status.general == 0x01
        && matches!(
            status.extended.first().copied(),
            Some(
                ext::INVALID_SIZE
                    | ext::RPI_NOT_SUPPORTED
                    | ext::INVALID_NETWORK_PARAMETER
                    | ext::TRANSPORT_NOT_SUPPORTED
                    | ext::INVALID_APPLICATION_PATH
                    | ext::INVALID_CONFIGURATION_PATH
                    | ext::KEY_PRODUCT_MISMATCH
                    | ext::KEY_DEVICE_TYPE_MISMATCH
                    | ext::KEY_REVISION_MISMATCH
                    | ext::INVALID_SEGMENT
            )
        )
}
