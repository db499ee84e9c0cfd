//! States, transitions and machines.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::data::Data;
use crate::regex::RegexBody;
use crate::run::Run;
use crate::symbol::Symbol;

/// A test on one input symbol, for transitions keyed by a symbol class.
pub type Predicate<S> = Arc<dyn Fn(S) -> bool + Send + Sync>;

/// A test on the collected data, for conditional ("decide") transitions. It receives the data
/// store and the data path (context) of the machine making the decision.
pub type Condition = Arc<dyn Fn(&Data, &str) -> bool + Send + Sync>;

/// Why a machine could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A [`StateId`] that does not belong to the graph was used.
    #[error("machine {machine:?}: state #{id} is not in its graph ({len} states)")]
    UnknownState {
        /// The machine being built.
        machine: String,
        /// The offending id.
        id: usize,
        /// How many states the graph has.
        len: usize,
    },
    /// The regular expression could not be compiled to a DFA (syntax, or a size limit).
    #[error("regex {pattern:?}: {reason}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// What regex-automata reported.
        reason: String,
    },
}

/// The identity of a state within one [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateId(pub(crate) usize);

/// What a state does when it is entered.
#[derive(Clone)]
pub(crate) enum Kind<S> {
    /// Consumes nothing.
    Plain,
    /// Consumes one symbol and appends it to `<context>.input`.
    Input,
    /// Consumes one symbol and throws it away.
    Drop,
    /// Runs a whole machine.
    Machine(Arc<Machine<S>>),
}

/// A state to add to a [`Graph`].
///
/// ```
/// use cpppo_automata::State;
/// let b = State::<char>::input("B").terminal();
/// ```
#[derive(Clone)]
pub struct State<S> {
    pub(crate) name: String,
    pub(crate) kind: Kind<S>,
    pub(crate) terminal: bool,
    pub(crate) context: String,
}

impl<S: Symbol> State<S> {
    fn with(name: &str, kind: Kind<S>) -> Self {
        State {
            name: name.to_owned(),
            kind,
            terminal: false,
            context: String::new(),
        }
    }

    /// A state that consumes no input: a decision point, or an initial state.
    pub fn plain(name: &str) -> Self {
        Self::with(name, Kind::Plain)
    }

    /// A state that consumes one symbol and appends it to the data at `<context>.input`.
    pub fn input(name: &str) -> Self {
        Self::with(name, Kind::Input)
    }

    /// A state that consumes one symbol and discards it.
    pub fn drop(name: &str) -> Self {
        Self::with(name, Kind::Drop)
    }

    /// A whole machine used as one state (a composite machine). Its terminal flag is the
    /// machine's own ([`Machine::terminal`]).
    pub fn machine(machine: Machine<S>) -> Self {
        let mut state = Self::with(&machine.name.clone(), Kind::Plain);
        state.terminal = machine.terminal;
        state.kind = Kind::Machine(Arc::new(machine));
        state
    }

    /// Marks the state terminal: a machine may stop here, having accepted its input.
    pub fn terminal(mut self) -> Self {
        self.terminal = true;
        self
    }

    /// Adds a context to this state's data path (`<machine path>.<context>.input`).
    pub fn context(mut self, context: &str) -> Self {
        self.context = context.to_owned();
        self
    }
}

/// Which input a transition is taken on.
#[derive(Clone)]
pub enum On<S> {
    /// Exactly this symbol.
    Symbol(S),
    /// Any symbol for which the predicate holds (tried after exact symbols, in insertion order).
    Class(Predicate<S>),
    /// Any symbol at all (tried after classes).
    Any,
    /// No input (epsilon): taken when nothing more specific matches the next symbol, when the
    /// input has ended, or at once if the state has no symbol-keyed transitions.
    Epsilon,
}

/// One conditional transition target.
#[derive(Clone)]
pub(crate) struct Decide {
    pub(crate) name: String,
    pub(crate) when: Condition,
    pub(crate) to: Option<usize>,
}

