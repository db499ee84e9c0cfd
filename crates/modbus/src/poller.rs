//! A background poller for one PLC, after cpppo's `poller_modbus`.
//!
//! [`Poller::poll`] adds registers to poll (adjacent ones are merged into few requests);
//! [`Poller::read`] returns the last polled value at once (`None` until polled, or while the
//! PLC is offline); [`Poller::write`] waits for its turn between polls and for the PLC's
//! answer; [`Poller::load`] tells how much of the link's capacity polling uses. When the PLC
//! goes away the poller reconnects with a growing back-off.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use std::path::PathBuf;

use crate::client::{ClientError, Connection, Reply, SerialClient, TcpClient};
use crate::pdu::{pack_bits, Bits, Request, Words, MAX_WRITE_BITS, MAX_WRITE_REGISTERS};
use crate::register::{Register, Table};
use crate::serial::LineConfig;
use crate::server::Framing;

/// Poller settings.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// `host:port` of the PLC.
    pub address: String,
    /// Unit id sent with every request.
    pub unit: u8,
    /// Time between polls of the same register.
    pub rate: Duration,
    /// Merge polls of registers within this many of each other (1: only adjacent ones).
    pub reach: u16,
    /// Connect and reply timeout.
    pub timeout: Duration,
    /// Poll over this serial line instead of TCP (`address` is then only a label).
    pub serial: Option<SerialTarget>,
}

/// A PLC on a serial line.
#[derive(Debug, Clone)]
pub struct SerialTarget {
    /// The serial device.
    pub path: PathBuf,
    /// Baud rate, parity, stop bits.
    pub line: LineConfig,
    /// RTU or ASCII.
    pub framing: Framing,
}

impl PollerConfig {
    /// Defaults for `address`: unit 0, a poll a second, reach 1, 1 s timeout.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            unit: 0,
            rate: Duration::from_secs(1),
            reach: 1,
            timeout: Duration::from_secs(1),
            serial: None,
        }
    }
}

/// Open the connection the configuration asks for.
async fn connect(config: &PollerConfig) -> Result<Connection, ClientError> {
    match &config.serial {
        Some(s) => {
            SerialClient::open(&s.path, &s.line, s.framing, config.timeout).map(Connection::Serial)
        }
        None => TcpClient::connect(&config.address, config.timeout)
            .await
            .map(Connection::Tcp),
    }
}

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Coils and holding registers only.
    #[error("register {0} is read-only")]
    ReadOnly(u32),
    /// Nothing to write, or more values than the table has room for.
    #[error("bad number of values: {0}")]
    BadCount(usize),
    /// The PLC cannot be reached right now.
    #[error("PLC offline: {0}")]
    Offline(String),
    /// The PLC refused or failed the request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The poller has stopped.
    #[error("poller stopped")]
    Stopped,
}

struct Write {
    start: Register,
    values: Vec<u16>,
    done: oneshot::Sender<Result<(), PollError>>,
}

/// What the polling task and the callers share.
#[derive(Debug, Default)]
struct State {
    values: HashMap<Register, u16>,
    polled: BTreeSet<Register>,
    rate: Option<Duration>,
    failing: Vec<(Register, u16)>,
    load: [f64; 3],
    online: bool,
}

