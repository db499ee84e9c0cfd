//! Parsing `YYYY-mm-dd HH:MM:SS[.ffffff] [ZONE]`, with time-zone abbreviations.
//!
//! jiff renders abbreviations (`MDT`) but cannot parse them, because an abbreviation alone
//! does not name a zone. [`Zones`] builds the table itself: for every zone of a *region* the
//! user names (`America/Edmonton`, or a prefix such as `Canada` or `Europe` meaning every zone
//! under it), it walks the zone's transitions over a span of years and records each
//! abbreviation with its UTC offset and the interval it was in use.
//!
//! An abbreviation resolves to one offset. For each zone that uses it, the zone's meaning
//! at the instant the text names is taken: the entry in use then (`civil - offset` inside
//! its interval), or if none was (`MDT` written for a January date), the entry nearest in
//! time; so a zone whose abbreviation changed offset over the years (`MSK` was +04:00 in
//! 2011-2014) is read by date. If the zones of the region disagree, or one zone had two
//! meanings at that instant (the repeated hour of a change that kept the abbreviation), it
//! is an error naming the candidates: `IST` with both `Asia/Kolkata` (+05:30) and
//! `Europe/Dublin` (+01:00) in the region, whatever the date.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use jiff::tz::{Disambiguation, TimeZone};

use crate::time::{parse_civil, Civil, Timestamp};

/// Why a timestamp or zone could not be understood. Each message names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not `YYYY-mm-dd HH:MM:SS[.ffffff] [ZONE]`.
    #[error("invalid time {text:?}: {reason}")]
    Syntax {
        /// The offending text.
        text: String,
        /// What was expected.
        reason: String,
    },
    /// The zone is neither an IANA name, `UTC`/`Z`, an offset, nor a known abbreviation.
    #[error("unknown time zone {zone:?}{hint}")]
    UnknownZone {
        /// The offending zone text.
        zone: String,
        /// Extra advice (which region was searched).
        hint: String,
    },
    /// The abbreviation means different offsets in the region.
    #[error("time zone abbreviation {abbrev:?} is ambiguous in this region: {candidates}")]
    Ambiguous {
        /// The abbreviation.
        abbrev: String,
        /// The candidate zones and offsets.
        candidates: String,
    },
    /// The local time is skipped or repeated in the zone (a DST change).
    #[error("time {text:?} does not name one instant in {zone}: {reason}")]
    Local {
        /// The offending text.
        text: String,
        /// The zone.
        zone: String,
        /// jiff's explanation.
        reason: String,
    },
    /// A region names no zones.
    #[error("region {0:?} matches no time zone")]
    EmptyRegion(String),
    /// The instant is outside years 0001..=9999.
    #[error("time {0:?} is out of range")]
    OutOfRange(String),
}

/// One use of an abbreviation by one zone.
#[derive(Clone, Debug)]
struct Use {
    zone: String,
    offset: i32,
    /// Interval of use, UNIX seconds, `[start, end)`.
    start: i64,
    end: i64,
}

/// A default zone plus an abbreviation table; parses timestamps.
#[derive(Clone, Debug)]
pub struct Zones {
    default: TimeZone,
    /// The default zone's offset in seconds if it is fixed (UTC): no tz lookup needed.
    default_fixed: Option<i32>,
    abbrevs: HashMap<String, Vec<Use>>,
    region: Vec<String>,
}

impl Default for Zones {
    fn default() -> Self {
        Zones::utc()
    }
}

/// The span of years walked by [`Zones::with_region`] unless told otherwise.
pub const DEFAULT_YEARS: (i16, i16) = (1970, 2037);

impl Zones {
    /// Times without a zone are UTC; no abbreviations beyond `UTC`, `GMT` and `Z`.
    pub fn utc() -> Zones {
        Zones::new(TimeZone::UTC)
    }

