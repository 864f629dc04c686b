"""The input pipeline of the teaching core: labels, resizing, batches, class weights.

Every data source of the package (TensorFlow Datasets, a folder, the synthetic
stand-in; see ``unet_tutorial.engine.loading``) ends in ``finish_pipeline``
and yields batches of ``(image, mask)``:

* ``image``: ``float32 (batch, S, S, 3)`` in ``[0, 1]``;
* ``mask``: ``int32 (batch, S, S)`` with ``0 = pet``, ``1 = background``,
  ``2 = border`` (see ``CLASS_NAMES``).

Oxford-IIIT Pet has two official lists, ``trainval`` and ``test``. The
package holds out a **validation** split from ``trainval`` (stratified by
breed, seeded, fixed: ``validation_holdout``), so that checkpoints and
training decisions never look at the test split.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .augment import random_view
from .labels import NUM_CLASSES, TRIMAP_OFFSET
from .reading import (  # noqa: F401  (the pipeline's names, kept here too)
    VALIDATION_FRACTION,
    VALIDATION_SEED,
    breed_of,
    check_split,
    to_rgb8,
    used_bit_depth,
    validation_holdout,
)
from .settings import AugmentConfig

# ------------------------------------------------------------------ labels and resizing


def trimap_to_labels(trimap: tf.Tensor) -> tf.Tensor:
    """Map Oxford trimap values to class indices: 1 -> 0 pet, 2 -> 1 background, 3 -> 2
    border.

    The Oxford-IIIT Pet trimaps store **1 = pet, 2 = background,
    3 = border** (the dataset's README: "1: Foreground 2: Background
    3: Not classified"). TensorFlow's segmentation tutorial subtracts one, as
    here, but then describes the classes in the wrong order; plots and
    per-class metrics must use ``CLASS_NAMES`` =
    ``("pet", "background", "border")``.

    Args:
        trimap: integer tensor of any shape with values in ``{1, 2, 3}``.

    Returns:
        ``int32`` tensor of the same shape with values in ``{0, 1, 2}``.
    """
    return tf.cast(trimap, tf.int32) - TRIMAP_OFFSET


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)


def resize_image(image: tf.Tensor, size: int | tuple[int, int]) -> tf.Tensor:
    """Resize an image ``(H, W, C)`` bilinearly to ``float32 (size, size, C)`` (or
    ``size = (h, w)``) in ``[0, 1]``.

    ``uint8`` images are divided by 255; float images are taken to be in ``[0, 1]``
    already.
    """
    image = tf.image.convert_image_dtype(image, tf.float32)  # uint8 / 255
    image = tf.image.resize(image, _hw(size), method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 1.0)


def resize_mask(mask: tf.Tensor, size: int | tuple[int, int]) -> tf.Tensor:
    """Resize a label map ``(H, W)`` or ``(H, W, 1)`` to ``(size, size)`` (or
    ``(h, w)``) with **nearest neighbour**.

    Bilinear resizing would average the labels 1 (pet) and 3 (border) into
    2 (background) along every outline: labels are categories, not intensities.
    Nearest neighbour only ever copies existing values.
    """
    mask = tf.convert_to_tensor(mask)
    if mask.shape.rank == 2:
        mask = mask[..., tf.newaxis]
    mask = tf.image.resize(mask, _hw(size), method="nearest")
    return tf.cast(mask[..., 0], tf.int32)


def preprocess_pair(
    image: tf.Tensor, trimap: tf.Tensor, image_size: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """Raw Oxford pair to model format.

    Args:
        image: ``uint8 (H, W, 3)``.
        trimap: ``uint8 (H, W)`` or ``(H, W, 1)`` with values ``{1, 2, 3}``.
        image_size: output side length ``S``.

    Returns:
        ``(float32 (S, S, 3) in [0, 1], int32 (S, S) in {0, 1, 2})``.
    """
    return resize_image(image, image_size), resize_mask(
        trimap_to_labels(trimap), image_size
    )


# ------------------------------------------------------------------ the shared pipeline


def finish_pipeline(
    ds: tf.data.Dataset,
    *,
    split: str,
    batch_size: int,
    augment: bool | AugmentConfig | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    num_examples: int | None = None,
    crop_size: int | None = None,
) -> tf.data.Dataset:
    """Cache, shuffle, crop and augment, batch and prefetch the pairs of one split.

    Args:
        ds: decoded pairs ``(float32 (H, W, C), int32 (H, W))``, cached once;
            the random draws come *after* the cache, so they change every epoch.
        split: ``"train"`` turns ``augment`` and ``shuffle`` on by default.
        augment: ``True`` (a default ``AugmentConfig``), ``False`` or a config.
        seed: seeds the shuffle and every example's crop and augmentation draw.
        num_examples: size of ``ds``, for a full shuffle buffer (default 1024).
        crop_size: train on random ``crop_size`` squares (``random_view``).

    Returns:
        Batches ``(float32 (batch, H, W, C), int32 (batch, H, W))``.
    """
    augment = split == "train" if augment is None else augment
    shuffle = split == "train" if shuffle is None else shuffle
    ds = ds.cache()
    if shuffle:
        buffer = min(num_examples or 1024, 4096)
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if augment or crop_size:
        config = augment if isinstance(augment, AugmentConfig) else AugmentConfig()
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, seeds.batch(2))).map(  # a stateless seed each
            lambda p, s: random_view(*p, s, config if augment else None, crop_size),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------- the validation split


# ---------------------------------------------------------------------- class imbalance


def class_frequencies(
    dataset: tf.data.Dataset, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Fraction of pixels of each class over a dataset of ``(image, mask)`` batches.

    Returns:
        ``float64 (num_classes,)`` summing to 1.
    """
    counts = np.zeros(num_classes, np.int64)
    for batch in dataset:
        mask = batch[1]
        counts += np.bincount(np.asarray(mask).ravel(), minlength=num_classes)[
            :num_classes
        ]
    total = counts.sum()
    if total == 0:
        raise ValueError("the dataset holds no mask pixels.")
    return counts / total


def class_weights_from_frequencies(frequencies, method: str = "median") -> np.ndarray:
    """Per-class loss weights from pixel frequencies.

    Args:
        frequencies: ``(num_classes,)`` fractions (from ``class_frequencies``).
        method: ``"median"`` (median-frequency balancing: ``median(f) / f``,
            so a typical class keeps weight 1) or ``"inverse"``
            (``1 / (num_classes * f)``). A class that never occurs gets 0.

    Returns:
        ``float32 (num_classes,)``.
    """
    f = np.asarray(frequencies, dtype=np.float64)
    present = f > 0
    if not present.any():
        raise ValueError("all frequencies are zero.")
    w = np.zeros_like(f)
    if method == "median":
        w[present] = np.median(f[present]) / f[present]
    elif method == "inverse":
        w[present] = 1.0 / (len(f) * f[present])
    else:
        raise ValueError(f"method={method!r} must be 'median' or 'inverse'.")
    return w.astype(np.float32)


def add_sample_weights(dataset: tf.data.Dataset, class_weights) -> tf.data.Dataset:
    """Turn ``(image, mask)`` batches into ``(image, mask, weights)`` with per-pixel
    weights.

    Keras' ``fit(class_weight=...)`` gives one weight per *example*, from a
    class label per example; it cannot handle a ``(batch, H, W)`` mask (older
    Keras refuses it, Keras 3.15 fails with a ``TypeError`` or a shape error
    deep inside TensorFlow). Per-pixel *sample weights* of the mask's shape do
    the job: the loss at each pixel is multiplied by its true class's weight.

    Args:
        dataset: batches ``(float32 (B, S, S, 3), int32 (B, S, S))``.
        class_weights: ``(num_classes,)`` weights.

    Returns:
        Batches ``(image, mask, float32 (B, S, S))``.
    """
    table = tf.constant(np.asarray(class_weights, dtype=np.float32))
    return dataset.map(
        lambda x, y: (x, y, tf.gather(table, y)), num_parallel_calls=tf.data.AUTOTUNE
    )
