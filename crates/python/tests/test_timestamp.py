"""cpppo_rs.history.timestamp: cpppo's timestamp (parse, render, arithmetic, compare), checked
against cpppo 5.2.5's where cpppo runs here (its abbreviation table needs classic pytz)."""
import subprocess
import sys

import pytest

from cpppo_rs.errors import TimestampError
from cpppo_rs.history import timestamp

# cpppo's render() docstring: values rounded to milliseconds, including into the next second.
ROUNDING = [
    (1414915323.122, "2014-11-02 08:02:03.122"),
    (1414915323.123, "2014-11-02 08:02:03.123"),
    (1414915323.125, "2014-11-02 08:02:03.125"),
    (1414915323.127, "2014-11-02 08:02:03.127"),
    (1399326141.999836, "2014-05-05 21:42:22.000"),
]


@pytest.mark.parametrize("value,text", ROUNDING)
def test_renders_as_cpppo_rounding_to_milliseconds(value, text):
    assert str(timestamp(value)) == text


def test_renders_and_parses_as_cpppo_5_2_5():
    """The same values through cpppo's own timestamp (a subprocess: cpppo imports pytz)."""
    texts = ["2014-04-01 12:34:56.789", "1999-12-31 23:59:59.9995", "2014-11-01 01:02:03.456 America/Edmonton"]
    values = [v for v, _ in ROUNDING]
    script = ("import warnings; warnings.simplefilter('ignore')\n"
              "from cpppo.history import timestamp\n"
              f"for t in {texts!r}: print(repr(timestamp(t).value))\n"
              f"for v in {values!r}: print(str(timestamp(v)))\n"
              "print(timestamp(1414825323.456).render(tzinfo='America/Edmonton'))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split("\n")
    ours = [repr(timestamp(t).value) for t in texts] + [str(timestamp(v)) for v in values]
    ours.append(timestamp(1414825323.456).render(tzinfo="America/Edmonton"))
    assert out[:len(ours)] == ours


def test_zone_abbreviations_settle_the_fall_back_hour():
    known = timestamp.support_abbreviations("America/Edmonton")
    assert {"MST", "MDT"} <= set(known)
    # 01:02 on Nov 2 2014 happened twice in Edmonton; the abbreviation says which.
    after = timestamp("2014-11-02 01:02:03.123 MST")
    before = timestamp("2014-11-02 01:02:03.456 MDT")
    assert after.value == 1414915323.123 and before.value == 1414911723.456
    assert after - before == pytest.approx(3599.667)
    assert after.render(tzinfo="America/Edmonton") == "2014-11-02 01:02:03.123 MST"
    assert before.render(tzinfo="America/Edmonton", ms=False) == "2014-11-02 01:02:03 MDT"
    assert before.render(tzinfo="America/Edmonton", tzdetail=True) == \
        "2014-11-02 01:02:03.456 America/Edmonton"
    assert before.render(tzinfo="America/Edmonton", tzdetail=False) == "2014-11-02 01:02:03.456-0600"
    assert timestamp("2014-04-01 12:34:56.789 MST").utc == "2014-04-01 19:34:56.789"


def test_a_country_code_adds_its_zones_abbreviations_as_cpppos():
    known = timestamp.support_abbreviations("CA")
    assert {"MST", "MDT", "PST", "NST", "AST"} <= set(known)
    assert timestamp("2014-07-01 12:00:00 NDT").utc == "2014-07-01 14:30:00.000"
    with pytest.raises(TimestampError, match="'QQ'"):
        timestamp.support_abbreviations("QQ")


def test_an_ambiguous_local_time_without_abbreviation_is_refused():
    with pytest.raises(TimestampError, match="does not name one instant"):
        timestamp("2014-11-02 01:30:00 America/Edmonton")


def test_compares_to_milliseconds_and_adds_seconds():
    t = timestamp("2014-04-01 12:34:56.789")
    assert t == timestamp(t.value + 0.0004) and t < timestamp(t.value + 0.0011)
    assert t <= t + 0.0009 and t >= t - 0.0009 and t != t + 0.002
    later = t + 60.5
    assert str(later) == "2014-04-01 12:35:57.289" and later - t == pytest.approx(60.5)
    assert str(later - 0.5) == "2014-04-01 12:35:56.789"
    t += 1
    assert t.utc == "2014-04-01 12:34:57.789"
    t -= 2
    assert int(t) == 1396355695 and float(t) == pytest.approx(1396355695.789)
    assert repr(t) == "<2014-04-01 12:34:55.789 =~= 1396355695.789000>"
    t.utc = "2020-02-29 00:00:00"
    assert t.value == 1582934400.0
    assert timestamp(t) == t and timestamp(t) is not t


def test_the_seeds_poll_line_formats_now():
    """The seed's poll examples print "%s: %3d: %s" % (timestamp(), idx, val)."""
    line = "%s: %3d: %s" % (timestamp(), 1, [0, 1])
    assert len(line.split(": ")[0]) == len("2014-04-01 12:34:56.789")
    assert abs(timestamp() - timestamp(__import__("time").time())) < 1.0


@pytest.mark.parametrize("bad,named", [("2014-13-01 00:00:00", "2014-13-01"), ("yesterday", "yesterday"),
                                       ("2014-04-01 12:34:56 NOSUCH", "NOSUCH"),
                                       ("2014-04-01 12:34:56.789.1", "56.789.1"), ("", '""')])
def test_bad_time_text_raises_timestamp_error_naming_it(bad, named):
    with pytest.raises(TimestampError) as e:
        timestamp(bad)
    assert isinstance(e.value, ValueError)
    assert named in str(e.value)


def test_bad_values_and_zones_raise_timestamp_error():
    with pytest.raises(TimestampError):
        timestamp([1, 2])
    with pytest.raises(TimestampError, match="outside years"):
        timestamp(1e300)
    with pytest.raises(TimestampError):
        timestamp(0).render(tzinfo="Mars/Olympus_Mons")
    for ms in (-1, 7):
        with pytest.raises(TimestampError, match="0 to 6"):
            timestamp(0).render(ms=ms)
    with pytest.raises(TimestampError):
        timestamp(float("nan"))
    with pytest.raises(TimestampError, match="matches no time zone"):
        timestamp.support_abbreviations("Atlantis")
    with pytest.raises(TypeError):
        timestamp(0) < 5
