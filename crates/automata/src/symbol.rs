//! Input symbols: bytes (`u8`) for binary protocols and `char` for Unicode text.

use std::fmt::Debug;
use std::hash::Hash;

use regex_automata::dfa::{dense, Automaton};
use regex_automata::util::primitives::StateID;

use crate::data::{Data, Value};

/// The symbol types machines run over: `u8` and `char`.
///
/// Input-storing states append byte symbols to [`Value::Bytes`] and characters to
/// [`Value::Text`]; regex machines feed a character to their DFA as its UTF-8 bytes.
pub trait Symbol: sealed::Sealed + Copy + Eq + Hash + Debug + Send + Sync + 'static {}

impl Symbol for u8 {}
impl Symbol for char {}

pub(crate) mod sealed {
    use super::*;

    /// The symbol operations the crate needs; not implementable outside it.
    pub trait Sealed: Sized {
        /// Whether regexes over this symbol type are UTF-8 (Unicode text) or raw bytes.
        const UTF8: bool;
        /// Steps `dfa` from `s` over this symbol's bytes.
        fn feed(self, dfa: &dense::DFA<Vec<u32>>, s: StateID) -> StateID;
        /// Appends `symbols` to the value at `key` (created if absent); false if the value
        /// there is of another kind.
        fn append(symbols: &[Self], data: &mut Data, key: &str) -> bool;
    }

    impl Sealed for u8 {
        const UTF8: bool = false;
        #[inline]
        fn feed(self, dfa: &dense::DFA<Vec<u32>>, s: StateID) -> StateID {
            dfa.next_state(s, self)
        }
        fn append(symbols: &[u8], data: &mut Data, key: &str) -> bool {
            match data.get_mut(key) {
                Some(Value::Bytes(b)) => b.extend_from_slice(symbols),
                Some(_) => return false,
                None => {
                    data.insert(key, Value::Bytes(symbols.to_vec()));
                }
            }
            true
        }
    }

    impl Sealed for char {
        const UTF8: bool = true;
        #[inline]
        fn feed(self, dfa: &dense::DFA<Vec<u32>>, s: StateID) -> StateID {
            let mut buf = [0u8; 4];
            self.encode_utf8(&mut buf)
                .bytes()
                .fold(s, |s, b| dfa.next_state(s, b))
        }
        fn append(symbols: &[char], data: &mut Data, key: &str) -> bool {
            match data.get_mut(key) {
                Some(Value::Text(t)) => t.extend(symbols),
                Some(_) => return false,
                None => {
                    data.insert(key, Value::Text(symbols.iter().collect()));
                }
            }
            true
        }
    }
}
