"""Transposed convolution by hand, and why it can leave a checkerboard.

A transposed convolution with stride ``s`` "paints" a copy of its kernel,
scaled by each input value, onto an output grid ``s`` times larger; where the
painted copies overlap they add up. If the kernel size is not a multiple of
the stride, some output pixels receive more copies than others: the uneven
*overlap* that shows up as checkerboard artefacts (Odena, Dumoulin & Olah,
2016). The U-Net's 2×2 kernel with stride 2 tiles the output exactly, with no
overlap.
"""

from __future__ import annotations

import numpy as np


def transposed_conv2d(x: np.ndarray, kernel: np.ndarray, stride: int = 2) -> np.ndarray:
    """A single-channel transposed convolution ("valid" output), computed by painting
    kernels.

    Args:
        x: input ``(h, w)``.
        kernel: ``(k, k)``.
        stride: spacing of the painted copies on the output.

    Returns:
        ``((h - 1) * stride + k, (w - 1) * stride + k)`` output, which equals
        ``keras.layers.Conv2DTranspose(1, k, strides=stride, padding="valid",
        use_bias=False)`` with the same kernel.
    """
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    if x.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(
            f"x must be (h, w) and kernel (k, k); got {x.shape} and {kernel.shape}."
        )
    if stride < 1:
        raise ValueError(f"stride={stride!r} must be at least 1.")
    k = kernel.shape[0]
    h, w = x.shape
    out = np.zeros(((h - 1) * stride + k, (w - 1) * stride + k))
    for i in range(h):
        for j in range(w):
            out[i * stride : i * stride + k, j * stride : j * stride + k] += (
                x[i, j] * kernel
            )
    return out


def overlap_counts(size: int, kernel_size: int, stride: int = 2) -> np.ndarray:
    """How many painted kernel copies land on each output pixel, for a ``size × size``
    input.

    A constant input and an all-ones kernel make the transposed convolution's
    output equal to these counts: uniform when ``kernel_size`` is a multiple
    of ``stride``, a checkerboard otherwise.
    """
    return transposed_conv2d(
        np.ones((size, size)), np.ones((kernel_size, kernel_size)), stride
    )


def resize_conv_counts(size: int, kernel_size: int = 3, factor: int = 2) -> np.ndarray:
    """The resize-then-convolve alternative on the same test: uniform by construction.

    A constant ``size × size`` input is upsampled ``factor`` times with nearest
    neighbour, then convolved ("valid") with an all-ones ``kernel_size`` kernel.
    Every output pixel sums the same number of equal values, so the result
    is flat: no checkerboard.
    """
    if size < 1 or kernel_size < 1 or factor < 1:
        raise ValueError("size, kernel_size and factor must be positive.")
    up = np.ones((size * factor, size * factor))
    n = up.shape[0] - kernel_size + 1
    if n < 1:
        raise ValueError(
            f"kernel_size={kernel_size} is larger than the upsampled map "
            f"({up.shape[0]})."
        )
    windows = np.lib.stride_tricks.sliding_window_view(up, (kernel_size, kernel_size))
    return windows.sum(axis=(-1, -2))
