"""Helpers shared by the benchmark scripts: machine facts and result files."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict:
    """CPU, cores, Python/TensorFlow/Keras versions and GPUs, for the JSON results."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def write_results(name: str, results: dict, table: str) -> Path:
    """Write ``results/<name>.json`` and ``results/<name>.md``; return the JSON path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(table + "\n")
    return path


def append_row(name: str, row: dict) -> None:
    """Append one run's ``row`` to ``results/<name>.jsonl``."""
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{name}.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


def latest_rows(name: str, key) -> dict:
    """The rows of ``results/<name>.jsonl``, the latest of each ``key(row)``, sorted
    by key (``{}`` before the first run).
    """
    rows = {}
    path = RESULTS / f"{name}.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[key(row)] = row
    return dict(sorted(rows.items()))


def timed(fn, *args, repeat: int = 1, **kwargs) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return best
