"""Issue 17 item 6: List Identity / Services / Interfaces and legacy 0x0001 replies in cpppo's
dotted-key form: our `enip_client` (and `cpppo enip client --format cpppo`) print exactly what
cpppo 5.2.5's enip_client prints, against our simulator and against cpppo's."""
from pathlib import Path

import pytest

from conftest import cpppo_bin, venv_tool
from fidelity_util import listening_port, run, start_cpppo, start_ours

FLAGS = {"tcp": ["-i", "-s", "-I", "-L", "1"], "udp": ["-u", "-i", "-s", "-I"]}


@pytest.fixture(params=["ours", "cpppo"])
def servers(request, spawn):
    """{"tcp": address, "udp": address} of one simulator (cpppo's binds port 0 twice)."""
    if request.param == "ours":
        address = start_ours(spawn, "--no-config", "SCADA=INT[10]")[1]
        return {"tcp": address, "udp": address}
    proc, address = start_cpppo(spawn, "SCADA=INT[10]")
    return {"tcp": address, "udp": f"127.0.0.1:{listening_port(proc.p.pid, 'udp')}"}


@pytest.mark.parametrize("mode", ["tcp", "udp"])
def test_enip_client_list_output_equals_cpppos(servers, mode):
    server = servers[mode]
    want = run([venv_tool("enip_client"), "-a", server, *FLAGS[mode]], timeout=30).stdout
    ours = Path(cpppo_bin()).with_name("enip_client")
    got = run([ours, "-a", server, *FLAGS[mode]], timeout=30).stdout
    assert got == want
    also = run([cpppo_bin(), "enip", "client", "--format", "cpppo", "-a", server, *FLAGS[mode]],
               timeout=30).stdout
    assert also == want
    assert "'item[0].identity_object.product_name': '1756-L61/B LOGIX5561'," in got
    if mode == "tcp":
        assert "'item[0].legacy_CPF_0x0001.ip_address':" in got
