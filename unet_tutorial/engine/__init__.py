"""The engine: everything a long, real training run needs that a lesson does not
(the chapters describe it in prose), the ``unet-tutorial`` command and page helpers.

``unet_tutorial.engine.NAME`` reaches every public name of its modules, importing
only the one that defines it; those the chapters use are also at the top level."""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent
_MODULES = tuple(sorted(path.stem for path in _HERE.glob("[!_]*.py")))


@cache
def _defined_in() -> dict[str, str]:
    """Public name -> its module, read with ``ast``: a lookup imports only that one."""
    where: dict[str, str] = {}
    for module in _MODULES:
        for node in ast.parse((_HERE / f"{module}.py").read_bytes()).body:
            # a def or class by its name, an assignment by its target or targets
            for target in getattr(node, "targets", [getattr(node, "target", node)]):
                name = getattr(target, "id", getattr(target, "name", "_"))
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
