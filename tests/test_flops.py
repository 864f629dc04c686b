"""FLOP counts (unet_tutorial.flops)."""

from __future__ import annotations

import keras
import pytest

import unet_tutorial as ut


def test_flop_counts_by_hand():
    # a 3x3 conv, 8x8 output, 2 -> 4 channels: each of 8*8*4 outputs sums 3*3*2 products
    assert ut.conv2d_flops(8, 8, 3, 2, 4) == 2 * (8 * 8 * 4) * (3 * 3 * 2) == 9216
    # a 2x2 transposed conv reading 4x4x6 into 3 channels: each of 4*4*6 inputs meets 2*2*3 weights
    assert (
        ut.conv2d_transpose_flops(4, 4, 2, 6, 3)
        == 2 * (4 * 4 * 6) * (2 * 2 * 3)
        == 2304
    )
    inp = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)
    x = keras.layers.Conv2DTranspose(3, 2, strides=2)(x)
    model = keras.Model(inp, x)
    assert ut.model_flops(model) == 9216 + ut.conv2d_transpose_flops(8, 8, 2, 4, 3)
    assert [ut.layer_flops(layer) for layer in model.layers] == [
        0,
        9216,
        2 * (8 * 8 * 4) * (2 * 2 * 3),
    ]


def test_flops_need_a_fixed_input_size():
    model = ut.build_unet((None, None, 3), base_filters=4, depth=2)
    with pytest.raises(ValueError, match="fixed input size"):
        ut.model_flops(model)


def test_unet_flops_grow_with_the_square_of_the_width():
    small = ut.model_flops(ut.build_unet((64, 64, 3), base_filters=8, depth=3))
    wide = ut.model_flops(ut.build_unet((64, 64, 3), base_filters=16, depth=3))
    # the first and last convs (3 in, 3 out channels) grow only linearly
    assert 3.5 < wide / small < 4.0


def test_flops_by_level_add_up_and_are_constant_per_level_by_design():
    model = ut.build_unet((32, 32, 3), base_filters=8, depth=2)
    counts = ut.flops_by_level(model)
    assert list(counts) == ["enc1", "enc2", "bottleneck", "dec2", "dec1", "head"]
    assert sum(counts.values()) == ut.model_flops(model)
    # enc1 reads 3 channels: 3×3 convs 3 -> 8 and 8 -> 8 at 32×32
    assert counts["enc1"] == 2 * 32 * 32 * 8 * 9 * (3 + 8)
    # each level down halves the side and doubles the channels: same cost
    assert counts["enc2"] == counts["bottleneck"] == 2 * 16 * 16 * 16 * 9 * (8 + 16)
    # dec2: a 2×2 up-convolution 32 -> 16 read at 8×8, then convs 32 -> 16 -> 16 at 16×16
    assert (
        counts["dec2"]
        == counts["dec1"]
        == (2 * 8 * 8 * 32 * 4 * 16 + 2 * 16 * 16 * 16 * 9 * (32 + 16))
    )
    assert counts["head"] == 2 * 32 * 32 * 3 * 8


def test_flops_by_level_needs_a_build_unet_model():
    inp = keras.Input((8, 8, 2))
    with pytest.raises(ValueError, match="build_unet"):
        ut.flops_by_level(keras.Model(inp, keras.layers.Conv2D(4, 3)(inp)))
