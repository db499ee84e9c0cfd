//! The seed's examples and the behaviours the crate documents, one test each.

use cpppo_automata::{
    BuildError, Data, Feed, Graph, IterSource, Machine, On, Reason, RunError, State, StateName,
    Step, Value,
};

fn ab_plus() -> Machine<char> {
    let mut g = Graph::new();
    let e = g.add(State::plain("E"));
    let a = g.add(State::input("A"));
    let b = g.add(State::input("B").terminal());
    g.on(e, 'a', a).on(a, 'b', b).on(b, 'b', b);
    Machine::new("ab+", g, e).expect("valid graph")
}

fn csv() -> Machine<char> {
    let mut g = Graph::new();
    let abp = g.add(State::machine(ab_plus().terminal(true)));
    let sep = g.add(State::drop("SEP"));
    g.on(abp, ',', sep).on(sep, ' ', sep).epsilon(sep, abp);
    Machine::new("CSV", g, abp)
        .expect("valid graph")
        .context("csv")
}

/// Runs over the whole `text`; returns (accepted data at `path`, remaining input, result).
fn run_text(
    m: &Machine<char>,
    text: &str,
    path: &str,
) -> (Option<String>, String, Result<bool, RunError>) {
    let mut data = Data::new();
    let mut src = Feed::text(text);
    let r = m.run_to_end(&mut src, &mut data).map(|o| o.terminal);
    (data.text(path).map(str::to_owned), src.rest_text(), r)
}

#[test]
fn basic_machine_is_greedy_and_leaves_the_rest() {
    let (got, rest, r) = run_text(&ab_plus().context("basic"), "abbbb, ab", "basic.input");
    assert_eq!(got.as_deref(), Some("abbbb"));
    assert_eq!(rest, ", ab");
    assert_eq!(r, Ok(false), "not marked terminal");
}

#[test]
fn non_greedy_stops_at_first_acceptance() {
    let m = ab_plus().context("basic").greedy(false).terminal(true);
    let (got, rest, r) = run_text(&m, "abbbb, ab", "basic.input");
    assert_eq!(got.as_deref(), Some("ab"));
    assert_eq!(rest, "bbb, ab");
    assert_eq!(r, Ok(true));
}

#[test]
fn composite_csv_drops_separators() {
    let (got, rest, r) = run_text(&csv(), "abbbb, ab", "csv.input");
    assert_eq!(got.as_deref(), Some("abbbbab"));
    assert_eq!(rest, "");
    assert_eq!(r, Ok(false));
    let (_, _, r) = run_text(&csv().terminal(true), "abbbb, ab", "csv.input");
    assert_eq!(r, Ok(true));
}

#[test]
fn regex_machine_keeps_separators() {
    let m = Machine::<char>::regex("(ab+)((,[ ]*)(ab+))*")
        .expect("regex")
        .context("regex")
        .terminal(true);
    assert_eq!(m.name(), "(ab+)((,[ ]*)(ab+))*");
    let (got, rest, r) = run_text(&m, "abbbb, ab", "regex.input");
    assert_eq!(got.as_deref(), Some("abbbb, ab"));
    assert_eq!(rest, "");
    assert_eq!(r, Ok(true));
    // Stops before a symbol that cannot continue any sentence, having accepted.
    let (got, rest, _) = run_text(&m, "ab,abx", "regex.input");
    assert_eq!((got.as_deref(), rest.as_str()), (Some("ab,ab"), "x"));
}

#[test]
fn non_greedy_regex() {
    let m = Machine::<char>::regex("ab+").expect("regex").greedy(false);
    let (got, rest, _) = run_text(&m, "abbb", "input");
    assert_eq!((got.as_deref(), rest.as_str()), (Some("ab"), "bb"));
}

#[test]
fn transitions_name_machines_and_states() {
    let m = csv();
    let mut run = m.start();
    let mut src = Feed::text("ab,ab");
    let mut data = Data::new();
    let seen: Vec<String> = run
        .transitions(&mut src, &mut data)
        .map(|t| {
            let t = t.expect("no error");
            format!("{}:{}.{}", t.depth, t.machine, t.state)
        })
        .collect();
    assert_eq!(
        seen,
        [
            "0:CSV.ab+",
            "1:ab+.E",
            "1:ab+.A",
            "1:ab+.B",
            "0:CSV.SEP",
            "0:CSV.ab+",
            "1:ab+.E",
            "1:ab+.A",
            "1:ab+.B"
        ]
    );
    assert!(run.is_finished());
    assert_eq!(
        run.step(&mut src, &mut data),
        Ok(Step::Done(cpppo_automata::Outcome {
            terminal: false,
            offset: 5
        }))
    );
}

#[test]
fn regex_transitions_number_dfa_states() {
    let m = Machine::<char>::regex("ab").expect("regex");
    let mut run = m.start();
    let (mut src, mut data) = (Feed::text("ab"), Data::new());
    let first = run.step(&mut src, &mut data).expect("step");
    match first {
        Step::Transition(t) => assert_eq!(t.state, StateName::Dfa(0)),
        other => panic!("expected a transition, got {other:?}"),
    }
}

