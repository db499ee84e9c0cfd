"""``poller_modbus``: background polling of a Modbus/TCP (or serial) PLC, as cpppo's."""
from typing import Any, List, Optional, Sequence, Tuple, Union

from ..errors import ModbusError as ModbusError, PlcOffline as PlcOffline

__all__: List[str]

class poller_modbus:
    """Polls the PLC at ``host:port`` as unit ``unit`` in the background."""

    description: str
    rate: float
    multi: bool
    unit: int
    def __init__(self, description: str, client: Any = ..., reach: int = ...,
                 multi: bool = ..., unit: Optional[int] = ..., host: Optional[str] = ...,
                 port: Optional[int] = ..., rate: Optional[float] = ...,
                 timeout: Optional[float] = ..., **kwargs: Any) -> None: ...
    def poll(self, address: int, rate: Optional[float] = ...) -> None:
        """Begin polling ``address``."""
    def read(self, address: int) -> Optional[int]:
        """The last polled value of ``address``, or None."""
    def write(self, address: int, value: Union[int, Sequence[int]], **kwargs: Any) -> None:
        """Write ``value`` from ``address`` on; blocks until answered."""
    @property
    def load(self) -> Tuple[float, float, float]:
        """(1-minute, 5-minute, 15-minute) polling load."""
    @property
    def online(self) -> bool:
        """True once a poll has succeeded, until the PLC stops answering."""
    @property
    def polling(self) -> List[Tuple[int, int]]:
        """The (first register, count) ranges being polled."""
    def stop(self) -> None:
        """Stop polling."""
    def join(self, timeout: Optional[float] = ...) -> None:
        """Stop polling."""
    def is_alive(self) -> bool:
        """Whether it is still polling."""
