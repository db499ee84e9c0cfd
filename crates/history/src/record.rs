//! cpppo's history record line: `<UTC timestamp>\t<JSON serial>\t<JSON payload>\n`.
//!
//! ```text
//! # 2026-11-21 08:41:53.293: Started recording Tag: SCADA
//! 2023-11-14 22:13:20.000<TAB>["SCADA", [0, 3]]<TAB>{"write": [1, 2, 3, 4]}
//! ```
//!
//! Lines starting with `#` (after optional leading whitespace) are comments; blank lines are
//! ignored. The serial and payload are kept as the exact text read, so a file read and
//! written back is byte-identical. Values serialized here are written as Python's
//! `json.dumps` writes them (`", "` and `": "` separators, non-ASCII as `\uXXXX`), so our
//! lines look like cpppo's.

use serde::Serialize;

use crate::time::Timestamp;
use crate::zone::{TimeError, Zones};

/// One history record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When it happened (UTC in the file).
    pub time: Timestamp,
    serial: String,
    payload: String,
}

/// One parsed line of a history file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Empty or whitespace only.
    Blank,
    /// A `#` comment; the text after `#` and one optional space.
    Comment(&'a str),
    /// A record.
    Record(Record),
}

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line is not valid UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// The line is longer than a reader accepts (16 MiB); the rest of it was skipped.
    #[error("line longer than {0} bytes")]
    TooLong(u64),
    /// Fewer than three tab-separated fields.
    #[error("expected <timestamp> TAB <serial> TAB <payload>")]
    Fields,
    /// The timestamp does not parse.
    #[error("{0}")]
    Time(#[from] TimeError),
    /// The serial is not JSON.
    #[error("serial is not JSON: {0}")]
    Serial(String),
    /// The payload is not JSON.
    #[error("payload is not JSON: {0}")]
    Payload(String),
}

impl Record {
    /// A record from values, serialized as Python's `json.dumps` would.
    pub fn new(
        time: Timestamp,
        serial: &impl Serialize,
        payload: &impl Serialize,
    ) -> Result<Record, serde_json::Error> {
        Ok(Record {
            time,
            serial: to_python_json(serial)?,
            payload: to_python_json(payload)?,
        })
    }

    /// A record from JSON texts, checked: each must be one JSON value, the serial without a
    /// tab and neither with a line break (they would break the line format).
    pub fn from_json(time: Timestamp, serial: &str, payload: &str) -> Result<Record, LineError> {
        if serial.contains(['\t', '\n', '\r']) {
            return Err(LineError::Serial("contains a tab or line break".into()));
        }
        if payload.contains(['\n', '\r']) {
            return Err(LineError::Payload("contains a line break".into()));
        }
        check_json(serial).map_err(LineError::Serial)?;
        check_json(payload).map_err(LineError::Payload)?;
        Ok(Record {
            time,
            serial: serial.to_string(),
            payload: payload.to_string(),
        })
    }

    /// The serial's JSON text, as read or written.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The payload's JSON text, as read or written.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The serial, decoded.
    pub fn serial_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.serial)
    }

    /// The payload, decoded.
    pub fn payload_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }

    /// Append the line (with `\n`) to `out`, the time in UTC with `digits` sub-second digits.
    pub fn write_line(&self, digits: u8, out: &mut String) {
        self.time.write_utc(digits, out);
        self.write_rest(out);
    }

    /// Append `\t<serial>\t<payload>\n` to `out` (for callers rendering the time themselves).
    pub fn write_rest(&self, out: &mut String) {
        out.push('\t');
        out.push_str(&self.serial);
        out.push('\t');
        out.push_str(&self.payload);
        out.push('\n');
    }

    /// The line as cpppo writes it (milliseconds), with its `\n`.
    pub fn to_line(&self) -> String {
        let mut out = String::with_capacity(32 + self.serial.len() + self.payload.len());
        self.write_line(crate::time::DEFAULT_DIGITS, &mut out);
        out
    }
}

fn check_json(text: &str) -> Result<(), String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parse one line (with or without its line ending). The timestamp is read with
/// [`Zones::utc`]: UTC unless the text names a zone or offset.
pub fn parse_line(line: &str) -> Result<Line<'_>, LineError> {
    parse_line_with(line, &UTC_ZONES)
}

static UTC_ZONES: std::sync::LazyLock<Zones> = std::sync::LazyLock::new(Zones::utc);

