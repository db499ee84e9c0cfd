//! Deterministic finite automata: the state-machine toolkit at the heart of cpppo.
//!
//! Protocol elements are described as state machines that change state on input symbols,
//! collect data and produce artifacts. This crate provides:
//!
//! * [`State`]s — plain (no input), input-storing (the symbol is appended to the data at
//!   `<context>.input`), dropping, and whole [`Machine`]s used as states (composite machines);
//!   any of them may be terminal.
//! * Transitions ([`Graph`]) keyed by a symbol, a symbol class (predicate), any symbol, or no
//!   input at all (epsilon), with conditional ("decide") targets that look at collected data.
//! * Machines from regular expressions ([`Machine::regex`]), over bytes or Unicode text, built
//!   on `regex-automata` dense DFAs stepped one byte at a time.
//! * [`Run`]s over any [`Source`], yielding every (machine, state) [`Transition`], storing
//!   results in a [`Data`] store addressed by dotted paths, and resumable when the input runs
//!   out part way ([`Step::NeedInput`]). A machine that cannot proceed returns a [`RunError`]
//!   naming the offset, the machine, the state and the reason; nothing panics on bad input.
//!
//! # Semantics
//!
//! Entering a state performs its action (consume and store, consume and drop, or run the
//! sub-machine to its end). Then a transition is chosen on the next symbol, most specific first:
//! exact symbol, symbol classes (in the order added), any, epsilon. If no symbol is available
//! yet, the run waits for one unless the state has only an epsilon transition; at the end of
//! input only an epsilon transition can be taken. With no transition, a terminal state ends its
//! machine — the parent machine then tries its own transitions out of the sub-machine on the
//! same symbol — and a non-terminal state is an error. A greedy machine (the default) keeps
//! going as long as it can; a non-greedy one ends as soon as it reaches a terminal state.
//!
//! ```
//! use cpppo_automata::{Data, Feed, Graph, Machine, State};
//! // ab+ , separated by "," and any number of spaces, which are dropped
//! let mut g = Graph::<char>::new();
//! let e = g.add(State::plain("E"));
//! let a = g.add(State::input("A"));
//! let b = g.add(State::input("B").terminal());
//! g.on(e, 'a', a).on(a, 'b', b).on(b, 'b', b);
//! let abp = Machine::new("ab+", g, e)?.terminal(true);
//!
//! let mut g = Graph::new();
//! let abp = g.add(State::machine(abp));
//! let sep = g.add(State::drop("SEP"));
//! g.on(abp, ',', sep).on(sep, ' ', sep).epsilon(sep, abp);
//! let csv = Machine::new("CSV", g, abp)?.context("csv");
//!
//! let mut data = Data::new();
//! csv.run_to_end(&mut Feed::text("abbbb, ab"), &mut data)?;
//! assert_eq!(data.text("csv.input"), Some("abbbbab"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod data;
mod machine;
mod regex;
mod run;
mod source;
mod symbol;

pub use data::{join, Data, Value};
pub use machine::{BuildError, Condition, Graph, Machine, On, Predicate, State, StateId};
pub use regex::DEFAULT_SIZE_LIMIT;
pub use run::{Outcome, Reason, Run, RunError, StateName, Step, Transition, NO_PROGRESS_LIMIT};
pub use source::{Feed, IterSource, Peek, SliceSource, Source};
pub use symbol::Symbol;
