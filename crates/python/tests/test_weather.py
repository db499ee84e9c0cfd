"""Python-defined attribute behaviour: cpppo's weather example (device.Attribute subclass) with
only its imports changed, against a fake weather source; writes reaching Python; a callback
that raises; other sessions not waiting for a slow callback."""
import http.server
import json
import logging
import os
import sys
import threading
import time
import urllib.parse

import pytest
from pycomm3 import LogixDriver
from pylogix import PLC

from cpppo_rs import errors
from cpppo_rs.enip import Simulator, client
from cpppo_rs.server.enip import INT, REAL, device

# cpppo 5.2.5's cpppo/server/enip/weather.py, imports changed (cpppo -> cpppo_rs), else as is.
WEATHER = r'''
import sys, logging, json
try: # Python2
    from urllib2 import urlopen
    from urllib import urlencode
except ImportError: # Python3
    from urllib.request import urlopen
    from urllib.parse import urlencode

from cpppo_rs.server.enip import device, REAL
from cpppo_rs.server.enip.main import main as enip_main

class Attribute_weather( device.Attribute ):
    OPT                         = {
        "appid": "078b5bd46e99c890482fc1252e9208d5",
        "units": "metric",
        "mode":  "json",
    }
    URI                         = "http://api.openweathermap.org/data/2.5/weather"

    def url( self, **kwds ):
        """Produce a url by joining the class' URI and OPTs with any keyword parameters"""
        return self.URI + "?" + urlencode( dict( self.OPT, **kwds ))

    def __getitem__( self, key ):
        """Obtain the temperature of the city's matching our Attribute's name, convert
        it to an appropriate type; return a value appropriate to the request."""
        try:
            # eg. "http://api.openweathermap.org/...?...&q=City Name"
            data                = urlopen( self.url( q=self.name )).read()
            if type( data ) is not str: # Python3 urlopen.read returns bytes
                data            = data.decode( 'utf-8' )
            weather             = json.loads( data )
            assert weather.get( 'cod' ) == 200 and 'main' in weather, \
                weather.get( 'message', "Unknown error obtaining weather data" )
            cast                = float if isinstance( self.parser, REAL ) else int
            temperature         = cast( weather['main']['temp'] )
        except Exception as exc:
            logging.warning( "Couldn't get temperature for %s via %r: %s",
                             self.name, self.url( q=self.name ), exc )
            raise
        return [ temperature ] if self._validate_key( key ) is slice else temperature

    def __setitem__( self, key, value ):
        raise Exception( "Changing the weather isn't that easy..." )

sys.exit( enip_main( attribute_class=Attribute_weather ))
'''

TEMPERATURES = {"London": 15.25, "Paris": 21}


