"""Choose the CPU recipe without the test split: 3-fold cross-validation over ``trainval``.

Each candidate recipe is trained three times, each time on two thirds of an
official-layout folder's ``trainval`` list and scored on the remaining third
(the folds are breed-stratified and fixed: within each breed the sorted names
are shuffled with seed 0 and dealt round-robin into 3 folds). The test split
is never read here.

The rule that picks the recipe was fixed before any fold was scored (the
one-standard-error rule of cross-validation): take the candidate with the
best mean validation mIoU; if a candidate that trains for fewer epochs has a
mean within one standard error (fold sd / sqrt(folds)) of that best mean,
take the cheapest such candidate instead. ``benchmarks/recipe.py`` then
trains the chosen recipe once on the whole train split and scores the test
split once.

Every fit is appended to ``results/recipe_cv.jsonl`` as it finishes, so an
interrupted search keeps what it measured; ``--render`` rewrites
``results/recipe_cv.md`` (mean ± sd over the folds, and each candidate's
difference from the recipe fold by fold).

    python benchmarks/recipe_cv.py --candidates recipe ce no_jitter e45
    python benchmarks/recipe_cv.py --render
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import RESULTS  # noqa: E402

ROWS = RESULTS / "recipe_cv.jsonl"
FOLDS = 3


def _preset_settings(name: str = "cpu") -> dict:
    """The settings every candidate shares: the ``cpu`` preset's."""
    import unet_tutorial as ut

    c = ut.TrainConfig.preset(name)
    return dict(
        size=c.image_size,
        base=c.base_filters,
        depth=c.depth,
        batch=c.batch_size,
        lr=c.learning_rate,
        epochs=c.epochs,
        sched=c.lr_schedule,
        loss=c.loss,
        jitter=c.jitter,
        min_scale=c.min_scale,
    )


CANDIDATES: dict[str, tuple[str, dict]] = {
    "recipe": ("the cpu preset (CE + Dice, colour jitter, 60 epochs)", {}),
    "ce": ("cross-entropy alone", dict(loss="ce")),
    "no_jitter": ("no colour jitter", dict(jitter=False)),
    "e45": ("45 epochs", dict(epochs=45)),
    "e30": ("30 epochs", dict(epochs=30)),
}


def folds_of(lines: list[str], k: int = FOLDS) -> list[list[str]]:
    """Deal the ``trainval`` lines into ``k`` breed-stratified folds."""
    import numpy as np

    import unet_tutorial as ut

    by_breed: dict[str, list[str]] = {}
    for line in lines:
        by_breed.setdefault(ut.breed_of(line.split()[0]), []).append(line)
    rng = np.random.default_rng(0)
    folds: list[list[str]] = [[] for _ in range(k)]
    for breed in sorted(by_breed):
        for i, line in enumerate(rng.permutation(sorted(by_breed[breed])).tolist()):
            folds[i % k].append(line)
    return folds


def _fold_root(source: Path, where: Path, lists: dict[str, list[str]]) -> Path:
    """An official-layout folder of symlinks whose split lists are ``lists``."""
    where.mkdir(parents=True)
    (where / "annotations").mkdir()
    (where / "images").symlink_to(source / "images")
    (where / "annotations" / "trimaps").symlink_to(source / "annotations" / "trimaps")
    for name, rows in lists.items():
        (where / "annotations" / f"{name}.txt").write_text("\n".join(rows) + "\n")
    return where


