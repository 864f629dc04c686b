"""Input pipeline throughput against training throughput (issue: the pipeline must be >= 10x faster).

Measures, in one run on this machine:

* the synthetic pipeline (cached, augmented, batched) in images/s;
* the official-layout directory pipeline on generated 500x375 JPEGs (the size
  of a typical Oxford-IIIT Pet photo): the first epoch (decode + resize) and
  later epochs (from the cache, augmented);
* the training step of the U-Net at the same image and batch size, for
  base 16 and the full-size base 64, with XLA off and on; the faster of the
  two is the one the pipeline must keep up with.

The tfds route cannot be measured here (no Oxford data offline); it shares
the cache/augment/batch stages with the routes above.

Run: ``python benchmarks/pipeline.py [--size 128] [--batch 16]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _common import machine_info, write_results  # noqa: E402
from train_step import train_rate  # noqa: E402

import unet_tutorial as ut  # noqa: E402


def images_per_second(ds: tf.data.Dataset, epochs: int = 1) -> float:
    n, t = 0, time.perf_counter()
    for _ in range(epochs):
        for x, _y in ds:
            n += int(x.shape[0])
    return n / (time.perf_counter() - t)


def write_jpeg_layout(root: Path, n: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    names = [f"pet_{i}" for i in range(n)]
    images, masks = ut.make_synthetic_pets(n, 128, seed=1)
    for name, img, m in zip(names, images, masks, strict=True):
        big = Image.fromarray((img * 255).astype(np.uint8)).resize(
            (500, 375), Image.BILINEAR
        )
        arr = np.asarray(big).astype(np.int16) + rng.integers(-8, 8, (375, 500, 3))
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(
            root / "images" / f"{name}.jpg", quality=90
        )
        tri = Image.fromarray((m + 1).astype(np.uint8)).resize(
            (500, 375), Image.NEAREST
        )
        tri.save(root / "annotations" / "trimaps" / f"{name}.png")
    (root / "annotations" / "trainval.txt").write_text(
        "".join(f"{n_} 1 1 1\n" for n_ in names)
    )
    (root / "annotations" / "test.txt").write_text(f"{names[0]} 1 1 1\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument(
        "--jpegs", type=int, default=256, help="generated JPEGs for the directory route"
    )
    args = p.parse_args()
    size, batch = args.size, args.batch

    syn = ut.load_synthetic_pets("train", size, batch, num_examples=512, seed=0)
    images_per_second(syn)  # fills the cache
    syn_ips = images_per_second(syn, epochs=3)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pets"
        write_jpeg_layout(root, args.jpegs)
        t = time.perf_counter()
        # includes the up-front check
        ds = ut.load_pets_directory(root, "train", size, batch)
        dir_first = images_per_second(ds)
        dir_first_incl_check = args.jpegs / (time.perf_counter() - t)
        dir_cached = images_per_second(ds, epochs=3)

    train = {
        base: max(
            train_rate(base, size, batch, steps, jit=jit, mixed=False)
            for jit in (False, True)
        )
        for base, steps in ((16, 6), (64, 3))
    }
    slowest_pipeline = min(syn_ips, dir_cached)
    results = {
        "machine": machine_info(),
        "image_size": size,
        "batch_size": batch,
        "pipeline_images_per_s": {
            "synthetic_cached_augmented": syn_ips,
            "directory_first_epoch_decode_resize": dir_first,
            "directory_first_epoch_including_upfront_check": dir_first_incl_check,
            "directory_cached_augmented": dir_cached,
        },
        "train_images_per_s": {f"base{b}": v for b, v in train.items()},
        "ratio_cached_pipeline_to_training": {
            f"base{b}": slowest_pipeline / v for b, v in train.items()
        },
        "ratio_first_epoch_to_training": {
            f"base{b}": dir_first / v for b, v in train.items()
        },
        "ratio_first_epoch_incl_check_to_training": {
            f"base{b}": dir_first_incl_check / v for b, v in train.items()
        },
    }
    table = "\n".join(
        [
            f"| what ({size} px, batch {batch}) | images/s |",
            "|---|---:|",
            f"| synthetic pipeline, cached + augmented | {syn_ips:,.0f} |",
            f"| directory pipeline, first epoch (JPEG decode + resize) | {dir_first:,.0f} |",
            f"| directory pipeline, first epoch incl. up-front check | {dir_first_incl_check:,.0f} |",
            f"| directory pipeline, cached + augmented | {dir_cached:,.0f} |",
            *[
                f"| training step, base {b} (faster of XLA off/on) | {v:,.1f} |"
                for b, v in train.items()
            ],
            *[
                f"| ratio slowest cached pipeline / training, base {b} | {slowest_pipeline / v:,.0f}x |"
                for b, v in train.items()
            ],
            *[
                f"| ratio first epoch / training, base {b} | {dir_first / v:,.1f}x |"
                for b, v in train.items()
            ],
            *[
                f"| ratio first epoch incl. check / training, base {b} | {dir_first_incl_check / v:,.1f}x |"
                for b, v in train.items()
            ],
        ]
    )
    path = write_results("pipeline", results, table)
    print(table)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
