//! One long-lived timer bounding a connection's many waits.
//!
//! A lock-step client waits for every reply within a timeout. `tokio::time::timeout` around
//! each read registers a fresh timer in the runtime's wheel and removes it again once the
//! reply came: a lock and two wheel updates per request. A [`Deadline`] keeps one timer for
//! the connection's life and moves it to each wait's deadline; moving a timer that has not
//! fired to a later instant is one atomic update. It is armed only when the wait has to
//! wait: an operation ready at once (a write into a socket buffer with room) touches no
//! timer.
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
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use tokio::time::Sleep;

/// A timer reused by every wait of one connection (made on its first wait, inside the
/// runtime that drives the connection; [`Deadline::clear`] when that changes).
#[derive(Debug, Default)]
pub struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    /// Runs `work` to completion unless the timer, moved to `at()` when `work` first has to
    /// wait, fires first: then `None` (and `work` is dropped).
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
            if let Some(when) = at.take().map(|at| tokio::time::Instant::from_std(at())) {
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(when)));
                if sleep.deadline() != when {
                    sleep.as_mut().reset(when);
                }
            }
            match self.sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
                Some(Poll::Pending) => Poll::Pending,
                _ => Poll::Ready(None),
            }
        })
        .await
    }

    /// Forgets the timer (a connection moved to another runtime makes a new one there).
    pub fn clear(&mut self) {
        self.sleep = None;
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
}
