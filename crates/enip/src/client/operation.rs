//! cpppo's client operation syntax: what to read or write, as typed on a command line.
//!
//! ```text
//! Tag                          read one element of Tag
//! Tag[5]                       read element 5
//! Tag[1-10]                    read elements 1 to 10 (count 10)
//! Tag*20                       read 20 elements
//! Tag[0-9]+16                  elements 0 to 9, starting at byte offset 16 (fragmented access)
//! Tag[1-3]=(DINT)1,2,3         write three DINTs
//! Tag=(SSTRING)"Hello, world!" write a short string (quoted values may hold commas; "" is a quote)
//! Tag=1.5                      no (TYPE): REAL if any value has a '.', else INT
//! Struct.Member[2].X           members and elements of structures
//! @1/1/7                       class/instance/attribute (decimal, 0x.., 0o.., 0b..)
//! @0x2/1/1[3]                  ... and element
//! @{"class":4}/{"instance":5}/{"connection":100}   any segment, in JSON
//! ```
//!
//! The text is split into tokens by state machines from `cpppo-automata` (one composite machine
//! for the path, another for the values, each made of regex machines for names, numbers, JSON
//! segments and quoted strings), then checked by a small recursive-descent parser.
//!
//! ```
//! use cpppo_enip::client::operation::{Operation, PathStep, Literal};
//! use cpppo_cip::DataType;
//! let op = Operation::parse("Tag[1-3]=(DINT)1,2,3")?;
//! assert_eq!(op.path, [PathStep::Symbolic("Tag".into()), PathStep::Element(1)]);
//! assert_eq!((op.range, op.count), (Some((1, 3)), Some(3)));
//! let write = op.write.as_ref().unwrap();
//! assert_eq!(write.data_type, DataType::Dint);
//! assert_eq!(write.values, [Literal::Int(1), Literal::Int(2), Literal::Int(3)]);
//! assert_eq!(op.to_string(), "Tag[1-3]=(DINT)1,2,3");
//! # Ok::<(), cpppo_enip::client::operation::OperationError>(())
//! ```

mod display;
mod lex;

use cpppo_cip::DataType;

use lex::{lexers, Kind, Token};

/// One step of an operation's path, as typed (owned text and numbers); the client encodes
/// each as a wire [`cpppo_cip::Segment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// A tag or member name.
    Symbolic(String),
    /// A class number.
    Class(u32),
    /// An instance number.
    Instance(u32),
    /// An attribute number.
    Attribute(u32),
    /// An element (array index).
    Element(u32),
    /// A connection point.
    Connection(u32),
    /// A member id.
    Member(u32),
    /// Leave through `port` to `link`.
    Port {
        /// The port number (1 or more).
        port: u16,
        /// The node on the far side.
        link: Link,
    },
}

/// The link address of a port segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// A slot or node number.
    Number(u32),
    /// An address given as text (an IP address).
    Address(String),
}

/// One element value as cpppo's operation syntax writes it and its results print it: a literal
/// without its CIP type (the typed wire element is [`cpppo_cip::Value`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// An integer (any integer type; range-checked against the write's type).
    Int(i128),
    /// A REAL or LREAL.
    Real(f64),
    /// A BOOL.
    Bool(bool),
    /// A STRING or SSTRING.
    Text(String),
}

/// The values of a write and their type.
#[derive(Clone, Debug, PartialEq)]
pub struct Write {
    /// The CIP type the values are written as.
    pub data_type: DataType,
    /// The values, in element order.
    pub values: Vec<Literal>,
}

/// One read or write, as parsed from cpppo's operation syntax.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// Where: the path segments, including the first element if one was given.
    pub path: Vec<PathStep>,
    /// The first and last elements addressed, if an element was given (`[n]` or
    /// `[first-last]`); `last` follows from the count.
    pub range: Option<(u32, u32)>,
    /// How many elements, if known: from `[first-last]`, a `*count`, or the number of values
    /// of a (non-fragmented) write. Unknown means one, for reads (see [`Operation::elements`]).
    pub count: Option<u32>,
    /// A byte offset (`+offset`): use fragmented access starting there.
    pub offset: Option<u32>,
    /// What to write, for a write.
    pub write: Option<Write>,
}

