"""Paired augmentation: one random draw moves an image and its mask together.

A segmentation mask must follow every geometric change of its image: flip the
image without its mask and half of the training labels are wrong. Here each
example's parameters are drawn once from a stateless seed and applied to both
(``augment_pair``). The image is resampled bilinearly, the mask with nearest
neighbour, so the mask keeps its label set. ``elastic_field`` and
``elastic_warp`` are the paper's elastic deformation (Ronneberger et al., 2015,
section 3.1).
"""

from __future__ import annotations

import tensorflow as tf

from .settings import PAPER_ELASTIC, PAPER_ELASTIC_PX, AugmentConfig

__all__ = [
    "PAPER_ELASTIC",
    "PAPER_ELASTIC_PX",
    "AugmentConfig",
    "apply_geometry",
    "augment_pair",
    "augmentation_params",
    "elastic_field",
    "elastic_warp",
    "random_crop_pair",
    "random_quarter_turn",
    "random_view",
]


def elastic_field(seed: tf.Tensor, size: int, sigma: float, grid: int = 3) -> tf.Tensor:
    """A smooth random displacement field, ``float32 (size, size, 2)`` in pixels (dy,
    dx).

    Draws ``grid × grid`` displacement vectors from a Gaussian with standard
    deviation ``sigma × size`` pixels and interpolates them bicubically to
    every pixel (Ronneberger et al., 2015, section 3.1).

    Args:
        seed: ``int (2,)`` stateless seed.
        size: side of the (square) image.
        sigma: standard deviation as a share of ``size``.
        grid: coarse grid points per side.
    """
    coarse = tf.random.stateless_normal(
        [1, grid, grid, 2], tf.cast(seed, tf.int64), stddev=sigma
    )
    return tf.image.resize(
        coarse * tf.cast(size, tf.float32), [size, size], method="bicubic"
    )[0]


