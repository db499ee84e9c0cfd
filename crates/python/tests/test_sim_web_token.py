"""``Simulator(web=..., web_token=...)``: the web API's changes need the token (as the CLI's
``--web-token``), reads do not; bad token options are refused at once."""
import json
import urllib.error
import urllib.request

import pytest

from cpppo_rs import errors
from cpppo_rs.enip import Simulator


def get(url, headers=None):
    """(HTTP status, JSON body) of a GET."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_changes_through_the_web_api_need_the_token():
    with Simulator(tags=["SCADA=INT[10]"], web="127.0.0.1:0", web_token="s3cret") as sim:
        host, port = sim.web_address
        assert sim.web_read_only is False
        api = f"http://{host}:{port}/api/tags/SCADA"
        status, body = get(f"{api}/attribute[3]=42")
        assert status == 403 and "token" in json.dumps(body)
        assert get(f"{api}/attribute[3]=42?token=wrong")[0] == 403
        assert sim.read("SCADA", 3, 1) == [0]
        status, body = get(f"{api}/attribute[3]=42?token=s3cret")
        assert status == 200 and body["command"]["success"] is True
        assert sim.read("SCADA", 3, 1) == [42]
        status, _ = get(f"{api}/attribute[4]=7", {"Authorization": "Bearer s3cret"})
        assert status == 200 and sim.read("SCADA", 4, 1) == [7]
        # Reading needs no token.
        assert get(api)[0] == 200


def test_without_a_token_the_loopback_web_api_takes_changes():
    with Simulator(tags=["SCADA=INT[10]"], web="127.0.0.1:0") as sim:
        host, port = sim.web_address
        assert sim.web_read_only is False
        assert get(f"http://{host}:{port}/api/tags/SCADA/attribute[1]=5")[0] == 200
        assert sim.read("SCADA", 1, 1) == [5]
    assert Simulator(tags=["A=INT"]).web_read_only is None


def test_bad_token_options_raise_simulator_error_naming_them():
    with pytest.raises(errors.SimulatorError, match="web_token.*web="):
        Simulator(tags=["A=INT"], web_token="s3cret")
    with pytest.raises(errors.SimulatorError, match="web_token must not be empty"):
        Simulator(tags=["A=INT"], web="127.0.0.1:0", web_token="")
