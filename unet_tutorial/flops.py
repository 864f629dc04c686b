"""Counting floating-point operations from a model's layers.

One multiply-add is two FLOPs. Only convolutions are counted (they are
more than 99 % of a U-Net's arithmetic); batch normalization, ReLU, pooling
and concatenation are memory-bound and left out.
"""

from __future__ import annotations

import keras

from .anatomy import HEAD, layer_level, level_names


def conv2d_flops(h_out: int, w_out: int, kernel: int, c_in: int, c_out: int) -> int:
    """FLOPs of a ``kernel × kernel`` convolution producing ``(h_out, w_out, c_out)``.

    Each output value is a dot product of length ``kernel² · c_in``:
    ``2 · h_out · w_out · c_out · kernel² · c_in``.
    """
    return 2 * h_out * w_out * c_out * kernel * kernel * c_in


def conv2d_transpose_flops(
    h_in: int, w_in: int, kernel: int, c_in: int, c_out: int
) -> int:
    """FLOPs of a transposed convolution reading ``(h_in, w_in, c_in)``.

    Every input value is multiplied into a ``kernel × kernel × c_out`` patch:
    ``2 · h_in · w_in · c_in · kernel² · c_out`` (independent of the stride).
    """
    return 2 * h_in * w_in * c_in * kernel * kernel * c_out


def layer_flops(layer: keras.layers.Layer) -> int:
    """Forward-pass FLOPs of one image through ``layer``; 0 for layers that are not
    convolutions.

    Args:
        layer: a layer of a built functional model with a fixed input size,
            e.g. ``model.get_layer("enc1_conv1")``.

    Raises:
        ValueError: if the layer's spatial size is unknown (``None``).
    """
    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, h, w, c_in = layer.input.shape  # counted per input pixel
        count = conv2d_transpose_flops
    elif isinstance(layer, keras.layers.Conv2D):
        _, h, w, _ = layer.output.shape  # counted per output pixel
        c_in = layer.input.shape[-1]
        count = conv2d_flops
    else:
        return 0
    if None in (h, w):
        raise ValueError(
            f"layer {layer.name!r} has no fixed input size; build the model with one."
        )
    return count(h, w, layer.kernel_size[0], c_in, layer.filters)


def model_flops(model: keras.Model) -> int:
    """Forward-pass FLOPs of one image through ``model`` (convolutions only).

    A training step costs about three times this (forward, and the two
    gradient computations of the backward pass).

    Raises:
        ValueError: if the model was built without a fixed input size.
    """
    return int(sum(layer_flops(layer) for layer in model.layers))


def flops_by_level(model: keras.Model) -> dict[str, int]:
    """Forward-pass FLOPs of one image at each level of a ``build_unet`` model.

    Each convolution counts toward the level its name starts with
    (``enc2_conv1`` → ``enc2``, ``dec2_upconv`` → ``dec2``, ``head_conv`` →
    ``head``), as ``parameters_by_level`` counts parameters.

    Returns:
        ``{"enc1": ..., "bottleneck": ..., "dec1": ..., "head": ...}`` in
        data-flow order; the values add up to ``model_flops(model)``.

    Raises:
        ValueError: if the model was not built by ``build_unet``, or without a
            fixed input size.
    """
    counts = dict.fromkeys(level_names(model), 0)
    counts[HEAD] = 0
    for layer in model.layers:
        flops = layer_flops(layer)
        if flops:
            level = layer_level(layer.name)
            if level not in counts:
                raise ValueError(
                    f"layer {layer.name!r} does not follow build_unet's naming; pass a "
                    "model built by unet_tutorial.build_unet."
                )
            counts[level] += flops
    return counts
