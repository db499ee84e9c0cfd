//! Modbus clients. Over TCP: one request at a time with [`TcpClient::call`], or pipelined
//! with [`TcpClient::send`] and [`TcpClient::recv`] (replies matched by transaction id). Over
//! a serial line (RTU or ASCII): [`SerialClient::call`].

use std::time::{Duration, Instant};

use cpppo_net::deadline::Deadline;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use std::path::Path;

use crate::pdu::{Direction, Request, Response};
use crate::serial::{LineConfig, SerialPort};
use crate::server::{Framing, SerialDecoder};
use crate::tcp::{self, Transactions};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No reply within the timeout.
    #[error("timed out")]
    Timeout,
    /// The device answered with an exception.
    #[error("exception {code:#04x} to function {function:#04x}")]
    Exception {
        /// The request's function code.
        function: u8,
        /// The exception code.
        code: u8,
    },
    /// The reply could not be decoded, or does not fit the request.
    #[error("bad reply: {0}")]
    Protocol(String),
}

/// The data of a successful reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Coil or input values (as many as requested).
    Bits(Vec<bool>),
    /// Register values.
    Words(Vec<u16>),
    /// A write was acknowledged.
    Written,
}

/// A connection to one Modbus/TCP server.
#[derive(Debug)]
pub struct TcpClient {
    stream: TcpStream,
    buf: Vec<u8>,
    len: usize,
    out: Vec<u8>,
    tx: Transactions<()>,
    timeout: Duration,
    /// Bounds the waits for replies: one timer, moved to each new deadline.
    timer: Deadline,
}

impl TcpClient {
    /// Connect to `addr` (`host:port`), waiting at most `timeout` (also used for replies).
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout)??;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            buf: vec![0; 16 * 1024],
            len: 0,
            out: Vec::with_capacity(16 * 1024),
            tx: Transactions::default(),
            timeout,
            timer: Deadline::default(),
        })
    }

    /// Queue a request to `unit` (written on the next [`flush`](Self::flush) or `recv`);
    /// returns its transaction id.
    pub fn send(&mut self, unit: u8, req: &Request<'_>) -> Result<u16, ClientError> {
        queue(&mut self.tx, &mut self.out, unit, req)
    }

    /// Write every queued request.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.tx.in_flight()
    }

    /// The next reply to any request in flight: its transaction id and PDU (a copy). Replies
    /// with unknown transaction ids are skipped.
    pub async fn recv(&mut self) -> Result<(u16, Vec<u8>), ClientError> {
        self.recv_with(|id, pdu| Some((id, pdu.to_vec()))).await
    }

    /// Reads replies to the requests in flight until `take` (given each one's transaction id
    /// and PDU, in place) returns something.
    async fn recv_with<R>(
        &mut self,
        mut take: impl FnMut(u16, &[u8]) -> Option<R>,
    ) -> Result<R, ClientError> {
        self.flush().await?;
        let timeout = self.timeout;
        let mut deadline = None;
        loop {
            while let Some((adu, used)) = tcp::decode(self.buf.get(..self.len).unwrap_or_default())
                .map_err(|e| ClientError::Protocol(e.to_string()))?
            {
                let id = adu.transaction;
                let taken = self.tx.finish(id).and_then(|()| take(id, adu.pdu));
                self.buf.copy_within(used..self.len, 0);
                self.len -= used;
                if let Some(got) = taken {
                    return Ok(got);
                }
            }
            let spare = self.buf.get_mut(self.len..).unwrap_or_default();
            let n = self
                .timer
                .within(self.stream.read(spare), || {
                    *deadline.get_or_insert_with(|| Instant::now() + timeout)
                })
                .await
                .ok_or(ClientError::Timeout)??;
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
            self.len += n;
        }
    }

    /// Send one request and wait for its reply.
    pub async fn call(&mut self, unit: u8, req: &Request<'_>) -> Result<Reply, ClientError> {
        self.call_with(unit, req, |resp| reply_of(req, resp)).await
    }

    /// Send one request and wait for its reply, checked against the request as
    /// [`TcpClient::call`] checks it (an exception, another function or another count is an
    /// error), then given to `look` where it lies, decoded but not copied: a lock-step poll
    /// that only looks at the values allocates nothing per request.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), cpppo_modbus::client::ClientError> {
    /// use std::time::Duration;
    /// use cpppo_modbus::client::TcpClient;
    /// use cpppo_modbus::{Request, Response};
    /// let mut c = TcpClient::connect("127.0.0.1:502", Duration::from_secs(1)).await?;
    /// let req = Request::ReadHoldingRegisters { address: 0, quantity: 2 };
    /// let sum = c
    ///     .call_with(1, &req, |resp| match resp {
    ///         Response::ReadHoldingRegisters(w) => w.iter().map(u32::from).sum(),
    ///         _ => 0,
    ///     })
    ///     .await?;
    /// # let _: u32 = sum;
    /// # Ok(()) }
    /// ```
    pub async fn call_with<R>(
        &mut self,
        unit: u8,
        req: &Request<'_>,
        look: impl FnOnce(Response<'_>) -> R,
    ) -> Result<R, ClientError> {
        let id = self.send(unit, req)?;
        let mut look = Some(look);
        self.recv_with(|got, pdu| {
            if got != id {
                return None;
            }
            let look = look.take()?;
            Some(checked(req, pdu).map(look))
        })
        .await?
    }
}

