//! `enip server -p/--print`: one line on stdout per tag I/O operation, as cpppo prints them.
//!
//! A write: `               SCADA[    1-1    ] <= [99] ` (cpppo's trailing space included); a read,
//! only with `-v` (cpppo prints reads at its NORMAL log level): `SCADA[    0-3    ] == [0, 99, 0, 0]`.

use std::io::Write;
use std::sync::Arc;

use cpppo_cip::server::Status;
use cpppo_cip::TagType;
use cpppo_enip::client::plan::decode_tag;
use cpppo_enip::client::python_values;
use cpppo_enip::model::attribute::Attribute;

/// A tag's attribute that prints each successful operation on it.
pub struct PrintIo {
    name: String,
    inner: Arc<dyn Attribute>,
    reads: bool,
}

impl PrintIo {
    /// Wraps `inner` (the tag `name`); reads are printed too when `reads`.
    pub fn new(name: &str, inner: Arc<dyn Attribute>, reads: bool) -> PrintIo {
        PrintIo {
            name: name.to_owned(),
            inner,
            reads,
        }
    }

    fn print(&self, start: usize, count: usize, arrow: &str, data: &[u8], tail: &str) {
        let values = match decode_tag(TagType::Atomic(self.inner.data_type()), data) {
            Some(v) => python_values(&v),
            None => format!("{data:?}"),
        };
        let line = operation_line(&self.name, start, count, arrow, &values);
        // A closed stdout must not fail the client's request.
        let _ = writeln!(std::io::stdout().lock(), "{line}{tail}");
    }
}

/// `%20s[%5s-%-5s] <arrow> <values>`, as cpppo formats an operation on `name`.
pub fn operation_line(name: &str, start: usize, count: usize, arrow: &str, values: &str) -> String {
    let last = (start + count).saturating_sub(1);
    format!("{name:>20}[{start:>5}-{last:<5}] {arrow} {values}")
}

impl Attribute for PrintIo {
    cpppo_enip::delegate_shape_to_inner!();

    fn peek(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.inner.peek(start, count, out)
    }

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        let from = out.len();
        self.inner.read(start, count, out)?;
        if self.reads {
            self.print(start, count, "==", out.get(from..).unwrap_or_default(), "");
        }
        Ok(())
    }

    fn write(&self, start: usize, count: usize, data: &[u8]) -> Result<(), Status> {
        self.inner.write(start, count, data)?;
        self.print(start, count, "<=", data, " ");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_formatted_as_cpppo() {
        assert_eq!(
            operation_line("SCADA", 1, 1, "<=", "[99]"),
            "               SCADA[    1-1    ] <= [99]"
        );
        assert_eq!(
            operation_line("TEXT", 0, 2, "==", "['a', 'b']"),
            "                TEXT[    0-1    ] == ['a', 'b']"
        );
    }
}
