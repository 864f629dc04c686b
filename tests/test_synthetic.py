"""The synthetic stand-in (unet_tutorial.synthetic): deterministic, learnable but not
trivial, with true trimaps; and its three disjoint splits.
"""

from __future__ import annotations

import numpy as np
import pytest

import unet_tutorial as ut


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_synthetic_is_deterministic_with_the_right_dtypes_and_ranges():
    a = ut.make_synthetic_pets(4, 64, seed=3)
    b = ut.make_synthetic_pets(4, 64, seed=3)
    c = ut.make_synthetic_pets(4, 64, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    images, masks = a
    assert images.dtype == np.float32 and images.shape == (4, 64, 64, 3)
    assert images.min() >= 0 and images.max() <= 1
    assert masks.dtype == np.int32 and masks.shape == (4, 64, 64)
    for m in masks:
        assert set(np.unique(m)) == {0, 1, 2}


def test_synthetic_border_is_a_thin_band_between_pet_and_background():
    _, masks = ut.make_synthetic_pets(8, 128, seed=0)
    for m in masks:
        pet, border = m == 0, m == 2
        # pet and background never touch: the border band always lies between them
        bg_next_to_pet = (m[1:, :] == 1) & pet[:-1, :] | (m[:-1, :] == 1) & pet[1:, :]
        assert not bg_next_to_pet.any()
        assert 0.005 < border.mean() < 0.15


def test_colour_alone_does_not_separate_pet_from_background():
    images, masks = ut.make_synthetic_pets(64, 64, seed=1)
    q = (np.clip(images, 0, 0.999) * 8).astype(int)
    key = (q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2])[masks != 2]
    lab = masks[masks != 2]
    pet = np.bincount(key[lab == 0], minlength=512)
    bg = np.bincount(key[lab == 1], minlength=512)
    # Bayes-optimal per-colour rule
    best_colour_only = np.maximum(pet, bg).sum() / lab.size
    majority = max((lab == 0).mean(), (lab == 1).mean())
    assert best_colour_only < majority + 0.05


def test_synthetic_has_three_disjoint_splits():
    parts = {s: _collect(ut.load_synthetic_pets(s, 32, 8, num_examples=8, augment=False, shuffle=False))[0]
             for s in ut.SPLITS}  # fmt: skip
    assert not np.array_equal(parts["train"], parts["validation"])
    assert not np.array_equal(parts["validation"], parts["test"])


def test_make_trimap_puts_a_band_on_both_sides_of_the_outline():
    shape = np.zeros((12, 12), bool)
    shape[3:9, 3:9] = True
    tri = ut.make_trimap(shape)
    assert tri.dtype == np.int32 and set(np.unique(tri)) == {0, 1, 2}
    # 1 px each side of the outline: the pet's outer ring and the ring just outside it
    assert (tri[4:8, 4:8] == 0).all() and tri[3, 5] == 2 and tri[2, 5] == 2
    assert tri[1, 5] == 1 and tri[0, 0] == 1
    wide = ut.make_trimap(shape, border=2)
    assert (wide == 2).sum() > (tri == 2).sum()
    with pytest.raises(ValueError, match="border=0"):
        ut.make_trimap(shape, border=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n=0"),
        ({"n": 2.5}, "n=2.5"),
        ({"n": 1, "image_size": 16}, "image_size=16"),
    ],
)
def test_make_synthetic_pets_refuses_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ut.make_synthetic_pets(**kwargs)


def test_synthetic_cells_are_cells_parted_by_dark_membranes():
    image, mask = ut.make_synthetic_cells(96, num_cells=12, seed=3)
    assert image.shape == mask.shape == (96, 96) and image.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 1}
    assert image[mask == 0].mean() < image[mask == 1].mean()  # membranes are darker
    assert ut.cell_instances(mask).max() >= 6  # most cells stay apart
    again, _ = ut.make_synthetic_cells(96, num_cells=12, seed=3)
    assert (again == image).all()
    with pytest.raises(ValueError, match="num_cells"):
        ut.make_synthetic_cells(96, num_cells=1)