/// A poller for one PLC. Dropping it stops the background task.
#[derive(Debug)]
pub struct Poller {
    state: Arc<Mutex<State>>,
    writes: mpsc::UnboundedSender<Write>,
    wake: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
    reach: u16,
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Poller {
    /// Start polling in the background (on the current tokio runtime).
    pub fn spawn(config: PollerConfig) -> Self {
        let state = Arc::new(Mutex::new(State {
            rate: Some(config.rate),
            ..State::default()
        }));
        let (writes, rx) = mpsc::unbounded_channel();
        let wake = Arc::new(tokio::sync::Notify::new());
        let reach = config.reach;
        let task = tokio::spawn(run(config, Arc::clone(&state), rx, Arc::clone(&wake)));
        Self {
            state,
            writes,
            wake,
            task,
            reach,
        }
    }

    /// Begin polling `reg`. A `rate` shorter than the current one speeds up all polling.
    pub fn poll(&self, reg: Register, rate: Option<Duration>) {
        let mut s = lock(&self.state);
        let new = s.polled.insert(reg);
        if let Some(rate) = rate {
            if s.rate.is_none_or(|r| rate < r) {
                s.rate = Some(rate);
            }
        }
        drop(s);
        if new {
            self.wake.notify_one();
        }
    }

    /// The last polled value of `reg`; `None` if not (yet) polled or the PLC is offline.
    pub fn read(&self, reg: Register) -> Option<u16> {
        lock(&self.state).values.get(&reg).copied()
    }

    /// Write `values` to consecutive registers (or coils: 0 off, anything else on) from
    /// `start`, as soon as the current poll is done; returns when the PLC has answered.
    pub async fn write(&self, start: Register, values: &[u16]) -> Result<(), PollError> {
        if !start.table.is_writable() {
            return Err(PollError::ReadOnly(start.number()));
        }
        if values.is_empty() || usize::from(start.offset) + values.len() > 0x1_0000 {
            return Err(PollError::BadCount(values.len()));
        }
        let (done, rx) = oneshot::channel();
        let w = Write {
            start,
            values: values.to_vec(),
            done,
        };
        self.writes.send(w).map_err(|_| PollError::Stopped)?;
        rx.await.map_err(|_| PollError::Stopped)?
    }

    /// The (1-minute, 5-minute, 15-minute) fraction of the link's time spent polling.
    pub fn load(&self) -> (f64, f64, f64) {
        let l = lock(&self.state).load;
        (l[0], l[1], l[2])
    }

    /// True once a poll has succeeded, until the connection fails.
    pub fn online(&self) -> bool {
        lock(&self.state).online
    }

    /// The (first register, count) ranges being polled.
    pub fn polling(&self) -> Vec<(Register, u16)> {
        let polled = lock(&self.state).polled.clone();
        merge(&polled, self.reach)
    }

    /// The ranges whose last poll failed.
    pub fn failing(&self) -> Vec<(Register, u16)> {
        lock(&self.state).failing.clone()
    }
}

/// Merge registers into (first, count) ranges: same table, gaps smaller than `reach`, at
/// most one read request's worth each.
pub fn merge(regs: &BTreeSet<Register>, reach: u16) -> Vec<(Register, u16)> {
    let reach = u32::from(reach.max(1));
    let mut out: Vec<(Register, u16)> = Vec::new();
    for &reg in regs {
        if let Some((base, count)) = out.last_mut().filter(|(b, _)| b.table == reg.table) {
            // Same table: the set is sorted, so `reg` is at or after `base`.
            let end = u32::from(base.offset) + u32::from(*count);
            let new_count = (u32::from(reg.offset) + 1).saturating_sub(u32::from(base.offset));
            if u32::from(reg.offset) < end + reach && new_count <= u32::from(reg.table.max_read()) {
                *count = u16::try_from(new_count).unwrap_or(u16::MAX);
                continue;
            }
        }
        out.push((reg, 1));
    }
    out
}

fn read_request(base: Register, count: u16) -> Request<'static> {
    let (address, quantity) = (base.offset, count);
    match base.table {
        Table::Coils => Request::ReadCoils { address, quantity },
        Table::DiscreteInputs => Request::ReadDiscreteInputs { address, quantity },
        Table::InputRegisters => Request::ReadInputRegisters { address, quantity },
        Table::HoldingRegisters => Request::ReadHoldingRegisters { address, quantity },
    }
}

/// Perform a write, split into requests of legal size.
async fn write(client: &mut Connection, unit: u8, w: &Write) -> Result<(), PollError> {
    let limit = if w.start.table == Table::Coils {
        MAX_WRITE_BITS
    } else {
        MAX_WRITE_REGISTERS
    };
    let mut address = w.start.offset;
    let mut buf = Vec::new();
    for chunk in w.values.chunks(usize::from(limit)) {
        buf.clear();
        let req = match (w.start.table, chunk) {
            (Table::Coils, [v]) => Request::WriteSingleCoil {
                address,
                value: *v != 0,
            },
            (Table::Coils, _) => {
                pack_bits(chunk.iter().map(|&v| v != 0), &mut buf);
                let bits = Bits::new(&buf, chunk.len() as u16).ok_or(PollError::BadCount(0))?;
                Request::WriteMultipleCoils { address, bits }
            }
            (_, [v]) => Request::WriteSingleRegister { address, value: *v },
            _ => {
                buf.extend(chunk.iter().flat_map(|v| v.to_be_bytes()));
                let values = Words::new(&buf).ok_or(PollError::BadCount(0))?;
                Request::WriteMultipleRegisters { address, values }
            }
        };
        client.call(unit, &req).await?;
        address = address.wrapping_add(chunk.len() as u16);
    }
    Ok(())
}

