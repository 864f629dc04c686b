"""Turn the mask files people have into class-index masks (NumPy and Pillow only).

A segmentation mask for training holds one **class index** per pixel:
``0, 1, …, N-1``. Masks in the wild come in other forms:

* **binary** masks, saved as 0 and 255 (black and white) or 0 and 1;
* **palette** PNGs (Pillow mode ``"P"``, as in PASCAL VOC): each pixel
  stores an index into a colour table, and that index *is* the class, so
  the colours are only for display;
* **RGB colour** masks, where each class has a colour (road = purple, …).

Each function below returns ``uint8 (H, W)`` class indices. Save them with
``PIL.Image.fromarray(mask).save("name.png")``: PNG is lossless, whereas a
JPEG mask gets new values along every edge.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["binary_to_class_mask", "palette_to_class_mask", "rgb_to_class_mask"]


def binary_to_class_mask(mask: np.ndarray, threshold: int = 128) -> np.ndarray:
    """A black-and-white mask ``(H, W)`` to classes: ``0`` below ``threshold``, ``1``
    at or above it.

    Masks saved as 0/255 become 0/1. A mask that went through JPEG or a
    resize holds grey values along its edges; the threshold puts each of
    them on the nearer side.

    Args:
        mask: ``(H, W)`` integers (or ``(H, W, 1)``).
        threshold: the first value that counts as class 1 (use 1 for 0/1 masks).

    Returns:
        ``uint8 (H, W)`` with values in ``{0, 1}``.
    """
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(
            f"a binary mask must be (H, W); got shape {mask.shape}. For a colour "
            "mask use rgb_to_class_mask."
        )
    return (mask >= threshold).astype(np.uint8)


def palette_to_class_mask(path: str | os.PathLike) -> np.ndarray:
    """The class indices of a palette PNG (Pillow mode ``"P"``, as in PASCAL VOC).

    Such a file stores an index per pixel and a table of colours; the
    index is the class. Reading it with ``np.asarray`` gives the indices,
    while ``Image.convert("RGB")`` would give the display colours instead.

    Raises:
        ValueError: the file is not a palette image (its mode is named).
    """
    from PIL import Image

    with Image.open(path) as im:
        if im.mode != "P":
            raise ValueError(
                f"{path} is a mode {im.mode!r} image, not a palette ('P') PNG; "
                "read a grayscale mask with np.asarray(Image.open(path)), or use "
                "rgb_to_class_mask for colours."
            )
        return np.asarray(im).astype(np.uint8)


def rgb_to_class_mask(
    rgb: np.ndarray, colors: dict[tuple[int, int, int], int]
) -> np.ndarray:
    """An RGB colour mask ``(H, W, 3)`` to class indices, through a colour table.

    Args:
        rgb: ``uint8 (H, W, 3)`` (an alpha channel, if any, is dropped).
        colors: ``{(r, g, b): class index}``, e.g. ``{(0, 0, 0): 0,
            (255, 0, 0): 1}``.

    Returns:
        ``uint8 (H, W)``.

    Raises:
        ValueError: a pixel has a colour that is not in the table (the
            message lists a few such colours: a resized or JPEG mask has
            blended colours along the edges).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] not in (3, 4):
        raise ValueError(f"rgb must be (H, W, 3); got shape {rgb.shape}.")
    # one integer per colour: r * 65536 + g * 256 + b
    codes = rgb[..., :3].astype(np.int64) @ np.array([65536, 256, 1])
    out = np.zeros(codes.shape, np.uint8)
    known = np.zeros(codes.shape, bool)
    for (r, g, b), index in colors.items():
        hit = codes == r * 65536 + g * 256 + b
        out[hit], known[hit] = index, True
    if not known.all():
        unknown = np.unique(rgb[..., :3][~known], axis=0)[:5].tolist()
        raise ValueError(
            f"{int((~known).sum())} pixels have colours not in the table, e.g. "
            f"{[tuple(c) for c in unknown]}; add them to colors (or fix the masks: "
            "a resized or JPEG mask blends colours at the edges)."
        )
    return out
