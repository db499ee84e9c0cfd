"""The client-side stubs (get_attribute, ab, poll) describe what the modules really have, and
every public call has a docstring (the same check as test_stubs.py)."""
import importlib

import pytest

from test_stubs import PKG, _stubbed


@pytest.mark.parametrize("stub,module", [("enip/get_attribute.pyi", "cpppo_rs.enip.get_attribute"),
                                         ("enip/ab.pyi", "cpppo_rs.enip.ab"),
                                         ("enip/poll.pyi", "cpppo_rs.enip.poll")])
def test_every_stubbed_name_exists_and_is_documented(stub, module):
    mod = importlib.import_module(module)
    stubbed = _stubbed(PKG / stub)
    assert stubbed
    for name, members in stubbed.items():
        obj = getattr(mod, name)
        assert obj.__doc__, f"{module}.{name} has no docstring"
        for m in members:
            assert hasattr(obj, m), f"{module}.{name}.{m} is in the stub but not the package"
            if not m.startswith("_"):
                assert getattr(obj, m).__doc__, f"{module}.{name}.{m} has no docstring"


def test_the_package_exports_the_client_modules():
    from cpppo_rs import enip
    assert {"client", "get_attribute", "ab", "poll"} <= set(enip.__all__)
