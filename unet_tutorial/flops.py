"""Counting floating-point operations from a model's layers.

One multiply-add is two FLOPs. Only convolutions are counted (they are
more than 99 % of a U-Net's arithmetic); batch normalization, ReLU, pooling
and concatenation are memory-bound and left out.
"""

from __future__ import annotations

import keras


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
