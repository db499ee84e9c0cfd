"""History: cpppo's ``cpppo.history`` on the Rust history crate.

``timestamp`` parses and renders times with zone abbreviations (``2014-04-01 12:34:56.789 MST``),
compares to milliseconds and adds seconds, as cpppo's; ``reader`` reads history files (plain or
compressed, a whole rotation set) as one time-ordered stream and ``player`` plays them back at a
speed. Migrating::

    from cpppo.history import timestamp       # cpppo
    from cpppo_rs.history import timestamp    # cpppo-rs
"""

import collections
import datetime
import json
import logging
import os
import re

from . import _native
from .errors import HistoryError, TimestampError

__all__ = ["timestamp", "reader", "player", "Record", "HistoryError", "TimestampError"]

log = logging.getLogger(__name__)


def _local_zone():
    """The host's zone: $TZ, /etc/timezone, /etc/localtime's target, else UTC (as cpppo)."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        with open("/etc/timezone") as f:
            name = f.read().strip()
        if name:
            return name
    except OSError:
        pass
    target = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in target:
        return target.split("zoneinfo/", 1)[1]
    return "UTC"


def _zone_name(tzinfo):
    """A zone given as a name, or a tzinfo (zoneinfo's ``key``, pytz's ``zone``)."""
    if tzinfo is None or isinstance(tzinfo, str):
        return tzinfo
    for attr in ("key", "zone"):
        name = getattr(tzinfo, attr, None)
        if isinstance(name, str):
            return name
    if tzinfo is datetime.timezone.utc:
        return "UTC"
    raise TimestampError("unsupported tzinfo %r: give a zone name (eg. 'America/Edmonton')" % (tzinfo,))


_ZONE_TAB = "/usr/share/zoneinfo/zone.tab"


def _country_zones(code):
    """The zones of an ISO 3166 country code, from the tz database's zone.tab."""
    try:
        with open(_ZONE_TAB) as f:
            rows = [line.split("\t") for line in f if line.startswith(code + "\t")]
    except OSError:
        return []
    return [row[2].strip() for row in rows if len(row) > 2]


class timestamp:
    """A UNIX time in microseconds; rendered and compared to milliseconds by default.

    ``timestamp()`` is now; ``timestamp(1396355696.789)`` from seconds; ``timestamp("2014-04-01
    12:34:56.789 MST")`` parses (no zone: UTC; abbreviations once ``support_abbreviations`` added
    them); ``timestamp(other)`` copies; ``timestamp(datetime)`` converts an aware datetime.
    """

    UTC = "UTC"
    LOC = _local_zone()
    _precision = 3

    def __init__(self, value=None):
        if value is None:
            self._us = _native.ts_now()
        elif isinstance(value, timestamp):
            self._us = value._us
        elif isinstance(value, bool):
            raise TimestampError("invalid timestamp of bool: %r" % (value,))
        elif isinstance(value, (int, float)):
            self.value = value
        elif isinstance(value, str):
            self._us = _native.ts_parse(value)
        elif isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            self._us = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
        else:
            raise TimestampError("invalid timestamp of %s: %r" % (type(value).__name__, value))

    @classmethod
    def _of(cls, us):
        t = cls.__new__(cls)
        t._us = us
        return t

    @classmethod
    def support_abbreviations(cls, region, **_ignored):
        """Make the abbreviations of ``region``'s zones parseable: an IANA name or prefix
        (``'America/Edmonton'``, ``'Canada'``, ``'Europe'``) or, as cpppo's, a country code
        (``'CA'``: its zones in the tz database's zone.tab). Returns every abbreviation now
        known."""
        if re.fullmatch(r"[A-Z]{2}", region):
            zones = _country_zones(region)
            if not zones:
                raise TimestampError("country code %r names no zone in %s" % (region, _ZONE_TAB))
            known = []
            for zone in zones:
                known = _native.support_abbreviations(zone)
            return known
        return _native.support_abbreviations(region)

    @property
    def value(self):
        """Seconds since the UNIX epoch (a float)."""
        return self._us / 1e6

    @value.setter
    def value(self, seconds):
        try:
            us = round(float(seconds) * 1e6)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TimestampError("invalid timestamp value %r: %s" % (seconds, exc)) from None
        if not -62135596800000000 <= us <= 253402300799999999:
            raise TimestampError("timestamp %r is outside years 0001..9999" % (seconds,))
        self._us = us

    def render(self, tzinfo=None, ms=True, tzdetail=None):
        """``YYYY-mm-dd HH:MM:SS[.fff]`` in UTC, or in ``tzinfo`` (a zone name or tzinfo) with
        its abbreviation; ``ms``: True (3 digits), False (none) or 0..6 digits. ``tzdetail``:
        True appends the zone's full name, False the numeric offset (``-0600``)."""
        digits = self._precision if ms is True else int(ms) if ms else 0
        if not 0 <= digits <= 6:
            raise TimestampError("sub-second digits must be 0 to 6, not %d" % digits)
        zone = _zone_name(tzinfo)
        if zone is None and tzdetail is None:
            return _native.ts_render(self._us, None, digits)
        text = _native.ts_render(self._us, zone or "UTC", digits)
        if tzdetail is None:
            return text
        civil = text.rsplit(" ", 1)[0]
        if tzdetail:
            return civil + " " + (zone or "UTC")
        import zoneinfo

        tz = zoneinfo.ZoneInfo(zone) if zone and zone not in ("UTC", "Z", "GMT") else datetime.timezone.utc
        return civil + datetime.datetime.fromtimestamp(self._us / 1e6, tz).strftime("%z")

    def __float__(self):
        return self.value

    def __int__(self):
        return int(self.value)

    def __str__(self):
        return self.render(ms=True)

    def __repr__(self):
        return "<%s =~= %.6f>" % (self, self.value)

    @property
    def utc(self):
        """The UTC rendering; assign a time string (default zone UTC) to change it."""
        return str(self)

    @utc.setter
    def utc(self, text):
        self._us = _native.ts_parse(text)

    @property
    def local(self):
        """The rendering in ``timestamp.LOC`` (seconds, with abbreviation); assign a time string
        (default zone LOC) to change it."""
        return self.render(tzinfo=self.LOC, ms=False)

    @local.setter
    def local(self, text):
        self._us = _native.ts_parse(text, self.LOC)

    # Comparisons: equal within 10**-_precision seconds (cpppo's _epsilon).
    def _eps(self):
        return 10 ** (6 - self._precision)

    def _other(self, rhs):
        if not isinstance(rhs, timestamp):
            raise TypeError("a timestamp compares with a timestamp, not %s" % type(rhs).__name__)
        return rhs._us

    def __lt__(self, rhs):
        return self._us + self._eps() < self._other(rhs)

    def __gt__(self, rhs):
        return self._us - self._eps() > self._other(rhs)

    def __le__(self, rhs):
        return not self.__gt__(rhs)

    def __ge__(self, rhs):
        return not self.__lt__(rhs)

    def __eq__(self, rhs):
        if not isinstance(rhs, timestamp):
            return NotImplemented
        return not (self < rhs or self > rhs)

    def __ne__(self, rhs):
        if not isinstance(rhs, timestamp):
            return NotImplemented
        return self < rhs or self > rhs

    __hash__ = None

    # Arithmetic in seconds; timestamp - timestamp is seconds.
    def __add__(self, seconds):
        return timestamp(self.value + seconds) if seconds else timestamp(self)

    def __iadd__(self, seconds):
        if seconds:
            self.value = self.value + seconds
        return self

    def __sub__(self, rhs):
        if isinstance(rhs, timestamp):
            return (self._us - rhs._us) / 1e6
        return timestamp(self.value - rhs) if rhs else timestamp(self)

    def __isub__(self, seconds):
        if seconds:
            self.value = self.value - seconds
        return self


