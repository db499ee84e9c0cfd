//! Timestamps at known instants across DST changes in several zones.

use cpppo_history::{TimeError, Timestamp, Zones};
use jiff::tz::TimeZone;

fn utc(text: &str) -> Timestamp {
    Zones::utc().parse(text).unwrap()
}

#[test]
fn known_instants_across_dst_changes() {
    // (region, local text, the same instant in UTC)
    let cases = [
        (
            "Canada",
            "2014-04-01 04:11:12.345 MDT",
            "2014-04-01 10:11:12.345",
        ),
        ("Canada", "2014-03-09 01:59:59 MST", "2014-03-09 08:59:59"),
        ("Canada", "2014-03-09 03:00:00 MDT", "2014-03-09 09:00:00"),
        (
            "America/New_York",
            "2021-11-07 01:30:00 EDT",
            "2021-11-07 05:30:00",
        ),
        (
            "America/New_York",
            "2021-11-07 01:30:00 EST",
            "2021-11-07 06:30:00",
        ),
        (
            "Europe",
            "2021-03-28 01:59:59.999 CET",
            "2021-03-28 00:59:59.999",
        ),
        ("Europe", "2021-03-28 03:00:00 CEST", "2021-03-28 01:00:00"),
        ("Europe", "2021-10-31 02:30:00 CEST", "2021-10-31 00:30:00"),
        ("Europe", "2021-10-31 02:30:00 CET", "2021-10-31 01:30:00"),
        ("Europe", "2021-07-01 12:00:00 BST", "2021-07-01 11:00:00"),
        (
            "Australia",
            "2021-04-04 02:30:00 AEDT",
            "2021-04-03 15:30:00",
        ),
        (
            "Australia",
            "2021-04-04 02:30:00 AEST",
            "2021-04-03 16:30:00",
        ),
        (
            "Australia",
            "2021-01-01 12:00:00 ACDT",
            "2021-01-01 01:30:00",
        ),
    ];
    for (region, local, expect) in cases {
        let zones = Zones::utc().with_region(region).unwrap();
        let got = zones
            .parse(local)
            .unwrap_or_else(|e| panic!("{region} {local}: {e}"));
        assert_eq!(got, utc(expect), "{region} {local}");
    }
}

#[test]
fn rendering_uses_the_abbreviation_in_force() {
    let edmonton = TimeZone::get("America/Edmonton").unwrap();
    assert_eq!(
        utc("2014-11-02 07:30:00").render_in(&edmonton, 3),
        "2014-11-02 01:30:00.000 MDT"
    );
    assert_eq!(
        utc("2014-11-02 08:30:00").render_in(&edmonton, 3),
        "2014-11-02 01:30:00.000 MST"
    );
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    assert_eq!(
        utc("2021-10-31 00:30:00.1234").render_in(&berlin, 4),
        "2021-10-31 02:30:00.1234 CEST"
    );
    assert_eq!(
        utc("2021-10-31 01:30:00").render_in(&berlin, 0),
        "2021-10-31 02:30:00 CET"
    );
}

#[test]
fn ambiguous_abbreviations_are_errors_naming_candidates() {
    // IST: India (+05:30), Ireland (+01:00) and Israel (+02:00).
    let zones = Zones::utc()
        .with_region("Asia/Kolkata")
        .and_then(|z| z.with_region("Europe"))
        .and_then(|z| z.with_region("Asia/Jerusalem"))
        .unwrap();
    let err = zones.parse("2021-01-15 12:00:00 IST").unwrap_err();
    let TimeError::Ambiguous { abbrev, candidates } = &err else {
        panic!("{err}")
    };
    assert_eq!(abbrev, "IST");
    for c in [
        "Asia/Kolkata (+05:30)",
        "Asia/Jerusalem (+02:00)",
        "Europe/Dublin (+01:00)",
    ] {
        assert!(candidates.contains(c), "{err}");
    }
    let err = zones
        .parse("2021-07-15 12:00:00 IST")
        .unwrap_err()
        .to_string();
    assert!(err.contains("Europe/Dublin (+01:00)"), "{err}");

    // One zone whose abbreviation changed offset over the years is read by date.
    let moscow = Zones::utc().with_region("Europe/Moscow").unwrap();
    let msk = |t: &str| moscow.parse(t).unwrap();
    assert_eq!(msk("2012-07-01 12:00:00 MSK"), utc("2012-07-01 08:00:00"));
    assert_eq!(msk("2016-07-01 12:00:00 MSK"), utc("2016-07-01 09:00:00"));
    assert_eq!(msk("2005-07-01 12:00:00 MSK"), utc("2005-07-01 09:00:00"));

    // Moscow's 2014 fall-back repeated 01:xx with MSK on both sides: truly ambiguous.
    let err = moscow
        .parse("2014-10-26 01:30:00 MSK")
        .unwrap_err()
        .to_string();
    assert!(err.contains("+03:00") && err.contains("+04:00"), "{err}");
    assert_eq!(
        moscow.parse("2014-10-26 01:30:00 +03:00").unwrap(),
        utc("2014-10-25 22:30:00")
    );
}

#[test]
fn default_zone_and_iana_names() {
    let edmonton = TimeZone::get("America/Edmonton").unwrap();
    let zones = Zones::new(edmonton);
    assert_eq!(
        zones.parse("2014-04-01 04:11:12.345").unwrap(),
        utc("2014-04-01 10:11:12.345")
    );
    assert_eq!(
        zones.parse("2014-04-01 12:11:12.345 Europe/Paris").unwrap(),
        utc("2014-04-01 10:11:12.345")
    );
    let err = zones.parse("2014-03-09 02:30:00").unwrap_err();
    assert!(err.to_string().contains("America/Edmonton"), "{err}");
    assert!(
        zones.parse("2014-04-01 04:11:12 MDT").is_err(),
        "no region: MDT unknown"
    );
}
