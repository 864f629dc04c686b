"""Write what is derived from the project's one-place definitions, so that nothing is typed twice.

* **Every chapter's first code cell.** A chapter opened in Colab has nothing
  around it, so that cell installs exactly the package version the book was
  built with (one comment, one line), and its comment says how long the
  chapter runs and which cached runs (``ut.in_run_cache(config, "NAME")``) it
  trains and which it loads from an earlier chapter. From: ``__version__`` in
  ``unet_tutorial/__init__.py`` (the version, defined once), the chapters'
  sources, and ``benchmarks/results/chapter_times.json`` (measured by
  ``benchmarks/book_build.py``).
* **The recorded results the chapters show** (``ut.recorded_results``):
  copies of ``benchmarks/results/<name>.json`` in ``unet_tutorial/assets``.
* **The repository URL** in ``README.md``, ``pyproject.toml`` and
  ``book/benchmarks.md``, from
  ``repository.url`` in ``_config.yml`` (which the launch buttons use).

Usage (from the repository root)::

    python scripts/stamp.py                  # rewrite what is stale
    python scripts/stamp.py --check          # exit 1 if anything is stale (tests, release workflow)
    python scripts/stamp.py --print-version  # the package version (the release workflow compares the tag)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TIMES = ROOT / "benchmarks" / "results" / "chapter_times.json"
MARKER = "%pip install -q unet-tutorial=="
SKIP = "skip-execution"
"""The install cell's tag: the book's build runs it not (it runs against the package
it was built with); Colab and Jupyter ignore tags and run it."""
RECORDED = ("isbi", "skip_seeds")
"""``unet_tutorial.engine.book.RECORDED``: the results copied into the package."""


def repository_url() -> str:
    """``repository.url`` from ``_config.yml``: the one place the GitHub repository is named."""
    import yaml

    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"][
        "url"
    ].rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(
            f"_config.yml: repository.url {url!r} is not https://github.com/OWNER/NAME"
        )
    return url


def _with_url(text: str, url: str) -> str:
    """``text`` with every GitHub repository reference (plain, or Colab's ``/github/`` form) set to ``url``."""
    slug = url.removeprefix("https://github.com/")
    text = re.sub(r"https://github\.com/[\w.-]+/[\w.-]+", url, text)
    return re.sub(
        r"(colab\.research\.google\.com/github/)[\w.-]+/[\w.-]+", rf"\g<1>{slug}", text
    )


def stamp_url(check: bool = False) -> list[str]:
    """Set the repository URL in README.md, pyproject.toml and the benchmarks page (its
    link to the full trial table); return the stale files.
    """
    url, stale = repository_url(), []
    for name in ("README.md", "pyproject.toml", "book/benchmarks.md"):
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        if url not in text:
            raise SystemExit(f"{name} never names the repository ({url})")
        wanted = _with_url(text, url)
        if wanted != text:
            stale.append(name)
            if not check:
                path.write_text(wanted, encoding="utf-8")
    return stale


def package_version() -> str:
    """``__version__`` as written in the package (read as text: no TensorFlow import)."""
    text = (ROOT / "unet_tutorial" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not found:
        raise SystemExit("unet_tutorial/__init__.py defines no __version__")
    return found.group(1)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not timed"
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    return f"about {round(seconds / 60):.0f} min"


RUN_NAME = re.compile(r'in_run_cache\([^()]*(?:\([^()]*\)[^()]*)*,\s*"([\w-]+)"\s*\)')
"""``ut.in_run_cache(config, "pets")``: the name of a run in the run cache."""


def cached_runs(text: str) -> list[str]:
    """The names of the runs a chapter's source asks the run cache for, in order."""
    return list(dict.fromkeys(RUN_NAME.findall(text)))


def chapter_code(path: Path) -> str:
    """The code cells of a chapter, joined: what it runs."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def run_roles(chapters: dict[str, str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Per chapter (name -> source text, executed in name order): the cached runs it
    trains (it is the first to ask for them) and those it loads, with the chapter
    that trains each.
    """
    trainer: dict[str, str] = {}
    roles = {}
    for chapter in sorted(chapters):
        trains, loads = [], {}
        for run in cached_runs(chapters[chapter]):
            if run in trainer:
                loads[run] = trainer[run]
            else:
                trainer[run] = chapter
                trains.append(run)
        roles[chapter] = (trains, loads)
    return roles


def install_cell(
    chapter: str,
    version: str,
    times: dict,
    trains: list[str] = (),
    loads: dict[str, str] | None = None,
) -> str:
    """The source of the first code cell of ``chapter`` (a notebook name without
    ``.ipynb``): one comment and one line.

    The comment gives the chapter's measured run time and which cached runs it
    trains and which it loads (``trains``; ``loads``: run -> the chapter that trains
    it, whose time is added for a chapter opened alone).
    """
    cpu_s = times.get("cpu_s", {})
    where = times.get("cpu_machine", "2 CPU cores")
    parts = [f"{_duration(cpu_s.get(chapter))} on {where}"]
    if trains:
        parts.append(f"trains the {' and '.join(trains)} run{'s' * (len(trains) > 1)}")
    for run, by in (loads or {}).items():
        parts.append(
            f"loads the {run} run of the {by} chapter (opened alone, it trains it "
            f"first: {_duration(cpu_s.get(by))} more)"
        )
    text = "; ".join(parts)
    text = (
        f"Colab: run this cell first (the introduction explains). "
        f"{text[0].upper()}{text[1:]}."
    )
    comment = textwrap.wrap(text, 76, break_on_hyphens=False)
    return "\n".join([*("# " + line for line in comment), f"{MARKER}{version}"])


def _source(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def stamp_chapters(check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, compare) every chapter's install cell; return the
    stale chapters.
    """
    version = package_version()
    times = json.loads(TIMES.read_text()) if TIMES.is_file() else {}
    paths = sorted(BOOK.glob("*.ipynb"))
    roles = run_roles({p.stem: chapter_code(p) for p in paths})
    stale = []
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
        first = "".join(cells[0]["source"]) if cells else ""
        if MARKER not in first and "google.colab" not in first:
            raise SystemExit(
                f"{path.name}: the first code cell is not the Colab install cell ({MARKER!r})"
            )
        wanted = _source(install_cell(path.stem, version, times, *roles[path.stem]))
        tags = cells[0].setdefault("metadata", {}).get("tags", [])
        if cells[0]["source"] != wanted or tags != [SKIP]:
            stale.append(path.name)
            if not check:
                cells[0]["source"] = wanted
                # the built book runs against the package it was built with
                cells[0]["metadata"]["tags"] = [SKIP]
                path.write_text(
                    json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8",
                )
    return stale


def stamp_recorded(check: bool = False) -> list[str]:
    """Copy the benchmark results that the chapters show into the package
    (``ut.recorded_results``); return the stale copies.
    """
    stale = []
    for name in RECORDED:
        source = ROOT / "benchmarks" / "results" / f"{name}.json"
        copy = ROOT / "unet_tutorial" / "assets" / f"recorded_{name}.json"
        text = source.read_text(encoding="utf-8")
        if not copy.is_file() or copy.read_text(encoding="utf-8") != text:
            stale.append(str(copy.relative_to(ROOT)))
            if not check:
                copy.write_text(text, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only report what is stale (exit 1 if anything is)",
    )
    parser.add_argument(
        "--print-version",
        action="store_true",
        help="print the package version and exit",
    )
    args = parser.parse_args(argv)
    if args.print_version:
        print(package_version())
        return 0
    stale = (
        stamp_chapters(check=args.check)
        + stamp_url(check=args.check)
        + stamp_recorded(check=args.check)
    )
    if args.check and stale:
        print("stale (run python scripts/stamp.py): " + ", ".join(stale))
        return 1
    print(
        ("rewrote: " + ", ".join(stale))
        if stale
        else "up to date: chapters' install cells, repository URL, recorded results"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
