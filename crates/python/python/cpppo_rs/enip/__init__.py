"""EtherNet/IP CIP: ``client`` (cpppo's ``cpppo.server.enip.client``), ``get_attribute``
(typed proxies), ``ab`` (PowerFlex), ``poll`` and ``Simulator``."""

from .._native import Simulator
from . import client
from . import get_attribute, ab, poll

__all__ = ["Simulator", "client", "get_attribute", "ab", "poll"]
