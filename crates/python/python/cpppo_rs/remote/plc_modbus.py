"""``poller_modbus``: background polling of a Modbus/TCP PLC, as cpppo's
``cpppo.remote.plc_modbus.poller_modbus``, on the Rust poller (its own thread; no GIL held
while polling or waiting for a write)."""
from .._native import ModbusPoller
from ..errors import ModbusError, PlcOffline

__all__ = ["poller_modbus", "PlcOffline", "ModbusError"]


class poller_modbus:  # noqa: N801 (cpppo's name)
    """Polls the PLC at ``host:port`` (default localhost:502) as unit ``unit`` (default 0) in
    the background, starting at once.

    - ``poll(address, rate=None)``: poll register number ``address`` (40001, 1, 30001, ...);
      a faster ``rate`` (seconds) speeds up all polling.
    - ``read(address)``: the last polled value (polling it from now on); ``None`` until the
      first poll answers or while the PLC is offline.
    - ``write(address, value)``: write one value or a sequence between polls; returns once the
      PLC answered. ``PlcOffline`` when it cannot be reached, ``ModbusError`` when it refuses.
    - ``load``: the (1, 5, 15 minute) fraction of the PLC's I/O capacity used by polling.

    ``reach`` merges registers that close into one request; ``timeout`` (seconds, default 1)
    bounds each connect and reply.

    ``client`` is an already-made pymodbus (3.x) client, as cpppo takes: a
    ``ModbusTcpClient`` (its host and port are polled) or a ``ModbusSerialClient`` (its
    serial port, baud rate, parity, stop bits and RTU or ASCII framer; ``unit`` must then be
    1-247). Its settings are used, not the object: the Rust poller opens its own connection
    or serial line, so close the pymodbus client (or leave it unconnected) first. Without a
    ``timeout``, the client's connect timeout is used.
    """

    def __init__(self, description, client=None, reach=100, multi=False, unit=None,
                 host=None, port=None, rate=None, timeout=None, **kwargs):
        self.description = description
        self.rate = 1.0 if rate is None else rate
        self.multi = multi
        self.unit = 0 if unit is None else unit
        target = {} if client is None else _settings_of(client)
        if timeout is None:
            timeout = target.pop("timeout", None) or 1.0
        else:
            target.pop("timeout", None)
        address = target.pop("address", None) or \
            f"{host or 'localhost'}:{502 if port is None else port}"
        self._poller = ModbusPoller(address, unit=self.unit, rate=self.rate, reach=reach,
                                    timeout=timeout, **target)

    def poll(self, address, rate=None):
        """Begin polling ``address`` (at ``rate`` seconds, if faster than the current rate)."""
        if rate is not None:
            self.rate = min(self.rate, rate)
        self._poller.poll(address, rate)

    def read(self, address):
        """The last polled value of ``address``, or None (not yet polled, or offline)."""
        return self._poller.read(address)

    def write(self, address, value, **kwargs):
        """Write ``value`` (one, or a sequence) from ``address`` on; blocks until answered."""
        self._poller.write(address, value)

    @property
    def load(self):
        """(1-minute, 5-minute, 15-minute) polling load, each 0.0 to 1.0."""
        return self._poller.load

    @property
    def online(self):
        """True once a poll has succeeded, until the PLC stops answering."""
        return self._poller.online

    @property
    def polling(self):
        """The (first register, count) ranges being polled."""
        return self._poller.polling

    def stop(self):
        """Stop polling."""
        self._poller.stop()

    def join(self, timeout=None):
        """Stop polling (cpppo's poller is a thread; ours stops at once)."""
        self.stop()

    def is_alive(self):
        """Whether it is still polling."""
        return self._poller.alive


def _settings_of(client):
    """What the Rust poller needs from a pymodbus client: ``address`` (``HOST:PORT``, or the
    serial device), ``timeout``, and for a serial client ``serial``, ``baud``, ``parity``,
    ``stopbits``, ``ascii``."""
    params = getattr(client, "comm_params", None)
    kind = getattr(getattr(params, "comm_type", None), "name", None)
    if kind is None:
        raise TypeError("poller_modbus: client= takes a pymodbus (3.x) ModbusTcpClient or "
                        "ModbusSerialClient, not %s" % type(client).__name__)
    timeout = getattr(params, "timeout_connect", None)
    if kind == "TCP":
        host = params.host
        host = "[%s]" % host if ":" in host else host
        return {"address": "%s:%d" % (host, params.port), "timeout": timeout}
    if kind == "SERIAL":
        if params.bytesize not in (8, -1, None):
            raise ValueError("poller_modbus: a serial line of %s data bits is not supported "
                             "(8 only)" % params.bytesize)
        framer = type(getattr(client, "framer", None)).__name__.lower()
        return {"address": params.host, "timeout": timeout, "serial": params.host,
                "baud": params.baudrate, "parity": params.parity or "N",
                "stopbits": params.stopbits, "ascii": "ascii" in framer}
    raise ValueError("poller_modbus: a pymodbus %s client is not supported (TCP or serial "
                     "only)" % kind)
