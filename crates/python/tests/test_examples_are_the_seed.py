"""The ported examples (tests/examples) are the seed's scripts, as cpppo 5.2.5 ships them, with
only import lines changed to cpppo_rs: a migrating user changes imports and nothing else."""
import difflib
import importlib.util
import re
from pathlib import Path

import pytest

import seedrun

IMPORT = re.compile(r"^\s*(import|from)\s+\S+")
EXAMPLES = sorted(p.name for p in seedrun.EXAMPLES.glob("*.py"))


def seed(name):
    """The seed's text of example `name` (cpppo 5.2.5's cpppo/server/enip/NAME)."""
    spec = importlib.util.find_spec("cpppo")
    if spec is None or spec.origin is None:
        pytest.skip("cpppo 5.2.5 is not installed here (the seed's text)")
    return (Path(spec.origin).parent / "server" / "enip" / name).read_text().splitlines()


def changed_lines(ours, theirs):
    """(theirs, ours) line lists of each block that differs."""
    matcher = difflib.SequenceMatcher(a=theirs, b=ours, autojunk=False)
    return [(theirs[i1:i2], ours[j1:j2])
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def test_every_seed_example_is_ported():
    assert EXAMPLES == ["io_example.py", "poll_example.py", "powerflex_motor_velocity.py",
                        "thruput.py"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_only_import_lines_differ_from_the_seed(name):
    ours = (seedrun.EXAMPLES / name).read_text().splitlines()
    blocks = changed_lines(ours, seed(name))
    assert blocks, "no import was changed to cpppo_rs"
    for theirs, mine in blocks:
        assert len(theirs) == len(mine), (theirs, mine)
        for old, new in zip(theirs, mine):
            assert IMPORT.match(old) and IMPORT.match(new), (old, new)
            assert "cpppo" in old and "cpppo_rs" in new, (old, new)


def test_the_check_catches_a_changed_argument():
    theirs = ["import cpppo", "cycle = 1.0"]
    assert changed_lines(["import cpppo_rs as cpppo", "cycle = 0.2"], theirs) == [
        (theirs, ["import cpppo_rs as cpppo", "cycle = 0.2"])]
    assert not IMPORT.match("cycle = 0.2")
