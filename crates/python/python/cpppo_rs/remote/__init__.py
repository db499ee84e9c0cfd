"""Remote PLC I/O, as cpppo's ``cpppo.remote``: ``plc_modbus.poller_modbus``."""
