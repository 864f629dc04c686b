"""Checks of the book's sources (fast; the book itself is built by .ci/run)."""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
INCLUDE = re.compile(r"```\{literalinclude\}\s+(\S+)\s*\n((?::\w+:.*\n?)*)")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _toc_files() -> list[str]:
    return re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())


def test_every_toc_entry_exists_and_every_chapter_is_listed():
    entries = _toc_files()
    assert entries, "_toc.yml lists no pages"
    for entry in entries:
        assert (ROOT / f"{entry}.ipynb").is_file() or (ROOT / f"{entry}.md").is_file(), f"{entry} has no file"
    listed = {e for e in entries if (ROOT / f"{e}.ipynb").is_file()}
    assert listed == {f"book/{p.stem}" for p in CHAPTERS}, "a chapter notebook is missing from _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_committed_without_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name} carries outputs; clear them before committing"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_imports_the_package_and_has_the_standard_sections(path):
    code = "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code")
    assert "import unet_tutorial as ut" in code
    headings = [
        line[3:].strip()
        for c in _cells(path)
        if c["cell_type"] == "markdown"
        for line in "".join(c["source"]).splitlines()
        if line.startswith("## ")
    ]
    order = ["Overview", "Prerequisites", "Imports", "Summary", "Exercises"]
    found = [h for h in headings if h in order]
    assert found == order, f"{path.name}: sections {found}, expected {order} in this order"


def _literalincludes():
    for path in CHAPTERS:
        for cell in _cells(path):
            if cell["cell_type"] != "markdown":
                continue
            for target, options in INCLUDE.findall("".join(cell["source"])):
                obj = re.search(r":pyobject:\s*(\S+)", options)
                yield path, target, obj.group(1) if obj else None


def test_every_literalinclude_pyobject_exists_in_the_package():
    found = list(_literalincludes())
    assert found, "no chapter includes package source"
    for path, target, pyobject in found:
        source = (path.parent / target).resolve()
        assert source.is_relative_to(ROOT / "unet_tutorial"), f"{path.name} includes {target} outside the package"
        assert source.is_file(), f"{path.name}: {target} does not exist"
        assert pyobject, f"{path.name}: include of {target} has no :pyobject:"
        tree = ast.parse(source.read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert pyobject.split(".")[0] in names, f"{path.name}: {pyobject} is not defined in {target}"


def test_a_failing_cell_fails_the_build(tmp_path):
    """Copy the book's configuration with one chapter, inject a failing cell, build: it must fail."""
    import shutil
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "jupyter-book"
    if not exe.exists():
        pytest.skip("jupyter-book is not installed in this environment")
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copy(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/page\n")
    nb = json.loads((ROOT / "book" / "intro.ipynb").read_text())
    title = {"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# A page"]}
    nb["cells"] = [title]
    ok = {"cell_type": "code", "id": "ok", "metadata": {}, "execution_count": None, "outputs": [], "source": ["1 + 1"]}
    bad = dict(ok, id="boom", source=["raise RuntimeError('injected failure')"])
    nb["cells"] += [ok]
    (tmp_path / "book" / "page.ipynb").write_text(json.dumps(nb))
    good = subprocess.run([str(exe), "build", str(tmp_path), "-W", "--keep-going"], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout[-3000:]
    nb["cells"] += [bad]
    (tmp_path / "book" / "page.ipynb").write_text(json.dumps(nb))
    failed = subprocess.run([str(exe), "build", str(tmp_path), "-W", "--keep-going"], capture_output=True, text=True)
    assert failed.returncode != 0
    assert "injected failure" in failed.stdout + failed.stderr


def test_config_has_the_required_settings():
    config = (ROOT / "_config.yml").read_text()
    for needle in (
        "only_build_toc_files: true",
        "execute_notebooks: cache",
        "timeout:",
        "nb_execution_raise_on_error: true",
        "branch: main",
        "binderhub_url:",
        "colab_url:",
        "use_repository_button: true",
        "use_issues_button: true",
        "book/references.bib",
    ):
        assert needle in config, f"_config.yml lacks {needle!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_shows_package_source(path):
    assert any(p == path for p, _, _ in _literalincludes()), f"{path.name} includes no package source"
