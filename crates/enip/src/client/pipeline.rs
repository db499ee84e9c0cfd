//! Many operations in flight on one session, answered in order.
//!
//! Up to `depth` frames are outstanding at once; with a non-zero `multiple`, consecutive
//! operations share one Multiple Service Packet while the request and the estimated reply stay
//! within that many bytes. A read answered with a partial transfer is followed by Read Tag
//! Fragmented requests (at the front of the queue) until it is whole. Results come out in
//! operation order as soon as each (and every earlier one) is complete.

use std::borrow::BorrowMut;
use std::collections::VecDeque;
use std::sync::Arc;

use cpppo_cip::mr::MrReply;
use cpppo_cip::mr::Payload;
use cpppo_cip::services::msp::Table;
use cpppo_cip::services::MspWriter;
use cpppo_cip::TagType;

use super::connector::Connector;
use super::error::{ClientError, ReplyStatus};
use super::format::{python_str, python_values};
use super::plan::{Absorbed, Accumulator, Kind, Plan};
use super::route::mr_request;
use super::session::MESSAGE_ROUTER;
use crate::client::operation::{Literal, Operation};

/// At most this many operations wait, complete or not, behind an unfinished one.
const WINDOW: usize = 4096;
/// At most this many requests in one Multiple Service Packet.
const MSP_ITEMS: usize = 200;
/// How many times a read that found no room in a reply is asked again.
const MAX_RETRIES: u8 = 3;
/// How many distinct recent operations keep their plans.
const PLAN_CACHE: usize = 32;

/// One finished operation: cpppo's `(index, description, request, reply, status, value)`.
#[derive(Clone, Debug)]
pub struct Transaction {
    /// Its position among the operations.
    pub index: usize,
    /// cpppo's description (`Single Read  Tag  SCADA[1]`), its plan's (shared, not copied).
    pub description: Arc<str>,
    /// The (first) Message Router request sent for it.
    pub request: Arc<Vec<u8>>,
    /// The (last) Message Router reply.
    pub reply: Vec<u8>,
    /// The reply status.
    pub status: ReplyStatus,
    /// The values read, or written; `None` on failure.
    pub value: Option<Vec<Literal>>,
    /// How it was done.
    pub plan: Arc<Plan>,
}

impl Transaction {
    /// The summary line cpppo's client prints:
    /// `            SCADA[1][  1-1  ]+  0 == [42]: 'OK'`.
    pub fn line(&self) -> String {
        let val = match (&self.value, self.plan.kind.is_read()) {
            (None, false) => python_values(&self.plan.values),
            _ => self.value_text(),
        };
        self.line_showing(&val)
    }

    /// [`Transaction::line`] with `val` shown as its value (a structure decoded by its
    /// template: `{'Speed': 1.5, 'Running': True}`).
    pub fn line_showing(&self, val: &str) -> String {
        let p = &self.plan;
        let act = if p.kind.is_read() { "==" } else { "<=" };
        let res = python_str(&self.status.to_string());
        let Some(elm) = p.element else {
            return format!("{:>20}              {act} {val}: {res}", p.tag);
        };
        let cnt = match (&self.value, p.kind) {
            (Some(v), Kind::ReadFrag) => v.len(),
            _ => usize::from(p.elements),
        };
        // As cpppo: a fragmented write counts its elements less its (byte) offset.
        let cnt = match p.kind {
            Kind::WriteFrag => cnt as i64 - i64::from(p.offset),
            _ => cnt as i64,
        };
        let last = i64::from(elm) + cnt - 1;
        format!(
            "{:>20}[{elm:>3}-{last:<3}]+{:>3} {act} {val}: {res}",
            p.tag, p.offset
        )
    }

    /// The line cpppo's get-attribute prints (after a timestamp):
    /// `  0: Single G_A_S      @0x0001/1/7 == [1, 0]`.
    pub fn attribute_line(&self) -> String {
        format!(
            "{:3}: {} == {}",
            self.index,
            self.description,
            self.value_text()
        )
    }

    /// The value as Python shows it: `[1, 2]`, `True` for a successful attribute write,
    /// `None` on failure.
    pub fn value_text(&self) -> String {
        match &self.value {
            None => "None".into(),
            Some(_) if self.plan.kind == Kind::SetAttributeSingle => "True".into(),
            Some(v) => python_values(v),
        }
    }

