"""cpppo's ``cpppo.remote``: ``plc`` and ``plc_modbus``."""