Record = collections.namedtuple("Record", "file line time serial payload")
Record.__doc__ = """One history record: where it was (file, 1-based line), its ``timestamp``, its
serial (decoded JSON) and its payload (the JSON text; ``json.loads`` it, or ``.value()``)."""


def _record_value(self):
    """The payload decoded (``json.loads``)."""
    return json.loads(self.payload)


Record.value = _record_value

_ROTATED = re.compile(r"(\.\d+)?(\.(gz|bz2|xz))?$")


def _files(path):
    """A list of files; one path names its rotation set (``x.hst``, ``x.hst.0``, ``x.hst.1.gz``)."""
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if os.path.isdir(path):
            raise HistoryError("%s: is a directory, not a history file" % path)
        folder, name = os.path.split(path)
        try:
            names = os.listdir(folder or ".")
        except OSError as exc:
            raise HistoryError("%s: %s" % (folder or ".", exc.strerror)) from None
        found = [os.path.join(folder, n) for n in names
                 if n.startswith(name) and _ROTATED.fullmatch(n[len(name):])]
        if not found:
            raise HistoryError("%s: no such history file" % path)
        return found
    files = [os.fspath(p) for p in path]
    for p in files:
        if os.path.isdir(p):
            raise HistoryError("%s: is a directory, not a history file" % p)
    return files


def _seconds(t):
    return None if t is None else timestamp(t)._us


class reader:
    """Iterates the records of history files in time order (``Record`` tuples).

    ``path`` is one file (its whole rotation set is read: ``x.hst``, ``x.hst.0``, ``x.hst.1.gz``
    ...) or a list of files; ``.gz``, ``.bz2`` and ``.xz`` are decompressed. ``since``/``until``
    (anything ``timestamp`` takes) bound the records. A line that is not a record is logged and
    skipped (``errors`` keeps the messages) or, with ``strict=True``, raises ``HistoryError``.
    """

    _speed = None

    def __init__(self, path, since=None, until=None, strict=False, start=None):
        self.strict = strict
        self.errors = []
        self._it = _native.Reader(_files(path), _seconds(since), _seconds(until),
                                  self._speed, _seconds(start))

    @property
    def files(self):
        """The files, in the order they are read."""
        return self._it.files()

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            file, line, us, serial, payload = next(self._it)
            if us is not None:
                return Record(file, line, timestamp._of(us), json.loads(serial), payload)
            if self.strict:
                raise HistoryError(payload)
            log.warning("history: %s", payload)
            self.errors.append(payload)


class player(reader):
    """A ``reader`` that yields each record no sooner than ``speed`` × real time allows: the
    historical time ``start`` (default: the first record's) plays when iteration starts. Waits
    release the GIL and Ctrl-C interrupts them."""

    def __init__(self, path, speed=1.0, start=None, since=None, until=None, strict=False):
        if isinstance(speed, bool) or not isinstance(speed, (int, float)):
            raise HistoryError("invalid speed %r: must be a number greater than 0" % (speed,))
        self._speed = float(speed)
        super().__init__(path, since=since, until=until, strict=strict, start=start)
