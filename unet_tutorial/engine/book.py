"""Page helpers, the same in Colab, Jupyter and the built book (no MyST-only syntax):
which data a page uses, recorded results, the package's source and computed prose."""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .sources import EM_STAND_IN_FOLDER, ISBI_DIR_ENV, DataSource, resolve_source


@dataclass(frozen=True)
class AboutData:
    """Which data a notebook uses, said three ways (``about_data``); shown: ``note``.
    ``note``: one line of Markdown, the details folded in ``<details>``; ``label``: a
    few words for captions; ``credit``: for figures of this data."""

    note: str
    label: str
    credit: str
    is_stand_in: bool

    def __str__(self) -> str:
        return self.note

    _repr_markdown_ = __str__


def about_data(data: DataSource | str) -> AboutData:
    """Say which data a notebook uses (``AboutData``), counted from the data: a subset
    of Oxford-IIIT Pet is named as the subset it is, a stand-in as what it is.
    ``data``: a resolved source, or a ``source=`` value."""
    from ..pictures.figures import data_credit  # matplotlib: only when called
    from .folders import check_folder
    from .loading import OXFORD_BREEDS, source_facts

    data = resolve_source(data) if isinstance(data, str) else data
    facts = source_facts(data)
    credit, stand_in = data_credit(data.is_stand_in), data.is_stand_in
    more = f"{facts.description}."
    fuller = (
        " The introduction says how to point the package at the full dataset, or at a "
        "copy of your own."
    )
    if data.is_stand_in:
        label = "the synthetic stand-in (generated shapes, not real pets)"
        line = (
            "**Data: the synthetic stand-in** (generated shapes, not real pets): "
            "no number or figure on this page is an Oxford-IIIT Pet result."
        )
        more += f" Chosen because {data.reason}{fuller}"
    elif data.kind == "folder":
        folder = Path(data.path)
        splits = {k: len(v) for k, v in check_folder(folder).splits.items()}
        counts = " / ".join(f"{n} {name}" for name, n in splits.items())
        label, credit = f"the folder {folder.name}", ""
        line = f"**Data: the folder {folder.name}** ({counts})."
        if folder.name == EM_STAND_IN_FOLDER:
            stand_in, label = True, "the synthetic stand-in for the EM slices"
            credit = "Synthetic stand-in: generated cells, not ISBI 2012 EM slices."
            line = (
                f"**Data: a synthetic stand-in for the EM slices** ({counts} generated "
                "images of cells, not electron microscopy): no number on this page "
                "is an ISBI 2012 result."
            )
        elif data.env == ISBI_DIR_ENV or folder.name == "isbi2012-em":
            cite = "Cardona et al. 2010; Arganda-Carreras et al. 2015"
            label = "the ISBI 2012 EM slices"
            credit = f"EM slices: ISBI 2012 training stack ({cite})."
            line = (
                f"**Data: {sum(splits.values())} slices of the ISBI 2012 EM training "
                f"stack** ({counts}; {cite.replace(';', ',')})."
            )
            # the challenge's convention, whatever names the folder gives its values
            more = (
                f"{facts.description.split('; 2 classes')[0]}; two classes: membrane "
                "(mask value 0) and cell (255)."
            )
    else:
        pets = facts.description.split(": ", 1)[-1]
        if facts.is_full:
            label = "Oxford-IIIT Pet (the full official splits)"
            line = f"**Data: Oxford-IIIT Pet**, the full official splits ({pets})."
        else:
            breeds = f"{facts.num_breeds} of the {OXFORD_BREEDS} breeds"
            label = f"the Oxford-IIIT Pet subset ({breeds})"
            line = (
                f"**Data: real Oxford-IIIT Pet images, a subset**: {pets} (of the "
                f"{OXFORD_BREEDS}), so a score here is not an Oxford-IIIT Pet result "
                "in the usual sense."
            )
        more += (
            " The validation split is 10 % of every breed's trainval images, held out "
            "with a fixed seed (`ut.validation_holdout`); the test split is the "
            f"official test list, scored once.{'' if facts.is_full else fuller}"
        )
    fold = f"<details><summary>More about this data</summary>\n\n{more}\n\n</details>"
    return AboutData(f"{line}\n\n{fold}", label, credit, stand_in)


RECORDED = ("isbi", "skip_seeds")
"""The benchmark results shipped with the package (``recorded_results``)."""


def recorded_results(name: str) -> dict:
    """Results that a benchmark script recorded (``benchmarks/results/<name>.json``,
    copied into the package by ``scripts/stamp.py``), so that a notebook shows them
    anywhere, Colab included. ``name``: one of ``RECORDED``."""
    if name not in RECORDED:
        raise ValueError(
            f"no recorded results named {name!r}; the package ships {RECORDED}."
        )
    path = resources.files("unet_tutorial") / "assets" / f"recorded_{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SourceCode:
    """The source of a package object, as the installed package has it: a front end
    shows a highlighted Python block, ``str()`` is the bare code. ``path``: e.g.
    ``"unet_tutorial/model.py"``; ``first_line``: 1-based; ``code``: its exact lines."""

    name: str
    path: str
    first_line: int
    code: str

    def __str__(self) -> str:
        return self.code

    def _repr_markdown_(self) -> str:
        fence = "`" * max([3, *(len(run) + 1 for run in re.findall("`+", self.code))])
        last = self.first_line + self.code.count("\n") - 1
        from .. import __version__

        return (
            f"`{self.path}`, lines {self.first_line}–{last} (unet-tutorial "
            f"{__version__}):\n\n{fence}python\n{self.code}{fence}\n"
        )


def source_of(obj) -> SourceCode:
    """The real source of a package function, class or method (``ut.conv_block``),
    whole and verbatim from the file it was loaded from, so what you read is what
    runs. ``ValueError``: no source file."""
    try:
        lines, first = inspect.getsourcelines(obj)
        file = Path(inspect.getsourcefile(obj) or "")
    except (TypeError, OSError) as err:
        raise ValueError(
            f"{obj!r} has no Python source to show ({err}); pass a function or class."
        ) from err
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
    where = file.resolve()
    root = Path(__file__).resolve().parents[2]  # the folder holding unet_tutorial/
    shown = where.relative_to(root) if where.is_relative_to(root) else Path(file.name)
    return SourceCode(name, shown.as_posix(), first, "".join(lines))


def show_source(obj) -> None:
    """Display the real source of ``obj`` (``source_of``) instead of a copy."""
    _display(source_of(obj))


def say(markdown: str) -> None:
    """Display a sentence computed in the page as Markdown (printed outside IPython)."""
    _display(_Markdown(markdown))


class _Markdown(str):
    def _repr_markdown_(self) -> str:
        return str(self)


def _display(obj) -> None:
    try:  # IPython's display prints outside IPython
        from IPython.display import display
    except ImportError:  # plain Python without IPython
        display = print
    display(obj)
