"""A synthetic stand-in for Oxford-IIIT Pet: textured "pets" with true trimaps.

A machine without Oxford-IIIT Pet (offline, nothing prepared) can still run
every chapter: it trains and evaluates on these images instead, and says so.
They are made to be *learnable but not trivial*:

* every pet has a body, a head with two ears, a tail and legs, at a random
  size, position and angle, with a striped or spotted "fur" texture;
* backgrounds are textured too (soft gradients, blotches, fine grain), and
  may hold a plain "rock" that is not a pet;
* the pet's colour and the background's colour are drawn from the **same**
  palette, so colour alone cannot tell pet from background: a model has to
  use texture and shape;
* the mask is a real trimap: pet interior, background, and a thin border
  band along the outline, like the Oxford annotations.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .checks import is_whole

# Colours shared by pets and backgrounds (RGB in [0, 1]).
PALETTE = np.array(
    [
        [0.55, 0.40, 0.25],  # brown
        [0.85, 0.75, 0.55],  # sand
        [0.30, 0.30, 0.32],  # grey
        [0.90, 0.90, 0.88],  # white
        [0.15, 0.12, 0.10],  # black
        [0.80, 0.50, 0.20],  # ginger
        [0.35, 0.50, 0.30],  # green (backgrounds, and the odd dyed pet)
        [0.45, 0.55, 0.70],  # blue-grey
    ],
    dtype=np.float32,
)


def _ellipse(yy, xx, cy, cx, ry, rx, angle):
    c, s = np.cos(angle), np.sin(angle)
    dy, dx = yy - cy, xx - cx
    u = (dx * c + dy * s) / rx
    v = (-dx * s + dy * c) / ry
    return u * u + v * v <= 1.0


def _triangle(yy, xx, pts):
    (y0, x0), (y1, x1), (y2, x2) = pts

    def side(ya, xa, yb, xb):
        return (xx - xa) * (yb - ya) - (yy - ya) * (xb - xa)

    d0, d1, d2 = side(y0, x0, y1, x1), side(y1, x1, y2, x2), side(y2, x2, y0, x0)
    neg = (d0 < 0) | (d1 < 0) | (d2 < 0)
    pos = (d0 > 0) | (d1 > 0) | (d2 > 0)
    return ~(neg & pos)


def _thick_segment(yy, xx, p, q, width):
    (py, px), (qy, qx) = p, q
    vy, vx = qy - py, qx - px
    t = np.clip(((yy - py) * vy + (xx - px) * vx) / max(vy * vy + vx * vx, 1e-6), 0, 1)
    return (yy - (py + t * vy)) ** 2 + (xx - (px + t * vx)) ** 2 <= width * width


def _pet_shape(rng: np.random.Generator, size: int, yy, xx) -> np.ndarray:
    """Boolean mask of one pet: body, head, ears, tail and legs."""
    s = size
    body_rx = rng.uniform(0.16, 0.28) * s
    body_ry = body_rx * rng.uniform(0.5, 0.75)
    angle = rng.uniform(-0.6, 0.6)
    cy = rng.uniform(0.35, 0.65) * s
    cx = rng.uniform(0.35, 0.65) * s
    c, si = np.cos(angle), np.sin(angle)
    direction = 1 if rng.uniform() < 0.5 else -1  # head on the right or the left
    # unit vector along the body, towards the head
    ax, ay = c * direction, si * direction

    shape = _ellipse(yy, xx, cy, cx, body_ry, body_rx, angle)
    head_r = body_ry * rng.uniform(0.7, 1.0)
    hx = cx + ax * (body_rx * 0.95)
    hy = cy + ay * (body_rx * 0.95) - body_ry * 0.5
    shape |= _ellipse(yy, xx, hy, hx, head_r, head_r * 1.05, 0.0)
    ear = head_r * rng.uniform(0.7, 1.1)
    for side in (-1, 1):
        bx = hx + side * head_r * 0.55
        by = hy - head_r * 0.5
        tip = (by - ear, bx + side * head_r * 0.25)
        shape |= _triangle(
            yy,
            xx,
            [(by, bx - head_r * 0.35), (by + head_r * 0.2, bx + head_r * 0.35), tip],
        )
    # tail: a thick segment from the back end, up and out
    tx0, ty0 = cx - ax * body_rx * 0.9, cy - ay * body_rx * 0.9
    tail_len = body_rx * rng.uniform(0.6, 1.1)
    tx1 = tx0 - ax * tail_len * 0.7
    ty1 = ty0 - tail_len * rng.uniform(0.3, 0.8)
    shape |= _thick_segment(yy, xx, (ty0, tx0), (ty1, tx1), max(1.5, body_ry * 0.15))
    # four legs
    leg_len = body_ry * rng.uniform(0.8, 1.3)
    for f in (-0.6, -0.3, 0.35, 0.65):
        lx = cx + ax * body_rx * f
        ly = cy + ay * body_rx * f + body_ry * 0.6
        shape |= _thick_segment(
            yy, xx, (ly, lx), (ly + leg_len, lx), max(1.2, body_ry * 0.14)
        )
    return shape


def _colour(
    rng: np.random.Generator, exclude: int | None = None
) -> tuple[int, np.ndarray]:
    idx = int(rng.integers(len(PALETTE)))
    if exclude is not None and idx == exclude:
        idx = (idx + 1 + int(rng.integers(len(PALETTE) - 1))) % len(PALETTE)
    return idx, PALETTE[idx] * rng.uniform(0.85, 1.15) + rng.normal(0, 0.03, 3)


def _background(rng: np.random.Generator, size: int, yy, xx) -> tuple[np.ndarray, int]:
    idx, base = _colour(rng)
    _, other = _colour(rng, exclude=idx)
    img = np.empty((size, size, 3), np.float32)
    # a soft linear gradient between two palette colours
    g = (np.cos(rng.uniform(0, np.pi)) * xx + np.sin(rng.uniform(0, np.pi)) * yy) / size
    g = (g - g.min()) / max(g.max() - g.min(), 1e-6) * rng.uniform(0.2, 0.6)
    img[:] = base * (1 - g[..., None]) + other * g[..., None]
    # low-frequency blotches
    blot = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=size / 10)
    blot /= np.abs(blot).max() + 1e-6
    img += 0.12 * blot[..., None]
    return img, idx


def _fur(rng: np.random.Generator, size: int, yy, xx) -> np.ndarray:
    """A fur-like multiplicative texture in about [0.6, 1.3]: stripes or spots."""
    if rng.uniform() < 0.5:
        theta = rng.uniform(0, np.pi)
        period = rng.uniform(3.0, 6.0)
        wave = np.sin((np.cos(theta) * xx + np.sin(theta) * yy) * 2 * np.pi / period)
        return 1.0 + 0.25 * wave
    spots = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma=1.2)
    spots = spots / (np.abs(spots).max() + 1e-6)
    return 1.0 + 0.35 * np.sign(spots) * np.abs(spots) ** 0.5


def make_trimap(shape: np.ndarray, border: int = 1) -> np.ndarray:
    """Turn a boolean object mask into trimap labels
    ``{0: pet, 1: background, 2: border}``.

    The border band covers the pixels within ``border`` pixels of the outline
    on either side (so a 1-pixel setting gives a band about 2 pixels wide),
    like the uncertain band along the outline in the Oxford annotations.

    Args:
        shape: boolean array ``(H, W)``, ``True`` inside the object.
        border: half-width of the band in pixels (>= 1).

    Returns:
        ``int32`` array ``(H, W)`` with values in ``{0, 1, 2}``.
    """
    if border < 1:
        raise ValueError(f"border={border!r} must be at least 1 pixel.")
    shape = np.asarray(shape, dtype=bool)
    inner = ndimage.binary_erosion(shape, iterations=border)
    outer = ndimage.binary_dilation(shape, iterations=border)
    labels = np.ones(shape.shape, np.int32)
    labels[inner] = 0
    labels[outer & ~inner] = 2
    return labels


def make_synthetic_pet(
    rng: np.random.Generator, image_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic image and its trimap, drawn with ``rng``.

    Returns:
        ``(image, mask)``: ``float32 (S, S, 3)`` in ``[0, 1]`` and
        ``int32 (S, S)`` in ``{0, 1, 2}``.
    """
    s = image_size
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    img, bg_idx = _background(rng, s, yy, xx)
    if rng.uniform() < 0.5:  # a plain rock: a blob that is not a pet
        _, rock_col = _colour(rng)
        rock = _ellipse(
            yy,
            xx,
            rng.uniform(0, s),
            rng.uniform(0, s),
            rng.uniform(0.06, 0.15) * s,
            rng.uniform(0.06, 0.2) * s,
            rng.uniform(0, np.pi),
        )
        img[rock] = rock_col
    shape = _pet_shape(rng, s, yy, xx)
    # the pet's colour comes from the same palette; half the time it is the
    # background's own colour, so colour alone cannot separate the two.
    if rng.uniform() < 0.5:
        pet_col = PALETTE[bg_idx] * rng.uniform(0.9, 1.1)
    else:
        _, pet_col = _colour(rng)
    fur = _fur(rng, s, yy, xx)
    img[shape] = pet_col * fur[shape][:, None]
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)  # sensor grain
    img = np.clip(img, 0.0, 1.0).astype(np.float32)
    return img, make_trimap(shape, border=max(1, s // 128))


def make_synthetic_pets(
    n: int, image_size: int = 128, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic pet images with trimaps; the same seed gives the same arrays.

    This is a **stand-in** for Oxford-IIIT Pet, for machines that cannot
    download it. Results on it are not Oxford-IIIT Pet results.

    Args:
        n: number of examples (>= 1).
        image_size: side length ``S`` in pixels (>= 32).
        seed: random seed.

    Returns:
        ``(images, masks)``: ``float32 (n, S, S, 3)`` in ``[0, 1]`` and
        ``int32 (n, S, S)`` with ``0 = pet, 1 = background, 2 = border``
        (the same format as ``load_oxford_pets``).
    """
    if not is_whole(n, 1, numpy_ok=True):
        raise ValueError(f"n={n!r} must be a positive number of examples.")
    if not is_whole(image_size, 32, numpy_ok=True):
        raise ValueError(
            f"image_size={image_size!r} must be an integer of at least 32 pixels."
        )
    rng = np.random.default_rng(seed)
    images = np.empty((n, image_size, image_size, 3), np.float32)
    masks = np.empty((n, image_size, image_size), np.int32)
    for i in range(n):
        images[i], masks[i] = make_synthetic_pet(rng, image_size)
    return images, masks


def make_synthetic_cells(
    size: int = 512, *, num_cells: int = 80, membrane: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic stand-in for an EM slice: touching cells parted by dark membranes.

    The cells are the Voronoi regions of ``num_cells`` random points (every
    pixel belongs to its nearest point); the membranes are the pixels within
    about ``membrane / 2`` px of a border between two regions. The image has
    a grey level per cell, darker membranes, a blur and noise. It looks
    nothing like real tissue: it only lets the EM pages run without the data.

    Args:
        size: side of the square slice.
        num_cells: cells in the slice.
        membrane: membrane width in pixels.
        seed: seeds everything; the same seed gives the same slice.

    Returns:
        ``(image uint8 (size, size), mask uint8 (size, size))``, the mask
        0 = membrane and 1 = cell.
    """
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"size={size!r} must be an integer of at least 16.")
    if not isinstance(num_cells, int) or num_cells < 2:
        raise ValueError(f"num_cells={num_cells!r} must be an integer of at least 2.")
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    seeds = np.zeros((size, size), bool)
    seeds[tuple(rng.integers(0, size, (2, num_cells)))] = True
    _, (iy, ix) = ndimage.distance_transform_edt(~seeds, return_indices=True)
    region = iy * size + ix  # each pixel's nearest seed
    border = np.zeros((size, size), bool)
    border[:-1] |= region[:-1] != region[1:]
    border[:, :-1] |= region[:, :-1] != region[:, 1:]
    walls = ndimage.distance_transform_edt(~border) < membrane / 2
    levels = rng.uniform(0.55, 0.85, size * size)[region]
    image = np.where(walls, 0.2, levels)
    image = ndimage.gaussian_filter(image, 1.0) + rng.normal(0, 0.05, image.shape)
    image = np.clip(image * 255, 0, 255).astype(np.uint8)
    return image, (~walls).astype(np.uint8)
