"""cpppo_rs.automata: the seed README's DFA examples (basic, composite, regex, greedy/terminal)
with only the import changed, on the Rust machines, checked against cpppo 5.2.5's run."""
import contextlib
import io
import re
import subprocess
import sys

import pytest

from cpppo_rs.errors import AutomataError

# The seed README's examples (4.1, 4.2, 4.3 and "Running State Machines"); only the first line
# differs from cpppo's ("import cpppo").
SEED = '''
from cpppo_rs import automata as cpppo

# Basic DFA that accepts ab+
E			= cpppo.state( "E" )
A			= cpppo.state_input( "A" )
B			= cpppo.state_input( "B", terminal=True )
E['a']		= A
A['b']		= B
B['b']		= B

BASIC		= cpppo.dfa( 'ab+', initial=E, context='basic' )

# Composite state machine accepting ab+, ignoring ,[ ]* separators
ABP			= cpppo.dfa( "ab+", initial=E, terminal=True )
SEP			= cpppo.state_drop( "SEP" )
ABP[',']		= SEP
SEP[' ']		= SEP
SEP[None]		= ABP

CSV			= cpppo.dfa( 'CSV', initial=ABP, context='csv' )

# A regular expression; the default dfa name is the regular expression itself.
REGEX		= cpppo.regex( initial='(ab+)((,[ ]*)(ab+))*', context='regex' )

data			= cpppo.dotdict()
for machine in [ BASIC, CSV, REGEX ]:
    path		= machine.context() + '.input' # default for state_input data
    source		= cpppo.peekable( str( 'abbbb, ab' ))
    with machine:
        for i,(m,s) in enumerate( machine.run( source=source, data=data )):
            print( "%s #%3d; next byte %3d: %-10.10r: %r" % (
                   m.name_centered(), i, source.sent, source.peek(), data.get(path) ))
    print( "Accepted: %r; remaining: %r\\n" % ( data.get(path), ''.join( source )))
print( "Final: %r" % ( data ))
'''


def run_ours():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(SEED, "seed_dfa", "exec"), {})
    return out.getvalue()


def summary(text):
    """The Accepted/Final lines, with cpppo's array('u', 'x') shown as the string 'x'."""
    text = re.sub(r"array\('u', ('[^']*')\)", r"\1", text)
    return [l for l in text.splitlines() if l.startswith(("Accepted", "Final"))]


def test_the_seeds_dfa_readme_runs_with_only_the_import_changed():
    assert summary(run_ours()) == [
        "Accepted: 'abbbb'; remaining: ', ab'",
        "Accepted: 'abbbbab'; remaining: ''",
        "Accepted: 'abbbb, ab'; remaining: ''",
        "Final: {'basic': {'input': 'abbbb'}, 'csv': {'input': 'abbbbab'}, 'regex': {'input': 'abbbb, ab'}}",
    ]


def test_the_seeds_dfa_readme_accepts_what_cpppo_5_2_5_accepts():
    theirs = subprocess.run([sys.executable, "-c", SEED.replace(
        "from cpppo_rs import automata as cpppo", "import cpppo")],
        capture_output=True, text=True, timeout=120, check=True).stdout
    ours = run_ours()
    assert summary(ours) == summary(theirs)
    # Each progress line (symbols consumed, next symbol, data so far) is one cpppo printed, in
    # the same order (cpppo reports some extra steps: after the last symbol, entering a
    # sub-machine).
    def progress(text):
        text = re.sub(r"array\('u', ('[^']*')\)", r"\1", text)
        return [l.split(";", 1)[1] for l in text.splitlines() if "next byte" in l]
    theirs_left = iter(progress(theirs))
    assert all(any(line == t for t in theirs_left) for line in progress(ours))


def machines():
    from cpppo_rs import automata as cpppo
    return cpppo


def test_transitions_name_the_machine_and_state():
    cpppo = machines()
    E = cpppo.state("E")
    A = cpppo.state_input("A")
    B = cpppo.state_input("B", terminal=True)
    E['a'], A['b'], B['b'] = A, B, B
    BASIC = cpppo.dfa('ab+', initial=E, context='basic', terminal=True)
    seen = [(m, s) for m, s in BASIC.run(source="abbx", data=cpppo.dotdict())]
    assert [s.name for _, s in seen] == ["E", "A", "B", "B"]
    assert all(m is BASIC for m, _ in seen) and seen[-1][1] is B
    assert BASIC.terminal is True and BASIC.name == "ab+.((B))"


def test_regex_greedy_and_non_greedy():
    cpppo = machines()
    for greedy, accepted, rest in [(True, "abbb", ",ab"), (False, "ab", "bb,ab")]:
        R = cpppo.regex(initial="ab+", context="r", greedy=greedy, terminal=True)
        data, source = cpppo.dotdict(), cpppo.peekable("abbb,ab")
        with R:
            list(R.run(source=source, data=data))
        assert (data["r.input"], "".join(source), R.terminal) == (accepted, rest, True)


def test_regex_terminal_tells_whether_the_sentence_was_accepted():
    cpppo = machines()
    R = cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", context="r", terminal=True)
    data = cpppo.dotdict()
    list(R.run(source="ab, abb", data=data))
    assert R.terminal is True and data.r.input == "ab, abb"
    # Without terminal=True the machine never evaluates terminal, as cpppo's.
    N = cpppo.regex(initial="ab+", context="n")
    list(N.run(source="ab", data=cpppo.dotdict()))
    assert N.terminal is False


