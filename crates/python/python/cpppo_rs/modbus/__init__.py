"""Modbus/TCP: ``Simulator``, a simulated device started from Python (cpppo's ``modbus_sim``).
The poller is ``cpppo_rs.remote.plc_modbus.poller_modbus``."""
from .._native import ModbusSimulator as Simulator

__all__ = ["Simulator"]
