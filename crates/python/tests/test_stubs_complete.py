"""Every module of the package has a stub (.pyi), and every public name a module exports (its
``__all__``, else its public names defined there) is declared in that stub: a name added to a
module but not to its stub fails here."""
import ast
import importlib
import inspect

import pytest

from test_stubs import PKG

def _module_of(path):
    name = ".".join(("cpppo_rs", *path.relative_to(PKG).with_suffix("").parts))
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def declared(path):
    """Names a stub declares: classes, functions, assignments and imports (re-exports)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def exported(module):
    """The public names a module offers: ``__all__``, else what it defines itself."""
    if hasattr(module, "__all__"):
        return set(module.__all__)
    return {n for n, v in vars(module).items() if not n.startswith("_")
            and getattr(v, "__module__", None) == module.__name__
            and (inspect.isclass(v) or inspect.isfunction(v))}


SOURCES = sorted(p for p in PKG.rglob("*.py") if p.stem != "__main__")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_every_module_has_a_stub_declaring_its_public_names(source):
    module = _module_of(source)
    stub = source.with_suffix(".pyi")
    assert stub.exists(), f"{module} has no stub {stub.name}"
    missing = exported(importlib.import_module(module)) - declared(stub)
    assert not missing, f"{stub.relative_to(PKG)} lacks {sorted(missing)}"


def test_the_check_catches_a_name_missing_from_a_stub(tmp_path):
    stub = tmp_path / "m.pyi"
    stub.write_text("from x import a as a\nb: int\ndef c() -> None: ...\n")
    assert declared(stub) == {"a", "b", "c"}
    assert {"a", "b", "c", "d"} - declared(stub) == {"d"}
