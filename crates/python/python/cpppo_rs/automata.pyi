import threading
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from .errors import AutomataError as AutomataError

Key = Union[None, bool, str, int, bytes, Iterable[Union[str, int, bytes]], Callable[[Any], bool]]

class dotdict(dict[str, Any]):
    """A dict whose dotted keys address nested dotdicts."""
    def get(self, key: str, default: Any = None) -> Any: ...
    def flat(self, prefix: str = "") -> dict[str, Any]: ...

class peekable:
    """An iterator that can show its next symbol and counts those consumed."""
    sent: int
    def __init__(self, iterable: Optional[Iterable[Any]] = None) -> None: ...
    def __iter__(self) -> "peekable": ...
    def __next__(self) -> Any: ...
    def peek(self) -> Any: ...
    def push(self, item: Any) -> None: ...

class decide:
    """A conditional transition target."""
    name: str
    state: Optional["state"]
    predicate: Callable[..., Any]
    def __init__(self, name: str, state: Optional["state"] = None,
                 predicate: Optional[Callable[..., Any]] = None) -> None: ...

class state:
    """A state that consumes no input."""
    def __init__(self, name: str, terminal: bool = False, context: Optional[str] = None,
                 extension: Optional[str] = None, **_ignored: Any) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def terminal(self) -> bool: ...
    def context(self, path: Optional[str] = None, extension: Optional[str] = None) -> str: ...
    def __setitem__(self, inp: Key, target: Union[None, "state", decide]) -> None: ...
    def edges(self) -> list[tuple[str, Any, Optional["state"]]]: ...
    def name_centered(self) -> str: ...

class state_input(state):
    """A state that consumes one symbol and appends it to <context>.input."""

class state_drop(state):
    """A state that consumes one symbol and discards it."""

class dfa(state):
    """A machine: the graph of states reachable from initial."""
    initial: Optional[state]
    current: Optional[state]
    greedy: bool
    lock: threading.Lock
    def __init__(self, name: Optional[str] = None, initial: Optional[state] = None,
                 terminal: bool = False, greedy: bool = True, context: Optional[str] = None,
                 **kwds: Any) -> None: ...
    def __enter__(self) -> "dfa": ...
    def __exit__(self, *exc: Any) -> bool: ...
    def run(self, source: Iterable[str], machine: Any = None, path: Optional[str] = None,
            data: Optional[dotdict] = None, ending: Any = None) -> Iterator[tuple["dfa", state]]: ...

class regex(dfa):
    """A machine accepting the sentences of a regular expression."""
    def __init__(self, name: Optional[str] = None, initial: Optional[str] = None,
                 context: Optional[str] = None, terminal: bool = False, greedy: bool = True,
                 **kwds: Any) -> None: ...

class regex_bytes(regex):
    """A regex over the UTF-8 bytes of the text its pattern describes."""