def run_fit(source: Path, candidate: str, fold: int) -> dict:
    import unet_tutorial as ut

    settings = {**_preset_settings(), **CANDIDATES[candidate][1]}
    lines = [
        line
        for line in (source / "annotations" / "trainval.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    folds = folds_of(lines)
    held = folds[fold]
    rest = [line for i, f in enumerate(folds) if i != fold for line in f]
    with tempfile.TemporaryDirectory() as tmp:
        # the fold's training images are the "test" list of one folder, its validation
        # images that of another (no image is in both lists of either folder)
        fit_root = _fold_root(
            source, Path(tmp, "fit"), {"test": rest, "trainval": held}
        )
        val_root = _fold_root(
            source, Path(tmp, "val"), {"test": held, "trainval": rest}
        )
        ut.set_seed(0)
        aug = ut.AugmentConfig(
            min_scale=settings["min_scale"], jitter=settings["jitter"]
        )
        train = ut.load_pets_directory(
            fit_root,
            "test",
            settings["size"],
            settings["batch"],
            augment=aug,
            shuffle=True,
        )
        val = ut.load_pets_directory(val_root, "test", settings["size"], 16)
        model = ut.build_unet(
            (settings["size"],) * 2 + (3,), 3, settings["base"], settings["depth"]
        )
        fit = ut.FitConfig(
            epochs=settings["epochs"],
            learning_rate=settings["lr"],
            lr_schedule=settings["sched"],
            loss=settings["loss"],
        )
        fit.validate()
        start = time.monotonic()
        ut.compile_and_fit(model, train, None, fit, verbose=2)
        seconds = time.monotonic() - start
        ev = ut.evaluate(model, val)
    return {
        "candidate": candidate,
        "fold": fold,
        "settings": settings,
        "fit_images": len(rest),
        "val_images": len(held),
        "train_s": round(seconds),
        "val_miou": round(ev.mean_iou, 4),
        "val_acc": round(ev.pixel_accuracy, 4),
        "per_class": {k: round(v, 4) for k, v in ev.per_class_iou.items()},
    }


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def choose(by: dict[str, dict[int, dict]]) -> str | None:
    """The chosen candidate by the one-standard-error rule, among complete ones."""
    complete = {c: f for c, f in by.items() if len(f) == FOLDS}
    if not complete:
        return None
    scores = {c: [r["val_miou"] for r in f.values()] for c, f in complete.items()}
    best = max(scores, key=lambda c: statistics.mean(scores[c]))
    se = statistics.stdev(scores[best]) / FOLDS**0.5
    close = [
        c
        for c in scores
        if statistics.mean(scores[c]) >= statistics.mean(scores[best]) - se
    ]
    return min(
        close,
        key=lambda c: (
            next(iter(complete[c].values()))["settings"]["epochs"],
            -statistics.mean(scores[c]),
        ),
    )


def render(rows: list[dict]) -> str:
    """Mean ± sd over the folds, per candidate, and the fold-by-fold difference from
    the recipe; candidates with fewer than all folds are listed as incomplete."""
    by: dict[str, dict[int, dict]] = {}
    for r in rows:
        by.setdefault(r["candidate"], {})[r["fold"]] = r
    lines = [
        "| candidate | what changes | folds | val mIoU (mean ± sd) | border IoU | "
        "Δ mIoU vs recipe, per fold |",
        "|---|---|---:|---|---|---|",
    ]
    ref = by.get("recipe", {})
    order = sorted(
        by, key=lambda c: -statistics.mean(r["val_miou"] for r in by[c].values())
    )
    for c in order:
        folds = by[c]
        mious = [folds[f]["val_miou"] for f in sorted(folds)]
        border = [folds[f]["per_class"]["border"] for f in sorted(folds)]
        deltas = (
            ", ".join(
                f"{folds[f]['val_miou'] - ref[f]['val_miou']:+.3f}"
                for f in sorted(folds)
                if f in ref
            )
            if c != "recipe"
            else "-"
        )
        done = f"{len(folds)}" + ("" if len(folds) == FOLDS else " (incomplete)")
        lines.append(
            f"| {c} | {CANDIDATES[c][0]} | {done} | {_mean_sd(mious)} | "
            f"{_mean_sd(border)} | {deltas} |"
        )
    chosen = choose(by)
    if chosen:
        lines += ["", f"Chosen by the one-standard-error rule: **{chosen}**."]
    lines += [
        "",
        f"{FOLDS}-fold cross-validation over the trainval list (breed-stratified, fixed "
        "folds); every fit starts from seed 0. The test split is not read.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default=os.environ.get("UNET_TUTORIAL_OXFORD_DIR"))
    p.add_argument("--candidates", nargs="+", choices=sorted(CANDIDATES), default=[])
    p.add_argument("--render", action="store_true", help="only rewrite recipe_cv.md")
    args = p.parse_args()
    done = set()
    if ROWS.exists():
        done = {
            (r["candidate"], r["fold"])
            for r in map(json.loads, ROWS.read_text().splitlines())
        }
    if not args.render:
        if not args.source:
            raise SystemExit("name a folder with --source or UNET_TUTORIAL_OXFORD_DIR")
        for candidate in args.candidates:
            for fold in range(FOLDS):
                if (candidate, fold) in done:
                    continue
                row = run_fit(Path(args.source), candidate, fold)
                with open(ROWS, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    rows = [json.loads(line) for line in ROWS.read_text().splitlines() if line.strip()]
    (RESULTS / "recipe_cv.md").write_text(render(rows) + "\n")


if __name__ == "__main__":
    main()
