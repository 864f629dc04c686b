"""The book's CPU recipe on real pets: training time, validation and subset-test scores.

Runs ``TrainConfig.preset("cpu")`` (or another preset) through ``train`` on an
official-layout folder (default: ``$UNET_TUTORIAL_OXFORD_DIR``), exactly as the
training chapter does, and records the training minutes, the best validation
mean IoU and the test scores of ``best.keras`` (scored once, after training).

On the 3-breed subset the book is built with, a score is a subset score,
not an Oxford-IIIT Pet result in the usual sense (that needs the full
official splits of 37 breeds).

    python benchmarks/recipe.py                 # the folder named by $UNET_TUTORIAL_OXFORD_DIR
    python benchmarks/recipe.py --unseen-breed american_bulldog

``--unseen-breed`` checks how the recipe generalises to a breed it never saw:
it trains on the other breeds' ``trainval`` images only and tests on the test
images of the named breed alone (results in ``recipe_unseen.*``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine_info, write_results  # noqa: E402


def render(results: dict) -> str:
    """The Markdown table of a results dict."""
    lines = [
        f"Recipe `{results['preset']}` on {results['data']} ({results['machine']['cpu']}, "
        f"{results['machine']['cores']} cores, {results['machine']['date']}).",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    lines += [
        f"| {k} | {v} |"
        for k, v in results["config"].items()
        if k not in ("output_dir", "source", "data_dir")
    ]
    r = results["result"]
    lines += [
        "",
        "| measure | value |",
        "|---|---:|",
        f"| training time (min) | {r['train_minutes']:.1f} |",
        f"| best validation mean IoU | {r['best_val_mean_iou']:.3f} |",
        f"| checkpoint scored on test (chosen before training) | {r.get('tested', 'best')}.keras |",
        f"| test mean IoU | {r['test_mean_iou']:.3f} |",
        f"| test pixel accuracy | {r['test_pixel_accuracy']:.3f} |",
    ]
    lines += [f"| test IoU {k} | {v:.3f} |" for k, v in r["test_per_class_iou"].items()]
    if results.get("note"):  # e.g. how the machine was loaded while it ran
        lines += ["", results["note"]]
    return "\n".join(lines)


def unseen_breed_data(root: str, folder: str, breed: str) -> str:
    """Which data an unseen-breed run used, counted from ``folder``'s lists
    (``unseen_breed_folder``): the breeds it trained on and the one it was tested on.

    ``root`` (the source folder) is named by its last part only.
    """
    import unet_tutorial as ut

    splits = {s: ut.read_split_file(folder, s) for s in ut.SPLITS}
    seen = sorted({ut.breed_of(r.name) for r in splits["train"] + splits["validation"]})
    return (
        f"Oxford-IIIT Pet, folder {Path(root).resolve().name}: trained on "
        f"{len(splits['train'])} train / {len(splits['validation'])} validation images of "
        f"{len(seen)} breeds ({', '.join(seen)}), without {breed}; tested on the "
        f"{len(splits['test'])} test images of {breed} alone"
    )


def unseen_breed_folder(root: str, breed: str, tmp: str) -> str:
    """An official-layout folder, linking ``root``'s files: trainval without ``breed``, test with ``breed`` alone."""
    import unet_tutorial as ut

    root, out = Path(root).resolve(), Path(tmp) / "unseen"
    (out / "annotations").mkdir(parents=True)
    (out / "images").symlink_to(root / "images")
    (out / "annotations" / "trimaps").symlink_to(root / "annotations" / "trimaps")
    for name, keep in (
        ("trainval", lambda b: b != breed),
        ("test", lambda b: b == breed),
    ):
        lines = (root / "annotations" / f"{name}.txt").read_text().splitlines()
        rows = [line for line in lines if line.strip() and not line.startswith("#")]
        kept = [line for line in rows if keep(ut.breed_of(line.split()[0]))]
        if not kept:
            raise SystemExit(
                f"{name}.txt keeps no image for --unseen-breed {breed!r}; is the breed name right?"
            )
        (out / "annotations" / f"{name}.txt").write_text("\n".join(kept) + "\n")
    return str(out)


def main() -> None:
    import unet_tutorial as ut

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--source",
        default=os.environ.get(ut.OXFORD_DIR_ENV),
        help="official-layout folder",
    )
    p.add_argument("--preset", default="cpu")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument(
        "--unseen-breed",
        default=None,
        help="train without this breed, test on it alone",
    )
    p.add_argument(
        "--render",
        action="store_true",
        help="rewrite the Markdown from the JSON only (with --unseen-breed and a "
        "folder, also recount recipe_unseen's data line from the folder's lists)",
    )
    args = p.parse_args()
    if args.render:
        import json

        from _common import RESULTS

        if args.unseen_breed and args.source:
            # the description counted again from the lists (no training)
            with tempfile.TemporaryDirectory() as tmp:
                folder = unseen_breed_folder(args.source, args.unseen_breed, tmp)
                results = json.loads((RESULTS / "recipe_unseen.json").read_text())
                results["data"] = unseen_breed_data(
                    args.source, folder, args.unseen_breed
                )
                results.pop("verdict", None)
                (RESULTS / "recipe_unseen.json").write_text(
                    json.dumps(results, indent=2) + "\n"
                )
        for name in ("recipe", "recipe_unseen"):
            if (RESULTS / f"{name}.json").is_file():
                results = json.loads((RESULTS / f"{name}.json").read_text())
                (RESULTS / f"{name}.md").write_text(render(results) + "\n")
        return
    if not args.source:
        p.error(f"name a folder with --source or {ut.OXFORD_DIR_ENV}")
    overrides = {"epochs": args.epochs} if args.epochs else {}
    with tempfile.TemporaryDirectory() as tmp:
        source = (
            unseen_breed_folder(args.source, args.unseen_breed, tmp)
            if args.unseen_breed
            else args.source
        )
        data = (
            unseen_breed_data(args.source, source, args.unseen_breed)
            if args.unseen_breed
            else None
        )
        config = ut.TrainConfig.preset(
            args.preset, source=source, output_dir=f"{tmp}/run", **overrides
        )
        start = time.monotonic()
        result = ut.train(config, verbose=0, callbacks=[ut.EpochLog()])
        total = time.monotonic() - start
    from dataclasses import asdict

    row = {
        # includes validation, snapshots and the final test scoring
        "train_minutes": round(total / 60, 2),
        "best_val_mean_iou": round(max(result.history["val_mean_iou"]), 4),
        "tested": config.tested_checkpoint(),
        "test_mean_iou": round(result.test.mean_iou, 4),
        "test_pixel_accuracy": round(result.test.pixel_accuracy, 4),
        "test_per_class_iou": {
            k: round(v, 4) for k, v in result.test.per_class_iou.items()
        },
    }
    data = data or result.data.description
    results = {
        "preset": args.preset,
        "data": data,
        # a folder is named by its last part: results never show this machine's paths
        "config": {
            # (the unseen-breed folder is gone by now: test the value, not the disk)
            k: (Path(v).name if k == "source" and os.sep in str(v) else v)
            for k, v in asdict(config).items()
            if k != "output_dir"
        },
        "result": row,
        "machine": machine_info(),
    }
    write_results(
        "recipe_unseen" if args.unseen_breed else "recipe", results, render(results)
    )
    print(render(results))


if __name__ == "__main__":
    main()
