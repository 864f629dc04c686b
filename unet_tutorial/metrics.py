"""Segmentation metrics for integer masks and logits, built on Keras' own.

Convention for a class that is absent from both the true and the predicted
mask of everything seen so far: its IoU (and Dice) is undefined (0 / 0), so it
is **left out of the mean** rather than counted as 0 or 1. This is what
``keras.metrics.MeanIoU`` does; ``per-class`` metrics report 0 for it.

The scores of the paper's EM experiment (ISBI 2012), on NumPy masks:
``pixel_error``, ``rand_error`` (the adapted Rand error on cell instances,
``cell_instances``) and ``class_iou`` (the membrane IoU).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from scipy import ndimage

from .labels import CLASS_NAMES


class _EveryLabelledPixelOnce:
    """Count a pixel of weight 0 (an ignore value) nowhere, and every other pixel
    once, whatever its weight: a weight map weights the loss, not the scores.

    Mixed into Keras metrics that ``compile(weighted_metrics=...)`` hands the
    batches' pixel weights.
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            sample_weight = ops.cast(ops.greater(sample_weight, 0), self.dtype)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)


@keras.saving.register_keras_serializable(package="unet_tutorial")
class PixelAccuracy(_EveryLabelledPixelOnce, keras.metrics.SparseCategoricalAccuracy):
    """Share of labelled pixels whose ``argmax`` is the true class.

    Every pixel is one sample: Keras would average each image's accuracy
    first, so a small image (or one mostly ignored or padded) would count as
    much as a large one, and batches of whole images of different sizes
    would not give the share of all their pixels.
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        shape = ops.shape(y_pred)
        y_true = ops.reshape(y_true, shape[:-1])  # also (batch, H, W, 1)
        if sample_weight is not None:  # per pixel, or per image
            sample_weight = ops.convert_to_tensor(sample_weight)
            while len(sample_weight.shape) < len(y_true.shape):
                sample_weight = ops.expand_dims(sample_weight, -1)
            sample_weight = ops.reshape(
                ops.broadcast_to(sample_weight, shape[:-1]), (-1,)
            )
        return super().update_state(
            ops.reshape(y_true, (-1,)),
            ops.reshape(y_pred, (-1, shape[-1])),
            sample_weight=sample_weight,
        )


@keras.saving.register_keras_serializable(package="unet_tutorial")
class ClassIoU(_EveryLabelledPixelOnce, keras.metrics.IoU):
    """``keras.metrics.IoU`` over labelled pixels (``target_class_ids``: one class)."""


@keras.saving.register_keras_serializable(package="unet_tutorial")
class MeanClassIoU(_EveryLabelledPixelOnce, keras.metrics.MeanIoU):
    """``keras.metrics.MeanIoU`` over labelled pixels."""


@keras.saving.register_keras_serializable(package="unet_tutorial")
class MeanDice(_EveryLabelledPixelOnce, keras.metrics.MeanIoU):
    """Mean Dice coefficient over classes, from the same confusion matrix as
    ``MeanIoU``.

    ``Dice_c = 2 TP_c / (2 TP_c + FP_c + FN_c)``, which equals
    ``2 IoU_c / (1 + IoU_c)``. Takes logits (``sparse_y_pred=False``).
    """

    def __init__(self, num_classes: int = 3, name: str = "dice", **kwargs):
        kwargs.setdefault("sparse_y_pred", False)
        super().__init__(num_classes=num_classes, name=name, **kwargs)

    def result(self):
        cm = ops.cast(self.total_cm, "float32")
        tp = ops.diagonal(cm)
        denom = ops.sum(cm, axis=0) + ops.sum(cm, axis=1)  # 2TP + FP + FN
        valid = ops.cast(denom > 0, "float32")
        dice = ops.divide_no_nan(2.0 * tp, denom)
        return ops.divide_no_nan(ops.sum(dice * valid), ops.sum(valid))


def segmentation_metrics(
    num_classes: int = 3, class_names: tuple[str, ...] | None = None
) -> list:
    """The metrics the book reports, for ``model.compile(weighted_metrics=...)``.

    * ``pixel_accuracy``: fraction of pixels whose ``argmax`` is right;
    * ``mean_iou``: IoU averaged over classes (as ``keras.metrics.MeanIoU``);
    * ``iou_<class>``: IoU of each class (as ``keras.metrics.IoU``);
    * ``dice``: mean Dice over classes.

    All take logits ``(batch, H, W, C)`` and integer masks ``(batch, H, W)``;
    passed as ``weighted_metrics``, they leave out pixels of weight 0.
    ``class_names=None``: the pets' classes for 3, else ``class_0``, ``class_1``...
    """
    if class_names is None:
        class_names = (
            CLASS_NAMES
            if num_classes == len(CLASS_NAMES)
            else tuple(f"class_{c}" for c in range(num_classes))
        )
    if len(class_names) != num_classes:
        raise ValueError(
            f"{len(class_names)} class names for num_classes={num_classes}."
        )
    metrics = [
        PixelAccuracy(name="pixel_accuracy"),
        MeanClassIoU(num_classes, name="mean_iou", sparse_y_pred=False),
    ]
    metrics += [
        ClassIoU(
            num_classes, target_class_ids=[c], name=f"iou_{n}", sparse_y_pred=False
        )
        for c, n in enumerate(class_names)
    ]
    metrics.append(MeanDice(num_classes, name="dice"))
    return metrics


# ----------------------------------------------- the paper's EM experiment (ISBI 2012)


def pixel_error(pred, true) -> float:
    """The share of pixels whose class is wrong: ``1 - pixel accuracy``.

    The ISBI 2012 challenge's simplest score (the U-Net paper's Table 1 reports
    0.0611 on the challenge's hidden test stack).

    Args:
        pred: predicted classes, any shape, e.g. ``(N, H, W)``.
        true: true classes, the same shape.
    """
    pred, true = np.asarray(pred), np.asarray(true)
    _same_shape(pred, true)
    return float(np.mean(pred != true))


def class_iou(pred, true, cls: int) -> float:
    """IoU of one class over all pixels: ``TP / (TP + FP + FN)``; ``nan`` if the class
    is in neither mask.

    ``class_iou(pred, true, 0)`` with class 0 = membrane is the membrane IoU.
    """
    pred, true = np.asarray(pred) == cls, np.asarray(true) == cls
    _same_shape(pred, true)
    union = np.sum(pred | true)
    return float(np.sum(pred & true) / union) if union else float("nan")


def cell_instances(mask, cell_class: int = 1) -> np.ndarray:
    """Label every cell: the connected regions of ``cell_class`` in a class mask.

    Membrane pixels (every other class) get 0; the cells get ``1, 2, ...``.
    Two cells count as separate only where a path of non-cell pixels cuts
    them apart (4-connectivity: a diagonal gap of one pixel separates).

    Args:
        mask: ``(H, W)`` class indices.
        cell_class: the class of the cell interiors (1 in the EM folder).

    Returns:
        ``int32 (H, W)`` instance labels.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W); got shape {mask.shape}.")
    labels, _ = ndimage.label(mask == cell_class)
    return labels.astype(np.int32)


def rand_error(pred, true, cell_class: int = 1) -> float:
    """The adapted Rand error of one slice, on cell instances (ISBI 2012).

    Both masks become cells (``cell_instances``); scikit-image's
    ``adapted_rand_error`` then compares the two partitions: ``1 - F``, where
    ``F`` is the harmonic mean of Rand precision and recall over pairs of
    pixels (do two pixels in one true cell also share a predicted cell, and
    vice versa?). Pixels that are membrane in the truth are left out
    (label 0, scikit-image's ``ignore_labels``); predicted membrane inside a
    true cell counts as one more segment. A single missing membrane pixel
    can merge two cells, so this score punishes gaps far more than the pixel
    error does. 0 is perfect.

    Args:
        pred: ``(H, W)`` predicted classes.
        true: ``(H, W)`` true classes.
        cell_class: the class of the cell interiors.
    """
    from skimage.metrics import adapted_rand_error

    pred, true = np.asarray(pred), np.asarray(true)
    _same_shape(pred, true)
    error, _, _ = adapted_rand_error(
        cell_instances(true, cell_class), cell_instances(pred, cell_class)
    )
    return float(error)


def _same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"prediction and truth have different shapes, {a.shape} and {b.shape}; "
            "score masks of the same image."
        )
