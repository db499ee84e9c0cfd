"""Issue 17 item 1: the TCP/IP object (0xF5) as cpppo 5.2.5 serves and reads it, configured by
the README's `[TCPIP]` section; cpppo's poll/get_attribute against our simulator and ours against
cpppo's."""
import ast
import re

import pytest

from conftest import venv_tool
from fidelity_util import ours, python, start_cpppo, start_ours

# The README's config, as written there (multi-line JSON).
SEED_CFG = """\
[Identity]
# Generally, strings are not quoted
Product Name          = 1756-L61/C LOGIX5561

[TCPIP]
# However, some complex structures require JSON configuration:
Interface Configuration = {
    "ip_address":      "192.168.0.201",
    "network_mask":    "255.255.255.0",
    "dns_primary":     "8.8.8.8",
    "dns_secondary":   "8.8.4.4",
    "domain_name":     "example.com"
}
Host Name              = controller
"""
# cpppo 5.2.5 fails to decode the multi-line JSON above (JSONDecodeError when attribute 5 is
# read), so its simulator gets the same values on one line.
ONE_LINE_CFG = """\
[Identity]
Product Name          = 1756-L61/C LOGIX5561

[TCPIP]
Interface Configuration = {"ip_address": "192.168.0.201", "network_mask": "255.255.255.0", \
"dns_primary": "8.8.8.8", "dns_secondary": "8.8.4.4", "domain_name": "example.com"}
Host Name              = controller
"""
ADDRESSES = ["192.168.0.201", "255.255.255.0", "0.0.0.0", "8.8.8.8", "8.8.4.4"]
# Attribute 5 as CIP encodes it: five UDINTs (little-endian), then the domain name STRING.
ATTR5 = [201, 0, 168, 192, 0, 255, 255, 255, 0, 0, 0, 0, 8, 8, 8, 8, 4, 4, 8, 8,
         11, 0, *b"example.com", 0]


@pytest.fixture
def servers(spawn, tmp_path):
    """Our simulator with the README's config and cpppo's with the same values: name -> address."""
    seed = tmp_path / "seed.cfg"
    seed.write_text(SEED_CFG)
    one = tmp_path / "one.cfg"
    one.write_text(ONE_LINE_CFG)
    _, our_addr = start_ours(spawn, "--no-config", "-c", seed, "SCADA=INT[10]")
    _, their_addr = start_cpppo(spawn, "-c", one, "SCADA=INT[10]")
    return {"ours": our_addr, "cpppo": their_addr}


def values_after_eq(out, attribute):
    """The value list printed for `attribute` by a get_attribute tool (`... @.. == [...]`)."""
    m = re.search(re.escape(attribute) + r" == (\[.*\])", out)
    assert m, out
    return ast.literal_eval(m.group(1))


@pytest.mark.parametrize("server", ["ours", "cpppo"])
def test_interface_configuration_bytes_are_udints_as_cpppo(servers, server):
    addr = servers[server]
    theirs = python("-m", "cpppo.server.enip.get_attribute", "-a", addr, "-S", "@0xF5/1/5").stdout
    assert values_after_eq(theirs, "@0x00F5/1/5") == ATTR5
    mine = ours("enip", "get-attribute", "-a", addr, "-S", "@0xF5/1/5").stdout
    assert values_after_eq(mine, "@0x00F5/1/5") == ATTR5


def tcpip_fields(line):
    """The TCPIP value printed by a poll, without the path (attribute 4: cpppo serves none)."""
    value = ast.literal_eval(line)
    assert len(value) == 11, line
    return value[:3] + value[4:]


EXPECTED = [2, 48, 0, *ADDRESSES, "example.com", "controller"]


@pytest.mark.parametrize("server", ["ours", "cpppo"])
def test_cpppo_poll_reads_tcpip_and_identity(servers, server, spawn):
    poll = spawn([venv_tool("python"), "-m", "cpppo.server.enip.poll", "-a", servers[server],
                  "TCPIP", "Identity"])
    tcpip = poll.wait_output(r"TCPIP: (\[.*\])\n", timeout=30).group(1)
    assert tcpip_fields(tcpip) == EXPECTED
    identity = poll.wait_output(r"Identity: (\[.*\])\n", timeout=30).group(1)
    assert ast.literal_eval(identity)[6] == "1756-L61/C LOGIX5561"


@pytest.mark.parametrize("server", ["ours", "cpppo"])
def test_our_poll_reads_tcpip_and_identity(servers, server):
    out = ours("enip", "poll", "-a", servers[server], "--cycles", "1", "TCPIP", "Identity",
               timeout=30).stdout
    tcpip = re.search(r"TCPIP: (\[.*\])\n", out)
    assert tcpip, out
    assert tcpip_fields(tcpip.group(1)) == EXPECTED
    identity = re.search(r"Identity: (\[.*\])\n", out)
    assert identity, out
    assert ast.literal_eval(identity.group(1))[6] == "1756-L61/C LOGIX5561"


def test_our_path_attribute_prints_as_cpppo_segments(servers):
    out = ours("enip", "poll", "-a", servers["ours"], "--cycles", "1", "TCPIP", timeout=30).stdout
    tcpip = re.search(r"TCPIP: (\[.*\])\n", out)
    assert tcpip, out
    assert ast.literal_eval(tcpip.group(1))[3] == [{"class": 246}, {"instance": 1}]
