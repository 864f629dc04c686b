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


def conv2d_transpose_flops(h_in: int, w_in: int, kernel: int, c_in: int, c_out: int) -> int:
    """FLOPs of a transposed convolution reading ``(h_in, w_in, c_in)``.

    Every input value is multiplied into a ``kernel × kernel × c_out`` patch:
    ``2 · h_in · w_in · c_in · kernel² · c_out`` (independent of the stride).
    """
    return 2 * h_in * w_in * c_in * kernel * kernel * c_out


def model_flops(model: keras.Model) -> int:
    """Forward-pass FLOPs of one image through ``model`` (convolutions only).

    A training step costs about three times this (forward, and the two
    gradient computations of the backward pass).
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            total += conv2d_transpose_flops(h, w, layer.kernel_size[0], c_in, layer.filters)
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            c_in = layer.input.shape[-1]
            if None in (h, w):
                raise ValueError("model_flops needs a model with a fixed input size.")
            total += conv2d_flops(h, w, layer.kernel_size[0], c_in, c_out)
    return int(total)
