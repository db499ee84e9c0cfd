"""cpppo_rs.enip.get_attribute proxies and ab.powerflex_750_series: the seed's proxy examples
with import changes only, against our simulator (the powerflex750 profile) and cpppo 5.2.5's
enip_server serving the same attributes."""
import pytest

from cpppo_rs import errors
from cpppo_rs.enip import Simulator
from cpppo_rs.enip.get_attribute import proxy, proxy_simple
from cpppo_rs.enip.ab import powerflex_750_series

import conftest
import seedrun

netns = conftest.interop.netns

DRIVE = ["Output_Frequency@0x93/1/10=REAL", "Mtr_Vel_Fdbk@0x93/3/10=REAL",
         "Output_Current@0x93/7/10=REAL", "Speed_Units@0x93/300/10=DINT"]


class some_sensor(proxy_simple):
    '''A simple (non-routing) CIP device with one parameter with a
       shortcut name: 'A Sensor Parameter' '''
    PARAMETERS = dict(proxy_simple.PARAMETERS,
                      a_sensor_parameter=proxy_simple.parameter('@0x93/1/10', 'REAL', 'Hz'))


@pytest.fixture(params=["ours", "cpppo"])
def drive(request, spawn):
    """(host, port, set) of a simulated PowerFlex with Output Frequency 456.78, Motor Velocity
    789.01 and Output Current 123.45: ours from Python, or cpppo 5.2.5's enip_server."""
    values = {"Output_Frequency": 456.78, "Mtr_Vel_Fdbk": 789.01, "Output_Current": 123.45}
    if request.param == "ours":
        with Simulator(profile="powerflex750") as sim:
            for tag, value in values.items():
                sim.write(tag, [value])
            yield sim.address
        return
    _, port = conftest.interop.cpppo_enip_server(spawn, *DRIVE, udp=False)
    from cpppo_rs.enip import client
    with client.connector("127.0.0.1", port, simple=True) as conn:
        for tag, value in values.items():
            conn.write("%s=(REAL)%s" % (tag, value))
    yield ("127.0.0.1", port)


def test_some_sensor_reads_its_parameter_by_name(drive):
    via = some_sensor(host=drive[0], port=drive[1])
    try:
        params = via.parameter_substitution("A Sensor Parameter")
        value, = via.read(params)
    except Exception as exc:
        via.close_gateway(exc=exc)
        raise
    assert value == [pytest.approx(456.78)]


def test_checking_read_in_the_context_manager(drive):
    via = some_sensor(host=drive[0], port=drive[1])
    with via:
        params = via.parameter_substitution("A Sensor Parameter")
        value, = via.read(params, checking=True)
    assert value == [pytest.approx(456.78)]
    assert str(via).endswith("at %s:%d" % drive)  # "<product name> at host:port"


def test_identity_is_learned_when_the_gateway_opens(drive):
    via = some_sensor(host=drive[0], port=drive[1])
    assert str(via) == "None at None"
    reader = via.read(via.parameter_substitution("Product Name"))
    [name] = next(reader)
    assert str(via) == "%s at %s:%d" % (name, *drive)
    assert via.identity.product_name == name and via.identity.vendor_id == 1
    named = some_sensor(host=drive[0], port=drive[1], identity_default="Something")
    assert str(named) == "Something at None"


def test_powerflex_parameters_and_generic_ones(drive):
    via = powerflex_750_series(host=drive[0], port=drive[1])
    with via:
        velocity, current, ident, units = via.read(via.parameter_substitution(
            ["Motor Velocity", "output_current", "Identity", "Speed Units"]))
    assert velocity == [pytest.approx(789.01)] and current == [pytest.approx(123.45)]
    assert len(ident) == 8 and ident[6] == via.identity.product_name
    assert units == [0]


@pytest.mark.parametrize("kind", ["ours", "cpppo"])
def test_powerflex_motor_velocity_example_writes(kind, spawn, netns):
    # The seed's script writes to @localhost (port 44818): run it in a namespace (seedrun).
    seedrun.server(spawn, netns, kind, *(["--profile", "powerflex750"] if kind == "ours"
                                         else DRIVE))
    done = seedrun.example(netns, "powerflex_motor_velocity.py", "@localhost", "123.45")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(": ", 1)[1].split() == "Motor Velocity = (REAL)123.45 == True".split()
    read = seedrun.python(netns, "from cpppo_rs.enip.ab import powerflex_750_series as d\n"
                                 "with d(host='127.0.0.1', port=44818) as via:\n"
                                 "    print(list(via.read(via.parameter_substitution("
                                 "'Mtr Vel Fdbk'))))")
    assert eval(read) == [[pytest.approx(123.45)]]


