//! The cyclic part of an open class 1 connection, sans-IO: O->T on its own timer, T->O
//! consumed and judged (late, missed, stale), the connection timeout.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::io::{IoParams, Opened};
use cpppo_cip::io::{Format, IoFrame, RUN};

/// Something the cyclic exchange noticed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CyclicEvent {
    /// The input data changed (or arrived for the first time).
    Input(Vec<u8>),
    /// T->O packets never arrived: `count` sequence numbers were skipped.
    Missed {
        /// How many.
        count: u32,
    },
    /// A T->O packet arrived `by` later than one API after the previous one.
    Late {
        /// How late.
        by: Duration,
    },
    /// No T->O within the API × the timeout multiplier: the connection is gone.
    TimedOut,
}

/// Buckets of the lateness histogram: 10 µs up to 1 ms, 100 µs up to 10 ms, 1 ms up to 100 ms,
/// then one bucket for anything later.
const BUCKETS: usize = 100 + 90 + 90 + 1;

/// A lateness histogram (fixed buckets, so thousands of connections can keep one each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    max: Duration,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            max: Duration::ZERO,
        }
    }
}

impl Histogram {
    fn bucket(d: Duration) -> usize {
        let us = d.as_micros();
        let b = if us < 1_000 {
            us / 10
        } else if us < 10_000 {
            100 + (us - 1_000) / 100
        } else if us < 100_000 {
            190 + (us - 10_000) / 1_000
        } else {
            280
        };
        usize::try_from(b).unwrap_or(BUCKETS - 1).min(BUCKETS - 1)
    }

    /// The upper edge of bucket `b`.
    fn edge(b: usize) -> Duration {
        let b = b as u64;
        Duration::from_micros(match b {
            0..=99 => (b + 1) * 10,
            100..=189 => 1_000 + (b - 99) * 100,
            190..=279 => 10_000 + (b - 189) * 1_000,
            _ => u64::MAX / 2,
        })
    }

    /// Counts one sample.
    pub fn record(&mut self, d: Duration) {
        if let Some(c) = self.counts.get_mut(Histogram::bucket(d)) {
            *c += 1;
        }
        self.max = self.max.max(d);
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
    }

    /// Samples counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The `q` quantile (0..=1) as its bucket's upper edge (at most the largest sample).
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let want = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Histogram::edge(b).min(self.max);
            }
        }
        self.max
    }
}

/// Counters of one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// O->T packets produced.
    pub sent: u64,
    /// T->O packets accepted.
    pub received: u64,
    /// T->O sequence numbers skipped.
    pub missed: u64,
    /// T->O packets later than the late threshold.
    pub late: u64,
    /// T->O packets with an old or repeated sequence number (ignored).
    pub stale: u64,
    /// How late each T->O packet was after the previous one plus the API.
    pub lateness: Histogram,
}

/// An open class 1 connection's cyclic exchange.
#[derive(Debug)]
pub struct Cyclic {
    opened: Opened,
    format: Format,
    t_o_format: Format,
    output: Vec<u8>,
    run: bool,
    /// Encapsulation sequence number and CIP sequence count of the last O->T packet.
    o_t_seq: u32,
    o_t_cip: u16,
    changed: bool,
    next_o_t: Instant,
    last_seq: Option<u32>,
    last_cip: Option<u16>,
    last_rx: Instant,
    input: Option<Vec<u8>>,
    input_size: usize,
    timeout: Duration,
    late_after: Duration,
    timed_out: bool,
    stats: Stats,
    events: VecDeque<CyclicEvent>,
    wbuf: Vec<u8>,
}

