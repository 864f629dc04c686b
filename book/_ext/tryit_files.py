"""The Try it page's files that are not in the repository, copied into the built site.

After an HTML build (Sphinx's ``build-finished``, after every page was executed):

* ``book/_tryit/``: the page's script and style, its sample images and the runtime's
  licence (not in ``_static/``: Jupyter Book adds every ``.js`` and ``.css`` file
  there to every page);
* the runtime, LiteRT.js, from ``node_modules/`` (``npm ci`` installs the versions
  pinned in ``package-lock.json``): its single-threaded WebAssembly builds (with
  relaxed SIMD, and the compatible one) and its two ES modules, into
  ``_static/tryit/litertjs/``;
* the models that ``book/try_it.ipynb`` exported, from the folder it wrote them to
  (``models_folder()``, in the run cache), into ``_static/tryit/models/``.

Registered in ``_config.yml`` (``sphinx: local_extensions``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

RUNTIME = {
    "@litertjs/core/dist/index.js": "core.js",
    "@litertjs/wasm-utils/dist/index.js": "wasm-utils.js",
    **{
        f"@litertjs/core/wasm/{name}": f"wasm/{name}"
        for name in (
            "litert_wasm_internal.js",
            "litert_wasm_internal.wasm",
            "litert_wasm_compat_internal.js",
            "litert_wasm_compat_internal.wasm",
        )
    },
}
"""Source in ``node_modules/`` -> destination in ``_static/tryit/litertjs/``."""
BARE_IMPORT = 'from "@litertjs/wasm-utils"'
"""core.js's one bare import; served without a bundler, it imports the file beside
it."""


def models_folder() -> Path:
    """Where ``book/try_it.ipynb`` writes its exported models: ``try_it`` in the run
    cache."""
    from unet_tutorial.engine.sources import runs_dir

    return runs_dir() / "try_it"


def copy_runtime(node_modules: Path, dest: Path) -> None:
    """Copy LiteRT.js's files from ``node_modules`` into ``dest`` (``litertjs/``)."""
    missing = [name for name in RUNTIME if not (node_modules / name).is_file()]
    if missing:
        raise RuntimeError(
            f"the Try it page's runtime is missing ({node_modules / missing[0]}); "
            "run `npm ci` in the repository first (the README's book command does)."
        )
    for name, target in RUNTIME.items():
        (dest / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / name, dest / target)
    core = (dest / "core.js").read_text(encoding="utf-8")
    if core.count(BARE_IMPORT) != 1:
        raise RuntimeError(f"core.js no longer has exactly one {BARE_IMPORT!r}.")
    core = core.replace(BARE_IMPORT, 'from "./wasm-utils.js"')
    (dest / "core.js").write_text(core, encoding="utf-8")


def copy_models(source: Path, dest: Path) -> None:
    """Copy the exported ``.tflite`` files and their sidecars into ``dest``."""
    files = sorted(source.glob("*.tflite")) + sorted(source.glob("*.json"))
    if not files:
        raise RuntimeError(
            f"no exported models in {source}; book/try_it.ipynb writes them."
        )
    dest.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, dest / path.name)


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    if "book/try_it" not in app.env.found_docs:
        return
    site = Path(app.outdir) / "_static" / "tryit"
    shutil.copytree(Path(app.srcdir) / "book" / "_tryit", site, dirs_exist_ok=True)
    copy_runtime(Path(app.srcdir) / "node_modules", site / "litertjs")
    copy_models(models_folder(), site / "models")


def setup(app):
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
