//! Any bytes into the history record-line parser (and the time and duration parsers): no
//! panic, and a line that parses as a record writes back as a line that parses to the same
//! record (its time rounded to the milliseconds written).
#![no_main]

use cpppo_history::{parse_duration, parse_line, record::parse_line_bytes, Line, Zones};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Line::Record(record)) = parse_line_bytes(data) {
        let line = record.to_line();
        match parse_line(&line) {
            Ok(Line::Record(back)) => {
                assert_eq!(back.time, record.time.round(3));
                assert_eq!(back.serial(), record.serial());
                assert_eq!(back.payload(), record.payload());
            }
            other => panic!("{line:?} re-parsed as {other:?}"),
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Zones::utc().parse(text);
        let _ = parse_duration(text);
    }
});
