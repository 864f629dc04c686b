"""Evaluation and prediction (unet_tutorial.evaluation): scores, boundary bands, reading users' images."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import scipy.ndimage
import tensorflow as tf
from conftest import logits_for
from PIL import Image

import unet_tutorial as ut


def test_boundary_band_and_accuracy():
    true = np.zeros((10, 10), int)
    true[:, 5:] = 1
    band = ut.boundary_band(true, width=1)
    assert band[:, 4:6].all() and band.sum() == 20
    assert ut.boundary_band(true, width=2).sum() == 40
    pred = true.copy()
    pred[:, 5] = 0  # the outline moved by one pixel
    assert ut.boundary_accuracy(true, pred, width=1) == pytest.approx(0.5)
    assert ut.boundary_accuracy(true, true) == 1.0
    with pytest.raises(ValueError, match="no boundaries"):
        ut.boundary_accuracy(np.zeros((4, 4)), np.zeros((4, 4)))


def test_per_image_mean_iou():
    true = np.array([[[0, 0], [1, 1]], [[2, 2], [2, 2]]])
    pred = np.array([[[0, 1], [1, 1]], [[2, 2], [2, 2]]])
    # image 0: pet 1/2, background 2/3 -> 7/12; image 1: border only, perfect
    np.testing.assert_allclose(ut.per_image_mean_iou(true, pred), [7 / 12, 1.0])


def test_evaluate_matches_hand_numbers():
    true = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]]], np.int32)
    pred = np.array([[[0, 1, 1, 1], [0, 0, 1, 0]]])
    model = keras.Sequential([keras.Input((2, 4, 3)), keras.layers.Identity()])
    ds = tf.data.Dataset.from_tensor_slices((logits_for(pred), true)).batch(1)
    ev = ut.evaluate(model, ds)
    assert ev.per_class_iou == {
        "pet": pytest.approx(0.6),
        "background": pytest.approx(0.6),
        "border": 0.0,
    }
    assert ev.pixel_accuracy == pytest.approx(0.75) and ev.num_images == 1
    assert "| IoU pet | 0.600 |" in ev.table()


def test_a_displayed_evaluation_is_a_markdown_table():
    # a notebook (and the book) renders the text/markdown of a displayed result;
    # a printed table would show as raw "| metric | value |" text
    from IPython.core.formatters import DisplayFormatter

    ev = ut.Evaluation({"pet": 0.5, "background": 0.75}, 0.625, 0.8, 0.7, 3)
    data, _ = DisplayFormatter().format(ev)
    lines = data["text/markdown"].splitlines()
    assert lines[0] == "| metric | value |" and lines[1] == "|---|---:|"
    assert "| IoU background | 0.750 |" in lines and "| images | 3 |" in lines
    assert data["text/markdown"] == str(ev)
    # the book's pages render an output's HTML first: the same rows, as a table
    page = data["text/html"]
    assert page.startswith("<table>") and page.count("<tr>") == 1 + len(ev.rows())
    assert '<td>IoU background</td><td style="text-align:right">0.750</td>' in page


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    grey = np.array([[0, 257 * 100, 65535]], np.uint16).repeat(4, axis=0)
    path = tmp_path / "deep.png"
    Image.fromarray(grey).save(path)
    assert Image.open(path).mode.startswith("I")  # really stored as 16 bit
    image = ut.load_image(path)
    assert image.dtype == np.uint8 and image.shape == (4, 3, 3)
    # mid grey stays mid grey, not white
    np.testing.assert_array_equal(image[0, :, 0], [0, 100, 255])


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # a white band on the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    image = ut.load_image(path)
    assert image.shape == (40, 20, 3)  # displayed upright: portrait
    # the band is now at the top
    assert image[:10].mean() > 200 and image[-10:].mean() < 50


def test_an_image_over_the_decompression_bomb_limit_is_refused_in_one_line(
    tmp_path, monkeypatch
):
    path = tmp_path / "huge.png"
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # as if it were 20000 x 20000
    for read in (ut.load_image, ut.check_image):
        with pytest.raises(
            ValueError, match="too large to open safely.*Downscale it first"
        ):
            read(path)


def test_check_image_reads_only_the_header(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.zeros((30, 50, 3), np.uint8)).save(path)
    data = path.read_bytes()
    # a truncated file: the header is fine, the pixels are not
    path.write_bytes(data[: len(data) // 2])
    assert ut.check_image(path) == (50, 30)
    with pytest.raises(ValueError, match="not a readable image"):
        ut.load_image(path)


def test_flip_averaging_lines_the_mirrored_prediction_up_with_the_image():
    # logits = the image itself: a model that is not mirror-symmetric at all
    inp = keras.Input((8, 8, 3))
    identity = keras.Model(inp, keras.layers.Identity()(inp))
    x = tf.random.stateless_uniform((2, 8, 8, 3), seed=(1, 2))
    got = ut.flip_averaged_logits(identity, x)
    # the mirrored view, flipped back, is the plain one: the mean changes nothing
    np.testing.assert_allclose(
        tf.nn.softmax(got).numpy(), tf.nn.softmax(x).numpy(), atol=1e-5
    )
    masks = tf.argmax(x, axis=-1)
    ds = tf.data.Dataset.from_tensor_slices((x, masks)).batch(2)
    assert ut.evaluate(identity, ds, flip=True).mean_iou == pytest.approx(1.0)


def test_flip_averaging_means_the_two_views():
    # a model that sees only the left half: its two views disagree on the right
    inp = keras.Input((4, 4, 3))
    left = keras.layers.Lambda(
        lambda t: t * tf.constant([1.0, 1.0, 0.0, 0.0])[None, None, :, None]
    )(inp)
    model = keras.Model(inp, left)
    x = tf.random.stateless_uniform((1, 4, 4, 3), seed=(3, 4))
    plain = tf.nn.softmax(model(x))
    mirrored = tf.reverse(tf.nn.softmax(model(tf.reverse(x, [2]))), [2])
    np.testing.assert_allclose(
        tf.nn.softmax(ut.flip_averaged_logits(model, x)).numpy(),
        ((plain + mirrored) / 2).numpy(),
        atol=1e-5,
    )


EM = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"


def test_evaluate_scores_an_unpadded_model_on_whole_slices_by_overlap_tile():
    model = ut.build_unet((64, 64, 1), 2, base_filters=2, depth=2, padding="valid")
    ds, info = ut.load_dataset(EM, "test", image_size=None, verbose=False)
    ev = ut.evaluate(model, ds, info.class_names)
    images, truths, preds = ut.predict_dataset(model, ds)
    assert preds.shape == truths.shape == (info.num_examples, 128, 128)
    tiled = np.argmax(ut.predict_tiles(model, images[0]), axis=-1)
    np.testing.assert_array_equal(preds[0], tiled)
    assert ev.pixel_accuracy == pytest.approx(np.mean(preds == truths), abs=1e-6)
    assert ev.num_images == info.num_examples
    em = ut.em_scores(model, ds)
    assert em.pixel_error == pytest.approx(1 - ev.pixel_accuracy, abs=1e-6)
    assert em.membrane_iou == pytest.approx(ev.per_class_iou["membrane"], abs=1e-5)


def test_em_scores_of_given_predictions():
    ds, _ = ut.load_dataset(EM, "validation", image_size=None, verbose=False)
    truths = [m for _, y in ds for m in np.asarray(y)]
    perfect = ut.em_scores(truths, ds)
    assert (perfect.pixel_error, perfect.rand_error, perfect.membrane_iou) == (
        0.0,
        0.0,
        1.0,
    )
    all_cell = ut.em_scores([np.ones_like(t) for t in truths], ds)
    assert all_cell.pixel_error == pytest.approx(np.mean(np.stack(truths) == 0))
    assert all_cell.rand_error > 0.5 and all_cell.membrane_iou == 0.0
    with pytest.raises(ValueError, match="one predicted mask per image"):
        ut.em_scores(truths[:0], ds)


def test_a_threshold_chosen_on_held_out_slices_thins_thick_membranes():
    ds, _ = ut.load_dataset(EM, "validation", image_size=None, verbose=False)
    truths = [m for _, y in ds for m in np.asarray(y)]
    # a network that draws membranes too thick: p(membrane) is 0.9 on membrane,
    # 0.6 on the cell pixels next to it, and 0.1 deep inside the cells
    probs = []
    for t in truths:
        membrane = (t == 0).astype(np.uint8)
        near = scipy.ndimage.binary_dilation(membrane, iterations=2) & ~membrane.astype(
            bool
        )
        probs.append(
            np.where(membrane, 0.9, np.where(near, 0.6, 0.1)).astype(np.float32)
        )
    argmax = ut.em_scores(probs, ds, threshold=0.5)
    assert argmax.pixel_error > 0.05
    chosen = ut.choose_threshold(probs, ds)
    assert 0.6 < chosen <= 0.9
    thinned = ut.em_scores(probs, ds, threshold=chosen)
    assert thinned.pixel_error == 0.0 and thinned.membrane_iou == 1.0
    np.testing.assert_array_equal(ut.at_threshold(probs, chosen)[0], truths[0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        ut.at_threshold(probs, 1.0)


def test_membrane_probabilities_threshold_at_one_half_is_the_argmax():
    model = ut.build_unet((64, 64, 1), 2, base_filters=2, depth=2, padding="valid")
    ds, _ = ut.load_dataset(EM, "test", image_size=None, verbose=False)
    probs = ut.membrane_probabilities(model, ds)
    _, truths, preds = ut.predict_dataset(model, ds)
    assert [p.shape for p in probs] == [t.shape for t in truths]
    assert all(0.0 <= p.min() and p.max() <= 1.0 for p in probs)
    # ties at exactly 0.5 aside, the 0.5 threshold is the two-class argmax
    agree = np.mean(np.stack(ut.at_threshold(probs, 0.5)) == preds)
    assert agree > 0.999
    assert ut.em_scores(model, ds, threshold=0.5).pixel_error == pytest.approx(
        ut.em_scores(model, ds).pixel_error, abs=1e-3
    )


def test_symmetry_averaging_lines_the_8_views_up_pixel_for_pixel():
    """Averaged over the 8 symmetries, any model's prediction turns with the image:
    true only if every view is turned (and mirrored) back the right way."""
    keras.utils.set_random_seed(0)
    # an asymmetric 3 x 3 kernel and an unpadded model: plain predictions do not
    # turn with the image, and overlap-tile sees every view
    model = ut.build_unet((64, 64, 1), 2, base_filters=2, depth=2, padding="valid")
    x = np.random.default_rng(0).random((1, 40, 56, 1)).astype("float32")  # not square
    avg = ut.symmetry_averaged_probabilities(model, x).numpy()
    assert avg.shape == (1, 40, 56, 2)
    np.testing.assert_allclose(avg.sum(-1), 1.0, atol=1e-5)
    turned = ut.symmetry_averaged_probabilities(model, np.rot90(x, 1, axes=(1, 2)))
    np.testing.assert_allclose(turned.numpy(), np.rot90(avg, 1, axes=(1, 2)), atol=1e-5)
    mirrored = ut.symmetry_averaged_probabilities(model, x[:, :, ::-1])
    np.testing.assert_allclose(mirrored.numpy(), avg[:, :, ::-1], atol=1e-5)
    plain = tf.nn.softmax(ut.whole_image_logits(model, x)).numpy()
    plain_turned = tf.nn.softmax(
        ut.whole_image_logits(model, np.rot90(x, 1, axes=(1, 2)).copy())
    ).numpy()
    assert not np.allclose(plain_turned, np.rot90(plain, 1, axes=(1, 2)), atol=1e-3)


@pytest.mark.slow
def test_membrane_probabilities_with_symmetries_are_their_mean():
    model = ut.build_unet((64, 64, 1), 2, base_filters=2, depth=2, padding="valid")
    ds, _ = ut.load_dataset(EM, "test", image_size=None, verbose=False)
    probs = ut.membrane_probabilities(model, ds, symmetries=True)
    x = next(iter(ds))[0]
    expected = ut.symmetry_averaged_probabilities(model, x).numpy()[0, ..., 0]
    np.testing.assert_allclose(probs[0], expected, atol=1e-6)
    assert not np.allclose(probs[0], ut.membrane_probabilities(model, ds)[0], atol=1e-3)


def one_channel_model(head: str = "sigmoid", *, valid: bool = False) -> keras.Model:
    """A one-class model whose output is surely class 1 where the red channel is
    bright and surely class 0 where it is dark: logit ``20 * red - 10`` (a
    probability of 0.99995 or 0.00005), through a sigmoid unless ``head`` is
    ``"logits"``. ``valid``: an unpadded 5x5 head (16 px in, 12 px out), so that
    whole images are predicted by overlap-tile.
    """
    size, kernel = (16, 5) if valid else (32, 1)
    inp = keras.Input((size, size, 3))
    conv = keras.layers.Conv2D(1, kernel, padding="valid", name="head_conv")
    out = conv(inp)
    weights = np.zeros((kernel, kernel, 3, 1), np.float32)
    weights[kernel // 2, kernel // 2, 0, 0] = 20.0
    conv.set_weights([weights, np.array([-10.0], np.float32)])
    if head == "sigmoid":
        out = keras.layers.Activation("sigmoid", name="head_sigmoid")(out)
    return keras.Model(inp, out)


def half_red(height: int = 40, width: int = 48) -> np.ndarray:
    """An image whose left half is red (class 1 for ``one_channel_model``)."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2, 0] = 255
    return image


