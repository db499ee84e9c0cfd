"""cpppo's ``cpppo.server.enip.client`` on the Rust client.

::

    from cpppo_rs.enip import client

    with client.connector(host="127.0.0.1", port=44818, timeout=1.0) as conn:
        ops = client.parse_operations(["SCADA[0-9]", "SCADA[1]=(INT)99"])
        for idx, dsc, req, rpy, sts, val in conn.pipeline(operations=ops, depth=2):
            print(idx, dsc, val)

Every network wait releases the GIL. Failures raise ``cpppo_rs.errors`` exceptions.
"""

import gc
import json

from .._native import Connector as _Connector
from .._native import Operation
from .._native import Results
from .._native import parse_operations as _parse_operations
from .._native import read_many as _read_many
from ..errors import (
    CommunicationError,
    Error,
    OperationError,
    StatusError,
    TimeoutError,
)

__all__ = [
    "connector",
    "parse_operations",
    "Operation",
    "Results",
    "Error",
    "OperationError",
    "CommunicationError",
    "TimeoutError",
    "StatusError",
]


def parse_operations(tags, route_path=None, send_path=None):
    """Parses operations (``"SCADA[1-3]"``, ``"SCADA[1]=(INT)5"``, ``"@1/1/7"``; an
    ``Operation`` passes through) into a list of ``Operation``, as cpppo's.

    ``route_path`` (``"1/0"``, a JSON segment or list, ``False`` for none) and ``send_path``
    (``"@6/1"``, ``""`` for none: a simple device) are stamped on each operation: a pipeline
    sends it that way whatever its connector's paths (cpppo's per-operation ``route_path`` /
    ``send_path``). ``None`` leaves the connector's. A bad operation or path raises
    ``OperationError``.
    """
    return _parse_operations(tags, route_path=_path_text(route_path),
                             send_path=_path_text(send_path))


