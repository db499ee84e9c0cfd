//! Symbol sources: anything a machine can peek at and consume from.

use std::collections::VecDeque;

/// What a source offers next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peek<S> {
    /// This symbol is next.
    Symbol(S),
    /// Nothing buffered now, but more may be fed later (a run pauses, and can be resumed).
    Pending,
    /// The input has ended.
    End,
}

/// A peekable source of symbols.
///
/// Implement this for your own buffers (a socket's receive buffer, a file reader); [`Feed`]
/// is a ready-made resumable buffer and [`IterSource`] wraps any iterator.
pub trait Source<S> {
    /// The next symbol, without consuming it.
    fn peek(&mut self) -> Peek<S>;
    /// Consumes and returns the next symbol, if one is buffered.
    fn advance(&mut self) -> Option<S>;
    /// How many symbols have been consumed so far.
    fn sent(&self) -> usize;
    /// The symbols buffered now, starting at the next one (may be empty even when some are
    /// available; machines then fall back to [`Source::peek`]). Lets a run consume in bulk.
    fn chunk(&self) -> &[S] {
        &[]
    }
    /// Consumes `n` symbols (at most what [`Source::chunk`] returned).
    fn consume(&mut self, n: usize) {
        for _ in 0..n {
            if self.advance().is_none() {
                break;
            }
        }
    }
}

/// A resumable buffer: feed symbols as they arrive, [`Feed::finish`] when no more will.
///
/// ```
/// use cpppo_automata::{Feed, Peek, Source};
/// let mut feed = Feed::new();
/// assert_eq!(feed.peek(), Peek::<u8>::Pending);
/// feed.extend(*b"ab");
/// feed.finish();
/// assert_eq!(feed.advance(), Some(b'a'));
/// assert_eq!(feed.rest(), b"b");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Feed<S> {
    buf: VecDeque<S>,
    sent: usize,
    finished: bool,
}

impl<S: Copy> Feed<S> {
    /// An empty, unfinished buffer.
    pub fn new() -> Self {
        Feed {
            buf: VecDeque::new(),
            sent: 0,
            finished: false,
        }
    }

    /// A finished buffer holding `symbols`: the whole input at once.
    pub fn complete(symbols: impl IntoIterator<Item = S>) -> Self {
        let mut feed = Self::new();
        feed.extend(symbols);
        feed.finish();
        feed
    }

    /// Appends more symbols.
    pub fn extend(&mut self, symbols: impl IntoIterator<Item = S>) {
        self.buf.extend(symbols);
    }

    /// Declares that no more symbols will come.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether [`Feed::finish`] was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The symbols not yet consumed.
    pub fn rest(&self) -> Vec<S> {
        self.buf.iter().copied().collect()
    }

    /// How many symbols are buffered.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

impl Feed<char> {
    /// A finished buffer holding the characters of `text`.
    pub fn text(text: &str) -> Self {
        Self::complete(text.chars())
    }

    /// The characters not yet consumed, as a string.
    pub fn rest_text(&self) -> String {
        self.buf.iter().collect()
    }
}

impl<S: Copy> Source<S> for Feed<S> {
    fn peek(&mut self) -> Peek<S> {
        match self.buf.front() {
            Some(&s) => Peek::Symbol(s),
            None if self.finished => Peek::End,
            None => Peek::Pending,
        }
    }

    fn advance(&mut self) -> Option<S> {
        let s = self.buf.pop_front()?;
        self.sent += 1;
        Some(s)
    }

    fn sent(&self) -> usize {
        self.sent
    }

    fn chunk(&self) -> &[S] {
        self.buf.as_slices().0
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.sent += n;
    }
}

/// Any iterator as a source; the input ends when the iterator does.
///
/// ```
/// use cpppo_automata::{IterSource, Peek, Source};
/// let mut src = IterSource::new("hi".chars());
/// assert_eq!(src.peek(), Peek::Symbol('h'));
/// src.advance();
/// src.advance();
/// assert_eq!(src.peek(), Peek::End);
/// assert_eq!(src.sent(), 2);
/// ```
pub struct IterSource<I: Iterator> {
    iter: std::iter::Peekable<I>,
    sent: usize,
}

impl<I: Iterator> IterSource<I> {
    /// Wraps `iter`.
    pub fn new(iter: I) -> Self {
        IterSource {
            iter: iter.peekable(),
            sent: 0,
        }
    }

    /// The underlying iterator, positioned at the next unconsumed symbol.
    pub fn into_rest(self) -> std::iter::Peekable<I> {
        self.iter
    }
}

impl<I> Source<I::Item> for IterSource<I>
where
    I: Iterator,
    I::Item: Copy,
{
    fn peek(&mut self) -> Peek<I::Item> {
        match self.iter.peek() {
            Some(&s) => Peek::Symbol(s),
            None => Peek::End,
        }
    }

    fn advance(&mut self) -> Option<I::Item> {
        let s = self.iter.next()?;
        self.sent += 1;
        Some(s)
    }

    fn sent(&self) -> usize {
        self.sent
    }
}

/// A borrowed slice as a source: the whole input, read in place without copying.
///
/// ```
/// use cpppo_automata::{Data, Machine, SliceSource};
/// let m = Machine::<u8>::regex("[a-z]+")?;
/// let mut src = SliceSource::new(b"abc123");
/// m.run_to_end(&mut src, &mut Data::new())?;
/// assert_eq!(src.rest(), b"123");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SliceSource<'a, S> {
    all: &'a [S],
    sent: usize,
}

impl<'a, S: Copy> SliceSource<'a, S> {
    /// Reads `all` from its start.
    pub fn new(all: &'a [S]) -> Self {
        SliceSource { all, sent: 0 }
    }

    /// The symbols not yet consumed.
    pub fn rest(&self) -> &'a [S] {
        self.all.get(self.sent..).unwrap_or_default()
    }
}

impl<S: Copy> Source<S> for SliceSource<'_, S> {
    fn peek(&mut self) -> Peek<S> {
        match self.rest().first() {
            Some(&s) => Peek::Symbol(s),
            None => Peek::End,
        }
    }

    fn advance(&mut self) -> Option<S> {
        let s = self.rest().first().copied()?;
        self.sent += 1;
        Some(s)
    }

    fn sent(&self) -> usize {
        self.sent
    }

    fn chunk(&self) -> &[S] {
        self.rest()
    }

    fn consume(&mut self, n: usize) {
        self.sent = self.sent.saturating_add(n).min(self.all.len());
    }
}
