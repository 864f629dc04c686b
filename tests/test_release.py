"""The project is ready to publish: workflows, one version, one repository URL, stamped chapters."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
yaml = pytest.importorskip("yaml")


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _steps(data: dict) -> list[dict]:
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


def test_every_workflow_parses_and_has_jobs_with_steps():
    names = sorted(p.stem for p in WORKFLOWS.glob("*.yml"))
    assert names == ["book", "release", "tests"]
    for name in names:
        data = _workflow(name)
        assert data["on"], f"{name}.yml has no trigger"
        for job_name, job in data["jobs"].items():
            assert job.get("runs-on") and job.get("steps"), (
                f"{name}.yml: job {job_name} has no runner or steps"
            )
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), (
                    f"{name}.yml: a step needs exactly one of uses/run"
                )


def test_release_publishes_by_trusted_publishing_on_a_version_tag():
    data = _workflow("release")
    assert data["on"]["push"]["tags"] == ["v*"]
    text = (WORKFLOWS / "release.yml").read_text()
    assert data["jobs"]["publish"]["permissions"] == {"id-token": "write"}
    publish = [
        s
        for s in _steps(data)
        if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")
    ]
    assert publish and "with" not in publish[0], (
        "trusted publishing takes no password or token"
    )
    assert not re.search(r"password|api[_-]?token|secrets\.", text, re.I), (
        "no stored token"
    )
    runs = "\n".join(s.get("run", "") for s in _steps(data))
    for needed in (
        "python -m build",
        "twine check",
        "stamp.py --check",
        "CHANGELOG.md",
        "GITHUB_REF_NAME",
    ):
        assert needed in runs, f"release.yml does not run {needed!r}"


def test_book_workflow_builds_with_the_readme_command_and_deploys_to_pages():
    data = _workflow("book")
    runs = "\n".join(s.get("run", "") for s in _steps(data))
    uses = [s.get("uses", "") for s in _steps(data)]
    assert "readme_command.py book-command" in runs
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert (
        data["permissions"]["pages"] == "write"
        and data["permissions"]["id-token"] == "write"
    )


def test_tests_workflow_runs_the_readme_test_command():
    runs = "\n".join(s.get("run", "") for s in _steps(_workflow("tests")))
    assert "readme_command.py test-command" in runs
    readme_command = _script("readme_command").readme_command
    test = readme_command("test-command")
    # the whole suite, slow tests included (xdist's -n only runs it in parallel)
    assert "python -m pytest -q" in test and " -m " not in test.split("pytest", 1)[1]
    assert "jupyter-book build" in readme_command("book-command")
    with pytest.raises(SystemExit, match="no block"):
        readme_command("no-such-command")


def test_the_version_is_defined_once_and_the_changelog_has_it():
    import unet_tutorial as ut

    stamp = _script("stamp")
    assert stamp.package_version() == ut.__version__
    assert re.search(
        rf"^## {re.escape(ut.__version__)}\b", (ROOT / "CHANGELOG.md").read_text(), re.M
    )
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert (
        'dynamic = ["version"]' in pyproject
        and 'attr = "unet_tutorial.__version__"' in pyproject
    )


def test_chapters_repository_url_and_recorded_results_are_stamped():
    """Run ``python scripts/stamp.py`` when this fails: it rewrites what is stale."""
    stamp = _script("stamp")
    assert stamp.stamp_chapters(check=True) == [], "chapters' install cells are stale"
    assert stamp.stamp_url(check=True) == [], (
        "README.md / pyproject.toml name another repository"
    )
    assert stamp.stamp_recorded(check=True) == [], "the package's recorded results"
    import unet_tutorial as ut

    assert stamp.RECORDED == ut.engine.book.RECORDED


def test_install_cell_is_one_comment_and_one_line_with_the_measured_time():
    import unet_tutorial as ut

    stamp = _script("stamp")
    times = json.loads(stamp.TIMES.read_text()) if stamp.TIMES.is_file() else {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        first = next(
            c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"
        )
        lines = "".join(first["source"]).splitlines()
        assert lines[-1] == f"%pip install -q unet-tutorial=={ut.__version__}", path.name
        # at most 4 comment lines: a chapter that loads two runs names both
        assert all(line.startswith("# ") for line in lines[:-1]) and len(lines) <= 5
        assert first["metadata"].get("tags") == ["skip-execution"], path.name
        comment = " ".join(line[2:] for line in lines[:-1])
        measured = times.get("cpu_s", {}).get(path.stem)
        said = "Not timed" if measured is None else stamp._duration(measured)
        assert f"{said.capitalize()} on" in comment, path.name
        assert max(map(len, lines)) <= 80, f"{path.name}: too wide for the page"
    times = {"cpu_s": {"x": 300.0, "t": 61.0}, "cpu_machine": "2 CPU cores"}
    bare = stamp.install_cell("y", "9.9.9", {})
    assert "Not timed on" in bare and "build" not in bare
    cell = stamp.install_cell("x", "9.9.9", times, ["pets"], {"em": "t"})
    cell = " ".join(line.removeprefix("# ") for line in cell.splitlines())
    assert "unet-tutorial==9.9.9" in cell and "About 5 min on 2 CPU cores" in cell
    assert "trains the pets run" in cell
    assert "loads the em run of the t chapter (opened alone, it trains it first: about 60 s more)" in cell


def test_each_cached_run_is_trained_by_one_chapter_and_loaded_by_the_others():
    stamp = _script("stamp")
    paths = sorted((ROOT / "book").glob("*.ipynb"))
    texts = {p.stem: stamp.chapter_code(p) for p in paths}
    roles = stamp.run_roles(texts)
    trained = [run for trains, _ in roles.values() for run in trains]
    assert "pets" in trained and len(trained) == len(set(trained))
    for chapter, (trains, loads) in roles.items():
        first = next(
            c
            for c in json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())["cells"]
            if c["cell_type"] == "code"
        )
        comment = " ".join(
            line.removeprefix("# ") for line in "".join(first["source"]).splitlines()
        )
        for run in trains:
            assert f"trains the {run} run" in comment or f"trains the {run} and" in comment or f" and {run} runs" in comment, chapter
        for run, by in loads.items():
            assert f"loads the {run} run of the {by} chapter" in comment, chapter
            # a chapter that reuses a run loads it, never trains a copy
            assert "ut.train(" not in texts[chapter], chapter
            assert "ut.train_or_load(" in texts[chapter], chapter
    # the stamps follow the sources: a third chapter asking for pets loads it
    extra = stamp.run_roles({**texts, "zz": 'ut.in_run_cache(config, "pets")'})
    assert extra["zz"] == ([], {"pets": roles and next(c for c, (t, _) in roles.items() if "pets" in t)})


def test_url_stamp_rewrites_every_form_of_the_repository_link():
    stamp = _script("stamp")
    text = "see https://github.com/old/name and colab.research.google.com/github/old/name/blob/main/book/x.ipynb"
    out = stamp._with_url(text, "https://github.com/new/repo")
    assert "github.com/old" not in out and "github/old" not in out
    assert (
        "https://github.com/new/repo" in out
        and "colab.research.google.com/github/new/repo/blob" in out
    )
    config = (ROOT / "_config.yml").read_text()
    assert f"url: {stamp.repository_url()}" in config