class connector:
    """A registered EtherNet/IP CIP session with one controller, as cpppo's ``client.connector``.

    Connects (and registers a session) when made; use it as a context manager to close it.
    ``timeout`` (seconds, None: wait forever) bounds the connect and every reply.
    ``udp=True`` opens a UDP socket for List Identity/Services/Interfaces only
    (``broadcast=True`` collects every reply until the timeout). ``simple=True`` talks to a
    non-routing device (no Unconnected Send); ``connected=True`` opens a class 3 connection
    (Forward Open) and sends every request connected. ``route_path`` (``"1/0"``, a JSON
    segment or list, ``False`` for none) and ``send_path`` (``"@6/1"``, ``""`` for none) set
    how requests are routed, as cpppo's ``--route-path``/``--send-path``.
    """

    def __init__(self, host="localhost", port=44818, timeout=5.0, udp=False,
                 broadcast=False, simple=False, connected=False, route_path=None,
                 send_path=None):
        if not isinstance(host, str):
            raise TypeError("host must be a str, not %s" % type(host).__name__)
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError("port must be an int, not %s" % type(port).__name__)
        if not 0 < port < 65536:
            raise ValueError("port must be 1..65535, not %d" % port)
        self.host = host
        self.port = port
        self.timeout = timeout
        self._conn = _Connector("%s:%d" % (_bracket(host), port), timeout=timeout, udp=udp,
                                broadcast=broadcast, simple=simple, connected=connected,
                                route_path=_path_text(route_path),
                                send_path=_path_text(send_path))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Closes the session and its socket (again: nothing)."""
        self._conn.close()

    @property
    def closed(self):
        """Whether ``close()`` has been called."""
        return self._conn.closed

    @property
    def address(self):
        """The peer's ``(host, port)``."""
        return self._conn.address

    # Pipelined operations, yielding cpppo's (index, description, request, reply, status, value).

    def pipeline(self, operations, depth=1, multiple=0, fragment=False, timeout=None,
                 attributes=False):
        """Yields ``(idx, dsc, req, rpy, sts, val)`` for each operation, in order, as each
        reply arrives, with up to ``depth`` requests in flight and Multiple Service Packets of
        up to ``multiple`` bytes.

        ``val`` is the list of values read, ``True`` for a successful write, ``None`` on
        failure (not an exception); ``sts`` is the general status, or ``(status, (extended,
        ...))``. ``attributes=True`` sends numeric addresses (``@1/1/7``) as Get/Set Attribute
        Single/All instead of Read/Write Tag. ``timeout`` is accepted for cpppo compatibility;
        the connector's timeout bounds each reply.

        ``operations`` may be any iterable, even an endless generator: an operation is taken
        from it only when a request can be sent. The iterator holds the connector until it
        ends; leaving it early (``break``, ``close()``, dropping it) reads and drops the
        replies still in flight, so the connector is ready for its next call. An exception
        raised by ``operations`` (or a bad operation in it) is raised after the results of
        the operations before it.

        An operation with its own ``route_path``/``send_path`` (``parse_operations(tags,
        route_path=...)``) is sent that way over this same session; consecutive operations
        sharing a route are pipelined (and batched) together, and a change of route waits for
        the replies before it. On a ``connected=True`` session every request goes over its
        connection, whose path was fixed when it was opened.
        """
        return self._results(operations, depth, multiple, fragment, attributes, "tuple")

    def _results(self, operations, depth, multiple, fragment, attributes, shape):
        return self._conn.pipeline(operations, depth=max(int(depth or 1), 1),
                                   multiple=int(multiple or 0), fragment=bool(fragment),
                                   attributes=bool(attributes), shape=shape)

    def synchronous(self, operations, multiple=0, fragment=False, timeout=None,
                    attributes=False):
        """As ``pipeline`` with one request in flight at a time."""
        return self.pipeline(operations, depth=1, multiple=multiple, fragment=fragment,
                             timeout=timeout, attributes=attributes)

    def results(self, operations, depth=1, multiple=0, fragment=False, timeout=None,
                attributes=False):
        """Yields only each operation's value (``None`` for a failure), as each arrives."""
        return self._results(operations, depth, multiple, fragment, attributes, "value")

    def process(self, operations, depth=0, multiple=0, fragment=False, printing=False,
                timeout=None, attributes=False):
        """Runs every operation; returns ``(failures, [value, ...])``. With ``printing``,
        prints cpppo's summary line for each (``SCADA[  1-1  ]+  0 == [42]: 'OK'``) as its
        reply arrives."""
        failures, values = 0, []
        for t in self._results(operations, depth, multiple, fragment, attributes,
                               "line" if printing else "tuple"):
            val = t[5]
            if printing:
                print(t[6])
            values.append(val)
            if val is None:
                failures += 1
        return failures, values

    # Direct calls: each waits for its reply and returns the value, or raises.

    def read(self, tag):
        """Reads one tag or attribute (``"SCADA[1-3]"``, ``"@1/1/7"``); returns its values."""
        return self._conn.read(tag)

    def write(self, operation):
        """Writes one tag or attribute (``"SCADA[1-3]=(INT)1,2,3"``)."""
        self._conn.write(operation)

    def get_attribute_single(self, cls, instance, attribute):
        """Get Attribute Single: the attribute's raw ``bytes``."""
        return self._conn.get_attribute_single(cls, instance, attribute)

    def get_attributes_all(self, cls, instance):
        """Get Attributes All: the instance's raw ``bytes``."""
        return self._conn.get_attributes_all(cls, instance)

    def set_attribute_single(self, cls, instance, attribute, data):
        """Set Attribute Single with raw bytes (``bytes`` or a list of USINT values)."""
        self._conn.set_attribute_single(cls, instance, attribute, bytes(data))

    def list_identity(self):
        """List Identity: a list of dicts (``product_name``, ``vendor_id``, ..., ``peer``)."""
        return self._conn.list_identity()

    def list_services(self):
        """List Services: a list of dicts (``service_name``, ``capability``, ..., ``peer``)."""
        return self._conn.list_services()

    def read_many(self, operations, depth=20, multiple=4000, fragment=False):
        """Runs every operation in one call (strings or ``Operation``s; each distinct string is
        parsed once) with ``depth`` requests in flight, batched into Multiple Service Packets
        of up to ``multiple`` bytes; returns the list of values (as ``results``: a list per
        read, ``True`` per write, ``None`` where refused). The fastest way to read many tags:
        no per-operation tuple or generator step in Python, and the GIL released throughout."""
        # Python's cyclic GC would walk the growing result list again and again while it is
        # built (a third of the time for a million reads); the values hold no cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _read_many(self._conn, operations, depth=int(depth),
                              multiple=int(multiple), fragment=bool(fragment))
        finally:
            if collecting:
                gc.enable()

    def list_interfaces(self):
        """List Interfaces: a list of dicts (``type_id``, ``data``, ``peer``)."""
        return self._conn.list_interfaces()


def _path_text(path):
    """A route or send path as the text the Rust parser takes (None: the default)."""
    if path is None or isinstance(path, str):
        return path
    if path is False:
        return "false"
    return json.dumps(path)


def _bracket(host):
    """An IPv6 literal in brackets, for ``HOST:PORT``."""
    return "[%s]" % host if ":" in host and not host.startswith("[") else host
