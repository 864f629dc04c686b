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


def test_chapters_and_repository_url_are_stamped():
    """Run ``python scripts/stamp.py`` when this fails: it rewrites what is stale."""
    stamp = _script("stamp")
    assert stamp.stamp_chapters(check=True) == [], "chapters' install cells are stale"
    assert stamp.stamp_url(check=True) == [], (
        "README.md / pyproject.toml name another repository"
    )


def test_install_cell_pins_the_version_and_gives_gpu_and_time(tmp_path):
    import unet_tutorial as ut

    stamp = _script("stamp")
    times = json.loads(stamp.TIMES.read_text()) if stamp.TIMES.is_file() else {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        first = next(
            c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"
        )
        lines = "".join(first["source"]).splitlines()
        assert lines[-1] == f"    %pip install -q unet-tutorial=={ut.__version__}", (
            path.name
        )
        comment = " ".join(line[2:] for line in lines if line.startswith("# "))
        assert "Change runtime type" in comment and "Run time, measured" in comment, (
            path.name
        )
        measured = times.get("cpu_s", {}).get(path.stem)
        said = "not timed" if measured is None else stamp._duration(measured)
        assert f"built: {said} on" in comment, (
            f"{path.name}: the time is not the measured one"
        )
        assert max(map(len, lines)) <= 80, (
            f"{path.name}: the install cell is too wide for the page"
        )
        # only a chapter that loads the shared run says it may train it first
        text = path.read_text()
        if "opened alone it first trains" in comment:
            assert "shared_run(" in text and "train_or_load(" in text, path.name
    times = {
        "cpu_s": {"x": 300.0, "t": 61.0},
        "gpu_s": {"x": 40.0},
        "cpu_machine": "2 CPU cores",
    }
    # written for readers: an unmeasured time says so, nothing about the build
    bare = stamp.install_cell("y", "9.9.9", {})
    assert "With a GPU: not timed." in " ".join(
        line.removeprefix("# ") for line in bare.splitlines()
    )
    assert "at hand" not in bare and "yet" not in bare
    cell = stamp.install_cell("x", "9.9.9", times, reuses="t")
    cell = " ".join(line.removeprefix("# ") for line in cell.splitlines())
    assert (
        "unet-tutorial==9.9.9" in cell
        and "about 5 min on 2 CPU cores" in cell
        and "GPU: about 40 s" in cell
    )
    assert "first trains that run (about 60 s more)" in cell


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
