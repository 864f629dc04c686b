"""Evaluation and prediction: the per-class table, and masks for images of any size."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .data import resize_image, resize_mask
from .labels import CLASS_NAMES
from .metrics import segmentation_metrics
from .reading import to_rgb8
from .tiling import pad_for_model, predict_tiles


class _ScoreTable:
    """Shows a ``rows()`` method's ``(metric, value)`` pairs as a table: displayed in
    Jupyter, Colab or the book (the last line of a cell, or ``display(scores)``)
    it renders as a table; ``print(scores)`` shows the Markdown source.
    """

    def rows(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def table(self) -> str:
        """A small Markdown table of the scores."""
        rows = ["| metric | value |", "|---|---:|"]
        rows += [f"| {metric} | {value} |" for metric, value in self.rows()]
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()

    def _repr_markdown_(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        import html

        cells = "".join(
            f'<tr><td>{html.escape(m)}</td><td style="text-align:right">{v}</td></tr>'
            for m, v in self.rows()
        )
        return (
            "<table><thead><tr><th>metric</th>"
            '<th style="text-align:right">value</th></tr></thead>'
            f"<tbody>{cells}</tbody></table>"
        )


@dataclass
class Evaluation(_ScoreTable):
    """Scores of a model on a dataset.

    Attributes:
        per_class_iou: ``{class name: IoU}``.
        mean_iou: IoU averaged over the classes present (see ``metrics``).
        pixel_accuracy: fraction of correctly labelled pixels.
        dice: mean Dice over classes.
        num_images: images evaluated.
    """

    per_class_iou: dict[str, float]
    mean_iou: float
    pixel_accuracy: float
    dice: float
    num_images: int

    def rows(self) -> list[tuple[str, str]]:
        """``(metric, value)`` pairs, the values formatted for a table."""
        rows = [(f"IoU {name}", f"{v:.3f}") for name, v in self.per_class_iou.items()]
        return rows + [
            ("mean IoU", f"{self.mean_iou:.3f}"),
            ("pixel accuracy", f"{self.pixel_accuracy:.3f}"),
            ("mean Dice", f"{self.dice:.3f}"),
            ("images", str(self.num_images)),
        ]


def flip_averaged_logits(model: keras.Model, images: tf.Tensor) -> tf.Tensor:
    """Test-time augmentation with a mirror: the mean of the predictions for an image
    and its left-right flip.

    The model sees each image twice, as is and mirrored; the mirrored
    prediction is flipped back, so both line up pixel for pixel, and the two
    softmax maps are averaged. A pet seen in a mirror is still a pet, so the
    two views make partly independent mistakes and the mean is steadier. It
    costs a second forward pass and no training.

    Args:
        model: returns logits ``(B, H, W, C)``.
        images: a batch ``(B, H, W, 3)``.

    Returns:
        Log-probabilities ``(B, H, W, C)``: logits, as ``model`` returns, so
        ``predicted_classes`` and the metrics use them unchanged (one
        channel: the mean probability, as a logit or as the model's own).
    """
    plain = _probabilities(model, model(images, training=False))
    mirrored = model(tf.reverse(images, axis=[2]), training=False)
    mirrored = tf.reverse(_probabilities(model, mirrored), axis=[2])
    return _as_outputs(model, (plain + mirrored) / 2)


def outputs_probabilities(model: keras.Model) -> bool:
    """Whether ``model`` ends in a sigmoid or softmax (``head="sigmoid"`` or
    ``"softmax"``: its outputs are probabilities) rather than returning logits.
    """
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", "") in ("sigmoid", "softmax")


def predicted_classes(model: keras.Model | None, outputs) -> np.ndarray:
    """The class of every pixel from a model's outputs ``(..., C)``: the one rule
    every prediction of the package follows.

    Several channels: the class of the highest score (``argmax``). **One
    channel** (``build_unet(num_classes=1, head="sigmoid")``, a binary model)
    is the probability of class 1: class 1 where it is at least 0.5 (a logit
    at least 0), else class 0. Its ``argmax`` would always be 0.

    Args:
        model: the model that gave ``outputs``; it tells logits from
            probabilities (``outputs_probabilities``). ``None``: logits.
        outputs: ``(..., C)`` scores, an array or a tensor.

    Returns:
        ``int32 (...)`` class indices.
    """
    outputs = np.asarray(outputs)
    if outputs.shape[-1] != 1:
        return np.argmax(outputs, axis=-1).astype(np.int32)
    probs = model is not None and outputs_probabilities(model)
    return (outputs[..., 0] >= (0.5 if probs else 0.0)).astype(np.int32)


def _probabilities(model: keras.Model, outputs) -> tf.Tensor:
    """The class probabilities of a model's outputs: a softmax (several channels)
    or a sigmoid (one) of logits; probabilities as they are.
    """
    if outputs_probabilities(model):
        return tf.convert_to_tensor(outputs)
    if outputs.shape[-1] == 1:
        return tf.sigmoid(outputs)
    return tf.nn.softmax(outputs, axis=-1)


def _as_outputs(model: keras.Model, probs) -> tf.Tensor:
    """Mean probabilities back as outputs ``predicted_classes`` reads as the model's
    own: log-probabilities for several channels; one channel as the model gives it
    (a probability, or its logit).
    """
    probs = tf.convert_to_tensor(probs)
    if probs.shape[-1] != 1:
        return tf.math.log(probs + 1e-7)
    if outputs_probabilities(model):
        return probs
    probs = tf.clip_by_value(probs, 1e-7, 1 - 1e-7)
    return tf.math.log(probs / (1 - probs))


def is_unpadded(model: keras.Model) -> bool:
    """Whether ``model`` maps a fixed input size to a smaller output (unpadded):
    such a model segments whole images by overlap-tile (``predict_tiles``).
    """
    size_in, size_out = model.input_shape[1], model.output_shape[1]
    return None not in (size_in, size_out) and size_out < size_in


def whole_image_logits(model: keras.Model, images, *, flip: bool = False) -> tf.Tensor:
    """The model's logits for every pixel of a batch of whole images.

    A same-padding model sees the batch as it is; one that takes any size
    (trained at native resolution) sees it mirrored at the bottom and right up
    to sides it takes (``pad_for_model``: multiples of ``2**depth``), and its
    output is cut back to the images. An unpadded model sees each image tile
    by tile (``predict_tiles``: overlap-tile, mirrored borders). Either way the
    output covers the images pixel for pixel, whatever their size.

    Args:
        model: returns logits ``(batch, h, w, C)``.
        images: ``float32 (B, H, W, channels)``.
        flip: average with the prediction of the mirrored image
            (``flip_averaged_logits``).

    Returns:
        ``(B, H, W, C)`` logits (log-probabilities with ``flip``).
    """
    if not is_unpadded(model):
        _check_size_for(model, images.shape[1:3])
        padded, (height, width) = pad_for_model(model, images)
        if flip:
            return flip_averaged_logits(model, padded)[:, :height, :width]
        return model(padded, training=False)[:, :height, :width]
    out = []
    for image in np.asarray(images, np.float32):
        logits = predict_tiles(model, image)
        if flip:
            mirrored = predict_tiles(model, image[:, ::-1])[:, ::-1]
            probs = _probabilities(model, logits) + _probabilities(model, mirrored)
            logits = _as_outputs(model, probs / 2).numpy()
        out.append(logits)
    return tf.constant(np.stack(out))


def _check_size_for(model: keras.Model, size) -> None:
    """Refuse whole images of another size than a fixed-size same-padding model
    takes, before Keras does (in its own words).
    """
    fixed = tuple(model.input_shape[1:3])
    if None not in fixed and tuple(int(s) for s in size) != fixed:
        raise ValueError(
            f"this model takes {fixed[1]}x{fixed[0]} px images (width x height) "
            f"and these are {int(size[1])}x{int(size[0])} px; load them at that "
            f"size (image_size={fixed[0]}, --size {fixed[0]}), or use predict_mask, "
            "which resizes each image."
        )


def evaluate(
    model: keras.Model,
    dataset: tf.data.Dataset,
    class_names: tuple[str, ...] | None = None,
    *,
    flip: bool = False,
) -> Evaluation:
    """Per-class IoU, mean IoU, pixel accuracy and Dice of ``model`` on ``dataset``.

    The same Keras metrics as in training (``segmentation_metrics``),
    accumulated over the whole dataset (overlap-tile if unpadded), not per batch.

    Args:
        model: logits or probabilities ``(batch, H, W, C)`` (``predicted_classes``).
        dataset: ``(image, mask)`` or ``(image, mask, weights)`` (weight 0: unscored).
        class_names: one name per class; ``None``: the model's count of classes.
        flip: score the mean of each image's and its mirror image's prediction
            (``flip_averaged_logits``) instead of one prediction.

    Returns:
        An ``Evaluation``; ``print`` it for the table.
    """
    class_names = check_model_for_data(model, class_names, "evaluate")
    metrics = segmentation_metrics(len(class_names), class_names)
    n = 0
    for x, y, *w in dataset:  # pixels of weight 0 (an ignore value) are left out
        pred = _one_hot(model, whole_image_logits(model, x, flip=flip), y, w)
        for m in metrics:
            m.update_state(y, pred, None if not w else tf.cast(w[0] > 0, tf.int32))
        n += int(x.shape[0])
    if n == 0:
        raise ValueError("the dataset is empty; nothing to evaluate.")
    r = {m.name: float(m.result()) for m in metrics}
    return Evaluation(
        per_class_iou={name: r[f"iou_{name}"] for name in class_names},
        mean_iou=r["mean_iou"],
        pixel_accuracy=r["pixel_accuracy"],
        dice=r["dice"],
        num_images=n,
    )


def majority_class(dataset: tf.data.Dataset) -> int:
    """The class of most scored pixels in ``dataset``'s masks (ties: the lower index).

    Predicting it everywhere is the best pixel accuracy a constant "model"
    gets (``constant_prediction_scores``).

    Args:
        dataset: ``(image, mask)`` or ``(image, mask, weights)`` batches, masks
            ``(batch, H, W)`` of class indices; weight 0 (an ignore value):
            not counted.

    Raises:
        ValueError: the dataset is empty or holds no scored pixel.
    """
    return int(np.argmax(_scored_pixel_counts(dataset)[0]))


def constant_prediction_scores(
    dataset: tf.data.Dataset,
    class_index: int | str = "majority",
    class_names: tuple[str, ...] | None = None,
) -> Evaluation:
    """``evaluate``'s scores for a trivial baseline: one class at every pixel.

    If ``n_c`` of the ``N`` scored pixels are of class ``c``, predicting ``c``
    everywhere scores pixel accuracy ``n_c / N`` and IoU of ``c`` ``n_c / N``
    (the union is every pixel); every other class scores 0, and the means
    are over the ``K`` classes in the masks or the prediction. A trained
    model's scores mean something only above these.

    Args:
        dataset: ``(image, mask)`` or ``(image, mask, weights)`` batches as
            ``evaluate`` takes them: images ``(batch, H, W, C)``, masks
            ``(batch, H, W)`` of class indices; weight 0: not scored.
        class_index: the class predicted everywhere, or ``"majority"``.
        class_names: one per class; ``None``: as many as the masks hold
            (at least 2), named as ``evaluate`` names them.

    Returns:
        An ``Evaluation``; on EM slices ``1 - pixel_accuracy`` is the pixel error.

    Raises:
        ValueError: a class index out of range, a mask class without a
            name, or an empty dataset.
    """
    counts, images = _scored_pixel_counts(dataset)
    class_names = _names_for_counts(counts, class_names)
    c = _class_to_predict(class_index, counts, class_names)
    counts = np.pad(counts, (0, len(class_names) - len(counts))).astype(np.float64)
    share, k = counts[c] / counts.sum(), np.sum(counts > 0) + (counts[c] == 0)
    return Evaluation(
        per_class_iou=dict.fromkeys(class_names, 0.0) | {class_names[c]: float(share)},
        mean_iou=float(share / k),
        pixel_accuracy=float(share),
        dice=float(2 * share / (1 + share) / k),  # 2 n_c / (n_c + N), over K
        num_images=images,
    )


def _names_for_counts(counts: np.ndarray, class_names) -> tuple[str, ...]:
    """``class_names`` checked against the classes counted in the masks, or (``None``)
    one name per class as ``evaluate`` gives them.
    """
    if class_names is None:
        k = max(len(counts), 2)
        return (
            CLASS_NAMES
            if k == len(CLASS_NAMES)
            else tuple(f"class_{c}" for c in range(k))
        )
    class_names = tuple(class_names)
    if len(counts) > len(class_names):
        raise ValueError(
            f"the masks hold class {len(counts) - 1}, but {len(class_names)} class "
            f"names were given ({', '.join(class_names)}); give one name per class."
        )
    return class_names


def _class_to_predict(class_index, counts: np.ndarray, class_names) -> int:
    """``class_index`` checked against the classes, or the majority class."""
    if isinstance(class_index, str) and class_index == "majority":
        return int(np.argmax(counts))
    if (
        isinstance(class_index, bool)
        or not isinstance(class_index, int | np.integer)
        or not 0 <= class_index < len(class_names)
    ):
        raise ValueError(
            f"class_index={class_index!r}: give a class from 0 to "
            f"{len(class_names) - 1} ({', '.join(class_names)}), or 'majority'."
        )
    return int(class_index)


def _scored_pixel_counts(dataset: tf.data.Dataset) -> tuple[np.ndarray, int]:
    """``(pixels of each class, images)`` over ``dataset``'s masks, leaving out
    pixels of weight 0 as ``evaluate`` does; ``counts[c]`` for ``c`` up to the
    highest class scored. A ``ValueError`` for an empty dataset, one with no
    scored pixel, or a negative class.
    """
    counts, images = np.zeros(0, np.int64), 0
    for _, masks, *weights in dataset:
        labels = np.asarray(masks).reshape(len(masks), -1)
        images += len(labels)
        if weights:  # a weight per pixel, or one per image
            w = np.asarray(weights[0])
            w = w.reshape(labels.shape) if w.size == labels.size else w.reshape(-1, 1)
            labels = labels[np.broadcast_to(w > 0, labels.shape)]
        labels = labels.ravel().astype(np.int64)
        if labels.size and labels.min() < 0:
            raise ValueError(
                f"the masks hold class {labels.min()}; classes start at 0."
            )
        found = np.bincount(labels)
        size = max(len(counts), len(found))
        counts = np.pad(counts, (0, size - len(counts))) + np.pad(
            found, (0, size - len(found))
        )
    if images == 0:
        raise ValueError("the dataset is empty; nothing to score.")
    if counts.sum() == 0:
        raise ValueError("every pixel of the dataset has weight 0; nothing to score.")
    return counts, images


def _one_hot(model: keras.Model, outputs, masks, weights) -> tf.Tensor:
    """The predicted classes (``predicted_classes``) one-hot, as the metrics take
    them; a ``ValueError`` first if a scored pixel of ``masks`` (weight above 0,
    ``weights`` an empty list or one weight map) holds no class the model
    predicts (the metrics would fail deep inside TensorFlow).
    """
    depth = max(int(outputs.shape[-1]), 2)  # one channel: two classes
    labels = np.asarray(masks)
    labels = labels.reshape(labels.shape[: len(outputs.shape) - 1])
    scored = np.asarray(weights[0]) > 0 if weights else None
    if scored is not None and scored.size == labels.size:  # a weight per pixel
        labels = labels[scored.reshape(labels.shape)]
    if labels.size and (labels.min() < 0 or labels.max() >= depth):
        bad = int(labels.max() if labels.max() >= depth else labels.min())
        raise ValueError(
            f"the masks hold class {bad}, but the model predicts {depth} classes "
            f"(0 to {depth - 1}); evaluate a model trained on masks of these classes."
        )
    return tf.one_hot(predicted_classes(model, outputs), depth)


def check_image(path: str | os.PathLike) -> tuple[int, int]:
    """Check that ``path`` is an image Pillow can open, without decoding it; return its
    ``(width, height)``.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: a folder, not an image, or too large to open safely (each named).
    """
    with _open_image(path) as im:
        return im.size


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as ``uint8 (H, W, 3)`` RGB, upright as a viewer shows it.

    * The EXIF orientation of phone photos is applied, so a predicted mask
      lies on the photo as it is displayed.
    * 16-bit images are scaled to ``[0, 255]`` by the bit depth their values
      use (12-bit data in a 16-bit PNG: 4095 becomes 255; see ``to_rgb8``),
      not clipped.
    * Images over Pillow's decompression-bomb limit are refused with a
      message, not decoded.

    Raises:
        FileNotFoundError: the path does not exist (named in the message).
        ValueError: a folder, a file that is not an image Pillow can read, or
            an image too large to open safely (named).
    """
    from PIL import ImageOps

    with _open_image(path) as im:
        pages = getattr(im, "n_frames", 1)
        if pages > 1 and im.format == "TIFF":  # never its first page alone, unsaid
            raise ValueError(
                f"{path} is a stack of {pages} pages (a multi-page TIFF); name one "
                "image per file, or check-data/train a folder with its image and "
                "mask stacks, which reads one pair per page."
            )
        try:
            im = ImageOps.exif_transpose(im)
            return to_rgb8(im)
        except (
            OSError,
            SyntaxError,
        ) as err:  # decoding fails only now for a truncated file
            raise ValueError(f"{path} is not a readable image ({err}).") from err


class _open_image:
    """``with _open_image(path) as im``: Pillow's ``Image.open`` with the package's
    error messages.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __enter__(self):
        import warnings

        from PIL import Image, UnidentifiedImageError

        if self.path.is_dir():
            raise ValueError(
                f"{self.path} is a directory; name an image file (JPEG, PNG, ...)."
            )
        if not self.path.is_file():
            raise FileNotFoundError(f"image file {self.path} does not exist.")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                self.image = Image.open(self.path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise ValueError(
                f"{self.path} is too large to open safely ({err}). Downscale it first, "
                "e.g. to 2,000 px on its longest side."
            ) from err
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            raise ValueError(f"{self.path} is not a readable image ({err}).") from err
        return self.image

    def __exit__(self, *exc) -> None:
        self.image.close()


def predict_mask(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """Predicted class per pixel for an image of any size.

    A **same-padding** model of one input size (the book's) sees the image
    resized (bilinearly) to it, as in training, and the mask is resized back
    (nearest neighbour); one of **any size** sees the image at its own
    resolution (``whole_image_logits``); an **unpadded** model (the paper's,
    572 px in, 388 px out) predicts by **overlap-tile** (``predict_tiles``).

    Args:
        model: a U-Net returning logits or probabilities.
        image: ``(H, W, C)`` with the model's channel count (``(H, W)`` for a
            one-channel model), ``uint8`` in ``[0, 255]`` or float in ``[0, 1]``.

    Returns:
        ``int32 (H, W)`` class indices (0 = pet, 1 = background, 2 = border
        for the book's models).

    Raises:
        ValueError: a wrong shape, values out of range, NaN or infinity.
    """
    image = _check_image_for(model, image)
    size_in, size_out = model.input_shape[1], model.output_shape[1]
    x = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    if size_in is not None and size_out is not None and size_out != size_in:
        return predicted_classes(model, predict_tiles(model, x))
    if size_in is None:  # any size: the resolution it was trained at
        logits, size = whole_image_logits(model, x[np.newaxis]), x.shape[:2]
    else:
        size = (size_in, size_in)
        logits = model(resize_image(image, size_in)[tf.newaxis], training=False)
    if tuple(logits.shape[1:3]) != size:  # no fixed input size, and unpadded
        raise ValueError(
            f"this model maps {size[0]}x{size[1]} px to {logits.shape[1]}x"
            f"{logits.shape[2]} px (unpadded) but has no fixed input size to lay "
            "its tiles out; rebuild it with one, e.g. (572, 572, 3)."
        )
    pred = predicted_classes(model, logits[0])
    return resize_mask(pred, image.shape[:2]).numpy()


def _check_image_for(model: keras.Model, image) -> np.ndarray:
    """``image`` as an array ``(H, W, C)`` that ``model`` takes, or a ``ValueError``
    that says what to change.
    """
    image = np.asarray(image)
    if image.dtype.kind not in "uif":
        raise ValueError(
            f"the image is an array of {image.dtype}, not pixel values; pass uint8 "
            "in [0, 255] or float in [0, 1]."
        )
    if image.size == 0:
        raise ValueError(f"the image is empty (shape {image.shape}); pass pixels.")
    channels = model.input_shape[-1]
    if image.ndim == 2 and channels == 1:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] != channels:
        kind = "RGB" if channels == 3 else f"{channels}-channel"
        raise ValueError(
            f"this model takes {channels}-channel images ((H, W, {channels}), {kind}); "
            f"got shape {image.shape}. "
            + (
                "Convert it first (e.g. PIL's .convert('RGB'))."
                if channels == 3
                else ""
            )
        )
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(
            "the image holds NaN or infinite values; a mask predicted from them "
            "would mean nothing. Check how the image was made or loaded."
        )
    if image.dtype != np.uint8 and (image.min() < 0 or image.max() > 1):
        raise ValueError("a float image must be in [0, 1]; pass uint8 for [0, 255].")
    return image


def boundary_band(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """Pixels within ``width`` pixels of a class change in ``mask`` (``(H, W)`` or
    ``(B, H, W)``).

    The outlines are where segmentations differ most; scoring only this band
    shows how sharp a model's boundaries are.
    """
    from scipy import ndimage

    mask = np.asarray(mask)
    if width < 1:
        raise ValueError(f"width={width!r} must be at least 1.")
    squeeze = mask.ndim == 2
    masks = mask[None] if squeeze else mask
    bands = np.zeros(masks.shape, bool)
    for i, m in enumerate(masks):
        edge = np.zeros(m.shape, bool)
        edge[:-1, :] |= m[:-1, :] != m[1:, :]
        edge[1:, :] |= m[:-1, :] != m[1:, :]
        edge[:, :-1] |= m[:, :-1] != m[:, 1:]
        edge[:, 1:] |= m[:, :-1] != m[:, 1:]
        bands[i] = (
            ndimage.binary_dilation(edge, iterations=width - 1) if width > 1 else edge
        )
    return bands[0] if squeeze else bands


def boundary_accuracy(true: np.ndarray, pred: np.ndarray, width: int = 2) -> float:
    """Pixel accuracy restricted to the band of ``width`` pixels around the true
    outlines.
    """
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape:
        raise ValueError(f"true {true.shape} and pred {pred.shape} differ in shape.")
    band = boundary_band(true, width)
    if not band.any():
        raise ValueError("the true masks have no boundaries to score.")
    return float((true[band] == pred[band]).mean())


def check_model_for_data(
    model: keras.Model, class_names: tuple[str, ...] | None, what: str = "evaluate"
) -> tuple[str, ...]:
    """Raise ``ValueError`` unless ``model`` can be scored on masks of ``class_names``;
    return the class names.

    It must predict one score per class (one channel: two classes, see
    ``predicted_classes``). ``class_names=None`` takes the model's count of
    classes: the pets' names for three, else ``class_0``, ``class_1``, ...
    An unpadded model (``padding="valid"``) needs a fixed input size, so that
    overlap-tile can lay out its tiles.
    """
    channels = model.output_shape[-1]
    classes = None if channels is None else max(channels, 2)
    if class_names is None:
        if classes is None:
            raise ValueError(
                f"the model's count of classes is unknown; {what} needs class_names."
            )
        class_names = (
            CLASS_NAMES
            if classes == len(CLASS_NAMES)
            else tuple(f"class_{c}" for c in range(classes))
        )
    class_names = tuple(class_names)
    if classes is not None and classes != len(class_names):
        raise ValueError(
            f"the model predicts {classes} classes but class_names has "
            f"{len(class_names)} ({', '.join(class_names)}); give one name per class "
            f"the model predicts, or {what} a model trained for these classes."
        )
    _check_same_padding(model, what)
    return class_names


def _check_same_padding(model: keras.Model, what: str) -> None:
    inp, out = tuple(model.input_shape[1:3]), tuple(model.output_shape[1:3])
    if None in inp and None not in out:
        raise ValueError(
            f"{what} needs a model with a fixed input size when it is unpadded "
            f"(output {out[0]}x{out[1]}): overlap-tile lays out tiles of the input "
            "size. Build it with e.g. input_shape=(572, 572, 1)."
        )


def predict_dataset(
    model: keras.Model, dataset: tf.data.Dataset
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ``(images, true masks, predicted masks)`` of a dataset, as NumPy arrays.

    Whole images; an unpadded model predicts them by overlap-tile
    (``whole_image_logits``).

    Raises:
        ValueError: an empty dataset, or images of different sizes (no one
            array holds them).
    """
    _check_same_padding(model, "predict_dataset")
    xs, ys, ps = [], [], []
    for batch in dataset:
        x, y = batch[0], batch[1]
        if ys and tuple(y.shape[1:]) != ys[0].shape[1:]:
            raise ValueError(
                f"the dataset's images have different sizes ({ys[0].shape[2]}x"
                f"{ys[0].shape[1]} and {y.shape[2]}x{y.shape[1]} px, width x "
                "height), and predict_dataset returns one array of each kind; load "
                "the data with image_size= (one size), or call whole_image_logits "
                "batch by batch."
            )
        ps.append(predicted_classes(model, whole_image_logits(model, x)))
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    if not xs:
        raise ValueError("the dataset is empty.")
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ps)


def per_image_mean_iou(
    true: np.ndarray, pred: np.ndarray, num_classes: int = 3
) -> np.ndarray:
    """Mean IoU of each image separately (classes absent from both masks left out),
    shape ``(n,)``.
    """
    true, pred = np.asarray(true), np.asarray(pred)
    scores = np.zeros(len(true))
    for i, (t, p) in enumerate(zip(true, pred, strict=True)):
        ious = []
        for c in range(num_classes):
            union = np.logical_or(t == c, p == c).sum()
            if union:
                ious.append(np.logical_and(t == c, p == c).sum() / union)
        scores[i] = np.mean(ious)
    return scores


@dataclass
class EMScores(_ScoreTable):
    """The scores of the paper's EM experiment (ISBI 2012) on whole slices.

    Attributes:
        pixel_error: share of wrong pixels, ``1 - pixel accuracy``
            (``metrics.pixel_error``), over all slices' pixels.
        rand_error: adapted Rand error on cell instances
            (``metrics.rand_error``), the mean over slices.
        membrane_iou: IoU of the membrane class over all pixels.
        num_images: slices scored.
    """

    pixel_error: float
    rand_error: float
    membrane_iou: float
    num_images: int

    def rows(self) -> list[tuple[str, str]]:
        """``(metric, value)`` pairs, the values formatted for a table."""
        return [
            ("pixel error", f"{self.pixel_error:.4f}"),
            ("adapted Rand error", f"{self.rand_error:.4f}"),
            ("membrane IoU", f"{self.membrane_iou:.3f}"),
            ("slices", str(self.num_images)),
        ]


THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))
"""The membrane thresholds ``choose_threshold`` tries: 0.05, 0.10, ..., 0.95."""