/// What a transition leads to: decisions tried in order, then a default.
#[derive(Clone, Default)]
pub(crate) struct Target {
    pub(crate) decides: Vec<Decide>,
    /// `None`: no transition (the input is refused here).
    pub(crate) then: Option<usize>,
}

impl Target {
    pub(crate) fn resolve(&self, data: &Data, path: &str) -> Option<usize> {
        for d in &self.decides {
            if (d.when)(data, path) {
                return d.to;
            }
        }
        self.then
    }

    fn ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.decides.iter().filter_map(|d| d.to).chain(self.then)
    }
}

/// The outgoing transitions of one state.
#[derive(Clone)]
pub(crate) struct Edges<S> {
    pub(crate) exact: HashMap<S, Target>,
    pub(crate) classes: Vec<(Predicate<S>, Target)>,
    pub(crate) any: Option<Target>,
    pub(crate) epsilon: Option<Target>,
}

impl<S> Default for Edges<S> {
    fn default() -> Self {
        Edges {
            exact: HashMap::new(),
            classes: Vec::new(),
            any: None,
            epsilon: None,
        }
    }
}

impl<S: Symbol> Edges<S> {
    /// The target for the symbol `c`, most specific first (exact, class, any, epsilon).
    pub(crate) fn for_symbol(&self, c: S) -> Option<&Target> {
        self.exact
            .get(&c)
            .or_else(|| {
                self.classes
                    .iter()
                    .find(|(p, _)| p(c))
                    .map(|(_, target)| target)
            })
            .or(self.any.as_ref())
            .or(self.epsilon.as_ref())
    }

    /// Whether any transition needs to see a symbol.
    pub(crate) fn wants_symbol(&self) -> bool {
        !self.exact.is_empty() || !self.classes.is_empty() || self.any.is_some()
    }

    fn slot(&mut self, on: On<S>) -> &mut Target {
        match on {
            On::Symbol(c) => self.exact.entry(c).or_default(),
            On::Class(p) => {
                self.classes.push((p, Target::default()));
                let last = self.classes.len() - 1;
                &mut self.classes[last].1
            }
            On::Any => self.any.get_or_insert_with(Target::default),
            On::Epsilon => self.epsilon.get_or_insert_with(Target::default),
        }
    }

    fn targets(&self) -> impl Iterator<Item = &Target> {
        self.exact
            .values()
            .chain(self.classes.iter().map(|(_, t)| t))
            .chain(self.any.iter())
            .chain(self.epsilon.iter())
    }
}

/// A state inside a built machine.
#[derive(Clone)]
pub(crate) struct Node<S> {
    pub(crate) state: State<S>,
    pub(crate) edges: Edges<S>,
}

/// A graph of states under construction; [`Machine::new`] turns it into a machine.
///
/// ```
/// use cpppo_automata::{Graph, State};
/// let mut g = Graph::<char>::new();
/// let e = g.add(State::plain("E"));
/// let a = g.add(State::input("A").terminal());
/// g.on(e, 'a', a);
/// g.on_class(a, |c: char| c.is_ascii_digit(), a);
/// ```
#[derive(Clone)]
pub struct Graph<S> {
    nodes: Vec<Node<S>>,
    /// The first unknown `from` id used, reported by [`Machine::new`].
    bad: Option<usize>,
}

impl<S: Symbol> Default for Graph<S> {
    fn default() -> Self {
        Graph {
            nodes: Vec::new(),
            bad: None,
        }
    }
}

impl<S: Symbol> Graph<S> {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a state; returns its id.
    pub fn add(&mut self, state: State<S>) -> StateId {
        self.nodes.push(Node {
            state,
            edges: Edges::default(),
        });
        StateId(self.nodes.len() - 1)
    }

    fn edges(&mut self, from: StateId) -> Option<&mut Edges<S>> {
        self.nodes.get_mut(from.0).map(|n| &mut n.edges)
    }

