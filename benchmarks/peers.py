"""Our U-Net side by side with the models a reader would otherwise pick, in one run.

Peers (rebuilt here from their published architecture descriptions, randomly
initialised because no pretrained weights can be downloaded on these machines):

* ``tf_tutorial``: TensorFlow's segmentation tutorial: a MobileNetV2 encoder
  (``weights=None``) tapped at five resolutions, and a pix2pix-style decoder
  (3×3 stride-2 transposed convolution, batch norm, ReLU, concatenate) ending
  in a stride-2 transposed convolution to the classes.
* ``keras_io``: the keras.io "U-Net-like" Xception-style model: separable
  convolutions with residual additions going down, transposed convolutions
  and upsampling with residual additions going up.
* ``ours``: ``unet_tutorial.build_unet``.

Protocol, the same for every model: the synthetic stand-in at 64 px (512
training and 128 validation images), batch 16, Adam, cross-entropy on
logits; validation mean IoU is checked every ``--eval-every`` steps, and
times count training time only.

1. Learning-rate search, the same budget for every model: each rate in
   ``--lrs`` is trained from the same seed for ``--search-seconds``; the
   rate with the best validation mean IoU is kept.
2. Race: ours trains for up to ``--budget`` seconds or until it reaches
   ``--target``; then each peer trains for twice ours' time to the target.
   A peer that has not reached the target by then would need more than
   twice ours' time, so the question "did ours take at most half the best
   peer's time?" is settled without running the peers to the end.

Results are stand-in results, not Oxford-IIIT Pet results.

With ``--source DIR`` (an official-layout folder, e.g. the shared 3-breed
subset) the same protocol runs on real pets: the folder's train split
(augmented) and its validation hold-out, with lower targets (``--target``,
``--early-target``) since real pets do not reach 0.90. It writes
``results/peers_real.*``. A subset result is not an Oxford-IIIT Pet result
in the usual sense.

``--seed N`` (default 0) seeds the weights, the data order and the
augmentation of every training in the run. Each run also appends one row to
``results/<name>.jsonl``, and ``results/<name>_seeds.md`` tabulates the race
over every seed recorded (the latest row of each seed).

Run: ``python benchmarks/peers.py [--budget 600] [--seed 1]``. Writes ``results/peers.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _common import RESULTS, append_row, latest_rows, machine_info, write_results  # noqa: E402
from keras import layers  # noqa: E402

import unet_tutorial as ut  # noqa: E402


def tf_tutorial_model(size: int, classes: int = 3) -> keras.Model:
    """MobileNetV2 encoder + pix2pix-style upsampling decoder (TensorFlow's tutorial architecture)."""
    base = keras.applications.MobileNetV2(
        input_shape=(size, size, 3), include_top=False, weights=None
    )
    taps = ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu",
            "block_16_project"]  # fmt: skip
    encoder = keras.Model(base.input, [base.get_layer(n).output for n in taps])
    inputs = keras.Input((size, size, 3))
    *skips, x = encoder(inputs * 2.0 - 1.0)  # MobileNetV2 expects [-1, 1]
    for filters, skip in zip((512, 256, 128, 64), reversed(skips), strict=True):
        x = layers.Conv2DTranspose(
            filters, 3, strides=2, padding="same", use_bias=False
        )(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Concatenate()([x, skip])
    outputs = layers.Conv2DTranspose(classes, 3, strides=2, padding="same")(x)
    return keras.Model(inputs, outputs, name="tf_tutorial")


def keras_io_model(size: int, classes: int = 3) -> keras.Model:
    """The keras.io Xception-style U-Net-like model, with a logits output."""
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(32, 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous = x
    for filters in (64, 128, 256):
        for _ in range(2):
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(filters, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous)
        x = layers.add([x, residual])
        previous = x
    for filters in (256, 128, 64, 32):
        for _ in range(2):
            x = layers.Activation("relu")(x)
            x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
        x = layers.UpSampling2D(2)(x)
        residual = layers.Conv2D(filters, 1, padding="same")(
            layers.UpSampling2D(2)(previous)
        )
        x = layers.add([x, residual])
        previous = x
    outputs = layers.Conv2D(classes, 3, padding="same")(x)
    return keras.Model(inputs, outputs, name="keras_io")


def ours_model(size: int, classes: int = 3) -> keras.Model:
    return ut.build_unet((size, size, 3), classes, base_filters=16, depth=4)


MODELS = {
    "ours": ours_model,
    "tf_tutorial": tf_tutorial_model,
    "keras_io": keras_io_model,
}


def val_miou(model, images, masks) -> float:
    m = keras.metrics.MeanIoU(3, sparse_y_pred=False)
    for i in range(0, len(images), 32):
        m.update_state(masks[i : i + 32], model(images[i : i + 32], training=False))
    return float(m.result())


def run(name: str, lr: float, data, args, budget: float) -> dict:
    """Train one model from ``args.seed`` for ``budget`` seconds (or until ``args.target``), checking val mIoU."""
    keras.utils.set_random_seed(args.seed)
    train_ds, (vx, vy) = data
    model = MODELS[name](args.size)
    model.compile(keras.optimizers.Adam(lr), ut.cross_entropy_loss())
    it = iter(train_ds)
    model.train_on_batch(*next(it))  # trace once, outside the clock
    trained, steps, curve = 0.0, 0, []
    reached = {t: None for t in (args.early_target, args.target)}
    while trained < budget:
        t = time.perf_counter()
        for _ in range(args.eval_every):
            model.train_on_batch(*next(it))
        trained += time.perf_counter() - t
        steps += args.eval_every
        score = val_miou(model, vx, vy)
        curve.append((steps, trained, score))
        for target in reached:
            if reached[target] is None and score >= target:
                reached[target] = trained
        if reached[args.target] is not None:
            break
    t = time.perf_counter()
    x, y = next(it)
    for _ in range(3):
        model.train_on_batch(x, y)
    ips = 3 * len(x) / (time.perf_counter() - t)
    return {"model": name, "lr": lr, "budget_s": budget, "params": model.count_params(), "images_per_s": ips,
            "seconds_to_target": reached[args.target], "seconds_to_early_target": reached[args.early_target],
            "best_val_miou": max(c[2] for c in curve), "curve": curve}  # fmt: skip


def race_verdict(
    t_ours: float | None,
    peer_times: list[float | None],
    target: float,
    budget: float,
    peer_budget: float,
) -> str:
    """One sentence on "did ours reach ``target`` in at most half the best peer's time?".

    ``None`` means "not reached within its budget" (``budget`` for ours,
    ``peer_budget`` = twice ours' time for the peers).
    """
    if t_ours is None:
        return f"Ours did not reach {target} in its {budget:.0f} s budget, so the comparison is undecided."
    reached = [t for t in peer_times if t is not None]
    half = "**Ours in at most half the time:**"
    if not reached:
        return (
            f"{half} ours reached {target} in {t_ours:.0f} s; no peer reached it within "
            f"{peer_budget:.0f} s (twice ours), so ours took at most half the best peer's time."
        )
    best = min(reached)
    lead = half if t_ours <= 0.5 * best else "**Ours not in half the time:**"
    return (
        f"{lead} ours reached {target} in {t_ours:.0f} s, the fastest peer in {best:.0f} s "
        f"({t_ours / best:.2f}x its time)."
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3])
    p.add_argument(
        "--search-seconds",
        type=float,
        default=60.0,
        help="training seconds per learning-rate trial",
    )
    p.add_argument(
        "--budget", type=float, default=600.0, help="training seconds of ours' race"
    )
    p.add_argument(
        "--eval-every", type=int, default=20, help="steps between validation checks"
    )
    p.add_argument(
        "--target", type=float, default=0.90, help="validation mean IoU to reach"
    )
    p.add_argument(
        "--early-target", type=float, default=0.70, help="a lower mean IoU also timed"
    )
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument(
        "--seed", type=int, default=0, help="weights, data order, augmentation"
    )
    p.add_argument(
        "--seeds-table-only",
        action="store_true",
        help="rebuild <name>_seeds.md from the recorded rows, train nothing",
    )
    p.add_argument(
        "--source",
        default=None,
        help="an official-layout folder of real pets (default: the stand-in)",
    )
    args = p.parse_args()
    if args.models[0] != "ours":
        p.error(
            "--models must start with 'ours': the peers' budget is set from ours' time"
        )
    if args.seeds_table_only:
        name = "peers_real" if args.source else "peers"
        write_seed_table(name, latest_seed_rows(name))
        return
    if args.source:
        train_ds, info = ut.load_dataset(
            args.source, "train", args.size, args.batch, seed=args.seed
        )
        val_ds, _ = ut.load_dataset(
            args.source, "validation", args.size, 64, verbose=False
        )
        vx, vy = (
            np.concatenate(a)
            for a in zip(*[(x.numpy(), y.numpy()) for x, y in val_ds], strict=True)
        )
        data_line, result_name = (
            f"{info.description} (validation: the hold-out)",
            "peers_real",
        )
        train_ds = train_ds.repeat()
    else:
        train_ds = ut.load_synthetic_pets(
            "train", args.size, args.batch, num_examples=512, seed=args.seed
        ).repeat()
        vx, vy = ut.make_synthetic_pets(128, args.size, seed=1_000_003)
        data_line, result_name = "Synthetic stand-in (not Oxford-IIIT Pet)", "peers"
    data = (train_ds, (vx, vy))

    # 1. The same learning-rate search for every model: each rate trained for the same short time.
    search, chosen = [], {}
    for name in args.models:
        trials = [run(name, lr, data, args, args.search_seconds) for lr in args.lrs]
        for r in trials:
            print("search", {k: v for k, v in r.items() if k != "curve"}, flush=True)
        search += trials
        chosen[name] = max(trials, key=lambda r: r["best_val_miou"])["lr"]

    # 2. The race, with each model's chosen rate. A peer runs for twice ours' time to the target: if it
    #    has not reached the target by then, ours took at most half its time whatever happens later.
    races = {"ours": run("ours", chosen["ours"], data, args, args.budget)}
    t_ours = races["ours"]["seconds_to_target"]
    peer_budget = 2 * t_ours if t_ours is not None else args.budget
    print("race", {k: v for k, v in races["ours"].items() if k != "curve"}, flush=True)
    for name in args.models[1:]:
        races[name] = run(name, chosen[name], data, args, peer_budget)
        print(
            "race", {k: v for k, v in races[name].items() if k != "curve"}, flush=True
        )

    peer_times = [r["seconds_to_target"] for n, r in races.items() if n != "ours"]
    verdict = race_verdict(t_ours, peer_times, args.target, args.budget, peer_budget)

    def secs(r, key):
        v = r[key]
        return f"{v:.0f}" if v is not None else f"> {r['budget_s']:.0f}"

    lines = [
        f"{data_line}, {args.size} px, batch {args.batch}. Learning-rate search: "
        f"{', '.join(f'{lr:g}' for lr in args.lrs)} for every model, {args.search_seconds:.0f} s of training "
        "each, the rate with the best validation mean IoU wins. Race: ours for up to "
        f"{args.budget:.0f} s, each peer for twice ours' time to {args.target} "
        f"({peer_budget:.0f} s); training time only, validation every {args.eval_every} steps.",
        "",
        f"| model | parameters | chosen learning rate | train images/s | seconds to {args.early_target} | "
        f"seconds to {args.target} | best val mean IoU |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {r['params']:,} | {r['lr']:g} | {r['images_per_s']:.1f} | "
        f"{secs(r, 'seconds_to_early_target')} | {secs(r, 'seconds_to_target')} | {r['best_val_miou']:.3f} |"
        for name, r in races.items()
    ]
    lines += ["", verdict]
    # the data folder by its name only: no path of this machine in the results
    settings = {**vars(args), "source": Path(args.source).name if args.source else None}
    results = {"machine": machine_info(), "settings": settings, "chosen_lr": chosen, "peer_budget_s": peer_budget,
               "search": search, "races": races, "verdict": verdict}  # fmt: skip
    # every seed's rows go to <name>.jsonl; the detailed table is kept for seed 0 and
    # written beside it for any other seed
    detail = result_name if args.seed == 0 else f"{result_name}_seed{args.seed}"
    path = write_results(detail, results, "\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {path}")
    row = {k: v for k, v in results.items() if k not in ("search", "races")}
    row["seed"] = args.seed
    row["races"] = {
        n: {k: v for k, v in r.items() if k != "curve"} for n, r in races.items()
    }
    append_row(result_name, row)
    write_seed_table(result_name, latest_seed_rows(result_name))


def latest_seed_rows(name: str) -> dict[int, dict]:
    """The latest recorded row of each seed in ``results/<name>.jsonl``."""
    return latest_rows(name, lambda row: row["seed"])


def seed_table(rows: dict[int, dict]) -> str:
    """The race over seeds: each model's seconds to the target and best validation
    mean IoU per seed, and on how many seeds ours took at most half the best
    peer's time (the verdict of each seed, ``race_verdict``)."""
    if not rows:
        return "No seeds recorded yet."
    first = next(iter(rows.values()))
    target, models = first["settings"]["target"], list(first["races"])
    lines = [
        f"The race over {len(rows)} seed{'s' if len(rows) > 1 else ''} "
        f"({', '.join(map(str, rows))}): each model's training seconds to a validation "
        f'mean IoU of {target} ("> N": not reached within its budget of N s) and, '
        "in brackets, its best validation mean IoU.",
        "",
        "| seed | " + " | ".join(models) + " | ours in at most half the time |",
        "|---:|" + "---:|" * len(models) + "---|",
    ]
    wins = 0
    for seed, row in rows.items():
        cells = []
        for m in models:
            r = row["races"][m]
            t = r["seconds_to_target"]
            time_s = f"{t:.0f}" if t is not None else f"> {r['budget_s']:.0f}"
            cells.append(f"{time_s} ({r['best_val_miou']:.3f})")
        win = row["verdict"].startswith("**Ours in at most half the time:**")
        wins += win
        lines.append(
            f"| {seed} | " + " | ".join(cells) + f" | {'yes' if win else 'no'} |"
        )
    lines += [
        "",
        f"Ours took at most half the best peer's time to {target} on {wins} of "
        f"{len(rows)} seed{'s' if len(rows) > 1 else ''}.",
    ]
    return "\n".join(lines)


def write_seed_table(name: str, rows: dict[int, dict]) -> None:
    (RESULTS / f"{name}_seeds.md").write_text(seed_table(rows) + "\n")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
