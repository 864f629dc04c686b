"""Losses for integer masks and logits, and the paper's weight map.

All losses take ``y_true`` as an integer mask ``(batch, H, W)`` (or
``(batch, H, W, 1)``) and ``y_pred`` as logits ``(batch, H, W, C)``, the
output of ``build_unet``. Per-pixel sample weights ``(batch, H, W)`` work with
the cross-entropy and with the combined loss.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from scipy import ndimage

from .data import class_weights_from_frequencies
from .settings import LOSSES


def _sparse(y_true):
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == 4:
        y_true = ops.squeeze(y_true, axis=-1)
    return ops.cast(y_true, "int32")


def cross_entropy_loss() -> keras.losses.Loss:
    """Per-pixel cross-entropy on logits:
    ``SparseCategoricalCrossentropy(from_logits=True)``.

    ``from_logits=True`` lets Keras fuse the softmax into the loss
    (log-sum-exp), which is stable where a separate softmax would round
    small probabilities to 0 and give ``log(0)``.
    """
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, name="cross_entropy"
    )


def _soft_dice_per_image(y_true, y_pred, num_classes: int):
    """``1 - mean_c Dice_c`` per image, on softmax probabilities; shape ``(batch,)``.

    Pixels labelled -1 (``DiceLoss`` marks pixels of weight 0 so) count in
    neither the prediction's nor the mask's share.
    """
    labels = _sparse(y_true)
    counted = ops.cast(ops.greater_equal(labels, 0), "float32")[..., None]
    probs = ops.softmax(ops.cast(y_pred, "float32"), axis=-1) * counted
    onehot = ops.one_hot(ops.maximum(labels, 0), num_classes) * counted
    per_class = keras.losses.dice(onehot, probs, axis=(1, 2))  # (batch, C): 1 - Dice_c
    return ops.mean(per_class, axis=-1)


@keras.saving.register_keras_serializable(package="unet_tutorial")
class DiceLoss(keras.losses.Loss):
    """Soft Dice loss for integer masks and logits: ``1 - mean over classes of Dice``.

    Built on ``keras.losses.dice``: the logits go through a softmax, the mask
    is one-hot encoded, and Dice is computed per image and class over the
    pixels, ``Dice_c = 2 |P_c ∩ T_c| / (|P_c| + |T_c|)`` with soft counts.
    Averaging over classes makes the thin border class count as much as the
    large background, which plain cross-entropy does not.

    Per-pixel sample weights ``(batch, H, W)`` (an ignore value, or the
    padding of a whole validation image) say which pixels count: Dice is
    computed over the pixels of weight above 0 alone. Their size does not
    matter, since Dice is no sum of per-pixel losses to weight.

    Args:
        num_classes: channels of the logits.
    """

    def __init__(self, num_classes: int = 3, name: str = "dice_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None and len(ops.shape(sample_weight)) == 3:
            # pixels of weight 0 are marked -1: Dice leaves them out
            counted = ops.greater(ops.convert_to_tensor(sample_weight), 0)
            y_true, sample_weight = ops.where(counted, _sparse(y_true), -1), None
        return super().__call__(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred):
        return _soft_dice_per_image(y_true, y_pred, self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="unet_tutorial")
class CEDiceLoss(keras.losses.Loss):
    """Cross-entropy plus ``dice_weight`` times Dice loss, per pixel.

    Cross-entropy gives well-behaved gradients from the first step; Dice
    pushes the overlap of small classes. The Dice term of each image is added
    to every pixel of that image, so per-pixel sample weights ``(batch, H, W)``
    weight both terms.

    Args:
        num_classes: channels of the logits.
        dice_weight: weight of the Dice term (1.0 by default).
    """

    def __init__(
        self,
        num_classes: int = 3,
        dice_weight: float = 1.0,
        name: str = "ce_dice_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.dice_weight = dice_weight

    def call(self, y_true, y_pred):
        ce = keras.losses.sparse_categorical_crossentropy(
            _sparse(y_true), y_pred, from_logits=True
        )
        dice = _soft_dice_per_image(y_true, y_pred, self.num_classes)
        return ce + self.dice_weight * dice[:, None, None]

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "dice_weight": self.dice_weight,
        }


def get_loss(name: str, num_classes: int = 3) -> keras.losses.Loss:
    """A loss by name: ``"ce"``, ``"dice"`` or ``"ce_dice"``."""
    if name == "ce":
        return cross_entropy_loss()
    if name == "dice":
        return DiceLoss(num_classes)
    if name == "ce_dice":
        return CEDiceLoss(num_classes)
    raise ValueError(
        f"loss={name!r} is not known; use one of {', '.join(map(repr, LOSSES))}."
    )


def unet_weight_map(
    mask: np.ndarray,
    *,
    object_class: int = 0,
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weights: np.ndarray | None = None,
) -> np.ndarray:
    """The U-Net paper's pixel weight map (Ronneberger et al. 2015, eq. 2).

    ``w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))**2 / (2 sigma**2))``: ``w_c``
    balances the class frequencies, ``d1`` and ``d2`` are the distances to the
    nearest and second-nearest object (connected region of ``object_class``).
    Outside the objects, the second term peaks in the gaps between touching ones.

    Args:
        mask: integer labels ``(H, W)``.
        object_class: the label of the objects (0 = pet for the trimaps).
        w0: height of the border term (10 in the paper).
        sigma: its width in pixels (about 5 in the paper).
        class_weights: ``w_c`` per class; by default median / frequency in ``mask``.

    Returns:
        ``float32 (H, W)`` weights, usable as Keras sample weights.
    """
    labels = _weight_map_labels(mask, sigma)
    if class_weights is None:  # median-frequency balancing of this mask
        class_weights = class_weights_from_frequencies(
            np.bincount(labels.ravel()) / labels.size
        )
    w = np.asarray(class_weights, dtype=np.float64)[labels]
    objects, n = ndimage.label(labels == object_class)
    if n >= 2:  # beyond 6 sigma the term is below w0 * 1e-7: no need to look further
        d1, d2 = two_nearest_distances(objects, reach=6 * sigma)
        border = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2))
        w += np.where(objects == 0, border, 0.0)
    return w.astype(np.float32)


def two_nearest_distances(
    objects: np.ndarray, reach: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's distance to the nearest and to the second-nearest object.

    Each object's Euclidean distance map is computed in a window around it
    (its bounding box grown by ``reach``), and every pixel keeps the two
    smallest distances it has seen. Distances up to ``reach`` are exact;
    pixels farther from an object than ``reach`` may get ``inf`` for it.

    Args:
        objects: ``(H, W)`` labels, 0 for no object and ``1 … n`` for the
            objects (as ``scipy.ndimage.label`` numbers them).
        reach: the largest distance that matters, in pixels.

    Returns:
        ``(d1, d2)``: ``float64 (H, W)`` each, with ``d1 <= d2``.
    """
    objects = np.asarray(objects)
    h, w = objects.shape
    d1, d2 = np.full((h, w), np.inf), np.full((h, w), np.inf)
    grow = int(np.ceil(min(reach, h + w)))
    for k, box in enumerate(ndimage.find_objects(objects), start=1):
        if box is None:  # a label number that is not used
            continue
        rows = slice(max(box[0].start - grow, 0), box[0].stop + grow)
        cols = slice(max(box[1].start - grow, 0), box[1].stop + grow)
        d = ndimage.distance_transform_edt(objects[rows, cols] != k)
        near1, near2 = d1[rows, cols], d2[rows, cols]  # views: written in place
        near2[...] = np.minimum(near2, np.maximum(near1, d))
        near1[...] = np.minimum(near1, d)
    return d1, d2


def _weight_map_labels(mask, sigma: float) -> np.ndarray:
    """``unet_weight_map``'s checks; the mask as ``int64`` labels."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W); got shape {mask.shape}.")
    if sigma <= 0:
        raise ValueError(f"sigma={sigma!r} must be positive.")
    return mask.astype(np.int64)


def add_unet_weight_maps(dataset, **kwargs):
    """Append the paper's weight map to every ``(image, mask)`` batch as sample weights.

    Args:
        dataset: batches ``(float32 (B, S, S, 3), int32 (B, S, S))``.
        **kwargs: passed to ``unet_weight_map`` (``w0``, ``sigma``, ...).

    Returns:
        Batches ``(image, mask, float32 (B, S, S))`` for ``model.fit``.
    """
    import tensorflow as tf

    def maps(masks):
        return np.stack([unet_weight_map(m, **kwargs) for m in masks]).astype(
            np.float32
        )

    def add(x, y):
        w = tf.numpy_function(maps, [y], tf.float32)
        w.set_shape(y.shape)
        return x, y, w

    return dataset.map(add, num_parallel_calls=tf.data.AUTOTUNE)
