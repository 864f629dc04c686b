"""Helpers for the book's pages: which data and settings a page runs with, and numbers
in prose.

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

The chapters read the same in Colab, Jupyter and the built book, so they use
no MyST-only syntax: ``show_source(obj)`` displays the installed package's
real source, and ``say(f"...")`` writes a computed number into a sentence.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..pictures.figures import data_credit
from .config import PRESETS, TrainConfig
from .sources import (
    EM_STAND_IN_FOLDER,
    ISBI_DIR_ENV,
    ISBI_DIR_SOURCE,
    DataSource,
    isbi_source,
    resolve_source,
    runs_dir,
)

PROFILES = tuple(PRESETS)
CPU_STEPS_PER_EPOCH = 34
"""Steps per epoch of the ``"cpu"`` profile on the full dataset: the recipe's budget.

The CPU recipe was measured on 270 training images (34 batches of 8 per
epoch, a few minutes for 60 epochs). On the full 3,312 training images an
epoch would be 414 steps and the page would train for about an hour on a
CPU; with 34 steps per epoch (over all of the shuffled images) it keeps the
recipe's few minutes.
"""


BOOK_CPU_EPOCHS = 15
"""Epochs that the book's pages train the ``"cpu"`` recipe for (the preset has 60).

The book is built on two CPU cores with every chapter executed, and the
recipe's 60 epochs alone would be the larger part of that time
(``benchmarks/book_build.py`` times the chapters). The pages say so in their
data box, and ``benchmarks/recipe.py`` scores the whole recipe.
"""


BOOK_ISBI_EPOCHS = 3
"""Epochs that a page trains the ``"isbi"`` preset for without a GPU (the preset has
14): the chapter on the paper's experiment shows the training, and
``benchmarks/isbi.py`` scores the whole preset.
"""


def settings_digest(config: TrainConfig) -> str:
    """A short fingerprint of every setting but ``output_dir``, and of the package
    version.

    Two configs with the same digest train the same model (training is seeded),
    so a page may reuse the other's run; any change of settings or of the
    package gives another digest, hence another folder.
    """
    import hashlib
    import json

    settings = {
        k: v for k, v in dataclasses.asdict(config).items() if k != "output_dir"
    }
    text = json.dumps(
        {"settings": settings, "version": _version()}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:10]


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
    def data_label(self) -> str:
        """Which data the page's figures show, in a few words, for captions.

        ``"Oxford-IIIT Pet"`` only for the full official splits; a folder of
        fewer breeds is named as the subset it is, and the stand-in as what it
        is, e.g. ``"the Oxford-IIIT Pet subset (3 of the 37 breeds)"``.
        """
        from .datasets import OXFORD_BREEDS, source_facts

        if self.is_stand_in:
            return "the synthetic stand-in (generated shapes, not real pets)"
        facts = source_facts(self.data)
        if facts.is_full:
            return "Oxford-IIIT Pet (the full official splits)"
        breeds = f"{facts.num_breeds} of the {OXFORD_BREEDS} breeds"
        return f"the Oxford-IIIT Pet subset ({breeds})"

    @property
    def image_size(self) -> int:
        """Side length of the page's images."""
        return self.config.image_size

    def train_config(self, **overrides) -> TrainConfig:
        """This profile's ``TrainConfig`` with ``overrides`` (``output_dir=...``)."""
        return dataclasses.replace(self.config, **overrides)

    def shared_run(self, name: str, **overrides) -> TrainConfig:
        """This profile's ``TrainConfig`` with ``output_dir`` in ``runs_dir()``, named
        by its settings.

        The *Training* chapter trains into it and *Using the model* reuses it
        (``train_or_load``), whatever folder each page executes in. The folder is
        ``runs_dir() / f"{name}-{settings_digest(config)}"``: other settings, or
        another package version, never share it.
        """
        config = self.train_config(**overrides)
        return dataclasses.replace(
            config, output_dir=str(runs_dir() / f"{name}-{settings_digest(config)}")
        )

    def load(self, split: str, **kwargs):
        """``load_dataset`` on this profile's data, image size and batch size:
        ``(dataset, info)``.
        """
        from .datasets import load_dataset

        sizes = dict(
            zip(
                ("train", "validation", "test"),
                self.config.num_examples or (None,) * 3,
                strict=True,
            )
        )
        kwargs = {
            "num_examples": sizes[split],
            "batch_size": self.config.batch_size,
            **kwargs,
        }
        return load_dataset(
            self.data, split, kwargs.pop("image_size", self.config.image_size), **kwargs
        )

    def banner(self) -> str:
        """A Markdown paragraph that says which data and settings this page used."""
        from .datasets import source_facts

        sizes = dict(
            zip(
                ("train", "validation", "test"),
                self.config.num_examples or (),
                strict=False,
            )
        )
        facts = source_facts(self.data, sizes or None)
        what = facts.description
        if self.is_stand_in:
            data = (
                f"**Data: {what}.** Every image and number below comes from generated "
                "pets, so no figure on this page is an Oxford-IIIT Pet result."
            )
        elif not facts.is_full:
            data = (
                f"**Data: {what}** (real pets; {self.data.reason}) A score on this "
                "subset is not an Oxford-IIIT Pet result in the usual sense: that "
                "needs the full official splits of 37 breeds."
            )
        else:
            data = f"**Data: {what}.**"
        c = self.config
        steps = f"{c.steps_per_epoch} steps" if c.steps_per_epoch else "the whole split"
        settings = (
            f"**Settings: `{self.name}`**: {c.image_size} px, base {c.base_filters} "
            f"filters, depth {c.depth}, batch {c.batch_size}, {c.epochs} epochs "
            f"({steps} per epoch), learning rate {c.learning_rate:g} "
            f"({c.lr_schedule}). {self.reason}"
        )
        return f"> {data}\n>\n> {settings}"

    def show(self) -> None:
        """Display the banner (rendered Markdown in Jupyter, plain text elsewhere)."""
        say(self.banner())


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
        raise ValueError(
            f"profile {name!r} is not known; use one of {', '.join(PROFILES)}."
        )
    data = resolve_source("synthetic" if name == "cpu-synthetic" else "auto")
    if name is not None:
        reason = f"Settings chosen with UNET_TUTORIAL_PROFILE={name}."
    elif data.is_stand_in:
        name, reason = (
            "cpu-synthetic",
            (
                "Oxford-IIIT Pet cannot be loaded on this machine (not prepared, no "
                "folder named, no network): small models, few steps. Open the page in "
                "Colab for the real data."
            ),
        )
    elif _has_gpu():
        name, reason = (
            "full",
            "A GPU and Oxford-IIIT Pet are available: the full-size run.",
        )
    else:
        name, reason = (
            "cpu",
            "No GPU here: the CPU recipe (a small U-Net, a few minutes of training).",
        )
    config = TrainConfig.preset(name, source=data.source)
    if name == "cpu" and not data.is_stand_in:
        from .datasets import source_facts

        reason += (
            f" The pages train {BOOK_CPU_EPOCHS} of the recipe's {config.epochs} "
            "epochs, to keep the book's build short."
        )
        config = dataclasses.replace(config, epochs=BOOK_CPU_EPOCHS)
        if source_facts(data).is_full:
            config = dataclasses.replace(config, steps_per_epoch=CPU_STEPS_PER_EPOCH)
            reason += (
                f" On the full dataset an epoch is {CPU_STEPS_PER_EPOCH} steps (the "
                "recipe's budget, measured on 270 images), so the page still trains "
                "in minutes."
            )
    return BookProfile(name, config, data, reason)


