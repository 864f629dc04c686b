"""Segmentation metrics (unet_tutorial.metrics)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import logits_for

import unet_tutorial as ut


def test_metrics_against_hand_computed_masks():
    # 1 x 2 x 4: four pet, four background
    true = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]]])
    pred = np.array([[[0, 1, 1, 1], [0, 0, 1, 0]]])
    # pet: TP 3, FP 1 (last pixel), FN 1 -> IoU 3/5; background: TP 3, FP 1, FN 1 -> 3/5
    # border: absent from both masks -> undefined, left out of the mean
    scores = {m.name: m for m in ut.segmentation_metrics()}
    for m in scores.values():
        m.update_state(true, logits_for(pred))
    r = {k: float(m.result()) for k, m in scores.items()}
    assert r["pixel_accuracy"] == pytest.approx(6 / 8)
    assert r["iou_pet"] == pytest.approx(3 / 5)
    assert r["iou_background"] == pytest.approx(3 / 5)
    assert r["iou_border"] == 0.0  # per-class convention for an absent class
    # mean over the two present classes, not /3
    assert r["mean_iou"] == pytest.approx(3 / 5)
    # 0.75 for both present classes
    assert r["dice"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))


def test_a_class_predicted_but_absent_from_the_truth_counts_as_zero():
    true = np.zeros((1, 2, 2), int)
    pred = np.array([[[0, 0], [0, 2]]])
    m = keras.metrics.MeanIoU(3, sparse_y_pred=False)
    m.update_state(true, logits_for(pred))
    # pet IoU 3/4, border IoU 0/1 = 0 (it was predicted), background left out
    assert float(m.result()) == pytest.approx((3 / 4 + 0) / 2)


# ------------------------------------------------------- the EM scores (ISBI 2012)


def test_pixel_error_and_class_iou_by_hand():
    true = np.array([[0, 1, 1], [0, 0, 1]])
    pred = np.array([[0, 1, 0], [1, 0, 1]])
    assert ut.pixel_error(pred, true) == pytest.approx(2 / 6)
    # membrane (0): TP 2, FP 1, FN 1 -> 2 / 4
    assert ut.class_iou(pred, true, 0) == pytest.approx(0.5)
    assert np.isnan(ut.class_iou(pred, true, 2))
    with pytest.raises(ValueError, match="different shapes"):
        ut.pixel_error(pred, true[:1])


def test_cell_instances_are_the_connected_cell_regions():
    mask = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 0]])
    labels = ut.cell_instances(mask)
    assert labels.max() == 3  # left, right, and the bottom cell (diagonals part)
    assert (labels[mask == 0] == 0).all()
    assert labels[0, 0] == labels[1, 0] != labels[0, 2]


def test_rand_error_by_hand():
    true = np.array([[1, 1, 0, 1, 1]])  # two cells parted by one membrane pixel
    assert ut.rand_error(true, true) == 0.0
    # the membrane missed: both cells merge. Over the 4 true cell pixels, pairs in
    # one true cell also share the predicted one (precision 1), but of the
    # 12 ordered pairs in the predicted cell only 4 share a true cell (recall
    # 1/3): 1 - F = 1 - 2 (1/3) / (4/3) = 0.5
    merged = np.ones_like(true)
    assert ut.rand_error(merged, true) == pytest.approx(0.5)
    # the pixel error of that merge is tiny: one pixel in five
    assert ut.pixel_error(merged, true) == pytest.approx(0.2)


def test_pixel_accuracy_counts_every_pixel_once_over_images_of_any_size():
    """Whole images of different sizes (and padded ones) count by their pixels:
    Keras' own accuracy averaged each image first.
    """
    small = np.zeros((1, 2, 2), np.int32)  # 4 pixels, all right
    large = np.zeros((1, 4, 4), np.int32)  # 16 pixels, 4 right
    wrong = np.ones((1, 4, 4), np.int32)
    wrong[0, 0] = 0
    metric = ut.segmentation_metrics(2)[0]
    assert metric.name == "pixel_accuracy"
    metric.update_state(small, logits_for(small, 2))
    metric.update_state(large, logits_for(wrong, 2))
    assert float(metric.result()) == pytest.approx(8 / 20)
    # the same large image padded by a row and a column of weight 0
    padded, pad_wrong = np.zeros((1, 5, 5), np.int32), np.ones((1, 5, 5), np.int32)
    pad_wrong[0, :4, :4] = wrong[0]
    weights = np.zeros((1, 5, 5), np.float32)
    weights[0, :4, :4] = 1
    metric.reset_state()
    metric.update_state(small, logits_for(small, 2), np.ones((1, 2, 2)))
    metric.update_state(padded, logits_for(pad_wrong, 2), weights)
    assert float(metric.result()) == pytest.approx(8 / 20)
    metric.reset_state()
    metric.update_state(
        np.concatenate([large, large]),
        logits_for(np.concatenate([wrong, large]), 2),
        np.array([1.0, 0.0]),
    )  # per image
    assert float(metric.result()) == pytest.approx(4 / 16)