/// Parse one line, reading the timestamp with `zones`.
pub fn parse_line_with<'a>(line: &'a str, zones: &Zones) -> Result<Line<'a>, LineError> {
    // Leading and trailing JSON whitespace (incl. the line ending) is not part of the record,
    // so a record written back parses to the same record.
    let text = line.trim_matches(is_json_space);
    if text.is_empty() {
        return Ok(Line::Blank);
    }
    if let Some(comment) = text.strip_prefix('#') {
        return Ok(Line::Comment(comment.strip_prefix(' ').unwrap_or(comment)));
    }
    let mut fields = text.splitn(3, '\t');
    let (Some(time), Some(serial), Some(payload)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(LineError::Fields);
    };
    let time = zones.parse(time)?;
    check_json(serial).map_err(LineError::Serial)?;
    check_json(payload).map_err(LineError::Payload)?;
    Ok(Line::Record(Record {
        time,
        serial: serial.to_string(),
        payload: payload.to_string(),
    }))
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Parse one line given as bytes (as read from a file): invalid UTF-8 is a [`LineError`].
pub fn parse_line_bytes(line: &[u8]) -> Result<Line<'_>, LineError> {
    std::str::from_utf8(line)
        .map_err(|_| LineError::NotUtf8)
        .and_then(parse_line)
}

/// Serialize `value` as Python's `json.dumps` does by default: `", "` and `": "`
/// separators and only ASCII (other characters as `\uXXXX`, with surrogate pairs).
pub fn to_python_json(value: &impl Serialize) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(64);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser)?;
    // The formatter writes only ASCII, so this cannot fail; map it to an error regardless.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// serde_json formatter matching Python's `json.dumps` defaults.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        let mut units = [0_u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut units).iter() {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_json_style() {
        let v = json!({"write": [1, 2, 3, 4], "name": "é€😀"});
        assert_eq!(
            to_python_json(&v).unwrap(),
            r#"{"name": "\u00e9\u20ac\ud83d\ude00", "write": [1, 2, 3, 4]}"#
        );
        assert_eq!(
            to_python_json(&json!(["SCADA", [0, 3]])).unwrap(),
            r#"["SCADA", [0, 3]]"#
        );
        assert_eq!(to_python_json(&json!({})).unwrap(), "{}");
    }

    #[test]
    fn parses_and_writes_sample_line() {
        let text = "2023-11-14 22:13:20.500\t[\"SCADA\", [0, 5]]\t{\"read\": [1, 2, 3, 4, 0, 0]}\n";
        let Line::Record(r) = parse_line(text).unwrap() else {
            panic!("not a record")
        };
        assert_eq!(r.time.as_micros(), 1_700_000_000_500_000);
        assert_eq!(r.serial(), r#"["SCADA", [0, 5]]"#);
        assert_eq!(r.to_line(), text);
        let built = Record::new(
            r.time,
            &json!(["SCADA", [0, 5]]),
            &r.payload_value().unwrap(),
        );
        assert_eq!(built.unwrap().to_line(), text);
    }

    #[test]
    fn comments_blanks_and_errors() {
        assert_eq!(parse_line("# hello\n"), Ok(Line::Comment("hello")));
        assert_eq!(parse_line("   \r\n"), Ok(Line::Blank));
        assert_eq!(parse_line("2023-11-14 22:13:20\t1"), Err(LineError::Fields));
        assert!(matches!(
            parse_line("garbage\t1\t2"),
            Err(LineError::Time(_))
        ));
        assert!(matches!(
            parse_line("2023-11-14 22:13:20\t[1\t2"),
            Err(LineError::Serial(_))
        ));
        assert!(matches!(
            parse_line("2023-11-14 22:13:20\t1\t{\"a\""),
            Err(LineError::Payload(_))
        ));
        assert_eq!(parse_line_bytes(b"\xff\t1\t2"), Err(LineError::NotUtf8));
        // Trailing whitespace is not part of the payload (found by fuzzing).
        let Ok(Line::Record(r)) = parse_line("2023-11-14 22:13:20\t0\t0\t\r\r\r\r") else {
            panic!("not a record")
        };
        assert_eq!(r.payload(), "0");
        assert!(Record::from_json(Timestamp::MIN, "1", "{\"a\":\n1}").is_err());
        assert!(Record::from_json(Timestamp::MIN, "\t1", "1").is_err());
    }
}
