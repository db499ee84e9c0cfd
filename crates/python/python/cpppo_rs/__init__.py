"""cpppo-rs: cpppo's Python programming interface on the cpppo-rs Rust core.

Modules mirror cpppo's names, so migrating a script is mostly changing its imports::

    from cpppo.server.enip import client      # cpppo
    from cpppo_rs.enip import client          # cpppo-rs
"""

from ._native import __version__
from .logs import log_cfg, timer
from .errors import (
    AutomataError,
    CommunicationError,
    Error,
    HistoryError,
    InvalidValueError,
    ModbusError,
    OperationError,
    PlcOffline,
    SimulatorError,
    StatusError,
    TimeoutError,
    TimestampError,
    UnknownTagError,
)

__all__ = [
    "__version__",
    "log_cfg",
    "timer",
    "Error",
    "OperationError",
    "CommunicationError",
    "TimeoutError",
    "StatusError",
    "SimulatorError",
    "UnknownTagError",
    "InvalidValueError",
    "TimestampError",
    "HistoryError",
    "AutomataError",
    "PlcOffline",
    "ModbusError",
]
