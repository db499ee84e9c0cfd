//! The operation tokenizers: composite machines of regex machines, from `cpppo-automata`.

use std::sync::OnceLock;

use cpppo_automata::{Data, Feed, Graph, Machine, Reason, State, Step};

use super::Problem;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Name,
    Int,
    Json,
    Str,
    Num,
    Word,
    Punct(char),
}

impl Kind {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Kind::Name => "a name",
            Kind::Int => "a number",
            Kind::Json => "a JSON segment",
            Kind::Str => "a string",
            Kind::Num => "a number",
            Kind::Word => "a word",
            Kind::Punct(_) => "punctuation",
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) text: String,
    pub(super) offset: usize,
}

/// A tokenizer: a composite machine whose hub state `T` picks a token machine by the next
/// character; each token machine returns to `T` by an epsilon transition when it can go no
/// further. The (depth 0) transitions of a run mark where each token starts and ends.
pub(super) struct Lexer {
    machine: Machine<char>,
    kinds: Vec<(String, Kind)>,
    stop: Option<char>,
}

/// A token rule: name, kind, regex, and the test for its first character.
type Rule = (&'static str, Kind, &'static str, fn(char) -> bool);

const HUB: &str = "T";
const SPACE: &str = " ";

impl Lexer {
    /// `rules`: (name, kind, regex, first-character test); `puncts`: single-character tokens;
    /// `stop`: a character that ends the text this lexer handles (consumed, as a token).
    fn build(
        rules: &[Rule],
        puncts: &str,
        stop: Option<char>,
    ) -> Result<Lexer, cpppo_automata::BuildError> {
        let mut g = Graph::new();
        let hub = g.add(State::plain(HUB).terminal());
        let mut kinds = Vec::new();
        for &(name, kind, pattern, first) in rules {
            let m = Machine::regex(pattern)?.named(name).terminal(true);
            let s = g.add(State::machine(m));
            g.on_class(hub, first, s).epsilon(s, hub);
            kinds.push((name.to_owned(), kind));
        }
        let space = g.add(State::drop(SPACE).terminal());
        g.on_class(hub, char::is_whitespace, space)
            .epsilon(space, hub);
        for c in puncts.chars() {
            let s = g.add(State::drop(&c.to_string()).terminal());
            g.on(hub, c, s).epsilon(s, hub);
            kinds.push((c.to_string(), Kind::Punct(c)));
        }
        if let Some(c) = stop {
            // No way back to the hub: the machine ends here, leaving the rest in the source.
            let s = g.add(State::drop(&c.to_string()).terminal());
            g.on(hub, c, s);
            kinds.push((c.to_string(), Kind::Punct(c)));
        }
        Ok(Lexer {
            machine: Machine::new("lexer", g, hub)?,
            kinds,
            stop,
        })
    }

    fn kind(&self, name: &str) -> Option<Kind> {
        self.kinds.iter().find(|(n, _)| n == name).map(|&(_, k)| k)
    }

    /// Tokenizes `chars`, starting at character offset `base` of the whole operation; returns
    /// the tokens and how many characters were consumed.
    pub(super) fn lex(&self, chars: &[char], base: usize) -> Result<(Vec<Token>, usize), Problem> {
        let mut run = self.machine.start();
        let mut src = Feed::complete(chars.iter().copied());
        let mut data = Data::new();
        let mut tokens = Vec::new();
        let mut open: Option<(Kind, usize)> = None;
        let close = |open: &mut Option<(Kind, usize)>, end: usize, tokens: &mut Vec<Token>| {
            if let Some((kind, start)) = open.take() {
                let text = chars.get(start..end).unwrap_or_default().iter().collect();
                tokens.push(Token {
                    kind,
                    text,
                    offset: base + start,
                });
            }
        };
        loop {
            match run.step(&mut src, &mut data) {
                Ok(Step::Transition(t)) if t.depth == 0 => {
                    close(&mut open, t.offset, &mut tokens);
                    let name = t.state.to_string();
                    open = self.kind(&name).map(|k| (k, t.offset));
                }
                Ok(Step::Transition(_)) => {}
                Ok(Step::Done(o)) => {
                    close(&mut open, o.offset, &mut tokens);
                    let stopped = self
                        .stop
                        .is_some_and(|c| tokens.last().is_some_and(|t| t.kind == Kind::Punct(c)));
                    // The hub is terminal: a character no token starts with ends the run early.
                    return match chars.get(o.offset) {
                        Some(&ch) if !stopped => Err(Problem::UnexpectedChar {
                            ch,
                            offset: base + o.offset,
                        }),
                        _ => Ok((tokens, o.offset)),
                    };
                }
                Ok(Step::NeedInput) => return Err(Problem::Internal("lexer wants input".into())),
                Err(e) => {
                    return Err(match (open, &e.reason) {
                        (Some((kind, start)), Reason::UnexpectedEnd) => Problem::Unterminated {
                            what: kind.describe(),
                            offset: base + start,
                        },
                        _ => match chars.get(e.offset) {
                            Some(&ch) => Problem::UnexpectedChar {
                                ch,
                                offset: base + e.offset,
                            },
                            None => Problem::Internal(e.to_string()),
                        },
                    })
                }
            }
        }
    }
}

fn digit_start(c: char) -> bool {
    c.is_ascii_digit()
}
pub(super) fn name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}
fn json_start(c: char) -> bool {
    c == '{'
}
fn str_start(c: char) -> bool {
    c == '"'
}
fn num_start(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '-' | '+' | '.')
}

/// A JSON object with no nested objects; strings may hold any character.
const JSON_RE: &str = r#"\{([^{}"]|"([^"\\]|\\.)*")*\}"#;

pub(super) struct Lexers {
    pub(super) path: Lexer,
    pub(super) values: Lexer,
}

pub(super) fn lexers() -> Result<&'static Lexers, Problem> {
    static LEXERS: OnceLock<Result<Lexers, String>> = OnceLock::new();
    let built = LEXERS.get_or_init(|| {
        let path = Lexer::build(
            &[
                ("name", Kind::Name, r"[\w:&&[^0-9]][\w:]*", name_start),
                ("int", Kind::Int, r"[0-9][0-9A-Za-z_]*", digit_start),
                ("json", Kind::Json, JSON_RE, json_start),
            ],
            "@/.[]-*+,",
            Some('='),
        );
        let values = Lexer::build(
            &[
                ("str", Kind::Str, r#""([^"]|"")*""#, str_start),
                (
                    "num",
                    Kind::Num,
                    r"[-+]?[.0-9][0-9A-Za-z_.]*([eE][-+]?[0-9]+)?",
                    num_start,
                ),
                ("word", Kind::Word, r"[\w&&[^0-9]]\w*", name_start),
            ],
            "(),",
            None,
        );
        match (path, values) {
            (Ok(path), Ok(values)) => Ok(Lexers { path, values }),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        }
    });
    built.as_ref().map_err(|e| Problem::Internal(e.clone()))
}
