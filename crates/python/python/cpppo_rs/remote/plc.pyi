"""The poller's exceptions, as cpppo's ``cpppo.remote.plc``."""
from typing import List

from ..errors import PlcOffline as PlcOffline

__all__: List[str]
