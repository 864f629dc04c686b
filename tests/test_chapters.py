"""Checks of the book's sources (fast; the book itself is built by .ci/run)."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
SHOW = re.compile(r"ut\.show_source\(([\w.]+)")
# MyST-only syntax, which Colab and plain Jupyter show as raw text: a directive fence (backticks or
# colons, then {name}) or a role ({name} then a backtick).
MYST_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\s*\{[\w:-]+\}", re.M)
MYST_ROLE = re.compile(r"(?<![`\w])\{[\w:-]+\}`")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _toc_files() -> list[str]:
    return re.findall(r"(?:root|file):\s*(\S+)", (ROOT / "_toc.yml").read_text())


def test_every_toc_entry_exists_and_every_chapter_is_listed():
    entries = _toc_files()
    assert entries, "_toc.yml lists no pages"
    for entry in entries:
        assert (ROOT / f"{entry}.ipynb").is_file() or (
            ROOT / f"{entry}.md"
        ).is_file(), f"{entry} has no file"
    listed = {e for e in entries if (ROOT / f"{e}.ipynb").is_file()}
    assert listed == {f"book/{p.stem}" for p in CHAPTERS}, (
        "a chapter notebook is missing from _toc.yml"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_committed_without_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name} carries outputs; clear them before committing"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_imports_the_package_and_has_the_standard_sections(path):
    code = "\n".join(
        "".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code"
    )
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
    assert found == order, (
        f"{path.name}: sections {found}, expected {order} in this order"
    )


def _shown_sources():
    """(chapter, cell, dotted name) of every ``ut.show_source(...)`` call."""
    for path in CHAPTERS:
        for cell in _cells(path):
            if cell["cell_type"] == "code":
                for name in SHOW.findall("".join(cell["source"])):
                    yield path, cell, name


def test_every_shown_source_names_a_package_object_and_hides_the_call_in_the_book():
    import unet_tutorial as ut

    found = list(_shown_sources())
    assert found, "no chapter shows package source"
    for path, cell, name in found:
        obj = ut
        for part in name.split(".")[1:]:
            assert hasattr(obj, part), (
                f"{path.name}: ut.show_source({name}): {part} does not exist"
            )
            obj = getattr(obj, part)
        assert ut.source_of(obj).path.startswith("unet_tutorial/"), (
            f"{path.name}: {name} is not package code"
        )
        assert "remove-input" in cell["metadata"].get("tags", []), (
            f"{path.name}: tag the show_source cell remove-input"
        )
        # the whole call, markers included, must still find its lines (a renamed line breaks the book build)
        source = "".join(cell["source"])
        shown = eval(source.replace("ut.show_source(", "ut.source_of(", 1), {"ut": ut})
        assert shown.code.strip(), f"{path.name}: {source} shows nothing"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_myst_only_syntax_in_markdown_cells(path):
    for cell in _cells(path):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        found = MYST_DIRECTIVE.findall(text) + MYST_ROLE.findall(text)
        assert not found, (
            f"{path.name}: MyST-only syntax {found} in a Markdown cell (raw in Colab): {text[:99]!r}"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_computed_prose_links_only_to_the_web(path):
    """A link in ``ut.say`` output is not rewritten by the book (it is an output): it must be absolute."""
    for cell in _cells(path):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "ut.say(" in source:
            relative = [
                u
                for u in re.findall(r"\]\(([^)]+)\)", source)
                if not u.startswith("https://")
            ]
            assert not relative, (
                f"{path.name}: ut.say(...) links to {relative}; put the link in a Markdown cell"
            )


def test_the_myst_check_catches_directives_and_roles():
    for bad in (
        "```{literalinclude} ../x.py",
        ":::{note}",
        "see {cite}`paper`",
        "{glue:text}`n`",
        "  ```{warning}",
    ):
        assert MYST_DIRECTIVE.search(bad) or MYST_ROLE.search(bad), bad
    for fine in (
        "```python",
        "`{x}` in an f-string",
        "$\\{a\\}$",
        "> **Warning.** text",
    ):
        assert not (MYST_DIRECTIVE.search(fine) or MYST_ROLE.search(fine)), fine


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
    # the config's local Sphinx extension
    shutil.copytree(ROOT / "book" / "_ext", tmp_path / "book" / "_ext")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/page\n")
    nb = json.loads((ROOT / "book" / "intro.ipynb").read_text())
    title = {
        "cell_type": "markdown",
        "id": "title",
        "metadata": {},
        "source": ["# A page"],
    }
    nb["cells"] = [title]
    ok = {
        "cell_type": "code",
        "id": "ok",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": ["1 + 1"],
    }
    bad = dict(ok, id="boom", source=["raise RuntimeError('injected failure')"])
    nb["cells"] += [ok]
    (tmp_path / "book" / "page.ipynb").write_text(json.dumps(nb))
    good = subprocess.run(
        [str(exe), "build", str(tmp_path), "-W", "--keep-going"],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stdout[-3000:]
    nb["cells"] += [bad]
    (tmp_path / "book" / "page.ipynb").write_text(json.dumps(nb))
    failed = subprocess.run(
        [str(exe), "build", str(tmp_path), "-W", "--keep-going"],
        capture_output=True,
        text=True,
    )
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
    assert any(p == path for p, _, _ in _shown_sources()), (
        f"{path.name} shows no package source (ut.show_source)"
    )
