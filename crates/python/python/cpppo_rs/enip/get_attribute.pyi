from types import TracebackType
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

from .client import Operation, connector

#: A CIP type name (``"REAL"``, ``"SSTRING"``, ``"IPADDR"``, ``"EPATH"``) or a list of them.
Types = Union[str, Sequence[str]]
#: A tag/address, or ``(address, types[, units])``.
Attribute = Union[str, tuple[str, Optional[Types]], tuple[str, Optional[Types], Optional[str]]]

def attribute_operations(paths: Iterable[str], **kwds: Any) -> list[Operation]:
    """Parses numeric addresses for the attribute services (blanks in them ignored)."""

class proxy:
    """A CIP device behind a routing controller, read and written by parameter name."""

    class parameter(NamedTuple):
        attribute: str
        types: Optional[Types]
        units: Optional[str]

    PARAMETERS: dict[str, "proxy.parameter"]
    SIMPLE: bool
    host: str
    port: int
    timeout: float
    depth: int
    multiple: int
    gateway: Optional[connector]
    identity: Any
    identity_default: Any
    def __init__(self, host: str, port: int = 44818, timeout: Optional[float] = None,
                 depth: Optional[int] = None, multiple: Optional[int] = None,
                 route_path: Union[None, str, bool, list[Any]] = None,
                 send_path: Optional[str] = None, identity_default: Any = None,
                 connected: bool = False, **kwds: Any) -> None: ...
    def __enter__(self) -> "proxy": ...
    def __exit__(self, typ: Optional[type[BaseException]], val: Optional[BaseException],
                 tbk: Optional[TracebackType]) -> bool: ...
    def open_gateway(self) -> None:
        """Opens the session if needed and learns the identity."""
    def close_gateway(self, exc: Optional[BaseException] = None) -> None:
        """Closes the session; the next use reopens it."""
    def list_identity(self) -> Any:
        """List Identity; the identity (``.product_name``, ...)."""
    def parameter_substitution(self, iterable: Union[str, Iterable[Attribute]],
                               parameters: Optional[dict[str, Any]] = None,
                               pass_thru: Optional[bool] = None) -> Iterator[Attribute]:
        """Named parameters as ``(address, types, units)``."""
    def read(self, attributes: Union[str, Iterable[Attribute]], printing: bool = False,
             checking: bool = False) -> Iterator[Optional[Union[list[Any], bool]]]:
        """Each attribute's values (``True`` for a write, ``None`` for a failure)."""
    def write(self, attributes: Union[str, Iterable[Attribute]], printing: bool = False,
              checking: bool = False) -> Iterator[Optional[Union[list[Any], bool]]]:
        """``read`` of ``Name = (TYPE)value`` items."""
    def read_details(self, attributes: Union[str, Iterable[Attribute]]) -> Iterator[
            tuple[Any, tuple[Any, tuple[str, Optional[Types], Optional[str]]]]]:
        """``(value, (status, (address, types, units)))`` for each."""
    @staticmethod
    def is_request(req: Any) -> bool:
        """Whether ``req`` is a tag/address or an ``(address, types[, units])``."""

class proxy_simple(proxy):
    """A simple (non-routing) CIP device."""

class proxy_connected(proxy):
    """A proxy over a class 3 (Forward Open) connection."""
