//! Machines from regular expressions, on `regex-automata` dense DFAs stepped byte by byte.
//!
//! A dense DFA reports a match one byte late: the state reached after byte `i` says whether a
//! match ended *before* it, and only the special end-of-input transition tells whether the
//! bytes so far match. A regex machine must decide on each symbol, without looking further
//! ahead, whether that symbol can still be part of an accepted sentence. So at build time every
//! reachable DFA state is classified once:
//!
//! * *accepting*: the input consumed so far is a sentence of the regex (its end-of-input
//!   transition leads to a match state);
//! * *live*: some continuation (possibly empty) reaches an accepting state;
//! * *extendable*: some next byte leads to a live state.
//!
//! At run time a symbol is consumed only if it leads to a live state; the machine is terminal in
//! accepting states. Classification is a flat table indexed by DFA state, so stepping costs one
//! `next_state` and one table load per byte.

use std::collections::{HashMap, VecDeque};

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, MatchKind};

use crate::machine::{Body, BuildError, Machine};
use crate::symbol::Symbol;

/// The default limit on the DFA's size, in bytes (see [`Machine::regex_limited`]).
pub const DEFAULT_SIZE_LIMIT: usize = 4 << 20;

const LIVE: u8 = 1;
const ACCEPT: u8 = 2;
const EXTEND: u8 = 4;

/// A compiled regex with its per-state classification.
pub(crate) struct RegexBody {
    pub(crate) dfa: dense::DFA<Vec<u32>>,
    pub(crate) start: StateID,
    stride2: usize,
    flags: Vec<u8>,
    /// Discovery order of each state (the start is 0), for naming states.
    numbers: Vec<u32>,
}

impl RegexBody {
    fn build(pattern: &str, utf8: bool, limit: usize) -> Result<Self, BuildError> {
        let err = |reason: String| BuildError::Regex {
            pattern: pattern.to_owned(),
            reason,
        };
        let dfa = dense::Builder::new()
            .syntax(syntax::Config::new().utf8(utf8).unicode(utf8))
            .thompson(thompson::Config::new().utf8(utf8))
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::All)
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(limit))
                    .determinize_size_limit(Some(limit)),
            )
            .build(pattern)
            .map_err(|e| err(format!("{e} (DFA size limit {limit} bytes)")))?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .map_err(|e| err(e.to_string()))?;
        let stride2 = dfa.stride2();
        let mut body = RegexBody {
            dfa,
            start,
            stride2,
            flags: Vec::new(),
            numbers: Vec::new(),
        };
        body.classify();
        Ok(body)
    }

    fn index(&self, s: StateID) -> usize {
        s.as_usize() >> self.stride2
    }

    /// Explores every state reachable from the start and fills in `flags`.
    fn classify(&mut self) {
        let reps: Vec<u8> = self
            .dfa
            .byte_classes()
            .representatives(..)
            .filter_map(|u| u.as_u8())
            .collect();
        let mut seen: HashMap<StateID, usize> = HashMap::new();
        let mut order: Vec<StateID> = Vec::new();
        let mut preds: Vec<Vec<usize>> = Vec::new();
        let mut succs: Vec<Vec<usize>> = Vec::new();
        let mut queue = VecDeque::new();
        seen.insert(self.start, 0);
        order.push(self.start);
        preds.push(Vec::new());
        queue.push_back(self.start);
        while let Some(s) = queue.pop_front() {
            let from = seen.get(&s).copied().unwrap_or(0);
            let mut next = Vec::with_capacity(reps.len());
            for &b in &reps {
                let t = self.dfa.next_state(s, b);
                let to = *seen.entry(t).or_insert_with(|| {
                    order.push(t);
                    preds.push(Vec::new());
                    queue.push_back(t);
                    order.len() - 1
                });
                if let Some(p) = preds.get_mut(to) {
                    p.push(from);
                }
                next.push(to);
            }
            succs.push(next);
        }
        // `succs` is filled in discovery order, which is `order`'s order.
        let dead = |s: StateID| self.dfa.is_dead_state(s) || self.dfa.is_quit_state(s);
        let accept: Vec<bool> = order
            .iter()
            .map(|&s| !dead(s) && self.dfa.is_match_state(self.dfa.next_eoi_state(s)))
            .collect();
        let mut live = accept.clone();
        let mut work: Vec<usize> = (0..order.len()).filter(|&i| accept[i]).collect();
        while let Some(i) = work.pop() {
            for &p in preds.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(l) = live.get_mut(p) {
                    if !*l && !dead(order[p]) {
                        *l = true;
                        work.push(p);
                    }
                }
            }
        }
        let size = order.iter().map(|&s| self.index(s) + 1).max().unwrap_or(1);
        self.flags = vec![0; size];
        self.numbers = vec![0; size];
        for (i, &s) in order.iter().enumerate() {
            let extend = succs
                .get(i)
                .is_some_and(|n| n.iter().any(|&t| live.get(t).copied().unwrap_or(false)));
            let f = (if live[i] { LIVE } else { 0 })
                | (if accept[i] { ACCEPT } else { 0 })
                | (if extend { EXTEND } else { 0 });
            let idx = self.index(s);
            if let Some(slot) = self.flags.get_mut(idx) {
                *slot = f;
            }
            if let Some(slot) = self.numbers.get_mut(idx) {
                *slot = u32::try_from(i).unwrap_or(u32::MAX);
            }
        }
    }

    #[inline]
    fn flag(&self, s: StateID, f: u8) -> bool {
        self.flags.get(self.index(s)).is_some_and(|&x| x & f != 0)
    }

    /// Whether the input consumed so far, ending in `s`, is a sentence of the regex.
    #[inline]
    pub(crate) fn accepting(&self, s: StateID) -> bool {
        self.flag(s, ACCEPT)
    }

    /// Whether some continuation from `s` is accepted.
    #[inline]
    pub(crate) fn live(&self, s: StateID) -> bool {
        self.flag(s, LIVE)
    }

    /// Whether some next symbol could be consumed from `s`.
    #[inline]
    pub(crate) fn extendable(&self, s: StateID) -> bool {
        self.flag(s, EXTEND)
    }

    /// The small number naming DFA state `s` in transitions.
    pub(crate) fn number(&self, s: StateID) -> usize {
        self.numbers.get(self.index(s)).map_or(0, |&n| n as usize)
    }
}

