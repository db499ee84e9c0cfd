"""EtherNet/IP CIP: ``client`` (cpppo's ``cpppo.server.enip.client``) and ``Simulator``."""

from .._native import Simulator
from . import client

__all__ = ["Simulator", "client"]
