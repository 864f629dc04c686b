"""Transposed convolution by hand, overlap counts and resize-then-convolve (unet_tutorial.upsampling)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import unet_tutorial as ut


def test_transposed_conv_by_hand_matches_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    for k, stride in ((2, 2), (3, 2), (4, 2), (3, 1)):
        kernel = rng.normal(size=(k, k))
        layer = keras.layers.Conv2DTranspose(
            1, k, strides=stride, padding="valid", use_bias=False
        )
        layer.build((None, 3, 4, 1))
        layer.set_weights([kernel[:, :, None, None]])
        expected = layer(x[None, :, :, None].astype("float32")).numpy()[0, :, :, 0]
        np.testing.assert_allclose(
            ut.transposed_conv2d(x, kernel, stride), expected, rtol=1e-5, atol=1e-5
        )


def test_overlap_is_uniform_only_when_the_kernel_is_a_multiple_of_the_stride():
    # the U-Net's up-convolution
    assert np.unique(ut.overlap_counts(4, 2, 2)).tolist() == [1.0]
    inner = ut.overlap_counts(6, 4, 2)[2:-2, 2:-2]
    assert np.unique(inner).tolist() == [4.0]
    # checkerboard
    assert np.unique(ut.overlap_counts(4, 3, 2)).tolist() == [
        1.0,
        2.0,
        4.0,
    ]


def test_resize_then_convolve_is_uniform():
    out = ut.resize_conv_counts(6, kernel_size=3, factor=2)
    assert out.shape == (10, 10) and np.unique(out).tolist() == [9.0]
    with pytest.raises(ValueError, match="larger than"):
        ut.resize_conv_counts(1, kernel_size=5)
