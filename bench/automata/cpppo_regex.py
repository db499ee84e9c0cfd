"""Throughput of the Python cpppo regex machine on the same input as our throughput example.

Prints one line: `python cpppo regex machine: <MB/s> MB/s (<bytes> bytes, terminal=<bool>)`.
"""
import sys
import time

import cpppo

PATTERN = "(ab+)((,[ ]*)(ab+))*"


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    text = "abbbb"
    while len(text) < size:
        text += ", abbbbbbb"
    machine = cpppo.regex(name="r", initial=PATTERN, terminal=True)
    data = cpppo.dotdict()
    source = cpppo.peekable(text)
    start = time.perf_counter()
    with machine:
        for _m, _s in machine.run(source=source, data=data):
            pass
    elapsed = time.perf_counter() - start
    mbs = len(text) / 1e6 / elapsed
    print(f"python cpppo regex machine: {mbs:10.3f} MB/s ({len(text)} bytes, terminal={machine.terminal})")


if __name__ == "__main__":
    main()
