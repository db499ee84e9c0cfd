"""The extension is stable-ABI (abi3) for CPython 3.9 and later: abi3audit reads the symbols
of the built wheel and of the installed module and finds none newer than 3.9's limited API.
(scripts/test-all also runs the tests on CPython 3.9 when one is installed.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cpppo_rs._native

ROOT = Path(__file__).resolve().parents[3]
ABI3AUDIT = Path(sys.executable).with_name("abi3audit")


def audit(*args):
    """abi3audit's JSON report: {spec: {kind, wheel: [...] | object: {...}}}."""
    assert ABI3AUDIT.exists(), "abi3audit is not installed in this venv (scripts/setup does)"
    done = subprocess.run([str(ABI3AUDIT), "--strict", "--report", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["specs"]


def check(result):
    assert result["is_abi3"] is True
    assert result["baseline"] == "3.9"
    assert result["is_abi3_baseline_compatible"] is True
    assert tuple(map(int, result["computed"].split("."))) <= (3, 9)
    assert result["non_abi3_symbols"] == []


def test_the_installed_extension_uses_only_the_3_9_limited_api():
    so = Path(cpppo_rs._native.__file__)
    assert so.name.endswith(".abi3.so")
    spec, = audit("--assume-minimum-abi3", "3.9", so).values()
    check(spec["object"]["result"])


def test_the_built_wheel_is_tagged_and_audited_as_abi3_for_cp39():
    out = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "python-wheels"
    wheels = sorted(out.glob("cpppo_rs-*.whl"))
    if not wheels:
        pytest.skip(f"no wheel in {out} (scripts/python-wheel builds one)")
    wheel = wheels[-1]
    assert "-cp39-abi3-" in wheel.name
    spec, = audit(wheel).values()
    extensions = spec["wheel"]
    assert [e["name"] for e in extensions] == ["_native.abi3.so"]
    check(extensions[0]["result"])
