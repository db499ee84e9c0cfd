"""cpppo's ``cpppo.server.enip.poll``: cyclic polling of a proxy's parameters, with back-off.

::

    import threading
    from cpppo_rs.enip import poll
    from cpppo_rs.enip.ab import powerflex_750_series as device

    def process(par, val):
        print(par, val)
    process.done = False

    poller = threading.Thread(target=poll.poll, kwargs=dict(
        proxy_class=device, address=("localhost", 44818), cycle=1.0, timeout=0.5,
        process=process, failure=print, params=["Motor Velocity", "Output Current"]))
    poller.start()
    ...
    process.done = True
    poller.join()

``poll.start(...)`` does the same and returns a ``Poller`` thread with ``stop()``. A failed poll
(device gone, session reset) calls ``failure(exc)``, closes the proxy's session and tries again
after a back-off that grows from ``backoff_min`` by ``backoff_multiplier`` up to
``backoff_max``; once the device answers again, polling resumes at the cycle. Every network wait
releases the GIL.
"""

import threading
import time

__all__ = ["execute", "loop", "run", "poll", "start", "Poller"]

_timer = time.monotonic


def execute(via, params=None, pass_thru=None):
    """One poll: yields ``(parameter, value)`` for each of ``params`` through proxy ``via``."""
    params = list(params or [])
    values = list(via.read(via.parameter_substitution(params, pass_thru=pass_thru)))
    yield from zip(params, values)


def loop(via, cycle=None, last_poll=None, **kwds):
    """One poll at its place in the cycle: returns ``(start of this cycle, seconds until the
    next, [(parameter, value), ...])``. Missed cycles are skipped, not made up. Raises on failure
    (having closed ``via``'s session, to be reopened by the next poll)."""
    cycle = cycle or 1.0
    now = _timer()
    if not last_poll:
        last_poll = now
    elif now - last_poll >= cycle:
        last_poll += cycle * ((now - last_poll) // cycle)
    with via:
        results = list(execute(via, **kwds))
    return last_poll, max(0.0, last_poll + cycle - _timer()), results


def run(via, process, failure=None, backoff_min=None, backoff_multiplier=None,
        backoff_max=None, latency=None, **kwds):
    """Polls until ``process.done`` is true (forever if it has no ``done``): ``process(par,
    val)`` for each value, ``failure(exc)`` for each failed poll, then a back-off (first
    ``backoff_min``, default the cycle; times ``backoff_multiplier``, default 1.5; at most
    ``backoff_max``, default 10 x ``backoff_min``). ``done`` is checked every ``latency``
    seconds (default 0.5). Other keywords go to ``loop`` (``cycle``) and ``execute``
    (``params``, ``pass_thru``)."""
    backoff_min = backoff_min if backoff_min is not None else (kwds.get("cycle") or 1.0)
    backoff_max = backoff_max if backoff_max is not None else backoff_min * 10
    backoff_multiplier = backoff_multiplier if backoff_multiplier is not None else 1.5
    latency = latency if latency is not None else 0.5
    backoff, last, delay, began = None, 0, 0.0, _timer()
    while not getattr(process, "done", False):
        waited = _timer() - began
        if waited < delay:
            time.sleep(min(latency, delay - waited))
            continue
        try:
            last, delay, results = loop(via, last_poll=last, **kwds)
            for par, val in results:
                process(par, val)
            backoff = None
        except Exception as exc:  # noqa: BLE001 (cpppo: any failure backs off)
            backoff = backoff_min if backoff is None else min(backoff * backoff_multiplier,
                                                              backoff_max)
            delay = backoff
            if failure is not None:
                failure(exc)
        began = _timer()


def poll(proxy_class=None, address=None, depth=None, multiple=None, timeout=None,
         route_path=None, send_path=None, via=None, params=None, pass_thru=None, cycle=None,
         process=None, failure=None, backoff_min=None, backoff_multiplier=None,
         backoff_max=None, latency=None):
    """Polls ``params`` of the device at ``address`` (``(host, port)``) through a new
    ``proxy_class`` instance (or the proxy ``via``, which may also be given first in place of
    ``proxy_class``) until ``process.done``; see ``run``. By
    default prints each ``parameter: value``. Blocks: run it in a thread (or use ``start``)."""
    if via is None and proxy_class is not None and not isinstance(proxy_class, type):
        proxy_class, via = None, proxy_class  # poll(a_proxy, ...): a proxy instance
    if proxy_class is not None and via is not None:
        raise ValueError("give a proxy_class or a 'via' proxy, not both")
    if via is None:
        if proxy_class is None:
            raise ValueError("poll needs a proxy_class (and address) or a 'via' proxy")
        host, port = address or ("localhost", 44818)
        via = proxy_class(host=host, port=port, depth=depth, multiple=multiple,
                          timeout=timeout, route_path=route_path, send_path=send_path)
    if process is None:
        def process(par, val):
            print("%15s: %r" % (par, val))
    run(via=via, process=process, failure=failure, backoff_min=backoff_min,
        backoff_multiplier=backoff_multiplier, backoff_max=backoff_max, latency=latency,
        cycle=cycle, params=params, pass_thru=pass_thru)


class Poller(threading.Thread):
    """``poll.poll`` in a daemon thread; ``stop()`` ends it (within ``latency``) and joins."""

    def __init__(self, process=None, **kwds):
        super().__init__(daemon=True, name="cpppo_rs.enip.poll")
        self._stopped = False
        user = process

        def relay(par, val):
            if user is not None:
                user(par, val)
            else:
                print("%15s: %r" % (par, val))
        relay.done = False
        self._relay = relay
        self._kwds = kwds

    def run(self):
        """Polls (the thread's body) until ``stop()``."""
        poll(process=self._relay, **self._kwds)

    def stop(self, timeout=None):
        """Stops polling and waits (up to ``timeout`` seconds) for the thread to end."""
        self._relay.done = True
        self.join(timeout)


def start(**kwds):
    """Starts ``poll(**kwds)`` in a background thread; returns the running ``Poller``."""
    poller = Poller(**kwds)
    poller.start()
    return poller
