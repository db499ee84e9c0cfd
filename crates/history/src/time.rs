//! Microsecond timestamps: fast UTC rendering/parsing and rendering in any time zone.
//!
//! A [`Timestamp`] is a count of microseconds since the UNIX epoch (UTC), limited to the
//! years 0001..=9999 so that every value renders as `YYYY-mm-dd HH:MM:SS[.ffffff]`.
//! Rendering rounds to the requested number of sub-second digits (3, milliseconds, by
//! default), as cpppo does: the value is rounded first, then formatted, so `59.9996` becomes
//! the next minute rather than `59.1000`.

use std::fmt;

use jiff::tz::TimeZone;

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// 0001-01-01 00:00:00 UTC in microseconds since the epoch.
const MIN_MICROS: i64 = -62_135_596_800 * MICROS_PER_SEC;
/// 9999-12-31 23:59:59.999999 UTC in microseconds since the epoch.
const MAX_MICROS: i64 = 253_402_300_800 * MICROS_PER_SEC - 1;

/// Sub-second digits rendered by default (milliseconds).
pub const DEFAULT_DIGITS: u8 = 3;

/// An instant with microsecond precision, between years 0001 and 9999 (UTC).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp {
    micros: i64,
}

impl Timestamp {
    /// The earliest representable instant, 0001-01-01 00:00:00 UTC.
    pub const MIN: Timestamp = Timestamp { micros: MIN_MICROS };
    /// The latest representable instant, 9999-12-31 23:59:59.999999 UTC.
    pub const MAX: Timestamp = Timestamp { micros: MAX_MICROS };

    /// The instant `micros` microseconds after the UNIX epoch, if within years 0001..=9999.
    pub fn from_micros(micros: i64) -> Option<Timestamp> {
        (MIN_MICROS..=MAX_MICROS)
            .contains(&micros)
            .then_some(Timestamp { micros })
    }

    /// Microseconds since the UNIX epoch.
    pub fn as_micros(self) -> i64 {
        self.micros
    }

    /// Seconds since the UNIX epoch, as a float (cpppo's `timestamp.value`).
    pub fn as_secs_f64(self) -> f64 {
        self.micros as f64 / MICROS_PER_SEC as f64
    }

    /// The current wall-clock time (truncated to microseconds).
    pub fn now() -> Timestamp {
        Timestamp::from_jiff(jiff::Timestamp::now())
    }

    /// Convert from a jiff timestamp (truncating to microseconds, clamping to the range).
    pub fn from_jiff(ts: jiff::Timestamp) -> Timestamp {
        let micros = ts.as_microsecond().clamp(MIN_MICROS, MAX_MICROS);
        Timestamp { micros }
    }

    /// Convert to a jiff timestamp.
    pub fn to_jiff(self) -> jiff::Timestamp {
        // Our range is inside jiff's, so this cannot fail; fall back to the epoch regardless.
        jiff::Timestamp::from_microsecond(self.micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// This instant plus `micros` microseconds, if still within range.
    pub fn checked_add_micros(self, micros: i64) -> Option<Timestamp> {
        self.micros
            .checked_add(micros)
            .and_then(Timestamp::from_micros)
    }

    /// Microseconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn micros_since(self, earlier: Timestamp) -> i64 {
        // Both are within +/- 2^58, so the difference cannot overflow.
        self.micros - earlier.micros
    }

    /// Round to `digits` (0..=6) sub-second digits, staying within range.
    pub fn round(self, digits: u8) -> Timestamp {
        let unit = 10_i64.pow(u32::from(6 - digits.min(6)));
        let rounded = (self.micros + unit / 2).div_euclid(unit) * unit;
        Timestamp::from_micros(rounded).unwrap_or(Timestamp {
            micros: self.micros.div_euclid(unit) * unit,
        })
    }

    /// Render in UTC as `YYYY-mm-dd HH:MM:SS[.f]` with `digits` sub-second digits and no
    /// zone suffix: the form used in history files.
    pub fn render_utc(self, digits: u8) -> String {
        let mut out = String::with_capacity(26);
        self.write_utc(digits, &mut out);
        out
    }

    /// Append the UTC rendering (see [`Timestamp::render_utc`]) to `out`.
    pub fn write_utc(self, digits: u8, out: &mut String) {
        let digits = digits.min(6);
        let t = self.round(digits).micros;
        let secs = t.div_euclid(MICROS_PER_SEC);
        let frac = t.rem_euclid(MICROS_PER_SEC);
        let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
        let sod = secs.rem_euclid(SECS_PER_DAY);
        write_civil(
            out,
            y,
            m,
            d,
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            frac,
            digits,
        );
    }

    /// Render in `tz` with its abbreviation: `2014-04-01 04:11:12.345 MDT`.
    pub fn render_in(self, tz: &TimeZone, digits: u8) -> String {
        let digits = digits.min(6);
        let rounded = self.round(digits);
        let ts = rounded.to_jiff();
        let info = tz.to_offset_info(ts);
        let dt = info.offset().to_datetime(ts);
        let mut out = String::with_capacity(32);
        write_civil(
            &mut out,
            i64::from(dt.year()),
            i64::from(dt.month()),
            i64::from(dt.day()),
            i64::from(dt.hour()),
            i64::from(dt.minute()),
            i64::from(dt.second()),
            rounded.micros.rem_euclid(MICROS_PER_SEC),
            digits,
        );
        out.push(' ');
        out.push_str(info.abbreviation());
        out
    }
}

impl fmt::Display for Timestamp {
    /// UTC, milliseconds, no zone suffix (the history-file form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_utc(DEFAULT_DIGITS))
    }
}

