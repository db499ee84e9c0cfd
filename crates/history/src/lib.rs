//! History: timezone-correct timestamps, recording, compressed files and playback.
//!
//! - [`Timestamp`]: microseconds, rendered to milliseconds by default, in UTC or any zone
//!   with its abbreviation; [`Zones`] parses `YYYY-mm-dd HH:MM:SS[.ffffff] [ZONE]`, including
//!   abbreviations (`MST`, `CEST`) resolved through a table built from the tz database.
//! - [`Record`] and [`parse_line`]: cpppo's record line (`UTC time TAB serial TAB payload`).
//! - [`Recorder`]: appends records with a stated durability, rotating files.
//! - [`HistoryReader`]: reads a set of (compressed) files as one time-ordered stream.
//! - [`Pace`] and [`Player`]: play records back in real time × a speed factor.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod compress;
pub mod duration;
pub mod player;
pub mod reader;
pub mod record;
pub mod recorder;
pub mod time;
pub mod zone;

/// The jiff crate, for time zones (`jiff::tz::TimeZone`).
pub use jiff;

pub use compress::{CompressedWriter, Compression};
pub use duration::{format_duration, parse_duration, DurationError};
pub use player::{Pace, Player, SpeedError};
pub use reader::{natural_cmp, Entry, HistoryReader, ReadError, ReadOptions};
pub use record::{parse_line, Line, LineError, Record};
pub use recorder::{Durability, Recorder, RecorderOptions, Rotation};
pub use time::{Timestamp, DEFAULT_DIGITS};
pub use zone::{TimeError, Zones};