    /// The transaction as one JSON object.
    pub fn json(&self) -> serde_json::Value {
        let values = super::proxy::values_json(&self.value);
        serde_json::json!({
            "index": self.index,
            "description": &*self.description,
            "tag": self.plan.tag,
            "operation": if self.plan.kind.is_read() { "read" } else { "write" },
            "status": self.status.general,
            "extended_status": self.status.extended,
            "ok": self.value.is_some(),
            "value": values,
        })
    }
}

struct Job {
    plan: Arc<Plan>,
    acc: Accumulator,
    request: Arc<Vec<u8>>,
    done: Option<(ReplyStatus, Option<Vec<Literal>>, Vec<u8>)>,
    retries: u8,
}

struct Inflight {
    key: u64,
    /// The operations it carries: the first, and any more in one Multiple Service Packet.
    first: usize,
    more: Vec<usize>,
    msp: bool,
}

impl Inflight {
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
    }
}

/// A planned operation: its plan and its first request, encoded.
type Planned = (Arc<Plan>, Arc<Vec<u8>>);

/// Where a pipeline's operations come from.
enum Ops<'c> {
    /// Any iterator; each operation is planned, or found among the recent plans.
    Iter(Box<dyn Iterator<Item = Operation> + Send + 'c>),
    /// Operations taken in turn over and over, each planned once and never cloned; `left`
    /// more to take (`None`: endless).
    Cycle {
        ops: Vec<Operation>,
        plans: Vec<Option<Planned>>,
        at: usize,
        left: Option<usize>,
    },
}

/// Operations being pipelined over a [`Connector`]; pull results with [`Pipeline::next`].
///
/// It borrows its connector (`C`, [`Connector::pipeline`]) or owns it ([`Pipeline::owning`],
/// for a caller that keeps a pipeline between calls, eg. a Python iterator).
pub struct Pipeline<'c, C = &'c mut Connector> {
    conn: C,
    ops: Ops<'c>,
    cache: Vec<(Operation, Arc<Plan>, Arc<Vec<u8>>)>,
    cached: usize,
    /// Use the fragmented services for every tag.
    pub fragment: bool,
    /// Treat numeric addresses as attribute services (get-attribute).
    pub attributes: bool,
    depth: usize,
    multiple: usize,
    next_index: usize,
    base: usize,
    jobs: VecDeque<Job>,
    ready: VecDeque<(usize, u32)>,
    inflight: VecDeque<Inflight>,
    dead: bool,
    sent: usize,
    keep_replies: bool,
    /// The reply being dispatched (kept between replies).
    reply: Vec<u8>,
}

impl<'c, C: BorrowMut<Connector>> Pipeline<'c, C> {
    /// Pipelines `ops` over `conn` with up to `depth` requests in flight, batched into
    /// Multiple Service Packets of up to `multiple` bytes (0: none). Operations are taken
    /// from `ops` only as requests can be sent; [`Pipeline::into_connector`] gives `conn`
    /// back.
    pub fn owning<I>(conn: C, ops: I, depth: usize, multiple: usize) -> Self
    where
        I: IntoIterator<Item = Operation>,
        I::IntoIter: Send + 'c,
    {
        Self::from_ops(conn, Ops::Iter(Box::new(ops.into_iter())), depth, multiple)
    }

