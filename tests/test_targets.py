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


def test_whole_validation_images_are_padded_to_the_depth_with_zero_weights():
    rng = np.random.default_rng(0)
    x = rng.random((2, 21, 30, 1)).astype(np.float32)
    y = rng.integers(0, 2, (2, 21, 30)).astype(np.int32)
    ignore = np.ones((2, 21, 30), np.float32)
    ignore[:, 0] = 0  # an ignore value in the first row
    for batch in ((x, y), (x, y, ignore)):
        ds = T.pad_whole_images(tf.data.Dataset.from_tensors(batch), depth=3)
        px, py, pw = (np.asarray(t) for t in next(iter(ds)))
        assert px.shape == (2, 24, 32, 1) and py.shape == pw.shape == (2, 24, 32)
        np.testing.assert_array_equal(px[:, :21, :30], x)
        np.testing.assert_array_equal(py[:, :21, :30], y)
        np.testing.assert_array_equal(px[0], ut.mirror_pad(x[0], (0, 3, 0, 2)))
        np.testing.assert_array_equal(py[1], ut.mirror_pad(y[1], (0, 3, 0, 2)))
        assert (pw[:, 21:] == 0).all() and (pw[:, :, 30:] == 0).all()
        np.testing.assert_array_equal(
            pw[:, :21, :30], batch[2] if len(batch) > 2 else 1
        )
    fits = T.pad_whole_images(
        tf.data.Dataset.from_tensors((x[:, :16, :24], y[:, :16, :24])), 3
    )
    px, _, pw = next(iter(fits))
    assert px.shape == (2, 16, 24, 1) and (np.asarray(pw) == 1).all()


def test_snapshot_examples_of_different_sizes_are_cut_to_one_size():
    sizes = [(21, 30), (25, 18), (19, 27)]
    ds = tf.data.Dataset.from_generator(
        lambda: (
            (np.full((1, h, w, 1), k, np.float32), np.full((1, h, w), k, np.int32))
            for k, (h, w) in enumerate(sizes)
        ),
        output_signature=(
            tf.TensorSpec((None, None, None, 1), tf.float32),
            tf.TensorSpec((None, None, None), tf.int32),
        ),
    )
    images, masks = T.snapshot_examples(ds, 3)
    assert images.shape == (3, 19, 18, 1) and masks.shape == (3, 19, 18)
    assert [int(m[0, 0]) for m in masks] == [0, 1, 2]
    images, masks = T.snapshot_examples(ds, 2)
    assert images.shape == (2, 21, 18, 1)


def test_snapshot_examples_keep_tiles_larger_than_their_masks():
    tiles = np.zeros((3, 92, 92, 1), np.float32)
    squares = np.zeros((3, 52, 52), np.int32)
    ds = tf.data.Dataset.from_tensor_slices((tiles, squares)).batch(2)
    images, masks = T.snapshot_examples(ds, 3)
    assert images.shape == (3, 92, 92, 1) and masks.shape == (3, 52, 52)