impl Cyclic {
    /// The connection `opened` for `params` at `now`: the first O->T is due at once.
    pub fn new(opened: Opened, params: &IoParams, now: Instant) -> Cyclic {
        let size = params.o_t_data();
        let timeout = opened.t_o_api.max(Duration::from_millis(1)) * params.multiplier();
        Cyclic {
            opened,
            format: params.o_t_format(),
            t_o_format: params.t_o_format(),
            output: vec![0; size],
            run: true,
            o_t_seq: 0,
            o_t_cip: 0,
            changed: true,
            next_o_t: now,
            last_seq: None,
            last_cip: None,
            last_rx: now,
            input: None,
            input_size: usize::from(params.input.size),
            timeout,
            late_after: opened.t_o_api / 2,
            timed_out: false,
            stats: Stats::default(),
            events: VecDeque::new(),
            wbuf: Vec::with_capacity(64 + size),
        }
    }

    /// What the Forward Open set up.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The latest input data (None before the first T->O packet).
    pub fn input(&self) -> Option<&[u8]> {
        self.input.as_deref()
    }

    /// The connection timeout (T->O API × multiplier).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A T->O packet later than this after the previous one plus the API counts as late
    /// (half the API unless set).
    pub fn set_late_threshold(&mut self, late_after: Duration) {
        self.late_after = late_after;
    }

    /// Sets the output data (zero-filled or cut to the output size); sent from the next O->T.
    pub fn set_output(&mut self, data: &[u8]) {
        let mut new = data.to_vec();
        new.resize(self.output.len(), 0);
        if new != self.output {
            self.output = new;
            self.changed = true;
        }
    }

    /// Sets the run/idle header's run bit.
    pub fn set_run(&mut self, run: bool) {
        if run != self.run {
            self.run = run;
            self.changed = true;
        }
    }