/// A client on a serial line: one request at a time, answered by the addressed unit.
#[derive(Debug)]
pub struct SerialClient {
    port: SerialPort,
    framing: Framing,
    timeout: Duration,
    silence: Duration,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl SerialClient {
    /// Open the serial device at `path` (must be called inside a tokio runtime).
    pub fn open(
        path: &Path,
        line: &LineConfig,
        framing: Framing,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            port: SerialPort::open(path, line)?,
            framing,
            timeout,
            silence: crate::rtu::inter_frame_silence(line.baud).max(Duration::from_millis(2)),
            buf: vec![0; 1024],
            out: Vec::with_capacity(crate::ascii::MAX_FRAME),
        })
    }

    /// Send one request and wait for the unit's reply. A broadcast (unit 0) gets no reply:
    /// it returns once sent.
    pub async fn call(&mut self, unit: u8, req: &Request<'_>) -> Result<Reply, ClientError> {
        // A late reply to an earlier request must not pass for this one's.
        self.port.discard_input()?;
        let mut decoder = SerialDecoder::new(self.framing, Direction::Response);
        let mut pdu = Vec::with_capacity(crate::pdu::MAX_PDU);
        req.emit(&mut pdu);
        self.out.clear();
        decoder.encode(&mut self.out, unit, &pdu);
        self.port.write_all(&self.out).await?;
        if unit == 0 {
            return Ok(Reply::Written);
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match tokio::time::timeout(self.silence, self.port.read(&mut self.buf)).await {
                Err(_quiet) => decoder.silence(),
                Ok(Ok(0)) => {
                    return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into())
                }
                Ok(Ok(n)) => decoder.push(self.buf.get(..n).unwrap_or_default()),
                Ok(Err(e)) => return Err(e.into()),
            }
            while let Some(adu) = decoder.next_frame() {
                if adu.unit == unit {
                    return interpret(req, adu.pdu);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Timeout);
            }
        }
    }
}

/// A TCP or serial client behind one interface.
#[derive(Debug)]
pub enum Connection {
    /// Modbus/TCP.
    Tcp(TcpClient),
    /// Modbus/RTU or ASCII on a serial line.
    Serial(SerialClient),
}

impl Connection {
    /// Send one request and wait for its reply.
    pub async fn call(&mut self, unit: u8, req: &Request<'_>) -> Result<Reply, ClientError> {
        match self {
            Self::Tcp(c) => c.call(unit, req).await,
            Self::Serial(c) => c.call(unit, req).await,
        }
    }
}

/// Check a reply PDU against its request and extract its data.
pub fn interpret(req: &Request<'_>, pdu: &[u8]) -> Result<Reply, ClientError> {
    checked(req, pdu).map(|resp| reply_of(req, resp))
}

/// A reply PDU decoded and checked against its request: not an exception, the request's
/// function, and for reads the count asked for.
pub fn checked<'p>(req: &Request<'_>, pdu: &'p [u8]) -> Result<Response<'p>, ClientError> {
    let resp = Response::parse(pdu).map_err(|e| ClientError::Protocol(e.to_string()))?;
    if let Response::Exception { function, code } = resp {
        return Err(ClientError::Exception { function, code });
    }
    if resp.function() != req.function() {
        return Err(ClientError::Protocol(format!(
            "reply to function {:#04x} for a request of {:#04x}",
            resp.function(),
            req.function()
        )));
    }
    let want = |n: usize, got: usize| {
        if n == got {
            Ok(())
        } else {
            Err(ClientError::Protocol(format!(
                "{got} values, {n} requested"
            )))
        }
    };
    match (req, &resp) {
        (
            Request::ReadCoils { quantity, .. } | Request::ReadDiscreteInputs { quantity, .. },
            Response::ReadCoils(bytes) | Response::ReadDiscreteInputs(bytes),
        ) => want(usize::from(*quantity).div_ceil(8), bytes.len())?,
        (
            Request::ReadHoldingRegisters { quantity, .. }
            | Request::ReadInputRegisters { quantity, .. }
            | Request::ReadWriteMultipleRegisters {
                read_quantity: quantity,
                ..
            },
            Response::ReadHoldingRegisters(w)
            | Response::ReadInputRegisters(w)
            | Response::ReadWriteMultipleRegisters(w),
        ) => want(usize::from(*quantity), w.len())?,
        _ => {}
    }
    Ok(resp)
}

