"""cpppo's ``cpppo.server.enip.get_attribute``: typed proxies for CIP devices.

A proxy reads and writes a device's attributes by name (its ``PARAMETERS`` table) or by address,
with the values decoded as CIP types; it opens its session when first used and again after
any failure::

    from cpppo_rs.enip.get_attribute import proxy_simple

    class some_sensor(proxy_simple):
        PARAMETERS = dict(proxy_simple.PARAMETERS,
                          a_sensor_parameter=proxy_simple.parameter('@0x93/1/10', 'REAL', 'Hz'))

    via = some_sensor(host="10.0.1.2")
    with via:
        value, = via.read(via.parameter_substitution("A Sensor Parameter"), checking=True)

Requests go through ``cpppo_rs.enip.client.connector`` (pipelined, Multiple Service Packets);
the raw attribute bytes are decoded by the Rust proxy's decoder.
"""

import collections
import contextlib
import threading
import types as _types

from .._native import decode_attribute, is_cip_type
from ..errors import Error, StatusError
from . import client

__all__ = ["proxy", "proxy_simple", "proxy_connected", "attribute_operations"]


def attribute_operations(paths, **kwds):
    """Parses ``@class/instance[/attribute]`` addresses (``@1/1/7``, ``@22/1/3=(REAL)1.0``) for
    the attribute services: a proxy's reads and writes of typed parameters use these. Pass them
    to ``connector.pipeline(..., attributes=True)``; ``kwds`` are accepted for cpppo
    compatibility."""
    return client.parse_operations([_address(p) for p in paths])


def _address(att):
    """A numeric address without the blanks cpppo's tables align them with (``@0x93/  3/10``)."""
    if not att.lstrip().startswith("@"):
        return att.strip()
    name, eq, value = att.partition("=")
    return "".join(name.split()) + eq + value


#: cpppo's proxy keywords accepted and ignored (their defaults are the only behaviour here).
_IGNORED = {"priority_time_tick", "timeout_ticks", "dialect"}


def _is_listlike(x):
    return isinstance(x, (list, tuple))


