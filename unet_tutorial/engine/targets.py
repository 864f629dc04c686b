"""What a model is trained and validated against on a folder (``training_pairs``):
unpadded, masks cut to the centre it predicts, validation on overlap-tile squares;
same padding at native size, validation images mirrored up to sides it takes (added
pixels of weight 0); the paper's weight map."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .. import shapes
from ..losses import unet_weight_map
from ..tiling import mirror_pad, same_padding_pads, tile_layout

WEIGHT_MAP_OBJECT_CLASS = 1
"""The class whose connected regions are the weight map's objects: the cells of the
EM folder (class 0 membrane, class 1 cell)."""


def add_weight_maps(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``(x, y[, w])`` batches -> ``(x, y, w * weight map)`` (``unet_weight_map``, the
    paper's values, computed on the whole crop); pixels of weight 0 stay 0."""

    def maps(masks: np.ndarray) -> np.ndarray:
        return np.stack(
            [unet_weight_map(m, object_class=WEIGHT_MAP_OBJECT_CLASS) for m in masks]
        ).astype(np.float32)

    def add(x, y, *w):
        weights = tf.numpy_function(maps, [y], tf.float32)
        weights.set_shape(y.shape)
        return x, y, weights * w[0] if w else weights

    return dataset.map(add, num_parallel_calls=tf.data.AUTOTUNE)


def crop_targets(dataset: tf.data.Dataset, output_size: int) -> tf.data.Dataset:
    """Cut the masks (and weights) of ``(x, y[, w])`` batches to their centre
    ``output_size`` square, the part an unpadded model predicts."""

    def crop(x, *targets):
        m = (tf.shape(targets[0])[1] - output_size) // 2
        return x, *(t[:, m : m + output_size, m : m + output_size] for t in targets)

    return dataset.map(crop, num_parallel_calls=tf.data.AUTOTUNE)


