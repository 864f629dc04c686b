"""Train-step throughput of the U-Net against the machine's measured peak, in one run.

For base 16, 32 and 64 at 128 px (depth 4, batch 8), with XLA off and on (and
mixed precision when a GPU is present), it measures images/s of
``model.fit`` train steps on data already in memory (the median of per-step
times taken by a callback), converts them to achieved GFLOP/s with the
package's layer-by-layer count (a train step is counted as three forward
passes: forward, gradient with respect to the activations and with respect
to the weights), and divides by the peak measured in the same run with
TensorFlow: a large float32 matmul and a 3×3 convolution.

To say *what limits* the train step, it also times the model's own
convolutions one by one, in isolation, each with its forward pass and both
gradients at the train step's shapes (``convs_alone``). Their summed time
estimates how fast a train step could be with TensorFlow's kernels on this
machine if batch norm, ReLU, pooling, concatenation, the loss and the
optimizer cost nothing. It is an estimate, not a bound: each isolated call
pays its own dispatch overhead, and inside a whole XLA-compiled step the
compiler may fuse or lay out the work better, so a step of small layers can
beat it.

Run: ``python benchmarks/train_step.py [--steps 6]``. Writes ``results/train_step.json`` and ``.md``;
``--render`` only rewrites the Markdown from the JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from _common import RESULTS, machine_info, write_results  # noqa: E402

import unet_tutorial as ut  # noqa: E402


def _best_seconds(fn, repeats: int = 3) -> float:
    fn()  # trace / compile
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn().numpy()  # wait for the result
        best = min(best, time.perf_counter() - t)
    return best


def _best_rate(fn, flops: float, repeats: int = 5) -> float:
    return flops / _best_seconds(fn, repeats) / 1e9


def measure_peak(jit: bool) -> dict[str, float]:
    """GFLOP/s of a 4096² matmul and of a 3×3, 256→256-channel convolution on 32×32 maps."""
    n = 4096
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)), jit_compile=jit)
    x = tf.random.normal((16, 32, 32, 256))
    k = tf.random.normal((3, 3, 256, 256))
    conv = tf.function(
        lambda: tf.reduce_sum(tf.nn.conv2d(x, k, 1, "SAME")), jit_compile=jit
    )
    return {
        "matmul_4096": _best_rate(matmul, 2 * n**3),
        "conv3x3_256": _best_rate(conv, ut.conv2d_flops(32, 32, 3, 256, 256) * 16),
    }


def conv_seconds(layer: keras.layers.Layer, batch: int, jit: bool) -> float:
    """Best time of one convolution's forward pass and both gradients, alone, at the model's shapes."""
    clone = type(layer).from_config(layer.get_config())
    x = tf.random.normal((batch, *layer.input.shape[1:]))
    clone.build(x.shape)
    dy = tf.random.normal((batch, *layer.output.shape[1:]))

    @tf.function(jit_compile=jit)
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(clone(x) * dy)
        dx, dk = tape.gradient(loss, [x, clone.kernel])
        # the loss is returned too: otherwise the forward convolution is dead code and gets pruned
        return loss + tf.reduce_sum(dx) + tf.reduce_sum(dk)

    return _best_seconds(step)


def convs_alone(model: keras.Model, batch: int, jit: bool) -> dict:
    """Seconds per step of every convolution timed alone, in total and by level (``enc1``, ..., ``head``)."""
    by_level: dict[str, list[float]] = {}
    for layer in model.layers:
        # the convolutions: the only layers with counted FLOPs
        if flops := ut.layer_flops(layer):
            prev = by_level.setdefault(ut.layer_level(layer.name), [0.0, 0.0])
            prev[0] += conv_seconds(layer, batch, jit)
            prev[1] += 3 * flops * batch
    total = sum(v[0] for v in by_level.values())
    return {
        "seconds_per_step": total,
        "images_per_s": batch / total,
        "levels": {
            k: {"seconds": v[0], "gflop_per_s": v[1] / v[0] / 1e9}
            for k, v in by_level.items()
        },
    }


def train_rate(
    base: int, size: int, batch: int, steps: int, jit: bool, mixed: bool
) -> float:
    """Images per second of ``model.fit`` train steps: batch size over the median step time."""
    keras.utils.set_random_seed(0)
    policy = keras.mixed_precision.global_policy().name
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = ut.build_unet((size, size, 3), 3, base_filters=base)
        model.compile(
            keras.optimizers.Adam(1e-3), ut.cross_entropy_loss(), jit_compile=jit
        )
        x, y = ut.make_synthetic_pets(batch, size, seed=0)
        ds = tf.data.Dataset.from_tensors((x, y)).repeat()
        model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # trace, compile, warm up
        ends: list[float] = []
        stamp = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter())
        )
        start = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[stamp])
        durations = [b - a for a, b in zip([start, *ends[:-1]], ends, strict=True)]
        return batch / statistics.median(durations)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def render(results: dict) -> str:
    """The Markdown tables of a results dict (as written to ``results/train_step.json``)."""
    peak, rows, alone = results["peak_used"], results["runs"], results["convs_alone"]
    bases = sorted({r["base"] for r in rows})

    def pct(v):
        return "—" if v is None else f"{v:.0%}"

    lines = [
        f"Peak measured in the same run: {peak:,.1f} GFLOP/s (best of a 4096² matmul and a 3×3 "
        f"256-channel convolution, with and without XLA). {results['image_size']} px, batch "
        f"{results['batch_size']}, median of {results['steps']} train steps. *Convs alone*: the model's "
        "convolutions timed one by one (forward and both gradients) with the same XLA setting, as a share "
        "of the peak; *step / convs alone*: the whole train step's speed over theirs.",
        "",
        "| base | XLA | mixed precision | images/s | GFLOP/image (fwd) | achieved GFLOP/s | of peak "
        "| convs alone | step / convs alone |",
        "|---:|:---:|:---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['base']} | {'on' if r['xla'] else 'off'} | {'on' if r['mixed_precision'] else 'off'} | "
        f"{r['images_per_s']:.2f} | {r['forward_gflop_per_image']:.2f} | {r['achieved_gflop_per_s']:.1f} | "
        f"{pct(r['fraction_of_peak'])} | {pct(r['convs_alone_fraction_of_peak'])} | "
        f"{pct(r['step_over_convs_alone'])} |"
        for r in rows
    ]
    levels = list(alone[f"base{bases[0]}_xla"]["levels"])
    lines += [
        "",
        "Each level's convolutions alone with XLA (forward and both gradients), as a share of the peak:",
        "",
        "| level | " + " | ".join(f"base {b}" for b in bases) + " |",
        "|---|" + "---:|" * len(bases),
    ]
    lines += [
        f"| {level} | "
        + " | ".join(
            pct(alone[f"base{b}_xla"]["levels"][level]["gflop_per_s"] / peak)
            for b in bases
        )
        + " |"
        for level in levels
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument(
        "--steps",
        type=int,
        default=6,
        help="timed steps per configuration (the median counts)",
    )
    p.add_argument("--bases", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument(
        "--render",
        action="store_true",
        help="only rewrite the Markdown from the existing JSON",
    )
    args = p.parse_args()
    if args.render:
        results = json.loads((RESULTS / "train_step.json").read_text())
        write_results("train_step", results, render(results))
        print(render(results))
        return
    gpu = bool(tf.config.list_physical_devices("GPU"))
    peaks = {("xla" if jit else "plain"): measure_peak(jit) for jit in (False, True)}
    peak = max(v for d in peaks.values() for v in d.values())
    rows, alone = [], {}
    for base in args.bases:
        model = ut.build_unet((args.size, args.size, 3), 3, base_filters=base)
        fwd = ut.model_flops(model)
        for jit in (False, True):
            convs = convs_alone(model, args.batch, jit)
            alone[f"base{base}_{'xla' if jit else 'plain'}"] = convs
            convs_gflops = 3 * fwd * convs["images_per_s"] / 1e9
            for mixed in (False, True) if gpu else (False,):
                ips = train_rate(base, args.size, args.batch, args.steps, jit, mixed)
                gflops = 3 * fwd * ips / 1e9
                rows.append(
                    {
                        "base": base,
                        "xla": jit,
                        "mixed_precision": mixed,
                        "images_per_s": ips,
                        "forward_gflop_per_image": fwd / 1e9,
                        "achieved_gflop_per_s": gflops,
                        "fraction_of_peak": gflops / peak,
                        # float32 convolutions; not comparable with a mixed-precision step
                        "convs_alone_fraction_of_peak": None
                        if mixed
                        else convs_gflops / peak,
                        "step_over_convs_alone": None
                        if mixed
                        else ips / convs["images_per_s"],
                    }
                )
                print(rows[-1], flush=True)
    results = {"machine": machine_info(), "image_size": args.size, "batch_size": args.batch, "steps": args.steps,
               "peak_gflop_per_s": peaks, "peak_used": peak, "runs": rows, "convs_alone": alone}  # fmt: skip
    path = write_results("train_step", results, render(results))
    print(render(results))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