    /// Times without a zone are in `default`; no abbreviations yet.
    pub fn new(default: TimeZone) -> Zones {
        Zones {
            default_fixed: default.to_fixed_offset().ok().map(|o| o.seconds()),
            default,
            abbrevs: HashMap::new(),
            region: Vec::new(),
        }
    }

    /// The zone used for times written without one.
    pub fn default_zone(&self) -> &TimeZone {
        &self.default
    }

    /// Add the abbreviations of every zone named by `region` (an IANA name, or a prefix such
    /// as `Europe` or `Canada` meaning all zones under it), over [`DEFAULT_YEARS`].
    pub fn with_region(self, region: &str) -> Result<Zones, TimeError> {
        self.with_region_years(region, DEFAULT_YEARS)
    }

    /// As [`Zones::with_region`], walking transitions from January 1 of `years.0` to the
    /// end of `years.1`.
    pub fn with_region_years(
        mut self,
        region: &str,
        years: (i16, i16),
    ) -> Result<Zones, TimeError> {
        let names = zone_names(region);
        if names.is_empty() {
            return Err(TimeError::EmptyRegion(region.to_string()));
        }
        let span = year_start(years.0)..year_start(years.1.saturating_add(1));
        for name in names {
            let Ok(tz) = TimeZone::get(&name) else {
                continue;
            };
            self.add_zone(&name, &tz, span.clone());
        }
        self.region.push(region.to_string());
        Ok(self)
    }

    /// The abbreviations known, sorted.
    pub fn abbreviations(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.abbrevs.keys().map(String::as_str).collect();
        all.sort_unstable();
        all
    }

    fn add_zone(&mut self, name: &str, tz: &TimeZone, span: std::ops::Range<jiff::Timestamp>) {
        let first = tz.to_offset_info(span.start);
        let mut current = (first.abbreviation().to_string(), first.offset().seconds());
        let mut start = span.start.as_second();
        for t in tz
            .following(span.start)
            .take_while(|t| t.timestamp() < span.end)
        {
            let next = (t.abbreviation().to_string(), t.offset().seconds());
            if next != current {
                let end = t.timestamp().as_second();
                self.add_use(name, &current.0, current.1, start, end);
                start = end;
                current = next;
            }
        }
        self.add_use(name, &current.0, current.1, start, span.end.as_second());
    }

    fn add_use(&mut self, zone: &str, abbrev: &str, offset: i32, start: i64, end: i64) {
        // Numeric "abbreviations" (+03, -0330) are offsets; parsed as such, not via the table.
        if abbrev.is_empty() || abbrev.starts_with(['+', '-']) || start >= end {
            return;
        }
        let uses = self.abbrevs.entry(abbrev.to_string()).or_default();
        if let Some(last) = uses
            .iter_mut()
            .rev()
            .find(|u| u.zone == zone && u.offset == offset && u.end == start)
        {
            last.end = end;
            return;
        }
        uses.push(Use {
            zone: zone.to_string(),
            offset,
            start,
            end,
        });
    }