@pytest.mark.parametrize(
    "head, valid", [("sigmoid", False), ("logits", False), ("sigmoid", True)]
)
def test_a_one_class_model_predicts_both_classes_at_one_half(head, valid):
    """One channel is the probability of class 1 (or its logit): thresholded at
    0.5, never an argmax over one channel (always class 0)."""
    model = one_channel_model(head, valid=valid)
    assert ut.outputs_probabilities(model) == (head == "sigmoid")
    mask = ut.predict_mask(model, half_red())
    assert mask.shape == (40, 48)
    assert (mask[:, :20] == 1).all() and (mask[:, 28:] == 0).all()
    # the rule itself, for probabilities and for logits
    np.testing.assert_array_equal(
        ut.predicted_classes(model, np.array([[0.99995], [0.3]] if head == "sigmoid"
                                             else [[2.0], [-0.5]])),  # fmt: skip
        [1, 0],
    )


def test_evaluate_and_predict_dataset_score_a_one_class_model_as_two_classes():
    model = one_channel_model()
    image = half_red(32, 32).astype(np.float32) / 255
    truth = (image[..., 0] > 0.5).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((image[None], truth[None])).batch(1)
    ev = ut.evaluate(model, ds)  # no class names: the model's two classes
    assert list(ev.per_class_iou) == ["class_0", "class_1"]
    assert ev.mean_iou == pytest.approx(1.0) and ev.pixel_accuracy == 1.0
    assert ut.evaluate(model, ds, flip=True).mean_iou == pytest.approx(1.0)
    _, _, preds = ut.predict_dataset(model, ds)
    np.testing.assert_array_equal(preds[0], truth)


