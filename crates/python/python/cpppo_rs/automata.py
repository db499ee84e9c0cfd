"""Automata: cpppo's state machines (``cpppo.state``, ``state_input``, ``state_drop``, ``dfa``,
``regex``, ``peekable``, ``dotdict``) run on the Rust machines of ``cpppo-automata``.

Graphs are declared in Python exactly as in cpppo (``E['a'] = A``, ``SEP[None] = ABP``); when
a machine runs, its graph is built into a Rust machine, which pulls symbols from the Python
source and reports each transition. Migrating::

    import cpppo                                  # cpppo
    from cpppo_rs import automata as cpppo        # cpppo-rs
"""

import threading

from . import _native
from .errors import AutomataError

__all__ = ["state", "state_input", "state_drop", "dfa", "regex", "regex_bytes", "decide",
           "peekable", "dotdict", "AutomataError"]


class dotdict(dict):
    """A dict whose dotted keys address nested dotdicts: ``d['csv.input']`` is
    ``d['csv']['input']``, also as attributes (``d.csv.input``)."""

    def __getitem__(self, key):
        if isinstance(key, str) and "." in key:
            head, rest = key.split(".", 1)
            return dict.__getitem__(self, head)[rest]
        return dict.__getitem__(self, key)

    def __setitem__(self, key, value):
        if isinstance(key, str) and "." in key:
            head, rest = key.split(".", 1)
            sub = dict.get(self, head)
            if not isinstance(sub, dotdict):
                sub = dotdict()
                dict.__setitem__(self, head, sub)
            sub[rest] = value
        else:
            dict.__setitem__(self, key, value)

    def __contains__(self, key):
        try:
            self[key]
            return True
        except (KeyError, TypeError):
            return False

    def get(self, key, default=None):
        """The value at a (dotted) key, or ``default``."""
        try:
            return self[key]
        except (KeyError, TypeError):
            return default

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def flat(self, prefix=""):
        """Every leaf as ``{dotted path: value}``."""
        out = {}
        for k, v in self.items():
            path = prefix + "." + k if prefix else k
            if isinstance(v, dotdict):
                out.update(v.flat(path))
            else:
                out[path] = v
        return out


class peekable:
    """An iterator that can show its next symbol (``peek()``: ``None`` at the end) and counts
    those consumed (``sent``); ``push(symbol)`` puts one back. A peekable passes through."""

    def __new__(cls, iterable=None):
        if hasattr(iterable, "peek") and hasattr(iterable, "sent"):
            return iterable
        return super().__new__(cls)

    def __init__(self, iterable=None):
        if getattr(self, "_it", None) is not None:
            return
        self._it = iter(iterable if iterable is not None else ())
        self._back = []
        self.sent = 0

    def __iter__(self):
        return self

    def __next__(self):
        item = self._back.pop() if self._back else next(self._it)
        self.sent += 1
        return item

    def peek(self):
        """The next symbol without consuming it; ``None`` at the end."""
        if not self._back:
            try:
                self._back.append(next(self._it))
            except StopIteration:
                return None
        return self._back[-1]

    def push(self, item):
        """Puts ``item`` back: it is the next symbol again."""
        self._back.append(item)
        self.sent -= 1


def _symbol(x):
    """Whether ``x`` is one symbol: a 1-character str, an int 0..255 or a 1-byte bytes."""
    if isinstance(x, (str, bytes)):
        return len(x) == 1
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 255


def _is_bytes(machine, seen=None):
    """Whether a machine runs over bytes: a byte regex, a transition on a byte, or a byte
    sub-machine (else it runs over text)."""
    if isinstance(machine, regex):
        return machine._bytes
    seen = set() if seen is None else seen
    todo = [machine.initial] if machine.initial is not None else []
    while todo:
        s = todo.pop()
        if id(s) in seen:
            continue
        seen.add(id(s))
        if isinstance(s, dfa) and _is_bytes(s, seen):
            return True
        for kind, sym, target in s._edges:
            if kind in ("symbol", "decide"):
                on = sym[0] if kind == "decide" else sym
                if isinstance(on, int) and not isinstance(on, bool):
                    return True
            if target is not None:
                todo.append(target)
    return False


def _ons(inp):
    """The inputs a decide is attached to: None (no input), True (any) or each symbol."""
    if inp is None or inp is True or _symbol(inp):
        return [inp[0] if isinstance(inp, bytes) else inp]
    if isinstance(inp, (list, tuple, set, frozenset, bytes)) and inp and all(_symbol(c) for c in inp):
        return [c[0] if isinstance(c, bytes) else c for c in inp]
    raise AutomataError("a decide is attached to a symbol, a list of them, None or True, "
                        "not %r" % (inp,))


