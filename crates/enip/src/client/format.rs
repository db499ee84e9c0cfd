//! Values printed as cpppo (Python) prints them: `[0, 42]`, `[1.25]`, `['Hello World']`.

use crate::client::operation::Literal;

/// One value as Python's `repr` shows it.
///
/// ```
/// use cpppo_enip::client::python_value;
/// use cpppo_enip::client::operation::Literal;
/// assert_eq!(python_value(&Literal::Real(2.0)), "2.0");
/// assert_eq!(python_value(&Literal::Real(f64::from(1.1f32))), "1.100000023841858");
/// assert_eq!(python_value(&Literal::Text("it's".into())), "\"it's\"");
/// ```
pub fn python_value(v: &Literal) -> String {
    match v {
        Literal::Int(n) => n.to_string(),
        Literal::Bool(true) => "True".into(),
        Literal::Bool(false) => "False".into(),
        Literal::Real(x) => python_float(*x),
        Literal::Text(s) => python_str(s),
    }
}

/// A list of values as Python's `repr` shows it.
pub fn python_values(vs: &[Literal]) -> String {
    let items: Vec<String> = vs.iter().map(python_value).collect();
    format!("[{}]", items.join(", "))
}

/// A JSON value (a structure decoded by its template) as Python's `repr` shows the same
/// value: objects as dicts, `true` as `True`, `null` as `None`.
///
/// ```
/// use cpppo_enip::client::python_json;
/// let v = serde_json::json!({"Speed": 1.5, "Running": true, "Faults": [1, 2], "Name": null});
/// // (serde_json's objects keep their keys sorted)
/// assert_eq!(python_json(&v), "{'Faults': [1, 2], 'Name': None, 'Running': True, 'Speed': 1.5}");
/// ```
pub fn python_json(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => python_value(&Literal::Bool(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(x)) => python_float(x),
            _ => n.to_string(),
        },
        Value::String(s) => python_str(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", python_str(k), python_json(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        // Python switches to exponent notation: 1e+16, 1.5e-05.
        let s = format!("{x:e}");
        return match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        };
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// A string as Python's `repr` shows it.
pub fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