EM_CITATION = (
    "EM slices: ISBI 2012 training stack (Cardona et al. 2010; "
    "Arganda-Carreras et al. 2015)."
)


@dataclass(frozen=True)
class AboutData:
    """Which data a notebook uses, said three ways (``about_data``).

    Shown as the last expression of a cell, it displays ``note``.

    Attributes:
        note: one line of Markdown, with the details in a folded ``<details>``
            (Jupyter, Colab and the book all show it folded).
        label: a few words for captions, e.g. ``"the Oxford-IIIT Pet subset (3 of
            the 37 breeds)"``.
        credit: the credit line for figures that show this data.
        is_stand_in: ``True`` for a synthetic stand-in (no real data).
    """

    note: str
    label: str
    credit: str
    is_stand_in: bool

    def _repr_markdown_(self) -> str:
        return self.note

    def __str__(self) -> str:
        return self.note


def about_data(data: DataSource | str) -> AboutData:
    """Say which data a notebook uses: one line, a caption label and a credit line.

    Counted from the data, never assumed: a subset of Oxford-IIIT Pet is named
    as the subset it is, and the synthetic stand-ins as what they are.

    Args:
        data: a resolved source, or a ``source=`` value (``resolve_source``).

    Returns:
        An ``AboutData``.
    """
    from .datasets import OXFORD_BREEDS, source_facts

    data = resolve_source(data) if isinstance(data, str) else data
    facts = source_facts(data)
    label, credit = "", data_credit(data.is_stand_in)
    fuller = (
        "The introduction says how to point the package at the full dataset, or at "
        "a copy of your own."
    )
    if data.is_stand_in:
        label = "the synthetic stand-in (generated shapes, not real pets)"
        line = (
            "**Data: the synthetic stand-in** (generated shapes, not real pets): "
            "no number or figure on this page is an Oxford-IIIT Pet result."
        )
        more = f"{facts.description}. Chosen because {data.reason} {fuller}"
    elif data.kind == "folder":
        from .folders import check_folder

        folder = Path(data.path)
        splits = {k: len(v) for k, v in check_folder(folder).splits.items()}
        counts = " / ".join(f"{n} {name}" for name, n in splits.items())
        label, credit = f"the folder {folder.name}", ""
        if folder.name == EM_STAND_IN_FOLDER:
            label = "the synthetic stand-in for the EM slices"
            credit = "Synthetic stand-in: generated cells, not ISBI 2012 EM slices."
            line = (
                f"**Data: a synthetic stand-in for the EM slices** ({counts} generated "
                "images of cells, not electron microscopy): no number on this page "
                "is an ISBI 2012 result."
            )
        elif data.env == ISBI_DIR_ENV or folder.name == "isbi2012-em":
            label, credit = "the ISBI 2012 EM slices", EM_CITATION
            line = (
                f"**Data: {sum(splits.values())} slices of the ISBI 2012 EM training "
                f"stack** ({counts}; Cardona et al. 2010, Arganda-Carreras et al. "
                "2015)."
            )
        else:
            line = f"**Data: the folder {folder.name}** ({counts})."
        more = f"{facts.description}."
    else:
        pets = facts.description.split(": ", 1)[-1]
        label = (
            "Oxford-IIIT Pet (the full official splits)"
            if facts.is_full
            else f"the Oxford-IIIT Pet subset ({facts.num_breeds} of the "
            f"{OXFORD_BREEDS} breeds)"
        )
        if facts.is_full:
            line = f"**Data: Oxford-IIIT Pet**, the full official splits ({pets})."
        else:
            line = (
                f"**Data: real Oxford-IIIT Pet images, a subset**: {pets} (of the "
                f"{OXFORD_BREEDS}), so a score here is not an Oxford-IIIT Pet result "
                "in the usual sense."
            )
        more = (
            f"{facts.description}. The validation split is 10 % of every breed's "
            "trainval images, held out with a fixed seed (`ut.validation_holdout`); "
            "the test split is the official test list, scored once. "
            f"{'' if facts.is_full else fuller}"
        )
    note = (
        f"{line}\n\n<details><summary>More about this data</summary>\n\n"
        f"{more.strip()}\n\n</details>"
    )
    stand_in = data.is_stand_in or (
        data.kind == "folder" and Path(data.path).name == EM_STAND_IN_FOLDER
    )
    return AboutData(note, label, credit, stand_in)


