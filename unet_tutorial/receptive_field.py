"""The effective receptive field: how much each input pixel moves one feature.

``shapes.receptive_fields`` counts the *theoretical* receptive field, the
window of input pixels that a feature is connected to at all. Inside that
window the pixels do not count alike: a centre pixel reaches the feature
along many more paths through the stacked convolutions than a pixel at the
window's edge. Luo et al. (2016) measured this *effective* receptive field
with the gradient of one output position with respect to the input, and found
that it is roughly Gaussian and much smaller than the theoretical window.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def effective_receptive_field(
    model: keras.Model,
    layer_name: str,
    images: np.ndarray | None = None,
    position: tuple[int, int] | None = None,
    *,
    samples: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """``|∂ feature / ∂ input|``: how strongly each input pixel moves one feature.

    The feature is the sum over channels of ``layer_name``'s output at
    ``position`` (default: the map's centre, ``(h // 2, w // 2)``). The
    gradient is exactly zero outside the theoretical receptive field: no path
    connects those pixels to the feature.

    Args:
        model: a Keras model with a fixed input size ``(batch, H, W, C)``.
        layer_name: the layer whose feature is traced, e.g. ``"bottleneck_relu2"``.
        images: ``(batch, H, W, C)`` inputs; by default ``samples`` images of
            Gaussian noise (``seed``), as in Luo et al. (2016).
        position: ``(row, col)`` in the layer's output map.

    Returns:
        An ``(H, W)`` map: the gradient's magnitude, summed over the input
        channels and averaged over the images.
    """
    tap = keras.Model(model.input, model.get_layer(layer_name).output)
    row, col = _feature_position(tap, position)
    if images is None:
        rng = np.random.default_rng(seed)
        images = rng.standard_normal((samples, *tap.input_shape[1:]))
    x = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        # each image's feature depends on that image only: one summed gradient is all
        target = tf.reduce_sum(tap(x, training=False)[:, row, col, :])
    grad = tape.gradient(target, x).numpy()  # (batch, H, W, C)
    return np.abs(grad).sum(axis=-1).mean(axis=0)


def _feature_position(tap: keras.Model, position) -> tuple[int, int]:
    """``position`` checked against ``tap``'s output map; its centre when None."""
    (_, height, width, _), (_, h, w, _) = tap.input_shape, tap.output_shape
    if None in (height, width, h, w):
        raise ValueError(
            f"model {tap.name!r} has no fixed input size; build it with one, "
            "e.g. build_unet((128, 128, 3))."
        )
    row, col = position if position is not None else (h // 2, w // 2)
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(
            f"position={position!r} lies outside the layer's {h}×{w} map; pass a "
            f"(row, col) with 0 <= row < {h} and 0 <= col < {w}."
        )
    return row, col


def central_square(field: np.ndarray, fraction: float = 0.5) -> tuple[int, int, int]:
    """The smallest square around its centre of mass that holds ``fraction`` of a field.

    Args:
        field: an ``(H, W)`` map of non-negative weights, e.g. from
            ``effective_receptive_field``.
        fraction: the share of the total to enclose, in ``(0, 1]``.

    Returns:
        ``(top, left, width)``: the square's first row and column (they may be
        negative where it sticks out of the map) and its side in pixels (odd).
    """
    field = np.asarray(field, dtype="float64")
    if field.ndim != 2 or (field < 0).any() or not field.sum() > 0:
        raise ValueError(
            "field must be an (H, W) array of non-negative values with a positive sum."
        )
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r} must be in (0, 1], e.g. 0.5.")
    total = field.sum()
    rows, cols = np.indices(field.shape)
    cy = int(round((rows * field).sum() / total))
    cx = int(round((cols * field).sum() / total))
    for r in range(max(field.shape)):
        inside = field[max(cy - r, 0) : cy + r + 1, max(cx - r, 0) : cx + r + 1].sum()
        if inside >= fraction * total * (1 - 1e-9):
            break
    return cy - r, cx - r, 2 * r + 1