def test_evaluate_takes_the_class_count_from_the_model_and_names_a_bad_mask():
    model = ut.build_unet((32, 32, 1), 2, base_filters=2, depth=1)
    masks = np.zeros((2, 32, 32), np.int32)
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((2, 32, 32, 1)), masks))
    ev = ut.evaluate(model, ds.batch(2))  # was: "but the data has 3 (pet, ...)"
    assert list(ev.per_class_iou) == ["class_0", "class_1"]
    with pytest.raises(ValueError, match=r"predicts 2 classes but class_names has 3"):
        ut.evaluate(model, ds.batch(2), ("pet", "background", "border"))
    masks[1, 0, 0] = 2  # a mask value the model has no class for
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((2, 32, 32, 1)), masks))
    with pytest.raises(ValueError, match=r"masks hold class 2, but the model predicts 2"):
        ut.evaluate(model, ds.batch(2))


def test_whole_images_of_another_size_than_a_fixed_model_are_named():
    model = ut.build_unet((32, 32, 3), 3, base_filters=2, depth=1)
    images = np.zeros((1, 188, 256, 3), np.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, np.zeros((1, 188, 256)))).batch(1)
    with pytest.raises(ValueError, match=r"takes 32x32 px images .* these are 256x188"):
        ut.evaluate(model, ds)


