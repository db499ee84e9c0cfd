//! Cyclic polling of parameters over one connection, with capped exponential back-off.
//!
//! A [`Poller`] reads its parameters through a shared [`Proxy`] every `cycle`; several pollers
//! (tasks) may share one proxy, and so one session. Values and failures are delivered as
//! [`Event`]s on a channel ([`Poller::spawn`]) or to callbacks ([`Poller::run`]). After a
//! failure it waits `backoff` (doubling each time up to the cap) before trying again; the
//! proxy reconnects on that attempt.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Mutex};

use super::error::ClientError;
use super::proxy::{Param, Proxy};
use crate::client::operation::Literal;

/// What a poll cycle produced.
#[derive(Debug)]
pub enum PollEvent {
    /// Every parameter's value (`None` where the device refused it).
    Values(Vec<(Param, Option<Vec<Literal>>)>),
    /// The poll failed; the next attempt is after `backoff`.
    Failure {
        /// What went wrong.
        error: ClientError,
        /// How long the poller waits before trying again.
        backoff: Duration,
    },
}

/// Polls parameters cyclically.
pub struct Poller {
    proxy: Arc<Mutex<Proxy>>,
    params: Vec<Param>,
    cycle: Duration,
    /// First back-off after a failure.
    pub backoff_min: Duration,
    /// The cap on the back-off.
    pub backoff_max: Duration,
}

impl Poller {
    /// Polls `params` through its own `proxy` every `cycle`.
    pub fn new(proxy: Proxy, params: Vec<Param>, cycle: Duration) -> Poller {
        Poller::shared(Arc::new(Mutex::new(proxy)), params, cycle)
    }

    /// Polls `params` through a proxy shared with other pollers (one session for all).
    pub fn shared(proxy: Arc<Mutex<Proxy>>, params: Vec<Param>, cycle: Duration) -> Poller {
        Poller {
            proxy,
            params,
            cycle,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
        }
    }

    /// Sets the back-off range (first wait, cap).
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Poller {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Polls in a task until the receiver is dropped; events arrive on the receiver.
    pub fn spawn(self) -> mpsc::Receiver<PollEvent> {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let sent = tx.clone();
            self.run_with(|e| {
                let tx = sent.clone();
                async move { tx.send(e).await.is_ok() }
            })
            .await;
            drop(tx);
        });
        rx
    }

    /// Polls until a callback returns `false`: `on_values` gets each cycle's values,
    /// `on_failure` each failure and the back-off before the next attempt.
    pub async fn run(
        self,
        mut on_values: impl FnMut(&[(Param, Option<Vec<Literal>>)]) -> bool,
        mut on_failure: impl FnMut(&ClientError, Duration) -> bool,
    ) {
        self.run_with(|e| {
            let go = match &e {
                PollEvent::Values(v) => on_values(v),
                PollEvent::Failure { error, backoff } => on_failure(error, *backoff),
            };
            async move { go }
        })
        .await;
    }

    async fn run_with<F, Fut>(self, mut deliver: F)
    where
        F: FnMut(PollEvent) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut backoff = self.backoff_min;
        let mut next = tokio::time::Instant::now();
        loop {
            let result = self.proxy.lock().await.operate(&self.params).await;
            let (event, wait) = match result {
                Ok(values) => {
                    backoff = self.backoff_min;
                    next += self.cycle;
                    let now = tokio::time::Instant::now();
                    if next < now {
                        // Missed cycles: skip them rather than bursting.
                        let behind = now.duration_since(next).as_nanos();
                        let cycle = self.cycle.as_nanos().max(1);
                        let missed = u32::try_from(behind / cycle + 1).unwrap_or(u32::MAX);
                        next += self.cycle.saturating_mul(missed);
                        tracing::info!("missed {missed} polls");
                    }
                    let pairs = self.params.iter().cloned().zip(values).collect();
                    (PollEvent::Values(pairs), next)
                }
                Err(error) => {
                    let wait = backoff;
                    backoff = (backoff * 2).min(self.backoff_max);
                    next = tokio::time::Instant::now() + wait;
                    (
                        PollEvent::Failure {
                            error,
                            backoff: wait,
                        },
                        next,
                    )
                }
            };
            if !deliver(event).await {
                return;
            }
            tokio::time::sleep_until(wait).await;
        }
    }
}
