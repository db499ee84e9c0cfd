//! The data store machines write into: values addressed by dotted paths (`csv.input`).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

/// One value in a [`Data`] store.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Collected byte symbols.
    Bytes(Vec<u8>),
    /// Collected text symbols.
    Text(String),
    /// An integer artifact.
    Int(i64),
    /// A floating-point artifact.
    Float(f64),
    /// A flag.
    Bool(bool),
}

impl Value {
    /// A short name of the kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bytes(_) => "bytes",
            Value::Text(_) => "text",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bytes(b) => write!(f, "b\"{}\"", b.escape_ascii()),
            Value::Text(t) => write!(f, "{t:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Values addressed by dotted paths, in the manner of cpppo's `dotdict`.
///
/// Paths are plain strings whose components are joined with `.`; [`Data::under`] walks every
/// value below a prefix, so `csv` addresses the "sub-dictionary" holding `csv.input`.
///
/// ```
/// use cpppo_automata::{Data, Value};
/// let mut data = Data::new();
/// data.insert("csv.input", Value::Text("ab".into()));
/// data.insert("csv.count", Value::Int(1));
/// data.insert("csvx", Value::Int(9));
/// assert_eq!(data.text("csv.input"), Some("ab"));
/// assert_eq!(data.under("csv").count(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    entries: BTreeMap<String, Value>,
}

impl Data {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value at `path`, if any.
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.entries.get(path)
    }

    /// The value at `path`, mutably.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Value> {
        self.entries.get_mut(path)
    }

    /// The text at `path`, if it holds text.
    pub fn text(&self, path: &str) -> Option<&str> {
        match self.entries.get(path) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// The bytes at `path`, if it holds bytes.
    pub fn bytes(&self, path: &str) -> Option<&[u8]> {
        match self.entries.get(path) {
            Some(Value::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    /// Stores `value` at `path`, returning what was there.
    pub fn insert(&mut self, path: impl Into<String>, value: Value) -> Option<Value> {
        self.entries.insert(path.into(), value)
    }

    /// Removes and returns the value at `path`.
    pub fn remove(&mut self, path: &str) -> Option<Value> {
        self.entries.remove(path)
    }

    /// Removes `prefix` and every value below it.
    pub fn remove_under(&mut self, prefix: &str) {
        self.entries.retain(|k, _| !is_under(k, prefix));
    }

    /// Every value at `prefix` or below it (`prefix.…`), in path order.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter(move |(k, _)| is_under(k, prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every value, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn is_under(key: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || key == prefix
        || (key.starts_with(prefix) && key.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// Joins two dotted paths, skipping empty parts: `join("csv", "input") == "csv.input"`.
///
/// ```
/// assert_eq!(cpppo_automata::join("", "input"), "input");
/// assert_eq!(cpppo_automata::join("a.b", "c"), "a.b.c");
/// ```
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}.{b}"),
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}: {v}")?;
        }
        f.write_str("}")
    }
}
