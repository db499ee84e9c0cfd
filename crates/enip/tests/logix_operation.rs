//! The client's operation syntax for Logix members and multi-dimensional elements:
//! `Motors[2].Speed`, `Grid[1,2]`, `Cube[1,2,3-5]`, `Tag[1].SubTag[0-9]`, shown as typed.

use cpppo_enip::client::operation::{Operation, PathStep};

fn sym(s: &str) -> PathStep {
    PathStep::Symbolic(s.into())
}

#[test]
fn multi_dimensional_elements_and_members_parse_and_show_as_typed() {
    let o = Operation::parse("Grid[1,2]").unwrap();
    assert_eq!(
        o.path,
        [sym("Grid"), PathStep::Element(1), PathStep::Element(2)]
    );
    assert_eq!((o.range, o.elements()), (Some((2, 2)), 1));
    let o = Operation::parse("Cube[1,2,3-5]").unwrap();
    assert_eq!(
        o.path,
        [
            sym("Cube"),
            PathStep::Element(1),
            PathStep::Element(2),
            PathStep::Element(3)
        ]
    );
    assert_eq!(o.elements(), 3);
    let o = Operation::parse("Grid[1,2].Member[0,1]=(DINT)5").unwrap();
    assert_eq!(
        o.path,
        [
            sym("Grid"),
            PathStep::Element(1),
            PathStep::Element(2),
            sym("Member"),
            PathStep::Element(0),
            PathStep::Element(1)
        ]
    );
    let o = Operation::parse("Motors[2].Speed").unwrap();
    assert_eq!(o.path, [sym("Motors"), PathStep::Element(2), sym("Speed")]);
    assert_eq!(o.range, None);
    for text in [
        "Grid[1,2]",
        "Cube[1,2,3-5]",
        "Motors[2].Speed",
        "Tag[1].SubTag[0-9]",
        "Grid[1,2].Member[0,1-2]=(DINT)5,6",
        "Program:Main.Count",
        "Tag[3]",
    ] {
        assert_eq!(Operation::parse(text).unwrap().to_string(), text);
    }
    assert!(Operation::parse("Grid[1,]").is_err());
    assert!(Operation::parse("Grid[1-2,3]").is_err());
}

#[test]
fn multi_dimensional_parse_after_other_operations() {
    for text in ["M1.Speed=(REAL)2.5", "Grid[1,2]", "Grid[1,2]=(DINT)3"] {
        Operation::parse(text).unwrap_or_else(|e| panic!("{e}"));
    }
}
