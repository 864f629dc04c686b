"""Losses (unet_tutorial.losses): Dice, CE + Dice, the paper's weight map."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import logits_for

import unet_tutorial as ut

EM_MASKS = Path(__file__).parent / "fixtures" / "isbi2012-em-mini" / "masks"


def _two_touching_squares():
    mask = np.ones((40, 41), int)  # background 1
    mask[10:30, 5:19] = 0  # left object
    mask[10:30, 22:36] = 0  # right object, a 3-pixel gap at columns 19..21
    return mask


def test_dice_loss_is_zero_for_a_perfect_prediction_and_large_for_a_wrong_one():
    true = np.array([[[0, 1], [2, 1]]])
    loss = ut.DiceLoss(3)
    assert float(loss(true, logits_for(true) * 4)) < 0.01
    assert float(loss(true, logits_for((true + 1) % 3) * 4)) > 0.9


def test_weight_map_peaks_in_the_gap_between_touching_objects():
    mask = _two_touching_squares()
    w = ut.unet_weight_map(mask)
    peak = np.unravel_index(np.argmax(w), w.shape)
    assert 10 <= peak[0] < 30 and 19 <= peak[1] <= 21  # inside the gap
    assert w[20, 20] > w[20, 2] + 5  # the gap outweighs open background by far


def test_weight_map_is_symmetric_for_a_symmetric_mask():
    mask = _two_touching_squares()
    assert np.array_equal(mask, mask[:, ::-1])
    w = ut.unet_weight_map(mask)
    np.testing.assert_allclose(w, w[:, ::-1], atol=1e-5)
    np.testing.assert_allclose(w, w[::-1, :], atol=1e-5)


def test_weight_map_is_at_least_the_class_weight_everywhere():
    mask = _two_touching_squares()
    wc = np.array([2.0, 0.5, 1.0])
    w = ut.unet_weight_map(mask, class_weights=wc)
    assert (w >= wc[mask] - 1e-6).all()
    single = np.ones((20, 20), int)
    single[5:15, 5:15] = 0
    # no gap, no term
    np.testing.assert_allclose(ut.unet_weight_map(single, class_weights=wc), wc[single])


@pytest.mark.slow
def test_weight_maps_work_as_sample_weights():
    x, y = ut.make_synthetic_pets(4, 32, seed=0)
    ds = ut.add_unet_weight_maps(tf.data.Dataset.from_tensor_slices((x, y)).batch(2))
    xb, yb, wb = next(iter(ds))
    assert wb.shape == yb.shape and float(tf.reduce_min(wb)) > 0
    model = ut.build_unet((32, 32, 3), 3, base_filters=2, depth=1)
    model.compile("adam", ut.cross_entropy_loss())
    assert np.isfinite(model.fit(ds, epochs=1, verbose=0).history["loss"][0])


@pytest.mark.slow
def test_ce_dice_goes_down_over_a_tiny_fit():
    ut.set_seed(0)
    x, y = ut.make_synthetic_pets(16, 32, seed=0)
    model = ut.build_unet((32, 32, 3), 3, base_filters=4, depth=2)
    model.compile(keras.optimizers.Adam(3e-3), ut.CEDiceLoss(3))
    hist = model.fit(x, y, batch_size=8, epochs=10, verbose=0).history["loss"]
    assert hist[-1] < 0.8 * hist[0]


def _brute_force_two_nearest(objects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy import ndimage

    n = int(objects.max())
    dists = np.stack(
        [ndimage.distance_transform_edt(objects != k) for k in range(1, n + 1)]
    )
    d1, d2 = np.sort(dists, axis=0)[:2]
    return d1, d2


def test_two_nearest_distances_match_every_objects_full_distance_map():
    from PIL import Image
    from scipy import ndimage

    mask = np.asarray(Image.open(EM_MASKS / "slice_00.png")) > 127  # 255 = cell
    objects, n = ndimage.label(mask)
    assert n >= 10  # many touching cells: a real test of the windows
    want1, want2 = _brute_force_two_nearest(objects)
    got1, got2 = ut.two_nearest_distances(objects)  # no reach: exact everywhere
    np.testing.assert_allclose(got1, want1)
    np.testing.assert_allclose(got2, want2)
    near1, near2 = ut.two_nearest_distances(objects, reach=10)
    for got, want in ((near1, want1), (near2, want2)):
        close = want <= 10
        np.testing.assert_allclose(got[close], want[close])  # exact within reach
        assert (got[~close] > 10).all()  # never closer than the truth beyond it


def test_weight_map_on_em_cells_matches_the_formula_with_all_distances():
    from PIL import Image
    from scipy import ndimage

    mask = (np.asarray(Image.open(EM_MASKS / "slice_01.png")) > 127).astype(int)
    w = ut.unet_weight_map(mask, object_class=1)
    objects, _ = ndimage.label(mask == 1)
    d1, d2 = _brute_force_two_nearest(objects)
    counts = np.bincount(mask.ravel()) / mask.size
    wc = np.median(counts) / counts
    border = 10 * np.exp(-((d1 + d2) ** 2) / (2 * 5.0**2))
    want = wc[mask] + np.where(objects == 0, border, 0.0)
    np.testing.assert_allclose(w, want, atol=1e-5)


def test_dice_loss_leaves_pixels_of_weight_zero_out():
    """Per-pixel weights (the padding of a whole validation image, an ignore value)
    took Keras' Dice loss down with a shape error deep inside TensorFlow; the
    pixels of weight 0 are now left out of Dice.
    """
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, (2, 8, 8)).astype(np.int32)
    logits = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    w = np.ones((2, 8, 8), np.float32)
    w[:, :, 5:] = 0  # the right three columns count nowhere
    loss = ut.DiceLoss(3)
    left = float(loss(y[:, :, :5], logits[:, :, :5]))
    assert float(loss(y, logits, sample_weight=w)) == pytest.approx(left, rel=1e-6)
    other = np.where(w == 0, (y + 1) % 3, y)  # other labels where nothing counts
    assert float(loss(other, logits, sample_weight=w)) == pytest.approx(left, rel=1e-6)
    assert float(loss(y, logits, sample_weight=2 * w)) == pytest.approx(left, rel=1e-6)
    assert float(loss(y, logits)) != pytest.approx(left, rel=1e-3)