/// Exponentially weighted load averages over 1, 5 and 15 minutes.
fn update_load(load: &mut [f64; 3], busy: Duration, elapsed: Duration) {
    let dt = elapsed.as_secs_f64().max(1e-6);
    let frac = (busy.as_secs_f64() / dt).clamp(0.0, 1.0);
    for (l, window) in load.iter_mut().zip([60.0, 300.0, 900.0]) {
        let alpha = 1.0 - (-dt / window).exp();
        *l += alpha * (frac - *l);
    }
}

/// The polling task.
async fn run(
    config: PollerConfig,
    state: Arc<Mutex<State>>,
    mut writes: mpsc::UnboundedReceiver<Write>,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut client: Option<Connection> = None;
    let mut backoff = Duration::from_millis(100);
    // The last connection failure logged (a repeat of it is logged at debug level only).
    let mut logged: Option<String> = None;
    loop {
        let cycle = Instant::now();
        let rate = lock(&state).rate.unwrap_or(config.rate);
        if client.is_none() {
            match connect(&config).await {
                Ok(c) => {
                    tracing::info!("connected to Modbus PLC {}", config.address);
                    client = Some(c);
                    backoff = Duration::from_millis(100);
                    logged = None;
                }
                Err(e) => {
                    let why = e.to_string();
                    if logged.as_deref() == Some(why.as_str()) {
                        tracing::debug!(
                            "connecting to {}: {why}; retry in {backoff:?}",
                            config.address
                        );
                    } else {
                        failing_all(&config, &state, &why);
                        logged = Some(why);
                    }
                    offline(&state, &config.address);
                    // Writes fail at once while offline, rather than waiting.
                    let until = tokio::time::Instant::now() + backoff;
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(until) => break,
                            w = writes.recv() => match w {
                                Some(w) => {
                                    let _ = w.done.send(Err(PollError::Offline(e.to_string())));
                                }
                                None => return,
                            },
                        }
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        match poll_once(c, &config, &state, &mut writes).await {
            Ok(busy) => update_load(&mut lock(&state).load, busy, rate.max(cycle.elapsed())),
            Err(e) => {
                failing_all(&config, &state, &e.to_string());
                client = None;
                offline(&state, &config.address);
                continue;
            }
        }
        // Until the next poll is due, do writes as they come.
        let due = tokio::time::Instant::from_std(cycle + rate);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => break,
                _ = wake.notified() => break,
                w = writes.recv() => {
                    let Some(w) = w else { return };
                    let Some(c) = client.as_mut() else { break };
                    let result = write(c, config.unit, &w).await;
                    let lost = matches!(result, Err(PollError::Client(ClientError::Io(_) | ClientError::Timeout)));
                    let _ = w.done.send(result);
                    if lost {
                        client = None;
                        offline(&state, &config.address);
                        break;
                    }
                }
            }
        }
    }
}

/// Forget the values; log (as cpppo) when the PLC was online until now.
fn offline(state: &Mutex<State>, address: &str) {
    let mut s = lock(state);
    s.values.clear();
    if s.online {
        tracing::warn!("Polling: PLC {address} offline");
    }
    s.online = false;
}

/// `  40001-40010  (   10)`, as cpppo shows a polled range.
fn range_text(base: Register, count: u16) -> String {
    let first = base.number();
    let last = first + u32::from(count.max(1)) - 1;
    format!("{first:6}-{last:<6} ({count:5})")
}

/// Log, as cpppo does, that every polled range failed for `why` (a connection failure).
fn failing_all(config: &PollerConfig, state: &Mutex<State>, why: &str) {
    let polled = lock(state).polled.clone();
    for (base, count) in merge(&polled, config.reach) {
        tracing::warn!(
            "Failing: PLC {} {}: {why}",
            config.address,
            range_text(base, count)
        );
    }
}

/// Mark the PLC online, logging the change (as cpppo: which poll brought it back).
fn online(s: &mut State, address: &str, base: Register, shown: &dyn Fn() -> String) {
    if !s.online {
        tracing::warn!(
            "Polling: PLC {address} online; success polling {}: {}",
            base.number(),
            shown()
        );
    }
    s.online = true;
}

