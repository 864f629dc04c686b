"""Checks of the book's sources (fast; the book itself is built by .ci/run)."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
SHOW = re.compile(r"ut\.show_source\(\s*([\w.]+)")
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


MAX_SHOWN_LINES = 40
"""The longest listing a chapter may show (docstring included)."""


def _resolve(name: str):
    """The object that ``ut.a.b`` names, by attribute lookup on the package."""
    import unet_tutorial as ut

    obj = ut
    for part in name.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def test_every_shown_object_is_public_short_and_outside_the_engine():
    """A listing is a public object of the core or the pictures, at most 40 lines.

    The engine (run folders, locks, workers, the command line) is described in
    prose; a private name (``_x`` anywhere in the path) is no API for a reader.
    """
    import inspect

    engine = (ROOT / "unet_tutorial" / "engine").resolve()
    problems = []
    for path, _, name in _shown_sources():
        where = f"{path.name}: ut.show_source({name})"
        if any(part.startswith("_") for part in name.split(".")):
            problems.append(f"{where}: a private name")
            continue
        obj = _resolve(name)
        lines = len(inspect.getsourcelines(obj)[0])
        if lines > MAX_SHOWN_LINES:
            problems.append(f"{where}: {lines} lines (at most {MAX_SHOWN_LINES})")
        source = Path(inspect.getsourcefile(obj)).resolve()
        if source.is_relative_to(engine):
            problems.append(
                f"{where}: engine code ({source.name}); describe it in prose"
            )
    assert not problems, "\n".join(problems)


def _show_source_calls():
    """(chapter, call node) of every ``ut.show_source(...)`` call in a code cell."""
    import ast

    for path in CHAPTERS:
        for cell in _cells(path):
            if cell["cell_type"] != "code":
                continue
            # IPython magics (%pip, !cmd) are not Python: a pass in their place
            code = "\n".join(
                re.sub(r"^(\s*)[%!].*", r"\1pass", line)
                for line in "".join(cell["source"]).splitlines()
            )
            for node in ast.walk(ast.parse(code)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "show_source"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "ut"
                ):
                    yield path, node


def test_show_source_calls_show_whole_objects_without_text_markers():
    calls = list(_show_source_calls())
    assert len(calls) == len(list(_shown_sources())), (
        "the regex SHOW and the parser disagree on the show_source calls"
    )
    for path, call in calls:
        markers = [k.arg for k in call.keywords if k.arg in ("start_at", "end_before")]
        assert not markers, (
            f"{path.name}: ut.show_source(..., {markers[0]}=...) shows part of an "
            "object; show a whole, short object instead"
        )


def test_shown_sources_say_the_blog_post():
    """The chapters call the post the book grew from "the blog post"; listings too."""
    import inspect

    for path, _, name in _shown_sources():
        source = inspect.getsource(_resolve(name))
        assert "seed post" not in source.lower(), (
            f"{path.name}: {name} says 'seed post'; say 'the blog post'"
        )


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


@pytest.mark.slow
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


API_WINGS = ("core", "engine", "pictures")
"""The API's wings, one page each (``book/api_WING.md``); the core is the package's folder."""


def _api_page(name: str) -> str:
    return (ROOT / "book" / f"{name}.md").read_text(encoding="utf-8")


def _wing_of(module: str) -> str:
    part = (module.split(".") + ["", ""])[1]
    return part if part in API_WINGS else "core"


def test_the_api_pages_list_every_module_of_the_package_once():
    """The wing pages document each module, on its wing's page: none missing, none
    twice, none that is gone; the overview (book/api.md) documents none itself."""
    import importlib

    assert "automodule::" not in _api_page("api"), "api.md is the overview only"
    package = ROOT / "unet_tutorial"
    modules = {
        ".".join(("unet_tutorial", *p.relative_to(package).with_suffix("").parts))
        for p in package.rglob("*.py")
        if p.name != "__init__.py"
    }
    listed, with_members = [], set()
    for wing in API_WINGS:
        text = _api_page(f"api_{wing}")
        on_page = re.findall(r"^\.\. automodule:: (\S+)", text, re.M)
        for name in on_page:
            assert _wing_of(name) == wing, f"{name} is on api_{wing}.md, not its wing's"
        listed += on_page
        with_members |= set(
            re.findall(r"^\.\. automodule:: (\S+)\n   :members:", text, re.M)
        )
    assert len(listed) == len(set(listed)), "a module is listed twice on the API pages"
    assert modules <= with_members, (
        f"not on the API pages: {sorted(modules - with_members)}"
    )
    for name in listed:
        importlib.import_module(name)  # every listed module exists
    toc = _toc_files()
    assert toc.index("book/api") < toc.index("book/api_core")  # its sections
    for wing in API_WINGS:
        assert f"](api_{wing}.md)" in _api_page("api"), (
            f"api.md never links api_{wing}.md"
        )


def _overview_rows() -> list[tuple[str, str, str]]:
    """(how a reader reaches it, its module, its line) of each overview row."""
    return re.findall(
        r"^\| (?:\{py:obj\})?`(ut\.[\w.]+)(?: <[\w.]+>)?` "
        r"\| \{py:mod\}`[\w.]+ <([\w.]+)>` \| (.+) \|$",
        _api_page("api"),
        re.M,
    )


def test_the_api_overview_tables_match_the_docstrings():
    """``python scripts/api_tables.py`` rewrites them when this fails."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "api_tables.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[`\\]", "", text).split())


def test_the_api_overview_lists_every_public_name_once():
    """One row per ``ut.NAME`` and per public function, class and documented constant
    of the engine (``ut.engine.NAME``), each reaching the object it documents, with the
    first sentence of its docstring."""
    import importlib
    import inspect

    from sphinx.pycode import ModuleAnalyzer

    import unet_tutorial as ut

    rows = _overview_rows()
    reached = [reach for reach, _, _ in rows]
    assert len(reached) == len(set(reached)), "a name is listed twice in api.md"
    expected = {f"ut.{n}" for n in ut.__all__ if not n.startswith("__")}
    expected.add("ut.load_model")
    engine = importlib.import_module("unet_tutorial.engine")
    cli_members = re.search(
        r"automodule:: unet_tutorial\.engine\.cli\n   :members: (.+)",
        _api_page("api_engine"),
    ).group(1)
    for module in (f"unet_tutorial.engine.{m}" for m in engine._MODULES):
        mod = importlib.import_module(module)
        documented = {  # what automodule :members: shows: defined here, with a docstring
            name
            for (scope, name) in ModuleAnalyzer.for_module(module).find_attr_docs()
            if not scope and not name.startswith("_")
        }
        documented |= {
            name
            for name, obj in vars(mod).items()
            if not name.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module
        }
        if module.endswith(".cli"):
            documented &= set(re.findall(r"\w+", cli_members))
        expected |= {
            f"ut.{n}" if n in ut.__all__ else f"ut.engine.{n}" for n in documented
        }
    assert set(reached) >= expected, f"not in api.md: {sorted(expected - set(reached))}"
    for reach, module, line in rows:
        obj = ut
        for part in reach.split(".")[1:]:
            obj = getattr(obj, part)
        name = reach.rpartition(".")[2]
        assert obj is getattr(importlib.import_module(module), name), reach
        if inspect.isfunction(obj) or inspect.isclass(obj):
            doc = _plain(inspect.getdoc(obj).split("\n\n")[0])
            assert doc.startswith(_plain(line)), (
                f"{reach}: {line!r} is not its docstring's"
            )


RETIRED = ("book_profile", "BookProfile", "shared_run", "em_data", "EMData")
"""Helpers that made sense only inside this book; a chapter copied into a reader's
notebook must not need them (and the package no longer has them)."""


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_call_only_public_names_a_reader_can_copy(path):
    import unet_tutorial as ut

    text = "\n".join(
        "".join(c["source"])
        for c in _cells(path)
        if c["cell_type"] in ("code", "markdown")
    )
    for name in RETIRED:
        assert name not in text, f"{path.name} uses the book-only {name}"
        assert not hasattr(ut, name), f"the package still has the book-only {name}"
    assert "profile." not in text, path.name
    for name in set(re.findall(r"\but\.([A-Za-z_]\w*)", text)):
        assert name in ut.__all__ or name in ("engine", "pictures"), (
            f"{path.name}: ut.{name} is not a public name of the package"
        )
