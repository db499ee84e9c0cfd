from types import TracebackType
from typing import Any, Iterable, Iterator, Optional, TypeVar, Union

from ..errors import CommunicationError as CommunicationError
from ..errors import Error as Error
from ..errors import OperationError as OperationError
from ..errors import StatusError as StatusError
from ..errors import TimeoutError as TimeoutError

Value = Union[int, float, bool, str]
#: The general status, or ``(status, (extended, ...))``.
Status = Union[int, tuple[int, tuple[int, ...]]]
#: ``(index, description, request, reply, status, value)``; value: list of values read,
#: ``True`` for a successful write, ``None`` for a failure.
Transaction = tuple[int, str, bytes, bytes, Status, Optional[Union[list[Any], bool]]]
Operations = Iterable[Union[str, "Operation"]]

class Operation:
    """One parsed operation in cpppo's syntax (``Tag[0-9]+16=(DINT)4,5``, ``@1/1/7``)."""

    def __init__(self, text: str, route_path: Optional[str] = None,
                 send_path: Optional[str] = None) -> None: ...
    @property
    def text(self) -> str: ...
    @property
    def route_path(self) -> Optional[str]:
        """Its own route path as given (``None``: its connector's)."""
    @property
    def send_path(self) -> Optional[str]:
        """Its own send path as given (``None``: its connector's; ``""``: none)."""
    @property
    def method(self) -> str:
        """``'read'`` or ``'write'``."""
    @property
    def elements(self) -> int: ...

Path = Union[str, bool, dict[str, Any], list[Any], None]

_T = TypeVar("_T")

class Results(Iterator[_T]):
    """A pipeline's results, each yielded as its reply arrives. Holds its connector until it
    ends; ``close()`` (or dropping it, eg. ``break``) ends it early, reading and dropping the
    replies still in flight."""

    def __iter__(self) -> "Results[_T]": ...
    def __next__(self) -> _T: ...
    def close(self) -> None: ...

def parse_operations(tags: Operations, route_path: Path = None,
                     send_path: Path = None) -> list[Operation]:
    """Parses operation strings (OperationError names the bad one); ``route_path`` /
    ``send_path`` are stamped on each (a pipeline routes it so; ``None``: the connector's)."""

class connector:
    """A registered EtherNet/IP CIP session with one controller (a context manager)."""

    host: str
    port: int
    timeout: Optional[float]
    def __init__(self, host: str = "localhost", port: int = 44818,
                 timeout: Optional[float] = 5.0, udp: bool = False, broadcast: bool = False,
                 simple: bool = False, connected: bool = False,
                 route_path: Union[None, str, bool, list[Any], dict[str, Any]] = None,
                 send_path: Union[None, str, bool] = None) -> None: ...
    def __enter__(self) -> "connector": ...
    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def address(self) -> tuple[str, int]: ...
    def pipeline(self, operations: Operations, depth: int = 1, multiple: int = 0,
                 fragment: bool = False, timeout: Optional[float] = None,
                 attributes: bool = False) -> Results[Transaction]: ...
    def synchronous(self, operations: Operations, multiple: int = 0, fragment: bool = False,
                    timeout: Optional[float] = None,
                    attributes: bool = False) -> Results[Transaction]: ...
    def results(self, operations: Operations, depth: int = 1, multiple: int = 0,
                fragment: bool = False, timeout: Optional[float] = None,
                attributes: bool = False) -> Results[Any]: ...
    def process(self, operations: Operations, depth: int = 0, multiple: int = 0,
                fragment: bool = False, printing: bool = False,
                timeout: Optional[float] = None,
                attributes: bool = False) -> tuple[int, list[Any]]: ...
    def read(self, tag: str) -> list[Value]: ...
    def write(self, operation: str) -> None: ...
    def get_attribute_single(self, cls: int, instance: int, attribute: int) -> bytes: ...
    def get_attributes_all(self, cls: int, instance: int) -> bytes: ...
    def set_attribute_single(self, cls: int, instance: int, attribute: int,
                             data: Union[bytes, Iterable[int]]) -> None: ...
    def read_many(self, operations: Operations, depth: int = 20, multiple: int = 4000,
                  fragment: bool = False) -> list[Optional[Union[list[Any], bool]]]:
        """Every operation in one call; the values, as ``results``."""
    def list_identity(self) -> list[dict[str, Any]]: ...
    def list_services(self) -> list[dict[str, Any]]: ...
    def list_interfaces(self) -> list[dict[str, Any]]: ...