class proxy:
    """A CIP device reached through a routing controller (a *Logix; Unconnected Send, route path
    ``1/0``), its attributes read and written by name or address, as cpppo's ``proxy``.

    Subclass it with your own ``PARAMETERS`` (``{'bare_name': parameter(attribute, types,
    units)}``). ``depth`` requests are kept in flight and ``multiple`` > 0 batches them into
    Multiple Service Packets. The session opens on first use (``with via:`` or ``read``) and
    is closed by ``close_gateway`` (called for you on any failure) to be reopened next time.
    """

    #: ``parameter(attribute, types, units)``: an address (``"@0x93/3/10"``), its CIP type
    #: name or list of names (``"REAL"``, ``["INT", ..., "SSTRING"]``) and units (or None).
    parameter = collections.namedtuple("parameter", ["attribute", "types", "units"])

    PARAMETERS = dict(
        product_name=parameter("@1/1/7", "SSTRING", None),
        identity=parameter("@1/1", ["INT", "INT", "INT", "INT", "INT", "DINT", "SSTRING",
                                    "USINT"], "Identity"),
        tcpip=parameter("@0xF5/1", ["DWORD", "DWORD", "DWORD", "EPATH", "IPADDR", "IPADDR",
                                    "IPADDR", "IPADDR", "IPADDR", "STRING", "STRING"], "TCPIP"),
    )

    #: Whether requests go through the controller's router (``proxy_simple``: False).
    SIMPLE = False

    def __init__(self, host, port=44818, timeout=None, depth=None, multiple=None,
                 route_path=None, send_path=None, identity_default=None, connected=False,
                 **kwds):
        unknown = set(kwds) - _IGNORED
        if unknown:
            raise TypeError("%s() got unexpected keyword arguments: %s" % (
                type(self).__name__, ", ".join(sorted(unknown))))
        self.host = host
        self.port = port
        self.timeout = 5.0 if timeout is None else timeout
        self.depth = 2 if depth is None else depth
        self.multiple = 0 if multiple is None else multiple
        self.route_path = route_path
        self.send_path = send_path
        self.connected = connected
        self.gateway = None
        self.gateway_lock = threading.RLock()
        if isinstance(identity_default, str):
            identity_default = _types.SimpleNamespace(product_name=identity_default)
        self.identity_default = identity_default
        self.identity = identity_default

    def __str__(self):
        name = self.identity.product_name if self.identity else None
        return "%s at %s" % (name, self._gateway_text())

    def __repr__(self):
        return "<%s via %s>" % (type(self).__name__, self._gateway_text())

    def _gateway_text(self):
        if self.gateway is None:
            return None
        return "%s:%d" % self.gateway.address

    # The gateway (session): opened on demand, closed on failure.

    def __enter__(self):
        self.open_gateway()
        return self

    def __exit__(self, typ, val, tbk):
        # A reader abandoned early (GeneratorExit: the caller took only some values) is no
        # failure: the session stays.
        if typ is not None and not issubclass(typ, GeneratorExit):
            self.close_gateway(exc=val)
        return False

    def open_gateway(self):
        """Opens the session (if not open), and learns the device's identity (List Identity)
        unless an ``identity_default`` was given."""
        with self.gateway_lock:
            if self.gateway is not None:
                return
            self.gateway = client.connector(
                host=self.host, port=self.port, timeout=self.timeout, simple=self.SIMPLE,
                connected=self.connected, route_path=self.route_path,
                send_path=self.send_path)
            if not self.identity:
                try:
                    self.list_identity()
                except BaseException as exc:
                    self.close_gateway(exc=exc)
                    raise

    def close_gateway(self, exc=None):
        """Closes the session (the next use reopens it) and forgets the identity learned."""
        with self.gateway_lock:
            if self.gateway is not None:
                gateway, self.gateway = self.gateway, None
                with contextlib.suppress(Error):
                    gateway.close()
            self.identity = self.identity_default

    def list_identity(self):
        """List Identity: the device's identity (``.product_name``, ``.vendor_id``, ...), also
        kept in ``.identity``."""
        with self.gateway_lock:
            self.open_gateway()
            replies = self.gateway.list_identity()
            if not replies:
                raise StatusError("List Identity: no identity in the reply", 0)
            self.identity = _types.SimpleNamespace(**replies[0])
            return self.identity

    # Parameters by name.

    def parameter_substitution(self, iterable, parameters=None, pass_thru=None):
        """Yields each named parameter (``" Output Freq = 1.0"``) as its ``(address, types,
        units)``, anything else unchanged; with ``pass_thru=False`` an unknown name raises
        ``OperationError``. Names match ignoring case and with blanks as underscores."""
        if isinstance(iterable, str):
            iterable = [iterable]
        if parameters is None:
            parameters = self.PARAMETERS
        if pass_thru is None:
            pass_thru = True
        for tag in iterable:
            if isinstance(tag, str):
                name, eq, value = tag.partition("=")
                key = name.strip().lower().replace(" ", "_")
                if key in parameters:
                    att, typ, uni = parameters[key]
                    tag = (_address(att) + (eq + value if eq else ""), typ, uni)
                elif not pass_thru:
                    raise client.OperationError("unrecognized parameter name: %r" % (tag,))
            yield tag

    # Reading and writing.

    def read(self, attributes, printing=False, checking=False):
        """Yields each attribute's value: a list of values read, ``True`` for a write, or
        ``None`` where the device answered with an error status. ``attributes`` are tags,
        addresses (``"@1/1/7"``) or ``(address, types[, units])`` as ``parameter_substitution``
        gives. With ``checking``, raises ``StatusError`` (after the values) if any failed.
        With ``printing``, prints ``  Output Current == 16.8 Amps`` for each."""
        bad = []
        with self:
            for val, (sts, (att, typ, uni)) in self.read_details(attributes):
                if printing:
                    shown = val if val in (None, True) else ", ".join(map(str, val))
                    print("%16s == %s %s" % (att, shown, uni or ""))
                if val is None:
                    bad.append((att, sts))
                yield val
        if checking and bad:
            att, sts = bad[0]
            general, ext = (sts if isinstance(sts, tuple) else (sts, ()))
            raise StatusError("read failed to access %d attributes: %s" % (
                len(bad), ", ".join("%s: status %r" % b for b in bad)), general, ext)

    #: Writing is reading ``Name = (TYPE)value`` (cpppo's alias).
    write = read

    def read_details(self, attributes):
        """Yields ``(value, (status, (address, types, units)))`` for each attribute; the session
        must be open (``with via:``)."""
        if isinstance(attributes, str):
            attributes = [attributes]
        wanted = [self._request(a) for a in attributes]
        typed = [i for i, (_, typ, _) in enumerate(wanted) if typ is not None]
        plain = [i for i, (_, typ, _) in enumerate(wanted) if typ is None]
        results = [None] * len(wanted)
        with self.gateway_lock:
            self.open_gateway()
            for idx, attr in ((typed, True), (plain, False)):
                if not idx:
                    continue
                ops = [_address(wanted[i][0]) if attr else wanted[i][0] for i in idx]
                txns = self.gateway.pipeline(client.parse_operations(ops), depth=self.depth,
                                             multiple=self.multiple, attributes=attr)
                for i, (_, _, _, _, sts, val) in zip(idx, txns):
                    results[i] = (sts, val)
        for (att, typ, uni), (sts, val) in zip(wanted, results):
            if typ is not None and val not in (None, True):
                val = decode_attribute(typ, bytes(val))
            yield val, (sts, (att, typ, uni))

    @staticmethod
    def is_request(req):
        """Whether ``req`` is a tag/address or an ``(address, types[, units])``."""
        if isinstance(req, str):
            return True
        if _is_listlike(req) and 2 <= len(req) <= 3 and isinstance(req[0], str):
            typ = req[1]
            return typ is None or isinstance(typ, str) or (
                _is_listlike(typ) and all(isinstance(t, str) for t in typ))
        return False

    def _request(self, a):
        """``a`` as ``(address, types, units)``, its type names checked."""
        if not self.is_request(a):
            raise client.OperationError("not a valid read/write target: %r" % (a,))
        if isinstance(a, str):
            return a, None, None
        att, typ, uni = tuple(a) + (None,) * (3 - len(a))
        for t in ([typ] if isinstance(typ, str) else typ or []):
            if not is_cip_type(t):
                raise client.OperationError(
                    "invalid EtherNet/IP CIP type name %r for %s" % (t, att))
        return att, typ, uni


class proxy_simple(proxy):
    """A simple (non-routing) CIP device (a MicroLogix, a PowerFlex drive): no Unconnected
    Send, no route path, as cpppo's ``proxy_simple``."""

    SIMPLE = True


class proxy_connected(proxy):
    """A proxy whose requests go over a class 3 connection (Forward Open)."""

    def __init__(self, host, **kwds):
        kwds.setdefault("connected", True)
        super().__init__(host, **kwds)