impl Operation {
    /// Parses one operation.
    pub fn parse(text: &str) -> Result<Operation, OperationError> {
        parse(text).map_err(|problem| OperationError {
            text: text.to_owned(),
            problem,
        })
    }

    /// Whether this is a write.
    pub fn is_write(&self) -> bool {
        self.write.is_some()
    }

    /// How many elements are addressed (1 unless a range, count or values say otherwise).
    pub fn elements(&self) -> u32 {
        self.count.unwrap_or(1)
    }

    /// Whether the operation needs fragmented access (a byte offset was given).
    pub fn is_fragmented(&self) -> bool {
        self.offset.is_some()
    }
}

/// Parses each of `tags` as an [`Operation`]; the first bad one is the error.
///
/// ```
/// let ops = cpppo_enip::client::operation::parse_operations(&["Tag[0-9]+16=(DINT)4,5,6,7,8,9", "@0x2/1/1"])?;
/// assert!(ops[0].is_write() && !ops[1].is_write());
/// assert_eq!(ops[0].offset, Some(16));
/// # Ok::<(), cpppo_enip::client::operation::OperationError>(())
/// ```
pub fn parse_operations<T: AsRef<str>>(tags: &[T]) -> Result<Vec<Operation>, OperationError> {
    tags.iter().map(|t| Operation::parse(t.as_ref())).collect()
}

/// A bad operation: the text and what was wrong with it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("bad operation {text:?}: {problem}")]
pub struct OperationError {
    /// The operation as given.
    pub text: String,
    /// What was wrong.
    pub problem: Problem,
}

/// What can be wrong with an operation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Problem {
    /// Nothing but white space.
    #[error("empty operation")]
    Empty,
    /// A character that cannot start anything here.
    #[error("unexpected character {ch:?} at offset {offset}")]
    UnexpectedChar {
        /// The character.
        ch: char,
        /// Its offset, in characters.
        offset: usize,
    },
    /// A quoted string or JSON segment without its end.
    #[error("unterminated {what} starting at offset {offset}")]
    Unterminated {
        /// What was left open.
        what: &'static str,
        /// Where it started, in characters.
        offset: usize,
    },
    /// Something other than what the syntax allows at this point.
    #[error("expected {expected} at offset {offset}, found {found}")]
    Unexpected {
        /// What would have been allowed.
        expected: &'static str,
        /// What was there.
        found: String,
        /// Where, in characters.
        offset: usize,
    },
    /// A number that does not parse, or does not fit.
    #[error("bad number {0:?}")]
    BadNumber(String),
    /// `[first-last]` with last < first.
    #[error("element range is reversed ({first}-{last})")]
    ReversedRange {
        /// The first element.
        first: u32,
        /// The last element.
        last: u32,
    },
    /// An element count of zero.
    #[error("element count must be at least 1")]
    ZeroCount,
    /// Both a range and a different `*count`.
    #[error("element count {count} contradicts the range's {range} elements")]
    CountConflict {
        /// The `*count`.
        count: u32,
        /// The range's count.
        range: u32,
    },
    /// A range on a path component other than the last.
    #[error("only the last path component may address several elements")]
    RangeNotLast,
    /// More than class/instance/attribute/element in numeric form.
    #[error("at most 4 numeric segments (class/instance/attribute/element); use JSON for more")]
    TooManySegments,
    /// A JSON segment that is not one of the known forms.
    #[error("bad segment {text}: {reason}")]
    BadSegment {
        /// The segment's text.
        text: String,
        /// Why.
        reason: String,
    },
    /// `(TYPE)` names no known type.
    #[error("unknown type ({0})")]
    UnknownType(String),
    /// A value that is not of the write's type.
    #[error("{text:?} is not a valid {data_type}")]
    BadValue {
        /// The value's text.
        text: String,
        /// The write's type.
        data_type: DataType,
    },
    /// A value outside the type's range.
    #[error("{text} is out of range for {data_type}")]
    OutOfRange {
        /// The value's text.
        text: String,
        /// The write's type.
        data_type: DataType,
    },
    /// `=` with nothing after it.
    #[error("no values to write after '='")]
    NoValues,
    /// A write whose number of values differs from its element count.
    #[error("{values} values given for {elements} elements")]
    CountMismatch {
        /// Values given.
        values: usize,
        /// Elements addressed.
        elements: u32,
    },
    /// A write at a byte offset without an element count.
    #[error("a write at a byte offset needs an element range or count")]
    FragmentNeedsCount,
    /// A write at a byte offset of a variable-size type.
    #[error("a write at a byte offset needs a fixed-size type, not {0}")]
    FragmentNeedsSize(DataType),
    /// A byte offset that is not a whole number of elements.
    #[error("byte offset {offset} is not a multiple of the {size}-byte element size")]
    MisalignedOffset {
        /// The offset.
        offset: u32,
        /// The element size.
        size: usize,
    },
    /// Values written at a byte offset past the addressed elements.
    #[error("{values} values at byte offset {offset} run past the {elements} elements")]
    FragmentOverflow {
        /// Values given.
        values: usize,
        /// The offset.
        offset: u32,
        /// Elements addressed.
        elements: u32,
    },
    /// The tokenizer's state machines could not be built (a bug).
    #[error("internal tokenizer error: {0}")]
    Internal(String),
}