@pytest.mark.parametrize(
    "image, what",
    [
        (np.zeros((8, 8, 3), bool), "array of bool"),
        (np.zeros((8, 8, 3), complex), "array of complex128"),
        (np.zeros((0, 8, 3), np.uint8), "the image is empty"),
        (np.zeros((8, 8, 3), object), "array of object"),
    ],
)
def test_predict_mask_refuses_arrays_that_are_not_pixels(image, what):
    model = ut.build_unet((32, 32, 3), 3, base_filters=2, depth=1)
    with pytest.raises(ValueError, match=what):
        ut.predict_mask(model, image)


# ------------------------------------------------ trivial baselines: one class everywhere


def _masks_of_known_counts():
    """Two 2 x 5 masks: 4 pixels of class 0, 10 of class 1, 6 of class 2."""
    masks = np.array(
        [[[0, 0, 1, 1, 1], [0, 1, 1, 1, 2]], [[0, 1, 1, 1, 2], [1, 2, 2, 2, 2]]],
        np.int32,
    )
    assert np.bincount(masks.ravel()).tolist() == [4, 10, 6]
    images = np.zeros((2, 2, 5, 3), np.float32)
    return tf.data.Dataset.from_tensor_slices((images, masks)).batch(2)


def test_constant_prediction_scores_are_the_hand_numbers():
    ds = _masks_of_known_counts()
    assert ut.majority_class(ds) == 1
    major = ut.constant_prediction_scores(ds)  # "majority": class 1, background
    assert major.pixel_accuracy == pytest.approx(10 / 20)  # the majority's share
    assert major.per_class_iou == {"pet": 0.0, "background": 0.5, "border": 0.0}
    assert major.mean_iou == pytest.approx(0.5 / 3)
    assert major.dice == pytest.approx(2 * 10 / (10 + 20) / 3)
    assert major.num_images == 2
    pet = ut.constant_prediction_scores(ds, 0)
    assert pet.pixel_accuracy == pytest.approx(4 / 20)
    assert pet.per_class_iou["pet"] == pytest.approx(0.2)
    assert pet.mean_iou == pytest.approx(0.2 / 3)
    # no constant beats the majority on pixel accuracy
    for c in range(3):
        assert ut.constant_prediction_scores(ds, c).pixel_accuracy <= 0.5
    named = ut.constant_prediction_scores(ds, 2, ("a", "b", "c", "d"))
    assert named.per_class_iou == {"a": 0.0, "b": 0.0, "c": 0.3, "d": 0.0}
    assert named.mean_iou == pytest.approx(0.3 / 3)  # d: in neither, left out


