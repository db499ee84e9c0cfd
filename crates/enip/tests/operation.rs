//! cpppo's client operation syntax: every form, and every kind of error.

use cpppo_cip::DataType;
use cpppo_enip::client::operation::{
    parse_operations, Link, Literal, Operation, OperationError, PathStep, Problem,
};

fn op(text: &str) -> Operation {
    match Operation::parse(text) {
        Ok(op) => op,
        Err(e) => panic!("{text:?} should parse: {e}"),
    }
}

fn problem(text: &str) -> Problem {
    match Operation::parse(text) {
        Ok(op) => panic!("{text:?} should fail, parsed as {op:?}"),
        Err(e) => e.problem,
    }
}

fn sym(s: &str) -> PathStep {
    PathStep::Symbolic(s.into())
}

#[test]
fn plain_tag_reads_one_element() {
    let o = op("Tag");
    assert_eq!(o.path, [sym("Tag")]);
    assert_eq!((o.range, o.count, o.offset), (None, None, None));
    assert!(!o.is_write() && !o.is_fragmented());
    assert_eq!(o.elements(), 1);
    assert_eq!(
        op("  Program:Main.Tag_2  ").path,
        [sym("Program:Main"), sym("Tag_2")]
    );
}

#[test]
fn single_element() {
    let o = op("Tag[5]");
    assert_eq!(o.path, [sym("Tag"), PathStep::Element(5)]);
    assert_eq!((o.range, o.count, o.elements()), (Some((5, 5)), None, 1));
    // As in cpppo, `[n]` does not fix the count: a count or the values do.
    let o = op("Tag[5]*3");
    assert_eq!((o.range, o.count), (Some((5, 7)), Some(3)));
    let o = op("Tag[5]=1,2");
    assert_eq!((o.range, o.count), (Some((5, 6)), Some(2)));
    assert_eq!(
        problem("Tag[5-5]=1,2"),
        Problem::CountMismatch {
            values: 2,
            elements: 1
        }
    );
}

#[test]
fn element_range_counts_inclusively() {
    let o = op("Tag[1-10]");
    assert_eq!(o.path, [sym("Tag"), PathStep::Element(1)]);
    assert_eq!((o.range, o.count), (Some((1, 10)), Some(10)));
    assert_eq!(o.elements(), 10);
}

#[test]
fn byte_offset_for_fragmented_access() {
    let o = op("Tag[0-9]+16");
    assert_eq!(
        (o.range, o.count, o.offset),
        (Some((0, 9)), Some(10), Some(16))
    );
    assert!(o.is_fragmented());
}

#[test]
fn element_count() {
    let o = op("Tag*20");
    assert_eq!(
        (o.path.clone(), o.range, o.count),
        (vec![sym("Tag")], None, Some(20))
    );
    let o = op("Tag[2]*1+4");
    assert_eq!((o.count, o.offset), (Some(1), Some(4)));
    assert_eq!(op("Tag*0x10").count, Some(16));
}

#[test]
fn typed_write() {
    let o = op("Tag[1-3]=(DINT)1,2,3");
    let w = o.write.as_ref().expect("a write");
    assert_eq!(w.data_type, DataType::Dint);
    assert_eq!(
        w.values,
        [Literal::Int(1), Literal::Int(2), Literal::Int(3)]
    );
    assert!(o.is_write());
    assert_eq!(o.elements(), 3);
    // Type names are case-insensitive, spaces are allowed around values.
    let o = op("Tag = (dint) -1 , 0x10, 0b11");
    let w = o.write.expect("a write");
    assert_eq!(
        w.values,
        [Literal::Int(-1), Literal::Int(16), Literal::Int(3)]
    );
    assert_eq!(o.count, Some(3));
}

