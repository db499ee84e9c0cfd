"""Tag attributes with Python-defined behaviour, as cpppo's ``cpppo.server.enip.device``."""
import logging
from typing import Any, List, Type

from .parser import TYPE

log: logging.Logger
__all__: List[str]

class Attribute:
    """A tag's value: a scalar or an array of CIP type ``type_cls``."""

    name: str
    parser: TYPE
    default: Any
    scalar: bool
    error: int
    mask: int
    def __init__(self, name: str, type_cls: Type[TYPE], default: Any = ..., error: int = ...,
                 mask: int = ...) -> None: ...
    @property
    def value(self) -> Any:
        """The stored value (a scalar, or the list of elements)."""
    @value.setter
    def value(self, v: Any) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, key: Any) -> Any: ...
    def __setitem__(self, key: Any, value: Any) -> None: ...