def symmetry_averaged_probabilities(model: keras.Model, images) -> tf.Tensor:
    """Test-time augmentation with the 8 symmetries of a square: the mean of the
    softmax maps for the images turned by 0, 1, 2 and 3 quarter turns, each as
    is and mirrored, every map turned back first so that all 8 line up.

    A model trained with flips and quarter turns knows every one of these
    views, and its mistakes on them do not all fall on the same pixels, so
    their mean is steadier than any one of them. The U-Net paper's ISBI
    score averages 7 rotated versions of the input. It costs 8 predictions
    and no training.

    Args:
        model: returns logits ``(batch, h, w, C)``; predicted whole
            (``whole_image_logits``: overlap-tile if unpadded).
        images: ``float32 (B, H, W, channels)``; need not be square.

    Returns:
        Probabilities ``(B, H, W, C)``.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    total = 0.0
    for turns in range(4):
        for mirror in (False, True):
            view = tf.image.rot90(images, turns)
            if mirror:
                view = tf.reverse(view, axis=[2])
            probs = tf.nn.softmax(whole_image_logits(model, view), axis=-1)
            if mirror:
                probs = tf.reverse(probs, axis=[2])
            total += tf.image.rot90(probs, (4 - turns) % 4)
    return total / 8


def membrane_probabilities(
    model: keras.Model,
    dataset: tf.data.Dataset,
    *,
    membrane_class: int = 0,
    symmetries: bool = False,
) -> list[np.ndarray]:
    """The model's probability of membrane for every pixel of every whole slice.

    Args:
        model: a two-class (or more) model returning logits; an unpadded one
            predicts by overlap-tile (``whole_image_logits``).
        dataset: ``(image, mask)`` batches of whole slices.
        membrane_class: the class whose softmax probability is returned.
        symmetries: average over the 8 quarter turns and mirrors of each slice
            (``symmetry_averaged_probabilities``) instead of one prediction.

    Returns:
        One ``float32 (H, W)`` array per image, in the dataset's order.
    """
    out = []
    for batch in dataset:
        if symmetries:
            probs = symmetry_averaged_probabilities(model, batch[0])
        else:
            probs = tf.nn.softmax(whole_image_logits(model, batch[0]), axis=-1)
        out.extend(np.asarray(probs[..., membrane_class]))
    return out


def at_threshold(
    probabilities, threshold: float, *, membrane_class: int = 0, cell_class: int = 1
) -> list[np.ndarray]:
    """Class masks from membrane probabilities: membrane where ``p >= threshold``.

    Args:
        probabilities: one ``float (H, W)`` array of membrane probabilities
            per image (``membrane_probabilities``).
        threshold: in ``(0, 1)``; 0.5 is the two-class argmax.
        membrane_class: the class value written where ``p >= threshold``.
        cell_class: the class value written elsewhere.

    Returns:
        One ``uint8 (H, W)`` class mask per image.

    Raises:
        ValueError: if ``threshold`` is not strictly between 0 and 1.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold={threshold}: give a probability between 0 and 1.")
    return [
        np.where(np.asarray(p) >= threshold, membrane_class, cell_class).astype(
            np.uint8
        )
        for p in probabilities
    ]


