//! Human durations: `1h2m3.5s`, `500ms`, `2d`, `1w`, `250us`, `-5m`.
//!
//! A duration is an optional sign then one or more `<number><unit>` terms (spaces allowed
//! between terms); a bare number is seconds. Units: `y` (365.25 days, as cpppo), `w`, `d`,
//! `h`, `m`, `s`, `ms`, `us`/`µs`, `ns` (truncated to microseconds). Any term may have a
//! fraction (`1.5h`). The result is a count of microseconds.

/// A duration that could not be parsed; names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (e.g. 1h2m3.5s, 500ms, 2d)")]
pub struct DurationError {
    /// The offending text.
    pub text: String,
    /// What went wrong.
    pub reason: &'static str,
}

const UNITS: &[(&str, i64)] = &[
    ("ms", 1_000),
    ("us", 1),
    ("µs", 1),
    ("ns", 0),
    ("y", 31_557_600_000_000),
    ("w", 604_800_000_000),
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
];

/// Parse a duration into microseconds.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let fail = |reason| DurationError {
        text: text.to_string(),
        reason,
    };
    let trimmed = text.trim();
    let (negative, mut rest) = match trimmed.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if rest.is_empty() {
        return Err(fail("empty"));
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(len);
        if number.is_empty() || number == "." {
            return Err(fail("expected a number"));
        }
        let after = after.trim_start();
        let (scale, after) = match UNITS.iter().find(|(u, _)| after.starts_with(u)) {
            Some((unit, scale)) => (*scale, after.get(unit.len()..).unwrap_or("")),
            None if after.is_empty() => (1_000_000, after),
            None => return Err(fail("unknown unit")),
        };
        let micros = if scale == 0 {
            scaled(number, 1).map(|ns| ns / 1_000)
        } else {
            scaled(number, scale)
        }
        .ok_or_else(|| fail("number too large or malformed"))?;
        total = total.checked_add(micros).ok_or_else(|| fail("too large"))?;
        rest = after.trim_start();
    }
    Ok(if negative { -total } else { total })
}

/// `number` (digits with at most one `.`) times `scale`, exactly, truncated to an integer.
fn scaled(number: &str, scale: i64) -> Option<i64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.contains('.') {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut result = whole.checked_mul(scale)?;
    let mut unit = scale;
    for digit in frac.bytes().take(18) {
        unit /= 10;
        result = result.checked_add(i64::from(digit - b'0') * unit)?;
    }
    Some(result)
}

/// Render microseconds as a duration [`parse_duration`] reads back: `1h2m3.5s`, `500ms`.
pub fn format_duration(micros: i64) -> String {
    let mut out = String::new();
    if micros < 0 {
        out.push('-');
    }
    let mut left = micros.unsigned_abs();
    for (unit, scale) in [
        ("d", 86_400_000_000_u64),
        ("h", 3_600_000_000),
        ("m", 60_000_000),
    ] {
        if left >= scale {
            out.push_str(&format!("{}{unit}", left / scale));
            left %= scale;
        }
    }
    let (secs, sub) = (left / 1_000_000, left % 1_000_000);
    if sub == 0 {
        if secs > 0 || out.len() <= 1 {
            out.push_str(&format!("{secs}s"));
        }
    } else if secs == 0 && sub % 1_000 == 0 {
        out.push_str(&format!("{}ms", sub / 1_000));
    } else if secs == 0 && sub < 1_000 {
        out.push_str(&format!("{sub}us"));
    } else {
        let frac = format!("{sub:06}");
        out.push_str(&format!("{secs}.{}s", frac.trim_end_matches('0')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_examples() {
        assert_eq!(parse_duration("1h2m3.5s"), Ok(3_723_500_000));
        assert_eq!(parse_duration("500ms"), Ok(500_000));
        assert_eq!(parse_duration("2d"), Ok(172_800_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000_000));
        assert_eq!(parse_duration("90"), Ok(90_000_000));
        assert_eq!(parse_duration("-5m"), Ok(-300_000_000));
        assert_eq!(parse_duration("1m 30s"), Ok(90_000_000));
        assert_eq!(parse_duration("250us"), Ok(250));
        assert_eq!(parse_duration("1500ns"), Ok(1));
        assert_eq!(parse_duration("1y"), Ok(31_557_600_000_000));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "-",
            "h",
            "1x",
            "1..5s",
            "1.2.3s",
            "99999999999999999999d",
            "5 5 q",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.to_string().contains("invalid duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(format_duration(3_723_500_000), "1h2m3.5s");
        assert_eq!(format_duration(500_000), "500ms");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(-90_000_000), "-1m30s");
        assert_eq!(format_duration(172_800_000_000), "2d");
        for v in [1, 999, 1_000, 1_234_567, -7, 86_400_000_001, i64::MAX / 2] {
            assert_eq!(parse_duration(&format_duration(v)), Ok(v), "{v}");
        }
    }
}