def image_tiles(
    image: np.ndarray,
    mask: np.ndarray,
    input_size: int,
    output_size: int,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """The tiles of overlap-tile prediction (``tile_layout``, the image mirrored at
    its borders) whose output square lies wholly inside the image: no pixel scored
    twice or past the image. ``(tiles, masks[, weights])`` of those squares."""
    h, w = mask.shape
    tiles, pads = tile_layout(h, w, input_size, output_size)
    inside = [t for t in tiles if t.output_box[2] <= h and t.output_box[3] <= w]
    if not inside:
        raise ValueError(
            f"a {h}x{w} image holds no whole {output_size} px output square; "
            "validate on larger images or use a smaller input size."
        )

    def stack(array: np.ndarray, boxes: list, dtype) -> np.ndarray:
        cuts = [array[top:bottom, left:right] for top, left, bottom, right in boxes]
        return np.stack(cuts).astype(dtype)

    outputs = [t.output_box for t in inside]
    arrays = (
        stack(mirror_pad(image, pads), [t.input_box for t in inside], np.float32),
        stack(mask, outputs, np.int32),
    )
    return arrays if weights is None else (*arrays, stack(weights, outputs, np.float32))


def overlap_tile_batches(
    dataset: tf.data.Dataset, input_size: int, output_size: int, batch_size: int
) -> tf.data.Dataset:
    """Batches of whole images -> batches of their tiles ``(x, y[, w])``
    (``image_tiles``), ``batch_size`` tiles at a time."""

    def cut(x, y, *w):
        return image_tiles(x, y, input_size, output_size, *w)

    def to_tiles(*example):
        types = (tf.float32, tf.int32, tf.float32)[: len(example)]
        parts = tf.numpy_function(cut, list(example), types)
        parts[0].set_shape((None, input_size, input_size, example[0].shape[-1]))
        for part in parts[1:]:
            part.set_shape((None, output_size, output_size))
        return tf.data.Dataset.from_tensor_slices(tuple(parts))

    tiles = dataset.unbatch().flat_map(to_tiles)
    return tiles.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def pad_whole_images(dataset: tf.data.Dataset, depth: int) -> tf.data.Dataset:
    """Batches of whole images ``(x, y[, w])`` -> ``(x, y, w)`` with sides a
    same-padding U-Net of ``depth`` takes (``same_padding_pads``). Mirrored at the
    bottom and right, the added pixels of weight 0 (a Dice term still sees them)."""

    def pad(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
        pads = same_padding_pads(y.shape[1], y.shape[2], depth)  # (t, b, l, r)
        zeros = [(0, 0), pads[:2], pads[2:]]
        return (
            np.stack([mirror_pad(image, pads) for image in x]).astype(np.float32),
            np.stack([mirror_pad(mask, pads) for mask in y]).astype(np.int32),
            np.pad(w, zeros).astype(np.float32),
        )

    def padded(x, y, *w):
        w = w[0] if w else tf.ones_like(y, tf.float32)
        parts = tf.numpy_function(pad, [x, y, w], (tf.float32, tf.int32, tf.float32))
        parts[0].set_shape((x.shape[0], None, None, x.shape[-1]))
        for part in parts[1:]:
            part.set_shape((y.shape[0], None, None))
        return tuple(parts)

    return dataset.map(padded, num_parallel_calls=tf.data.AUTOTUNE)


def snapshot_examples(
    dataset: tf.data.Dataset, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` examples of ``(x, y[, w])`` batches as ``(float32 images
    (n, h, w, C), int32 masks (n, h, w))``, ``n <= count``. Cut from their centre
    to the size they all have (images and masks each on their own)."""
    examples = [e[:2] for e in dataset.unbatch().take(count).as_numpy_iterator()]
    if not examples:
        raise ValueError("the validation split is empty; no snapshot images.")
    images, masks = zip(*examples, strict=True)
    return _centres(images, np.float32), _centres(masks, np.int32)


def _centres(arrays: tuple[np.ndarray, ...], dtype) -> np.ndarray:
    h, w = (min(a.shape[i] for a in arrays) for i in (0, 1))
    cuts = [a[(a.shape[0] - h) // 2 :, (a.shape[1] - w) // 2 :][:h, :w] for a in arrays]
    return np.stack(cuts).astype(dtype)


def model_classes(config, info) -> int:
    """The model's outputs: ``config.num_classes``, else the data's. ``ValueError``:
    it differs from the data's, ``weight_map`` without a class 1, or an ignore value
    with a Dice term (Dice counts every pixel)."""
    if info.ignore_value is not None and config.loss != "ce":
        raise ValueError(
            f"the data declares the ignore value {info.ignore_value}, but "
            f"loss={config.loss!r} has a Dice term, which counts ignored pixels too; "
            "train with loss='ce' (--loss ce), whose per-pixel weights leave them out."
        )
    if config.num_classes is not None and config.num_classes != info.num_classes:
        raise ValueError(
            f"num_classes={config.num_classes} but the data has {info.num_classes} "
            f"classes ({', '.join(info.class_names)}); leave num_classes out (None) "
            "to follow the data."
        )
    if config.weight_map and info.num_classes < 2:
        raise ValueError("weight_map=True needs at least 2 classes (objects: class 1).")
    return info.num_classes


def model_input_shape(config, info) -> tuple:
    """``(S, S, channels)``; ``(None, None, channels)`` for a same-padding model
    trained on crops (it then takes whole images of any size)."""
    if config.padding == "same" and config.image_size is None:
        return (None, None, info.channels)
    return (config.input_size, config.input_size, info.channels)


def training_pairs(config, train_ds, val_ds):
    """``(train_ds, val_ds)`` as the model of ``config`` is trained and validated on
    (see the module's docstring)."""
    if config.weight_map:
        train_ds = add_weight_maps(train_ds)
    if config.padding == "valid":
        out = shapes.output_size(config.input_size, config.depth, "valid")
        train_ds = crop_targets(train_ds, out)
        val_ds = overlap_tile_batches(val_ds, config.input_size, out, config.batch_size)
    elif config.image_size is None:  # whole images of any size
        val_ds = pad_whole_images(val_ds, config.depth)
    return train_ds, val_ds