/// A cursor over tokens.
struct Tokens {
    tokens: Vec<Token>,
    at: usize,
    end: usize,
}

impl Tokens {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().is_some_and(|t| t.kind == Kind::Punct(c))
    }

    fn eat(&mut self, c: char) -> bool {
        let yes = self.is_punct(c);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn unexpected(&self, expected: &'static str) -> Problem {
        match self.peek() {
            Some(t) => Problem::Unexpected {
                expected,
                found: format!("{:?}", t.text),
                offset: t.offset,
            },
            None => Problem::Unexpected {
                expected,
                found: "the end".into(),
                offset: self.end,
            },
        }
    }

    fn expect(&mut self, c: char, expected: &'static str) -> Result<(), Problem> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn number(&mut self, expected: &'static str) -> Result<u32, Problem> {
        match self.peek() {
            Some(t) if t.kind == Kind::Int => {
                let text = t.text.clone();
                self.at += 1;
                let n = parse_int(&text).ok_or_else(|| Problem::BadNumber(text.clone()))?;
                u32::try_from(n).map_err(|_| Problem::BadNumber(text))
            }
            _ => Err(self.unexpected(expected)),
        }
    }
}

/// Parses an integer: decimal (leading zeros are not octal), `0x`, `0o` or `0b`, with an
/// optional sign and `_` between digits.
fn parse_int(text: &str) -> Option<i128> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = match lower.get(..2) {
        Some("0x") => (16, lower.get(2..)?),
        Some("0o") => (8, lower.get(2..)?),
        Some("0b") => (2, lower.get(2..)?),
        _ => (10, lower.as_str()),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    let n = i128::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -n } else { n })
}

fn parse(text: &str) -> Result<Operation, Problem> {
    let lexers = lexers()?;
    let chars: Vec<char> = text.chars().collect();
    if chars.iter().all(|c| c.is_whitespace()) {
        return Err(Problem::Empty);
    }
    let (mut tokens, used) = lexers.path.lex(&chars, 0)?;
    let write = matches!(tokens.last(), Some(t) if t.kind == Kind::Punct('='));
    if write {
        tokens.pop();
    }
    let mut toks = Tokens {
        tokens,
        at: 0,
        end: used.saturating_sub(usize::from(write)),
    };
    let mut op = parse_target(&mut toks)?;
    if toks.peek().is_some() {
        return Err(toks.unexpected("'[', '*', '+', '=' or the end"));
    }
    if write {
        let rest = chars.get(used..).unwrap_or_default();
        let (tokens, _) = lexers.values.lex(rest, used)?;
        let mut vals = Tokens {
            tokens,
            at: 0,
            end: chars.len(),
        };
        op.write = Some(parse_values(&mut vals)?);
        check_write(&mut op)?;
    }
    settle_range(&mut op);
    Ok(op)
}

