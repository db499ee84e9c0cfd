//! The ciplink 0.3.5 adapter (a third-party class 1 target) as a process, for interop tests
//! and bench/io: input assembly 100, output 150, config 1 (sizes from the arguments).
//!
//! ```text
//! ciplink_adapter [BIND_IP] [TCP_PORT] [IO_PORT] [INPUT_SIZE] [OUTPUT_SIZE]
//! ```
//! (defaults 127.0.0.1, 0, 0, 8, 8). Prints `ready tcp IP:PORT io IP:PORT`, then one line per
//! adapter event (`opened KIND`, `closed KIND`, `timedout KIND`, `output 1,2,3 run|idle`);
//! reads commands from stdin: `input 1,2,3` sets the input assembly, `stats` prints
//! `stats produced N late N max_late_us N`, `quit` stops (at the end of stdin it serves on
//! until killed).

use std::io::{BufRead, Write};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use ciplink::adapter::{Adapter, AdapterConfig, Assembly, Event};

fn arg<T: std::str::FromStr>(n: usize, default: T) -> Result<T, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(a) => a.parse().map_err(|_| format!("bad argument {n}: {a:?}")),
    }
}

fn bytes(data: &[u8]) -> String {
    data.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

fn main() -> Result<(), String> {
    let bind: Ipv4Addr = arg(1, Ipv4Addr::LOCALHOST)?;
    let (port, io_port): (u16, u16) = (arg(2, 0)?, arg(3, 0)?);
    let (input, output): (usize, usize) = (arg(4, 8)?, arg(5, 8)?);
    let adapter = Adapter::start(AdapterConfig {
        assemblies: vec![
            Assembly::input(100, input),
            Assembly::output(150, output),
            Assembly::config(1, 0),
        ],
        bind,
        port,
        io_port,
        ..AdapterConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let adapter = Arc::new(adapter);
    println!("ready tcp {} io {}", adapter.addr(), adapter.io_addr());
    let _ = std::io::stdout().flush();
    let events = adapter.clone();
    std::thread::spawn(move || loop {
        let Some(event) = events.next_event(Some(Duration::from_millis(200))) else {
            continue;
        };
        let line = match event {
            Event::Opened(c) => format!("opened {:?}", c.kind),
            Event::Closed(c) => format!("closed {:?}", c.kind),
            Event::TimedOut(c) => format!("timedout {:?}", c.kind),
            Event::Config { instance, data } => format!("config {instance} {}", bytes(&data)),
            Event::Output { instance } => match events.output(instance) {
                Ok(o) => format!(
                    "output {} {}",
                    bytes(&o.data),
                    if o.run { "run" } else { "idle" }
                ),
                Err(e) => format!("error {e}"),
            },
        };
        println!("{line}");
        let _ = std::io::stdout().flush();
    });
    let mut quit = false;
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let line = line.trim();
        if let Some(data) = line.strip_prefix("input ") {
            let data: Result<Vec<u8>, _> = data.split(',').map(|b| b.trim().parse()).collect();
            match data {
                Ok(d) => adapter.set_input(100, &d).map_err(|e| e.to_string())?,
                Err(_) => println!("error bad input line"),
            }
        } else if line == "stats" {
            let s = adapter.stats();
            println!(
                "stats produced {} late {} max_late_us {}",
                s.produced,
                s.late,
                s.max_late.as_micros()
            );
        } else if line == "quit" {
            quit = true;
            break;
        }
        let _ = std::io::stdout().flush();
    }
    // Without commands (stdin at its end) the adapter serves until killed.
    if !quit {
        loop {
            std::thread::park();
        }
    }
    Ok(())
}
