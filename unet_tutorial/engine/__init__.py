"""The engine: everything a long, real training run needs that a lesson does not.

The chapters describe it in prose and never list its code: ``config`` (settings
and presets), ``sources``, ``datasets``, ``folders`` and ``download`` (the data),
``runs`` (run folders, lock, history, snapshots), ``training`` (``train``,
``train_or_load``, the run cache), ``targets`` (what a folder's model is trained
and validated against), ``distribute`` (strategies, workers), ``cli`` (the
``unet-tutorial`` command) and ``book`` (notebook helpers).

* ``config``: ``TrainConfig`` (the core's ``FitConfig`` plus data, model,
  augmentation and run settings) and its presets;
* ``sources`` and ``loading``: which data ``"auto"`` means, and
  ``load_dataset`` (TensorFlow Datasets, a folder, the synthetic stand-in);
  ``folders``: the one folder reader (Oxford-IIIT Pet's layout and your own
  images and masks: checked, split, cropped); ``download``: the checked downloads
  (Oxford-IIIT Pet, ISBI 2012);
* ``runs``: run folders that are never mixed up, a lock, the history and
  the prediction snapshots;
* ``training``: ``train`` (``compile_and_fit`` plus resume, lock, NaN guard
  and the test score), ``train_or_load`` and the run cache (``in_run_cache``);
* ``distribute``: strategies and multi-worker roles;
* ``cli``: the ``unet-tutorial`` command line; ``book``: notebook helpers
  (``about_data``, ``recorded_results``, ``show_source``, ``say``).

``unet_tutorial.engine.NAME`` reaches every public name these modules define,
importing only the module that defines it; the ones the chapters use are also
at the top level (``ut.train``).
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

_MODULES = (
    "book",
    "cli",
    "config",
    "distribute",
    "download",
    "folders",
    "loading",
    "runs",
    "sources",
    "targets",
    "training",
)


@cache
def _defined_in() -> dict[str, str]:
    """Public name -> the module that defines it, read from the sources (``ast``), so
    that a lookup imports one module, not all of them (and their TensorFlow).
    """
    where: dict[str, str] = {}
    for module in _MODULES:
        tree = ast.parse((Path(__file__).parent / f"{module}.py").read_bytes())
        for node in tree.body:
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
