//! Playing history back in real time × a speed factor.
//!
//! [`Pace`] is cpppo's mapping between wall-clock and historical time: a historical start
//! time `historical` is played at wall-clock instant `basis`, and time runs `factor` times
//! as fast as the wall clock:
//!
//! ```text
//! historical_at(now) = historical + (now - basis) × factor
//! due(t)             = basis + (t - historical) / factor
//! ```
//!
//! [`Player`] drives a [`HistoryReader`] with it, sleeping (blocking the thread) until each
//! record is due. An async caller (the simulator's `--replay`) uses the [`HistoryReader`]
//! and [`Pace::due`] with its own timer (e.g. `tokio::time::sleep_until`) instead.

use std::time::{Duration, Instant};

use crate::reader::{Entry, HistoryReader, ReadError};
use crate::time::Timestamp;

/// The longest a single record is waited for (a year); later records are treated as due
/// then, so arithmetic never overflows.
const MAX_WAIT: Duration = Duration::from_secs(365 * 86_400);

/// A speed factor that is not a finite number above zero.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("invalid speed {0}: must be a finite number greater than 0")]
pub struct SpeedError(pub f64);

/// The wall-clock ↔ historical time mapping (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    basis: Instant,
    historical: Timestamp,
    factor: f64,
}

impl Pace {
    /// Play `historical` now, at `factor` × real time.
    pub fn new(historical: Timestamp, factor: f64) -> Result<Pace, SpeedError> {
        Pace::with_basis(historical, Instant::now(), factor)
    }

    /// Play `historical` at wall-clock `basis`, at `factor` × real time.
    pub fn with_basis(
        historical: Timestamp,
        basis: Instant,
        factor: f64,
    ) -> Result<Pace, SpeedError> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(SpeedError(factor));
        }
        Ok(Pace {
            basis,
            historical,
            factor,
        })
    }

    /// The speed factor.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The historical time that plays at wall-clock `basis`.
    pub fn historical(&self) -> Timestamp {
        self.historical
    }

    /// The historical time being played at wall-clock `now`.
    pub fn historical_at(&self, now: Instant) -> Timestamp {
        let elapsed = now.saturating_duration_since(self.basis).as_secs_f64() * self.factor;
        // Float-to-int `as` saturates; out-of-range sums clamp to the latest instant.
        let micros = (elapsed * 1e6) as i64;
        self.historical
            .checked_add_micros(micros)
            .unwrap_or(Timestamp::MAX)
    }

    /// The wall-clock instant at which historical `time` plays (never before `basis`, at
    /// most a year after it).
    pub fn due(&self, time: Timestamp) -> Instant {
        let ahead = time.micros_since(self.historical).max(0) as f64 / 1e6 / self.factor;
        let wait = Duration::try_from_secs_f64(ahead).map_or(MAX_WAIT, |d| d.min(MAX_WAIT));
        self.basis.checked_add(wait).unwrap_or(self.basis)
    }
}

/// Yields a reader's records, each no sooner than its due time (or at once, without speed).
pub struct Player {
    reader: HistoryReader,
    factor: Option<f64>,
    start: Option<Timestamp>,
    pace: Option<Pace>,
}

impl Player {
    /// Play `reader`'s records at `speed` × real time (`None`: as fast as possible). The
    /// historical time `start` (default: the first record's time) plays when the first
    /// record is read.
    pub fn new(
        reader: HistoryReader,
        speed: Option<f64>,
        start: Option<Timestamp>,
    ) -> Result<Player, SpeedError> {
        if let Some(f) = speed {
            Pace::with_basis(Timestamp::MIN, Instant::now(), f)?;
        }
        Ok(Player {
            reader,
            factor: speed,
            start,
            pace: None,
        })
    }

    /// The pace in force (set when the first record is read).
    pub fn pace(&self) -> Option<&Pace> {
        self.pace.as_ref()
    }
}

impl Iterator for Player {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.reader.next()?;
        if let (Ok(entry), Some(factor)) = (&item, self.factor) {
            let time = entry.record.time;
            let start = self.start.unwrap_or(time);
            let pace = match self.pace {
                Some(pace) => pace,
                None => match Pace::new(start, factor) {
                    Ok(pace) => *self.pace.insert(pace),
                    Err(_) => return Some(item),
                },
            };
            let wait = pace.due(time).saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_maps_both_ways() {
        let basis = Instant::now();
        let t0 = Timestamp::from_micros(1_000_000_000_000_000).unwrap();
        let pace = Pace::with_basis(t0, basis, 10.0).unwrap();
        let later = t0.checked_add_micros(20_000_000).unwrap();
        assert_eq!(pace.due(later), basis + Duration::from_secs(2));
        assert_eq!(pace.historical_at(basis + Duration::from_secs(2)), later);
        // Earlier than the start plays at once; absurdly late is capped.
        assert_eq!(pace.due(Timestamp::MIN), basis);
        assert_eq!(pace.due(Timestamp::MAX), basis + MAX_WAIT);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Pace::new(t0, bad).is_err());
        }
    }
}
