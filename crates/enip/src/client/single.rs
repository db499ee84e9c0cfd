//! One operation at a time, lean: a [`Single`] is planned and encoded once, and each
//! [`Connector::perform`] queues the same request bytes, sends them, and decodes the reply in
//! place. No pipeline, no per-call plan or description, no copy of the reply: a lock-step
//! `read` allocates only its result.
//!
//! ```no_run
//! # fn demo() -> Result<(), cpppo_enip::client::ClientError> {
//! use cpppo_enip::client::{blocking, Options};
//! use cpppo_enip::client::operation::Operation;
//! let mut c = blocking::Client::connect("127.0.0.1:44818", Options::default())?;
//! let mut read = c.prepare(&Operation::parse("SCADA[1]")?)?;
//! for _ in 0..1000 {
//!     let values = c.perform(&mut read)?;
//!     assert_eq!(values.len(), 1);
//! }
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use cpppo_cip::mr::MrReply;

use super::connector::Connector;
use super::error::ClientError;
use super::plan::{Absorbed, Accumulator, Plan};
use crate::client::operation::{Literal, Operation};

/// One tag or attribute operation, planned and encoded once for repeated lock-step calls
/// ([`Connector::prepare`], [`Connector::perform`]).
#[derive(Clone, Debug)]
pub struct Single {
    plan: Plan,
    request: Vec<u8>,
    acc: Accumulator,
}

impl Single {
    /// Plans `op` as a pipeline does (tag services for tags, fragmented where asked; a write
    /// too large for `max_message` bytes is split into Write Tag Fragmented pieces).
    pub fn new(op: &Operation, max_message: usize) -> Result<Single, ClientError> {
        let mut plan = Plan::new(op, false, false)?;
        plan.split_writes(max_message);
        let request = plan.request(0)?;
        Ok(Single {
            plan,
            request,
            acc: Accumulator::default(),
        })
    }

    /// How it is done.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

impl Connector {
    /// Plans `op` for [`Connector::perform`], sized to this session's largest message.
    pub fn prepare(&self, op: &Operation) -> Result<Single, ClientError> {
        Single::new(op, self.max_message())
    }

    /// Runs a prepared operation to its end, one request at a time (following Read Tag
    /// Fragmented for a read larger than one reply, and every piece of a split write): the
    /// values read (or written), or [`ClientError::Status`] with the reply's status.
    pub async fn perform(&mut self, single: &mut Single) -> Result<Vec<Literal>, ClientError> {
        let Single { plan, request, acc } = single;
        acc.data.clear();
        acc.written = 0;
        acc.tag_type = None;
        let mut extra = 0;
        loop {
            let key = if extra == 0 {
                self.queue(request)?
            } else {
                self.queue(&plan.request(extra)?)?
            };
            self.flush().await?;
            let absorbed = loop {
                let (got, message) = self.recv_reply().await?;
                if got == key {
                    break plan.absorb(acc, &MrReply::parse(message)?);
                }
            };
            match absorbed {
                Absorbed::Done(_, Some(values)) => return Ok(values),
                Absorbed::Done(status, None) => {
                    return Err(ClientError::Status {
                        what: plan.description.to_string(),
                        status,
                    })
                }
                Absorbed::More(next) => extra = next,
            }
        }
    }

    /// [`Connector::perform`] without an async runtime, on a connector in blocking mode
    /// ([`Connector::connect_blocking`], [`Connector::set_blocking`]): one `write` and one
    /// `read` per request, on the calling thread.
    pub fn perform_blocking(&mut self, single: &mut Single) -> Result<Vec<Literal>, ClientError> {
        if !self.is_blocking() {
            return Err(ClientError::Protocol(
                "perform_blocking needs a connector in blocking mode".into(),
            ));
        }
        // In blocking mode every wait happens inside the system calls: the future is done
        // when first polled.
        let fut = pin!(self.perform(single));
        match fut.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(done) => done,
            Poll::Pending => Err(ClientError::Protocol(
                "a blocking-mode request did not complete".into(),
            )),
        }
    }
}
