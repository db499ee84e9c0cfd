"""cpppo's ``cpppo.server``: ``enip``."""
