from .get_attribute import proxy_simple

class powerflex(proxy_simple):
    """An Allen-Bradley PowerFlex AC drive."""

class powerflex_750_series(powerflex):
    """PowerFlex 750 series parameters (Motor Velocity, Output Current, ...)."""
