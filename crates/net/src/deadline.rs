//! One long-lived timer bounding a connection's many waits.
//!
//! A lock-step client waits for every reply within a timeout. `tokio::time::timeout` around
//! each read registers a fresh timer in the runtime's wheel and removes it again once the
//! reply came: a lock and two wheel updates per request. A [`Deadline`] keeps one timer for
//! the connection's life, and moving its deadline is lazy: a later deadline is only noted
//! (a plain `Instant` store), and the timer is moved to it when it fires at the earlier one
//! it was armed for: one timer update per timeout period, not one per request. A deadline
//! earlier than the armed one moves the timer at once. The timer is armed only when a wait
//! has to wait: an operation ready at once (a write into a socket buffer with room) touches
//! no timer.
//!
//! Two ways to use it:
//!
//! - [`Deadline::within`]: run one future within a deadline (a client's read of its reply);
//! - [`Deadline::set`] + [`Deadline::expired`] (or [`Deadline::poll_expired`]): a deadline
//!   that other events move, raced against them in a `select!` (a server's idle timeout,
//!   pushed back by each request). The future [`Deadline::expired`] returns resolves only
//!   once the latest deadline set has passed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::{Duration, Instant};
//! use cpppo_net::deadline::Deadline;
//! let mut deadline = Deadline::default();
//! let soon = || Instant::now() + Duration::from_millis(20);
//! assert_eq!(deadline.within(async { 7 }, soon).await, Some(7));
//! assert_eq!(deadline.within(std::future::pending::<u8>(), soon).await, None);
//!
//! // In a select!: an idle timeout that each message pushes back.
//! let (tx, mut rx) = tokio::sync::mpsc::channel::<u8>(4);
//! tx.send(1).await.unwrap();
//! let mut idle = Deadline::default();
//! let mut got = 0;
//! loop {
//!     idle.set(Instant::now() + Duration::from_millis(20));
//!     tokio::select! {
//!         Some(_) = rx.recv() => got += 1,
//!         () = idle.expired() => break,
//!     }
//! }
//! assert_eq!(got, 1);
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::time::{Instant as TokioInstant, Sleep};

/// A timer reused by every wait of one connection (made on its first wait, inside the
/// runtime that drives the connection; [`Deadline::clear`] when that changes).
#[derive(Debug, Default)]
pub struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
    /// The deadline in force; the timer may be armed earlier (it is moved here when it
    /// fires), never later.
    until: Option<TokioInstant>,
    /// Makes the timer (default: `tokio::time::sleep_until` in the current runtime).
    make: Option<fn(TokioInstant) -> Sleep>,
}

impl Deadline {
    /// A deadline whose timer `make` creates (once, on the first wait): eg. a timer kept in
    /// a runtime of its own ([`crate::conn::policy_sleep`]) rather than the current one.
    pub fn with_timer(make: fn(TokioInstant) -> Sleep) -> Deadline {
        Deadline {
            make: Some(make),
            ..Deadline::default()
        }
    }

