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


def test_every_toc_entry_is_a_chapter_notebook():
    entries = _toc_files()
    assert entries, "_toc.yml lists no pages"
    for entry in entries:
        assert (ROOT / f"{entry}.ipynb").is_file(), f"{entry} in _toc.yml has no .ipynb"


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