    /// Parse `YYYY-mm-dd HH:MM:SS[.ffffff] [ZONE]`. ZONE may be `UTC`/`Z`/`GMT`, a numeric
    /// offset (`+05:30`, `-0700`, `+01`), an abbreviation known to this table, or an IANA
    /// name; without one, the default zone applies. A local time that a DST change skips or
    /// repeats in a named zone is an error (an abbreviation or offset settles it).
    pub fn parse(&self, text: &str) -> Result<Timestamp, TimeError> {
        let trimmed = text.trim();
        let (civil, rest) = parse_civil(trimmed).map_err(|reason| TimeError::Syntax {
            text: text.to_string(),
            reason: reason.to_string(),
        })?;
        let zone = rest.trim();
        if !zone.is_empty() && !rest.starts_with([' ', '\t', 'Z', '+', '-']) {
            return Err(TimeError::Syntax {
                text: text.to_string(),
                reason: "expected a space before the zone".to_string(),
            });
        }
        let micros = if let (true, Some(offset)) = (zone.is_empty(), self.default_fixed) {
            civil.to_micros(i64::from(offset))
        } else if zone.is_empty() {
            self.in_zone(text, civil, &self.default)?
        } else if matches!(zone, "UTC" | "Z" | "GMT" | "UT") {
            civil.to_micros(0)
        } else if zone.starts_with(['+', '-']) {
            let offset = parse_offset(zone).ok_or_else(|| TimeError::UnknownZone {
                zone: zone.to_string(),
                hint: " (offsets are +HH, +HHMM or +HH:MM)".to_string(),
            })?;
            civil.to_micros(i64::from(offset))
        } else if let Some(uses) = self.abbrevs.get(zone) {
            civil.to_micros(i64::from(resolve(zone, civil, uses)?))
        } else if let Some(offset) = legacy_abbreviation(zone, civil) {
            civil.to_micros(i64::from(offset?))
        } else if let Ok(tz) = TimeZone::get(zone) {
            self.in_zone(text, civil, &tz)?
        } else {
            return Err(TimeError::UnknownZone {
                zone: zone.to_string(),
                hint: self.hint(),
            });
        };
        Timestamp::from_micros(micros).ok_or_else(|| TimeError::OutOfRange(text.to_string()))
    }

    /// Resolve a zone name for rendering: `UTC`/`Z`, a numeric offset, or an IANA name.
    pub fn zone(name: &str) -> Result<TimeZone, TimeError> {
        let name = name.trim();
        if matches!(name, "UTC" | "Z" | "GMT" | "UT") {
            return Ok(TimeZone::UTC);
        }
        if name.starts_with(['+', '-']) {
            if let Some(secs) = parse_offset(name) {
                if let Ok(offset) = jiff::tz::Offset::from_seconds(secs) {
                    return Ok(TimeZone::fixed(offset));
                }
            }
        }
        TimeZone::get(name).map_err(|_| TimeError::UnknownZone {
            zone: name.to_string(),
            hint: " (use an IANA name such as America/Edmonton, UTC, or an offset)".to_string(),
        })
    }

    fn in_zone(&self, text: &str, civil: Civil, tz: &TimeZone) -> Result<i64, TimeError> {
        let zone_name = tz.iana_name().unwrap_or("the zone").to_string();
        let dt = civil
            .to_jiff()
            .ok_or_else(|| TimeError::OutOfRange(text.to_string()))?;
        let ts = tz
            .to_ambiguous_timestamp(dt)
            .disambiguate(Disambiguation::Reject)
            .map_err(|e| TimeError::Local {
                text: text.to_string(),
                zone: zone_name,
                reason: e.to_string(),
            })?;
        Ok(ts.as_microsecond())
    }

    fn hint(&self) -> String {
        if self.region.is_empty() {
            " (no abbreviation region given; name one, e.g. America/Edmonton or Europe)".into()
        } else {
            format!(
                " (not an abbreviation in region {})",
                self.region.join(", ")
            )
        }
    }
}

/// `CET`, `EST`, `MST`: tz database zones named like abbreviations. Outside a region that
/// defines them they mean the abbreviation as that zone uses it (`CET` is +01:00 even in
/// July, when the CET zone itself is on CEST), not that zone's local time.
fn legacy_abbreviation(zone: &str, civil: Civil) -> Option<Result<i32, TimeError>> {
    if !zone.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let own = Zones::utc().with_region(zone).ok()?;
    let uses = own.abbrevs.get(zone)?;
    Some(resolve(zone, civil, uses))
}

