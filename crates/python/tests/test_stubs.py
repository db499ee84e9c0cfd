"""The .pyi stubs describe what the package really has (and every public call has a docstring)."""
import ast
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "python" / "cpppo_rs"


def _stubbed(path):
    """{class or function name: [method/property names]} declared in a stub."""
    out = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = [n.name for n in node.body if isinstance(n, ast.FunctionDef)]
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = []
    return out


@pytest.mark.parametrize("stub,module", [("enip/__init__.pyi", "cpppo_rs.enip"),
                                         ("enip/client.pyi", "cpppo_rs.enip.client"),
                                         ("_native.pyi", "cpppo_rs._native"),
                                         ("modbus/__init__.pyi", "cpppo_rs.modbus")])
def test_every_stubbed_name_exists_and_is_documented(stub, module):
    mod = importlib.import_module(module)
    for name, members in _stubbed(PKG / stub).items():
        obj = getattr(mod, name)
        assert obj.__doc__, f"{module}.{name} has no docstring"
        for m in members:
            assert hasattr(obj, m), f"{module}.{name}.{m} is in the stub but not the package"
            if not m.startswith("_"):
                assert getattr(obj, m).__doc__, f"{module}.{name}.{m} has no docstring"
