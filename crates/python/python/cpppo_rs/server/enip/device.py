"""Tag attributes with Python-defined behaviour, as cpppo's ``cpppo.server.enip.device``.

Subclass :class:`Attribute` and override ``__getitem__`` / ``__setitem__``; give the class to
``Simulator(attribute_class=...)`` or ``main(attribute_class=...)``, and every client read or
write of a tag calls your object (with a ``slice`` key: ``attr[start:stop]``). The call runs on a
server thread holding the GIL only for the call itself; an exception answers the client with
CIP status 0xFF (General Error) and logs one line on this module's logger, except
``cpppo_rs.errors.StatusError(message, status)``, which answers with ``status`` (no log line).
"""
import logging

from .parser import TYPES

log = logging.getLogger(__name__)

__all__ = ["Attribute"]


class Attribute:
    """A tag's value: a scalar, or (when ``default`` is a list) an array, of CIP type
    ``type_cls`` (a class of :mod:`cpppo_rs.server.enip.parser`; ``self.parser`` is an
    instance of it). The base class stores the values given; subclasses compute them.

    A non-zero ``error`` (a CIP status code) fails every client access with that status, as
    cpppo's; ``mask`` is kept for compatibility (not acted on). A callback may also answer with
    a chosen status by raising ``cpppo_rs.errors.StatusError(message, status)``.
    """

    def __init__(self, name, type_cls, default=0, error=0x00, mask=0):
        self.name = name
        self.parser = type_cls()
        self.default = default
        self.scalar = isinstance(default, (str, bytes)) or not hasattr(default, "__len__")
        self.error = error
        self.mask = mask

    @property
    def value(self):
        """The stored value (a scalar, or the list of elements)."""
        return self.default

    @value.setter
    def value(self, v):
        if not self.scalar:
            raise TypeError(f"{self.name}: assign elements of an array, not the whole value")
        self.default = type(self.default)(v)

    def __len__(self):
        return 1 if self.scalar else len(self.value)

    def __repr__(self):
        shape = "" if self.scalar else f"[{len(self)}]"
        return f"<{type(self).__name__} {self.name} {type(self.parser).__name__}{shape}>"

    def _validate_key(self, key):
        """``slice`` for a plain ``[start:stop]`` inside the attribute, ``int`` for an index
        inside it; a ``KeyError`` for anything else (steps, empty or out-of-range keys)."""
        n = len(self)
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1 and start < stop and key.stop in (None, stop):
                return slice
            raise KeyError(f"{self.name}: slice {key!r} is stepped, empty or beyond {n} element(s)")
        if isinstance(key, int) and 0 <= key < n:
            return int
        raise KeyError(f"{self.name}: index {key!r} is beyond {n} element(s)")

    def __getitem__(self, key):
        kind = self._validate_key(key)
        if self.scalar:
            return [self.value] if kind is slice else self.value
        return self.value[key]

    def __setitem__(self, key, value):
        kind = self._validate_key(key)
        if not self.scalar:
            self.value[key] = value
        elif kind is slice:
            self.value = next(iter(value))
        else:
            self.value = value


def _zero(type_name):
    if type_name in ("SSTRING", "STRING"):
        return ""
    if type_name in ("REAL", "LREAL"):
        return 0.0
    return 0


def _bind(name, type_name, length, array, attribute_class=None, attributes=None):
    """The Python object serving tag ``name`` (called by the simulator for each tag), or None
    to keep the tag's values in the Rust core: ``attributes[name]`` if given, else a new
    ``attribute_class`` (unless it is the plain, storing :class:`Attribute`)."""
    if attributes is not None and name in attributes:
        return attributes[name]
    if attribute_class is None or attribute_class is Attribute:
        return None
    zero = _zero(type_name)
    default = [zero] * length if array else zero
    return attribute_class(name=name, type_cls=TYPES[type_name], default=default)
