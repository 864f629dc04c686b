"""Wall time of the book build: fresh (every chapter executed) and cached (nothing changed).

Run from the repository root with the book's environment active:
``python benchmarks/book_build.py``. It deletes ``_build/`` first. Writes
``results/book_build.json`` and ``.md``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def build() -> float:
    exe = Path(sys.executable).parent / "jupyter-book"
    t = time.perf_counter()
    proc = subprocess.run([str(exe), "build", str(ROOT), "-W", "--keep-going"], capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        warnings = [line for line in proc.stdout.splitlines() if "WARNING" in line or "ERROR" in line]
        raise SystemExit("the book build failed:\n" + "\n".join(warnings[-20:] or [proc.stdout[-3000:]]))
    return elapsed


def main() -> None:
    table_file = ROOT / "benchmarks" / "results" / "book_build.md"
    if not table_file.exists():  # the benchmarks page includes this file; say honestly that it is pending
        table_file.parent.mkdir(exist_ok=True)
        table_file.write_text("Not measured yet: run `python benchmarks/book_build.py`.\n")
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    for generated in ("book/_generated", "book/runs"):
        shutil.rmtree(ROOT / generated, ignore_errors=True)
    fresh = build()
    cached = build()
    table = "\n".join(
        [
            "| book build (`jupyter-book build . -W`) | seconds |",
            "|---|---:|",
            f"| fresh: every chapter executed | {fresh:.0f} |",
            f"| cached: nothing changed | {cached:.0f} |",
        ]
    )
    path = write_results("book_build", {"machine": machine_info(), "fresh_s": fresh, "cached_s": cached}, table)
    print(table)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
