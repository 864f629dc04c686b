"""Overlap-tile prediction: the paper's way to segment an image of any size with
unpadded convolutions.

An unpadded ("valid") U-Net maps a tile of ``input_size`` pixels to a
smaller ``output_size`` map: the paper's 572 px tile gives 388 px, because
every 3×3 convolution trims a pixel on each side. To segment a whole image
the paper (Ronneberger et al., 2015, Fig. 2) predicts it tile by tile:

1. cut the image into a grid of ``output_size`` squares (the last row and
   column may stick out past the image);
2. feed each square with its *context*: the ``margin = (input_size -
   output_size) / 2`` pixels around it, from the neighbouring tiles;
3. where the context falls outside the image, **mirror** the image at its
   border (``np.pad(..., mode="reflect")``), so the network sees plausible
   texture rather than black;
4. put the output squares side by side and cut the result to the image.

The output squares tile the image without overlap; the *input* tiles
overlap by ``2 * margin`` pixels, hence the name. ``draw_overlap_tiles``
(``unet_tutorial.pictures``) draws the layout on an image.

A same-padding ("same") U-Net that takes any size (``input_shape=(None,
None, C)``: trained on crops of a folder at native resolution) needs no
tiles, but its input sides must be multiples of ``2**depth``: every pooling
halves them, and a decoder map must meet its skip map at the same size.
``pad_for_model`` mirrors a whole image at its bottom and right up to the
next such sides (``same_padding_pads``); the prediction is cut back to the
image with ``[:H, :W]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import is_whole


@dataclass(frozen=True)
class Tile:
    """One tile of an overlap-tile prediction.

    Attributes:
        row: the tile's row in the grid (0 at the top).
        col: the tile's column (0 at the left).
        input_box: ``(top, left, bottom, right)`` of the window the model
            sees, in the mirror-padded image.
        output_box: ``(top, left, bottom, right)`` of the square it
            predicts, in the image's own coordinates (it may reach past the
            image's bottom or right edge; that part is cut off).
    """

    row: int
    col: int
    input_box: tuple[int, int, int, int]
    output_box: tuple[int, int, int, int]


def tile_layout(
    height: int, width: int, input_size: int, output_size: int
) -> tuple[list[Tile], tuple[int, int, int, int]]:
    """The tiles that cover a ``height`` × ``width`` image, and the padding they need.

    Args:
        height: the image's height in pixels.
        width: the image's width in pixels.
        input_size: the model's input tile size (e.g. 572).
        output_size: the size of the map it predicts from such a tile (e.g. 388).

    Returns:
        ``(tiles, (top, bottom, left, right))``: the tiles row by row, and how
        many pixels to mirror onto each side of the image so that every
        tile's input window lies inside the padded image.

    Raises:
        ValueError: sizes that are not positive, or a model whose output is
            not smaller than its input by an even number of pixels.
    """
    for name, value in (
        ("height", height),
        ("width", width),
        ("input_size", input_size),
        ("output_size", output_size),
    ):
        if not is_whole(value, 1, numpy_ok=True):
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    if output_size >= input_size or (input_size - output_size) % 2:
        raise ValueError(
            f"overlap-tile needs an unpadded model whose output ({output_size} px) is "
            f"smaller than its input ({input_size} px) by an even number of pixels; a "
            "same-padding model predicts whole images."
        )
    margin = (input_size - output_size) // 2
    rows, cols = math.ceil(height / output_size), math.ceil(width / output_size)
    tiles = [
        Tile(
            r,
            c,
            (
                r * output_size,
                c * output_size,
                r * output_size + input_size,
                c * output_size + input_size,
            ),
            (
                r * output_size,
                c * output_size,
                (r + 1) * output_size,
                (c + 1) * output_size,
            ),
        )
        for r in range(rows)
        for c in range(cols)
    ]
    pads = (
        margin,
        rows * output_size - height + margin,
        margin,
        cols * output_size - width + margin,
    )
    return tiles, pads


def mirror_pad(image: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """``image`` (``(H, W)`` or ``(H, W, C)``) with ``(top, bottom, left, right)``
    pixels mirrored onto its sides.

    The border pixel itself is not repeated (``mode="reflect"``:
    ``a b c | b a``); pads longer than the image reflect back and forth.
    """
    image = np.asarray(image)
    top, bottom, left, right = pads
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, mode="reflect")


def pooling_depth(model) -> int:
    """How many 2x2 poolings ``model`` has: the ``depth`` of a U-Net, ``0`` for a
    model without any. A same-padding model takes sides that are multiples of
    ``2**depth``.
    """
    import keras

    return sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers)


def same_padding_pads(height: int, width: int, depth: int) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` that bring a ``height`` × ``width`` image to
    the next sides a same-padding U-Net of ``depth`` takes (multiples of
    ``2**depth``; ``nearest_valid_sizes``).

    All the padding goes to the bottom and right, so the image keeps its
    top-left corner and a prediction is cut back with ``[:height, :width]``.

    Example:
        >>> same_padding_pads(375, 500, 4)
        (0, 9, 0, 12)

    Raises:
        ValueError: a side that is not a positive integer, or a bad ``depth``.
    """
    from .shapes import nearest_valid_sizes

    for name, value in (("height", height), ("width", width)):
        if not is_whole(value, 1, numpy_ok=True):
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    if depth == 0:
        return (0, 0, 0, 0)
    bottom = nearest_valid_sizes(int(height), depth, "same")[-1] - height
    right = nearest_valid_sizes(int(width), depth, "same")[-1] - width
    return (0, int(bottom), 0, int(right))


