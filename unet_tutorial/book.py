"""Helpers for the book's pages: which data and settings a page runs with, and numbers in prose.

A page calls ``book_profile()`` once. It picks:

* ``"full"``: a GPU and Oxford-IIIT Pet available: the real thing, full size;
* ``"cpu-oxford"``: Oxford-IIIT Pet available but no GPU (e.g. Binder):
  real data, small settings;
* ``"cpu-synthetic"``: no Oxford-IIIT Pet (the offline build machines): the
  synthetic stand-in and small settings.

Set ``UNET_TUTORIAL_PROFILE`` to one of these names to force a choice.
``profile.show()`` prints what was chosen at the top of the page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

PROFILES = ("full", "cpu-oxford", "cpu-synthetic")


@dataclass(frozen=True)
class BookProfile:
    """The data and settings a page runs with.

    Attributes:
        name: one of ``PROFILES``.
        source: ``"oxford"`` or ``"synthetic"``.
        image_size: side length of the images.
        base_filters: channels at the top level of the trained U-Nets.
        depth: pooling steps of the trained U-Nets.
        batch_size: batch size.
        epochs: training epochs.
        steps_per_epoch: batches per epoch (``None``: the whole split).
        learning_rate: Adam's step size.
        num_examples: synthetic split sizes ``(train, test)``.
        reason: why this profile was chosen.
    """

    name: str
    source: str
    image_size: int
    base_filters: int
    depth: int
    batch_size: int
    epochs: int
    steps_per_epoch: int | None
    learning_rate: float
    num_examples: tuple[int, int] | None
    reason: str

    @property
    def is_stand_in(self) -> bool:
        """``True`` when the page runs on the synthetic stand-in."""
        return self.source == "synthetic"

    def train_config(self, **overrides):
        """A ``TrainConfig`` with this profile's settings (and ``overrides``)."""
        from .training import TrainConfig

        settings = dict(
            base_filters=self.base_filters, depth=self.depth, image_size=self.image_size,
            batch_size=self.batch_size, epochs=self.epochs, steps_per_epoch=self.steps_per_epoch,
            learning_rate=self.learning_rate, source=self.source, num_examples=self.num_examples,
        )  # fmt: skip
        if self.name == "full":
            return TrainConfig.full_size(**overrides)
        settings.update(overrides)
        return TrainConfig(**settings)

    def banner(self) -> str:
        """A Markdown paragraph that says which data and settings this page used."""
        if self.is_stand_in:
            data = (
                "**Data: the SYNTHETIC TRIMAP STAND-IN, not Oxford-IIIT Pet.** Every image and number below "
                "comes from generated pets, so no figure on this page is an Oxford-IIIT Pet result."
            )
        else:
            data = "**Data: Oxford-IIIT Pet 4.x** (the official trainval and test splits)."
        steps = f"{self.steps_per_epoch} steps" if self.steps_per_epoch else "full"
        settings = (
            f"**Settings: `{self.name}`**: {self.image_size} px, base {self.base_filters} filters, depth "
            f"{self.depth}, batch {self.batch_size}, {self.epochs} epochs ({steps} per epoch), learning rate "
            f"{self.learning_rate:g}. {self.reason}"
        )
        return f"> {data}\n>\n> {settings}"

    def show(self) -> None:
        """Display the banner (rendered Markdown in Jupyter, plain text elsewhere)."""
        try:
            from IPython.display import Markdown, display

            display(Markdown(self.banner()))
        except ImportError:  # pragma: no cover - plain Python
            print(self.banner())


# Small enough for the book's 2-core build (about a minute per training run), large enough
# that a U-Net clearly learns the stand-in (validation mean IoU about 0.7).
_CPU = dict(image_size=64, base_filters=8, depth=3, batch_size=16, epochs=8, steps_per_epoch=40, learning_rate=3e-3)


@cache
def _detect() -> tuple[bool, bool]:
    import tensorflow as tf

    from .data import oxford_pets_prepared, oxford_server_reachable

    gpu = bool(tf.config.list_physical_devices("GPU"))
    oxford = oxford_pets_prepared() or oxford_server_reachable()
    return gpu, oxford


def book_profile(name: str | None = None) -> BookProfile:
    """Choose the page's data and settings (see the module docstring).

    Args:
        name: force a profile; default: ``$UNET_TUTORIAL_PROFILE``, else detected.

    Returns:
        A ``BookProfile``.
    """
    name = name or os.environ.get("UNET_TUTORIAL_PROFILE") or None
    if name is not None and name not in PROFILES:
        raise ValueError(f"profile {name!r} is not known; use one of {', '.join(PROFILES)}.")
    if name is None:
        gpu, oxford = _detect()
        if gpu and oxford:
            name, reason = "full", "A GPU and Oxford-IIIT Pet are available: the full-size run."
        elif oxford:
            name, reason = "cpu-oxford", "No GPU here, so the models are small and train briefly."
        else:
            name, reason = (
                "cpu-synthetic",
                "Oxford-IIIT Pet cannot be loaded on this machine (no network, not prepared), and there is no "
                "GPU: small models, few steps. Open the page in Colab with a GPU for the real run.",
            )
    else:
        reason = f"Chosen with UNET_TUTORIAL_PROFILE={name} (this build did not probe for Oxford-IIIT Pet or a GPU)."
    if name == "full":
        return BookProfile(name, "oxford", 128, 64, 4, 32, 40, None, 1e-3, None, reason)
    if name == "cpu-oxford":
        return BookProfile(name, "oxford", num_examples=None, reason=reason, **_CPU)
    return BookProfile(name, "synthetic", num_examples=(512, 128), reason=reason, **_CPU)


def glue(name: str, value, fmt: str = "{}") -> str:
    """Make a computed number available to the page's prose, and return it as text.

    In the built book, ``{glue:text}`name``` in a Markdown cell shows the value
    (MyST-NB's ``glue``); elsewhere (Colab, plain Jupyter) this just returns
    the formatted text.
    """
    text = fmt.format(value)  # glued as a str: MyST-NB strips the quotes of its repr
    try:
        from myst_nb import glue as _glue

        _glue(name, text, display=False)
    except ImportError:
        pass
    return text
