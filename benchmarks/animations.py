"""Time to build the encoder and decoder GIFs of the default model (base 64, depth 4, 128 px).

Run: ``python benchmarks/animations.py``. Writes ``results/animations.json``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, write_results  # noqa: E402

import unet_tutorial as ut  # noqa: E402


def main() -> None:
    model = ut.build_unet()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (
            ("encoder", ut.animate_encoder),
            ("decoder", ut.animate_decoder),
        ):
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                path = fn(model, Path(tmp) / f"{name}.gif")
                best = min(best, time.perf_counter() - t)
            rows[name] = {"seconds": best, "bytes": path.stat().st_size}
    total = sum(r["seconds"] for r in rows.values())
    table = "\n".join(
        ["| GIF (default model) | seconds (best of 3) | size |", "|---|---:|---:|"]
        + [
            f"| {k} | {v['seconds']:.2f} | {v['bytes'] / 1e3:.0f} kB |"
            for k, v in rows.items()
        ]
        + [f"| both | {total:.2f} | |"]
    )
    path = write_results(
        "animations",
        {"machine": machine_info(), "gifs": rows, "total_seconds": total},
        table,
    )
    print(table)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
