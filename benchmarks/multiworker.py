"""Images per second of one process against two local workers (``MultiWorkerMirroredStrategy``).

Both set-ups train the same U-Net (96 px, base 16, depth 4, the book's CPU
model) with the same global batch through ``unet_tutorial.train``, the
second as two processes on this machine joined by the CPU ring all-reduce
over localhost gRPC. A callback times every epoch of ``--steps`` steps;
the first epoch (tracing, start-up) is left out and the median of the rest
gives images/s = steps x global batch / seconds.

On the 2-core machine of this project the two workers share the two cores
that the single process already uses, and every step adds an all-reduce of
all gradients, so they are expected to be *slower*: the point of the
two-worker set-up here is correctness (see ``tests/test_multiworker.py``).
What it would buy on N machines is estimated from the all-reduce size
(parameters x 4 bytes per step) in the Markdown.

    python benchmarks/multiworker.py [--steps 20 --epochs 4 --batch 8]
    python benchmarks/multiworker.py --render
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
from _common import RESULTS, machine_info, write_results  # noqa: E402

NAME = "multiworker"


def worker(args: argparse.Namespace) -> None:
    """One training process; writes its epoch seconds to ``args.report``."""
    import unet_tutorial as ut

    strategy = ut.engine.make_strategy(args.strategy, collective="ring")
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._t)

    timer = EpochTimer()
    config = ut.TrainConfig(
        image_size=96,
        base_filters=16,
        depth=4,
        batch_size=args.batch,
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        validation_steps=1,
        snapshot_images=0,
        evaluate_test=False,
        source="synthetic",
        num_examples=(args.steps * args.batch, args.batch, args.batch),
        output_dir=args.run_dir,
    )
    result = ut.train(config, strategy=strategy, callbacks=[timer], verbose=0)
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    Path(f"{args.report}-w{index}.json").write_text(
        json.dumps(
            {
                "seconds": timer.seconds,
                "replicas": strategy.num_replicas_in_sync,
                "params": int(result.model.count_params()),
                "trainable_params": int(
                    sum(int(w.numpy().size) for w in result.model.trainable_weights)
                ),
            }
        )
    )


def _launch(n: int, args: argparse.Namespace, tmp: Path) -> list[dict]:
    import unet_tutorial as ut

    strategy = "multiworker" if n > 1 else "default"
    # each worker writes its report to a file named by its TF_CONFIG index
    cmd = [sys.executable, __file__, "--worker", "--strategy", strategy, "--run-dir", str(tmp / f"run{n}"),
           "--report", str(tmp / f"n{n}"), "--steps", str(args.steps), "--epochs", str(args.epochs),
           "--batch", str(args.batch)]  # fmt: skip
    runs = ut.engine.run_local_workers(cmd, n, timeout=1200)
    if any(r.returncode for r in runs):
        raise SystemExit(
            "a worker failed:\n" + "\n".join(r.output[-3000:] for r in runs)
        )
    return [json.loads((tmp / f"n{n}-w{i}.json").read_text()) for i in range(n)]


def render(results: dict) -> str:
    m, rows = results["machine"], results["rows"]
    params = results["trainable_params"]
    mb = params * 4 / 1e6
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, TensorFlow {m['tensorflow']}, Keras {m['keras']}; "
        f"{results['date']}.",
        f"U-Net 96 px, base 16, depth 4 ({params:,} trainable parameters); global batch {results['batch']}, "
        f"{results['steps']} steps per epoch, median of epochs 2..{results['epochs']}.",
        "",
        "| set-up | replicas | s per epoch (median) | images/s | vs one process |",
        "|---|---:|---:|---:|---:|",
    ]
    base = rows[0]["images_per_s"]
    for r in rows:
        lines.append(
            f"| {r['setup']} | {r['replicas']} | {r['epoch_s']:.2f} | {r['images_per_s']:.1f} | "
            f"{r['images_per_s'] / base:.2f}x |"
        )
    lines += [
        "",
        f"Each step all-reduces every gradient: {params:,} parameters x 4 bytes = {mb:.1f} MB. A ring all-reduce "
        f"sends and receives 2(N-1)/N of that per worker and step, at most {2 * mb:.1f} MB, whatever N is. "
        f"At 10 Gbit/s (1.25 GB/s) that is at most {2 * mb / 1250 * 1e3:.1f} ms per step; on N machines with a "
        "GPU each, a step that computes for tens of milliseconds scales nearly N-fold, while on this 2-core "
        "machine the two workers only split the same two cores and add that exchange.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument(
        "--render",
        action="store_true",
        help="only rewrite results/multiworker.md from the JSON",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--strategy", default="default", help=argparse.SUPPRESS)
    p.add_argument("--run-dir", help=argparse.SUPPRESS)
    p.add_argument("--report", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    if args.render:
        results = json.loads((RESULTS / f"{NAME}.json").read_text())
        (RESULTS / f"{NAME}.md").write_text(render(results) + "\n")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, setup in (
            (1, "one process (default strategy)"),
            (2, "two local workers (MultiWorkerMirrored, ring)"),
        ):
            reports = _launch(n, args, Path(tmp))
            # the workers run in lockstep; the slowest one's epochs are the cluster's
            per_epoch = [
                max(r["seconds"][e] for r in reports) for e in range(1, args.epochs)
            ]
            epoch_s = statistics.median(per_epoch)
            rows.append({"setup": setup, "replicas": reports[0]["replicas"], "epoch_s": epoch_s,
                         "images_per_s": args.steps * args.batch / epoch_s, "epochs_s": per_epoch})  # fmt: skip
            print(
                f"{setup}: {epoch_s:.2f} s per epoch, {rows[-1]['images_per_s']:.1f} images/s",
                flush=True,
            )
    info = machine_info()
    results = {"machine": info, "date": info["date"], "steps": args.steps, "epochs": args.epochs,
               "batch": args.batch, "trainable_params": reports[0]["trainable_params"], "rows": rows}  # fmt: skip
    write_results(NAME, results, render(results))


if __name__ == "__main__":
    main()
