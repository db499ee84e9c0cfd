"""The exceptions cpppo-rs raises: every one is a ``cpppo_rs.Error``."""
import builtins
from typing import Iterable, List, Optional

class Error(Exception):
    """Base of every exception cpppo-rs raises."""

class OperationError(Error, ValueError):
    """An operation that does not parse or cannot be sent."""

class CommunicationError(Error, ConnectionError):
    """The device could not be reached, closed the connection or sent a malformed reply."""

class TimeoutError(CommunicationError, builtins.TimeoutError):
    """No reply within the connector's timeout."""

class StatusError(Error):
    """A request answered with a CIP error status."""

    status: int
    extended_status: List[int]
    def __init__(self, message: str, status: int, extended_status: Iterable[int] = ...) -> None: ...

class SimulatorError(Error):
    """A simulator that cannot be built or started, or a bad request to one."""

class UnknownTagError(SimulatorError, LookupError):
    """The simulator has no tag of that name."""

class TagSourceError(SimulatorError, ValueError):
    """A tag source (tag, UDT, tag file, L5X, cpppo.cfg) that cannot be served."""

class TagFileError(SimulatorError, OSError):
    """A tag file, L5X file or cpppo.cfg that cannot be read."""

class InvalidValueError(Error, ValueError):
    """A value that cannot be written as its tag's type."""

class TimestampError(Error, ValueError):
    """Time text or a zone that does not parse."""

class HistoryError(Error):
    """A history file that cannot be opened, or (strict) a line that is not a record."""

class AutomataError(Error):
    """A machine that cannot be built, or input it cannot accept."""

    offset: Optional[int]
    def __init__(self, message: str, offset: Optional[int] = ...) -> None: ...

class PlcOffline(CommunicationError):
    """A Modbus PLC that cannot be reached (or a stopped poller)."""

class ModbusError(Error):
    """A Modbus request answered with an exception code (or a malformed reply)."""
