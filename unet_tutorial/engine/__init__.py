"""The engine: everything a long, real training run needs that a lesson does not
(the chapters describe it in prose): ``config``, ``sources``, ``loading``,
``folders``, ``download``, ``runs``, ``training``, ``targets``, ``distribute``,
``cli`` (the ``unet-tutorial`` command) and ``book`` (page helpers).

``unet_tutorial.engine.NAME`` reaches every public name these modules define,
importing only the module that defines it; the ones the chapters use are also at
the top level (``ut.train``)."""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent
_MODULES = tuple(sorted(path.stem for path in _HERE.glob("[!_]*.py")))


@cache
def _defined_in() -> dict[str, str]:
    """Public name -> the module that defines it, read from the sources (``ast``), so
    that a lookup imports one module, not all of them (and their TensorFlow)."""
    where: dict[str, str] = {}
    for module in _MODULES:
        for node in ast.parse((_HERE / f"{module}.py").read_bytes()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            else:  # an assignment: its target or targets
                targets = getattr(node, "targets", [getattr(node, "target", None)])
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                if not name.startswith("_"):
                    where.setdefault(name, module)
    return where


def __getattr__(name: str):
    module = name if name in _MODULES else _defined_in().get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod = importlib.import_module(f".{module}", __name__)
    value = mod if module == name else getattr(mod, name)
    globals()[name] = value
    return value
