"""History throughput of the Python cpppo 5.2.5 (cpppo.history.files): the same records as
bench/history/src/main.rs, written with its `logger` (plain; gzip through `opener`'s GzipFile
handed to the logger) and read with `opener` + `parse_record` + `json.loads` of the payload.

usage: cpppo_history.py DIR COUNT   -> lines `NAME COUNT SECS RATE`
"""
import gzip
import json
import logging
import os
import sys
import time
import warnings

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
from cpppo.history.files import logger, opener, parse_record  # noqa: E402


def records(count):
    for i in range(count):
        # (1_700_000_000_000 + i) ms as the nearest double: renders to exactly that millisecond.
        yield (1_700_000_000_000 + i) / 1000.0, ["SCADA", [i % 1000, i % 1000 + 3]], {"write": [i, 2, 3, 4]}


def report(name, count, started):
    secs = time.perf_counter() - started
    print(f"{name} {count} {secs:.3f} {count / secs:.0f}", flush=True)


def write(path, count, bufsize=logger.DFLT_BUF, gz_level=None):
    if os.path.exists(path):
        os.remove(path)
    started = time.perf_counter()
    with logger(path, bufsize=bufsize) as log:
        if gz_level is not None:
            log.f = gzip.GzipFile(path, mode="wb", compresslevel=gz_level)
        for now, serial, data in records(count):
            log.write(data, now=now, serial=serial)
    return started


def read(path):
    started = time.perf_counter()
    n = 0
    with opener(path) as fd:
        i = -1
        while True:
            try:
                i, (ts, sn, js) = parse_record(fd, n=i)
            except (StopIteration, RuntimeError):
                break
            json.loads(js)
            n += 1
    report(f"read-{'gzip' if path.endswith('.gz') else 'plain'}", n, started)


def main():
    d, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(d, exist_ok=True)
    plain = os.path.join(d, "python.hst")
    report("write-plain-buffered", count, write(plain, count))
    line = os.path.join(d, "python-line.hst")
    report("write-plain-flush", count, write(line, count, bufsize=logger.LINE_BUF))
    for level in (1, 6):
        gz = os.path.join(d, f"python-{level}.hst.gz")
        report(f"write-gzip-{level}", count, write(gz, count, gz_level=level))
    read(plain)
    read(os.path.join(d, "python-6.hst.gz"))


if __name__ == "__main__":
    main()