def elastic_warp(
    image: tf.Tensor, mask: tf.Tensor, field: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Move every pixel of an image and its mask by the *same* displacement field.

    Output pixel ``(y, x)`` takes the input at ``(y + dy, x + dx)`` (clamped to
    the border): bilinear for the image, nearest neighbour for the mask, so
    the mask keeps its label set.

    Args:
        image: ``float32 (S, S, C)``.
        mask: ``int32 (S, S)``.
        field: ``float32 (S, S, 2)`` from ``elastic_field``.
    """
    size = tf.shape(mask)[0]
    last = tf.cast(size - 1, tf.float32)
    grid = tf.cast(tf.range(size), tf.float32)
    yy, xx = tf.meshgrid(grid, grid, indexing="ij")
    y = tf.clip_by_value(yy + field[..., 0], 0.0, last)
    x = tf.clip_by_value(xx + field[..., 1], 0.0, last)
    nearest = tf.stack(
        [tf.cast(tf.round(y), tf.int32), tf.cast(tf.round(x), tf.int32)], axis=-1
    )
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]
    y0i, x0i = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1i, x1i = tf.minimum(y0i + 1, size - 1), tf.minimum(x0i + 1, size - 1)

    def at(yi, xi):
        return tf.gather_nd(image, tf.stack([yi, xi], axis=-1))

    top = at(y0i, x0i) * (1 - wx) + at(y0i, x1i) * wx
    bottom = at(y1i, x0i) * (1 - wx) + at(y1i, x1i) * wx
    return top * (1 - wy) + bottom * wy, tf.gather_nd(mask, nearest)


def augmentation_params(
    seed: tf.Tensor, config: AugmentConfig = AugmentConfig()
) -> tuple[tf.Tensor, tf.Tensor]:
    """Draw one set of geometric parameters from a stateless ``seed`` (shape ``(2,)``).

    Returns:
        ``(flip, box)``: a boolean scalar and the crop box
        ``[y1, x1, y2, x2]`` in normalised coordinates (as
        ``tf.image.crop_and_resize`` takes it).
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    flip = tf.logical_and(config.flip, tf.random.stateless_uniform([], seeds[0]) < 0.5)
    scale = tf.random.stateless_uniform(
        [], seeds[1], minval=config.min_scale, maxval=1.0
    )
    offset = tf.random.stateless_uniform([2], seeds[2]) * (1.0 - scale)
    box = tf.stack([offset[0], offset[1], offset[0] + scale, offset[1] + scale])
    return flip, box


def apply_geometry(
    image: tf.Tensor, mask: tf.Tensor, flip: tf.Tensor, box: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Apply the *same* flip and crop to an image and its mask.

    The image is resampled bilinearly, the mask with nearest neighbour, so it
    keeps its label set.

    Args:
        image: ``float32 (S, S, 3)``.
        mask: ``int32 (S, S)``.
        flip: boolean scalar.
        box: ``[y1, x1, y2, x2]`` in ``[0, 1]``.

    Returns:
        ``(image, mask)`` with the input shapes and dtypes.
    """
    size = tf.shape(mask)[:2]
    image = tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)
    mask = tf.cond(flip, lambda: tf.reverse(mask, axis=[1]), lambda: mask)
    boxes, index = box[tf.newaxis], tf.zeros([1], tf.int32)
    image = tf.image.crop_and_resize(
        image[tf.newaxis], boxes, index, size, method="bilinear"
    )[0]
    mask_f = tf.cast(mask, tf.float32)[tf.newaxis, ..., tf.newaxis]
    mask = tf.image.crop_and_resize(mask_f, boxes, index, size, method="nearest")[
        0, ..., 0
    ]
    return image, tf.cast(mask, tf.int32)


def random_crop_pair(
    image: tf.Tensor, mask: tf.Tensor, size: int, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Cut the *same* random ``size`` × ``size`` window out of an image and its mask.

    Training at native resolution (thin EM membranes, large microscope
    images) feeds the network random crops instead of shrunken images. The
    window's corner is drawn once, from a stateless ``seed``, and both
    tensors are sliced there, so the crop of the mask still labels the crop
    of the image pixel for pixel.

    Args:
        image: ``float32 (H, W, C)`` with ``H, W >= size``.
        mask: ``int32 (H, W)``.
        size: side of the window.
        seed: ``int (2,)`` stateless seed.

    Returns:
        ``(float32 (size, size, C), int32 (size, size))``.
    """
    height, width = tf.shape(mask)[0], tf.shape(mask)[1]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
    top = tf.random.stateless_uniform(
        [], seeds[0], maxval=height - size + 1, dtype=tf.int32
    )
    left = tf.random.stateless_uniform(
        [], seeds[1], maxval=width - size + 1, dtype=tf.int32
    )
    image = image[top : top + size, left : left + size]
    mask = mask[top : top + size, left : left + size]
    return (
        tf.ensure_shape(image, (size, size, image.shape[-1])),
        tf.ensure_shape(mask, (size, size)),
    )


def random_quarter_turn(
    image: tf.Tensor, mask: tf.Tensor, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Turn a square image and its mask by the same random 0, 90, 180 or 270 degrees.

    The number of turns is drawn from ``seed + 29``, apart from the other
    draws of ``augment_pair``, which stay as they are without it.
    """
    k = tf.random.stateless_uniform(
        [], tf.cast(seed, tf.int64) + 29, maxval=4, dtype=tf.int32
    )
    image = tf.image.rot90(image, k)
    return image, tf.image.rot90(mask[..., tf.newaxis], k)[..., 0]


def augment_pair(
    image: tf.Tensor,
    mask: tf.Tensor,
    seed: tf.Tensor,
    config: AugmentConfig = AugmentConfig(),
) -> tuple[tf.Tensor, tf.Tensor]:
    """Randomly flip, zoom and (optionally) deform an image and its mask together, with
    one random draw.

    Drawing the flip separately for image and mask (two calls to
    ``tf.image.random_flip_left_right``) mirrors the image without its mask
    half of the time. Here the parameters are drawn once, from a stateless
    seed, and applied to both: the same seed gives the same result.

    Args:
        image: ``float32 (S, S, 3)`` in ``[0, 1]``.
        mask: ``int32 (S, S)``.
        seed: ``int (2,)`` stateless seed.
        config: which transforms to apply.

    Returns:
        ``(image, mask)``, same shapes and value ranges (the mask keeps its labels).
    """
    flip, box = augmentation_params(seed, config)
    image, mask = apply_geometry(image, mask, flip, box)
    if config.rotate90:
        image, mask = random_quarter_turn(image, mask, seed)
    if config.elastic > 0:
        field = elastic_field(
            tf.cast(seed, tf.int64) + 13, tf.shape(mask)[0], config.elastic
        )
        image, mask = elastic_warp(image, mask, field)
    if config.jitter:
        s = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64) + 7, 3)
        image = tf.image.stateless_random_brightness(image, 0.1, s[0])
        image = tf.image.stateless_random_contrast(image, 0.8, 1.2, s[1])
        if image.shape[-1] == 3:  # saturation needs colour; grayscale has none
            image = tf.image.stateless_random_saturation(image, 0.8, 1.2, s[2])
        image = tf.clip_by_value(image, 0.0, 1.0)
    return image, mask


def random_view(
    image: tf.Tensor,
    mask: tf.Tensor,
    seed: tf.Tensor,
    config: AugmentConfig | None = AugmentConfig(),
    crop_size: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """One random training view of a pair: a crop (``random_crop_pair``), then
    ``augment_pair``.

    Args:
        image: ``float32 (H, W, C)``.
        mask: ``int32 (H, W)``.
        seed: ``int (2,)`` stateless seed; the crop draws from ``seed + 101``,
            so without a crop the augmentation is the same as ``augment_pair``'s.
        config: the augmentation, or ``None`` for none.
        crop_size: side of the random crop, or ``None`` to keep the whole image.
    """
    if crop_size is not None:
        seed_crop = tf.cast(seed, tf.int64) + 101
        image, mask = random_crop_pair(image, mask, crop_size, seed_crop)
    if config is not None:
        image, mask = augment_pair(image, mask, seed, config)
    return image, mask
