"""``import cpppo_rs as cpppo`` gives what the seed's scripts use at the top level: ``log_cfg``
(cpppo's ``logging.basicConfig`` keywords), ``timer``, and the logging levels cpppo adds
(``logging.detail(...)`` and friends, attributed to the caller)."""
import importlib.util
import json
import logging
import subprocess
import sys

import pytest

import cpppo_rs as cpppo


def test_log_cfg_configures_logging_as_cpppo_does():
    script = ("import logging, cpppo_rs as cpppo\n"
              "logging.basicConfig(**cpppo.log_cfg)\n"
              "def seed(): logging.warning('hello %s', 'there'); logging.detail('hidden')\n"
              "seed()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()  # WARNING by default: DETAIL is below it
    assert line.split()[2:] == ["MainThread", "root", "WARNING", "seed", "hello", "there"]


@pytest.mark.skipif(importlib.util.find_spec("cpppo") is None, reason="cpppo 5.2.5 not here")
def test_log_cfg_and_levels_are_cpppos():
    # In a child: importing cpppo here would replace our logging.detail with its own.
    script = ("import json, logging, cpppo\n"
              "print(json.dumps([cpppo.log_cfg, logging.NORMAL, logging.DETAIL, logging.TRACE]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [cpppo.log_cfg, logging.NORMAL, logging.DETAIL,
                                       logging.TRACE]


def test_detail_normal_trace_log_at_their_levels_from_the_caller(caplog):
    caplog.set_level(logging.TRACE)
    logging.detail("a %d", 1)
    logging.getLogger("x").normal("b")
    logging.getLogger("x").trace("c")
    assert [(r.levelname, r.getMessage(), r.funcName) for r in caplog.records] == [
        ("DETAIL", "a 1", "test_detail_normal_trace_log_at_their_levels_from_the_caller"),
        ("NORMAL", "b", "test_detail_normal_trace_log_at_their_levels_from_the_caller"),
        ("TRACE", "c", "test_detail_normal_trace_log_at_their_levels_from_the_caller")]


def test_timer_counts_seconds():
    start = cpppo.timer()
    assert 0 <= cpppo.timer() - start < 5
