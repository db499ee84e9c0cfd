"""cpppo-rs: cpppo's Python programming interface on the cpppo-rs Rust core."""
from typing import List

from ._native import __version__ as __version__
from .errors import (
    AutomataError as AutomataError,
    CommunicationError as CommunicationError,
    Error as Error,
    HistoryError as HistoryError,
    InvalidValueError as InvalidValueError,
    ModbusError as ModbusError,
    OperationError as OperationError,
    PlcOffline as PlcOffline,
    SimulatorError as SimulatorError,
    StatusError as StatusError,
    TimeoutError as TimeoutError,
    TimestampError as TimestampError,
    UnknownTagError as UnknownTagError,
)
from .logs import log_cfg as log_cfg, timer as timer

__all__: List[str]