    /// Sets the default target of `from`'s transition on `on` (`None`: refuse that input).
    /// An id from another graph is reported by [`Machine::new`].
    pub fn set(&mut self, from: StateId, on: On<S>, to: Option<StateId>) -> &mut Self {
        match self.edges(from) {
            Some(edges) => edges.slot(on).then = to.map(|t| t.0),
            None => self.bad = self.bad.or(Some(from.0)),
        }
        self
    }

    /// Transition from `from` to `to` on the symbol `c`.
    pub fn on(&mut self, from: StateId, c: S, to: StateId) -> &mut Self {
        self.set(from, On::Symbol(c), Some(to))
    }

    /// Transitions from `from` to `to` on each of `symbols`.
    pub fn on_each(
        &mut self,
        from: StateId,
        symbols: impl IntoIterator<Item = S>,
        to: StateId,
    ) -> &mut Self {
        for c in symbols {
            self.on(from, c, to);
        }
        self
    }

    /// Transition from `from` to `to` on any symbol satisfying `class`.
    pub fn on_class(
        &mut self,
        from: StateId,
        class: impl Fn(S) -> bool + Send + Sync + 'static,
        to: StateId,
    ) -> &mut Self {
        self.set(from, On::Class(Arc::new(class)), Some(to))
    }

    /// Transition from `from` to `to` on any symbol.
    pub fn on_any(&mut self, from: StateId, to: StateId) -> &mut Self {
        self.set(from, On::Any, Some(to))
    }

    /// Transition from `from` to `to` without consuming input.
    pub fn epsilon(&mut self, from: StateId, to: StateId) -> &mut Self {
        self.set(from, On::Epsilon, Some(to))
    }

    /// Refuses the symbol `c` in `from`, even if a class, any or epsilon transition would take it.
    pub fn refuse(&mut self, from: StateId, c: S) -> &mut Self {
        self.set(from, On::Symbol(c), None)
    }

    /// Adds a conditional transition: on `on`, if `when(data, path)` holds, go to `to` (or
    /// refuse the input if `to` is `None`). Conditions are tried in the order added, before the
    /// transition's default target. `path` is the data path of the deciding machine.
    ///
    /// ```
    /// use cpppo_automata::{join, Data, Feed, Graph, Machine, On, State, Step};
    /// // Collect digits; then END if more than two were collected, else SHORT.
    /// let mut g = Graph::<char>::new();
    /// let s = g.add(State::plain("S"));
    /// let d = g.add(State::input("D"));
    /// let end = g.add(State::plain("END").terminal());
    /// let short = g.add(State::plain("SHORT").terminal());
    /// g.on_class(s, |c: char| c.is_ascii_digit(), d);
    /// g.on_class(d, |c: char| c.is_ascii_digit(), d);
    /// g.decide(d, On::Epsilon, "long?", |data: &Data, path: &str| {
    ///     data.text(&join(path, "input")).is_some_and(|t| t.len() > 2)
    /// }, Some(end));
    /// g.epsilon(d, short);
    /// let m = Machine::new("digits", g, s)?;
    ///
    /// let mut run = m.start();
    /// let (mut src, mut data) = (Feed::text("1234"), Data::new());
    /// let mut last = String::new();
    /// while let Step::Transition(t) = run.step(&mut src, &mut data)? {
    ///     last = t.to_string();
    /// }
    /// assert_eq!(last, "digits.END");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide(
        &mut self,
        from: StateId,
        on: On<S>,
        name: &str,
        when: impl Fn(&Data, &str) -> bool + Send + Sync + 'static,
        to: Option<StateId>,
    ) -> &mut Self {
        let decide = Decide {
            name: name.to_owned(),
            when: Arc::new(when),
            to: to.map(|t| t.0),
        };
        match self.edges(from) {
            Some(edges) => edges.slot(on).decides.push(decide),
            None => self.bad = self.bad.or(Some(from.0)),
        }
        self
    }
}

/// How a machine moves: through a graph of states, or through a regex DFA.
#[derive(Clone)]
pub(crate) enum Body<S> {
    Graph {
        nodes: Arc<[Node<S>]>,
        initial: usize,
    },
    Regex(Arc<RegexBody>),
}