class FakeWeather(http.server.BaseHTTPRequestHandler):
    """Answers any weather URL (asked of it as an HTTP proxy) for the cities it knows."""

    def do_GET(self):
        city = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("q", [""])[0]
        if city in TEMPERATURES:
            body = {"cod": 200, "main": {"temp": TEMPERATURES[city]}, "name": city}
        else:
            body = {"cod": "404", "message": "city not found"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def weather_source():
    """A fake weather service on 127.0.0.1 (port of its choosing): its proxy URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeWeather)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_weather_example_runs_with_import_changes_only(spawn, tmp_path, weather_source):
    script = tmp_path / "weather.py"
    script.write_text(WEATHER)
    # The script asks api.openweathermap.org; the fake source answers as its HTTP proxy.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["http_proxy"] = weather_source
    proc = spawn([sys.executable, script, "-a", "127.0.0.1:0", "--no-udp",
                  "London=REAL", "Paris=INT", "Atlantis=REAL"], env=env)
    port = proc.port()
    with LogixDriver(f"127.0.0.1:{port}/0") as plc:
        assert plc.read("London").value == 15.25
        assert plc.read("Paris").value == 21
        # No such city: the client gets an error status, the server one warning and goes on.
        assert plc.read("Atlantis").error
        # Changing the weather isn't that easy: the write fails with General Error.
        assert plc.write("London", 30.0).error
    with client.connector("127.0.0.1", port) as conn:
        assert conn.read("London") == [15.25]
        with pytest.raises(errors.StatusError) as e:
            conn.write("London=(REAL)30")
        assert e.value.status == 0xFF
    out = proc.output()
    assert "Couldn't get temperature for Atlantis" in out, out
    assert "London write [0:1] failed: Exception: Changing the weather isn't that easy" in out
    assert proc.p.poll() is None  # still serving


class Recorded(device.Attribute):
    """Stores like the base class, and records every write it receives."""
    writes = []

    def __setitem__(self, key, value):
        Recorded.writes.append((self.name, key.start, key.stop, list(value)))
        super().__setitem__(key, value)


def test_writes_from_clients_reach_python_and_reads_return_its_values():
    Recorded.writes = []
    with Simulator(tags=["SCADA=INT[10]", "T=REAL"], attribute_class=Recorded) as sim:
        with LogixDriver(f"127.0.0.1:{sim.address[1]}/0") as plc:
            assert plc.write("SCADA[2]{3}", [7, 8, 9]).error is None
            assert plc.write("T", 2.5).error is None
            assert plc.read("SCADA{5}").value == [0, 0, 7, 8, 9]
        comm = PLC()
        comm.IPAddress, comm.Port = sim.address
        with comm:  # pylogix too
            assert comm.Write("SCADA[0]", 4).Status == "Success"
            assert comm.Read("T").Value == 2.5
        assert Recorded.writes == [("SCADA", 2, 5, [7, 8, 9]), ("T", 0, 1, [2.5]),
                                   ("SCADA", 0, 1, [4])]
        # The simulator's own read and write go through the object too.
        sim.write("SCADA", [1, 2], start=8)
        assert sim.read("SCADA", 7) == [0, 1, 2]
        assert Recorded.writes[-1] == ("SCADA", 8, 10, [1, 2])


class Counter:
    """Any object with __getitem__/__setitem__ serves a tag (no device.Attribute needed)."""

    def __init__(self):
        self.n = 0

    def __getitem__(self, key):
        self.n += 1
        return [self.n] * (key.stop - key.start)

    def __setitem__(self, key, value):
        self.n = list(value)[0]


def test_attributes_maps_tags_to_any_python_object():
    counter = Counter()
    with Simulator(tags=["COUNT=DINT", "PLAIN=INT"], attributes={"COUNT": counter}) as sim:
        with client.connector(*sim.address) as conn:
            assert conn.read("COUNT") == [1]
            assert conn.read("COUNT") == [2]
            conn.write("COUNT=(DINT)100")
            assert conn.read("COUNT") == [101]
            conn.write("PLAIN=(INT)5")  # not in attributes: stored in the core
            assert conn.read("PLAIN") == [5]
    assert counter.n == 101


class Broken(device.Attribute):
    def __getitem__(self, key):
        if self.name == "RAISES":
            raise RuntimeError("sensor unplugged")
        if self.name == "WRONG":
            return ["not a number"]
        return [70000]  # out of range for INT


def test_failing_callbacks_give_the_client_an_error_status_and_one_log_line(caplog):
    caplog.set_level(logging.WARNING, logger="cpppo_rs.server.enip.device")
    with Simulator(tags=["RAISES=INT", "WRONG=INT", "BIG=INT", "OK=INT"],
                   attributes={"OK": [5]}, attribute_class=Broken) as sim:
        with client.connector(*sim.address) as conn:
            for tag in ("RAISES", "WRONG", "BIG"):
                with pytest.raises(errors.StatusError) as e:
                    conn.read(tag)
                assert e.value.status == 0xFF
            assert conn.read("OK") == [5]  # the session and the server go on
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "RAISES read [0:1] failed: RuntimeError: sensor unplugged"
    assert lines[1] == 'WRONG read [0:1] failed: ValueError: "not a number" is not a valid INT'
    assert lines[2] == "BIG read [0:1] failed: ValueError: 70000 is out of range for INT"
    assert len(lines) == 3


class Slow(device.Attribute):
    started = threading.Event()
    release = threading.Event()

    def __getitem__(self, key):
        Slow.started.set()
        Slow.release.wait(10)
        return [1]


def test_a_slow_callback_does_not_hold_up_other_sessions():
    Slow.started.clear()
    Slow.release.clear()
    with Simulator(tags=["SLOW=INT", "FAST=INT"], attributes={"FAST": [3]},
                   attribute_class=Slow) as sim:
        result = {}

        def slow_read():
            with client.connector(*sim.address, timeout=15) as conn:
                result["slow"] = conn.read("SLOW")
        t = threading.Thread(target=slow_read)
        t.start()
        try:
            assert Slow.started.wait(5)
            began = time.monotonic()
            with LogixDriver(f"127.0.0.1:{sim.address[1]}/0") as plc:
                fast = [plc.read("FAST").value for _ in range(20)]
            took = time.monotonic() - began
            assert fast == [3] * 20
            assert "slow" not in result  # the slow callback was still running meanwhile
        finally:
            Slow.release.set()
            t.join(15)
        assert result["slow"] == [1]
        assert took < 5, took


def test_bad_attribute_class_is_refused_with_the_tags_name():
    class NeedsMore(device.Attribute):
        def __init__(self, name, type_cls, default, extra):
            super().__init__(name, type_cls, default)

    with pytest.raises(errors.SimulatorError, match="tag \"X\".*extra"):
        Simulator(tags=["X=INT"], attribute_class=NeedsMore)


def test_device_attribute_behaves_as_cpppos():
    a = device.Attribute("A", INT, default=[0] * 4)
    a[1:3] = [5, 6]
    assert a[0:4] == [0, 5, 6, 0] and a[2] == 6 and len(a) == 4
    s = device.Attribute("S", REAL, default=0.0)
    s[0:1] = [2.5]
    assert s[0:1] == [2.5] and s[0] == 2.5 and isinstance(s.parser, REAL)
    for bad in (slice(0, 5), slice(0, 4, 2), 4, slice(2, 2)):
        with pytest.raises(KeyError):
            a[bad]


def test_cpppos_own_weather_example_serves_the_same_values(spawn, monkeypatch, weather_source):
    """cpppo 5.2.5's weather.py (its own module, unchanged) with the same fake source: the
    values our client reads from it are the ones our port serves."""
    from conftest import interop
    for k in [k for k in os.environ if "proxy" in k.lower()]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("http_proxy", weather_source)
    _, port = interop.cpppo_enip_server(
        spawn, "London=REAL", "Paris=INT",
        program=[sys.executable, "-m", "cpppo.server.enip.weather"], udp=False)
    with client.connector("127.0.0.1", port) as conn:
        assert conn.read("London") == [15.25]
        assert conn.read("Paris") == [21]
        with pytest.raises(errors.StatusError) as e:
            conn.write("London=(REAL)30")
        assert e.value.status == 0xFF


class Refusing(device.Attribute):
    def __getitem__(self, key):
        if self.name == "GONE":
            raise errors.StatusError("no such thing here", 0x05)
        return super().__getitem__(key)


def test_callbacks_choose_a_status_by_raising_it_or_by_their_error_code(caplog):
    caplog.set_level(logging.WARNING, logger="cpppo_rs.server.enip.device")
    forced = Refusing("FORCED", INT, default=0, error=0x08)
    with Simulator(tags=["GONE=INT", "FORCED=INT", "FINE=INT"], attribute_class=Refusing,
                   attributes={"FORCED": forced}) as sim:
        with client.connector(*sim.address) as conn:
            for tag, status in (("GONE", 0x05), ("FORCED", 0x08)):
                with pytest.raises(errors.StatusError) as e:
                    conn.read(tag)
                assert e.value.status == status, tag
            assert conn.read("FINE") == [0]
            forced.error = 0  # cleared: served again
            assert conn.read("FORCED") == [0]
    assert caplog.records == []  # chosen statuses are answers, not failures