#[test]
fn refused_symbol_reports_offset_machine_state_and_symbol() {
    let (_, _, r) = run_text(&ab_plus(), "ax", "input");
    let e = r.expect_err("must fail");
    assert_eq!(e.offset, 1);
    assert_eq!(e.machine, "ab+");
    assert_eq!(e.state, "A");
    assert_eq!(
        e.reason,
        Reason::NoTransition {
            symbol: "'x'".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "ab+ stuck in state A at offset 1: no transition on 'x' from a non-terminal state"
    );
}

#[test]
fn nested_failure_names_the_machine_path() {
    let (_, _, r) = run_text(&csv(), "ab, x", "csv.input");
    let e = r.expect_err("must fail");
    assert_eq!(
        (e.offset, e.machine.as_str(), e.state.as_str()),
        (4, "CSV.ab+", "E")
    );
    // A trailing separator: the epsilon transition re-enters ab+, which then meets the end.
    let (_, _, r) = run_text(&csv(), "ab, ", "csv.input");
    assert_eq!(r.expect_err("must fail").reason, Reason::UnexpectedEnd);
}

#[test]
fn end_of_input_in_non_terminal_state() {
    let (_, _, r) = run_text(&ab_plus(), "a", "input");
    let e = r.expect_err("must fail");
    assert_eq!((e.offset, e.reason), (1, Reason::UnexpectedEnd));
    let m = Machine::<char>::regex("ab").expect("regex");
    let (_, _, r) = run_text(&m, "a", "input");
    assert_eq!(r.expect_err("must fail").reason, Reason::UnexpectedEnd);
}

#[test]
fn input_state_entered_at_end_needs_a_symbol() {
    let mut g = Graph::<char>::new();
    let s = g.add(State::plain("S"));
    let i = g.add(State::input("I").terminal());
    g.epsilon(s, i);
    let m = Machine::new("m", g, s).expect("graph");
    let (_, _, r) = run_text(&m, "", "input");
    assert_eq!(r.expect_err("must fail").reason, Reason::MissingSymbol);
    let (got, _, r) = run_text(&m, "z", "input");
    assert_eq!((got.as_deref(), r), (Some("z"), Ok(false)));
}

#[test]
fn classes_any_and_refusal() {
    let mut g = Graph::<char>::new();
    let s = g.add(State::plain("S"));
    let digit = g.add(State::input("D").terminal().context("digits"));
    let other = g.add(State::input("O").terminal().context("other"));
    g.on_class(s, |c: char| c.is_ascii_digit(), digit)
        .on_class(digit, |c: char| c.is_ascii_digit(), digit)
        .on_any(s, other)
        .on_any(other, other)
        .refuse(other, ';');
    let m = Machine::new("m", g, s).expect("graph");
    let (got, rest, _) = run_text(&m, "123x", "digits.input");
    assert_eq!((got.as_deref(), rest.as_str()), (Some("123"), "x"));
    let (got, rest, _) = run_text(&m, "xy5;z", "other.input");
    assert_eq!((got.as_deref(), rest.as_str()), (Some("xy5"), ";z"));
}

#[test]
fn decide_looks_at_collected_data() {
    // Collect letters; at the end, go to LONG if 3 or more were collected, else to SHORT.
    let mut g = Graph::<char>::new();
    let s = g.add(State::plain("S"));
    let l = g.add(State::input("L"));
    let long = g.add(State::plain("LONG").terminal());
    let short = g.add(State::plain("SHORT").terminal());
    g.on(s, 'x', l)
        .on(l, 'x', l)
        .set(l, On::Epsilon, Some(short));
    g.decide(
        l,
        On::Epsilon,
        "long",
        |data, path| {
            let key = cpppo_automata::join(path, "input");
            data.text(&key).is_some_and(|t| t.len() >= 3)
        },
        Some(long),
    );
    let m = Machine::new("m", g, s).expect("graph").context("w");
    for (text, want) in [("xx", "SHORT"), ("xxxx", "LONG")] {
        let mut run = m.start();
        let (mut src, mut data) = (Feed::text(text), Data::new());
        let mut last = String::new();
        while let Step::Transition(t) = run.step(&mut src, &mut data).expect("runs") {
            last = t.state.to_string();
        }
        assert_eq!(last, want, "{text}");
    }
}

#[test]
fn epsilon_loop_is_reported_not_hung() {
    let mut g = Graph::<u8>::new();
    let a = g.add(State::plain("A"));
    let b = g.add(State::plain("B"));
    g.epsilon(a, b).epsilon(b, a);
    let m = Machine::new("loop", g, a).expect("graph");
    let mut data = Data::new();
    let e = m
        .run_to_end(&mut Feed::complete(*b"x"), &mut data)
        .expect_err("must fail");
    assert_eq!(e.reason, Reason::NoProgress);
}

#[test]
fn data_of_another_kind_is_an_error() {
    let mut data = Data::new();
    data.insert("basic.input", Value::Int(3));
    let e = ab_plus()
        .context("basic")
        .run_to_end(&mut Feed::text("ab"), &mut data)
        .expect_err("must fail");
    assert!(matches!(e.reason, Reason::DataConflict { ref kind, .. } if kind == "integer"));
}

#[test]
fn byte_regex_matches_raw_bytes() {
    let m = Machine::<u8>::regex(r"\x00(?s:.)\xFF+")
        .expect("regex")
        .context("b")
        .terminal(true);
    let mut data = Data::new();
    let mut src = Feed::complete([0u8, 0x80, 0xFF, 0xFF, 0x41]);
    assert_eq!(
        m.run_to_end(&mut src, &mut data).map(|o| o.terminal),
        Ok(true)
    );
    assert_eq!(data.bytes("b.input"), Some(&[0u8, 0x80, 0xFF, 0xFF][..]));
    assert_eq!(src.rest(), [0x41]);
}

#[test]
fn unicode_regex_over_chars() {
    let m = Machine::<char>::regex("[αβ]+γ")
        .expect("regex")
        .context("u");
    let (got, rest, r) = run_text(&m, "ααβγδ", "u.input");
    assert_eq!((got.as_deref(), rest.as_str()), (Some("ααβγ"), "δ"));
    assert!(r.is_ok());
    let m = Machine::<char>::regex(r"\w+").expect("regex");
    let (got, rest, _) = run_text(&m, "naïve café", "input");
    assert_eq!((got.as_deref(), rest.as_str()), (Some("naïve"), " café"));
}

#[test]
fn regex_errors_are_reported() {
    let e = Machine::<char>::regex("(ab").expect_err("bad syntax");
    assert!(matches!(e, BuildError::Regex { .. }));
    let e = Machine::<char>::regex_limited(r"\w{30}\w{30}", 50_000).expect_err("too big");
    assert!(e.to_string().contains("size limit"), "{e}");
}

#[test]
fn state_ids_from_another_graph_are_refused() {
    let mut g1 = Graph::<u8>::new();
    let mut g2 = Graph::<u8>::new();
    let a = g1.add(State::plain("A"));
    let _ = g1.add(State::plain("B"));
    let x = g2.add(State::plain("X"));
    g1.on(a, b'x', a);
    g2.on(x, b'y', a); // `a` is #0, valid in g2 by accident of numbering ...
    let far = g1.add(State::plain("C"));
    g2.on(x, b'z', far); // ... but #2 is not
    let e = Machine::new("g2", g2, x).expect_err("unknown state");
    assert!(matches!(e, BuildError::UnknownState { id: 2, .. }));
}

#[test]
fn resumes_when_fed_one_symbol_at_a_time() {
    let m = csv();
    let text = "abbbb, ab";
    let mut run = m.start();
    let mut src = Feed::new();
    let mut data = Data::new();
    let mut needs = 0;
    let mut pending = text.chars();
    loop {
        match run.step(&mut src, &mut data).expect("no error") {
            Step::Transition(_) => {}
            Step::NeedInput => {
                needs += 1;
                match pending.next() {
                    Some(c) => src.extend([c]),
                    None => src.finish(),
                }
            }
            Step::Done(o) => {
                assert_eq!(o.offset, text.chars().count());
                break;
            }
        }
    }
    assert!(needs >= text.len());
    assert_eq!(data.text("csv.input"), Some("abbbbab"));
}

#[test]
fn runs_over_any_iterator() {
    let mut src = IterSource::new("abbx".chars());
    let mut data = Data::new();
    ab_plus().run_to_end(&mut src, &mut data).expect("accepts");
    assert_eq!(data.text("input"), Some("abb"));
    assert_eq!(src.into_rest().collect::<String>(), "x");
}

#[test]
fn data_paths_are_dotted() {
    let m = ab_plus().context("basic");
    let mut run = m.start_at("outer.layer");
    let mut data = Data::new();
    run.finish(&mut Feed::text("ab"), &mut data).expect("runs");
    assert_eq!(data.text("outer.layer.basic.input"), Some("ab"));
    assert_eq!(data.under("outer").count(), 1);
    assert_eq!(data.under("outer.lay").count(), 0);
    data.remove_under("outer.layer");
    assert!(data.is_empty());
}

#[test]
fn unicode_pattern_over_utf8_bytes() {
    let m = Machine::<u8>::regex_text(r"\w+")
        .expect("regex")
        .context("t");
    let mut data = Data::new();
    let mut src = Feed::complete("naïve café".bytes());
    m.run_to_end(&mut src, &mut data).expect("accepts");
    assert_eq!(data.bytes("t.input"), Some("naïve".as_bytes()));
    // Cut off inside 'é' (two bytes): not a sentence.
    let bytes = "café".as_bytes();
    let cut = bytes.get(..bytes.len() - 1).expect("non-empty");
    let mut data = Data::new();
    let e = m
        .run_to_end(&mut Feed::complete(cut.iter().copied()), &mut data)
        .expect_err("mid-character");
    assert_eq!((e.offset, e.reason), (4, Reason::UnexpectedEnd));
}
