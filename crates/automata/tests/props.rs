//! Property tests: regex machines agree with regex-automata; split input equals whole input;
//! bulk runs equal stepped runs; nothing panics on arbitrary bytes.

use cpppo_automata::{Data, Feed, Graph, Machine, RunError, SliceSource, State, Step, Symbol};
use proptest::prelude::*;
use regex_automata::meta::Regex;

const PATTERNS: &[&str] = &[
    "(ab+)((,[ ]*)(ab+))*",
    "a*b?a",
    "(a|ab)(c|bcd)",
    "[ab]{2,4}",
    "a(b|c)*d?",
    "(ab|a)*",
    "x?",
    "[^,]+,[^,]*",
];

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec!['a', 'b', 'c', 'd', ',', ' ', 'x']),
        0..24,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn csv() -> Machine<char> {
    let mut g = Graph::new();
    let e = g.add(State::plain("E"));
    let a = g.add(State::input("A"));
    let b = g.add(State::input("B").terminal());
    g.on(e, 'a', a).on(a, 'b', b).on(b, 'b', b);
    let abp = Machine::new("ab+", g, e).expect("graph").terminal(true);
    let mut g = Graph::new();
    let abp = g.add(State::machine(abp));
    let sep = g.add(State::drop("SEP"));
    g.on(abp, ',', sep).on(sep, ' ', sep).epsilon(sep, abp);
    Machine::new("CSV", g, abp).expect("graph").context("csv")
}

/// Everything a run shows: its transitions, its end, the data and what input is left.
type Trace<S> = (Vec<String>, Result<Step<'static>, RunError>, Data, Vec<S>);

fn normalize(step: Result<Step<'_>, RunError>) -> Result<Step<'static>, RunError> {
    step.map(|s| match s {
        Step::Done(o) => Step::Done(o),
        _ => Step::NeedInput,
    })
}

/// Steps `m` over `input`, fed in pieces of the given sizes (then the rest), recording all.
fn trace<S: Symbol>(m: &Machine<S>, input: &[S], cuts: &[usize]) -> Trace<S> {
    let mut run = m.start();
    let mut src = Feed::new();
    let mut data = Data::new();
    let mut seen = Vec::new();
    let mut rest = input;
    let mut cuts = cuts.iter();
    loop {
        match run.step(&mut src, &mut data) {
            Ok(Step::Transition(t)) => seen.push(format!("{t:?}")),
            Ok(Step::NeedInput) => {
                let n = cuts.next().copied().unwrap_or(rest.len()).min(rest.len());
                let (now, later) = rest.split_at(n);
                src.extend(now.iter().copied());
                rest = later;
                if rest.is_empty() {
                    src.finish();
                }
            }
            end => {
                let mut left = src.rest();
                left.extend_from_slice(rest);
                return (seen, normalize(end), data, left);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// A greedy, terminal regex machine over the whole input succeeds having consumed exactly a
    /// sentence of the regex, and consumes all of the input whenever the input is a sentence.
    #[test]
    fn regex_machine_agrees_with_regex_automata(p in 0..PATTERNS.len(), s in text()) {
        let pattern = PATTERNS[p];
        let full = Regex::new(&format!("^(?:{pattern})$")).expect("oracle");
        let m = Machine::<char>::regex(pattern).expect("regex").terminal(true);
        let mut data = Data::new();
        let mut src = Feed::text(&s);
        let result = m.run_to_end(&mut src, &mut data);
        let consumed = data.text("input").unwrap_or("").to_owned();
        prop_assert_eq!(format!("{}{}", consumed, src.rest_text()), s.clone());
        match result {
            Ok(o) => {
                prop_assert!(o.terminal);
                prop_assert!(full.is_match(&consumed), "{:?} accepted {:?}", pattern, consumed);
            }
            Err(_) => prop_assert!(!full.is_match(&consumed)),
        }
        if full.is_match(&s) {
            prop_assert_eq!(consumed, s);
        }
    }

    /// Feeding the input in arbitrary pieces gives the same transitions, end and data.
    #[test]
    fn split_feed_equals_whole(p in 0..PATTERNS.len(), s in text(),
                               cuts in proptest::collection::vec(0usize..4, 0..12)) {
        let input: Vec<char> = s.chars().collect();
        let re = Machine::<char>::regex(PATTERNS[p]).expect("regex").context("r");
        prop_assert_eq!(trace(&re, &input, &cuts), trace(&re, &input, &[input.len()]));
        let csv = csv();
        prop_assert_eq!(trace(&csv, &input, &cuts), trace(&csv, &input, &[input.len()]));
    }

    /// Running in bulk (`finish`) ends exactly like stepping.
    #[test]
    fn bulk_equals_stepped(p in 0..PATTERNS.len(), s in text(), greedy in any::<bool>()) {
        let input: Vec<char> = s.chars().collect();
        let m = Machine::<char>::regex(PATTERNS[p]).expect("regex").greedy(greedy);
        let (_, end, data, rest) = trace(&m, &input, &[input.len()]);
        let mut bulk_data = Data::new();
        let mut src = Feed::complete(input.iter().copied());
        let bulk = normalize(m.start().finish(&mut src, &mut bulk_data));
        prop_assert_eq!((bulk, bulk_data, src.rest()), (end.clone(), data.clone(), rest.clone()));
        let mut slice = SliceSource::new(&input);
        let mut slice_data = Data::new();
        let from_slice = normalize(m.start().finish(&mut slice, &mut slice_data));
        prop_assert_eq!((from_slice, slice_data, slice.rest().to_vec()), (end, data, rest));
    }

    /// Arbitrary bytes never panic a byte machine, split or whole.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64),
                                   cuts in proptest::collection::vec(0usize..8, 0..8)) {
        let m = Machine::<u8>::regex(r"[0-9]+(\.[0-9]+)?;").expect("regex");
        let whole = trace(&m, &bytes, &[bytes.len()]);
        prop_assert_eq!(trace(&m, &bytes, &cuts), whole);
    }

    /// A Unicode pattern over UTF-8 bytes, fed split at any byte (even inside a character),
    /// behaves as if fed whole, and agrees with the same pattern over chars.
    #[test]
    fn utf8_bytes_split_anywhere(s in "[aé€𝄞 ,]{0,12}",
                                 cuts in proptest::collection::vec(0usize..5, 0..12)) {
        let pattern = "([aé€]+ ?)+";
        let m = Machine::<u8>::regex_text(pattern).expect("regex");
        let bytes = s.as_bytes();
        let whole = trace(&m, bytes, &[bytes.len()]);
        prop_assert_eq!(trace(&m, bytes, &cuts), whole.clone());
        let (_, end, data, _) = whole;
        let chars = Machine::<char>::regex(pattern).expect("regex");
        let input: Vec<char> = s.chars().collect();
        let (_, cend, cdata, _) = trace(&chars, &input, &[input.len()]);
        prop_assert_eq!(end.is_ok(), cend.is_ok());
        let as_text = data.bytes("input").map(|b| String::from_utf8_lossy(b).into_owned());
        prop_assert_eq!(as_text.as_deref(), cdata.text("input"));
    }
}
