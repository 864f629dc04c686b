"""Size arithmetic for the U-Net, without building a model.

These helpers answer "which input sizes can a U-Net of a given depth take, and
what comes out?" for both padding modes:

* ``padding="same"``: every 3x3 convolution keeps the size, every pooling
  halves it, so the input must be divisible by ``2**depth`` and the output has
  the input's size.
* ``padding="valid"`` (the original paper): every 3x3 convolution trims one
  pixel on each side (size - 2), so a conv block trims 4. Every map that is
  pooled must be even, otherwise the up-convolution cannot restore it exactly
  and the crop-and-copy would be lopsided. With ``depth=4`` a 572x572 tile
  gives a 388x388 output, the paper's Figure 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from .anatomy import level_name
from .checks import is_whole

PADDINGS = ("same", "valid")


def check_padding(padding: str) -> None:
    """Raise ``ValueError`` unless ``padding`` is one of ``PADDINGS``."""
    if padding not in PADDINGS:
        raise ValueError(
            f"padding={padding!r} is not supported; use 'same' (output size = input "
            "size) or 'valid' (the paper's unpadded convolutions)."
        )


MAX_DEPTH = 12
"""The deepest U-Net the helpers accept: 12 poolings already need inputs of at least
4,096 px.
"""

MAX_LISTED = 100_000
"""``valid_input_sizes`` refuses to list more sizes than this (ask for a narrower
range).
"""


def check_depth(depth: int) -> None:
    """Raise ``ValueError`` unless ``depth`` is an integer from 1 to ``MAX_DEPTH``."""
    if not is_whole(depth, 1):
        raise ValueError(
            f"depth={depth!r} must be a positive integer (the number of pooling "
            "steps); the paper uses depth=4."
        )
    if depth > MAX_DEPTH:
        raise ValueError(
            f"depth={depth} is more than {MAX_DEPTH}: its input would need at least "
            f"2**{depth} = {2**depth:,} px per side. The paper uses depth=4; 5 or 6 is "
            "already deep for 128-512 px images."
        )


def _progression(depth: int, padding: str) -> tuple[int, int]:
    """``(first, step)``: the valid sizes are exactly
    ``first, first + step, first + 2 * step, ...``.

    Every pooled map must be even, so going back up from a bottleneck input
    ``b`` the sizes are ``2 * s + trim`` per level: the input is
    ``2**depth * b + trim * (2**depth - 1)`` (trim 4 for valid padding, 0 for
    same). Larger ``b`` only makes every map larger, so the first ``b`` that
    works starts an arithmetic progression with step ``2**depth``.
    """
    step, trim = 2**depth, (4 if padding == "valid" else 0)
    for b in range(1, 16):
        first = step * b + trim * (step - 1)
        if _trace(first, depth, padding) is not None:
            return first, step
    raise AssertionError(
        "unreachable: a bottleneck of 15 px always works"
    )  # pragma: no cover


@dataclass(frozen=True)
class LevelSize:
    """Spatial sizes at one level of the U, for a square input.

    Attributes:
        level: ``"enc1"`` ... ``"encN"``, ``"bottleneck"``, ``"decN"`` ... ``"dec1"``.
        size_in: size of the map that enters the level (after pooling or
            up-convolution).
        size_out: size after the level's two 3x3 convolutions.
    """

    level: str
    size_in: int
    size_out: int


def _trace(size: int, depth: int, padding: str) -> list[LevelSize] | None:
    """Follow one side length through the U; ``None`` if some step is invalid."""
    trim = 4 if padding == "valid" else 0
    levels: list[LevelSize] = []
    s = size
    for k in range(1, depth + 1):
        out = s - trim
        if out < 2 or out % 2:
            return None
        levels.append(LevelSize(level_name("enc", k, depth), s, out))
        s = out // 2
    out = s - trim
    if out < 1:
        return None
    levels.append(LevelSize(level_name("enc", depth + 1, depth), s, out))
    s = out
    for k in range(depth, 0, -1):
        up = 2 * s
        out = up - trim
        if out < 1:
            return None
        levels.append(LevelSize(level_name("dec", k, depth), up, out))
        s = out
    return levels


def is_valid_input_size(size: int, depth: int = 4, padding: str = "same") -> bool:
    """Whether a U-Net of this depth and padding accepts a side length of ``size``.

    Args:
        size: input height or width in pixels.
        depth: number of pooling steps (4 in the paper).
        padding: ``"same"`` or ``"valid"``.

    Returns:
        ``True`` if every pooled map has an even size (and, for valid padding,
        no map shrinks to nothing).
    """
    check_depth(depth)
    check_padding(padding)
    if not is_whole(size, 1):
        return False
    return _trace(size, depth, padding) is not None


def valid_input_sizes(
    depth: int = 4, padding: str = "same", *, min_size: int = 1, max_size: int = 1024
) -> list[int]:
    """All side lengths in ``[min_size, max_size]`` that the network accepts.

    Example:
        >>> valid_input_sizes(depth=4, padding="same", max_size=64)
        [16, 32, 48, 64]
        >>> 572 in valid_input_sizes(depth=4, padding="valid")
        True
    """
    check_depth(depth)
    check_padding(padding)
    first, step = _progression(depth, padding)
    start = (
        first if min_size <= first else first + -(-(min_size - first) // step) * step
    )
    if max_size < start:
        return []
    count = (max_size - start) // step + 1
    if count > MAX_LISTED:
        raise ValueError(
            f"{count:,} valid sizes lie in [{min_size}, {max_size}]; ask for a "
            f"narrower range (at most {MAX_LISTED:,}): they are {start}, "
            f"{start + step}, ... in steps of {step}."
        )
    return list(range(start, max_size + 1, step))


def nearest_valid_sizes(size: int, depth: int = 4, padding: str = "same") -> list[int]:
    """The valid side lengths closest to ``size``: the one below and the one above.

    Used to turn "this size does not work" into "try 128 or 144". Computed from
    the progression of valid sizes, so it answers at once for any size.
    """
    check_depth(depth)
    check_padding(padding)
    first, step = _progression(depth, padding)
    if size <= first:
        return [first]
    below = first + (size - first) // step * step
    return [below] if below == size else [below, below + step]


def check_input_size(
    size: int, depth: int = 4, padding: str = "same", *, name: str | None = None
) -> None:
    """Raise a ``ValueError`` naming the nearest valid sizes if ``size`` is invalid.

    ``name``: the setting that gave the size (``"crop_size"``), named in the message.
    """
    if is_valid_input_size(size, depth, padding):
        return
    rule = (
        f"divisible by 2**depth = {2**depth}"
        if padding == "same"
        else "such that every map that is pooled has an even size (e.g. 572 for depth "
        "4)"
    )
    near = (
        nearest_valid_sizes(size, depth, padding)
        if isinstance(size, int) and size > 0
        else []
    )
    hint = (
        f"; the nearest valid sizes are {' and '.join(map(str, near))}" if near else ""
    )
    what = f"input size {size!r}"
    if name:
        what = f"{name}={size!r} (the model's input size)"
    raise ValueError(
        f"{what} does not fit a U-Net with depth={depth} and padding={padding!r}: the "
        f"size must be {rule}{hint} (ut.valid_input_sizes(depth, padding) lists them)."
    )


def level_sizes(size: int, depth: int = 4, padding: str = "same") -> list[LevelSize]:
    """Side lengths level by level, from ``enc1`` down to the bottleneck and up to
    ``dec1``.

    Args:
        size: input side length (must be valid, see ``check_input_size``).
        depth: number of pooling steps.
        padding: ``"same"`` or ``"valid"``.

    Returns:
        One ``LevelSize`` per level, in the order the data flows.
    """
    check_input_size(size, depth, padding)
    return _trace(size, depth, padding) or []


def output_size(size: int, depth: int = 4, padding: str = "same") -> int:
    """Side length of the segmentation map for an input side length.

    Example:
        >>> output_size(572, depth=4, padding="valid")
        388
        >>> output_size(128, depth=4, padding="same")
        128
    """
    return level_sizes(size, depth, padding)[-1].size_out


@dataclass(frozen=True)
class ReceptiveField:
    """How much of the input one pixel of a level's output can see.

    Attributes:
        level: level name (``enc1`` ... ``bottleneck``).
        size: side of the input window that influences one output pixel.
        jump: input pixels between neighbouring output pixels (the stride so far).
    """

    level: str
    size: int
    jump: int


def receptive_fields(depth: int = 4, kernel_size: int = 3) -> list[ReceptiveField]:
    """Receptive field after each encoder level's convolutions, and at the bottleneck.

    Each ``k×k`` convolution adds ``(k - 1) × jump`` pixels; each 2×2 pooling
    adds ``jump`` and doubles the jump. With 3×3 convolutions and depth 4 a
    bottleneck pixel sees a 140×140 window of the input (padding does not
    change the field, only the output size).

    Returns:
        One ``ReceptiveField`` per encoder level (after its two convolutions)
        and one for the bottleneck.
    """
    check_depth(depth)
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size={kernel_size!r} must be a positive odd integer.")
    size, jump, out = 1, 1, []
    for k in range(1, depth + 2):
        size += 2 * (kernel_size - 1) * jump  # two convolutions
        out.append(ReceptiveField(level_name("enc", k, depth), size, jump))
        if k <= depth:
            size += jump  # 2x2 pooling, stride 2
            jump *= 2
    return out