    /// The next O->T packet, if one is due at `now` (the O->T timer runs on its own: it is
    /// never paced by T->O arrival).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<&[u8]> {
        if self.timed_out || now < self.next_o_t {
            return None;
        }
        let api = self.opened.o_t_api.max(Duration::from_micros(100));
        self.next_o_t += api;
        if self.next_o_t <= now {
            // Fell behind by more than an interval: start again from now.
            self.next_o_t = now + api;
        }
        self.o_t_seq = self.o_t_seq.wrapping_add(1);
        if self.changed && self.format == Format::RunIdle {
            self.o_t_cip = self.o_t_cip.wrapping_add(1);
            self.changed = false;
        }
        let run_idle = (self.format == Format::RunIdle).then_some(if self.run { RUN } else { 0 });
        let frame = IoFrame {
            connection_id: self.opened.o_t_id,
            encap_sequence: self.o_t_seq,
            sequence: self.o_t_cip,
            run_idle,
            data: &self.output,
        };
        self.wbuf.resize(frame.buffer_len_as(self.format), 0);
        match frame.emit_as(self.format, &mut self.wbuf) {
            Ok(n) => self.wbuf.truncate(n),
            Err(_) => return None,
        }
        self.stats.sent += 1;
        Some(&self.wbuf)
    }

    /// A datagram arrived at `now`; false if it is not a T->O packet of this connection (the
    /// caller may offer it elsewhere). Old and repeated sequence numbers are counted, not used.
    pub fn handle_datagram(&mut self, now: Instant, bytes: &[u8]) -> bool {
        match IoFrame::address(bytes) {
            Ok((id, _)) if id == self.opened.t_o_id && !self.timed_out => {}
            _ => return false,
        }
        let Ok(frame) = IoFrame::parse(bytes, self.t_o_format) else {
            return false;
        };
        if frame.data.len() != self.input_size {
            // Not the size the connection was opened with: not this connection's data.
            return false;
        }
        let gap = match self.last_seq {
            Some(last) => frame.encap_sequence.wrapping_sub(last) as i32,
            None => 1,
        };
        if gap <= 0 {
            self.stats.stale += 1;
            return true;
        }
        self.stats.received += 1;
        if self.last_seq.is_some() {
            self.judge(now, gap as u32);
        }
        self.last_seq = Some(frame.encap_sequence);
        self.last_rx = now;
        // Class 0 has no sequence count: every packet may hold new data.
        let unsequenced = self.t_o_format == Format::Class0;
        if unsequenced || self.last_cip != Some(frame.sequence) || self.input.is_none() {
            self.last_cip = Some(frame.sequence);
            let data = frame.data.to_vec();
            if self.input.as_deref() != Some(&data[..]) {
                self.input = Some(data.clone());
                self.events.push_back(CyclicEvent::Input(data));
            }
        }
        true
    }

    /// Missed and late: `gap` sequence numbers since the previous packet.
    fn judge(&mut self, now: Instant, gap: u32) {
        if gap > 1 {
            self.stats.missed += u64::from(gap - 1);
            self.events
                .push_back(CyclicEvent::Missed { count: gap - 1 });
        }
        let due = self.last_rx + self.opened.t_o_api * gap;
        let by = now.saturating_duration_since(due);
        self.stats.lateness.record(by);
        if by > self.late_after && !self.late_after.is_zero() {
            self.stats.late += 1;
            self.events.push_back(CyclicEvent::Late { by });
        }
    }

    /// When the next O->T is due or the connection times out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.timed_out {
            return None;
        }
        Some(self.next_o_t.min(self.last_rx + self.timeout))
    }

    /// The time is `now`: past the connection timeout, [`CyclicEvent::TimedOut`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.timed_out && now >= self.last_rx + self.timeout {
            self.timed_out = true;
            self.events.push_back(CyclicEvent::TimedOut);
        }
    }

    /// Whether the connection timed out.
    pub fn is_timed_out(&self) -> bool {
        self.timed_out
    }

    /// The next thing noticed.
    pub fn poll_event(&mut self) -> Option<CyclicEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> Opened {
        Opened {
            o_t_id: 0x1000,
            t_o_id: 0x2000,
            o_t_api: Duration::from_millis(10),
            t_o_api: Duration::from_millis(10),
        }
    }

    fn frame(id: u32, seq: u32, cip: u16, data: &[u8]) -> Vec<u8> {
        IoFrame {
            connection_id: id,
            encap_sequence: seq,
            sequence: cip,
            run_idle: None,
            data,
        }
        .to_vec()
        .unwrap()
    }

    fn t_o(seq: u32, cip: u16, data: &[u8]) -> Vec<u8> {
        frame(0x2000, seq, cip, data)
    }

    fn o_t(bytes: &[u8]) -> (u32, u32, u16, Option<u32>, Vec<u8>) {
        let f = IoFrame::parse(bytes, Format::RunIdle).unwrap();
        (
            f.connection_id,
            f.encap_sequence,
            f.sequence,
            f.run_idle,
            f.data.to_vec(),
        )
    }

    #[test]
    fn o_t_every_api_on_its_own_timer() {
        let now = Instant::now();
        let mut c = Cyclic::new(opened(), &IoParams::default(), now);
        c.set_output(&[1, 2]);
        let first = o_t(c.poll_transmit(now).unwrap());
        assert_eq!(
            first,
            (0x1000, 1, 1, Some(RUN), vec![1, 2, 0, 0, 0, 0, 0, 0])
        );
        assert!(c.poll_transmit(now + Duration::from_millis(9)).is_none());
        assert_eq!(c.poll_timeout(), Some(now + Duration::from_millis(10)));
        // Same data: the CIP sequence count stays, the encapsulation sequence moves.
        let again = o_t(c.poll_transmit(now + Duration::from_millis(10)).unwrap());
        assert_eq!((again.1, again.2), (2, 1));
        c.set_run(false);
        let idle = o_t(c.poll_transmit(now + Duration::from_millis(20)).unwrap());
        assert_eq!((idle.2, idle.3), (2, Some(0)));
        // Behind by more than an interval: the next is due one API from now, not in a burst.
        assert!(c.poll_transmit(now + Duration::from_millis(95)).is_some());
        assert!(c.poll_transmit(now + Duration::from_millis(96)).is_none());
        assert_eq!(c.poll_timeout(), Some(now + Duration::from_millis(105)));
    }

    #[test]
    fn heartbeat_has_no_header_or_data() {
        let now = Instant::now();
        let params = IoParams {
            kind: super::super::io::IoKind::InputOnly,
            ..IoParams::default()
        };
        let mut c = Cyclic::new(opened(), &params, now);
        let hb = IoFrame::parse(c.poll_transmit(now).unwrap(), Format::Modeless).unwrap();
        assert_eq!(
            (hb.run_idle, hb.data.len(), hb.connection_size()),
            (None, 0, 2)
        );
    }

    #[test]
    fn t_o_changes_missed_late_stale_and_timeout() {
        let now = Instant::now();
        let mut c = Cyclic::new(opened(), &IoParams::default(), now);
        let ms = Duration::from_millis;
        assert!(c.handle_datagram(now, &t_o(5, 1, &[7; 8])));
        assert_eq!(c.poll_event(), Some(CyclicEvent::Input(vec![7; 8])));
        assert!(c.handle_datagram(now + ms(10), &t_o(6, 1, &[7; 8])));
        assert_eq!(c.poll_event(), None);
        // 7 and 8 lost; 9 is 8 ms late.
        assert!(c.handle_datagram(now + ms(48), &t_o(9, 2, &[8; 8])));
        assert_eq!(c.poll_event(), Some(CyclicEvent::Missed { count: 2 }));
        assert_eq!(c.poll_event(), Some(CyclicEvent::Late { by: ms(8) }));
        assert_eq!(c.poll_event(), Some(CyclicEvent::Input(vec![8; 8])));
        // A stale one is ignored; another connection's is not ours.
        assert!(c.handle_datagram(now + ms(49), &t_o(8, 3, &[9; 8])));
        assert!(!c.handle_datagram(now + ms(49), &frame(0x3000, 10, 3, &[9; 8])));
        assert!(!c.handle_datagram(now, b"garbage"));
        assert_eq!(c.poll_event(), None);
        assert_eq!(
            (
                c.stats().received,
                c.stats().missed,
                c.stats().late,
                c.stats().stale
            ),
            (3, 2, 1, 1)
        );
        assert_eq!(c.input(), Some(&[8u8; 8][..]));
        // Timeout: 10 ms × 16 after the last packet.
        c.handle_timeout(now + ms(48 + 159));
        assert!(!c.is_timed_out());
        c.handle_timeout(now + ms(48 + 160));
        assert_eq!(c.poll_event(), Some(CyclicEvent::TimedOut));
        assert!(c.poll_transmit(now + ms(300)).is_none());
    }

    proptest::proptest! {
        /// Hostile datagrams (garbage, truncated frames, other connections' ids, this
        /// connection's id with any payload) never panic, and only well-formed T->O frames of
        /// this connection change the input.
        #[test]
        fn hostile_datagrams_change_nothing(
            junk in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            cut in 0usize..28,
            id in proptest::num::u32::ANY,
        ) {
            let now = Instant::now();
            let mut c = Cyclic::new(opened(), &IoParams::default(), now);
            c.handle_datagram(now, &junk);
            let mut good = t_o(1, 1, &[1; 8]);
            good.truncate(cut.min(good.len()));
            c.handle_datagram(now, &good);
            c.handle_datagram(now, &frame(id.max(0x2001), 2, 2, &junk));
            proptest::prop_assert_eq!(c.input(), None);
            // This connection's, with a payload of the wrong size: dropped too.
            c.handle_datagram(now, &t_o(3, 3, &junk));
            let want = (junk.len() == 8).then_some(&junk[..]);
            proptest::prop_assert_eq!(c.input(), want);
        }
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::default();
        for us in 0..100u64 {
            h.record(Duration::from_micros(us * 20));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.quantile(0.5), Duration::from_micros(990));
        assert_eq!(h.max(), Duration::from_micros(1980));
        assert_eq!(h.quantile(1.0), Duration::from_micros(1980));
    }
}
