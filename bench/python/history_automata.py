"""cpppo_rs.history and cpppo_rs.automata from Python vs cpppo 5.2.5's, in one run.

Usage: <venv>/bin/python bench/python/history_automata.py [SECONDS]
(the venv has the cpppo-rs wheel and cpppo 5.2.5). Prints rates and ratios; asserts nothing.
"""
import gzip
import os
import sys
import tempfile
import time
import warnings

warnings.simplefilter("ignore")

import cpppo  # noqa: E402
from cpppo.history import parse_record, timestamp as cpppo_ts  # noqa: E402

from cpppo_rs import automata  # noqa: E402
from cpppo_rs.history import reader, timestamp  # noqa: E402

SECS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def rate(fn, unit=1):
    """Calls fn() for SECS; returns units per second."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECS:
        fn()
        n += unit
    return n / (time.perf_counter() - start)


def row(what, ours, theirs, unit):
    print(f"{what:34s}: ours {ours:12,.0f} {unit}/s  cpppo {theirs:12,.0f} {unit}/s  ratio {ours / theirs:6.1f}x")


row("timestamp parse (UTC text)", rate(lambda: timestamp("2014-04-01 12:34:56.789")),
    rate(lambda: cpppo_ts("2014-04-01 12:34:56.789")), "parses")
row("timestamp parse (IANA zone)", rate(lambda: timestamp("2014-11-01 01:02:03.456 America/Edmonton")),
    rate(lambda: cpppo_ts("2014-11-01 01:02:03.456 America/Edmonton")), "parses")
t, c = timestamp(1414915323.125), cpppo_ts(1414915323.125)
row("timestamp render (UTC, ms)", rate(lambda: t.render()), rate(lambda: c.render()), "renders")
row("timestamp render (zone abbrev)", rate(lambda: t.render(tzinfo="America/Edmonton")),
    rate(lambda: c.render(tzinfo="America/Edmonton")), "renders")

N = 100_000
with tempfile.TemporaryDirectory() as tmp:
    lines = "".join("%s\t%d\t{\"40001\": %d}\n" % (timestamp(1700000000 + i / 10), 1, i) for i in range(N))
    plain, packed = os.path.join(tmp, "h.hst"), os.path.join(tmp, "g.hst.gz")
    open(plain, "w").write(lines)
    open(packed, "wb").write(gzip.compress(lines.encode()))

    def cpppo_read(path):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as fd:
            n = -1
            try:
                while True:
                    n, _ = parse_record(fd, n)
            except (StopIteration, RuntimeError):
                pass

    for name, path in (("history read, plain", plain), ("history read, gzip", packed)):
        row(name, rate(lambda: sum(1 for _ in reader([path])), N), rate(lambda: cpppo_read(path), N), "records")

text = ", ".join(["abbbb"] * 2000)  # all of it is one sentence
ours_re = automata.regex(initial="(ab+)((,[ ]*)(ab+))*", context="r")
their_re = cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", context="r")


def run_ours():
    for _ in ours_re.run(source=automata.peekable(text), data=automata.dotdict()):
        pass


def run_theirs():
    with their_re:
        for _ in their_re.run(source=cpppo.peekable(text), data=cpppo.dotdict()):
            pass


row("regex DFA run, symbols", rate(run_ours, len(text)), rate(run_theirs, len(text)), "symbols")
data = automata.dotdict()
for _ in ours_re.run(source=text, data=data):
    pass
assert data["r.input"] == text  # the whole text was consumed (not a short run)
