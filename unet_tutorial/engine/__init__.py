"""The engine: everything a long, real training run needs that a lesson does not.

The chapters describe it in prose and never list its code:

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

``unet_tutorial.engine.NAME`` reaches every public name of these modules;
the ones the chapters use are also at the top level (``ut.train``).
"""

from __future__ import annotations

import importlib

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


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    for module in _MODULES:
        mod = importlib.import_module(f".{module}", __name__)
        if not name.startswith("_") and name in vars(mod):
            value = getattr(mod, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
