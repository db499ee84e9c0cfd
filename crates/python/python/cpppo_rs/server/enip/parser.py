"""CIP elementary data types by name, as cpppo's ``cpppo.server.enip.parser`` classes.

Here they only name a tag's type: ``Attribute(name, REAL)`` makes ``attribute.parser`` a
``REAL()`` (so ``isinstance(attribute.parser, REAL)`` works as in cpppo); encoding and decoding
happen in the Rust core.
"""

__all__ = ["TYPE", "BOOL", "SINT", "USINT", "INT", "UINT", "DINT", "UDINT", "LINT", "ULINT",
           "REAL", "LREAL", "BYTE", "WORD", "DWORD", "LWORD", "SSTRING", "STRING", "TYPES"]


class TYPE:
    """A CIP data type; ``tag_type`` is its type code, the class name its CIP name."""
    tag_type = 0

    def __repr__(self):
        return f"{type(self).__name__}()"


def _type(name, code, base=TYPE, doc=""):
    return type(name, (base,), {"tag_type": code, "__doc__": doc or f"CIP {name} (0x{code:02X})"})


BOOL = _type("BOOL", 0xC1)
SINT = _type("SINT", 0xC2)
INT = _type("INT", 0xC3)
DINT = _type("DINT", 0xC4)
LINT = _type("LINT", 0xC5)
USINT = _type("USINT", 0xC6)
UINT = _type("UINT", 0xC7)
UDINT = _type("UDINT", 0xC8)
ULINT = _type("ULINT", 0xC9)
REAL = _type("REAL", 0xCA)
LREAL = _type("LREAL", 0xCB)
STRING = _type("STRING", 0xD0)
BYTE = _type("BYTE", 0xD1)
WORD = _type("WORD", 0xD2)
DWORD = _type("DWORD", 0xD3)
LWORD = _type("LWORD", 0xD4)
SSTRING = _type("SSTRING", 0xDA)

#: Type classes by CIP name.
TYPES = {t.__name__: t for t in (BOOL, SINT, INT, DINT, LINT, USINT, UINT, UDINT, ULINT, REAL,
                                  LREAL, STRING, BYTE, WORD, DWORD, LWORD, SSTRING)}