def test_constant_prediction_of_an_absent_class_counts_it_in_the_mean():
    masks = np.array([[[0, 0, 0, 1]]], np.int32)
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((1, 1, 4, 3)), masks)).batch(1)
    absent = ut.constant_prediction_scores(ds, 2, ("pet", "background", "border"))
    assert absent.pixel_accuracy == 0.0 and absent.mean_iou == 0.0
    assert ut.constant_prediction_scores(ds, 0, ("p", "b", "x")).mean_iou == (
        pytest.approx(0.75 / 2)
    )
    # class names by default: as many as the masks hold, at least two
    assert list(ut.constant_prediction_scores(ds).per_class_iou) == [
        "class_0",
        "class_1",
    ]


def test_constant_prediction_leaves_out_pixels_of_weight_zero():
    masks = np.array([[[0, 0, 1, 1]], [[1, 1, 1, 1]]], np.int32)
    pixel_w = np.array([[[1, 1, 0, 0]], [[0, 0, 2, 0]]], np.float32)
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((2, 1, 4, 3)), masks, pixel_w))
    # scored: 0, 0 (image 0) and 1 (image 1): class 0 is the majority
    assert ut.majority_class(ds.batch(2)) == 0
    assert ut.constant_prediction_scores(ds.batch(2)).pixel_accuracy == (
        pytest.approx(2 / 3)
    )
    image_w = np.array([0.0, 1.0], np.float32)  # one weight per image
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((2, 1, 4, 3)), masks, image_w))
    assert ut.majority_class(ds.batch(2)) == 1
    assert ut.constant_prediction_scores(ds.batch(2), 0).pixel_accuracy == 0.0


