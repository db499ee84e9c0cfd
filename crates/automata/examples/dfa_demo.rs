//! The seed's "Running State Machines" examples: a basic `ab+` machine, a composite CSV machine
//! that drops `,[ ]*` separators, and the regex machine `(ab+)((,[ ]*)(ab+))*`, each run over
//! `abbbb, ab`, printing every transition, what was accepted and what input remains.
//!
//! Run with `cargo run -p cpppo-automata --example dfa_demo`.

use cpppo_automata::{BuildError, Data, Feed, Graph, Machine, Peek, Source, State, Step};

/// The basic machine accepting `ab+`.
fn ab_plus() -> Result<Machine<char>, BuildError> {
    let mut g = Graph::new();
    let e = g.add(State::plain("E"));
    let a = g.add(State::input("A"));
    let b = g.add(State::input("B").terminal());
    g.on(e, 'a', a).on(a, 'b', b).on(b, 'b', b);
    Machine::new("ab+", g, e)
}

/// `ab+` phrases separated by `,` and spaces, which are dropped.
fn csv() -> Result<Machine<char>, BuildError> {
    let mut g = Graph::new();
    let abp = g.add(State::machine(ab_plus()?.terminal(true)));
    let sep = g.add(State::drop("SEP"));
    g.on(abp, ',', sep).on(sep, ' ', sep).epsilon(sep, abp);
    Machine::new("CSV", g, abp)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let machines = [
        ab_plus()?.context("basic"),
        csv()?.context("csv"),
        Machine::regex("(ab+)((,[ ]*)(ab+))*")?.context("regex"),
    ];
    let mut data = Data::new();
    for machine in &machines {
        let path = format!("{}.input", machine.context_name());
        let mut source = Feed::text("abbbb, ab");
        let mut run = machine.start();
        let mut i = 0;
        loop {
            match run.step(&mut source, &mut data)? {
                Step::Transition(t) => {
                    let next = match source.peek() {
                        Peek::Symbol(c) => format!("{c:?}"),
                        _ => "end".to_owned(),
                    };
                    let shown = data.get(&path).map(|v| v.to_string());
                    let label = format!("{}{}.{}", "  ".repeat(t.depth), t.machine, t.state);
                    println!(
                        "{label:<32} #{i:>3}; next symbol {:>3}: {next:<5}: {}",
                        source.sent(),
                        shown.as_deref().unwrap_or("-"),
                    );
                    i += 1;
                }
                Step::NeedInput => return Err("the whole input was buffered".into()),
                Step::Done(_) => break,
            }
        }
        let accepted = data.get(&path).map(|v| v.to_string());
        println!(
            "Accepted: {}; remaining: {:?}\n",
            accepted.as_deref().unwrap_or("nothing"),
            source.rest_text()
        );
    }
    println!("Final: {data}");
    Ok(())
}