#[test]
fn quoted_strings_may_hold_commas_and_quotes() {
    let o = op(r#"Tag=(SSTRING)"Hello, world!""#);
    let w = o.write.expect("a write");
    assert_eq!(w.data_type, DataType::Sstring);
    assert_eq!(w.values, [Literal::Text("Hello, world!".into())]);
    let o = op(r#"Tag[0-1]=(STRING)"say ""hi""", plain"#);
    let w = o.write.expect("a write");
    assert_eq!(
        w.values,
        [
            Literal::Text("say \"hi\"".into()),
            Literal::Text("plain".into())
        ]
    );
}

#[test]
fn default_type_is_real_with_a_dot_else_int() {
    let w = op("Tag=1.5").write.expect("a write");
    assert_eq!(
        (w.data_type, w.values),
        (DataType::Real, vec![Literal::Real(1.5)])
    );
    let w = op("Tag[0-1]=1,2.").write.expect("a write");
    assert_eq!(w.data_type, DataType::Real);
    assert_eq!(w.values, [Literal::Real(1.0), Literal::Real(2.0)]);
    let w = op("Tag=42").write.expect("a write");
    assert_eq!(
        (w.data_type, w.values),
        (DataType::Int, vec![Literal::Int(42)])
    );
    let w = op("Tag=(REAL)-.5e1").write.expect("a write");
    assert_eq!(w.values, [Literal::Real(-5.0)]);
}

#[test]
fn bool_and_signed_types_take_cpppo_ranges() {
    let w = op("Tag[0-3]=(BOOL)1,0,true,False").write.expect("a write");
    assert_eq!(
        w.values,
        [
            Literal::Bool(true),
            Literal::Bool(false),
            Literal::Bool(true),
            Literal::Bool(false)
        ]
    );
    // Signed types accept their width's unsigned range as well.
    let w = op("Tag[0-1]=(SINT)-128,255").write.expect("a write");
    assert_eq!(w.values, [Literal::Int(-128), Literal::Int(255)]);
    let w = op("Tag=(ULINT)18446744073709551615")
        .write
        .expect("a write");
    assert_eq!(w.values, [Literal::Int(u64::MAX.into())]);
}

#[test]
fn dotted_members_with_elements() {
    let o = op("Struct.Member[2].X");
    assert_eq!(
        o.path,
        [sym("Struct"), sym("Member"), PathStep::Element(2), sym("X")]
    );
    assert_eq!(o.range, None);
    let o = op("A[1].B[3-4]");
    assert_eq!(
        o.path,
        [
            sym("A"),
            PathStep::Element(1),
            sym("B"),
            PathStep::Element(3)
        ]
    );
    assert_eq!((o.range, o.count), (Some((3, 4)), Some(2)));
}

#[test]
fn numeric_class_instance_attribute() {
    let o = op("@1/1/7");
    assert_eq!(
        o.path,
        [
            PathStep::Class(1),
            PathStep::Instance(1),
            PathStep::Attribute(7)
        ]
    );
    assert_eq!(op("@2/1").path, [PathStep::Class(2), PathStep::Instance(1)]);
    let o = op("@0x1FF/01/0x1A[99]");
    assert_eq!(
        o.path,
        [
            PathStep::Class(511),
            PathStep::Instance(1),
            PathStep::Attribute(26),
            PathStep::Element(99)
        ]
    );
    let o = op("@0o17/0b101/4/5");
    assert_eq!(
        o.path,
        [
            PathStep::Class(15),
            PathStep::Instance(5),
            PathStep::Attribute(4),
            PathStep::Element(5)
        ]
    );
    // A range replaces a trailing element segment.
    let o = op("@1/2/3/4[6-7]");
    assert_eq!(o.path.last(), Some(&PathStep::Element(6)));
    assert_eq!(o.count, Some(2));
}

#[test]
fn numeric_write() {
    let o = op("@0x93/1/10=(REAL)1.0");
    assert_eq!(o.path.len(), 3);
    let w = o.write.expect("a write");
    assert_eq!(
        (w.data_type, w.values),
        (DataType::Real, vec![Literal::Real(1.0)])
    );
}

#[test]
fn json_segments() {
    let o = op(r#"@{"class":4}/{"instance":5}/{"connection":100}"#);
    assert_eq!(
        o.path,
        [
            PathStep::Class(4),
            PathStep::Instance(5),
            PathStep::Connection(100)
        ]
    );
    let o = op(r#"@{"port":1,"link":0}/{"symbolic":"a.b/c=d"}/{"element":3}/{"member":2}"#);
    assert_eq!(
        o.path,
        [
            PathStep::Port {
                port: 1,
                link: Link::Number(0)
            },
            sym("a.b/c=d"),
            PathStep::Element(3),
            PathStep::Member(2)
        ]
    );
    let o = op(r#"@{"port":2,"link":"10.0.0.1"}/1"#);
    assert_eq!(
        o.path.first(),
        Some(&PathStep::Port {
            port: 2,
            link: Link::Address("10.0.0.1".into())
        })
    );
    // Mixed with plain numbers, which keep their positional meaning.
    let o = op(r#"@4/{"instance":5}/3"#);
    assert_eq!(
        o.path,
        [
            PathStep::Class(4),
            PathStep::Instance(5),
            PathStep::Attribute(3)
        ]
    );
}

#[test]
fn fragmented_writes() {
    let o = op("Tag[0-9]+16=(DINT)4,5,6,7,8,9");
    assert_eq!((o.offset, o.count), (Some(16), Some(10)));
    assert_eq!(o.write.expect("a write").values.len(), 6);
    let o = op("Tag*8+8=(INT)1,2");
    assert_eq!((o.offset, o.count), (Some(8), Some(8)));
}

#[test]
fn parse_operations_parses_each_and_stops_at_the_first_bad_one() {
    let ops = parse_operations(&["Tag[0-9]+16=(DINT)4,5,6,7,8,9", "@0x2/1/1", "Tag[3-5]"])
        .expect("all good");
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[2].count, Some(3));
    let e = parse_operations(&["Tag", "Tag[3-1]", "@x"]).expect_err("second is bad");
    assert_eq!(e.text, "Tag[3-1]");
    let owned: Vec<String> = vec!["A".into(), "B".into()];
    assert_eq!(parse_operations(&owned).expect("ok").len(), 2);
}

#[test]
fn display_round_trips() {
    for text in [
        "Tag",
        "Tag[5]",
        "Tag[1-10]",
        "Tag*20",
        "Tag[0-9]+16",
        "Tag[1-3]=(DINT)1,2,3",
        r#"Tag=(SSTRING)"Hello, world!""#,
        "Struct.Member[2].X",
        "@1/1/7",
        "@1/1/7=(REAL)1.0",
        r#"@{"port":1,"link":0}/{"symbolic":"a.b"}/{"element":3}"#,
        "Tag[0-9]+16=(DINT)4,5,6,7,8,9",
        "Tag*8+8=(INT)1,2",
        "Tag[0-1]=(BOOL)1,0",
        "Tag[5]*3",
        "Tag[5]=7,8",
        "Tag[5-5]",
    ] {
        let o = op(text);
        let shown = o.to_string();
        assert_eq!(op(&shown), o, "{text} shown as {shown}");
    }
    assert_eq!(
        op("Tag[1-3]=(DINT)1,2,3").to_string(),
        "Tag[1-3]=(DINT)1,2,3"
    );
    assert_eq!(op("@0x2/1/1").to_string(), "@2/1/1");
}

#[test]
fn error_message_names_the_text_and_the_problem() {
    let e: OperationError = Operation::parse("Tag[3-1]").expect_err("reversed");
    assert_eq!(
        e.to_string(),
        r#"bad operation "Tag[3-1]": element range is reversed (3-1)"#
    );
}

#[test]
fn each_kind_of_error() {
    use Problem::*;
    assert_eq!(problem("   "), Empty);
    assert_eq!(problem(""), Empty);
    assert_eq!(problem("Tag#1"), UnexpectedChar { ch: '#', offset: 3 });
    assert_eq!(
        problem(r#"Tag=(SSTRING)"open"#),
        Unterminated {
            what: "a string",
            offset: 13
        }
    );
    assert_eq!(
        problem(r#"@{"class":4"#),
        Unterminated {
            what: "a JSON segment",
            offset: 1
        }
    );
    assert!(matches!(
        problem("Tag["),
        Unexpected {
            expected: "an element number",
            ..
        }
    ));
    assert!(matches!(
        problem("[1]"),
        Unexpected {
            expected: "a tag name or '@'",
            offset: 0,
            ..
        }
    ));
    assert!(matches!(problem("Tag[1]x"), Unexpected { offset: 6, .. }));
    assert!(matches!(
        problem("@"),
        Unexpected {
            expected: "a number or a JSON segment",
            ..
        }
    ));
    assert!(matches!(
        problem("Tag[1"),
        Unexpected {
            expected: "']'",
            ..
        }
    ));
    assert!(matches!(
        problem("Tag=1 2"),
        Unexpected {
            expected: "',' or the end",
            ..
        }
    ));
    assert!(matches!(
        problem("Tag=(DINT"),
        Unexpected {
            expected: "')'",
            ..
        }
    ));
    assert!(matches!(
        problem("Tag=()1"),
        Unexpected {
            expected: "a type name",
            ..
        }
    ));
    assert!(matches!(
        problem("Tag=1,,2"),
        Unexpected {
            expected: "a value",
            ..
        }
    ));
    assert_eq!(problem("@0xZZ/1"), BadNumber("0xZZ".into()));
    assert_eq!(problem("Tag[99999999999]"), BadNumber("99999999999".into()));
    assert_eq!(problem("Tag[3-1]"), ReversedRange { first: 3, last: 1 });
    assert_eq!(
        problem("Tag[0-4294967295]"),
        BadNumber("0-4294967295".into())
    );
    assert_eq!(problem("Tag*0"), ZeroCount);
    assert_eq!(
        problem("Tag[1-10]*5"),
        CountConflict {
            count: 5,
            range: 10
        }
    );
    assert_eq!(problem("A[1-2].B"), RangeNotLast);
    assert_eq!(problem("@1/2/3/4/5"), TooManySegments);
    assert!(matches!(problem(r#"@{"klass":4}"#), BadSegment { .. }));
    assert!(matches!(problem(r#"@{"class":-4}"#), BadSegment { .. }));
    assert!(matches!(
        problem(r#"@{"class":4,"instance":1}"#),
        BadSegment { .. }
    ));
    assert!(matches!(
        problem(r#"@{"port":0,"link":1}"#),
        BadSegment { .. }
    ));
    assert!(matches!(
        problem(r#"@{"port":1,"link":"nowhere"}"#),
        BadSegment { .. }
    ));
    assert!(matches!(problem(r#"@{"symbolic":""}"#), BadSegment { .. }));
    assert_eq!(problem("Tag=(FOO)1"), UnknownType("FOO".into()));
    assert_eq!(
        problem("Tag=(DINT)abc"),
        BadValue {
            text: "abc".into(),
            data_type: DataType::Dint
        }
    );
    assert_eq!(
        problem(r#"Tag="text""#),
        BadValue {
            text: "text".into(),
            data_type: DataType::Int
        }
    );
    assert_eq!(
        problem("Tag=(BOOL)maybe"),
        BadValue {
            text: "maybe".into(),
            data_type: DataType::Bool
        }
    );
    assert_eq!(
        problem("Tag=(SINT)256"),
        OutOfRange {
            text: "256".into(),
            data_type: DataType::Sint
        }
    );
    assert_eq!(
        problem("Tag=(UINT)-1"),
        OutOfRange {
            text: "-1".into(),
            data_type: DataType::Uint
        }
    );
    assert_eq!(
        problem("Tag=(REAL)1e39"),
        OutOfRange {
            text: "1e39".into(),
            data_type: DataType::Real
        }
    );
    assert_eq!(problem("Tag="), NoValues);
    assert_eq!(problem("Tag=(DINT)"), NoValues);
    assert_eq!(
        problem("Tag[1-10]=1,2,3"),
        CountMismatch {
            values: 3,
            elements: 10
        }
    );
    assert_eq!(problem("Tag+4=(DINT)1"), FragmentNeedsCount);
    assert_eq!(
        problem("Tag[0-1]+4=(SSTRING)a"),
        FragmentNeedsSize(DataType::Sstring)
    );
    assert_eq!(
        problem("Tag[0-9]+3=(DINT)1"),
        MisalignedOffset { offset: 3, size: 4 }
    );
    assert_eq!(
        problem("Tag[0-3]+8=(DINT)1,2,3"),
        FragmentOverflow {
            values: 3,
            offset: 8,
            elements: 4
        }
    );
}

#[test]
fn arbitrary_text_never_panics() {
    // A bounded sweep of short strings over the syntax's own characters.
    let alphabet: Vec<char> = "Tg@/.[]-*+=(),\"{}:0x1 9é".chars().collect();
    let n = alphabet.len();
    for i in 0..n * n * n {
        let text: String = [i % n, (i / n) % n, (i / n / n) % n]
            .iter()
            .filter_map(|&k| alphabet.get(k))
            .collect();
        for t in [
            text.clone(),
            format!("Tag{text}"),
            format!("@1/{text}"),
            format!("T={text}"),
        ] {
            if let Err(e) = Operation::parse(&t) {
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z_][A-Za-z0-9_]{0,5}"
    }

    fn number() -> impl Strategy<Value = String> {
        (0u32..70000, 0..4).prop_map(|(n, radix)| match radix {
            0 => format!("{n}"),
            1 => format!("0x{n:X}"),
            2 => format!("0o{n:o}"),
            _ => format!("0b{n:b}"),
        })
    }

    fn path() -> impl Strategy<Value = String> {
        let member = (name(), proptest::option::of(0u32..100)).prop_map(|(n, e)| match e {
            Some(e) => format!("{n}[{e}]"),
            None => n,
        });
        let symbolic =
            (proptest::collection::vec(member, 0..3), name()).prop_map(|(members, last)| {
                let mut parts = members;
                parts.push(last);
                parts.join(".")
            });
        let seg = prop_oneof![
            number(),
            (0u32..1000).prop_map(|n| format!("{{\"connection\":{n}}}")),
            name().prop_map(|n| format!("{{\"symbolic\":\"{n}.x/y\"}}")),
            (1u16..20, 0u32..16).prop_map(|(p, l)| format!("{{\"port\":{p},\"link\":{l}}}")),
        ];
        let numeric =
            proptest::collection::vec(seg, 1..5).prop_map(|segs| format!("@{}", segs.join("/")));
        prop_oneof![symbolic, numeric]
    }

    fn value_list() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(-100i32..100, 1..4).prop_map(|v| format!(
                "=(DINT){}",
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            proptest::collection::vec(-1000i32..1000, 1..4).prop_map(|v| format!(
                "={}",
                v.iter()
                    .map(|x| format!("{}.25", x))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            "[a-z ,\"]{0,8}".prop_map(|s| format!("=(SSTRING)\"{}\"", s.replace('"', "\"\""))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        /// Whatever parses, prints back as text that parses to the same operation.
        #[test]
        fn display_then_parse_is_identity(
            path in path(),
            range in proptest::option::of((0u32..50, 0u32..5)),
            offset in proptest::option::of(0u32..64),
            write in proptest::option::of(value_list()),
        ) {
            let mut text = path;
            if let Some((first, extra)) = range {
                text += &format!("[{}-{}]", first, first + extra);
            }
            if let Some(o) = offset {
                text += &format!("+{o}");
            }
            if let Some(w) = write {
                text += &w;
            }
            if let Ok(op) = Operation::parse(&text) {
                let shown = op.to_string();
                prop_assert_eq!(Operation::parse(&shown), Ok(op), "{} shown as {}", text, shown);
            }
        }

        /// Arbitrary text gives an operation or one line of error, never a panic.
        #[test]
        fn arbitrary_text(text in "\\PC{0,24}") {
            if let Err(e) = Operation::parse(&text) {
                prop_assert!(!e.to_string().contains('\n') || text.contains('\n'));
            }
        }
    }
}
