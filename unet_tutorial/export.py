"""A trained U-Net as a file that a web page runs: LiteRT (``.tflite``) and a sidecar.

``export_model`` writes the model for a browser runtime and, beside it, a small JSON
file with what a page needs to use it: the input size and channels, how an image is
scaled and resized (as ``predict_mask`` does it), the class names and colours.

Why LiteRT (``.tflite``) and not ONNX or TensorFlow.js:

* **No extra Python dependency.** TensorFlow's own converter writes it
  (``model.export(path, format="litert")``); ONNX needs ``tf2onnx`` and
  ``onnx`` at export time, and TensorFlow.js's converter pins old TensorFlow
  and protobuf versions.
* **Faithful.** It converts every layer the package builds (same and valid
  padding, any depth) into TensorFlow Lite's own ops; the tests check the
  argmax of every pixel against Keras.
* **Kept up to date** by the TensorFlow team, in Python (the converter) and on
  the web (``@litertjs/core`` on npm, Apache-2.0, single-threaded WebAssembly
  without cross-origin isolation).

Its one restriction: LiteRT.js runs a file only if its input shape is fixed (it
refuses a ``-1`` dimension), so a model that takes any size is exported at the
``input_size`` you choose, and a page predicts larger images tile by tile.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .files import atomic_write
from .labels import CLASS_NAMES
from .tiling import pooling_depth

EXPORT_FORMATS = ("litert",)
"""The formats ``export_model`` writes (``.tflite`` files for LiteRT)."""


def export_model(
    model,
    path: str | os.PathLike,
    *,
    format: str = "litert",
    input_size: int | None = None,
    float16: bool = True,
    class_names: Sequence[str] | None = None,
    colors: Sequence[Sequence[int]] | None = None,
) -> Path:
    """Write ``model`` as a LiteRT ``.tflite`` file, and its sidecar as ``.json``.

    Args:
        model: a U-Net returning logits, e.g. a trained run's model.
        path: the ``.tflite`` file to write (its folder must exist).
        format: ``"litert"``, the one of ``EXPORT_FORMATS``.
        input_size: the square side the file takes; a model of any size needs it.
        float16: weights stored as float16 (half the file; arithmetic in float32).
        class_names, colors: a name and an RGB colour per class (``export_sidecar``).

    Returns:
        ``path``. Each file is written to a temporary name beside it, then renamed.

    Raises:
        ValueError: an unknown format, a wrong path or ``input_size``, names that
            do not match the classes, or a model TensorFlow Lite cannot convert.
    """
    path = Path(path)
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {EXPORT_FORMATS}.")
    if path.suffix != ".tflite":
        raise ValueError(f"{path} must end in .tflite (a LiteRT model file).")
    side = _input_side(model, input_size)
    sidecar = export_sidecar(model, side, path.name, class_names, colors)
    atomic_write(path, lambda tmp: _export_litert(model, tmp, side, float16))
    text = json.dumps(sidecar, indent=1)
    atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(text))
    return path


def export_sidecar(
    model,
    side: int,
    model_file: str,
    class_names: Sequence[str] | None = None,
    colors: Sequence[Sequence[int]] | None = None,
) -> dict:
    """What a page needs besides the weights to predict as ``predict_mask`` does.

    ``class_names`` default to ``CLASS_NAMES`` for three classes, else ``class 0``,
    ``class 1``, ...; ``colors`` (the book passes ``MASK_COLORS``, its Okabe–Ito
    colours) default to ``None``: the page's own.

    A model of one input size sees the image resized to it (bilinear with
    antialiasing, ``resize_image``) and its mask resized back (nearest
    neighbour); a model that takes any size sees the image at its own
    resolution, in tiles of ``side`` px (``"resize": "none"``).
    """
    num_classes = int(model.output_shape[-1])
    if class_names is None:
        class_names = (
            CLASS_NAMES
            if num_classes == len(CLASS_NAMES)
            else [f"class {k}" for k in range(num_classes)]
        )
    if num_classes != len(class_names):
        raise ValueError(
            f"the model predicts {num_classes} classes but class_names has "
            f"{len(class_names)}."
        )
    any_size = model.input_shape[1] is None or model.input_shape[2] is None
    channels = int(model.input_shape[-1])
    # an unpadded (padding="valid") model predicts only the centre of its input
    out = model.compute_output_shape((1, side, side, channels))
    return {
        "model": model_file,
        "format": "litert",
        "input_shape": [1, side, side, channels],
        "output_shape": [1, int(out[1]), int(out[2]), num_classes],
        "channels": channels,
        "num_classes": num_classes,
        "class_names": [str(name) for name in class_names],
        "colors": None if colors is None else np.asarray(colors)[:num_classes].tolist(),
        "outputs": "logits; the class of a pixel is the argmax",
        "preprocessing": {
            "grayscale": "Pillow's convert('L'): (299 R + 587 G + 114 B) / 1000",
            "scale": 1 / 255,
            "resize": "none" if any_size else "bilinear, antialiased (resize_image)",
            "mask_resize": "none" if any_size else "nearest (resize_mask)",
            # any size: sides padded (mirrored) to multiples of it, as pad_for_model
            "multiple": 2 ** pooling_depth(model) if any_size else None,
        },
    }


def _input_side(model, input_size: int | None) -> int:
    height, width = model.input_shape[1], model.input_shape[2]
    if height is not None and width is not None:
        if height != width:
            raise ValueError(
                f"the model takes {height}x{width} images; export takes squares."
            )
        if input_size not in (None, height):
            raise ValueError(
                f"this model takes {height} x {height} images; leave out input_size."
            )
        return int(height)
    if input_size is None:
        raise ValueError(
            "this model takes images of any size, and a LiteRT file has one: give "
            "input_size (e.g. 512 for a whole EM slice)."
        )
    if int(input_size) != input_size or input_size < 1:
        raise ValueError(f"input_size={input_size!r} must be a positive integer.")
    return int(input_size)


def _export_litert(model, path: Path, side: int, float16: bool) -> None:
    import tensorflow as tf

    spec = tf.TensorSpec([1, side, side, model.input_shape[-1]], tf.float32)
    options = (
        {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "target_spec": {"supported_types": [tf.float16]},
        }
        if float16
        else {}
    )
    logger = logging.getLogger("tensorflow")  # its INFO line names a temporary folder
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.export(
            str(path),
            format="litert",
            input_signature=[spec],
            verbose=False,
            **options,
        )
    except Exception as err:  # the converter raises many kinds; one line for the reader
        raise ValueError(
            f"TensorFlow Lite cannot convert this model ({type(err).__name__}: "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else ''})."
        ) from err
    finally:
        logger.setLevel(level)
