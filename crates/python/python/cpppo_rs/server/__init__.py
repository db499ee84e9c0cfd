"""Servers: ``cpppo_rs.server.enip`` mirrors cpppo's ``cpppo.server.enip``."""
