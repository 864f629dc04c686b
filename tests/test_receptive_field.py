"""The effective receptive field (unet_tutorial.receptive_field)."""

from __future__ import annotations

import numpy as np
import pytest

import unet_tutorial as ut


@pytest.fixture(scope="module")
def small_unet():
    # depth 2 at 32 px: the bottleneck is 8×8, one step there is 4 input pixels
    return ut.build_unet((32, 32, 3), base_filters=4, depth=2)


def test_the_field_is_zero_outside_the_theoretical_window_and_peaks_inside(small_unet):
    size = ut.receptive_fields(depth=2)[-1].size
    assert size == 32
    field = ut.effective_receptive_field(small_unet, "bottleneck_relu2", samples=4)
    assert field.shape == (32, 32) and (field >= 0).all()
    # bottleneck feature (4, 4) of a same-padded depth-2 U: by hand, two 3×3 convs
    # ([q-2, q+2]), a pooling ([2q-4, 2q+5]), two convs, a pooling, two convs
    # give input rows 4q-14 .. 4q+17 = 2 .. 33, 32 wide: rows and columns 0, 1 are cut off
    rows = np.flatnonzero(field.any(axis=1))
    cols = np.flatnonzero(field.any(axis=0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (2, 31, 2, 31)
    assert field[:2].max() == 0 and field[:, :2].max() == 0
    assert field[16, 16] > 0
    # the centre of the window counts far more than its edge
    assert field[16, 16] > 10 * field[2, 2]


def test_a_corner_feature_sees_only_a_corner(small_unet):
    field = ut.effective_receptive_field(
        small_unet, "bottleneck_relu2", position=(0, 0), samples=2
    )
    rows = np.flatnonzero(field.any(axis=1))
    assert (rows[0], rows[-1]) == (0, 17)  # 4·0 + 17


def test_bad_positions_and_sizes_are_refused(small_unet):
    with pytest.raises(ValueError, match="outside"):
        ut.effective_receptive_field(small_unet, "bottleneck_relu2", position=(8, 0))
    free = ut.build_unet((None, None, 3), base_filters=4, depth=2)
    with pytest.raises(ValueError, match="fixed input size"):
        ut.effective_receptive_field(free, "bottleneck_relu2")


def test_central_square_encloses_the_asked_share():
    field = np.zeros((9, 9))
    field[4, 4] = 1.0
    assert ut.central_square(field, 0.99) == (4, 4, 1)
    field[2:7, 2:7] = 1.0  # a flat 5×5 block around the centre
    assert ut.central_square(field, 1.0) == (2, 2, 5)
    assert ut.central_square(field, 0.3) == (3, 3, 3)  # 9 of 25 pixels
    for bad in (np.zeros((4, 4)), -np.ones((4, 4)), np.ones(4)):
        with pytest.raises(ValueError, match="non-negative"):
            ut.central_square(bad)
    with pytest.raises(ValueError, match="fraction"):
        ut.central_square(field, 1.5)
