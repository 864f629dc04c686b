"""Overlap-tile prediction: the tile layout, the mirrored border, and predict_mask on unpadded models."""

from __future__ import annotations

import numpy as np
import pytest

import unet_tutorial as ut


def test_the_output_squares_tile_the_image_and_every_input_window_fits_the_padded_image():
    tiles, (top, bottom, left, right) = ut.tile_layout(
        150, 97, input_size=60, output_size=20
    )
    assert (len(tiles), tiles[-1].row, tiles[-1].col) == (8 * 5, 7, 4)
    assert (top, bottom, left, right) == (20, 20 + 8 * 20 - 150, 20, 20 + 5 * 20 - 97)
    covered = np.zeros((8 * 20, 5 * 20), int)
    for t in tiles:
        y0, x0, y1, x1 = t.output_box
        covered[y0:y1, x0:x1] += 1
        iy0, ix0, iy1, ix1 = t.input_box
        assert (iy1 - iy0, ix1 - ix0) == (60, 60)
        assert (
            0 <= iy0
            and iy1 <= 150 + top + bottom
            and 0 <= ix0
            and ix1 <= 97 + left + right
        )
        # the output square sits in the middle of its window
        assert (iy0 + 20, ix0 + 20) == (
            y0 + top,
            x0 + left,
        )
    assert (covered == 1).all()  # every pixel predicted exactly once


def test_mirror_padding_reflects_without_repeating_the_border_pixel():
    row = np.array([[1, 2, 3]])
    np.testing.assert_array_equal(
        ut.mirror_pad(row, (0, 0, 2, 2)), [[3, 2, 1, 2, 3, 2, 1]]
    )
    # a pad longer than the image reflects back and forth
    np.testing.assert_array_equal(
        ut.mirror_pad(row, (0, 0, 0, 5)), [[1, 2, 3, 2, 1, 2, 3, 2]]
    )
    assert ut.mirror_pad(np.zeros((4, 5, 3)), (1, 2, 3, 4)).shape == (7, 12, 3)


def test_tiles_put_every_pixel_back_where_it_came_from():
    """A stand-in 'model' that only crops its margin returns its input's centre: tiling must rebuild the image."""
    import keras

    inp = keras.Input((44, 44, 3))
    # 44 px in, 20 px out, like an unpadded U-Net
    crop = keras.Model(inp, keras.layers.Cropping2D(12)(inp))
    image = np.random.default_rng(0).random((53, 71, 3)).astype(np.float32)
    np.testing.assert_array_equal(ut.predict_tiles(crop, image), image)
    assert ut.predict_mask(crop, image).tolist() == np.argmax(image, axis=-1).tolist()


def test_predict_mask_gives_an_unpadded_unet_a_mask_of_the_image_size():
    model = ut.build_unet((92, 92, 3), 3, base_filters=2, depth=2, padding="valid")
    assert model.output_shape[1:3] == (52, 52)
    image = np.random.default_rng(1).integers(0, 256, (61, 130, 3), dtype=np.uint8)
    mask = ut.predict_mask(model, image)
    assert (
        mask.shape == (61, 130)
        and mask.dtype == np.int32
        and set(np.unique(mask)) <= {0, 1, 2}
    )
    np.testing.assert_array_equal(
        mask, ut.predict_mask(model, image.astype(np.float32) / 255)
    )
    grey = ut.build_unet((92, 92, 1), 2, base_filters=2, depth=2, padding="valid")
    assert ut.predict_mask(grey, image[..., 0]).shape == (61, 130)


@pytest.mark.parametrize(("sizes", "says"), [((64, 64), "smaller than its input"), ((65, 20), "even number"),
                                             ((0, 20), "positive integer")])  # fmt: skip
def test_layouts_that_cannot_tile_are_refused(sizes, says):
    with pytest.raises(ValueError, match=says):
        ut.tile_layout(100, 100, *sizes)


def test_the_tile_figure_names_its_parts():
    fig = ut.draw_overlap_tiles(
        np.zeros((50, 70, 3), np.uint8), 44, 20, highlight=(0, 1), caption="c"
    )
    labels = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {
        "the image (outside it: mirrored)",
        "tile (0, 0): 44 px input",
        "tile (0, 1): its output",
    } <= labels
    assert "12 pixels" in fig.alt and "12 output squares of 20 pixels" in fig.alt


def test_a_same_padding_model_of_any_size_predicts_whole_images_of_odd_sizes():
    """500x375 and the like: a model trained on crops at native size used to fail
    at a Concatenate inside Keras (decoder and skip maps one pixel apart). The image
    is mirrored up to multiples of 2**depth, and the output cut back to it.
    """
    import tensorflow as tf

    from unet_tutorial.tiling import pad_for_model, same_padding_pads

    assert same_padding_pads(375, 500, 4) == (0, 9, 0, 12)
    assert same_padding_pads(64, 48, 4) == (0, 0, 0, 0)
    model = ut.build_unet((None, None, 1), 2, base_filters=4, depth=3)
    image = np.random.default_rng(0).random((37, 50, 1)).astype(np.float32)
    padded, size = pad_for_model(model, image[None])
    assert padded.shape == (1, 40, 56, 1) and size == (37, 50)
    np.testing.assert_array_equal(padded[0], ut.mirror_pad(image, (0, 3, 0, 6)))
    logits = np.asarray(ut.whole_image_logits(model, image[None]))
    assert logits.shape == (1, 37, 50, 2)
    expected = np.asarray(model(padded, training=False))[:, :37, :50]
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    flipped = ut.whole_image_logits(model, image[None], flip=True)
    assert flipped.shape == (1, 37, 50, 2)
    # predict_mask keeps the image's own resolution (it used to resize to 128 px)
    mask = ut.predict_mask(model, image)
    np.testing.assert_array_equal(mask, np.argmax(logits[0], axis=-1))
    ds = tf.data.Dataset.from_tensors((image[None], mask[None]))
    assert ut.evaluate(model, ds, ("a", "b")).pixel_accuracy == 1.0
    images, truths, preds = ut.predict_dataset(model, ds)
    assert preds.shape == truths.shape == (1, 37, 50)
    fixed = ut.build_unet((32, 32, 1), 2, base_filters=4, depth=3)
    assert pad_for_model(fixed, image[None])[0].shape == (1, 37, 50, 1)  # unchanged
