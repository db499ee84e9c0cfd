from types import TracebackType
from typing import Optional, Sequence, Union

class Simulator:
    """A simulated Modbus/TCP device serving ``registers`` (cpppo's ``modbus_sim`` ranges,
    eg. ``"40001-40100=99"``, ``"1-16=1"``), started at once on ``address`` (``HOST:PORT``;
    port 0: any free port, see ``address``). ``units`` limits the unit ids answered (default:
    all); ``delay`` is a ``(lo, hi)`` reply delay in seconds. Raises ``SimulatorError`` if it
    cannot be built or bound.
    """

    def __init__(self, registers: Sequence[str] = ..., address: str = "127.0.0.1:0",
                 units: Sequence[int] = (), delay: Optional[tuple[float, float]] = None) -> None: ...
    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``."""
    @property
    def running(self) -> bool:
        """Whether it is still serving."""
    def read(self, register: int, count: int = 1) -> list[int]:
        """``count`` values from register number ``register`` (coils and inputs as 0/1)."""
    def write(self, register: int, values: Union[int, bool, Sequence[Union[int, bool]]]) -> None:
        """Writes values from register number ``register`` on (any table, inputs included)."""
    def stop(self) -> None:
        """Stops serving and closes its sockets (idempotent); the registers stay readable."""
    def __enter__(self) -> "Simulator": ...
    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> bool: ...