def _constant_model(size, class_index: int, num_classes: int = 3) -> keras.Model:
    """A 1 x 1 convolution with zero weights and a huge bias for one class."""
    bias = np.zeros(num_classes, np.float32)
    bias[class_index] = 100.0
    layer = keras.layers.Conv2D(
        num_classes, 1, kernel_initializer="zeros", bias_initializer="zeros"
    )
    model = keras.Sequential([keras.Input((*size, 3)), layer])
    layer.bias.assign(bias)
    return model


@pytest.mark.parametrize("class_index", [0, 1, 2])
def test_constant_prediction_scores_agree_with_evaluate_on_a_constant_model(
    class_index,
):
    rng = np.random.default_rng(class_index)
    masks = rng.choice(3, size=(5, 8, 8), p=[0.2, 0.7, 0.1]).astype(np.int32)
    weights = (rng.random((5, 8, 8)) > 0.3).astype(np.float32)  # some ignored
    images = rng.random((5, 8, 8, 3)).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, masks, weights)).batch(2)
    model = _constant_model((8, 8), class_index)
    by_model = ut.evaluate(model, ds)
    closed = ut.constant_prediction_scores(ds, class_index)
    assert closed.num_images == by_model.num_images == 5
    for field in ("pixel_accuracy", "mean_iou", "dice"):
        assert getattr(closed, field) == pytest.approx(
            getattr(by_model, field), abs=1e-6
        ), field
    assert closed.per_class_iou == pytest.approx(by_model.per_class_iou, abs=1e-6)


def test_constant_cell_prediction_gives_the_em_pixel_error():
    ds, info = ut.load_dataset(EM, "test", image_size=None, verbose=False)
    cell = info.class_names.index("cell")
    assert ut.majority_class(ds) == cell  # membranes are about a fifth of the pixels
    baseline = ut.constant_prediction_scores(ds, "majority", info.class_names)
    truths = [m for _, y in ds for m in np.asarray(y)]
    all_cell = ut.em_scores([np.full_like(t, cell) for t in truths], ds)
    assert 1 - baseline.pixel_accuracy == pytest.approx(all_cell.pixel_error)
    assert baseline.per_class_iou["membrane"] == all_cell.membrane_iou == 0.0


@pytest.mark.parametrize("bad", [3, -1, "minority", True, 1.0, None])
def test_constant_prediction_refuses_a_class_out_of_range(bad):
    with pytest.raises(ValueError, match=r"class_index=.*give a class from 0 to 2"):
        ut.constant_prediction_scores(_masks_of_known_counts(), bad)


def test_constant_prediction_refuses_empty_data_and_unnamed_classes():
    ds = _masks_of_known_counts()
    with pytest.raises(ValueError, match="masks hold class 2, but 2 class names"):
        ut.constant_prediction_scores(ds, 0, ("a", "b"))
    with pytest.raises(ValueError, match="the dataset is empty"):
        ut.constant_prediction_scores(ds.take(0))
    with pytest.raises(ValueError, match="the dataset is empty"):
        ut.majority_class(ds.take(0))
    nothing = ds.unbatch().map(lambda x, y: (x, y, tf.zeros_like(y, tf.float32)))
    with pytest.raises(ValueError, match="weight 0; nothing to score"):
        ut.constant_prediction_scores(nothing.batch(2))
