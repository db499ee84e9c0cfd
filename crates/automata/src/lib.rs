//! Deterministic finite automata: the state-machine toolkit at the heart of cpppo.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
