//! A quick throughput check of a regex machine against stepping the raw regex-automata DFA
//! (the limit). The benchmark proper, with the Python cpppo alongside, belongs in `bench/`.
//!
//! `cargo run --release -p cpppo-automata --example automata_throughput`

use std::time::Instant;

use cpppo_automata::{Data, Feed, Machine, SliceSource, Step};
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

const PATTERN: &str = "(ab+)((,[ ]*)(ab+))*";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = b"abbbb".to_vec();
    while input.len() < 8 << 20 {
        input.extend_from_slice(b", abbbbbbb");
    }
    let mb = input.len() as f64 / 1e6;

    let dfa = dense::Builder::new()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored),
        )
        .build(PATTERN)?;
    let t = Instant::now();
    let mut s = dfa.start_state(&start::Config::new().anchored(Anchored::Yes))?;
    for &b in &input {
        s = dfa.next_state(s, b);
    }
    let matched = dfa.is_match_state(dfa.next_eoi_state(s));
    let raw = mb / t.elapsed().as_secs_f64();

    let m = Machine::<u8>::regex(PATTERN)?.terminal(true);
    let mut src = Feed::complete(input.iter().copied());
    let mut data = Data::new();
    let t = Instant::now();
    let done = m.run_to_end(&mut src, &mut data)?;
    let bulk = mb / t.elapsed().as_secs_f64();

    let mut src = SliceSource::new(&input);
    let mut data = Data::new();
    let t = Instant::now();
    m.run_to_end(&mut src, &mut data)?;
    let slice = mb / t.elapsed().as_secs_f64();

    let mut src = Feed::complete(input.iter().copied());
    let mut data = Data::new();
    let mut run = m.start();
    let t = Instant::now();
    let mut transitions = 0usize;
    while let Step::Transition(_) = run.step(&mut src, &mut data)? {
        transitions += 1;
    }
    let stepped = mb / t.elapsed().as_secs_f64();

    println!(
        "input {mb:.1} MB; raw DFA matched={matched}, machine terminal={}",
        done.terminal
    );
    println!("raw DFA next_state loop : {raw:>8.1} MB/s");
    println!(
        "regex machine, Feed     : {bulk:>8.1} MB/s ({:.0}% of raw)",
        100.0 * bulk / raw
    );
    println!(
        "regex machine, slice    : {slice:>8.1} MB/s ({:.0}% of raw)",
        100.0 * slice / raw
    );
    println!("regex machine, stepped  : {stepped:>8.1} MB/s ({transitions} transitions reported)");
    Ok(())
}
