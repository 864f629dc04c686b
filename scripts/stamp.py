"""Write what is derived from the project's one-place definitions, so that nothing is typed twice.

* **Every chapter's first code cell.** A chapter opened in Colab has nothing
  around it, so that cell installs exactly the package version the book was
  built with, says how to get a GPU and how long the chapter runs. From:
  ``__version__`` in ``unet_tutorial/__init__.py`` (the version, defined
  once) and ``benchmarks/results/chapter_times.json`` (measured by
  ``benchmarks/book_build.py``; CPU, and GPU where one was at hand).
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
MARKER = 'if "google.colab" in sys.modules:'


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


def _trainer_of_shared_run() -> str | None:
    """The chapter that trains the run other chapters reuse (it calls ``shared_run`` and ``ut.train``)."""
    for path in sorted(BOOK.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        if "shared_run(" in text and "ut.train(" in text:
            return path.stem
    return None


def install_cell(
    chapter: str, version: str, times: dict, reuses: str | None = None
) -> str:
    """The source of the first code cell of ``chapter`` (a notebook name without ``.ipynb``).

    ``reuses`` names the chapter whose run this one loads when it exists (and
    trains otherwise): its time is added for a chapter opened alone.
    """
    cpu_s, gpu_s = times.get("cpu_s", {}), times.get("gpu_s", {})
    cpu_where = times.get("cpu_machine", "2 CPU cores")
    gpu = _duration(gpu_s.get(chapter))
    text = (
        f"Colab: run this cell first. It installs unet-tutorial=={version}, the version this book was built "
        "with (elsewhere the package is already installed). For a GPU in Colab, before running anything: "
        "Runtime > Change runtime type > a GPU (e.g. T4); the chapters then use the full-size settings. "
        f"Run time, measured when the book was built: {_duration(cpu_s.get(chapter))} on {cpu_where}"
    )
    if reuses:
        text += (
            f" when the {reuses} chapter has run before on the same machine; opened alone it first trains that "
            f"run ({_duration(cpu_s.get(reuses))} more)"
        )
    text += f". With a GPU: {gpu}."
    comment = textwrap.wrap(text, 74, break_on_hyphens=False)
    code = ["import sys", "", MARKER, f"    %pip install -q unet-tutorial=={version}"]
    return "\n".join(["# " + line for line in comment] + code)


def _source(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def stamp_chapters(check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, compare) every chapter's install cell; return the stale chapters."""
    version = package_version()
    times = json.loads(TIMES.read_text()) if TIMES.is_file() else {}
    stale, trainer = [], _trainer_of_shared_run()
    for path in sorted(BOOK.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        nb = json.loads(text)
        cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
        if not cells or MARKER not in "".join(cells[0]["source"]):
            raise SystemExit(
                f"{path.name}: the first code cell is not the Colab install cell ({MARKER!r})"
            )
        # a chapter that loads the shared run (and trains it when it is missing)
        loads_shared = "shared_run(" in text and "train_or_load(" in text
        reuses = trainer if (loads_shared and path.stem != trainer) else None
        wanted = _source(install_cell(path.stem, version, times, reuses))
        if cells[0]["source"] != wanted:
            stale.append(path.name)
            if not check:
                cells[0]["source"] = wanted
                path.write_text(
                    json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8",
                )
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
    stale = stamp_chapters(check=args.check) + stamp_url(check=args.check)
    if args.check and stale:
        print("stale (run python scripts/stamp.py): " + ", ".join(stale))
        return 1
    print(
        ("rewrote: " + ", ".join(stale))
        if stale
        else "up to date: chapters' install cells, repository URL"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
