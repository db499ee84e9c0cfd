//! Broadcast discovery, device side: when to answer a List Identity that came by broadcast.
//!
//! The EtherNet/IP specification (CIP Vol. 2, ListIdentity) has a device that receives the
//! request by broadcast delay its reply by a random time between 0 and the Max Response Delay
//! the request carries in the first two bytes of its sender context (a UINT, milliseconds): 0
//! stands for the default of 2000 ms, 1-500 for 500 ms, and each request gets a new random
//! value. OpENer does the same. Spread so, thousands of devices answering one broadcast do not
//! overflow the asker's receive buffer in one burst. A request sent to the device's own
//! address is answered at once.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use cpppo_cip::encap::Command;

/// The Max Response Delay used when a request asks for 0 ms.
pub const DEFAULT_MAX_RESPONSE_DELAY: Duration = Duration::from_millis(2000);
/// The least Max Response Delay honoured: a request asking for 1-500 ms gets this.
pub const MIN_MAX_RESPONSE_DELAY: Duration = Duration::from_millis(500);
/// Replies a socket holds at most; a broadcast List Identity arriving while this many wait is
/// dropped (as OpENer drops one when its few delayed-message slots are taken), so a flood of
/// requests asking for 65 s cannot pile up memory.
pub const MAX_HELD_REPLIES: usize = 32;

/// The Max Response Delay a request's sender context asks for, after the spec's substitutions.
pub fn max_response_delay(context: &[u8; 8]) -> Duration {
    let asked = Duration::from_millis(u16::from_le_bytes([context[0], context[1]]).into());
    if asked.is_zero() {
        DEFAULT_MAX_RESPONSE_DELAY
    } else {
        asked.max(MIN_MAX_RESPONSE_DELAY)
    }
}

/// How long to hold the reply to `packet`, which arrived by broadcast: a random time up to its
/// Max Response Delay for a List Identity request, nothing for any other (or an undecodable)
/// packet.
pub fn broadcast_reply_delay(packet: &[u8]) -> Option<Duration> {
    let repr = cpppo_cip::frame::decode_datagram(packet).ok()?;
    if repr.header.command != Command::ListIdentity {
        return None;
    }
    Some(random_below(max_response_delay(&repr.header.context)))
}

/// A uniformly spread random time in `[0, max)`, at microsecond resolution. Each call draws
/// anew (std's random hash keys, stepped for every `RandomState`), so the devices of one fleet
/// pick different times.
fn random_below(max: Duration) -> Duration {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    let micros = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(h.finish() % micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpppo_cip::encap::{Body, Header, Repr};

    fn context(ms: u16) -> [u8; 8] {
        let mut c = [0xAA; 8];
        c[..2].copy_from_slice(&ms.to_le_bytes());
        c
    }

    #[test]
    fn max_response_delay_follows_the_spec() {
        let ms = |v| max_response_delay(&context(v)).as_millis();
        assert_eq!(ms(0), 2000);
        assert_eq!(ms(1), 500);
        assert_eq!(ms(250), 500); // pylogix asks for 250 (0x00FA)
        assert_eq!(ms(500), 500);
        assert_eq!(ms(501), 501);
        assert_eq!(ms(65535), 65535);
    }

    #[test]
    fn delays_are_spread_over_the_whole_window() {
        let max = Duration::from_millis(500);
        let draws: Vec<_> = (0..2000).map(|_| random_below(max)).collect();
        assert!(draws.iter().all(|d| *d < max));
        // Each tenth of the window gets some (expected 200 each).
        for tenth in 0..10u32 {
            let (lo, hi) = (max * tenth / 10, max * (tenth + 1) / 10);
            let n = draws.iter().filter(|d| **d >= lo && **d < hi).count();
            assert!(n > 100, "{n} of 2000 draws in [{lo:?}, {hi:?})");
        }
    }

    fn request(command: Command, ms: u16) -> Vec<u8> {
        let header = Header {
            command,
            session: 0,
            status: 0,
            context: context(ms),
            options: 0,
        };
        Repr {
            header,
            body: Body::Empty,
        }
        .to_vec()
        .expect("a bare header emits")
    }

    #[test]
    fn only_list_identity_is_delayed() {
        let identity = request(Command::ListIdentity, 600);
        let d = broadcast_reply_delay(&identity).expect("List Identity is delayed");
        assert!(d < Duration::from_millis(600));
        assert_eq!(
            broadcast_reply_delay(&request(Command::ListServices, 600)),
            None
        );
        assert_eq!(broadcast_reply_delay(&identity[..10]), None); // truncated
    }
}
