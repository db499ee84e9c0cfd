//! Running machines over a source, one transition at a time, resumably.

use std::fmt;

use regex_automata::util::primitives::StateID;

use crate::data::{join, Data};
use crate::machine::{Body, Kind, Machine, Node};
use crate::regex::RegexBody;
use crate::source::{Peek, Source};
use crate::symbol::Symbol;

/// How many transitions in a row may consume no input before a run is declared stuck in an
/// epsilon loop.
pub const NO_PROGRESS_LIMIT: usize = 10_000;

/// The name of a state in a [`Transition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateName<'m> {
    /// A state of a graph machine (or a sub-machine, by the machine's name).
    Named(&'m str),
    /// A state of a regex machine's DFA, by number.
    Dfa(usize),
}

impl fmt::Display for StateName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateName::Named(n) => f.write_str(n),
            StateName::Dfa(i) => write!(f, "#{i}"),
        }
    }
}

/// A machine entered a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition<'m> {
    /// The machine that moved.
    pub machine: &'m str,
    /// The state it entered.
    pub state: StateName<'m>,
    /// How deeply the machine is nested (0: the machine being run).
    pub depth: usize,
    /// Where in the input the transition was taken: how many symbols the source had sent
    /// before it (the symbol that selected it, if any, is at this offset).
    pub offset: usize,
}

impl fmt::Display for Transition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.machine, self.state)
    }
}

/// The end of a successful run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the machine is terminal at the end: it is marked terminal (its final state
    /// always is, or the run fails instead).
    pub terminal: bool,
    /// How many symbols the source had sent at the end.
    pub offset: usize,
}

/// One step of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'m> {
    /// A machine entered a state.
    Transition(Transition<'m>),
    /// The source is out of symbols for now; feed it and step again.
    NeedInput,
    /// The machine has finished; stepping again returns this again.
    Done(Outcome),
}

/// Why a run cannot proceed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The next symbol has no transition and the state is not terminal.
    #[error("no transition on {symbol} from a non-terminal state")]
    NoTransition {
        /// The symbol, as `{:?}` shows it.
        symbol: String,
    },
    /// The input ended in a non-terminal state.
    #[error("input ended in a non-terminal state")]
    UnexpectedEnd,
    /// The input ended in a state that must consume a symbol.
    #[error("input ended where a symbol was required")]
    MissingSymbol,
    /// Too many transitions without consuming input.
    #[error("no input consumed in {NO_PROGRESS_LIMIT} transitions (an epsilon loop?)")]
    NoProgress,
    /// The data at the input path holds another kind of value.
    #[error("cannot append a symbol to the {kind} at {path:?}")]
    DataConflict {
        /// The data path.
        path: String,
        /// The kind of value found there.
        kind: String,
    },
}

/// A machine could not proceed: where (offset, machine, state) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{machine} stuck in state {state} at offset {offset}: {reason}")]
pub struct RunError {
    /// How many symbols the source had sent.
    pub offset: usize,
    /// The nested machines' names, outermost first, joined with `.`.
    pub machine: String,
    /// The state the innermost machine was in.
    pub state: String,
    /// What went wrong.
    pub reason: Reason,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Just entered: the state's own action (consume, store, start a sub-machine) is pending.
    Enter,
    /// A sub-machine is running above this frame.
    Sub,
    /// The action is done: choose a transition.
    Ready,
}

enum Where<'m, S> {
    Graph {
        nodes: &'m [Node<S>],
        node: usize,
        phase: Phase,
    },
    Regex {
        body: &'m RegexBody,
        state: StateID,
        /// The data path inputs are appended to.
        key: String,
    },
}

struct Frame<'m, S> {
    machine: &'m Machine<S>,
    /// The data path of this machine (`<parent path>.<context>`).
    path: String,
    at: Where<'m, S>,
}

/// A run of a machine: the stack of machines and their current states.
///
/// Step it with [`Run::step`] to see every transition, or [`Run::finish`] to run without
/// reporting them. When the source has nothing buffered ([`Peek::Pending`]) the run returns
/// [`Step::NeedInput`]; feed the source and continue: the result is the same as if the whole
/// input had been there from the start.
///
/// ```
/// use cpppo_automata::{Data, Feed, Machine, Step};
/// let m = Machine::<u8>::regex(r"[0-9]+;")?.context("num").terminal(true);
/// let mut run = m.start();
/// let (mut src, mut data) = (Feed::new(), Data::new());
/// src.extend(*b"12");
/// assert_eq!(run.finish(&mut src, &mut data)?, Step::NeedInput);
/// src.extend(*b"3;rest");
/// assert!(matches!(run.finish(&mut src, &mut data)?, Step::Done(o) if o.terminal));
/// assert_eq!(data.bytes("num.input"), Some(&b"123;"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Run<'m, S> {
    root: &'m Machine<S>,
    base: String,
    stack: Vec<Frame<'m, S>>,
    started: bool,
    ended: Option<Result<Outcome, RunError>>,
    mark: usize,
    idle: usize,
}