/// A state machine: a graph of states (or a regex DFA) with an initial state.
///
/// A machine can itself be a state of a bigger machine ([`State::machine`]). When a running
/// sub-machine has no transition for the next symbol and has reached a terminal state, it
/// finishes and the transitions out of it in the parent get their chance at the same symbol.
///
/// * `greedy` (default): keep going while transitions are available; otherwise stop at the
///   first terminal state.
/// * `terminal`: as a state of a parent, the machine is terminal only if marked so; a finished
///   run reports `terminal` only if the machine is marked so (its final state is always terminal,
///   or the run fails).
///
/// ```
/// use cpppo_automata::{Data, Feed, Graph, Machine, State};
/// let mut g = Graph::<char>::new();
/// let e = g.add(State::plain("E"));
/// let a = g.add(State::input("A"));
/// let b = g.add(State::input("B").terminal());
/// g.on(e, 'a', a).on(a, 'b', b).on(b, 'b', b);
/// let basic = Machine::new("ab+", g, e)?.context("basic");
///
/// let mut data = Data::new();
/// let mut src = Feed::text("abbbb, ab");
/// basic.run_to_end(&mut src, &mut data)?;
/// assert_eq!(data.text("basic.input"), Some("abbbb"));
/// assert_eq!(src.rest_text(), ", ab");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Machine<S> {
    pub(crate) name: String,
    pub(crate) context: String,
    pub(crate) terminal: bool,
    pub(crate) greedy: bool,
    pub(crate) body: Body<S>,
}

impl<S: Symbol> Machine<S> {
    /// A machine running `graph` from `initial`.
    pub fn new(name: &str, graph: Graph<S>, initial: StateId) -> Result<Self, BuildError> {
        let len = graph.nodes.len();
        let bad = graph
            .bad
            .into_iter()
            .chain(std::iter::once(initial.0))
            .chain(
                graph
                    .nodes
                    .iter()
                    .flat_map(|n| n.edges.targets().flat_map(Target::ids)),
            )
            .find(|&id| id >= len);
        if let Some(id) = bad {
            return Err(BuildError::UnknownState {
                machine: name.to_owned(),
                id,
                len,
            });
        }
        Ok(Self::with_body(
            name,
            Body::Graph {
                nodes: graph.nodes.into(),
                initial: initial.0,
            },
        ))
    }

    pub(crate) fn with_body(name: &str, body: Body<S>) -> Self {
        Machine {
            name: name.to_owned(),
            context: String::new(),
            terminal: false,
            greedy: true,
            body,
        }
    }

    /// Sets the data context: inputs collected inside go to `<parent path>.<context>.input`.
    pub fn context(mut self, context: &str) -> Self {
        self.context = context.to_owned();
        self
    }

    /// Marks the machine terminal (or not).
    pub fn terminal(mut self, terminal: bool) -> Self {
        self.terminal = terminal;
        self
    }

    /// Chooses greedy (the default) or first-acceptance behaviour.
    pub fn greedy(mut self, greedy: bool) -> Self {
        self.greedy = greedy;
        self
    }

    /// Renames the machine.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// The machine's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The machine's data context (may be empty).
    pub fn context_name(&self) -> &str {
        &self.context
    }

    /// Whether the machine is marked terminal.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Whether the machine is greedy.
    pub fn is_greedy(&self) -> bool {
        self.greedy
    }

    /// A fresh run of this machine, storing data under its context.
    pub fn start(&self) -> Run<'_, S> {
        Run::new(self, "")
    }

    /// A fresh run storing data under `<path>.<context>`.
    pub fn start_at(&self, path: &str) -> Run<'_, S> {
        Run::new(self, path)
    }
}

impl<S> fmt::Debug for Machine<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine")
            .field("name", &self.name)
            .field("context", &self.context)
            .field("terminal", &self.terminal)
            .field("greedy", &self.greedy)
            .finish_non_exhaustive()
    }
}

impl<S: Symbol> fmt::Debug for State<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("name", &self.name)
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Decide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}?{:?}", self.name, self.to)
    }
}
