"""Segmentation metrics for integer masks and logits, built on Keras' own.

Convention for a class that is absent from both the true and the predicted
mask of everything seen so far: its IoU (and Dice) is undefined (0 / 0), so it
is **left out of the mean** rather than counted as 0 or 1. This is what
``keras.metrics.MeanIoU`` does; ``per-class`` metrics report 0 for it.
"""

from __future__ import annotations

import keras
from keras import ops

from .labels import CLASS_NAMES


@keras.saving.register_keras_serializable(package="unet_tutorial")
class MeanDice(keras.metrics.MeanIoU):
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
    num_classes: int = 3, class_names: tuple[str, ...] = CLASS_NAMES
) -> list:
    """The metrics the book reports, for ``model.compile(metrics=...)``.

    * ``pixel_accuracy``: fraction of pixels whose ``argmax`` is right;
    * ``mean_iou``: IoU averaged over classes (``keras.metrics.MeanIoU``);
    * ``iou_<class>``: IoU of each class (``keras.metrics.IoU``);
    * ``dice``: mean Dice over classes.

    All take logits ``(batch, H, W, C)`` and integer masks ``(batch, H, W)``.
    """
    if len(class_names) != num_classes:
        raise ValueError(
            f"{len(class_names)} class names for num_classes={num_classes}."
        )
    metrics = [
        keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"),
        keras.metrics.MeanIoU(num_classes, name="mean_iou", sparse_y_pred=False),
    ]
    metrics += [
        keras.metrics.IoU(
            num_classes, target_class_ids=[c], name=f"iou_{n}", sparse_y_pred=False
        )
        for c, n in enumerate(class_names)
    ]
    metrics.append(MeanDice(num_classes, name="dice"))
    return metrics
