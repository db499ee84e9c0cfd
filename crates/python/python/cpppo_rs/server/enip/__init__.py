"""EtherNet/IP CIP server side, as cpppo's ``cpppo.server.enip``: the CIP type classes
(``REAL``, ``INT``, ...), ``device.Attribute`` and ``main``."""
from . import device
from .parser import *  # noqa: F401,F403 (cpppo exports its types here)
from .parser import __all__ as _types

__all__ = ["device", *_types]

