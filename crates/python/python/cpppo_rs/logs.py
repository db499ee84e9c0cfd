"""cpppo's logging conventions: ``log_cfg`` (the ``logging.basicConfig`` keywords cpppo's scripts
pass), the extra levels ``NORMAL``/``DETAIL``/``TRACE`` and ``logging.normal``/``detail``/``trace``
(module and ``Logger`` methods), and ``timer``.  Importing ``cpppo_rs`` installs the levels, so a
seed script's ``logging.detail(...)`` works unchanged."""
import logging
import sys
import time

__all__ = ["log_cfg", "timer"]

#: Keyword arguments for ``logging.basicConfig(**log_cfg)``: the same keys and values as cpppo's.
log_cfg = {
    "level": logging.WARNING,
    "datefmt": "%m-%d %H:%M:%S",
    "format": "%(asctime)s.%(msecs).03d %(threadName)10.10s %(name)-8.8s %(levelname)-8.8s "
              "%(funcName)-10.10s %(message)s",
}

#: The clock cpppo's scripts time themselves with (wall-clock seconds).
timer = time.time

# How many frames up logging must look for the caller: before 3.11 it starts from the frame that
# called Logger._log (ours), since 3.11 it skips logging's own frames and then ours.
_STACK = 2 if sys.version_info >= (3, 11) else 1

_LEVELS = {"normal": logging.INFO + 5, "detail": logging.INFO + 3, "trace": logging.NOTSET + 5}


def _install(name, level):
    setattr(logging, name.upper(), level)
    logging.addLevelName(level, name.upper())

    def method(self, msg, *args, **kwargs):
        if self.isEnabledFor(level):
            self._log(level, msg, args, stacklevel=_STACK, **kwargs)

    def root(msg, *args, **kwargs):
        if not logging.root.handlers:
            logging.basicConfig()
        if logging.root.isEnabledFor(level):
            logging.root._log(level, msg, args, stacklevel=_STACK, **kwargs)

    method.__name__ = root.__name__ = name
    if not hasattr(logging.Logger, name):
        setattr(logging.Logger, name, method)
    if not hasattr(logging, name):
        setattr(logging, name, root)


for _name, _level in _LEVELS.items():
    _install(_name, _level)