impl<'m, S: Symbol> Run<'m, S> {
    pub(crate) fn new(root: &'m Machine<S>, base: &str) -> Self {
        Run {
            root,
            base: base.to_owned(),
            stack: Vec::new(),
            started: false,
            ended: None,
            mark: 0,
            idle: 0,
        }
    }

    /// Whether the run has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.ended.is_some()
    }

    /// Advances to the next transition, or reports that input is needed or the run is done.
    ///
    /// ```
    /// use cpppo_automata::{Data, Feed, Machine, Step};
    /// let m = Machine::<char>::regex("a+")?;
    /// let mut run = m.start();
    /// let (mut src, mut data) = (Feed::new(), Data::new());
    /// assert!(matches!(run.step(&mut src, &mut data)?, Step::Transition(_))); // the start
    /// assert_eq!(run.step(&mut src, &mut data)?, Step::NeedInput);
    /// src.extend(['a']);
    /// match run.step(&mut src, &mut data)? {
    ///     Step::Transition(t) => assert_eq!((t.machine, t.offset), ("a+", 0)),
    ///     other => panic!("{other:?}"),
    /// }
    /// src.finish();
    /// assert!(matches!(run.step(&mut src, &mut data)?, Step::Done(_)));
    /// assert_eq!(data.text("input"), Some("a"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn step<Src: Source<S> + ?Sized>(
        &mut self,
        src: &mut Src,
        data: &mut Data,
    ) -> Result<Step<'m>, RunError> {
        self.drive(src, data, false)
    }

    /// Runs until input is needed or the machine is done, without reporting transitions (and
    /// consuming buffered input in bulk where it can). Returns [`Step::NeedInput`] or
    /// [`Step::Done`].
    pub fn finish<Src: Source<S> + ?Sized>(
        &mut self,
        src: &mut Src,
        data: &mut Data,
    ) -> Result<Step<'m>, RunError> {
        self.drive(src, data, true)
    }

    /// The transitions of this run as an iterator; it ends when input is needed or the run is
    /// done (check [`Run::is_finished`]), or after yielding an error.
    ///
    /// ```
    /// use cpppo_automata::{Data, Feed, Machine};
    /// let m = Machine::<u8>::regex("ab")?;
    /// let mut run = m.start();
    /// let (mut src, mut data) = (Feed::complete(*b"abc"), Data::new());
    /// let seen: Vec<String> = run
    ///     .transitions(&mut src, &mut data)
    ///     .map(|t| t.map(|t| t.state.to_string()))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(seen.len(), 3); // the start state, then one per byte
    /// assert!(run.is_finished());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transitions<'r, Src: Source<S> + ?Sized>(
        &'r mut self,
        src: &'r mut Src,
        data: &'r mut Data,
    ) -> impl Iterator<Item = Result<Transition<'m>, RunError>> + 'r {
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            match self.step(src, data) {
                Ok(Step::Transition(t)) => Some(Ok(t)),
                Ok(_) => None,
                Err(e) => {
                    failed = true;
                    Some(Err(e))
                }
            }
        })
    }

    fn drive<Src: Source<S> + ?Sized>(
        &mut self,
        src: &mut Src,
        data: &mut Data,
        quiet: bool,
    ) -> Result<Step<'m>, RunError> {
        if let Some(end) = &self.ended {
            return end.clone().map(Step::Done);
        }
        let result = self.advance(src, data, quiet);
        match &result {
            Ok(Step::Done(o)) => self.ended = Some(Ok(*o)),
            Err(e) => self.ended = Some(Err(e.clone())),
            _ => {}
        }
        result
    }

    fn push(
        &mut self,
        machine: &'m Machine<S>,
        parent_path: &str,
        offset: usize,
    ) -> Transition<'m> {
        let path = join(parent_path, &machine.context);
        let depth = self.stack.len();
        let (at, state) = match &machine.body {
            Body::Graph { nodes, initial } => {
                let name = nodes
                    .get(*initial)
                    .map(|n| n.state.name.as_str())
                    .unwrap_or("?");
                let at = Where::Graph {
                    nodes,
                    node: *initial,
                    phase: Phase::Enter,
                };
                (at, StateName::Named(name))
            }
            Body::Regex(body) => {
                let at = Where::Regex {
                    body,
                    state: body.start,
                    key: join(&path, "input"),
                };
                (at, StateName::Dfa(body.number(body.start)))
            }
        };
        self.stack.push(Frame { machine, path, at });
        Transition {
            machine: &machine.name,
            state,
            depth,
            offset,
        }
    }

    /// Finishes the top machine (in a terminal state); returns the outcome if it was the root.
    fn pop(&mut self, offset: usize) -> Option<Outcome> {
        self.stack.pop();
        match self.stack.last_mut() {
            Some(Frame {
                at: Where::Graph { phase, .. },
                ..
            }) => {
                *phase = Phase::Ready;
                None
            }
            _ => Some(Outcome {
                terminal: self.root.terminal,
                offset,
            }),
        }
    }

    fn fail(&self, offset: usize, reason: Reason) -> RunError {
        let machine = self
            .stack
            .iter()
            .map(|f| f.machine.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let state = match self.stack.last().map(|f| &f.at) {
            Some(Where::Graph { nodes, node, .. }) => nodes
                .get(*node)
                .map(|n| n.state.name.clone())
                .unwrap_or_default(),
            Some(Where::Regex { body, state, .. }) => {
                StateName::Dfa(body.number(*state)).to_string()
            }
            None => String::new(),
        };
        RunError {
            offset,
            machine,
            state,
            reason,
        }
    }

    fn advance<Src: Source<S> + ?Sized>(
        &mut self,
        src: &mut Src,
        data: &mut Data,
        quiet: bool,
    ) -> Result<Step<'m>, RunError> {
        loop {
            match self.next_event(src, data, quiet)? {
                Some(Step::Transition(_)) if quiet => {}
                Some(step) => return Ok(step),
                None => {}
            }
        }
    }

    /// One move of the top machine: `Some` step to report, or `None` to keep going.
    fn next_event<Src: Source<S> + ?Sized>(
        &mut self,
        src: &mut Src,
        data: &mut Data,
        quiet: bool,
    ) -> Result<Option<Step<'m>>, RunError> {
        let offset = src.sent();
        if !self.started {
            self.started = true;
            self.mark = offset;
            let base = self.base.clone();
            return Ok(Some(Step::Transition(self.push(self.root, &base, offset))));
        }
        if offset != self.mark {
            self.mark = offset;
            self.idle = 0;
        } else {
            self.idle += 1;
            if self.idle > NO_PROGRESS_LIMIT {
                return Err(self.fail(offset, Reason::NoProgress));
            }
        }
        match self
            .stack
            .last()
            .map(|f| matches!(f.at, Where::Graph { .. }))
        {
            None => Ok(Some(Step::Done(Outcome {
                terminal: self.root.terminal,
                offset,
            }))),
            Some(true) => self.graph_event(src, data),
            Some(false) => self.regex_event(src, data, quiet),
        }
    }

    /// Ends the top machine in a terminal state: `Done` if it was the root.
    fn finish_top(&mut self, offset: usize) -> Option<Step<'m>> {
        self.pop(offset).map(Step::Done)
    }

    fn graph_event<Src: Source<S> + ?Sized>(
        &mut self,
        src: &mut Src,
        data: &mut Data,
    ) -> Result<Option<Step<'m>>, RunError> {
        let offset = src.sent();
        let depth = self.stack.len().saturating_sub(1);
        let Some(Frame {
            machine,
            path,
            at: Where::Graph { nodes, node, phase },
        }) = self.stack.last_mut()
        else {
            return Ok(None);
        };
        let (machine, nodes): (&'m Machine<S>, &'m [Node<S>]) = (machine, nodes);
        let Some(n) = nodes.get(*node) else {
            return Ok(self.finish_top(offset));
        };
        match *phase {
            Phase::Enter => match &n.state.kind {
                Kind::Plain => *phase = Phase::Ready,
                Kind::Input | Kind::Drop => match src.peek() {
                    Peek::Symbol(c) => {
                        src.advance();
                        *phase = Phase::Ready;
                        if matches!(n.state.kind, Kind::Input) {
                            let key = join(&join(path, &n.state.context), "input");
                            store(c, data, &key).map_err(|r| self.fail(offset, r))?;
                        }
                    }
                    Peek::Pending => return Ok(Some(Step::NeedInput)),
                    Peek::End => return Err(self.fail(offset, Reason::MissingSymbol)),
                },
                Kind::Machine(sub) => {
                    *phase = Phase::Sub;
                    let path = path.clone();
                    return Ok(Some(Step::Transition(self.push(sub, &path, offset))));
                }
            },
            Phase::Sub => *phase = Phase::Ready,
            Phase::Ready => {
                if n.state.terminal && !machine.greedy {
                    return Ok(self.finish_top(offset));
                }
                let peek = src.peek();
                let target = match peek {
                    Peek::Symbol(c) => n.edges.for_symbol(c),
                    Peek::Pending if n.edges.wants_symbol() => return Ok(Some(Step::NeedInput)),
                    Peek::Pending | Peek::End => n.edges.epsilon.as_ref(),
                };
                match target.and_then(|t| t.resolve(data, path)) {
                    Some(to) => {
                        *node = to;
                        *phase = Phase::Enter;
                        let name = nodes.get(to).map_or("?", |n| n.state.name.as_str());
                        return Ok(Some(Step::Transition(Transition {
                            machine: &machine.name,
                            state: StateName::Named(name),
                            depth,
                            offset,
                        })));
                    }
                    None if n.state.terminal => return Ok(self.finish_top(offset)),
                    None => return Err(self.fail(offset, refusal(peek))),
                }
            }
        }
        Ok(None)
    }

    fn regex_event<Src: Source<S> + ?Sized>(
        &mut self,
        src: &mut Src,
        data: &mut Data,
        quiet: bool,
    ) -> Result<Option<Step<'m>>, RunError> {
        let offset = src.sent();
        let depth = self.stack.len().saturating_sub(1);
        let Some(Frame {
            machine,
            at: Where::Regex { body, state, key },
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(None);
        };
        let (machine, body): (&'m Machine<S>, &'m RegexBody) = (machine, body);
        if quiet {
            if let Some(n) = bulk(body, state, machine.greedy, src.chunk()) {
                let stored = src.chunk().get(..n).map(|c| S::append(c, data, key));
                if stored == Some(false) {
                    let r = conflict(data, key);
                    return Err(self.fail(offset, r));
                }
                src.consume(n);
                return Ok(None);
            }
        }
        let accepting = body.accepting(*state);
        if accepting && !machine.greedy {
            return Ok(self.finish_top(offset));
        }
        let peek = src.peek();
        let next = match peek {
            Peek::Symbol(c) => Some((c, c.feed(&body.dfa, *state))).filter(|(_, t)| body.live(*t)),
            Peek::Pending if body.extendable(*state) => return Ok(Some(Step::NeedInput)),
            Peek::Pending | Peek::End => None,
        };
        match next {
            Some((c, t)) => {
                src.advance();
                *state = t;
                store(c, data, key).map_err(|r| self.fail(offset, r))?;
                Ok(Some(Step::Transition(Transition {
                    machine: &machine.name,
                    state: StateName::Dfa(body.number(t)),
                    depth,
                    offset,
                })))
            }
            None if accepting => Ok(self.finish_top(offset)),
            None => Err(self.fail(offset, refusal(peek))),
        }
    }
}

