"""The engine: everything a long, real training run needs that a lesson does not.

The chapters describe it in prose and never list its code: ``config``
(``TrainConfig``, the core's ``FitConfig`` plus data, model, augmentation and run
settings, and its presets); ``sources``, ``loading``, ``folders`` and ``download``
(which data ``"auto"`` means, ``load_dataset``, the one folder reader, the checked
downloads); ``runs`` (run folders that are never mixed up, a lock, the history,
the snapshots); ``training`` (``train``: ``compile_and_fit`` plus resume, lock,
NaN guard and the test score; ``train_or_load`` and the run cache); ``targets``
(what a folder's model is trained and validated against); ``distribute``
(strategies, workers); ``cli`` (the ``unet-tutorial`` command) and ``book``
(page helpers: ``about_data``, ``recorded_results``, ``show_source``, ``say``).

``unet_tutorial.engine.NAME`` reaches every public name these modules define,
importing only the module that defines it; the ones the chapters use are also
at the top level (``ut.train``)."""

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