@dataclass(frozen=True)
class EMData:
    """The EM slices (ISBI 2012) a page runs on, and how the page says so.

    Attributes:
        source: the ``source=`` value for ``load_dataset`` and ``TrainConfig``.
        folder: the folder with ``images/`` and ``masks/``.
        is_stand_in: ``True`` for the synthetic stand-in (generated cells).
        box: a Markdown sentence that says which data the page used.
        label: a few words for captions, e.g. ``"the ISBI 2012 EM slices"``.
        credit: the credit line for figures of these slices.
        epochs: how many epochs of the ``"isbi"`` preset a page trains: all of
            them with a GPU, ``BOOK_ISBI_EPOCHS`` without one.
    """

    source: str
    folder: Path
    is_stand_in: bool
    box: str
    label: str
    credit: str
    epochs: int


def em_data(source: str | None = None) -> EMData:
    """Find the EM slices once (``isbi_source()``) and describe them for a page.

    Args:
        source: a ``source=`` value; default ``isbi_source()`` (the folder named
            by ``$UNET_TUTORIAL_ISBI_DIR``, else a download, else the stand-in).

    Returns:
        An ``EMData``.
    """
    source = isbi_source() if source is None else source
    folder = Path(resolve_source(source).path)
    epochs = TrainConfig.preset("isbi").epochs
    epochs = epochs if _has_gpu() else min(epochs, BOOK_ISBI_EPOCHS)
    count = len(list((folder / "images").iterdir()))
    if folder.name == EM_STAND_IN_FOLDER:
        box = (
            f"**Data: a synthetic stand-in for the EM slices** ({count} generated "
            "images of Voronoi cells with dark borders): the ISBI 2012 slices were "
            "neither in a folder named by `UNET_TUTORIAL_ISBI_DIR` nor downloadable "
            "here. Every image and number below comes from generated cells, not from "
            "electron microscopy."
        )
        return EMData(
            source,
            folder,
            True,
            box,
            "the synthetic stand-in for the EM slices",
            "Synthetic stand-in: generated cells, not ISBI 2012 EM slices.",
            epochs,
        )
    if source == ISBI_DIR_SOURCE:
        box = (
            f"**Data: {count} slices of the ISBI 2012 EM training stack**, from the "
            "folder named by `UNET_TUTORIAL_ISBI_DIR` (a local copy of the public "
            "files)."
        )
    else:
        box = (
            f"**Data: the ISBI 2012 EM training stack, {count} slices**, downloaded "
            "by `ut.download_isbi2012` and checked against their published checksums."
        )
    return EMData(
        source, folder, False, box, "the ISBI 2012 EM slices", EM_CITATION, epochs
    )


