"""Skip connections on and off, over several seeds: the *Skip connections* chapter's
ablation repeated, so that its one-seed difference can be read against seed noise.

Each seed trains the book's CPU profile with the chapter's shortening (64 px,
8 epochs), once with and once without skip connections, through ``train``
(the same code path as the page), and records the best validation mean IoU
of each run (the validation hold-out; the test split is not used to compare).
Writes ``results/skip_seeds.json`` and ``.md``.

    python benchmarks/skip_seeds.py --source ../shared/data/oxford-pets-subset --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine_info, write_results  # noqa: E402

# what the chapter changes in the CPU profile for its two runs
SHORTER = dict(image_size=64, epochs=8)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default=os.environ.get("UNET_TUTORIAL_OXFORD_DIR"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    if not args.source:
        raise SystemExit("name a folder with --source or UNET_TUTORIAL_OXFORD_DIR")
    import unet_tutorial as ut

    runs: dict[str, list[float]] = {"with skips": [], "without skips": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for name, skips in (("with skips", True), ("without skips", False)):
                config = ut.TrainConfig.preset(
                    "cpu",
                    source=args.source,
                    skip_connections=skips,
                    seed=seed,
                    output_dir=str(Path(tmp, f"{seed}_{skips}")),
                    snapshot_images=0,
                    evaluate_test=False,
                    **SHORTER,
                )
                result = ut.train(config, verbose=0)
                runs[name].append(round(max(result.history["val_mean_iou"]), 4))
                print(name, seed, runs[name][-1], flush=True)
    diffs = [
        a - b for a, b in zip(runs["with skips"], runs["without skips"], strict=True)
    ]
    folder = Path(args.source).name
    lines = [
        f"{ut.describe_source(ut.resolve_source(args.source))}; the CPU profile at "
        f"{SHORTER['image_size']} px for {SHORTER['epochs']} epochs; best validation "
        f"mean IoU of each run, seeds {', '.join(map(str, args.seeds))}.",
        "",
        "| | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean ± sd |",
        "|---|" + "---:|" * (len(args.seeds) + 1),
    ]
    for name, values in (*runs.items(), ("difference", diffs)):
        cells = " | ".join(
            f"{v:+.3f}" if name == "difference" else f"{v:.3f}" for v in values
        )
        sd = statistics.stdev(values) if len(values) > 1 else float("nan")
        lines.append(f"| {name} | {cells} | {statistics.mean(values):.3f} ± {sd:.3f} |")
    write_results(
        "skip_seeds",
        {
            "machine": machine_info(),
            "folder": folder,
            "settings": SHORTER,
            "seeds": args.seeds,
            "best_val_mean_iou": runs,
        },
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
