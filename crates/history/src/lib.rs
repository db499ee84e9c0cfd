//! History: timezone-correct timestamps, recording, compressed files and playback.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
