"""The exceptions cpppo-rs raises: every one is a ``cpppo_rs.Error``.

::

    Error
    ├── OperationError        bad operation text ("SCADA[1-"), or a request that cannot be built
    ├── CommunicationError    socket failures, a closed connection, malformed replies
    │   ├── TimeoutError      no reply within the timeout (also a builtin TimeoutError)
    │   └── PlcOffline        a Modbus PLC that cannot be reached (or a stopped poller)
    ├── StatusError           a request answered with a CIP error status (.status, .extended_status)
    ├── SimulatorError        a simulator that cannot be built or started, a bad element range
    │   ├── UnknownTagError   no such tag (also a LookupError)
    │   ├── TagSourceError    a tag, UDT, tag file, L5X or cpppo.cfg it cannot serve (a ValueError)
    │   └── TagFileError      a tag file, L5X or cpppo.cfg it cannot read (also an OSError)
    ├── InvalidValueError     a value that does not fit its tag's type (also a ValueError)
    ├── TimestampError        time text or a zone that does not parse (also a ValueError)
    ├── HistoryError          a history file that cannot be opened or (strict) a bad record
    ├── AutomataError         a machine that cannot be built, or input it cannot accept (.offset)
    └── ModbusError           a Modbus request answered with an exception code
"""

import builtins


class Error(Exception):
    """Base of every exception cpppo-rs raises."""


class OperationError(Error, ValueError):
    """An operation that does not parse or cannot be sent; the message names what is wrong."""


class CommunicationError(Error, ConnectionError):
    """The device could not be reached, closed the connection or sent a malformed reply."""


class TimeoutError(CommunicationError, builtins.TimeoutError):
    """No reply within the connector's timeout."""


class StatusError(Error):
    """A request answered with a CIP error status.

    ``status`` is the general status (eg. 5, "path destination unknown") and
    ``extended_status`` the list of extended status words (often empty).
    """

    def __init__(self, message, status, extended_status=()):
        super().__init__(message)
        self.status = status
        self.extended_status = list(extended_status)


class SimulatorError(Error):
    """A simulator that cannot be built or started, or a bad request to one."""


class UnknownTagError(SimulatorError, LookupError):
    """The simulator has no tag of that name."""


class TagSourceError(SimulatorError, ValueError):
    """A tag specification, structure (``udt``), tag JSON file, L5X file or cpppo.cfg that
    cannot be served; the message names it as the CLI does (``--udt: ...``)."""


class TagFileError(SimulatorError, OSError):
    """A tag JSON file, L5X file or cpppo.cfg that cannot be read; the message names it."""


class InvalidValueError(Error, ValueError):
    """A value that cannot be written as its tag's type."""


class TimestampError(Error, ValueError):
    """Time text that is not ``YYYY-mm-dd HH:MM:SS[.ffffff] [ZONE]``, an unknown or ambiguous
    zone, a local time a DST change skips or repeats, or a time outside years 1..9999."""


class HistoryError(Error):
    """A history file that cannot be opened, or (``strict=True``) a line that is not a record."""


class AutomataError(Error):
    """A machine that cannot be built, or input it cannot accept; ``offset`` is how many symbols
    had been consumed (``None`` when building)."""

    def __init__(self, message, offset=None):
        super().__init__(message)
        self.offset = offset
class PlcOffline(CommunicationError):
    """A Modbus PLC that cannot be reached (or a stopped poller), as cpppo's ``PlcOffline``."""


class ModbusError(Error):
    """A Modbus request answered with an exception code (or a malformed reply)."""