/// Pick the one offset an abbreviation means at `civil`, or say why not.
fn resolve(abbrev: &str, civil: Civil, uses: &[Use]) -> Result<i32, TimeError> {
    let zones: BTreeSet<&str> = uses.iter().map(|u| u.zone.as_str()).collect();
    let mut by_offset: BTreeMap<i32, BTreeSet<&str>> = BTreeMap::new();
    for zone in zones {
        let distance = |u: &Use| {
            let secs = civil.to_micros(i64::from(u.offset)).div_euclid(1_000_000);
            if secs < u.start {
                u.start - secs
            } else {
                (secs - u.end + 1).max(0)
            }
        };
        let mine: Vec<&Use> = uses.iter().filter(|u| u.zone == zone).collect();
        let nearest = mine.iter().map(|u| distance(u)).min().unwrap_or(0);
        for u in mine.into_iter().filter(|u| distance(u) == nearest) {
            by_offset.entry(u.offset).or_default().insert(zone);
        }
    }
    let mut offsets = by_offset.keys();
    match (offsets.next(), offsets.next()) {
        (Some(&only), None) => Ok(only),
        _ => {
            let mut text = String::new();
            for (offset, zones) in &by_offset {
                let names: Vec<&str> = zones.iter().take(3).copied().collect();
                let more = zones.len().saturating_sub(3);
                let _ = write!(
                    text,
                    "{}{} ({})",
                    sep(&text),
                    names.join(", "),
                    fmt_offset(*offset)
                );
                if more > 0 {
                    let _ = write!(text, " and {more} more");
                }
            }
            Err(TimeError::Ambiguous {
                abbrev: abbrev.to_string(),
                candidates: text,
            })
        }
    }
}

fn sep(text: &str) -> &'static str {
    if text.is_empty() {
        ""
    } else {
        "; "
    }
}

/// Render an offset in seconds as `+05:30`.
fn fmt_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    if a % 60 == 0 {
        format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
    } else {
        format!("{sign}{:02}:{:02}:{:02}", a / 3600, a / 60 % 60, a % 60)
    }
}

/// Parse `+HH`, `+HHMM`, `+HH:MM` or `+HH:MM:SS` (or `-`) into seconds east of UTC.
fn parse_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.strip_prefix('+') {
        Some(r) => (1, r),
        None => (-1, text.strip_prefix('-')?),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || rest.starts_with(':') {
        return None;
    }
    let field = |i: usize| digits.get(i..i + 2).and_then(|s| s.parse::<i32>().ok());
    let (h, m, s) = match digits.len() {
        2 => (field(0)?, 0, 0),
        4 => (field(0)?, field(2)?, 0),
        6 => (field(0)?, field(2)?, field(4)?),
        _ => return None,
    };
    (h <= 25 && m <= 59 && s <= 59).then_some(sign * (h * 3600 + m * 60 + s))
}