/// The data of a checked reply, owned.
fn reply_of(req: &Request<'_>, resp: Response<'_>) -> Reply {
    match (req, resp) {
        (
            Request::ReadCoils { quantity, .. } | Request::ReadDiscreteInputs { quantity, .. },
            Response::ReadCoils(bytes) | Response::ReadDiscreteInputs(bytes),
        ) => {
            let n = usize::from(*quantity);
            Reply::Bits(
                (0..n)
                    .map(|i| bytes.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
                    .collect(),
            )
        }
        (
            Request::ReadHoldingRegisters { .. }
            | Request::ReadInputRegisters { .. }
            | Request::ReadWriteMultipleRegisters { .. },
            Response::ReadHoldingRegisters(w)
            | Response::ReadInputRegisters(w)
            | Response::ReadWriteMultipleRegisters(w),
        ) => Reply::Words(w.iter().collect()),
        _ => Reply::Written,
    }
}

/// Queue `req` to `unit` on `out` under a new transaction id from `tx` (the one request
/// encoder of [`TcpClient`] and [`TcpSession`]).
fn queue(
    tx: &mut Transactions<()>,
    out: &mut Vec<u8>,
    unit: u8,
    req: &Request<'_>,
) -> Result<u16, ClientError> {
    let id = tx
        .start(())
        .ok_or_else(|| ClientError::Protocol("65,536 requests in flight".into()))?;
    tcp::encode(out, id, unit, |o| req.emit(o));
    Ok(id)
}

/// One Modbus/TCP connection's requests and replies without a socket or a clock (sans-IO):
/// queue requests with [`TcpSession::send`], take replies with [`TcpSession::poll_reply`];
/// the bytes and the time are moved by the caller, or by a [`cpppo_net::drive::Driver`] that
/// drives many sessions from one thread (it is [`cpppo_net::drive::Driven`]). Every request
/// in flight times out `timeout` after the last bytes sent or received.
#[derive(Debug)]
pub struct TcpSession {
    out: Vec<u8>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    tx: Transactions<()>,
    timeout: Duration,
    deadline: Option<Instant>,
    timed_out: bool,
}

impl TcpSession {
    /// A session whose replies are due within `timeout`.
    pub fn new(timeout: Duration) -> TcpSession {
        TcpSession {
            out: Vec::with_capacity(1024),
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            tx: Transactions::default(),
            timeout,
            deadline: None,
            timed_out: false,
        }
    }

    /// Queues a request to `unit`; returns its transaction id.
    pub fn send(&mut self, unit: u8, req: &Request<'_>) -> Result<u16, ClientError> {
        queue(&mut self.tx, &mut self.out, unit, req)
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.tx.in_flight()
    }

    /// The next reply to a request in flight: its transaction id and PDU (valid until the
    /// next call), `None` until more bytes arrive. Replies with unknown ids are skipped;
    /// undecodable bytes, or the deadline passed, are an error (fatal to the session).
    pub fn poll_reply(&mut self) -> Option<Result<(u16, &[u8]), ClientError>> {
        if self.timed_out {
            return Some(Err(ClientError::Timeout));
        }
        loop {
            let avail = self.buf.get(self.start..self.end).unwrap_or_default();
            let (id, used) = match tcp::decode(avail) {
                Ok(Some((adu, used))) => (adu.transaction, used),
                Ok(None) => return None,
                Err(e) => return Some(Err(ClientError::Protocol(e.to_string()))),
            };
            let at = self.start;
            self.start += used;
            if self.tx.finish(id).is_none() {
                continue;
            }
            if self.tx.in_flight() == 0 {
                self.deadline = None;
            }
            let frame = self.buf.get(at..at + used).unwrap_or_default();
            return Some(match tcp::decode(frame) {
                Ok(Some((adu, _))) => Ok((id, adu.pdu)),
                _ => Err(ClientError::Protocol("reply frame lost".into())),
            });
        }
    }
}

impl cpppo_net::drive::Driven for TcpSession {
    fn recv_buffer(&mut self) -> &mut [u8] {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.buf.len() - self.end < 1024 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        self.buf.get_mut(self.end..).unwrap_or_default()
    }
    fn received(&mut self, n: usize, now: Instant) {
        self.end = (self.end + n).min(self.buf.len());
        if self.tx.in_flight() > 0 {
            self.deadline = Some(now + self.timeout);
        }
    }
    fn transmit(&self) -> &[u8] {
        &self.out
    }
    fn transmitted(&mut self, now: Instant) {
        self.out.clear();
        if self.tx.in_flight() > 0 && self.deadline.is_none() {
            self.deadline = Some(now + self.timeout);
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.tx.in_flight() > 0)
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|d| d <= now) {
            self.timed_out = true;
        }
    }
}