class decide:
    """A conditional transition target, as cpppo's: ``s[inp] = decide("name", state=T,
    predicate=lambda machine, source, path, data: ...)`` goes to ``T`` (``None``: refuses the
    input) when the predicate holds; otherwise the next decide or plain target for ``inp`` is
    tried. The predicate gets ``path`` and a snapshot of the data (a ``dotdict``); ``machine``
    and ``source`` are ``None`` (the Rust machine decides; changes to the data are not kept)."""

    def __init__(self, name, state=None, predicate=None):
        self.name = name
        self.state = state
        self.predicate = predicate if predicate is not None else (lambda **kwds: True)

    def __str__(self):
        return "%s?%s" % (self.name, self.state)

    def __repr__(self):
        return "<%s>" % self

    def _when(self, flat, path):
        data = dotdict()
        for k, v in flat.items():
            data[k] = v
        return bool(self.predicate(machine=None, source=None, path=path, data=data))


class state:
    """A state that consumes no input. ``s[symbol] = target`` adds a transition: a 1-character
    string, a list/tuple of them, ``None`` (epsilon: no input) or ``True`` (any symbol); a
    callable key is a predicate tried on the symbol. A target of ``None`` refuses the symbol."""

    _kind = "plain"

    def __init__(self, name, terminal=False, context=None, extension=None, **_ignored):
        self._name = name
        self._terminal = terminal
        self._context = context
        self._extension = extension
        self._edges = []

    @property
    def name(self):
        """The state's name."""
        return self._name

    @property
    def terminal(self):
        """Whether a machine may stop in this state, having accepted its input."""
        return self._terminal

    def context(self, path=None, extension=None):
        """``<path>.<context><extension>``, as cpppo's."""
        pre, add = path or "", self._context or ""
        ext = extension if extension is not None else (self._extension or "")
        return pre + ("." if pre and add else "") + add + ext

    def __setitem__(self, inp, target):
        if isinstance(target, decide):
            for on in _ons(inp):
                self._edges.append(("decide", (on, target), target.state))
            return
        if target is not None and not isinstance(target, state):
            raise AutomataError("a transition's target must be a state, a decide or None, "
                                "not %r" % (target,))
        if inp is None:
            self._edges.append(("epsilon", None, target))
        elif inp is True:
            self._edges.append(("any", None, target))
        elif callable(inp):
            self._edges.append(("class", inp, target))
        elif _symbol(inp):
            self._edges.append(("symbol", inp[0] if isinstance(inp, bytes) else inp, target))
        elif isinstance(inp, (list, tuple, set, frozenset, bytes)) and inp and all(
                _symbol(c) for c in inp):
            for c in inp:
                self._edges.append(("symbol", c[0] if isinstance(c, bytes) else c, target))
        else:
            raise AutomataError("a transition is on a symbol (a 1-character string; for a byte "
                                "machine an int 0..255 or 1-byte bytes), a list of them, None, "
                                "True or a predicate, not %r" % (inp,))

    def edges(self):
        """The transitions as ``(kind, symbol, target)``."""
        return list(self._edges)

    def __str__(self):
        t = self.terminal
        return "(" + ("(" if t else " ") + self.name + (")" if t else " ") + ")"

    def __repr__(self):
        return "<%s>" % self

    def name_centered(self):
        """``str(self)`` centred in 40 columns (for progress lines, as cpppo's)."""
        return str(self).center(40)


class state_input(state):
    """A state that consumes one symbol and appends it to ``<context>.input``."""

    _kind = "input"


class state_drop(state):
    """A state that consumes one symbol and discards it."""

    _kind = "drop"


def _compile(machine, names, building):
    """The Rust machine for ``machine``; records every machine by name in ``names``."""
    names.setdefault(machine._name, machine)
    if isinstance(machine, regex):
        return _native.regex_machine(machine._pattern, machine._name, machine._terminal,
                                     machine.greedy, machine._context, machine._bytes)
    if id(machine) in building:
        raise AutomataError("machine %r contains itself" % machine._name)
    building.add(id(machine))
    machine._states = {}
    order, index = [], {}

    def visit(s):
        if id(s) not in index:
            index[id(s)] = len(order)
            order.append(s)
            for _, _, target in s._edges:
                if target is not None:
                    visit(target)

    if machine.initial is None:
        raise AutomataError("machine %r has no initial state" % machine._name)
    visit(machine.initial)
    states, edges = [], []
    for i, s in enumerate(order):
        sub = _compile(s, names, building) if isinstance(s, dfa) else None
        kind = "machine" if sub is not None else s._kind
        states.append((kind, s._name, s._terminal, None if sub is not None else s._context, sub))
        machine._states.setdefault(s._name, s)
        for kind, sym, target in s._edges:
            to = None if target is None else index[id(target)]
            if kind == "decide":
                on, d = sym
                sym = (on, d.name, d._when)
            edges.append((i, kind, sym, to))
    building.discard(id(machine))
    return _native.build_machine(machine._name, states, edges, 0, machine._terminal,
                                 machine.greedy, machine._context, _is_bytes(machine))