impl Machine<u8> {
    /// A byte machine for a Unicode-aware pattern: the input is UTF-8 encoded text arriving as
    /// bytes (a socket, a file), and the pattern's classes (`\w`, `[αβ]`, `.`) are over
    /// characters. Bytes are consumed one at a time while they can still form a sentence; a
    /// sentence cut off in the middle of a character is not accepted.
    ///
    /// ```
    /// use cpppo_automata::{Data, Feed, Machine};
    /// let m = Machine::<u8>::regex_text("[αβ]+")?;
    /// let mut data = Data::new();
    /// let mut src = Feed::complete("αβx".bytes());
    /// m.run_to_end(&mut src, &mut data)?;
    /// assert_eq!(data.bytes("input"), Some("αβ".as_bytes()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn regex_text(pattern: &str) -> Result<Self, BuildError> {
        let body = RegexBody::build(pattern, true, DEFAULT_SIZE_LIMIT)?;
        Ok(Machine::with_body(
            pattern,
            Body::Regex(std::sync::Arc::new(body)),
        ))
    }
}

impl<S: Symbol> Machine<S> {
    /// A machine accepting the sentences of the regular expression `pattern`, anchored at the
    /// start of its input, named after the pattern. Every symbol it consumes is appended to
    /// `<context>.input`. Over `char` the pattern is Unicode-aware; over `u8` it matches raw
    /// bytes (`.` is any byte but `\n`, `\xFF` is the byte 0xFF).
    ///
    /// ```
    /// use cpppo_automata::{Data, Feed, Machine};
    /// let re = Machine::<char>::regex("(ab+)((,[ ]*)(ab+))*")?.context("regex").terminal(true);
    /// let mut data = Data::new();
    /// let mut src = Feed::text("abbbb, ab!");
    /// let done = re.run_to_end(&mut src, &mut data)?;
    /// assert!(done.terminal);
    /// assert_eq!(data.text("regex.input"), Some("abbbb, ab"));
    /// assert_eq!(src.rest_text(), "!");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn regex(pattern: &str) -> Result<Self, BuildError> {
        Self::regex_limited(pattern, DEFAULT_SIZE_LIMIT)
    }

    /// Like [`Machine::regex`], with a limit (in bytes) on the DFA's size; a pattern needing a
    /// bigger DFA is refused with a [`BuildError::Regex`] naming the limit.
    ///
    /// ```
    /// use cpppo_automata::Machine;
    /// let err = Machine::<char>::regex_limited(r"\w{40}", 10_000).unwrap_err();
    /// assert!(err.to_string().contains("limit"));
    /// ```
    pub fn regex_limited(pattern: &str, size_limit: usize) -> Result<Self, BuildError> {
        let body = RegexBody::build(pattern, S::UTF8, size_limit)?;
        Ok(Machine::with_body(
            pattern,
            Body::Regex(std::sync::Arc::new(body)),
        ))
    }
}
