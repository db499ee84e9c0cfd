"""EtherNet/IP CIP server side, as cpppo's ``cpppo.server.enip``."""
from typing import List

from . import device as device
from ...enip import (address as address, ab as ab, client as client,
                     get_attribute as get_attribute, poll as poll)
from .parser import (
    TYPE as TYPE,
    BOOL as BOOL,
    SINT as SINT,
    USINT as USINT,
    INT as INT,
    UINT as UINT,
    DINT as DINT,
    UDINT as UDINT,
    LINT as LINT,
    ULINT as ULINT,
    REAL as REAL,
    LREAL as LREAL,
    BYTE as BYTE,
    WORD as WORD,
    DWORD as DWORD,
    LWORD as LWORD,
    SSTRING as SSTRING,
    STRING as STRING,
    TYPES as TYPES,
)

__all__: List[str]