#[allow(clippy::too_many_arguments)]
fn write_civil(
    out: &mut String,
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    frac_micros: i64,
    digits: u8,
) {
    use fmt::Write as _;
    let _ = write!(out, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    if digits > 0 {
        let scaled = frac_micros / 10_i64.pow(u32::from(6 - digits));
        let _ = write!(out, ".{scaled:0width$}", width = usize::from(digits));
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian (year, month, day) for days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days in month `m` of year `y`.
pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A civil (zone-less) date and time with microseconds, as parsed from text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub micros: i64,
}

impl Civil {
    /// Microseconds since the epoch if this civil time were UTC shifted by `offset_secs`.
    pub fn to_micros(self, offset_secs: i64) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let secs = days * SECS_PER_DAY + self.hour * 3600 + self.minute * 60 + self.second;
        (secs - offset_secs) * MICROS_PER_SEC + self.micros
    }

    /// The jiff civil datetime.
    pub fn to_jiff(self) -> Option<jiff::civil::DateTime> {
        jiff::civil::DateTime::new(
            i16::try_from(self.year).ok()?,
            i8::try_from(self.month).ok()?,
            i8::try_from(self.day).ok()?,
            i8::try_from(self.hour).ok()?,
            i8::try_from(self.minute).ok()?,
            i8::try_from(self.second).ok()?,
            i32::try_from(self.micros * 1000).ok()?,
        )
        .ok()
    }
}

/// Parse `YYYY-mm-dd HH:MM:SS[.ffffff]` (a `T` may replace the space) from the start of
/// `text`; returns the civil time and the remaining text, or a reason.
pub(crate) fn parse_civil(text: &str) -> Result<(Civil, &str), &'static str> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0_i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let sep = |at: usize, want: &[u8]| b.get(at).is_some_and(|c| want.contains(c));
    const SHAPE: &str = "expected YYYY-mm-dd HH:MM:SS[.ffffff]";
    let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return Err(SHAPE);
    };
    let (Some(hour), Some(minute), Some(second)) = (num(11, 2), num(14, 2), num(17, 2)) else {
        return Err(SHAPE);
    };
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b" T") && sep(13, b":") && sep(16, b":")) {
        return Err(SHAPE);
    }
    let mut end = 19;
    let mut micros = 0;
    if sep(19, b".") {
        let count = b
            .get(20..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if count == 0 || count > 6 {
            return Err("expected 1 to 6 sub-second digits");
        }
        let value = num(20, count).ok_or(SHAPE)?;
        micros = value * 10_i64.pow(6 - count as u32);
        end = 20 + count;
    }
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such date");
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("no such time of day");
    }
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
    };
    Ok((civil, text.get(end..).unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        for z in [-719_162, -1, 0, 1, 11_017, 19_675, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
    }

    #[test]
    fn renders_utc_with_rounding() {
        let t = Timestamp::from_micros(1_700_000_000_499_600).unwrap();
        assert_eq!(t.render_utc(3), "2023-11-14 22:13:20.500");
        assert_eq!(t.render_utc(6), "2023-11-14 22:13:20.499600");
        assert_eq!(t.render_utc(0), "2023-11-14 22:13:20");
        let t = Timestamp::from_micros(1_700_000_059_999_600).unwrap();
        assert_eq!(t.render_utc(3), "2023-11-14 22:14:20.000");
        assert_eq!(Timestamp::MAX.render_utc(3), "9999-12-31 23:59:59.999");
        assert_eq!(Timestamp::MIN.render_utc(3), "0001-01-01 00:00:00.000");
    }

    #[test]
    fn renders_in_zone_with_abbreviation() {
        let tz = TimeZone::get("America/Edmonton").unwrap();
        // 2014-04-01 10:11:12.345 UTC is 04:11:12.345 MDT.
        let t = Timestamp::from_micros(1_396_347_072_345_000).unwrap();
        assert_eq!(t.render_in(&tz, 3), "2014-04-01 04:11:12.345 MDT");
        assert_eq!(
            t.render_in(&TimeZone::UTC, 3),
            "2014-04-01 10:11:12.345 UTC"
        );
    }

    #[test]
    fn parse_civil_rejects_bad_shapes() {
        assert!(parse_civil("2014-02-30 00:00:00").is_err());
        assert!(parse_civil("2014-01-01 24:00:00").is_err());
        assert!(parse_civil("2014-01-01 00:00:00.").is_err());
        assert!(parse_civil("2014-01-01 00:00:00.1234567").is_err());
        assert!(parse_civil("2014-01-01").is_err());
        assert!(parse_civil("2014-01-01 00:0a:00").is_err());
        let (c, rest) = parse_civil("2014-01-01T01:02:03.5 MST").unwrap();
        assert_eq!((c.hour, c.micros, rest), (1, 500_000, " MST"));
    }
}