/// path, then `[range]`, `*count` and `+offset`.
fn parse_target(toks: &mut Tokens) -> Result<Operation, Problem> {
    let mut path = if toks.eat('@') {
        parse_numeric(toks)?
    } else {
        parse_symbolic(toks)?
    };
    // `[n]` names the first element; `[first-last]` also fixes the count.
    let mut first = None;
    let mut count = None;
    if toks.eat('[') {
        // `[i,j,k]`: one index per dimension; the last may start a range.
        let mut f = toks.number("an element number")?;
        let mut leading = Vec::new();
        while toks.eat(',') {
            leading.push(f);
            f = toks.number("an element number")?;
        }
        if !leading.is_empty() {
            path.extend(leading.into_iter().map(PathStep::Element));
            path.push(PathStep::Element(f));
        }
        if toks.eat('-') {
            let last = toks.number("the last element number")?;
            if last < f {
                return Err(Problem::ReversedRange { first: f, last });
            }
            let n = (last - f).checked_add(1);
            count = Some(n.ok_or_else(|| Problem::BadNumber(format!("{f}-{last}")))?);
        }
        toks.expect(']', "']'")?;
        match path.last_mut() {
            Some(PathStep::Element(e)) => *e = f,
            _ => path.push(PathStep::Element(f)),
        }
        first = Some(f);
    }
    let mut offset = None;
    loop {
        if toks.eat('*') {
            let n = toks.number("an element count")?;
            if n == 0 {
                return Err(Problem::ZeroCount);
            }
            if let Some(r) = count.filter(|&r| r != n) {
                return Err(Problem::CountConflict { count: n, range: r });
            }
            count = Some(n);
        } else if offset.is_none() && toks.eat('+') {
            offset = Some(toks.number("a byte offset")?);
        } else {
            break;
        }
    }
    Ok(Operation {
        path,
        range: first.map(|f| (f, f)),
        count,
        offset,
        write: None,
    })
}

/// Makes `range` span the elements addressed, once the count is known.
fn settle_range(op: &mut Operation) {
    if let Some((first, _)) = op.range {
        let last = first.saturating_add(op.elements().saturating_sub(1));
        op.range = Some((first, last));
    }
}

/// `Name([n])?(.Name([n])?)*` — the last component's `[...]` is left for [`parse_target`].
fn parse_symbolic(toks: &mut Tokens) -> Result<Vec<PathStep>, Problem> {
    let mut path = Vec::new();
    loop {
        match toks.next() {
            Some(t) if t.kind == Kind::Name => path.push(PathStep::Symbolic(t.text)),
            _ => {
                toks.at = toks.at.saturating_sub(1);
                return Err(toks.unexpected("a tag name or '@'"));
            }
        }
        // An index here belongs to a member unless no '.' follows it.
        let mark = toks.at;
        if toks.eat('[') {
            let mut indexes = vec![toks.number("an element number")?];
            while toks.eat(',') {
                indexes.push(toks.number("an element number")?);
            }
            let ranged = toks.is_punct('-');
            if toks.eat(']') && toks.is_punct('.') {
                path.extend(indexes.into_iter().map(PathStep::Element));
            } else if ranged && member_follows(toks) {
                return Err(Problem::RangeNotLast);
            } else {
                toks.at = mark;
                return Ok(path);
            }
        }
        if !toks.eat('.') {
            return Ok(path);
        }
    }
}