def test_unicode_regex_and_predicates():
    cpppo = machines()
    R = cpppo.regex(initial="[αβ]+", context="u")
    data = cpppo.dotdict()
    list(R.run(source="αβα!", data=data))
    assert data["u.input"] == "αβα"
    D = cpppo.state("D")
    digit = cpppo.state_input("digit", terminal=True)
    D[str.isdigit] = digit
    digit[str.isdigit] = digit
    NUM = cpppo.dfa("num", initial=D, context="n")
    src = cpppo.peekable("2024-")
    list(NUM.run(source=src, data=data))
    assert data["n.input"] == "2024" and src.peek() == "-"


def test_input_the_machine_cannot_accept_raises_automata_error_with_offset():
    cpppo = machines()
    R = cpppo.regex(initial="ab+", context="r")
    with pytest.raises(AutomataError) as e:
        list(R.run(source="ac", data=cpppo.dotdict()))
    assert e.value.offset == 1 and "'c'" in str(e.value)
    with pytest.raises(AutomataError, match="input ended"):
        list(R.run(source="a", data=cpppo.dotdict()))


def test_bad_machine_definitions_raise_automata_error():
    cpppo = machines()
    with pytest.raises(AutomataError, match="regex"):
        cpppo.regex(initial="(ab")
    with pytest.raises(AutomataError, match="1-character"):
        cpppo.state("S")["ab"] = cpppo.state("T")
    with pytest.raises(AutomataError, match="target"):
        cpppo.state("S")["a"] = "T"
    S = cpppo.state("S")
    with pytest.raises(TypeError, match="1-character"):
        S['a'] = cpppo.state_input("T", terminal=True)
        list(cpppo.dfa("m", initial=S).run(source=[1, 2]))


@pytest.mark.parametrize("stub,module", [("history.pyi", "cpppo_rs.history"),
                                         ("automata.pyi", "cpppo_rs.automata")])
def test_the_history_and_automata_stubs_match_the_package(stub, module):
    from test_stubs import test_every_stubbed_name_exists_and_is_documented as check
    check(stub, module)


def test_byte_machines_graph_and_regex_bytes():
    cpppo = machines()
    # A length-prefixed-ish header: 0x01 then any number of 0xFF, collected as bytes.
    H = cpppo.state("H")
    one = cpppo.state_input("one", terminal=True)
    ff = cpppo.state_input("ff", terminal=True)
    H[b"\x01"] = one
    one[0xFF] = ff
    ff[0xFF] = ff
    HDR = cpppo.dfa("hdr", initial=H, context="h")
    data, src = cpppo.dotdict(), cpppo.peekable(b"\x01\xff\xff\x02")
    list(HDR.run(source=src, data=data))
    assert data["h.input"] == b"\x01\xff\xff" and src.peek() == 2
    # regex_bytes: the text pattern over UTF-8 bytes, as cpppo's.
    R = cpppo.regex_bytes(initial="[αβ]+", context="u", terminal=True)
    src = cpppo.peekable("αβ!".encode())
    list(R.run(source=src, data=data))
    assert data["u.input"] == "αβ".encode() and R.terminal and bytes(src) == b"!"
    # Text and bytes do not mix; a text symbol in a byte source is refused clearly.
    with pytest.raises(AutomataError, match="byte machine"):
        H["x"] = one
        list(HDR.run(source=b"\x01"))
    with pytest.raises(TypeError, match="byte machine"):
        list(cpppo.regex_bytes(initial="a+").run(source="aa"))


def test_decide_chooses_a_target_from_the_data_as_cpppos():
    cpppo = machines()
    # Collect digits; then LONG if more than two were collected, else SHORT (cpppo's decide).
    S = cpppo.state("S")
    D = cpppo.state_input("D")
    LONG = cpppo.state("LONG", terminal=True)
    SHORT = cpppo.state("SHORT", terminal=True)
    S[str.isdigit] = D
    D[str.isdigit] = D
    D[None] = cpppo.decide("long?", state=LONG,
                           predicate=lambda path, data, **kw: len(data[path + ".input"]) > 2)
    D[None] = SHORT
    NUM = cpppo.dfa("num", initial=S, context="n", terminal=True)
    for text, end in (("1234;", "LONG"), ("12;", "SHORT")):
        seen = [s.name for _, s in NUM.run(source=text, data=cpppo.dotdict())]
        assert seen[-1] == end and NUM.terminal
    # The same machine under cpppo 5.2.5, for the same answers.
    script = """
import cpppo
S = cpppo.state("S"); D = cpppo.state_input("D")
LONG = cpppo.state("LONG", terminal=True); SHORT = cpppo.state("SHORT", terminal=True)
for c in "0123456789": S[c] = D; D[c] = D
D[None] = cpppo.decide("long?", state=LONG,
                       predicate=lambda path, data, **kw: len(data[path + ".input"]) > 2)
D[None] = SHORT
NUM = cpppo.dfa("num", initial=S, context="n", terminal=True)
for text in ("1234;", "12;"):
    with NUM:
        print([s.name for _, s in NUM.run(source=cpppo.peekable(text), data=cpppo.dotdict()) if s][-1])
"""
    theirs = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=True).stdout.split()
    assert theirs == ["LONG", "SHORT"]
