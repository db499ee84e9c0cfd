"""EtherNet/IP CIP server side, as cpppo's ``cpppo.server.enip``: the CIP type classes
(``REAL``, ``INT``, ...), ``device.Attribute`` and ``main``; and, as cpppo has them here,
``address``, ``client``, ``get_attribute``, ``ab`` and ``poll`` (``cpppo_rs.enip``'s)."""
from . import device
from ...enip import address, client, get_attribute, ab, poll
from .parser import *  # noqa: F401,F403 (cpppo exports its types here)
from .parser import __all__ as _types

__all__ = ["device", "address", "client", "get_attribute", "ab", "poll", *_types]

