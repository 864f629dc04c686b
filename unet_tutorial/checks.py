"""Argument checks shared by the package, each written once (TensorFlow-free).

Every public function checks its arguments up front and raises a
``ValueError`` that names the argument, the value it got and what would work,
instead of failing later deep inside TensorFlow.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

ON_CORRUPT = ("raise", "skip")
"""What a folder loader does with a file it cannot decode."""

SPLITS = ("train", "validation", "test")
"""The splits every loader knows. ``train`` and ``validation`` split the official
``trainval`` list (see ``validation_holdout``); ``test`` is the official test list.
"""


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


def check_choice(name: str, value, choices: Iterable, hint: str = "") -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``.

    Args:
        name: the argument's name, for the message (``"padding"``).
        value: what was passed.
        choices: the accepted values, listed in the message.
        hint: an optional sentence on what each choice means.
    """
    choices = tuple(choices)
    if isinstance(value, bool) or value not in choices:
        listed = ", ".join(map(repr, choices))
        raise ValueError(
            f"{name}={value!r} is not known; use one of {listed}."
            + (f" {hint}" if hint else "")
        )


def check_rate(name: str, value, hint: str = "") -> None:
    """Raise ``ValueError`` unless ``value`` is a number in ``[0, 1)`` (a drop-out rate,
    a weight decay).
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 <= value < 1
    ):
        raise ValueError(
            f"{name}={value!r} must be a rate in [0, 1)"
            + (f"; {hint}" if hint else ".")
        )


def check_positive_int(name: str, value, minimum: int = 1, hint: str = "") -> None:
    """Raise ``ValueError`` unless ``value`` is an integer (no bool) >= ``minimum``."""
    if not is_whole(value, minimum):
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(
            f"{name}={value!r} must be {what}" + (f" ({hint})." if hint else ".")
        )
