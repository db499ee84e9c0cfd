//! Operations shown in the same syntax they are parsed from.

use std::fmt;

use super::lex::name_start;
use super::{Link, Literal, Operation, PathStep};
impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::Number(n) => write!(f, "{n}"),
            Link::Address(a) => write!(f, "{a:?}"),
        }
    }
}

impl PathStep {
    fn json(&self) -> String {
        match self {
            PathStep::Symbolic(s) => {
                format!("{{\"symbolic\":{}}}", serde_json::Value::from(s.as_str()))
            }
            PathStep::Class(n) => format!("{{\"class\":{n}}}"),
            PathStep::Instance(n) => format!("{{\"instance\":{n}}}"),
            PathStep::Attribute(n) => format!("{{\"attribute\":{n}}}"),
            PathStep::Element(n) => format!("{{\"element\":{n}}}"),
            PathStep::Connection(n) => format!("{{\"connection\":{n}}}"),
            PathStep::Member(n) => format!("{{\"member\":{n}}}"),
            PathStep::Port { port, link } => format!("{{\"port\":{port},\"link\":{link}}}"),
        }
    }
}

/// Whether `s` lexes as one plain name.
fn plain_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(name_start)
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == ':')
}

/// Writes the path; returns whether it left an index bracket open for the range (the last
/// dimension of a multi-dimensional element, `Grid[1,` then `2]`).
fn fmt_path(op: &Operation, f: &mut fmt::Formatter<'_>) -> Result<bool, fmt::Error> {
    let ranged = op.range.is_some();
    let len = op.path.len();
    // The trailing element belongs to the range, written as [first-last].
    let path = match (ranged, op.path.last()) {
        (true, Some(PathStep::Element(_))) => op.path.get(..len - 1).unwrap_or_default(),
        _ => &op.path[..],
    };
    let symbolic = path.iter().enumerate().all(|(i, s)| match s {
        PathStep::Symbolic(name) => plain_name(name),
        // An element after a member or another element: `Name[n].Member`, `Grid[1,2]`.
        PathStep::Element(_) => {
            i > 0
                && matches!(
                    path.get(i - 1),
                    Some(PathStep::Symbolic(_) | PathStep::Element(_))
                )
                && (ranged
                    || matches!(
                        path.get(i + 1),
                        Some(PathStep::Symbolic(_) | PathStep::Element(_))
                    ))
        }
        _ => false,
    }) && matches!(path.first(), Some(PathStep::Symbolic(_)));
    if symbolic {
        let mut open = false;
        for (i, s) in path.iter().enumerate() {
            match s {
                PathStep::Symbolic(name) => {
                    if open {
                        f.write_str("]")?;
                        open = false;
                    }
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                PathStep::Element(n) if open => write!(f, ",{n}")?,
                PathStep::Element(n) => {
                    write!(f, "[{n}")?;
                    open = true;
                }
                _ => {}
            }
        }
        if open && !ranged {
            f.write_str("]")?;
            open = false;
        }
        return Ok(open);
    }
    f.write_str("@")?;
    for (i, s) in path.iter().enumerate() {
        if i > 0 {
            f.write_str("/")?;
        }
        match (i, s) {
            (0, PathStep::Class(n))
            | (1, PathStep::Instance(n))
            | (2, PathStep::Attribute(n))
            | (3, PathStep::Element(n)) => write!(f, "{n}")?,
            _ => f.write_str(&s.json())?,
        }
    }
    Ok(false)
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Real(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 => {
                write!(f, "{x:.1}")
            }
            Literal::Real(x) => write!(f, "{x}"),
            Literal::Bool(b) => write!(f, "{}", u8::from(*b)),
            Literal::Text(s) => write!(f, "\"{}\"", s.replace('"', "\"\"")),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = if fmt_path(self, f)? { "," } else { "[" };
        match (self.range, self.count) {
            (Some((first, _)), None) => write!(f, "{open}{first}]")?,
            (Some((first, last)), Some(_)) => write!(f, "{open}{first}-{last}]")?,
            (None, _) => {}
        }
        let implied = self
            .write
            .as_ref()
            .filter(|_| self.offset.is_none())
            .and_then(|w| u32::try_from(w.values.len()).ok());
        if let (None, Some(n)) = (self.range, self.count) {
            if Some(n) != implied {
                write!(f, "*{n}")?;
            }
        }
        if let Some(o) = self.offset {
            write!(f, "+{o}")?;
        }
        if let Some(w) = &self.write {
            write!(f, "=({})", w.data_type)?;
            for (i, v) in w.values.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{v}")?;
            }
        }
        Ok(())
    }
}
