//! Logix naming: program-scoped tags (`Program:Main.Count`) and the `Program:NAME` entries of
//! the controller's symbol list.

use std::collections::BTreeMap;
use std::sync::Arc;

use cpppo_cip::DataType;

use crate::model::attribute::{Attribute, StoredData};
use crate::model::device::{constant, udint, uint};

/// Symbol type a Logix controller gives its `Program:NAME` entries (a system symbol).
pub const PROGRAM_SYMBOL_TYPE: u16 = 0x1068;

/// For `Program:NAME.TAG` (the prefix in any case): `(NAME, TAG)`.
pub fn split_program(name: &str) -> Option<(&str, &str)> {
    let rest = name
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("Program:"))
        .and_then(|_| name.get(8..))?;
    rest.split_once('.')
}

/// For `Program:NAME` (no tag): `NAME`.
pub fn program_prefix(name: &str) -> Option<&str> {
    name.get(..8)
        .filter(|p| p.eq_ignore_ascii_case("Program:"))
        .and_then(|_| name.get(8..))
        .filter(|n| !n.is_empty() && !n.contains('.'))
}

/// The Symbol object attributes of a program's own entry (`Program:Main`).
pub fn program_symbol(instance: u32, full: &str) -> BTreeMap<u16, Arc<dyn Attribute>> {
    let mut m: BTreeMap<u16, Arc<dyn Attribute>> = BTreeMap::new();
    m.insert(1, Arc::new(StoredData::text(DataType::String, full)));
    m.insert(2, uint(PROGRAM_SYMBOL_TYPE));
    m.insert(3, udint(instance << 8));
    m.insert(5, udint(instance << 8));
    m.insert(6, udint(0));
    m.insert(7, uint(0));
    m.insert(8, constant(DataType::Udint, &[0; 12]));
    m.insert(10, constant(DataType::Usint, &[0]));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_names_split() {
        assert_eq!(split_program("Program:Main.Count"), Some(("Main", "Count")));
        assert_eq!(split_program("PROGRAM:x.y"), Some(("x", "y")));
        assert_eq!(split_program("Count"), None);
        assert_eq!(program_prefix("Program:Main"), Some("Main"));
        assert_eq!(program_prefix("Program:"), None);
        assert_eq!(program_prefix("Main"), None);
    }
}
