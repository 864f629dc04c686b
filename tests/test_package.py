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


def test_an_engine_name_is_found_without_importing_the_other_modules():
    """Only the module that defines the name is imported (TensorFlow itself imports
    matplotlib, so the names looked up here come from modules without it)."""
    probe = (
        "import sys, unet_tutorial.engine as e; e.about_data; e.TrainConfig; e.RUNS_ENV; "
        "print(sorted(n for n in ('matplotlib', 'unet_tutorial.engine.cli', "
        "'unet_tutorial.engine.training') if n in sys.modules))"
    )
    proc = _python(probe)
    assert proc.stdout == "[]\n", proc.stderr[-2000:]


# ------------------------------------------------------------------- the import layout


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, package: str, known: set[str]) -> dict[str, int]:
    """The modules of ``known`` that ``source`` imports, at any depth of the file
    (functions included), each with the line of its first import. ``package``: what
    its relative imports start from (the package it is in, or is).
    """
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name inside a module
                target = target.rpartition(".")[0]
            if target:
                found.setdefault(target, node.lineno)
    return found


def _import_graph() -> dict[str, dict[str, int]]:
    """Every module of the package -> the package's modules it imports (and where)."""
    paths = {_module_name(p): p for p in sorted(CORE.rglob("*.py"))}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        source = path.read_text(encoding="utf-8")
        graph[name] = _imports(source, package, set(paths))
        graph[name].pop(name, None)
    return graph


def _cycle(graph: dict[str, dict]) -> list[str] | None:
    """A loop of imports (``[a, b, ..., a]``), or ``None`` if there is none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for nxt in graph.get(node, {}):
            if found := visit(nxt, [*path, node]):
                return found
        done.add(node)
        return None

    return next(filter(None, (visit(node, []) for node in sorted(graph))), None)


def test_the_import_reader_finds_every_form():
    known = {
        "unet_tutorial",
        "unet_tutorial.labels",
        "unet_tutorial.engine",
        "unet_tutorial.engine.cli",
        "unet_tutorial.engine.runs",
        "unet_tutorial.pictures",
        "unet_tutorial.pictures.figures",
    }
    here = "unet_tutorial.pictures"  # the package of pictures/figures.py
    for source, expected in (
        ("import unet_tutorial.engine.cli as c", "unet_tutorial.engine.cli"),
        ("from unet_tutorial.engine.runs import RunLock", "unet_tutorial.engine.runs"),
        ("from unet_tutorial import labels", "unet_tutorial.labels"),
        ("from ..engine import cli", "unet_tutorial.engine.cli"),
        ("from .. import labels", "unet_tutorial.labels"),
        ("def f():\n    from ..engine.runs import load\n", "unet_tutorial.engine.runs"),
        (
            "class C:\n    def m(self):\n        import unet_tutorial.engine\n",
            "unet_tutorial.engine",
        ),
    ):
        assert expected in _imports(source, here, known), source
    for source in ("import numpy", "from . import page", "import engine_room"):
        assert set(_imports(source, here, known)) <= {here}, source


def test_the_cycle_finder_names_the_loop():
    assert _cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b": 1, "c": 1}, "b": {"c": 1}, "c": {}}) is None


def test_no_module_imports_a_module_that_imports_it_back():
    graph = _import_graph()
    assert "unet_tutorial.engine.config" in graph["unet_tutorial.engine.training"]
    loop = _cycle(graph)
    assert loop is None, "import loop: " + " -> ".join(loop or [])


def test_the_core_imports_no_wing_and_the_pictures_no_engine():
    graph = _import_graph()
    assert {"unet_tutorial.model", "unet_tutorial.pictures.animation"} <= set(graph)
    wings = ("unet_tutorial.engine", "unet_tutorial.pictures")
    offenders = [
        f"{module} line {line}: {target}"
        for module, imported in graph.items()
        for target, line in imported.items()
        if (module.count(".") == 1 or module == "unet_tutorial")
        and not module.startswith(wings)
        and target.startswith(wings)
        or module.startswith(wings[1])
        and target.startswith(wings[0])
    ]
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