    /// Pipelines `ops` taken in turn, over and over, `count` operations in all (`None`:
    /// without end), as [`Pipeline::owning`] does an iterator of them. A repeated operation is
    /// planned and encoded once and never copied: the cheapest way to poll the same tags
    /// again and again (a lock-step loop, `cpppo enip thruput`). No operations, no results.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), cpppo_enip::client::ClientError> {
    /// use cpppo_enip::client::{operation::Operation, Connector, Options, Pipeline};
    /// let conn = Connector::connect("127.0.0.1:44818", Options::default()).await?;
    /// let op = Operation::parse("SCADA[1]").map_err(|e| cpppo_enip::client::ClientError::Protocol(e.to_string()))?;
    /// let mut reads = Pipeline::cycling(conn, vec![op], Some(1000), 1, 0);
    /// while let Some(result) = reads.next_value().await {
    ///     let (_is_read, values) = result?;
    ///     assert!(values.is_some());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn cycling(
        conn: C,
        ops: Vec<Operation>,
        count: Option<usize>,
        depth: usize,
        multiple: usize,
    ) -> Self {
        let ops = Ops::Cycle {
            plans: vec![None; ops.len()],
            ops,
            at: 0,
            left: count,
        };
        Self::from_ops(conn, ops, depth, multiple)
    }

    fn from_ops(conn: C, ops: Ops<'c>, depth: usize, multiple: usize) -> Self {
        let max_message = conn.borrow().max_message();
        Pipeline {
            conn,
            ops,
            cache: Vec::new(),
            cached: 0,
            fragment: false,
            attributes: false,
            depth: depth.max(1),
            multiple: multiple.min(max_message),
            next_index: 0,
            base: 0,
            jobs: VecDeque::new(),
            ready: VecDeque::new(),
            inflight: VecDeque::new(),
            dead: false,
            sent: 0,
            keep_replies: true,
            reply: Vec::new(),
        }
    }

    /// Use Read/Write Tag Fragmented for every tag operation.
    pub fn fragmented(mut self, fragment: bool) -> Self {
        self.fragment = fragment;
        self
    }

    /// Use attribute services for numeric addresses.
    pub fn attributes(mut self, attributes: bool) -> Self {
        self.attributes = attributes;
        self
    }

    /// Keep each reply's bytes in its transaction (the default). Without, `reply` is empty:
    /// a bulk read that wants only values skips a copy per operation.
    pub fn replies(mut self, keep: bool) -> Self {
        self.keep_replies = keep;
        self
    }

    /// How many requests have been sent so far (a Multiple Service Packet counts once, each
    /// fragment of a fragmented operation once).
    pub fn requests(&self) -> usize {
        self.sent
    }

    /// Whether the next result is complete: [`Pipeline::next`] returns it without waiting
    /// on (or touching) the network.
    pub fn is_ready(&self) -> bool {
        self.dead || self.jobs.front().is_some_and(|j| j.done.is_some())
    }

    /// The connector, after the last result (or to drop it: requests may still be in
    /// flight, their replies unread, if [`Pipeline::next`] has not returned `None`).
    pub fn into_connector(self) -> C {
        self.conn
    }

    /// Every remaining result.
    pub async fn collect(mut self) -> Result<Vec<Transaction>, ClientError> {
        let mut out = Vec::new();
        while let Some(t) = self.next().await {
            out.push(t?);
        }
        Ok(out)
    }

    /// The next result in operation order; `None` when all are done (or after an error).
    pub async fn next(&mut self) -> Option<Result<Transaction, ClientError>> {
        match self.ready_next().await? {
            Ok(()) => self.pop().map(Ok),
            Err(e) => Some(Err(e)),
        }
    }

    /// The next result's value only, in operation order: whether it was a read, and the
    /// values read or written (`None` on failure). Cheaper than [`Pipeline::next`]: no
    /// transaction (description, request) is made.
    pub async fn next_value(
        &mut self,
    ) -> Option<Result<(bool, Option<Vec<Literal>>), ClientError>> {
        match self.ready_next().await? {
            Ok(()) => {
                let job = self.jobs.pop_front()?;
                self.base += 1;
                let (_, value, _) = job.done?;
                Some(Ok((job.plan.kind.is_read(), value)))
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// Runs until the front operation is done: `None` when all are (or after an error).
    async fn ready_next(&mut self) -> Option<Result<(), ClientError>> {
        if self.dead {
            return None;
        }
        let result = self.advance().await;
        if !matches!(result, Ok(true)) {
            self.dead = true;
        }
        match result {
            Ok(true) => Some(Ok(())),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    async fn advance(&mut self) -> Result<bool, ClientError> {
        loop {
            if self.jobs.front().is_some_and(|j| j.done.is_some()) {
                return Ok(true);
            }
            self.issue().await?;
            if self.inflight.is_empty() {
                return Ok(false);
            }
            let (key, message) = self.conn.borrow_mut().recv_reply().await?;
            let Some(pos) = self.inflight.iter().position(|f| f.key == key) else {
                continue;
            };
            let mut bytes = std::mem::take(&mut self.reply);
            bytes.clear();
            bytes.extend_from_slice(message);
            let Some(flight) = self.inflight.remove(pos) else {
                continue;
            };
            let dispatched = self.dispatch(&flight, &bytes);
            self.reply = bytes;
            dispatched?;
        }
    }

    fn pop(&mut self) -> Option<Transaction> {
        let job = self.jobs.pop_front()?;
        let index = self.base;
        self.base += 1;
        let (status, value, reply) = job.done?;
        Some(Transaction {
            index,
            description: job.plan.description.clone(),
            request: job.request,
            reply,
            status,
            value,
            plan: job.plan,
        })
    }

    fn job(&mut self, index: usize) -> Option<&mut Job> {
        self.jobs.get_mut(index.checked_sub(self.base)?)
    }

    /// The next request to send: a follow-up, else the next operation planned.
    fn next_ready(&mut self) -> Result<Option<(usize, u32)>, ClientError> {
        if let Some(r) = self.ready.pop_front() {
            return Ok(Some(r));
        }
        if self.jobs.len() >= WINDOW {
            return Ok(None);
        }
        let Some((plan, request)) = self.next_planned()? else {
            return Ok(None);
        };
        self.jobs.push_back(Job {
            plan,
            acc: Accumulator::default(),
            request,
            done: None,
            retries: 0,
        });
        let index = self.next_index;
        self.next_index += 1;
        Ok(Some((index, 0)))
    }

    /// The next operation's plan and request, if there is a next operation.
    fn next_planned(&mut self) -> Result<Option<Planned>, ClientError> {
        let (fragment, attributes) = (self.fragment, self.attributes);
        let max_message = self.conn.borrow().max_message();
        let (ops, plans, at, left) = match &mut self.ops {
            Ops::Iter(iter) => {
                return match iter.next() {
                    Some(op) => self.plan(op).map(Some),
                    None => Ok(None),
                }
            }
            Ops::Cycle {
                ops,
                plans,
                at,
                left,
            } => (ops, plans, at, left),
        };
        let i = *at;
        let (Some(op), Some(slot)) = (ops.get(i), plans.get_mut(i)) else {
            return Ok(None);
        };
        match left {
            Some(0) => return Ok(None),
            Some(n) => *n -= 1,
            None => {}
        }
        *at = (i + 1) % ops.len();
        if let Some(planned) = slot {
            return Ok(Some(planned.clone()));
        }
        let planned = plan_of(op, fragment, attributes, max_message)?;
        *slot = Some(planned.clone());
        Ok(Some(planned))
    }

    /// The plan of `op`, from a small cache of recent operations (repeated operations are
    /// planned once).
    fn plan(&mut self, op: Operation) -> Result<Planned, ClientError> {
        if let Some((_, plan, req)) = self.cache.iter().find(|(o, ..)| *o == op) {
            return Ok((plan.clone(), req.clone()));
        }
        let max_message = self.conn.borrow().max_message();
        let (plan, request) = plan_of(&op, self.fragment, self.attributes, max_message)?;
        let entry = (op, plan.clone(), request.clone());
        if self.cache.len() < PLAN_CACHE {
            self.cache.push(entry);
        } else if let Some(slot) = self.cache.get_mut(self.cached % PLAN_CACHE) {
            *slot = entry;
        }
        self.cached = self.cached.wrapping_add(1);
        Ok((plan, request))
    }

    fn request_of(&mut self, index: usize, extra: u32) -> Result<Arc<Vec<u8>>, ClientError> {
        let job = self
            .job(index)
            .ok_or_else(|| ClientError::Protocol("lost operation".into()))?;
        if extra == 0 {
            Ok(job.request.clone())
        } else {
            job.plan.request(extra).map(Arc::new)
        }
    }

    async fn issue(&mut self) -> Result<(), ClientError> {
        while self.inflight.len() < self.depth {
            let Some((first, extra)) = self.next_ready()? else {
                break;
            };
            let req = self.request_of(first, extra)?;
            let estimate = self.job(first).map_or(0, |j| j.plan.reply_estimate());
            let limit = self.multiple;
            let alone = limit == 0 || req.len() + 8 > limit || estimate + 8 > limit;
            if alone {
                let key = self.conn.borrow_mut().queue(&req)?;
                self.sent += 1;
                self.inflight.push_back(Inflight {
                    key,
                    first,
                    more: Vec::new(),
                    msp: false,
                });
                continue;
            }
            let (mut size, mut reply) = (8 + req.len(), 8 + estimate);
            let mut members = vec![first];
            let mut items = vec![req];
            while members.len() < MSP_ITEMS {
                let Some((index, extra)) = self.next_ready()? else {
                    break;
                };
                let req = self.request_of(index, extra)?;
                let est = self.job(index).map_or(0, |j| j.plan.reply_estimate());
                if size + req.len() + 2 > limit || reply + est + 2 > limit {
                    self.ready.push_front((index, extra));
                    break;
                }
                size += req.len() + 2;
                reply += est + 2;
                members.push(index);
                items.push(req);
            }
            let mr = if items.len() == 1 {
                items.swap_remove(0)
            } else {
                Arc::new(msp(&items)?)
            };
            let key = self.conn.borrow_mut().queue(&mr)?;
            self.sent += 1;
            let msp = members.len() > 1;
            let more = members.split_off(1);
            self.inflight.push_back(Inflight {
                key,
                first,
                more,
                msp,
            });
        }
        self.conn.borrow_mut().flush().await
    }

    fn dispatch(&mut self, flight: &Inflight, bytes: &[u8]) -> Result<(), ClientError> {
        let reply = MrReply::parse(bytes)?;
        if !flight.msp {
            let _ = self.absorb(flight.first, &reply, bytes);
            return Ok(());
        }
        let table = (reply.service == 0x0A && !reply.data.is_empty())
            .then(|| Table::parse(reply.data).ok())
            .flatten();
        // The estimated reply bytes of the operations answered before the first that found
        // no room, if one did not.
        let (mut room, mut overflowed) = (8, false);
        for (i, index) in flight.members().enumerate() {
            let estimate = self.job(index).map_or(0, |j| j.plan.reply_estimate() + 2);
            let retried = match table.as_ref().map(|t| t.item(i)) {
                Some(item) if !item.is_empty() => match MrReply::parse(item) {
                    Ok(sub) => self.absorb(index, &sub, item),
                    Err(_) => {
                        self.fail(index, ReplyStatus::general(0x08), item);
                        false
                    }
                },
                // No reply for this one: a packet cut short for want of room is asked again.
                _ if reply.general_status == 0x06 && self.retry(index) => true,
                _ => {
                    let status = ReplyStatus {
                        general: reply.general_status.max(1),
                        ..ReplyStatus::of(&reply)
                    };
                    self.fail(index, status, bytes);
                    false
                }
            };
            overflowed |= retried;
            if !overflowed {
                room += estimate;
            }
        }
        if overflowed && room < self.multiple {
            // The device's replies are smaller than the limit asked for: use what fits.
            tracing::debug!("Multiple Service Packet limit {} -> {room}", self.multiple);
            self.multiple = room.max(64);
        }
        Ok(())
    }

    /// Queues a read again (at the front) if it has retries left.
    fn retry(&mut self, index: usize) -> bool {
        let Some(job) = self.job(index) else {
            return false;
        };
        if !job.plan.kind.is_read() || job.retries >= MAX_RETRIES {
            return false;
        }
        job.retries += 1;
        let extra = u32::try_from(job.acc.data.len()).unwrap_or(u32::MAX);
        self.ready.push_front((index, extra));
        true
    }

    fn fail(&mut self, index: usize, status: ReplyStatus, bytes: &[u8]) {
        if let Some(job) = self.job(index) {
            job.done = Some((status, None, bytes.to_vec()));
        }
    }

    /// Absorbs one reply into its operation; true if it had to be asked again for want of
    /// room in the reply.
    fn absorb(&mut self, index: usize, reply: &MrReply<'_>, bytes: &[u8]) -> bool {
        // A read the device had no room left for (a partial transfer with no values, as in a
        // Multiple Service Packet whose replies overflow): ask again, a few times.
        let no_values = || TagType::parse(reply.data).map_or(true, |(_, n)| reply.data.len() <= n);
        if reply.general_status == 0x06 && no_values() && self.retry(index) {
            return true;
        }
        let keep = self.keep_replies;
        let Some(job) = self.job(index) else {
            return false;
        };
        match job.plan.absorb(&mut job.acc, reply) {
            Absorbed::Done(status, value) => {
                let reply = if keep { bytes.to_vec() } else { Vec::new() };
                job.done = Some((status, value, reply))
            }
            Absorbed::More(extra) => self.ready.push_front((index, extra)),
        }
        false
    }
}

/// The plan of `op` (its writes split to fit `max_message`) and its first request.
fn plan_of(
    op: &Operation,
    fragment: bool,
    attributes: bool,
    max_message: usize,
) -> Result<Planned, ClientError> {
    let mut plan = Plan::new(op, fragment, attributes)?;
    plan.split_writes(max_message);
    let plan = Arc::new(plan);
    let request = Arc::new(plan.request(0)?);
    Ok((plan, request))
}

/// A Multiple Service Packet request to the Message Router carrying `items`.
fn msp(items: &[Arc<Vec<u8>>]) -> Result<Vec<u8>, ClientError> {
    let len = 2 + 2 * items.len() + items.iter().map(|i| i.len()).sum::<usize>();
    let mut data = vec![0u8; len];
    let mut w = MspWriter::new(&mut data, items.len())?;
    for item in items {
        w.push(|t| item.as_slice().emit(t))?;
    }
    let n = w.finish()?;
    data.truncate(n);
    mr_request(0x0A, &MESSAGE_ROUTER, &data).map_err(ClientError::Protocol)
}
