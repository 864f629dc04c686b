"""Trivial baselines: what predicting one class at every pixel scores on the data
behind every headline score of the benchmarks page.

A pixel accuracy of 0.8 on pets, or a pixel error of 0.2 on EM membranes, means
nothing until you know what a "model" that never looks at the image gets. This
script scores two such models with ``ut.constant_prediction_scores``, the same
scores as ``ut.evaluate``, on the same images the benchmarks score:

* Oxford-IIIT Pet (an official-layout folder, e.g. the 3-breed subset): the
  majority class (background) and "everything is the pet's body" (class pet),
  on the test split at 96 px (the CPU recipe and its trials), the train and
  validation splits at 96 px (the images the cross-validation deals into folds),
  the validation hold-out at 64 px (the race against the peers and the
  skip-connection seeds), and the test images of ``--unseen-breed`` alone at
  96 px (the recipe trained without that breed).
* The EM slices (ISBI 2012, the paper's experiment): the majority class (cell)
  on the whole test slices 20-23 and validation slices 18-19, scored as
  ``benchmarks/isbi.py`` scores a model (``ut.em_scores``: pixel error, adapted
  Rand error, membrane IoU).

Nothing is trained; it takes seconds. Writes ``results/baselines.json`` and one
Markdown table per place the page shows them: ``baselines_pets_test.md``,
``baselines_pets_trainval.md``, ``baselines_pets_validation64.md``,
``baselines_pets_unseen.md`` and ``baselines_isbi.md``.

    python benchmarks/baselines.py --pets PETS_FOLDER --isbi EM_FOLDER
    python benchmarks/baselines.py --render    # rewrite the tables from the JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import RESULTS, machine_info, write_results  # noqa: E402

PET_CLASS = 0
"""The pets' class "pet" (the animal's body; ``ut.CLASS_NAMES``)."""
EM_CLASSES = ("membrane", "cell")
"""The EM folder's classes: mask value 0 is membrane, 255 cell."""
PETS_SETS = {
    # name: (split(s), image size, what it is the baseline for)
    "test": (("test",), 96, "the test split at 96 px, as the CPU recipe is scored"),
    "trainval": (
        ("train", "validation"),
        96,
        "the train and validation splits at 96 px, the images the folds are dealt from",
    ),
    "validation64": (
        ("validation",),
        64,
        "the validation hold-out at 64 px, as the peers' race and the skip seeds score",
    ),
}


def score_row(evaluation, predicted: str, majority: bool) -> dict:
    """One baseline's scores as the JSON keeps them."""
    return {
        "predicted": predicted,
        "majority": majority,
        "pixel_accuracy": round(evaluation.pixel_accuracy, 4),
        "mean_iou": round(evaluation.mean_iou, 4),
        "per_class_iou": {k: round(v, 4) for k, v in evaluation.per_class_iou.items()},
        "images": evaluation.num_images,
    }


def pets_baselines(folder: str, splits: tuple[str, ...], size: int) -> dict:
    """The majority class and "everything is pet" on ``splits`` of ``folder``."""
    import unet_tutorial as ut

    ds = None
    for split in splits:
        part, info = ut.load_dataset(
            folder, split, image_size=size, batch_size=64, verbose=False
        )
        ds = part if ds is None else ds.concatenate(part)
    majority = ut.majority_class(ds)
    names = info.class_names
    rows = [
        score_row(ut.constant_prediction_scores(ds, c, names), names[c], c == majority)
        for c in dict.fromkeys((majority, PET_CLASS))  # the majority first
    ]
    return {"splits": list(splits), "image_size": size, "rows": rows}


def isbi_baselines(folder: str) -> dict:
    """The majority class (cell) on the whole validation and test slices."""
    import numpy as np

    import unet_tutorial as ut

    out = {}
    for split in ("validation", "test"):
        ds, _ = ut.load_dataset(
            folder, split, image_size=None, batch_size=1, channels=1, verbose=False
        )
        majority = ut.majority_class(ds)
        pixels = ut.constant_prediction_scores(ds, majority, EM_CLASSES)
        truths = [m for _, y in ds for m in np.asarray(y)]
        em = ut.em_scores([np.full_like(t, majority) for t in truths], ds)
        out[split] = {
            "predicted": EM_CLASSES[majority],
            "pixel_error": round(em.pixel_error, 4),
            "pixel_error_from_accuracy": round(1 - pixels.pixel_accuracy, 4),
            "rand_error": round(em.rand_error, 4),
            "membrane_iou": round(em.membrane_iou, 4),
            "slices": em.num_images,
        }
    return out


