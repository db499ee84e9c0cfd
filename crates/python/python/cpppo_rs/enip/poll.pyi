import threading
from typing import Any, Callable, Iterable, Iterator, Optional

from .get_attribute import proxy

Process = Callable[[Any, Any], Any]
Failure = Callable[[BaseException], Any]

def execute(via: proxy, params: Optional[Iterable[Any]] = None,
            pass_thru: Optional[bool] = None) -> Iterator[tuple[Any, Any]]:
    """One poll: ``(parameter, value)`` pairs."""
def loop(via: proxy, cycle: Optional[float] = None, last_poll: Optional[float] = None,
         **kwds: Any) -> tuple[float, float, list[tuple[Any, Any]]]:
    """One poll in its cycle: ``(cycle start, delay to next, results)``."""
def run(via: proxy, process: Process, failure: Optional[Failure] = None,
        backoff_min: Optional[float] = None, backoff_multiplier: Optional[float] = None,
        backoff_max: Optional[float] = None, latency: Optional[float] = None,
        **kwds: Any) -> None:
    """Polls until ``process.done``, backing off after failures."""
def poll(proxy_class: Optional[type[proxy]] = None, address: Optional[tuple[str, int]] = None,
         depth: Optional[int] = None, multiple: Optional[int] = None,
         timeout: Optional[float] = None, route_path: Any = None, send_path: Any = None,
         via: Optional[proxy] = None, params: Optional[Iterable[Any]] = None,
         pass_thru: Optional[bool] = None, cycle: Optional[float] = None,
         process: Optional[Process] = None, failure: Optional[Failure] = None,
         backoff_min: Optional[float] = None, backoff_multiplier: Optional[float] = None,
         backoff_max: Optional[float] = None, latency: Optional[float] = None) -> None:
    """Polls a device through a new proxy (or ``via``); blocks."""

class Poller(threading.Thread):
    """``poll`` in a daemon thread."""

    def __init__(self, process: Optional[Process] = None, **kwds: Any) -> None: ...
    def run(self) -> None:
        """Polls (the thread's body)."""
    def stop(self, timeout: Optional[float] = None) -> None:
        """Stops polling and joins."""

def start(**kwds: Any) -> Poller:
    """``poll(**kwds)`` in a started background thread."""
