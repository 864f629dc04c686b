"""engine.targets: weight maps on crops, targets cut for unpadded models, and
the overlap-tile validation tiles."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import unet_tutorial as ut
from unet_tutorial.engine import targets as T


def _cells(size=40, seed=0):
    image, mask = ut.make_synthetic_cells(size, num_cells=8, seed=seed)
    return image[..., None].astype(np.float32) / 255, mask.astype(np.int32)


def test_weight_maps_are_the_papers_on_each_mask_and_keep_ignored_pixels_at_zero():
    x, y = _cells()
    ds = tf.data.Dataset.from_tensors((x[None], y[None]))
    _, _, w = next(iter(T.add_weight_maps(ds)))
    expected = ut.unet_weight_map(y, object_class=1)
    np.testing.assert_allclose(w[0], expected, rtol=1e-6)
    ignore = np.ones(y.shape, np.float32)
    ignore[:5] = 0
    ds = tf.data.Dataset.from_tensors((x[None], y[None], ignore[None]))
    _, _, w = next(iter(T.add_weight_maps(ds)))
    w = np.asarray(w)
    assert (w[0, :5] == 0).all() and np.allclose(w[0, 5:], expected[5:])


def test_targets_are_cut_to_the_centre_an_unpadded_model_predicts():
    x, y = _cells(44)
    w = np.arange(44 * 44, dtype=np.float32).reshape(44, 44)
    ds = tf.data.Dataset.from_tensors((x[None], y[None], w[None]))
    cx, cy, cw = next(iter(T.crop_targets(ds, 4)))
    assert cx.shape == (1, 44, 44, 1)
    np.testing.assert_array_equal(cy[0], y[20:24, 20:24])
    np.testing.assert_array_equal(cw[0], w[20:24, 20:24])


def test_validation_tiles_are_overlap_tile_inside_the_image():
    model = ut.build_unet((64, 64, 1), 2, base_filters=2, depth=2, padding="valid")
    size_in, size_out = 64, model.output_shape[1]  # 24
    image, mask = _cells(60)
    tiles, masks = T.image_tiles(image, mask, size_in, size_out)
    assert len(tiles) == (60 // size_out) ** 2  # only whole squares inside
    # each tile's prediction is the overlap-tile prediction of its square
    full = ut.predict_tiles(model, image)
    out = np.asarray(model(tiles[1:2], training=False))[0]
    np.testing.assert_allclose(out, full[:size_out, size_out : 2 * size_out], atol=1e-5)
    np.testing.assert_array_equal(masks[1], mask[:size_out, size_out : 2 * size_out])
    ds = tf.data.Dataset.from_tensors((image[None], mask[None]))
    batches = list(T.overlap_tile_batches(ds, size_in, size_out, 3))
    assert [len(b) for b in batches] == [2, 2] and batches[0][0].shape[0] == 3
    with pytest.raises(ValueError, match="no whole"):
        T.image_tiles(image[:20, :20], mask[:20, :20], size_in, size_out)


def test_an_ignore_value_needs_a_per_pixel_loss():
    from types import SimpleNamespace

    from unet_tutorial.engine.targets import model_classes

    info = SimpleNamespace(ignore_value=255, num_classes=2, class_names=("a", "b"))
    for loss in ("ce_dice", "dice"):
        with pytest.raises(ValueError, match=r"ignore value 255.*loss='ce'"):
            model_classes(ut.TrainConfig(loss=loss), info)
    assert model_classes(ut.TrainConfig(loss="ce"), info) == 2
