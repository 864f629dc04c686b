"""Wall time of the book build, fresh (every chapter executed) and cached, and of each chapter.

Run from the repository root with the book's environment active:
``python benchmarks/book_build.py``. It deletes ``_build/`` first and gives
the build an empty runs folder (``UNET_TUTORIAL_RUNS``), so no chapter reuses
an earlier run. Writes ``results/book_build.json`` and ``.md``, and the
execution time of every chapter (read from the build's jupyter-cache) to
``results/chapter_times.json``, which ``scripts/stamp.py`` writes
into each chapter's first cell. Run it on a GPU machine with ``--gpu`` to
record the GPU column instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def build(env: dict) -> float:
    exe = Path(sys.executable).parent / "jupyter-book"
    t = time.perf_counter()
    cmd = [str(exe), "build", str(ROOT), "-W", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        warnings = [
            line
            for line in proc.stdout.splitlines()
            if "WARNING" in line or "ERROR" in line
        ]
        raise SystemExit(
            "the book build failed:\n"
            + "\n".join(warnings[-20:] or [proc.stdout[-3000:]])
        )
    return elapsed


def build_table(
    title: str, totals: dict[str, float], chapters: dict[str, float]
) -> str:
    """The Markdown of ``results/book_build.md``: the build's totals, then each chapter."""
    return "\n".join(
        [
            f"| {title} | seconds |",
            "|---|---:|",
            *(f"| {name} | {sec:.0f} |" for name, sec in totals.items()),
            "",
            "| chapter (run from scratch) | seconds |",
            "|---|---:|",
            *(f"| {name} | {sec:.0f} |" for name, sec in sorted(chapters.items())),
        ]
    )


def write_from_ci(chapters: dict[str, float], log: Path, measured: dict) -> None:
    """``results/book_build.md`` from a ``.ci/run`` build: its total (the virtual
    environment's install included) and its chapters' execution times."""
    import re

    found = re.findall(r"book built in (\d+) s \(install included\)", log.read_text())
    if not found:
        raise SystemExit(
            f"{log.name}: no 'book built in N s' line; is it a .ci/run log?"
        )
    results = {
        "machine": measured["machine"],
        "data": measured["data"],
        "fresh_with_install_s": int(found[-1]),
        "chapters_s": chapters,
    }
    write_results("book_build", results, render(results))
    print(render(results))


def render(results: dict) -> str:
    """The Markdown of ``results/book_build.md`` from its JSON, in words for readers."""
    chapters = results["chapters_s"]
    if "fresh_with_install_s" in results:  # a build from a fresh clone
        title = "every chapter run from a fresh clone"
        totals = {
            "in all, installing the packages included": results["fresh_with_install_s"],
            "of which running the chapters": sum(chapters.values()),
        }
    else:
        title = "every chapter run (`jupyter-book build . -W`)"
        totals = {
            "from scratch: every chapter executed": results["fresh_s"],
            "again, nothing changed": results["cached_s"],
        }
    m = results["machine"]
    return (
        build_table(title, totals, chapters)
        + f"\n\nMeasured on {m['cpu']}, {m['cores']} CPU cores, "
        + (f"GPU {', '.join(m['gpus'])}." if m.get("gpus") else "no GPU.")
    )


def chapter_seconds(root: Path = ROOT) -> dict[str, float]:
    """Execution seconds of every chapter in the last build under ``root``, from its jupyter-cache."""
    from jupyter_cache import get_cache

    cache = get_cache(root / "_build" / ".jupyter_cache")
    return {
        Path(r.uri).stem: round(r.data["execution_seconds"], 1)
        for r in cache.list_cache_records()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gpu", action="store_true", help="record the chapter times as GPU times"
    )
    parser.add_argument(
        "--from-build",
        metavar="CHECKOUT",
        help="only record the chapter times of a fresh build already made in "
        "CHECKOUT (e.g. the clean clone that .ci/run built); build nothing",
    )
    parser.add_argument(
        "--ci-log",
        metavar="FILE",
        help="with --from-build: the output of that .ci/run, whose 'book built in "
        "N s (install included)' line gives the build's total; the table is "
        "written from it and the chapter times",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite results/book_build.md from its JSON; build nothing",
    )
    args = parser.parse_args()
    if args.render:
        results = json.loads(
            (ROOT / "benchmarks" / "results" / "book_build.json").read_text()
        )
        (ROOT / "benchmarks" / "results" / "book_build.md").write_text(
            render(results) + "\n"
        )
        return
    if args.from_build:
        times_file = ROOT / "benchmarks" / "results" / "chapter_times.json"
        times = json.loads(times_file.read_text())
        key = "gpu_s" if args.gpu else "cpu_s"
        times[key] = chapter_seconds(Path(args.from_build))
        times[key.replace("_s", "_measured")] = {
            "machine": machine_info(),
            "data": "the build of .ci/run (its data folders)",
        }
        times_file.write_text(json.dumps(times, indent=2, sort_keys=True) + "\n")
        print(json.dumps(times[key], indent=1))
        if args.ci_log and not args.gpu:
            write_from_ci(times[key], Path(args.ci_log), times[f"{key[:3]}_measured"])
        return
    table_file = ROOT / "benchmarks" / "results" / "book_build.md"
    # the benchmarks page includes this file; say honestly that it is pending
    if not table_file.exists():
        table_file.parent.mkdir(exist_ok=True)
        table_file.write_text(
            "Not measured yet: run `python benchmarks/book_build.py`.\n"
        )
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    for generated in ("book/_generated", "book/runs"):
        shutil.rmtree(ROOT / generated, ignore_errors=True)
    machine = machine_info()
    with tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "UNET_TUTORIAL_RUNS": runs}
        fresh = build(env)
        chapters = chapter_seconds()
        cached = build(env)
    oxford = os.environ.get("UNET_TUTORIAL_OXFORD_DIR")
    # the folder's name, never this machine's path to it
    data = (
        f"UNET_TUTORIAL_OXFORD_DIR={Path(oxford).name}"
        if oxford
        else "auto (see the page banners)"
    )
    times_file = ROOT / "benchmarks" / "results" / "chapter_times.json"
    times = json.loads(times_file.read_text()) if times_file.is_file() else {}
    key = "gpu_s" if args.gpu else "cpu_s"
    times[key] = chapters
    times[key.replace("_s", "_measured")] = {"machine": machine, "data": data}
    if not args.gpu:
        times["cpu_machine"] = f"{machine['cores']} CPU cores"
    times_file.write_text(json.dumps(times, indent=2, sort_keys=True) + "\n")
    results = {
        "machine": machine,
        "data": data,
        "fresh_s": fresh,
        "cached_s": cached,
        "chapters_s": chapters,
    }
    table = render(results)
    path = write_results("book_build", results, table)
    print(table)
    print(f"wrote {path} and {times_file}")


if __name__ == "__main__":
    main()
