//! Tag elements between their CIP wire encoding and JSON / the text of an API request.

use cpppo_cip::value::{append, append_text};
use cpppo_cip::{DataType, Value};
use cpppo_enip::model::attribute::Attribute;
use serde_json::{json, Value as Json};

/// Decode every element of `attr` into JSON values (numbers, booleans or strings).
pub fn read_all(attr: &dyn Attribute) -> Result<Vec<Json>, String> {
    let mut raw = Vec::new();
    attr.read(0, attr.len(), &mut raw)
        .map_err(|s| format!("read failed with status {s:?}"))?;
    decode(attr.data_type(), &raw, attr.len())
}

/// Decode `count` wire-encoded elements of type `ty`.
pub fn decode(ty: DataType, raw: &[u8], count: usize) -> Result<Vec<Json>, String> {
    let mut out = Vec::with_capacity(count);
    let mut rest = raw;
    for _ in 0..count {
        let (v, used) = Value::parse(ty, rest).map_err(|_| "short element data".to_string())?;
        out.push(json_of(v));
        rest = rest.get(used..).unwrap_or_default();
    }
    Ok(out)
}

/// One element as JSON: a number, a boolean, or a (lossily decoded) string.
fn json_of(v: Value<'_>) -> Json {
    match v {
        Value::Bool(b) => json!(b),
        Value::Sint(n) => json!(n),
        Value::Int(n) => json!(n),
        Value::Dint(n) => json!(n),
        Value::Lint(n) => json!(n),
        Value::Usint(n) | Value::Byte(n) => json!(n),
        Value::Uint(n) | Value::Word(n) => json!(n),
        Value::Udint(n) | Value::Dword(n) => json!(n),
        Value::Ulint(n) | Value::Lword(n) => json!(n),
        Value::Real(x) => real(x.into(), json!(x)),
        Value::Lreal(x) => real(x, json!(x)),
        Value::Sstring(s) | Value::String(s) => json!(String::from_utf8_lossy(s)),
    }
}

/// A REAL/LREAL as JSON: the number, or for the values JSON has no number for (written over
/// CIP), Python's spelling as a string: "nan", "inf", "-inf".
fn real(v: f64, number: Json) -> Json {
    if v.is_finite() {
        number
    } else if v.is_nan() {
        json!("nan")
    } else if v > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

/// Encode the request text `text` as one element of type `ty`, or say why it cannot be.
pub fn encode(ty: DataType, text: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("{text:?} is not a {} value", ty.name());
    let t = text.trim();
    let int = |lo: i128, hi: i128| -> Result<Value<'static>, String> {
        let v: i128 = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            i128::from_str_radix(h, 16).map_err(|_| bad())?
        } else {
            t.parse().map_err(|_| bad())?
        };
        if v < lo || v > hi {
            return Err(format!(
                "{text:?} is out of range for {} ({lo} to {hi})",
                ty.name()
            ));
        }
        Value::from_int(ty, v).ok_or_else(bad)
    };
    let value = match ty {
        DataType::Bool => match t.to_ascii_lowercase().as_str() {
            "1" | "true" => Value::Bool(true),
            "0" | "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        DataType::Sint => int(i8::MIN.into(), i8::MAX.into())?,
        DataType::Int => int(i16::MIN.into(), i16::MAX.into())?,
        DataType::Dint => int(i32::MIN.into(), i32::MAX.into())?,
        DataType::Lint => int(i64::MIN.into(), i64::MAX.into())?,
        DataType::Usint | DataType::Byte => int(0, u8::MAX.into())?,
        DataType::Uint | DataType::Word => int(0, u16::MAX.into())?,
        DataType::Udint | DataType::Dword => int(0, u32::MAX.into())?,
        DataType::Ulint | DataType::Lword => int(0, u64::MAX.into())?,
        DataType::Real => {
            let v = t.parse::<f32>().map_err(|_| bad())?;
            finite(v.is_finite(), ty, text)?;
            Value::Real(v)
        }
        DataType::Lreal => {
            let v = t.parse::<f64>().map_err(|_| bad())?;
            finite(v.is_finite(), ty, text)?;
            Value::Lreal(v)
        }
        DataType::Sstring | DataType::String => {
            let max = if ty == DataType::Sstring { 255 } else { 65535 };
            if text.len() > max {
                return Err(format!("{} takes at most {max} bytes", ty.name()));
            }
            let mut out = Vec::new();
            append_text(&mut out, ty, text.as_bytes());
            return Ok(out);
        }
    };
    let mut out = Vec::new();
    append(&mut out, &value).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Refuse text that parses to no finite value (`nan`, `inf`, or beyond the type's range such
/// as `1e400`): JSON could not show it back.
fn finite(ok: bool, ty: DataType, text: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is out of range for {} (a finite number is needed)",
            ty.name()
        ))
    }
}

/// cpppo's one-line description: `NAME  TYPE[LEN] == [v, v, ...]` (first 6 elements).
pub fn describe(name: &str, attr: &dyn Attribute, values: &[Json]) -> String {
    let ty = attr.data_type().name();
    let shown: Vec<String> = values.iter().take(6).map(Json::to_string).collect();
    if attr.is_array() {
        let more = if values.len() > 6 { ", ..." } else { "" };
        format!(
            "{name:<24} {ty:>10}[{:>4}] == [{}{more}]",
            attr.len(),
            shown.join(", ")
        )
    } else {
        format!(
            "{name:<24} {ty:>10} x1    == {}",
            shown.first().cloned().unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        let b = encode(DataType::Int, "-2").unwrap();
        assert_eq!(decode(DataType::Int, &b, 1).unwrap(), vec![json!(-2)]);
        assert!(encode(DataType::Int, "40000")
            .unwrap_err()
            .contains("range"));
        assert!(encode(DataType::Dint, "x").is_err());
        let b = encode(DataType::Real, "1.5").unwrap();
        assert_eq!(decode(DataType::Real, &b, 1).unwrap(), vec![json!(1.5)]);
        let b = encode(DataType::Sstring, "hi").unwrap();
        assert_eq!(decode(DataType::Sstring, &b, 1).unwrap(), vec![json!("hi")]);
        assert_eq!(
            decode(DataType::Bool, &encode(DataType::Bool, "true").unwrap(), 1).unwrap(),
            vec![json!(true)]
        );
        assert!(decode(DataType::Dint, &[1, 2], 1).is_err());
    }

    #[test]
    fn non_finite_text_is_refused_and_stored_non_finite_values_are_shown() {
        for text in ["1e400", "inf", "-inf", "NaN", "infinity"] {
            let e = encode(DataType::Lreal, text).unwrap_err();
            assert!(e.contains("out of range"), "{text}: {e}");
        }
        for text in ["1e39", "-3.5e38", "nan"] {
            let e = encode(DataType::Real, text).unwrap_err();
            assert!(e.contains("out of range for REAL"), "{text}: {e}");
        }
        assert!(encode(DataType::Real, "3.4e38").is_ok());
        let shown = |ty, bits: &[u8]| decode(ty, bits, 1).unwrap();
        assert_eq!(
            shown(DataType::Real, &f32::NAN.to_le_bytes()),
            [json!("nan")]
        );
        assert_eq!(
            shown(DataType::Real, &f32::INFINITY.to_le_bytes()),
            [json!("inf")]
        );
        assert_eq!(
            shown(DataType::Lreal, &f64::NEG_INFINITY.to_le_bytes()),
            [json!("-inf")]
        );
    }
}