RECORDED = ("isbi", "skip_seeds")
"""The benchmark results shipped with the package (``recorded_results``)."""


def recorded_results(name: str) -> dict:
    """Results that a benchmark script recorded, shipped with the package so that a
    notebook can show them anywhere, Colab included.

    They are copies of ``benchmarks/results/<name>.json`` in the repository
    (each with the machine and date it was measured on), made by
    ``scripts/stamp.py``. ``"skip_seeds"``: the skip-connection ablation over
    three seeds (``benchmarks/skip_seeds.py``); ``"isbi"``: the runs of the
    paper's EM experiment (``benchmarks/isbi.py``).

    Args:
        name: one of ``RECORDED``.

    Returns:
        The recorded JSON, as a dict.

    Raises:
        ValueError: an unknown ``name``.
    """
    import json
    from importlib import resources

    if name not in RECORDED:
        raise ValueError(
            f"no recorded results named {name!r}; the package ships {RECORDED}."
        )
    path = resources.files("unet_tutorial") / "assets" / f"recorded_{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SourceCode:
    """The source of a package object, as the installed package has it.

    Jupyter, Colab, VS Code and the built book display it as a highlighted
    Python block (``_repr_markdown_``); ``str()`` is the bare code.

    Attributes:
        name: the object's qualified name, e.g. ``"conv_block"``.
        path: the file, relative to the package's parent folder, e.g.
            ``"unet_tutorial/model.py"``.
        first_line: the file's line number (1-based) of the first line shown.
        code: the exact text of those lines.
    """

    name: str
    path: str
    first_line: int
    code: str

    def __str__(self) -> str:
        return self.code

    def _repr_markdown_(self) -> str:
        longest = max((len(run) for run in re.findall(r"`+", self.code)), default=0)
        fence = "`" * max(3, longest + 1)
        last = self.first_line + self.code.count("\n") - 1
        return (
            f"`{self.path}`, lines {self.first_line}–{last} (unet-tutorial "
            f"{_version()}):\n\n{fence}python\n{self.code}{fence}\n"
        )


def _version() -> str:
    from .. import __version__

    return __version__


def source_of(obj) -> SourceCode:
    """The real source of a package function or class, read from the installed files.

    The whole object, always: a listing that shows a slice would hide what the
    rest of it does.

    Args:
        obj: a function, class or method, e.g. ``ut.conv_block``.

    Returns:
        A ``SourceCode``: lines copied verbatim from the file the object was
        loaded from, so what you read is what runs.

    Raises:
        ValueError: ``obj`` has no source file.
    """
    try:
        lines, first = inspect.getsourcelines(obj)
        file = Path(inspect.getsourcefile(obj) or "")
    except (TypeError, OSError) as err:
        raise ValueError(
            f"{obj!r} has no Python source to show ({err}); pass a function or class."
        ) from err
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
    package = Path(__file__).resolve().parents[1]  # unet_tutorial/
    try:
        shown = file.resolve().relative_to(package.parent).as_posix()
    except ValueError:
        shown = file.name
    return SourceCode(name, shown, first, "".join(lines))


def show_source(obj) -> None:
    """Display the real source of ``obj`` from the installed package (see
    ``source_of``).

    The chapters call it instead of copying code: in the built book the call is
    hidden and only the highlighted source shows; in Colab or Jupyter the
    output of the cell is the same highlighted source.
    """
    _display(source_of(obj))


def say(markdown: str) -> None:
    """Display a sentence computed in the page, as Markdown, in any front end.

    The chapters write their numbers into prose this way (the book hides the
    cell's code), so the numbers read the same in Colab, Jupyter and the book.
    Outside IPython the text is printed.
    """
    _display(_Markdown(markdown))


@dataclass(frozen=True)
class _Markdown:
    text: str

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


def _display(obj) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(obj)
    else:
        print(obj)