def choose_threshold(
    probabilities,
    dataset: tf.data.Dataset,
    *,
    thresholds: tuple[float, ...] = THRESHOLDS,
    membrane_class: int = 0,
    cell_class: int = 1,
) -> float:
    """The membrane threshold with the lowest pixel error on held-out slices.

    A network trained with the weight map weighs membrane pixels far above
    cell pixels, so it tends to draw membranes too thick at the argmax
    (0.5). Choose the threshold on the *validation* slices, then score the
    test slices once with it.

    Args:
        probabilities: one ``float (H, W)`` array of membrane probabilities
            per image of ``dataset`` (``membrane_probabilities``).
        dataset: the same images' ``(image, mask)`` batches (the truth).
        thresholds: the candidates; ties go to the one nearest 0.5.
        membrane_class: the membrane class in the masks.
        cell_class: the cell class in the masks.

    Returns:
        The chosen threshold.
    """
    from .metrics import pixel_error

    truths = np.concatenate([np.asarray(b[1]).ravel() for b in dataset])
    classes = dict(membrane_class=membrane_class, cell_class=cell_class)

    def error(t: float) -> float:
        masks = at_threshold(probabilities, t, **classes)
        return pixel_error(np.concatenate([m.ravel() for m in masks]), truths)

    errors = {t: error(t) for t in thresholds}
    return float(min(errors, key=lambda t: (errors[t], abs(t - 0.5))))