def _slot(data, path):
    """The dict holding ``path``'s value and its key there (a dotdict nests by dots)."""
    if isinstance(data, dotdict):
        *parents, leaf = path.split(".")
        for p in parents:
            data = dict.__getitem__(data, p)
        return data, leaf
    return data, path


class dfa(state):
    """A machine: the graph of states reachable from ``initial``; usable as a state of
    another machine (a composite machine). It runs over bytes if a transition is on a byte
    (an int or 1-byte bytes) or a sub-machine does, else over text. ``greedy`` (default) keeps consuming while it can;
    ``greedy=False`` stops at the first terminal state. ``terminal`` after a run: the machine
    was created ``terminal=True`` and ended in a terminal state."""

    def __init__(self, name=None, initial=None, terminal=False, greedy=True, context=None,
                 **kwds):
        super().__init__(name or type(self).__name__, terminal=terminal, context=context, **kwds)
        self.initial = initial
        self.current = initial
        self.greedy = greedy
        self.lock = threading.Lock()
        self._ended = None
        self._states = {}

    @property
    def name(self):
        """The name and the current state, as cpppo's (``ab+.( E )``)."""
        return self._name + "." + str(self.current)

    @property
    def terminal(self):
        """Created ``terminal=True`` and (after a run) ended in a terminal state."""
        if self._ended is None:
            return self._terminal
        return self._terminal and self._ended

    def __enter__(self):
        """Locks the machine for one user (cpppo's ``with machine:``)."""
        self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()
        return False

    def _state_of(self, name, names):
        found = self._states.get(name)
        if found is None:
            found = names.get(name) if isinstance(name, str) else None
            found = found or state(str(name))
            self._states[name] = found  # one object per state, as cpppo's
        return found

    def run(self, source, machine=None, path=None, data=None, ending=None):
        """Runs over ``source`` (an iterable of 1-character strings; a ``peekable`` shows
        progress), storing into ``data`` (a ``dotdict``) under ``path``; yields
        ``(machine, state)`` for every transition. Raises ``AutomataError`` (with ``offset``)
        if the input is not acceptable."""
        source = peekable(source)
        data = dotdict() if data is None else data
        names = {}
        built = _compile(self, names, set())
        flat = data.flat() if isinstance(data, dotdict) else dict(data)
        run = _native.Run(built, path or "", flat)
        self._ended = None
        run.changed()  # what the data held already is not news
        slots = {}  # path: (the dict holding its value, key in it)
        while True:
            step = run.step(source)
            for k, v in run.changed().items():
                slot = slots.get(k)
                if slot is None:
                    data[k] = v
                    slots[k] = slot = _slot(data, k)
                dict.__setitem__(slot[0], slot[1], v)
            if step is None:
                break
            mname, sname, _depth, _offset = step
            m = names.get(mname, self)
            s = m._state_of(sname, names)
            m.current = s
            yield m, s
        self._ended = bool(run.terminal(source))


class regex(dfa):
    """A machine accepting the sentences of a regular expression (``initial``), anchored at
    the start of the input; named after the pattern unless ``name`` is given."""

    _bytes = False

    def __init__(self, name=None, initial=None, context=None, terminal=False, greedy=True,
                 **kwds):
        if not isinstance(initial, str) or not initial:
            raise AutomataError("regex needs the pattern as initial='...', not %r" % (initial,))
        super().__init__(name or repr(initial), initial=None, terminal=terminal, greedy=greedy,
                         context=context, **kwds)
        self._pattern = initial
        _native.regex_machine(initial, bytes=self._bytes)  # a bad pattern fails here



class regex_bytes(regex):
    """A ``regex`` over bytes: the pattern describes text, matched against its UTF-8 bytes
    (symbols: ints 0..255, eg. iterating a ``bytes``); the input is collected as ``bytes``."""

    _bytes = True