/// Poll every range once, doing pending writes between polls. Returns the time spent in
/// I/O; an error means the connection is lost.
async fn poll_once(
    client: &mut Connection,
    config: &PollerConfig,
    state: &Mutex<State>,
    writes: &mut mpsc::UnboundedReceiver<Write>,
) -> Result<Duration, ClientError> {
    let (polled, failed_before) = {
        let s = lock(state);
        (s.polled.clone(), s.failing.clone())
    };
    let mut busy = Duration::ZERO;
    let mut failing = Vec::new();
    for (base, count) in merge(&polled, config.reach) {
        while let Ok(w) = writes.try_recv() {
            let t = Instant::now();
            let result = write(client, config.unit, &w).await;
            busy += t.elapsed();
            let lost = match &result {
                Err(PollError::Client(e @ (ClientError::Io(_) | ClientError::Timeout))) => {
                    Some(e.to_string())
                }
                _ => None,
            };
            let _ = w.done.send(result);
            if let Some(e) = lost {
                return Err(ClientError::Protocol(e));
            }
        }
        let t = Instant::now();
        let result = client.call(config.unit, &read_request(base, count)).await;
        busy += t.elapsed();
        let mut s = lock(state);
        let regs = (0..count).map(|i| Register {
            table: base.table,
            offset: base.offset.wrapping_add(i),
        });
        match result {
            Ok(Reply::Words(values)) => {
                online(&mut s, &config.address, base, &|| format!("{values:?}"));
                s.values.extend(regs.zip(values));
            }
            Ok(Reply::Bits(bits)) => {
                online(&mut s, &config.address, base, &|| format!("{bits:?}"));
                s.values.extend(regs.zip(bits.into_iter().map(u16::from)));
            }
            Ok(Reply::Written) => {}
            Err(e @ ClientError::Exception { .. }) => {
                // Logged the first time this range fails, as cpppo does.
                if !failed_before.contains(&(base, count)) {
                    tracing::warn!(
                        "Failing: PLC {} {}: {e}",
                        config.address,
                        range_text(base, count)
                    );
                }
                online(&mut s, &config.address, base, &|| format!("{e}"));
                for r in regs {
                    s.values.remove(&r);
                }
                failing.push((base, count));
            }
            Err(e) => return Err(e),
        }
    }
    lock(state).failing = failing;
    Ok(busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs(numbers: &[u32]) -> BTreeSet<Register> {
        numbers
            .iter()
            .filter_map(|&n| Register::from_number(n))
            .collect()
    }

    fn numbers(ranges: &[(Register, u16)]) -> Vec<(u32, u16)> {
        ranges.iter().map(|(r, n)| (r.number(), *n)).collect()
    }

    #[test]
    fn merges_adjacent_and_within_reach_never_across_tables() {
        let set = regs(&[40001, 40002, 40003, 40005, 40010, 30001, 30002, 9999, 10001]);
        assert_eq!(
            numbers(&merge(&set, 1)),
            [
                (9999, 1),
                (10001, 1),
                (30001, 2),
                (40001, 3),
                (40005, 1),
                (40010, 1)
            ]
        );
        assert_eq!(
            numbers(&merge(&set, 2)),
            [(9999, 1), (10001, 1), (30001, 2), (40001, 5), (40010, 1)]
        );
        assert_eq!(
            numbers(&merge(&set, 100)),
            [(9999, 1), (10001, 1), (30001, 2), (40001, 10)]
        );
    }

    #[test]
    fn splits_at_one_request_worth() {
        let set: BTreeSet<Register> = (40001..=40300).filter_map(Register::from_number).collect();
        assert_eq!(
            numbers(&merge(&set, 1)),
            [(40001, 125), (40126, 125), (40251, 50)]
        );
        let coils: BTreeSet<Register> = (1..=2500).filter_map(Register::from_number).collect();
        assert_eq!(numbers(&merge(&coils, 1)), [(1, 2000), (2001, 500)]);
    }

    #[test]
    fn load_tends_to_the_busy_fraction() {
        let mut load = [0.0; 3];
        for _ in 0..600 {
            update_load(
                &mut load,
                Duration::from_millis(250),
                Duration::from_secs(1),
            );
        }
        assert!((load[0] - 0.25).abs() < 0.01, "{load:?}");
        assert!(load[0] > load[1] && load[1] > load[2] && load[2] > 0.0);
    }
}
