"""Train-step throughput of the U-Net against the machine's measured peak, in one run.

For base 16, 32 and 64 at 128 px (depth 4, batch 8), with XLA off and on (and
mixed precision when a GPU is present), it measures images/s of
``model.fit`` steps on data already in memory, converts them to achieved
GFLOP/s with the package's layer-by-layer count (a train step is counted as
three forward passes: forward, gradient with respect to the activations and
with respect to the weights), and divides by the peak measured in the same
run with TensorFlow: a large float32 matmul and a 3×3 convolution.

Run: ``python benchmarks/train_step.py [--steps 4]``. Writes ``results/train_step.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from _common import machine_info, write_results  # noqa: E402

import unet_tutorial as ut  # noqa: E402


def _best_rate(fn, flops: float, repeats: int = 5) -> float:
    fn()  # trace / compile
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn().numpy()  # wait for the result
        best = min(best, time.perf_counter() - t)
    return flops / best / 1e9


def measure_peak(jit: bool) -> dict[str, float]:
    """GFLOP/s of a 4096² matmul and of a 3×3, 256→256-channel convolution on 32×32 maps."""
    n = 4096
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)), jit_compile=jit)
    x = tf.random.normal((16, 32, 32, 256))
    k = tf.random.normal((3, 3, 256, 256))
    conv = tf.function(lambda: tf.reduce_sum(tf.nn.conv2d(x, k, 1, "SAME")), jit_compile=jit)
    return {
        "matmul_4096": _best_rate(matmul, 2 * n**3),
        "conv3x3_256": _best_rate(conv, ut.conv2d_flops(32, 32, 3, 256, 256) * 16),
    }


def forward_rate(base: int, size: int, batch: int, steps: int) -> float:
    """Images per second of the forward pass alone (inference mode), to locate the train step's losses."""
    model = ut.build_unet((size, size, 3), 3, base_filters=base)
    x, _ = ut.make_synthetic_pets(batch, size, seed=0)
    fn = tf.function(lambda t: model(t, training=False))
    fn(x).numpy()
    t = time.perf_counter()
    for _ in range(steps):
        fn(x).numpy()
    return steps * batch / (time.perf_counter() - t)


def train_rate(base: int, size: int, batch: int, steps: int, jit: bool, mixed: bool) -> float:
    """Images per second of ``model.fit`` train steps."""
    keras.utils.set_random_seed(0)
    policy = keras.mixed_precision.global_policy().name
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = ut.build_unet((size, size, 3), 3, base_filters=base)
        model.compile(keras.optimizers.Adam(1e-3), ut.cross_entropy_loss(), jit_compile=jit)
        x, y = ut.make_synthetic_pets(batch, size, seed=0)
        ds = tf.data.Dataset.from_tensors((x, y)).repeat()
        model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # trace, compile, warm up
        t = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        return steps * batch / (time.perf_counter() - t)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=4, help="timed steps per configuration")
    p.add_argument("--bases", type=int, nargs="+", default=[16, 32, 64])
    args = p.parse_args()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    peaks = {("xla" if jit else "plain"): measure_peak(jit) for jit in (False, True)}
    peak = max(v for d in peaks.values() for v in d.values())
    rows, forward = [], {}
    for base in args.bases:
        fwd = ut.model_flops(ut.build_unet((args.size, args.size, 3), 3, base_filters=base))
        ips = forward_rate(base, args.size, args.batch, args.steps)
        forward[base] = {
            "images_per_s": ips,
            "gflop_per_s": fwd * ips / 1e9,
            "fraction_of_peak": fwd * ips / 1e9 / peak,
        }
        print("forward only", base, forward[base], flush=True)
        for jit in (False, True):
            for mixed in (False, True) if gpu else (False,):
                ips = train_rate(base, args.size, args.batch, args.steps, jit, mixed)
                gflops = 3 * fwd * ips / 1e9
                rows.append(
                    {"base": base, "xla": jit, "mixed_precision": mixed, "images_per_s": ips,
                     "forward_gflop_per_image": fwd / 1e9, "achieved_gflop_per_s": gflops,
                     "fraction_of_peak": gflops / peak}
                )  # fmt: skip
                print(rows[-1], flush=True)
    results = {"machine": machine_info(), "image_size": args.size, "batch_size": args.batch,
               "peak_gflop_per_s": peaks, "peak_used": peak, "runs": rows, "forward_only": forward}  # fmt: skip
    lines = [
        f"Peak measured in the same run: {peak:,.1f} GFLOP/s (best of a 4096² matmul and a 3×3 "
        f"256-channel convolution, with and without XLA). {args.size} px, batch {args.batch}.",
        "",
        "| base | XLA | mixed precision | images/s | GFLOP/image (fwd) | achieved GFLOP/s | of peak |",
        "|---:|:---:|:---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['base']} | {'on' if r['xla'] else 'off'} | {'on' if r['mixed_precision'] else 'off'} | "
        f"{r['images_per_s']:.2f} | {r['forward_gflop_per_image']:.2f} | {r['achieved_gflop_per_s']:.1f} | "
        f"{r['fraction_of_peak']:.0%} |"
        for r in rows
    ]
    lines += [
        "",
        "Forward pass alone (inference, no XLA), for comparison:",
        "",
        "| base | images/s | achieved GFLOP/s | of peak |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {b} | {f['images_per_s']:.2f} | {f['gflop_per_s']:.1f} | {f['fraction_of_peak']:.0%} |"
        for b, f in forward.items()
    ]
    path = write_results("train_step", results, "\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