/// Consumes as many symbols of `chunk` as the regex allows in one go; `None` if none.
fn bulk<S: Symbol>(
    body: &RegexBody,
    state: &mut StateID,
    greedy: bool,
    chunk: &[S],
) -> Option<usize> {
    let mut s = *state;
    let mut n = 0;
    for &c in chunk {
        if !greedy && body.accepting(s) {
            break;
        }
        let t = c.feed(&body.dfa, s);
        if !body.live(t) {
            break;
        }
        s = t;
        n += 1;
    }
    *state = s;
    (n > 0).then_some(n)
}

fn store<S: Symbol>(c: S, data: &mut Data, key: &str) -> Result<(), Reason> {
    if S::append(&[c], data, key) {
        Ok(())
    } else {
        Err(conflict(data, key))
    }
}

fn conflict(data: &Data, key: &str) -> Reason {
    Reason::DataConflict {
        path: key.to_owned(),
        kind: data
            .get(key)
            .map(|v| v.kind())
            .unwrap_or("value")
            .to_owned(),
    }
}

fn refusal<S: Symbol>(peek: Peek<S>) -> Reason {
    match peek {
        Peek::Symbol(c) => Reason::NoTransition {
            symbol: format!("{c:?}"),
        },
        _ => Reason::UnexpectedEnd,
    }
}

impl<S: Symbol> Machine<S> {
    /// Runs the machine (without reporting transitions) until it is done, or until the source
    /// needs more input — which, for a source that will get none, is an error here.
    ///
    /// Returns the outcome; the source is left at the first symbol not consumed.
    pub fn run_to_end<Src: Source<S> + ?Sized>(
        &self,
        src: &mut Src,
        data: &mut Data,
    ) -> Result<Outcome, RunError> {
        let mut run = self.start();
        match run.finish(src, data)? {
            Step::Done(o) => Ok(o),
            _ => Err(run.fail(src.sent(), Reason::UnexpectedEnd)),
        }
    }
}