/// Whether a `[first-last]` being scanned is followed by `.member`.
fn member_follows(toks: &Tokens) -> bool {
    let mut at = toks.at;
    while let Some(t) = toks.tokens.get(at) {
        if t.kind == Kind::Punct(']') {
            return toks
                .tokens
                .get(at + 1)
                .is_some_and(|t| t.kind == Kind::Punct('.'));
        }
        at += 1;
    }
    false
}

/// `seg(/seg)*` after '@'; plain numbers are class, instance, attribute, element by position.
fn parse_numeric(toks: &mut Tokens) -> Result<Vec<PathStep>, Problem> {
    let mut path = Vec::new();
    loop {
        let position = path.len();
        match toks.peek().map(|t| t.kind) {
            Some(Kind::Json) => {
                let text = toks.next().map(|t| t.text).unwrap_or_default();
                path.push(json_segment(&text)?);
            }
            Some(Kind::Int) => {
                let n = toks.number("a number")?;
                path.push(match position {
                    0 => PathStep::Class(n),
                    1 => PathStep::Instance(n),
                    2 => PathStep::Attribute(n),
                    3 => PathStep::Element(n),
                    _ => return Err(Problem::TooManySegments),
                });
            }
            _ => return Err(toks.unexpected("a number or a JSON segment")),
        }
        if !toks.eat('/') {
            return Ok(path);
        }
    }
}

/// One JSON segment: `{"class":4}`, `{"symbolic":"x"}`, `{"port":1,"link":0}`, ...
fn json_segment(text: &str) -> Result<PathStep, Problem> {
    let bad = |reason: &str| Problem::BadSegment {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let map = value.as_object().ok_or_else(|| bad("not an object"))?;
    let number = |key: &str| -> Result<u32, Problem> {
        map.get(key)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(&format!("{key} must be a whole number")))
    };
    if map.contains_key("port") || map.contains_key("link") {
        if map.len() != 2 {
            return Err(bad("a port segment has exactly \"port\" and \"link\""));
        }
        let port = number("port")?;
        let port = u16::try_from(port)
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| bad("port must be 1 to 65535"))?;
        let link = match map.get("link") {
            Some(serde_json::Value::String(s)) => match s.parse::<std::net::IpAddr>() {
                Ok(ip) => Link::Address(ip.to_string()),
                Err(_) => Link::Number(
                    parse_int(s)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| bad("link must be a number or an IP address"))?,
                ),
            },
            _ => Link::Number(number("link")?),
        };
        return Ok(PathStep::Port { port, link });
    }
    let mut entries = map.iter();
    let (key, value) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        _ => return Err(bad("expected exactly one key")),
    };
    Ok(match key.as_str() {
        "symbolic" => PathStep::Symbolic(
            value
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("symbolic must be a non-empty string"))?
                .to_owned(),
        ),
        "class" => PathStep::Class(number(key)?),
        "instance" => PathStep::Instance(number(key)?),
        "attribute" => PathStep::Attribute(number(key)?),
        "element" => PathStep::Element(number(key)?),
        "connection" => PathStep::Connection(number(key)?),
        "member" => PathStep::Member(number(key)?),
        _ => return Err(bad(&format!("unknown segment type {key:?}"))),
    })
}

/// `(TYPE)? value (, value)*` after '='.
fn parse_values(toks: &mut Tokens) -> Result<Write, Problem> {
    let mut cast = None;
    if toks.eat('(') {
        match toks.next() {
            Some(t) if t.kind == Kind::Word => {
                let ty = DataType::from_name(&t.text).ok_or(Problem::UnknownType(t.text))?;
                cast = Some(ty);
            }
            _ => {
                toks.at = toks.at.saturating_sub(1);
                return Err(toks.unexpected("a type name"));
            }
        }
        toks.expect(')', "')'")?;
    }
    let mut raw = Vec::new();
    if toks.peek().is_none() {
        return Err(Problem::NoValues);
    }
    loop {
        match toks.next() {
            Some(t) if matches!(t.kind, Kind::Str | Kind::Num | Kind::Word) => raw.push(t),
            _ => {
                toks.at = toks.at.saturating_sub(1);
                return Err(toks.unexpected("a value"));
            }
        }
        if toks.peek().is_none() {
            break;
        }
        toks.expect(',', "',' or the end")?;
    }
    let data_type = cast.unwrap_or_else(|| {
        if raw.iter().any(|t| t.text.contains('.')) {
            DataType::Real
        } else {
            DataType::Int
        }
    });
    let values = raw
        .iter()
        .map(|t| convert(t, data_type))
        .collect::<Result<_, _>>()?;
    Ok(Write { data_type, values })
}

