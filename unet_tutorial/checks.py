"""Small argument checks shared by the package (TensorFlow-free)."""

from __future__ import annotations

import numbers


def is_whole(value, minimum: int | None = 1, *, numpy_ok: bool = False) -> bool:
    """Whether ``value`` is an integer (never a bool) of at least ``minimum``.

    ``minimum=None`` accepts any integer. ``True`` is refused although Python
    counts it as 1: ``epochs=True`` is a mistake, not one epoch. NumPy
    integers count only with ``numpy_ok`` (settings that are written to JSON
    must be Python ints).
    """
    kinds = numbers.Integral if numpy_ok else int
    if isinstance(value, bool) or not isinstance(value, kinds):
        return False
    return minimum is None or value >= minimum
