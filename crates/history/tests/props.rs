//! Property tests (bounded case counts): timestamp render/parse round trips in several
//! zones, and the record line codec (round trip; arbitrary text never panics).

use cpppo_history::record::parse_line_bytes;
use cpppo_history::{parse_line, Line, Record, Timestamp, Zones};
use jiff::tz::TimeZone;
use proptest::prelude::*;
use serde_json::{json, Value};

/// 1971-01-01 .. 2036-12-31, inside the span the abbreviation tables cover.
fn instant() -> impl Strategy<Value = Timestamp> {
    (31_536_000_000_000_i64..2_114_294_400_000_000).prop_map(|m| Timestamp::from_micros(m).unwrap())
}

const ZONES: &[&str] = &[
    "America/Edmonton",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn utc_render_parse_round_trip(t in instant(), digits in 0_u8..=6) {
        let text = t.render_utc(digits);
        let back = Zones::utc().parse(&text).unwrap();
        prop_assert_eq!(back, t.round(digits));
    }

    #[test]
    fn zone_render_parse_round_trip(t in instant(), zone in prop::sample::select(ZONES)) {
        // Rendered with its abbreviation, parsed back through the abbreviation table.
        let tz = TimeZone::get(zone).unwrap();
        let zones = Zones::utc().with_region(zone).unwrap();
        let text = t.render_in(&tz, 6);
        prop_assert_eq!(zones.parse(&text).unwrap(), t, "{}", text);
        let ms = t.render_in(&tz, 3);
        prop_assert_eq!(zones.parse(&ms).unwrap(), t.round(3), "{}", ms);
    }

    #[test]
    fn record_line_round_trip(t in instant(), serial in json_value(), payload in json_value()) {
        let record = Record::new(t.round(3), &serial, &payload).unwrap();
        let line = record.to_line();
        prop_assert_eq!(line.matches('\n').count(), 1);
        prop_assert_eq!(line.matches('\t').count(), 2);
        prop_assert!(line.is_ascii());
        let Line::Record(back) = parse_line(&line).unwrap() else {
            return Err(TestCaseError::fail("not a record"));
        };
        prop_assert_eq!(back.payload_value().unwrap(), payload);
        prop_assert_eq!(back.serial_value().unwrap(), serial);
        prop_assert_eq!(back, record);
    }

    #[test]
    fn arbitrary_lines_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        let _ = parse_line_bytes(&bytes);
    }

    #[test]
    fn line_shaped_text_never_panics(
        time in "[0-9 :.TZ+-]{0,32}",
        zone in "[A-Za-z/+0-9:-]{0,12}",
        rest in "[\\t\\[\\]{}\"0-9a-z,: ]{0,40}",
    ) {
        let _ = parse_line(&format!("{time} {zone}\t{rest}"));
        let _ = Zones::utc().parse(&format!("{time} {zone}"));
    }
}