def pad_for_model(model, images) -> tuple[np.ndarray, tuple[int, int]]:
    """A batch of whole images, mirrored (``mirror_pad``) at the bottom and right
    up to sides ``model`` takes, and the ``(H, W)`` to cut its output back to.

    Only a same-padding model that takes any size (``input_shape`` ``(None,
    None, C)``) needs it, when ``H`` or ``W`` is not a multiple of
    ``2**pooling_depth(model)``; otherwise the batch comes back as it is.

    Args:
        model: the model that will see the batch.
        images: ``(B, H, W, C)``, an array or a tensor.

    Returns:
        ``(padded batch, (H, W))``.
    """
    height, width = int(images.shape[1]), int(images.shape[2])
    if tuple(model.input_shape[1:3]) != (None, None):
        return images, (height, width)
    pads = same_padding_pads(height, width, pooling_depth(model))
    if not any(pads):
        return images, (height, width)
    batch = np.asarray(images)
    if not len(batch):
        return batch, (height, width)
    return np.stack([mirror_pad(image, pads) for image in batch]), (height, width)


def predict_tiles(model, image: np.ndarray, *, batch_size: int = 4) -> np.ndarray:
    """The model's output for every pixel of ``image``, by overlap-tile prediction.

    Args:
        model: an unpadded model with a fixed input size, e.g.
            ``build_unet((572, 572, 1), 2, padding="valid")``.
        image: ``(H, W, C)`` float in ``[0, 1]`` with the model's channel count,
            at the resolution the model was trained at.
        batch_size: tiles per call of the model.

    Returns:
        ``float32 (H, W, K)``: the model's ``K`` outputs per pixel.
    """
    size_in, size_out = model.input_shape[1], model.output_shape[1]
    if size_in is None or model.input_shape[2] is None:
        raise ValueError(
            "overlap-tile needs a model with a fixed input size; build it with e.g. "
            "input_shape=(572, 572, 1)."
        )
    image = np.asarray(image, np.float32)
    tiles, pads = tile_layout(image.shape[0], image.shape[1], size_in, size_out)
    canvas = mirror_pad(image, pads)
    outputs = []
    for start in range(0, len(tiles), batch_size):
        batch = np.stack(
            [
                canvas[t.input_box[0] : t.input_box[2], t.input_box[1] : t.input_box[3]]
                for t in tiles[start : start + batch_size]
            ]
        )
        outputs.append(np.asarray(model(batch, training=False), np.float32))
    outputs = np.concatenate(outputs)
    rows, cols = tiles[-1].row + 1, tiles[-1].col + 1
    full = np.zeros((rows * size_out, cols * size_out, outputs.shape[-1]), np.float32)
    for tile, out in zip(tiles, outputs, strict=True):
        top, left, bottom, right = tile.output_box
        full[top:bottom, left:right] = out
    return full[: image.shape[0], : image.shape[1]]