/// The inclusive range cpppo accepts for an integer type: signed types also take the unsigned
/// range of their width (so generated data need not know signedness).
pub fn int_range(ty: DataType) -> Option<(i128, i128)> {
    let bits = match ty {
        DataType::Sint | DataType::Usint | DataType::Byte => 8,
        DataType::Int | DataType::Uint | DataType::Word => 16,
        DataType::Dint | DataType::Udint | DataType::Dword => 32,
        DataType::Lint | DataType::Ulint | DataType::Lword => 64,
        _ => return None,
    };
    let signed = matches!(
        ty,
        DataType::Sint | DataType::Int | DataType::Dint | DataType::Lint
    );
    let lo = if signed { -(1i128 << (bits - 1)) } else { 0 };
    Some((lo, (1i128 << bits) - 1))
}

fn convert(t: &Token, ty: DataType) -> Result<Literal, Problem> {
    let text = match t.kind {
        Kind::Str => unquote(&t.text),
        _ => t.text.clone(),
    };
    let bad = || Problem::BadValue {
        text: text.clone(),
        data_type: ty,
    };
    let out_of_range = || Problem::OutOfRange {
        text: text.clone(),
        data_type: ty,
    };
    match ty {
        DataType::String | DataType::Sstring => Ok(Literal::Text(text.clone())),
        DataType::Bool => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Literal::Bool(true)),
            "false" => Ok(Literal::Bool(false)),
            _ => parse_int(text.trim())
                .map(|n| Literal::Bool(n != 0))
                .ok_or_else(bad),
        },
        DataType::Real | DataType::Lreal => {
            let x: f64 = text.trim().parse().map_err(|_| bad())?;
            if ty == DataType::Real && x.is_finite() && x.abs() > f64::from(f32::MAX) {
                return Err(out_of_range());
            }
            Ok(Literal::Real(x))
        }
        _ => {
            let (lo, hi) = int_range(ty).ok_or_else(bad)?;
            let n = parse_int(text.trim()).ok_or_else(bad)?;
            if n < lo || n > hi {
                return Err(out_of_range());
            }
            Ok(Literal::Int(n))
        }
    }
}

/// `"a ""b"""` → `a "b"` (CSV quoting).
fn unquote(text: &str) -> String {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    inner.replace("\"\"", "\"")
}

/// A write's values against its element count and offset (cpppo's rules).
fn check_write(op: &mut Operation) -> Result<(), Problem> {
    let Some(write) = &op.write else {
        return Ok(());
    };
    let values = write.values.len();
    match op.offset {
        None => {
            let elements = *op
                .count
                .get_or_insert(u32::try_from(values).unwrap_or(u32::MAX));
            if usize::try_from(elements).ok() != Some(values) {
                return Err(Problem::CountMismatch { values, elements });
            }
        }
        Some(offset) => {
            let elements = op.count.ok_or(Problem::FragmentNeedsCount)?;
            let size = write
                .data_type
                .size()
                .ok_or(Problem::FragmentNeedsSize(write.data_type))?;
            let offset_usize = usize::try_from(offset).unwrap_or(usize::MAX);
            if offset_usize % size != 0 {
                return Err(Problem::MisalignedOffset { offset, size });
            }
            let end = (offset_usize / size).saturating_add(values);
            if end > usize::try_from(elements).unwrap_or(usize::MAX) {
                return Err(Problem::FragmentOverflow {
                    values,
                    offset,
                    elements,
                });
            }
        }
    }
    Ok(())
}
