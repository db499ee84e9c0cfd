"""EtherNet/IP CIP: ``client`` (cpppo's ``cpppo.server.enip.client``), ``get_attribute``
(typed proxies), ``ab`` (PowerFlex), ``poll`` and ``Simulator``."""
import atexit
import weakref

from .. import _native
from . import client
from . import get_attribute, ab, poll

__all__ = ["Simulator", "address", "client", "get_attribute", "ab", "poll"]

#: The default EtherNet/IP address, as cpppo's ``cpppo.server.enip.address``: all interfaces,
#: port 44818.
address = ("", 44818)

_LIVE = weakref.WeakSet()


class Simulator(_native.Simulator):
    __doc__ = _native.Simulator.__doc__

    def __init__(self, *args, **kwargs):
        # Built (and started) by the native __new__; remembered so interpreter exit ends it.
        _LIVE.add(self)


@atexit.register
def _close_all():
    """End every simulator still running while other threads can still take the GIL (later,
    during finalization, a Python callback's thread could not finish)."""
    for sim in list(_LIVE):
        sim._close()