/// UNIX time of January 1 of `year`, UTC.
fn year_start(year: i16) -> jiff::Timestamp {
    let days = crate::time::days_from_civil(i64::from(year), 1, 1);
    jiff::Timestamp::from_second(days * 86_400).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Every zone name equal to `region` or under `region/`.
fn zone_names(region: &str) -> Vec<String> {
    let region = region.trim().trim_end_matches('/');
    if region.is_empty() {
        return Vec::new();
    }
    let prefix = format!("{region}/");
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|n| n == region || n.starts_with(&prefix))
        .collect();
    if names.is_empty() && TimeZone::get(region).is_ok() {
        names.push(region.to_string());
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        Zones::utc().parse(text).unwrap().as_micros() / 1_000_000
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("+05:30"), Some(19_800));
        assert_eq!(parse_offset("-0700"), Some(-25_200));
        assert_eq!(parse_offset("+01"), Some(3_600));
        assert_eq!(parse_offset("+1"), None);
        assert_eq!(parse_offset("+:0100"), None);
        assert_eq!(parse_offset("-07:0x"), None);
        assert_eq!(fmt_offset(19_800), "+05:30");
        assert_eq!(fmt_offset(-25_200), "-07:00");
    }

    #[test]
    fn edmonton_abbreviations_across_dst() {
        let z = Zones::utc().with_region("America/Edmonton").unwrap();
        // DST ended 2014-11-02 02:00 MDT: 01:30 happened twice; the abbreviation decides.
        let mdt = z.parse("2014-11-02 01:30:00 MDT").unwrap();
        let mst = z.parse("2014-11-02 01:30:00 MST").unwrap();
        assert_eq!(mdt.as_micros() / 1_000_000, at("2014-11-02 07:30:00"));
        assert_eq!(mst.as_micros() / 1_000_000, at("2014-11-02 08:30:00"));
        // MDT written for a winter date still means -06:00.
        let w = z.parse("2014-01-01 00:00:00 MDT").unwrap();
        assert_eq!(w.as_micros() / 1_000_000, at("2014-01-01 06:00:00"));
        // The IANA name alone cannot settle the repeated hour.
        let err = z.parse("2014-11-02 01:30:00 America/Edmonton").unwrap_err();
        assert!(matches!(err, TimeError::Local { .. }), "{err}");
        // Nor the skipped one.
        assert!(z.parse("2014-03-09 02:30:00 America/Edmonton").is_err());
    }

    #[test]
    fn ambiguous_ist_names_candidates() {
        let z = Zones::utc()
            .with_region("Asia/Kolkata")
            .unwrap()
            .with_region("Europe/Dublin")
            .unwrap();
        let err = z.parse("2020-07-01 12:00:00 IST").unwrap_err().to_string();
        assert!(err.contains("ambiguous"), "{err}");
        assert!(err.contains("Asia/Kolkata (+05:30)"), "{err}");
        assert!(err.contains("Europe/Dublin (+01:00)"), "{err}");
        let err = z.parse("2020-11-01 12:00:00 IST").unwrap_err().to_string();
        assert!(err.contains("Europe/Dublin (+01:00)"), "{err}");
        let only_india = Zones::utc().with_region("Asia/Kolkata").unwrap();
        let t = only_india.parse("2020-07-01 12:00:00 IST").unwrap();
        assert_eq!(t.as_micros() / 1_000_000, at("2020-07-01 06:30:00"));
    }

    #[test]
    fn europe_region_knows_cest() {
        let z = Zones::utc().with_region("Europe").unwrap();
        let t = z.parse("2021-06-01 12:00:00.25 CEST").unwrap();
        assert_eq!(
            t.as_micros(),
            (at("2021-06-01 10:00:00") * 1_000_000) + 250_000
        );
        assert!(z.abbreviations().contains(&"EEST"));
    }

    #[test]
    fn unknown_zone_and_region_errors() {
        let err = Zones::utc().parse("2021-06-01 12:00:00 QQQ").unwrap_err();
        assert!(err.to_string().contains("\"QQQ\""), "{err}");
        assert!(Zones::utc().with_region("Nowhere").is_err());
        assert!(Zones::utc().parse("2021-06-01 12:00:00QQQ").is_err());
        assert!(Zones::zone("Mars/Olympus").is_err());
        assert!(Zones::zone("+05:30").is_ok());
    }

    #[test]
    fn legacy_zone_names_read_as_abbreviations() {
        assert_eq!(at("2021-07-01 12:00:00 CET"), at("2021-07-01 11:00:00"));
        assert!(
            Zones::utc().parse("2021-07-01 12:00:00 CEST").is_err(),
            "needs a region"
        );
        assert_eq!(at("2021-07-01 12:00:00 EST"), at("2021-07-01 17:00:00"));
    }

    #[test]
    fn numeric_offsets_and_z() {
        assert_eq!(at("2021-06-01 12:00:00Z"), at("2021-06-01 12:00:00"));
        assert_eq!(at("2021-06-01 17:30:00 +05:30"), at("2021-06-01 12:00:00"));
        assert_eq!(at("2021-06-01 05:00:00-0700"), at("2021-06-01 12:00:00"));
    }
}
