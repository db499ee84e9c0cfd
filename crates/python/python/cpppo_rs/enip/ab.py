"""cpppo's ``cpppo.server.enip.ab``: Allen-Bradley device proxies.

::

    from cpppo_rs.enip.ab import powerflex_750_series as device

    via = device(host="10.0.1.2")
    with via:
        velocity, current = via.read(via.parameter_substitution(
            ["Motor Velocity", "Output Current"]))
"""

from .get_attribute import proxy_simple

__all__ = ["powerflex", "powerflex_750_series"]


class powerflex(proxy_simple):
    """An Allen-Bradley PowerFlex AC drive: a simple (non-routing) CIP device."""


def _dpi(instance, types, units):
    """A PowerFlex parameter: DPI Parameter Object (class 0x93), instance = parameter number,
    attribute 10 = its value."""
    return powerflex.parameter("@0x93/%d/10" % instance, types, units)


class powerflex_750_series(powerflex):
    """The PowerFlex 750 series' parameters (cpppo's table), plus the generic ones."""

    PARAMETERS = dict(
        powerflex.PARAMETERS,
        output_frequency=_dpi(1, "REAL", "Hz"),
        output_freq=_dpi(1, "REAL", "Hz"),
        mtr_vel_fdbk=_dpi(3, "REAL", "Hz/RPM"),  # see Speed Units
        motor_velocity=_dpi(3, "REAL", "Hz/RPM"),  # see Speed Units
        output_current=_dpi(7, "REAL", "Amps"),
        output_voltage=_dpi(8, "REAL", "VAC"),
        output_power=_dpi(9, "REAL", "kW"),
        dc_bus_volts=_dpi(11, "REAL", "VDC"),
        elapsed_mwh=_dpi(13, "REAL", "MWh"),
        elapsed_kwh=_dpi(14, "REAL", "kWh"),
        elapsed_run_time=_dpi(15, "REAL", "Hrs"),
        rated_volts=_dpi(20, "REAL", "VAC"),
        rated_amps=_dpi(21, "REAL", "Amps"),
        rated_kw=_dpi(22, "REAL", "kW"),
        speed_units=_dpi(300, "DINT", "Hz/RPM"),  # 0: Hz, 1: RPM
    )
