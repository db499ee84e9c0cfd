import os
from types import TracebackType
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from . import ab as ab
from . import client as client
from . import get_attribute as get_attribute
from . import poll as poll

Value = Union[int, float, bool, str]

#: The default EtherNet/IP address (all interfaces, port 44818), as cpppo's.
address: Tuple[str, int]

class Simulator:
    """A simulated EtherNet/IP CIP controller (a Logix-like PLC) serving tags, started at once.

    ``tags`` are cpppo's ``NAME=TYPE[LEN]`` (or ``NAME@CLASS/INSTANCE/ATTRIBUTE=TYPE``)
    specifications; ``address`` is ``HOST:PORT`` (port 0: any free port; see ``address``).
    ``config`` is a cpppo.cfg file or a list of them, read in order as ``enip_server --config``
    reads them (identity, routes, ``[Tags]``, ``[Logix]`` UDTs, ``Defined Tags``, ``L5X``,
    ``[I/O]``); none by default, unlike ``enip_server``. ``udt`` defines Logix structures
    (``"Motor{Speed:REAL, Running:BOOL}"``, then ``tags=["M1=Motor"]``); ``defined_tags`` serves
    a pycomm3 tag JSON file and ``l5x`` a Studio 5000 export, as the CLI's ``--udt``, ``-D``
    and ``--l5x``. A file it cannot read raises ``TagFileError`` (an ``OSError``), a source it
    cannot serve ``TagSourceError`` (a ``ValueError``); both are ``SimulatorError``s.
    ``route_path`` is cpppo's ``--route-path`` (``"1/0"``, JSON, or ``"0"``/``"false"``);
    ``simple`` serves only an empty route path. ``web`` starts the web API on
    ``[HOST]:[PORT]`` (port 0 allowed; see ``web_address``); with ``web_token`` every
    request that changes the simulator must carry it (``?token=TOKEN`` or
    ``Authorization: Bearer TOKEN``, the CLI's ``--web-token``), else it is refused (403).
    Off loopback without a token the web API refuses every change. ``io`` serves class 1 I/O
    (``"[HOST][:PORT]"``, or ``False`` for none; by default when a tag is an assembly);
    ``input_only_point`` and ``listen_only_point`` are its O->T heartbeat points (238 and 237,
    or cpppo.cfg's ``[I/O]``), the CLI's ``--input-only-point`` and ``--listen-only-point``;
    anything but an instance number 1..4294967295 raises ``ValueError``. ``attribute_class`` (a
    ``cpppo_rs.server.enip.device.Attribute`` subclass) and ``attributes`` (tag name -> any
    object with ``__getitem__``/``__setitem__``) give tags Python-defined behaviour.
    Raises ``SimulatorError`` if it cannot be built or bound. Stops on ``stop()``, on leaving
    the ``with`` block, when garbage collected, or at interpreter exit.
    """

    def __init__(self, tags: Sequence[str] = ..., address: str = "127.0.0.1:0",
                 udp: bool = False, profile: Optional[str] = None,
                 delay: Optional[tuple[float, float]] = None,
                 config: Union[None, str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]] = None,
                 route_path: Optional[str] = None,
                 simple: bool = False, web: Optional[str] = None,
                 attribute_class: Optional[type] = None,
                 attributes: Optional[Mapping[str, Any]] = None,
                 web_token: Optional[str] = None,
                 io: Union[None, bool, str] = None,
                 udt: Sequence[str] = (),
                 defined_tags: Union[None, str, "os.PathLike[str]"] = None,
                 l5x: Union[None, str, "os.PathLike[str]"] = None,
                 input_only_point: Optional[int] = None,
                 listen_only_point: Optional[int] = None) -> None: ...
    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``."""
    @property
    def web_address(self) -> Optional[tuple[str, int]]:
        """The web API's bound ``(host, port)``, or None without ``web``."""
    @property
    def web_read_only(self) -> Optional[bool]:
        """Whether the web API refuses every change (off loopback without ``web_token``);
        None without ``web``."""
    @property
    def running(self) -> bool:
        """Whether it is still serving."""
    @property
    def tags(self) -> list[str]:
        """The tag names, as declared."""
    def read(self, name: str, start: int = 0, count: Optional[int] = None) -> list[Any]:
        """Elements ``start .. start+count`` of tag ``name`` (UnknownTagError, SimulatorError).
        ``name`` may be an element (``"SCADA[3]"``: one by default) or a path into a structure
        tag (``"M1.Speed"``, ``"Motors[2].Faults"``; a structure is a dict of its members); a
        structure tag's own name reads its bytes (SINT values)."""
    def write(self, name: str, values: Any, start: int = 0) -> None:
        """Writes values from element ``start`` (UnknownTagError, SimulatorError,
        InvalidValueError, TypeError); ``name`` as for ``read``: a structure takes a dict of
        some of its members, a STRING member text."""
    def stop(self) -> None:
        """Stops serving and closes its sockets (idempotent)."""
    def __enter__(self) -> "Simulator": ...
    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> bool: ...
