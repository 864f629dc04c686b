"""The package as a whole (unet_tutorial/__init__.py): lazy loading, public names, the
three wings, and saved models that load in a fresh process.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import unet_tutorial as ut

CORE = Path(ut.__file__).parent
WINGS = ("engine", "pictures")


def _python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
    )


def test_the_package_loads_lazily_and_every_public_name_resolves():
    probe = (
        "import sys, unet_tutorial as ut; ut.TrainConfig.preset('cpu').validate(); "
        "print('tensorflow' in sys.modules)"
    )
    assert _python(probe).stdout == "False\n"
    for name in ut.__all__:
        assert getattr(ut, name) is not None, name
    assert ut.engine.training.train is ut.train  # submodules resolve too
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        ut.no_such_name  # noqa: B018


def test_labels_and_settings_need_no_tensorflow():
    probe = (
        "import sys, unet_tutorial; unet_tutorial.CLASS_NAMES; "
        "unet_tutorial.NUM_CLASSES; unet_tutorial.TRIMAP_VALUES; "
        "unet_tutorial.AugmentConfig(); unet_tutorial.FitConfig().validate(); "
        "unet_tutorial.LOSSES; "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    proc = _python(probe)
    assert proc.stdout == "False False\n", proc.stderr[-2000:]


def test_the_engine_names_are_under_ut_engine():
    from unet_tutorial.engine import distribute, download, runs

    assert ut.engine.RunLock is runs.RunLock and ut.engine.run_state is runs.run_state
    assert ut.engine.local_cluster is distribute.local_cluster
    assert ut.engine.safe_extract is download.safe_extract
    assert ut.engine.load_snapshots is runs.load_snapshots
    for name in ("RunLock", "run_state", "local_cluster", "make_strategy"):
        assert name not in ut.__all__, name
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        ut.engine.no_such_name  # noqa: B018
    with pytest.raises(AttributeError):
        ut.engine._private_name  # noqa: B018


# ----------------------------------------------------------------- the core stands alone


def _wing_imports(source: str) -> list[str]:
    """The imports in ``source`` (a module directly in ``unet_tutorial/``) that reach
    the engine or the pictures, at any depth of the file (functions included).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            targets = [base] + [
                f"{base}.{alias.name}" if node.module else base + alias.name
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.startswith("."):  # relative: the part after the dots
                first = target.lstrip(".").split(".")[0]
            elif target.startswith("unet_tutorial."):
                first = target.split(".")[1]
            else:
                continue
            if first in WINGS:
                found.append(f"line {node.lineno}: {target}")
                break
    return found


def test_the_wing_import_check_finds_every_form():
    for bad in (
        "import unet_tutorial.engine",
        "import unet_tutorial.pictures.figures as f",
        "from unet_tutorial.engine.config import TrainConfig",
        "from unet_tutorial import engine",
        "from unet_tutorial import labels, pictures",
        "from .engine import cli",
        "from .pictures.figures import mask_to_rgb",
        "from ..engine import training",
        "from . import engine",
        "def f():\n    from .engine.runs import RunLock\n",
        "class C:\n    def m(self):\n        import unet_tutorial.pictures\n",
    ):
        assert _wing_imports(bad), bad
    for fine in (
        "import unet_tutorial",
        "from unet_tutorial import labels",
        "from .checks import is_whole",
        "from . import losses, metrics",
        "import engine_room",
        "from .engineering import x",
    ):
        assert not _wing_imports(fine), fine


def test_core_never_imports_engine_or_pictures():
    modules = sorted(CORE.glob("*.py"))
    assert {"model.py", "fit.py", "data.py", "labels.py"} <= {p.name for p in modules}
    offenders = {
        p.name: found
        for p in modules
        if (found := _wing_imports(p.read_text(encoding="utf-8")))
    }
    assert not offenders, offenders


# ------------------------------------------------------- a saved model, in a fresh process

LOADERS = {
    "keras.saving": "import unet_tutorial, keras; model = keras.saving.load_model(PATH)",
    "ut.load_model": "import unet_tutorial as ut; model = ut.load_model(PATH)",
    "tf.keras": (
        "import unet_tutorial; import tensorflow as tf; "
        "model = tf.keras.models.load_model(PATH)"
    ),
}
REPORT = (
    "; import numpy as np; "
    "print(type(model.loss).__name__, model.loss.num_classes, "
    "model.predict(np.zeros((1, 32, 32, 3), 'float32'), verbose=0).shape)"
)


@pytest.mark.slow
def test_a_model_saved_with_the_package_loss_loads_in_a_fresh_process(ce_dice_model):
    """Each way of loading runs in its own process that only imported the package."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    procs = {}
    for how, code in LOADERS.items():
        script = f"import sys; {code.replace('PATH', 'sys.argv[1]')}{REPORT}"
        procs[how] = subprocess.Popen(
            [sys.executable, "-c", script, str(ce_dice_model)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    for how, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{how}: {err[-3000:]}"
        assert out.strip().splitlines()[-1] == "CEDiceLoss 3 (1, 32, 32, 3)", how
