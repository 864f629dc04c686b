"""Reading without TensorFlow: image pixels as 8-bit RGB, and which split an
example belongs to.

The folder reader (``unet-tutorial check-data``) uses these, so it answers
without starting TensorFlow; ``unet_tutorial.data`` builds the pipeline on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from .checks import SPLITS

VALIDATION_FRACTION = 0.1
"""Share of each breed's ``trainval`` images held out for validation."""
VALIDATION_SEED = 2015
"""Seed of the validation hold-out. Fixed, so the split never changes with a run's seed.
"""


BIT_DEPTHS = (8, 10, 12, 14, 16)
"""The bit depths ``to_rgb8`` assumes an integer image of more than 8 bits was
recorded at: those of cameras and microscopes, whose 10-, 12- or 14-bit data are
stored in 16-bit files.
"""


def used_bit_depth(high: int) -> int:
    """The smallest of ``BIT_DEPTHS`` whose range holds ``high`` (the image's
    brightest value); beyond 16 bits, the bits ``high`` needs.

    Example:
        >>> used_bit_depth(4095), used_bit_depth(4096), used_bit_depth(200)
        (12, 14, 8)
    """
    for bits in BIT_DEPTHS:
        if high < 2**bits:
            return bits
    return int(high).bit_length()


def to_rgb8(im) -> np.ndarray:
    """``uint8 (H, W, 3)`` from a Pillow image of any mode, scaled rather than
    clipped or truncated.

    * Integer grey of more than 8 bits (modes ``I;16``, ``I;16B``, ``I``, e.g.
      a 16-bit PNG or TIFF) is divided by the largest value of the bit depth
      it uses (``used_bit_depth`` of its brightest pixel: 8, 10, 12, 14 or 16
      bits) and multiplied by 255. So 12-bit microscope data in a 16-bit file
      (0 … 4095) maps 4095 to 255 instead of turning nearly black (4095 /
      65535), a full 16-bit image maps 65535 to 255, and an 8-bit image saved
      as 16 bits keeps its values. The rule looks at each image alone: an
      image that is much darker than the sensor's range (a 12-bit image whose
      brightest pixel is below 1024) is read as 10-bit, brighter than its
      neighbours; convert such a stack to 8 bits with one scale yourself.
      Negative values (mode ``I``) become 0.
    * Float grey (mode ``F``) is read from ``[0, 1]``; any other range is
      stretched from its minimum to its maximum.
    * Every other mode goes through Pillow's ``convert("RGB")`` (a 16-bit RGB
      PNG is already reduced to its 8 high bits by Pillow when it opens it).
    """
    if im.mode == "F":
        grey = np.nan_to_num(np.asarray(im, np.float64))
        low, high = float(grey.min()), float(grey.max())
        if low < 0 or high > 1:
            grey = (grey - low) / (high - low) if high > low else np.zeros_like(grey)
        grey = np.round(grey * 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.clip(np.asarray(im).astype(np.float64), 0, None)
        top = 2.0 ** used_bit_depth(int(grey.max(initial=0))) - 1
        grey = np.round(grey * (255.0 / top)).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    return np.asarray(im.convert("RGB"))


def check_split(split: str) -> None:
    """Raise ``ValueError`` unless ``split`` is one of ``SPLITS``."""
    if split not in SPLITS:
        raise ValueError(
            f"split={split!r} is not known; use 'train', 'validation' (held out of the "
            "trainval list) or 'test'."
        )


def validation_holdout(
    names: Iterable[str],
    groups: Iterable,
    fraction: float = VALIDATION_FRACTION,
    seed: int = VALIDATION_SEED,
) -> set[str]:
    """Pick the validation names out of ``trainval``: the same share of every breed,
    always the same ones.

    Within each group (breed), the names are sorted, shuffled by a generator
    seeded with ``seed``, and the first ``round(fraction * n)`` are held out.
    If that rounds to nothing at all, one name of the largest group is held
    out, so a tiny folder still has a validation split.

    Args:
        names: image names, e.g. ``"Abyssinian_100"``.
        groups: the breed (class id or name) of each name.
        fraction: share held out, in ``(0, 0.5]``.
        seed: the generator's seed.

    Returns:
        The set of held-out names.

    Raises:
        ValueError: a bad ``fraction``, mismatched lengths, or fewer than two names.
    """
    names, groups = list(names), list(groups)
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fraction={fraction!r} must be in (0, 0.5].")
    if len(names) != len(groups):
        raise ValueError(f"{len(names)} names but {len(groups)} groups.")
    if len(set(names)) < 2:
        raise ValueError(
            "a validation split needs at least two trainval images; this list has "
            "fewer."
        )
    by_group: dict = defaultdict(list)
    for name, group in zip(names, groups, strict=True):
        by_group[str(group)].append(name)
    rng = np.random.default_rng(seed)
    held: set[str] = set()
    for group in sorted(by_group):
        members = sorted(set(by_group[group]))
        k = int(np.floor(fraction * len(members) + 0.5))
        held.update(rng.permutation(members)[:k].tolist())
    if not held:
        largest = max(sorted(by_group), key=lambda g: len(by_group[g]))
        held.add(str(rng.permutation(sorted(by_group[largest]))[0]))
    return held


def breed_of(name: str) -> str:
    """The breed in an Oxford image name: ``"american_bulldog_12"`` ->
    ``"american_bulldog"``.
    """
    return name.rsplit("_", 1)[0]