    /// Runs `work` to completion unless the deadline, set to `at()` when `work` first has
    /// to wait, passes first: then `None` (and `work` is dropped).
    pub async fn within<T>(
        &mut self,
        work: impl Future<Output = T>,
        at: impl FnOnce() -> Instant,
    ) -> Option<T> {
        let mut work = std::pin::pin!(work);
        let mut at = Some(at);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(done) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(done));
            }
            if let Some(at) = at.take() {
                self.set(at());
            }
            self.poll_expired(cx).map(|()| None)
        })
        .await
    }

    /// Makes `at` the deadline. A later one than the timer is armed for costs no timer
    /// update now (the timer moves when it fires); an earlier one moves the timer at once.
    pub fn set(&mut self, at: Instant) {
        let when = TokioInstant::from_std(at);
        self.until = Some(when);
        if let Some(sleep) = &mut self.sleep {
            if when < sleep.deadline() {
                sleep.as_mut().reset(when);
            }
        }
    }

    /// No deadline: [`Deadline::expired`] never resolves until [`Deadline::set`] again.
    pub fn unset(&mut self) {
        self.until = None;
    }

    /// The deadline in force, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.until.map(TokioInstant::into_std)
    }

    /// Ready once the deadline has passed (registering the task's waker until then);
    /// pending while there is none.
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(until) = self.until else {
            return Poll::Pending;
        };
        let make = self.make.unwrap_or(tokio::time::sleep_until);
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(make(until)));
        loop {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if sleep.deadline() >= until {
                return Poll::Ready(());
            }
            // It fired at an earlier deadline since moved on: arm it for the one in force.
            sleep.as_mut().reset(until);
        }
    }

    /// Resolves once the deadline has passed (see [`Deadline::poll_expired`]); for a
    /// `select!` against the events that move it with [`Deadline::set`].
    pub fn expired(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| self.poll_expired(cx))
    }

    /// Forgets the timer and the deadline (a connection moved to another runtime makes a
    /// new timer there).
    pub fn clear(&mut self) {
        self.sleep = None;
        self.until = None;
    }

    /// The instant the timer is armed for, if it was made (tests: how often it moves).
    #[cfg(test)]
    fn armed(&self) -> Option<TokioInstant> {
        self.sleep.as_ref().map(|s| s.deadline())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The (paused) runtime clock's now.
    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    #[tokio::test(start_paused = true)]
    async fn each_wait_ends_at_its_own_deadline_with_one_timer() {
        let mut d = Deadline::default();
        let start = now();
        // A wait that never ends is cut at its deadline.
        let at = start + Duration::from_secs(5);
        assert_eq!(d.within(std::future::pending::<()>(), || at).await, None);
        assert!(now() >= at);
        // A later wait answered before its deadline gets its answer, with the timer moved
        // to a later deadline...
        let later = now() + Duration::from_secs(5);
        let reply = tokio::time::sleep(Duration::from_secs(1));
        assert_eq!(
            d.within(
                async {
                    reply.await;
                    42
                },
                || later
            )
            .await,
            Some(42)
        );
        // ... and the next wait, with a deadline earlier than the timer's, ends at its own.
        let sooner = now() + Duration::from_secs(2);
        assert_eq!(
            d.within(std::future::pending::<()>(), || sooner).await,
            None
        );
        let end = now();
        assert!(end >= sooner && end < later, "ended at its own deadline");
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ready_at_once_is_not_timed() {
        let mut d = Deadline::default();
        let past = now() - Duration::from_secs(1);
        // Ready work beats even a deadline already past, and arms no timer.
        assert_eq!(d.within(async { 1 }, || past).await, Some(1));
        assert!(d.sleep.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn later_deadlines_leave_the_timer_alone_and_still_hold() {
        let mut d = Deadline::default();
        let start = now();
        let first = start + Duration::from_secs(5);
        // Many lock-step waits, each answered after 1 s, each with a deadline 5 s on.
        for _ in 0..3 {
            let at = now() + Duration::from_secs(5);
            let reply = tokio::time::sleep(Duration::from_secs(1));
            assert_eq!(d.within(reply, || at).await, Some(()));
        }
        // The timer still waits for the first deadline: the later ones were only noted.
        assert_eq!(d.armed(), Some(TokioInstant::from_std(first)));
        // A wait never answered ends at its own (latest) deadline, not the armed one.
        let last = now() + Duration::from_secs(5);
        assert_eq!(d.within(std::future::pending::<()>(), || last).await, None);
        assert!(
            now() >= last,
            "not cut at the earlier armed instant {first:?}"
        );
        assert!(now() < last + Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_of_the_callers_making_is_made_once_and_honoured() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MADE: AtomicUsize = AtomicUsize::new(0);
        fn make(at: TokioInstant) -> Sleep {
            MADE.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep_until(at)
        }
        let mut d = Deadline::with_timer(make);
        for secs in [2, 3] {
            let at = now() + Duration::from_secs(secs);
            assert_eq!(d.within(std::future::pending::<()>(), || at).await, None);
            assert!(now() >= at);
        }
        assert_eq!(MADE.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn in_a_select_the_deadline_pushed_back_by_each_event_ends_the_loop() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(8);
        let sender = tokio::spawn(async move {
            for i in 0..4 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                let _ = tx.send(i).await;
            }
            // Keeps the channel open: only the idle deadline can end the loop.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let mut idle = Deadline::default();
        let mut got = Vec::new();
        let mut last = now();
        loop {
            idle.set(last + Duration::from_secs(5));
            tokio::select! {
                Some(v) = rx.recv() => {
                    got.push(v);
                    last = now();
                }
                () = idle.expired() => break,
            }
        }
        // Four messages 3 s apart (each within 5 s of the last) kept it alive; it ended
        // 5 s after the last one, at 12 + 5 s.
        assert_eq!(got, vec![0, 1, 2, 3]);
        assert!(now() >= last + Duration::from_secs(5));
        assert!(now() < last + Duration::from_secs(5) + Duration::from_millis(10));
        // No deadline: never expires.
        idle.unset();
        let never = tokio::time::timeout(Duration::from_secs(60), idle.expired()).await;
        assert!(never.is_err());
        sender.abort();
    }
}