def _label(row: dict) -> str:
    if row["majority"]:
        return f"{row['predicted']}, the majority class"
    return f"{row['predicted']} (everything is the pet's body)"


def _pets_table(data: str, block: dict, took: str) -> str:
    names = list(block["rows"][0]["per_class_iou"])
    lines = [
        "| prediction at every pixel | pixel accuracy | mean IoU | "
        + " | ".join(f"IoU {n}" for n in names)
        + " |",
        "|---|---:|---:|" + "---:|" * len(names),
    ]
    for row in block["rows"]:
        lines.append(
            f"| {_label(row)} | {row['pixel_accuracy']:.3f} | {row['mean_iou']:.3f} | "
            + " | ".join(f"{row['per_class_iou'][n]:.3f}" for n in names)
            + " |"
        )
    images = block["rows"][0]["images"]
    return (
        f"Trivial baselines on {data}: {block['what']}, {images} images "
        f"(`ut.constant_prediction_scores`: `ut.evaluate`'s scores; {took}).\n\n"
        + "\n".join(lines)
    )


def render(results: dict) -> dict[str, str]:
    """``{results file name: Markdown}`` of a results dict."""
    m = results["machine"]
    took = (
        f"nothing trained, {results['seconds']:.0f} s on {m['cpu']}, {m['cores']} cores"
    )
    tables = {}
    pets = results.get("pets")
    if pets:
        for name, block in pets["sets"].items():
            tables[f"baselines_pets_{name}"] = _pets_table(pets["data"], block, took)
    isbi = results.get("isbi")
    if isbi:
        lines = [
            f"Trivial baseline on the EM slices (folder {isbi['data']}): the majority "
            f"class at every pixel, scored as `benchmarks/isbi.py` scores a model "
            f"(`ut.em_scores`; {took}).",
            "",
            "| slices | prediction at every pixel | pixel error | adapted Rand error "
            "| membrane IoU |",
            "|---|---|---:|---:|---:|",
        ]
        for split, where in (
            ("test", "test 20-23"),
            ("validation", "validation 18-19"),
        ):
            r = isbi["splits"][split]
            lines.append(
                f"| {where} | {r['predicted']}, the majority class | {r['pixel_error']:.4f} "
                f"| {r['rand_error']:.4f} | {r['membrane_iou']:.3f} |"
            )
        tables["baselines_isbi"] = "\n".join(lines)
    return tables


def write(results: dict) -> None:
    tables = render(results)
    write_results("baselines", results, "\n\n".join(tables.values()))
    for name, table in tables.items():
        (RESULTS / f"{name}.md").write_text(table + "\n")


def main() -> None:
    import unet_tutorial as ut

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--pets",
        default=os.environ.get(ut.OXFORD_DIR_ENV),
        help="official-layout Oxford-IIIT Pet folder",
    )
    p.add_argument(
        "--isbi", default=os.environ.get(ut.ISBI_DIR_ENV), help="the EM folder"
    )
    p.add_argument(
        "--unseen-breed",
        default="american_bulldog",
        help="also score that breed's test images alone",
    )
    p.add_argument(
        "--render", action="store_true", help="rewrite the tables from the JSON"
    )
    args = p.parse_args()
    if args.render:
        write(json.loads((RESULTS / "baselines.json").read_text()))
        return
    if not args.pets or not args.isbi:
        p.error("name the folders with --pets and --isbi")
    start = time.monotonic()
    sets = {}
    for name, (splits, size, what) in PETS_SETS.items():
        sets[name] = {**pets_baselines(args.pets, splits, size), "what": what}
    if args.unseen_breed:
        import recipe

        with tempfile.TemporaryDirectory() as tmp:
            folder = recipe.unseen_breed_folder(args.pets, args.unseen_breed, tmp)
            sets["unseen"] = {
                **pets_baselines(folder, ("test",), 96),
                "what": f"the test images of {args.unseen_breed} alone at 96 px",
            }
    results = {
        # folders are named by their last part: results never show this machine's paths
        "pets": {
            "data": f"Oxford-IIIT Pet, folder {Path(args.pets).name}",
            "sets": sets,
        },
        "isbi": {"data": Path(args.isbi).name, "splits": isbi_baselines(args.isbi)},
        "seconds": round(time.monotonic() - start, 1),
        "machine": machine_info(),
    }
    write(results)
    print("\n\n".join(render(results).values()))


if __name__ == "__main__":
    main()