def test_typed_tuples_and_printing(sim, capsys):
    via = proxy(host=sim.address[0], port=sim.address[1])
    with via:
        got = list(via.read([("@1/1/1", "INT"), ("@1/1/7", "SSTRING", "name"), "SCADA[0-1]"],
                            printing=True))
    assert got == [[1], [via.identity.product_name], [0, 0]]
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["@1/1/1", "==", "1"]
    assert out[1].endswith(" name") and via.identity.product_name in out[1]


def test_failures_are_none_or_raise_with_checking(sim):
    via = proxy(host=sim.address[0], port=sim.address[1])
    assert list(via.read(["NOSUCH[0]", "SCADA[0]"])) == [None, [0]]
    with pytest.raises(errors.StatusError, match="NOSUCH") as e:
        list(via.read(["SCADA[0]", "NOSUCH[0]"], checking=True))
    assert e.value.status == 5


def test_bad_parameters_types_and_targets_raise_operation_errors(sim):
    via = proxy(host=sim.address[0], port=sim.address[1])
    with pytest.raises(errors.OperationError, match="unrecognized parameter name: 'Nope'"):
        list(via.parameter_substitution("Nope", pass_thru=False))
    with pytest.raises(errors.OperationError, match="invalid EtherNet/IP CIP type name 'FLOAT'"):
        list(via.read([("@1/1/1", "FLOAT")]))
    with pytest.raises(errors.OperationError, match="not a valid read/write target"):
        list(via.read([42]))
    with pytest.raises(errors.InvalidValueError, match="cannot decode"):
        list(via.read([("@1/1/1", "DINT")]))  # a 2-byte attribute is no DINT


def test_a_lost_device_closes_the_gateway_and_the_next_read_reopens_it():
    sim = Simulator(tags=["SCADA=INT[10]"])
    host, port = sim.address
    via = proxy(host=host, port=port, timeout=2.0)
    assert list(via.read("SCADA[0]")) == [[0]]
    sim.stop()
    with pytest.raises(errors.CommunicationError):
        list(via.read("SCADA[0]"))
    assert via.gateway is None  # closed, to be reopened
    with Simulator(tags=["SCADA=INT[10]"], address="%s:%d" % (host, port)) as again:
        again.write("SCADA", [7])
        assert list(via.read("SCADA[0]")) == [[7]]


@pytest.fixture(params=["ours", "cpppo"])
def logix(request, sim):
    """(host, port) of a routing controller: ours, or cpppo 5.2.5's enip_server."""
    if request.param == "ours":
        return sim.address
    return ("127.0.0.1", request.getfixturevalue("cpppo_server"))


@pytest.mark.parametrize("kind,kwds", [("routed", {}),
                                       ("batched", {"depth": 3, "multiple": 300}),
                                       ("connected", None)])
def test_a_controller_through_routed_batched_and_connected_proxies(logix, kind, kwds):
    from cpppo_rs.enip.get_attribute import proxy_connected
    make = proxy_connected if kwds is None else proxy
    via = make(host=logix[0], port=logix[1], **(kwds or {}))
    with via:
        got = list(via.read(via.parameter_substitution(
            ["SCADA[1-2]=(INT)11,22", "SCADA[0-3]", ("@1/1/7", "SSTRING"), "Product Name",
             ("@22/1/3", "REAL")] * 3)))
    assert got[:5] == [True, [0, 11, 22, 0], [via.identity.product_name],
                       [via.identity.product_name], [0.0]]
    assert got[5:10] == got[:5] and got[10:] == got[:5]


def test_a_reader_abandoned_early_keeps_the_session(sim):
    via = proxy(host=sim.address[0], port=sim.address[1])
    reader = via.read(["SCADA[0]", "SCADA[1]"])
    assert next(reader) == [0]
    session = via.gateway
    reader.close()  # the caller took only the first value
    assert via.gateway is session and session is not None
    assert list(via.read("SCADA[1]")) == [[0]] and via.gateway is session
