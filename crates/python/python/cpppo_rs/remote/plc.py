"""The poller's exceptions, as cpppo's ``cpppo.remote.plc``."""
from ..errors import PlcOffline

__all__ = ["PlcOffline"]
