"""How much memory a U-Net needs, worked out before it is built (no TensorFlow).

``build_unet`` at ``depth=10`` has a bottleneck of ``base_filters * 1024``
channels: billions of weights, which Keras would try to allocate for a
minute before failing. ``check_model_fits`` and ``check_training_fits``
refuse such settings at once, naming the estimate and what to lower.

The counts follow ``build_unet`` (3x3 convolutions without bias, each with
batch normalization's four numbers per channel; 2x2 up-convolutions with
bias; a 1x1 head with bias); activations are those of ``padding="same"``,
which ``"valid"`` never exceeds.
"""

from __future__ import annotations

import os

OPTIMIZER_COPIES = 4
"""Numbers kept per trainable weight while training: the weight, its gradient and
Adam's two moments.
"""

MAPS_PER_BLOCK = 6
"""Feature maps a conv block keeps for the backward pass: conv, BN, ReLU, twice."""


def _block_parameters(c_in: int, filters: int) -> int:
    """Two 3x3 convolutions without bias, each with BN (gamma, beta, mean, variance)."""
    return 9 * c_in * filters + 9 * filters * filters + 8 * filters


def unet_parameters(
    base_filters: int = 64,
    depth: int = 4,
    channels: int = 3,
    classes: int = 3,
    *,
    skip_connections: bool = True,
) -> int:
    """The number of weights of ``build_unet`` with these settings (``count_params``).

    Args:
        base_filters: channels at the top level.
        depth: pooling steps.
        channels: input channels.
        classes: output classes.
        skip_connections: whether the decoder joins the encoder's maps.

    Returns:
        Every weight, batch normalization's moving statistics included.
    """
    filters = [base_filters * 2**k for k in range(depth + 1)]  # levels 1 .. bottom
    total, c_in = 0, channels
    for f in filters:  # the encoder levels, then the bottleneck
        total += _block_parameters(c_in, f)
        c_in = f
    for below, f in zip(filters[:0:-1], filters[-2::-1], strict=True):
        total += 4 * below * f + f  # the 2x2 up-convolution, with bias
        total += _block_parameters(2 * f if skip_connections else f, f)
    return total + filters[0] * classes + classes


def unet_activations(
    size: int,
    base_filters: int = 64,
    depth: int = 4,
    channels: int = 3,
    classes: int = 3,
) -> int:
    """Numbers in the feature maps of one ``size`` x ``size`` example, input to logits.

    Every map a layer writes is counted: what training keeps for the backward
    pass.
    """
    total = size * size * (channels + classes)
    for k in range(depth + 1):
        side, f = size / 2**k, base_filters * 2**k
        maps = MAPS_PER_BLOCK  # the conv block of the encoder (or the bottleneck)
        if k < depth:
            maps += 0.25 + 1 + 2 + MAPS_PER_BLOCK  # pool; up-conv, concat, decoder
        total += int(side * side * f * maps)
    return total


def machine_memory() -> int | None:
    """This machine's memory in bytes, or ``None`` where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


MEMINFO = "/proc/meminfo"
"""Where Linux reports memory; ``available_memory`` reads its ``MemAvailable``."""


def available_memory() -> int | None:
    """Bytes that new allocations can take now without swapping, or ``None`` if unknown.

    Linux's ``MemAvailable`` (``MEMINFO``): free memory plus the caches the
    kernel can drop, less what other programs hold. Where it is not reported
    (macOS, Windows, old kernels), the machine's total (``machine_memory``).
    """
    try:
        with open(MEMINFO) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return machine_memory()


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def _refuse_beyond_memory(need: float, what: str, lower: str) -> None:
    have, total = available_memory(), machine_memory()
    if have is None or need <= have:
        return
    if total is not None and have < total:
        where = (
            f"the {_gb(have)} available now (this machine has {_gb(total)}; "
            "other programs hold the rest)"
        )
    else:
        where = f"this machine's {_gb(have)}"
    raise ValueError(
        f"{what} needs about {_gb(need)} of memory, more than {where}; lower {lower}."
    )


def check_model_fits(
    base_filters: int, depth: int, channels: int = 3, classes: int = 3
) -> None:
    """Refuse a U-Net whose weights alone would not fit in the memory available now.

    Building needs the float32 weights and, while the largest kernel is
    initialized, a second copy of it.

    Raises:
        ValueError: naming the parameter count, the memory it needs, the
            memory available (``available_memory``), and the options to lower.
    """
    params = unet_parameters(base_filters, depth, channels, classes)
    top = base_filters * 2**depth
    largest = 9 * top * top
    _refuse_beyond_memory(
        4 * (params + largest),
        f"a U-Net of base_filters={base_filters}, depth={depth} ({params:,} "
        "parameters)",
        "base_filters or depth (--base-filters, --depth)",
    )


def check_training_fits(
    image_size: int,
    batch_size: int,
    base_filters: int,
    depth: int,
    *,
    channels: int = 3,
    classes: int = 3,
    mixed_precision: bool = False,
) -> None:
    """Refuse training settings that would not fit in the memory available now.

    The estimate: the weights with their gradients and optimizer state
    (``OPTIMIZER_COPIES`` float32 numbers each), and one batch's feature maps
    (float16 under mixed precision, else float32).

    Raises:
        ValueError: naming the estimate, the memory available
            (``available_memory``), and the options to lower.
    """
    check_model_fits(base_filters, depth, channels, classes)
    params = unet_parameters(base_filters, depth, channels, classes)
    maps = batch_size * unet_activations(image_size, base_filters, depth, channels)
    need = 4 * OPTIMIZER_COPIES * params + (2 if mixed_precision else 4) * maps
    _refuse_beyond_memory(
        need,
        f"training at image_size={image_size}, batch_size={batch_size}, "
        f"base_filters={base_filters}, depth={depth} ({_gb(maps * 4)} of feature "
        "maps per batch)",
        "image_size, batch_size, base_filters or depth (--size, --batch-size, "
        "--base-filters, --depth)",
    )
