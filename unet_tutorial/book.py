"""Helpers for the book's pages: which data and settings a page runs with, and numbers in prose.

A page calls ``book_profile()`` once. The data comes from ``resolve_source("auto")``
(tfds prepared, ``$UNET_TUTORIAL_OXFORD_DIR``, a tfds download, or the
stand-in); the settings are a ``TrainConfig`` preset:

* ``"full"``: a GPU and Oxford-IIIT Pet: the full-size run;
* ``"cpu"``: Oxford-IIIT Pet (or a folder of it) but no GPU, e.g. Binder or
  the book's build machines: the CPU recipe, a few minutes of training;
* ``"cpu-synthetic"``: no Oxford-IIIT Pet at all: the synthetic stand-in and
  small settings.

Set ``UNET_TUTORIAL_PROFILE`` to one of these names to force the settings
(``"cpu-synthetic"`` also forces the stand-in). ``profile.show()`` prints
which data and settings the page used, at the top of the page.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from .figures import data_credit
from .sources import DataSource, resolve_source
from .training import PRESETS, TrainConfig

PROFILES = tuple(PRESETS)


@dataclass(frozen=True)
class BookProfile:
    """The data and settings a page runs with.

    Attributes:
        name: one of ``PROFILES`` (the name of the ``TrainConfig`` preset).
        config: the training settings (``TrainConfig.preset(name)``, with the
            resolved data source filled in).
        data: the resolved data source.
        reason: why this profile was chosen.
    """

    name: str
    config: TrainConfig
    data: DataSource
    reason: str

    @property
    def is_stand_in(self) -> bool:
        """``True`` when the page runs on the synthetic stand-in."""
        return self.data.is_stand_in

    @property
    def credit(self) -> str:
        """The credit line for figures of this page's data (``data_credit``)."""
        return data_credit(self.is_stand_in)

    @property
    def image_size(self) -> int:
        """Side length of the page's images."""
        return self.config.image_size

    def train_config(self, **overrides) -> TrainConfig:
        """This profile's ``TrainConfig``, with ``overrides`` (e.g. ``output_dir=...``)."""
        return dataclasses.replace(self.config, **overrides)

    def load(self, split: str, **kwargs):
        """``load_dataset`` on this profile's data, image size and batch size: ``(dataset, info)``."""
        from .data import load_dataset

        sizes = dict(zip(("train", "validation", "test"), self.config.num_examples or (None,) * 3, strict=True))
        kwargs = {"num_examples": sizes[split], "batch_size": self.config.batch_size, **kwargs}
        return load_dataset(self.data, split, kwargs.pop("image_size", self.config.image_size), **kwargs)

    def banner(self) -> str:
        """A Markdown paragraph that says which data and settings this page used."""
        from .data import describe_source, is_full_oxford

        sizes = dict(zip(("train", "validation", "test"), self.config.num_examples or (), strict=False))
        what = describe_source(self.data, sizes or None)
        if self.is_stand_in:
            data = (
                f"**Data: {what}.** Every image and number below comes from generated pets, so no figure on "
                "this page is an Oxford-IIIT Pet result."
            )
        elif not is_full_oxford(self.data.kind, what):
            data = (
                f"**Data: {what}** (real pets; {self.data.reason}) A score on this subset is not an "
                "Oxford-IIIT Pet result in the usual sense: that needs the full official splits of 37 breeds."
            )
        else:
            data = f"**Data: {what}.**"
        c = self.config
        steps = f"{c.steps_per_epoch} steps" if c.steps_per_epoch else "the whole split"
        settings = (
            f"**Settings: `{self.name}`**: {c.image_size} px, base {c.base_filters} filters, depth {c.depth}, "
            f"batch {c.batch_size}, {c.epochs} epochs ({steps} per epoch), learning rate {c.learning_rate:g} "
            f"({c.lr_schedule}). {self.reason}"
        )
        return f"> {data}\n>\n> {settings}"

    def show(self) -> None:
        """Display the banner (rendered Markdown in Jupyter, plain text elsewhere)."""
        try:
            from IPython.display import Markdown, display

            display(Markdown(self.banner()))
        except ImportError:  # pragma: no cover - plain Python
            print(self.banner())


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def book_profile(name: str | None = None) -> BookProfile:
    """Choose the page's data and settings (see the module docstring).

    Args:
        name: force a profile; default: ``$UNET_TUTORIAL_PROFILE``, else chosen
            from the data found and whether there is a GPU.

    Returns:
        A ``BookProfile``.

    Raises:
        ValueError: an unknown profile name.
    """
    name = name or os.environ.get("UNET_TUTORIAL_PROFILE") or None
    if name is not None and name not in PROFILES:
        raise ValueError(f"profile {name!r} is not known; use one of {', '.join(PROFILES)}.")
    data = resolve_source("synthetic" if name == "cpu-synthetic" else "auto")
    if name is not None:
        reason = f"Settings chosen with UNET_TUTORIAL_PROFILE={name}."
    elif data.is_stand_in:
        name, reason = "cpu-synthetic", (
            "Oxford-IIIT Pet cannot be loaded on this machine (not prepared, no folder named, no network): small "
            "models, few steps. Open the page in Colab for the real data."
        )
    elif _has_gpu():
        name, reason = "full", "A GPU and Oxford-IIIT Pet are available: the full-size run."
    else:
        name, reason = "cpu", "No GPU here: the CPU recipe (a small U-Net, a few minutes of training)."
    config = TrainConfig.preset(name, source=data.source)
    return BookProfile(name, config, data, reason)


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