def em_scores(
    model_or_predictions,
    dataset: tf.data.Dataset,
    *,
    threshold: float | None = None,
    membrane_class: int = 0,
    cell_class: int = 1,
) -> EMScores:
    """Pixel error, adapted Rand error and membrane IoU on whole EM slices.

    Args:
        model_or_predictions: a model (an unpadded one predicts by
            overlap-tile), or the predicted class masks ``(H, W)`` of the
            dataset's images, in order, or (with ``threshold``) their
            membrane probabilities.
        dataset: ``(image, mask)`` batches of whole slices (a folder's
            validation or test split at ``image_size=None``).
        threshold: membrane where its probability is at least this
            (``choose_threshold``); ``None`` takes the argmax class.
        membrane_class: the class of the membranes (0 in the EM folder).
        cell_class: the class of the cell interiors (1).

    Returns:
        An ``EMScores``; ``print`` it for the table.
    """
    from .metrics import class_iou, pixel_error, rand_error

    truths = [m for batch in dataset for m in np.asarray(batch[1])]
    given = model_or_predictions
    if isinstance(given, keras.Model) and threshold is None:
        _, _, preds = predict_dataset(given, dataset)
    elif threshold is not None:
        if isinstance(given, keras.Model):
            given = membrane_probabilities(
                given, dataset, membrane_class=membrane_class
            )
        preds = at_threshold(
            given, threshold, membrane_class=membrane_class, cell_class=cell_class
        )
    else:
        preds = [np.asarray(p) for p in given]
    if not truths or len(preds) != len(truths):
        raise ValueError(
            f"{len(preds)} predictions for {len(truths)} slices; give one predicted "
            "mask per image of the dataset, in order."
        )
    pred, true = np.stack(preds), np.stack(truths)
    return EMScores(
        pixel_error=pixel_error(pred, true),
        rand_error=float(
            np.mean(
                [rand_error(p, t, cell_class) for p, t in zip(pred, true, strict=True)]
            )
        ),
        membrane_iou=class_iou(pred, true, membrane_class),
        num_images=len(true),
    )
