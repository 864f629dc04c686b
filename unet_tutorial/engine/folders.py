"""Your own data: a folder of images and masks, checked, split and batched.

The layout (the same stem names an image and its mask)::

    root/images/<stem>.png   (or .jpg, .jpeg, .tif, .tiff; grayscale or RGB)
    root/masks/<stem>.png    (one class per pixel; PNG, never JPEG)
    root/classes.txt         (optional: the class names, and their pixel values)
    root/train.txt           (optional, with validation.txt and test.txt:
    root/validation.txt       one stem per line, spaces in it kept, UTF-8;
    root/test.txt             # starts a comment (after a space, if not at
                              the line's start); all three or none)

Images are read upright: the EXIF orientation a phone records in a photo is
applied (as image viewers and ``predict`` do), so a mask must be drawn on the
upright image and have its size.

``classes.txt`` has one class per line, in class-index order: a name alone
(``background``), or a name and the pixel value that stands for it in the
masks (``membrane 0`` / ``cell 255``). A line ``ignore 255`` declares a
value that is neither class: such pixels are left out of the loss and the
metrics. Without ``classes.txt`` the masks must hold class indices ``0 … N-1``
(palette PNGs count: their index is the class) or be binary 0/255 masks
(255 becomes class 1).

Without split lists the pairs are sorted by stem (numbers by value, so
``slice_2`` comes before ``slice_10``): the last 15 % are the test split,
the 10 % before them the validation split, the rest the training split.
Consecutive sections of a stack or frames of a video stay together that way,
so the test images are not near-copies of training images.

``check_folder`` reads every file once and lists every problem it finds
(``unet-tutorial check-data PATH`` prints it); ``load_mask_folder`` (and
``load_dataset``) refuse a folder with problems, naming the files.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..checks import SPLITS, check_choice, is_whole

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
"""Image file endings the folder route reads (any case)."""

MASK_SUFFIX = ".png"
"""Masks are PNG: lossless, so a class value stays that value."""

TEST_SHARE = 0.15
"""Without split lists: the last 15 % of the sorted stems are the test split."""

VALIDATION_SHARE = 0.10
"""Without split lists: the 10 % before the test split are the validation split."""

SPLIT_RULE = (
    "no split lists, so by sorted name: the last 15 % test, the 10 % before them "
    "validation, the rest train"
)

_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_LIST_NAMES = {"train": "train.txt", "validation": "validation.txt", "test": "test.txt"}


def is_mask_folder(root: str | os.PathLike) -> bool:
    """Whether ``root`` has this route's layout: ``images/`` and ``masks/`` folders."""
    root = Path(root).expanduser()
    return (root / "images").is_dir() and (root / "masks").is_dir()


def natural_key(stem: str) -> tuple:
    """Sort key that compares runs of digits by value: ``slice_2`` < ``slice_10``."""
    return tuple(
        (0, int(part), part) if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", stem)
        if part
    )


# ------------------------------------------------------------------------- the classes


@dataclass(frozen=True)
class ClassTable:
    """Which pixel value in the mask files stands for which class.

    Attributes:
        names: the class names, in class-index order.
        values: the pixel value of each class in the mask files.
        ignore_value: the pixel value that is no class (left out of loss and
            metrics), or ``None``.
        rule: how the table was decided, in words.
    """

    names: tuple[str, ...]
    values: tuple[int, ...]
    ignore_value: int | None = None
    rule: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def lookup(self, size: int = 256) -> np.ndarray:
        """``int32 (size,)``: class index of each pixel value; -1 for the ignore
        value, -2 for a value that is no class.
        """
        size = max(size, max(self.values) + 1, (self.ignore_value or 0) + 1)
        table = np.full(size, -2, np.int32)
        table[list(self.values)] = np.arange(len(self.values), dtype=np.int32)
        if self.ignore_value is not None:
            table[self.ignore_value] = -1
        return table

    def describe(self) -> str:
        """E.g. ``"2 classes: membrane (value 0), cell (255)"``."""
        parts = [
            f"{n} (value {v})" if i == 0 else f"{n} ({v})"
            for i, (n, v) in enumerate(zip(self.names, self.values, strict=True))
        ]
        ignore = (
            f"; value {self.ignore_value} ignored"
            if self.ignore_value is not None
            else ""
        )
        return f"{len(self.names)} classes: {', '.join(parts)}{ignore}"


def read_text_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, text)`` of the non-empty, non-comment (``#``) lines of a
    UTF-8 file; a byte-order mark is not part of the first line.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{path.name} is not UTF-8 (line {line} has the byte "
            f"{data[err.start]:#04x}); save it as UTF-8"
        ) from None
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((lineno, line))
    return out


def parse_classes(
    lines: Sequence[str] | Mapping[str, int], where: str = "classes"
) -> tuple[tuple[str, ...], tuple[int, ...] | None, int | None]:
    """``(names, values or None, ignore value or None)`` from ``classes.txt`` lines.

    Each entry is ``"name"`` or ``"name value"`` (the value last; a name may
    contain spaces); ``"ignore value"`` declares the ignore value. Either
    every class has a value or none has. A mapping ``{name: value}`` is
    taken as given.

    Raises:
        ValueError: mixed entries, a repeated name or value, a bad value.
    """
    if isinstance(lines, Mapping):
        lines = [f"{name} {value}" for name, value in lines.items()]
    names, values, ignore = [], [], None
    for i, line in enumerate(lines, 1):
        parts = str(line).split()
        if not parts:
            continue
        value = None
        if len(parts) > 1 and re.fullmatch(r"-?\d+", parts[-1]):
            value, parts = int(parts[-1]), parts[:-1]
            if not 0 <= value <= 65535:
                raise ValueError(
                    f"{where}, entry {i} ({line!r}): the value {value} is not a mask "
                    "value (0 to 65535)."
                )
        name = " ".join(parts)
        if name.lower() == "ignore":
            if value is None:
                raise ValueError(
                    f"{where}, entry {i}: 'ignore' needs its pixel value, e.g. "
                    "'ignore 255'."
                )
            ignore = value
            continue
        names.append(name)
        values.append(value)
    has = [v is not None for v in values]
    if any(has) and not all(has):
        raise ValueError(
            f"{where}: give every class its pixel value or none of them; "
            f"{names[has.index(False)]!r} has none but {names[has.index(True)]!r} "
            "has one."
        )
    for what, items in (("name", names), ("value", values if all(has) else [])):
        repeated = [x for x, k in Counter(items).items() if k > 1]
        if repeated:
            raise ValueError(f"{where}: the class {what} {repeated[0]!r} repeats.")
    if all(has) and ignore in values:
        raise ValueError(f"{where}: the ignore value {ignore} is also a class value.")
    if len(names) < 2 and names:
        raise ValueError(f"{where}: a segmentation needs at least 2 classes.")
    return tuple(names), (tuple(values) if names and all(has) else None), ignore


def _infer_classes(
    given: tuple[tuple[str, ...], tuple[int, ...] | None, int | None] | None,
    found: set[int],
    ignore_value: int | None,
) -> tuple[ClassTable | None, str | None]:
    """The class table from ``classes.txt`` (or the argument) and the mask values;
    ``(None, problem)`` where it cannot be decided.
    """
    names, values, ignore = given or ((), None, None)
    if ignore_value is not None and ignore is not None and ignore != ignore_value:
        return None, (
            f"classes.txt declares 'ignore {ignore}' but ignore_value={ignore_value} "
            "was given; keep one"
        )
    ignore = ignore_value if ignore_value is not None else ignore
    real = sorted(found - {ignore})
    if ignore is not None and values is not None and ignore in values:
        return None, (
            f"the ignore value {ignore} is also the value of class "
            f"{names[values.index(ignore)]!r}; every pixel of that class would be "
            "left out. Give the ignore value another number"
        )
    if names and values is not None:
        return ClassTable(names, values, ignore, "values from classes.txt"), None
    if names:
        if len(names) == 2 and set(real) <= {0, 255} and 255 in real:
            rule = "classes.txt names; binary masks: 0 -> class 0, 255 -> class 1"
            return ClassTable(names, (0, 255), ignore, rule), None
        if ignore is not None and 0 <= ignore < len(names):
            return None, (
                f"the ignore value {ignore} is also the index of class "
                f"{names[ignore]!r}; every pixel of that class would be left out. "
                "Give the ignore value another number"
            )
        rule = "classes.txt names; the masks hold class indices"
        return ClassTable(names, tuple(range(len(names))), ignore, rule), None
    if set(real) <= {0, 255} and 255 in real:
        rule = "binary masks: 0 -> class 0, 255 -> class 1"
        return ClassTable(("class_0", "class_1"), (0, 255), ignore, rule), None
    if real and real == list(range(len(real))) and len(real) >= 2:
        n = len(real)
        names = tuple(f"class_{i}" for i in range(n))
        return ClassTable(names, tuple(range(n)), ignore, "class-index masks"), None
    return None, (
        f"the masks hold the values {real[:20]}: neither class indices 0 … N-1 "
        "without gaps nor binary 0/255; name the classes and their values in "
        "classes.txt (a line 'name value' each, and 'ignore value' for a value "
        "that is no class)"
    )


# ----------------------------------------------------------------------- the report


@dataclass(frozen=True)
class FolderReport:
    """What ``check_folder`` found in a folder of images and masks.

    ``print(report)`` gives the readable report; ``report.ok`` says whether
    the folder can be loaded.

    Attributes:
        root: the folder (``str(report)`` names it by its last part only).
        pairs: stem -> ``(image file name, mask file name)`` of every pair.
        images_without_mask: stems of images that have no mask.
        masks_without_image: stems of masks that have no image.
        image_sizes: ``(width, height)`` -> number of pairs of that size.
        sizes: stem -> ``(width, height)``.
        channels: 1 (grayscale) or 3 (RGB): what the loader feeds the model;
            ``None`` if the images disagree and no ``channels`` was given.
        classes: the ``ClassTable``, or ``None`` if it cannot be decided.
        class_pixels: class name -> pixels of that class in all masks.
        ignored_pixels: pixels with the ignore value.
        splits: split -> stems, in order.
        split_rule: how the splits were made, in words.
        problems: everything that stops loading, each naming its file(s).
        notes: things worth knowing that do not stop loading.
    """

    root: Path
    pairs: dict[str, tuple[str, str]]
    images_without_mask: tuple[str, ...]
    masks_without_image: tuple[str, ...]
    image_sizes: dict[tuple[int, int], int]
    sizes: dict[str, tuple[int, int]]
    channels: int | None
    classes: ClassTable | None
    class_pixels: dict[str, int]
    ignored_pixels: int
    splits: dict[str, tuple[str, ...]]
    split_rule: str
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """No problems: the folder loads."""
        return not self.problems

    def class_shares(self) -> dict[str, float]:
        """Class name -> share of the labelled (not ignored) pixels."""
        total = sum(self.class_pixels.values())
        return {k: (v / total if total else 0.0) for k, v in self.class_pixels.items()}

    def summary(self) -> str:
        """One sentence on what the folder holds (for ``DataInfo.description``)."""
        sizes = ", ".join(f"{w}x{h}" for (w, h) in sorted(self.image_sizes))
        kind = {1: "grayscale", 3: "RGB"}.get(self.channels, "mixed")
        counts = " / ".join(f"{len(self.splits.get(s, ()))} {s}" for s in SPLITS)
        classes = self.classes.describe() if self.classes else "classes unknown"
        return (
            f"folder {self.root.name}: {len(self.pairs)} image/mask pairs, {counts} "
            f"({self.split_rule}); {kind} images of {sizes} px; {classes}"
        )

    def __str__(self) -> str:
        lines = [f"Folder {self.root.name}: {len(self.pairs)} image/mask pairs"]
        if self.images_without_mask:
            lines.append(
                f"  images without a mask ({len(self.images_without_mask)}): "
                + _some(self.images_without_mask)
            )
        if self.masks_without_image:
            lines.append(
                f"  masks without an image ({len(self.masks_without_image)}): "
                + _some(self.masks_without_image)
            )
        if self.image_sizes:
            sizes = ", ".join(
                f"{w}x{h} ({n})" for (w, h), n in sorted(self.image_sizes.items())
            )
            lines.append(f"  image sizes (width x height, pairs): {sizes}")
        kind = {1: "grayscale (1 channel)", 3: "RGB (3 channels)"}
        lines.append(f"  images: {kind.get(self.channels, 'mixed')}")
        if self.classes is not None:
            lines.append(f"  classes ({self.classes.rule}):")
            shares = self.class_shares()
            for name, value in zip(
                self.classes.names, self.classes.values, strict=True
            ):
                lines.append(
                    f"    {name:<16} value {value:>5}: {100 * shares[name]:6.2f} % of "
                    "pixels"
                )
            if self.classes.ignore_value is not None:
                lines.append(
                    f"    (ignored)        value {self.classes.ignore_value:>5}: "
                    f"{self.ignored_pixels} pixels"
                )
        lines.append(f"  splits ({self.split_rule}):")
        for split in SPLITS:
            stems = self.splits.get(split, ())
            span = f" ({stems[0]} … {stems[-1]})" if len(stems) > 1 else ""
            span = f" ({stems[0]})" if len(stems) == 1 else span
            lines.append(f"    {split:<10} {len(stems):>5} pairs{span}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines.extend(f"  - {p}" for p in self.problems)
        else:
            lines.append("No problems found.")
        return "\n".join(lines)


def _some(items: Sequence[str], k: int = 8) -> str:
    shown = ", ".join(items[:k])
    return shown + (f", … ({len(items) - k} more)" if len(items) > k else "")


# ------------------------------------------------------------------------ reading files


def stem_key(stem: str) -> str:
    """A stem as the folder route compares it: Unicode NFC, so that ``café`` is
    one stem whether a disk stores its ``é`` as one code point (NFC, most
    systems) or as ``e`` and an accent (NFD, macOS), in a file name or in a
    split list.
    """
    return unicodedata.normalize("NFC", stem)


def _list_files(
    folder: Path,
) -> tuple[dict[str, list[Path]], list[str], list[Path]]:
    """stem (``stem_key``) -> files (image-like endings), the names of other
    files, and the links whose target is missing.
    """
    by_stem: dict[str, list[Path]] = {}
    other, broken = [], []
    for path in sorted(folder.iterdir()):
        if path.is_symlink() and not path.exists():
            broken.append(path)
            continue
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            by_stem.setdefault(stem_key(path.stem), []).append(path)
        else:
            other.append(path.name)
    return by_stem, other, broken


_TURNS = {5, 6, 7, 8}
"""EXIF orientations that turn an image a quarter: width and height swap."""


def _image_header(path: Path) -> tuple[tuple[int, int], int, int]:
    """``((width, height), channels, EXIF orientation)`` of an image, the size
    upright, as viewers show it and ``read_image`` reads it. The whole file is
    decoded, so that a truncated or damaged image is named here, not during
    training.
    """
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        orientation = exif_orientation(im)
        width, height = im.size
        size = (height, width) if orientation in _TURNS else (width, height)
        return size, 1 if im.mode in _GREY_MODES else 3, orientation


def exif_orientation(im) -> int:
    """The EXIF Orientation tag of a Pillow image (1, upright, if it has none).

    Phones store a photo as the sensor saw it and record in this tag how to
    turn it upright (6: a quarter turn clockwise); ``ImageOps.exif_transpose``
    applies it.
    """
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # a damaged EXIF block: the pixels as stored
        return 1
    return value if value in range(1, 9) else 1


def _mask_values(path: Path) -> tuple[tuple[int, int], str, np.ndarray, np.ndarray]:
    """``((width, height), mode, values, counts)`` of a mask file."""
    from PIL import Image

    with Image.open(path) as im:
        size, mode = im.size, im.mode
        array = np.asarray(im)
    if array.ndim == 3:
        return size, mode, np.array([], int), np.array([], int)
    values, counts = np.unique(array.astype(np.int64), return_counts=True)
    return size, mode, values, counts


def read_image(path: str | os.PathLike, channels: int) -> np.ndarray:
    """``uint8 (H, W, channels)`` of an image file: grayscale (1) or RGB (3),
    upright (its EXIF orientation applied, as in ``evaluation.load_image``).

    Grey of more than 8 bits is scaled by the bit depth it uses (12-bit data
    in a 16-bit PNG: 4095 becomes 255; ``to_rgb8`` gives the rule), float
    images from ``[0, 1]`` (or their own range), an alpha channel dropped.
    """
    from PIL import Image, ImageOps

    from ..data import to_rgb8

    with Image.open(path) as im:
        if exif_orientation(im) != 1:
            im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I") or im.mode == "F":  # scaled, not clipped
            rgb = to_rgb8(im)
            return rgb[..., :1] if channels == 1 else rgb
        if channels == 1:
            return np.asarray(im.convert("L"))[..., None]
        return np.asarray(im.convert("RGB"))


def read_mask(path: str | os.PathLike, classes: ClassTable) -> np.ndarray:
    """``int32 (H, W)`` class indices of a mask file; -1 where it holds the ignore
    value.

    Raises:
        ValueError: a value that is no class (the file and values are named).
    """
    from PIL import Image

    with Image.open(path) as im:
        raw = np.asarray(im).astype(np.int64)
    if raw.ndim != 2:
        raise ValueError(f"{path}: an RGB mask; masks hold one class per pixel.")
    table = classes.lookup(int(raw.max()) + 1)
    mask = table[raw]
    if (mask == -2).any():
        bad = np.unique(raw[mask == -2]).tolist()
        raise ValueError(f"{path}: the values {bad[:10]} are not classes.")
    return mask


# ------------------------------------------------------------------------ the check


_INLINE_COMMENT = re.compile(r"\s+#")


def list_entry(line: str) -> str:
    """The stem a split-list line names: the whole line, spaces inside it kept
    (``my cat 01``), less the whitespace around it and a comment that starts
    with whitespace and ``#`` (``m3  # a note`` names ``m3``).

    Args:
        line: one line of ``train.txt``, ``validation.txt`` or ``test.txt``.

    Returns:
        The stem, e.g. ``"my cat 01"``.
    """
    return _INLINE_COMMENT.split(line, maxsplit=1)[0].strip()


def _stem_hint(entry: str, known: set[str]) -> str:
    """A hint for a split-list entry that names no pair: a file name whose stem
    is a pair (``cat.png``) is named by its stem.
    """
    stem, suffix = os.path.splitext(entry)
    if suffix.lower() in IMAGE_SUFFIXES and stem in known:
        return f"; list stems without the file ending: {stem!r}"
    return ""


def _split_lists(
    root: Path, pairs: Sequence[str]
) -> tuple[dict[str, tuple[str, ...]], str, list[str], list[str]]:
    """``(splits, rule, problems, notes)`` from the split lists or the default rule."""
    problems, notes = [], []
    present = {s: root / f for s, f in _LIST_NAMES.items() if (root / f).is_file()}
    order = sorted(pairs, key=natural_key)
    if not present:
        n = len(order)
        n_test = max(1, int(np.floor(TEST_SHARE * n + 0.5)))
        n_val = max(1, int(np.floor(VALIDATION_SHARE * n + 0.5)))
        if n < 3:
            problems.append(
                f"{n} pair(s): too few for the default split (one each for train, "
                "validation and test at least); write train.txt, validation.txt and "
                "test.txt"
            )
            return {s: () for s in SPLITS}, SPLIT_RULE, problems, notes
        n_train = n - n_test - n_val
        splits = {
            "train": tuple(order[:n_train]),
            "validation": tuple(order[n_train : n_train + n_val]),
            "test": tuple(order[n_train + n_val :]),
        }
        return splits, SPLIT_RULE, problems, notes
    missing = [_LIST_NAMES[s] for s in SPLITS if s not in present]
    if missing:
        problems.append(
            f"{', '.join(p.name for p in present.values())} present but "
            f"{', '.join(missing)} missing: write all three split lists, or none"
        )
    splits, seen = {}, {}
    known = set(pairs)
    for split in SPLITS:
        stems = []
        if split in present:
            try:
                entries = read_text_lines(present[split])
            except ValueError as err:
                problems.append(str(err))
                entries = []
            for lineno, line in entries:
                stem = stem_key(list_entry(line))
                name = _LIST_NAMES[split]
                if stem not in known:
                    problems.append(
                        f"{name} line {lineno} names {stem!r}, which has no image and "
                        f"mask pair{_stem_hint(stem, known)}"
                    )
                elif stem in seen:
                    problems.append(
                        f"{stem!r} is in {seen[stem]} and in {name}: a stem belongs "
                        "to one split"
                    )
                else:
                    seen[stem] = name
                    stems.append(stem)
        splits[split] = tuple(stems)
    unlisted = [s for s in order if s not in seen]
    if unlisted:
        notes.append(
            f"{len(unlisted)} pair(s) in no split list (not used): {_some(unlisted)}"
        )
    return splits, "split lists train.txt, validation.txt, test.txt", problems, notes


def check_folder(
    root: str | os.PathLike,
    *,
    classes: Sequence[str] | Mapping[str, int] | None = None,
    ignore_value: int | None = None,
    channels: int | None = None,
    crop_size: int | None = None,
) -> FolderReport:
    """Read every file of an images + masks folder once and report what it holds.

    Problems (every one is listed, each naming its files): a mask value
    that is no class, an image and mask of different sizes, an RGB mask, a
    mask that is not PNG, two images (or masks) with one stem, an image that
    cannot be read, images that mix grayscale and RGB (unless ``channels``
    is given), an image smaller than ``crop_size``, an empty split, and bad
    split lists. Images or masks without a partner are only noted.

    Args:
        root: the folder holding ``images/`` and ``masks/``.
        classes: class names (or ``{name: pixel value}``), instead of
            ``root/classes.txt``.
        ignore_value: a pixel value that is no class (instead of an
            ``ignore`` line in ``classes.txt``).
        channels: 1 or 3 to convert every image to grayscale or RGB;
            ``None`` takes it from the images (they must agree).
        crop_size: report images smaller than this training crop.

    Returns:
        A ``FolderReport``; ``print`` it, or test ``report.ok``.

    Raises:
        FileNotFoundError: ``root`` has no ``images/`` or no ``masks/``.
        ValueError: a bad argument, or a ``classes.txt`` that cannot be parsed.
    """
    root = Path(root).expanduser()
    if not is_mask_folder(root):
        raise FileNotFoundError(
            f"{root} has no images/ and masks/ folders; expected "
            "images/<stem>.png|jpg|tif and masks/<stem>.png."
        )
    if channels is not None:
        check_choice("channels", channels, (1, 3))
    if ignore_value is not None and not is_whole(ignore_value, 0):
        raise ValueError(f"ignore_value={ignore_value!r} must be a pixel value >= 0.")
    if crop_size is not None and not is_whole(crop_size, 1):
        raise ValueError(f"crop_size={crop_size!r} must be a positive integer.")
    if classes is not None:
        given = parse_classes(classes, "classes=")
    elif (root / "classes.txt").is_file():
        given = parse_classes(
            [t for _, t in read_text_lines(root / "classes.txt")], "classes.txt"
        )
    else:
        given = None
    problems: list[str] = []
    notes: list[str] = []
    images, other_images, broken = _list_files(root / "images")
    masks, other_masks, broken_masks = _list_files(root / "masks")
    for link in broken + broken_masks:
        problems.append(
            f"{link.parent.name}/{link.name}: a broken link (to {os.readlink(link)}, "
            "which does not exist); fix the link or remove it"
        )
    for folder, by_stem in (("images", images), ("masks", masks)):
        for files in by_stem.values():
            if len(files) > 1:
                names = " and ".join(f"{folder}/{f.name}" for f in files)
                problems.append(f"{names}: one stem, {len(files)} files; keep one")
    for files in masks.values():
        for f in files:
            if f.suffix.lower() != MASK_SUFFIX:
                problems.append(
                    f"masks/{f.name}: masks must be PNG (lossless); JPEG or TIFF "
                    "masks get other values along the edges or are read differently"
                )
    if other_images or other_masks:
        notes.append(
            "files that are not images, not read: "
            + _some(
                [f"images/{n}" for n in other_images]
                + [f"masks/{n}" for n in other_masks]
            )
        )
    stems = sorted(set(images) & set(masks), key=natural_key)
    without_mask = tuple(sorted(set(images) - set(masks), key=natural_key))
    without_image = tuple(sorted(set(masks) - set(images), key=natural_key))
    if not stems:
        problems.append(
            "no image has a mask with the same stem (images/<stem>.png with "
            "masks/<stem>.png)"
        )
    pairs, sizes, kinds = {}, {}, {}
    mask_stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    oriented = []  # images turned or mirrored by EXIF, their masks of the same size
    for stem in stems:
        image_path, mask_path = images[stem][0], masks[stem][0]
        pairs[stem] = (image_path.name, mask_path.name)
        try:
            size, kinds[stem], orientation = _image_header(image_path)
        except Exception as err:  # Pillow raises several kinds
            problems.append(f"images/{image_path.name}: cannot be read ({err})")
            continue
        sizes[stem] = size
        try:
            mask_size, mode, values, counts = _mask_values(mask_path)
        except Exception as err:
            problems.append(f"masks/{mask_path.name}: cannot be read ({err})")
            continue
        if mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LA", "RGBX"):
            problems.append(
                f"masks/{mask_path.name}: an {mode} mask; a mask holds one class per "
                "pixel (grayscale or palette PNG). Convert colours with "
                "ut.rgb_to_class_mask"
            )
            continue
        if mask_size != size:
            turned = ""
            if orientation in _TURNS and mask_size == size[::-1]:
                turned = (
                    f" (its EXIF orientation {orientation} turns the image's stored "
                    f"{size[1]}x{size[0]} pixels upright, as viewers show it and as "
                    "it is read; draw the mask on the upright image)"
                )
            problems.append(
                f"images/{image_path.name} is {size[0]}x{size[1]} but "
                f"masks/{mask_path.name} is {mask_size[0]}x{mask_size[1]}{turned}"
            )
        elif orientation != 1:
            oriented.append(f"images/{image_path.name} ({orientation})")
        mask_stats[stem] = (values, counts)
        if crop_size is not None and min(size) < crop_size:
            problems.append(
                f"images/{image_path.name} is {size[0]}x{size[1]}, smaller than "
                f"crop_size={crop_size}"
            )
    if oriented:
        notes.append(
            f"{len(oriented)} image(s) have an EXIF orientation tag other than 1 "
            f"and are read upright, as viewers show them: {_some(oriented)}; each "
            "mask is compared with the upright image, so a mask drawn on the "
            "stored pixels lies turned or mirrored on it (its size may still fit, "
            "as a square's does). Check an overlay of one"
        )
    if channels is None and len(set(kinds.values())) > 1:
        grey = [images[s][0].name for s, k in kinds.items() if k == 1]
        rgb = [images[s][0].name for s, k in kinds.items() if k == 3]
        problems.append(
            f"the images mix grayscale ({len(grey)}: {_some(grey, 3)}) and RGB "
            f"({len(rgb)}: {_some(rgb, 3)}); convert them to one kind, or pass "
            "channels=1 or channels=3 (--channels)"
        )
    found = set()
    for values, _ in mask_stats.values():
        found.update(int(v) for v in values)
    table, problem = _infer_classes(given, found, ignore_value)
    class_pixels, ignored = {}, 0
    if problem:
        holders = {}
        for stem, (values, _) in mask_stats.items():
            for v in values.tolist():
                holders.setdefault(int(v), []).append(f"masks/{pairs[stem][1]}")
        where = "; ".join(
            f"value {v}: {_some(files, 3)}" for v, files in sorted(holders.items())
        )
        problems.append(f"{problem} ({where})")
    if table is not None:
        allowed = set(table.values) | (
            {table.ignore_value} if table.ignore_value is not None else set()
        )
        totals = Counter()
        for stem, (values, counts) in mask_stats.items():
            bad = sorted(int(v) for v in values if int(v) not in allowed)
            if bad:
                problems.append(
                    f"masks/{pairs[stem][1]}: the values {bad[:10]} are not classes "
                    f"({table.describe()})"
                )
            totals.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
        class_pixels = {
            n: int(totals.get(v, 0))
            for n, v in zip(table.names, table.values, strict=True)
        }
        ignored = int(totals.get(table.ignore_value, 0))
    splits, rule, split_problems, split_notes = _split_lists(root, list(pairs))
    problems += split_problems
    notes += split_notes
    if stems:
        for split in SPLITS:
            if not splits[split]:
                problems.append(f"the {split} split is empty")
    inferred = (
        next(iter(set(kinds.values()))) if len(set(kinds.values())) == 1 else None
    )
    return FolderReport(
        root=root,
        pairs=pairs,
        images_without_mask=without_mask,
        masks_without_image=without_image,
        image_sizes=dict(Counter(sizes.values())),
        sizes=sizes,
        channels=channels if channels is not None else inferred,
        classes=table,
        class_pixels=class_pixels,
        ignored_pixels=ignored,
        splits=splits,
        split_rule=rule,
        problems=tuple(dict.fromkeys(problems)),
        notes=tuple(notes),
    )


def raise_for_problems(report: FolderReport) -> None:
    """Raise ``ValueError`` listing every problem of ``report`` (if any)."""
    if report.problems:
        listed = "\n".join(f"  - {p}" for p in report.problems)
        raise ValueError(
            f"the folder {report.root.name} cannot be loaded ({len(report.problems)} "
            f"problem(s); `unet-tutorial check-data` prints the full report):\n{listed}"
        )


# ------------------------------------------------------------------------ the batches


def load_mask_folder(
    root: str | os.PathLike | FolderReport,
    split: str = "train",
    image_size: int | None = None,
    batch_size: int = 4,
    *,
    crop_size: int | None = None,
    classes: Sequence[str] | Mapping[str, int] | None = None,
    ignore_value: int | None = None,
    channels: int | None = None,
    augment=None,
    shuffle: bool | None = None,
    seed: int = 0,
):
    """Batches of one split of an images + masks folder (see the module's layout).

    ``image_size=None`` keeps every image at its native size (thin structures
    such as cell membranes are not resized away). Training then uses random
    ``crop_size`` squares, image and mask cut by one shared draw, then the
    paired augmentation; validation and test yield **whole images**, batched
    ``batch_size`` at a time when the split's images share one size, else one
    at a time. With ``image_size`` every pair is resized to that square
    first (image bilinear, mask nearest neighbour).

    With an ignore value (``ignore_value=`` or ``ignore V`` in
    ``classes.txt``) the batches are ``(image, mask, weights)``: ``weights``
    is 0 on ignored pixels and 1 elsewhere, and the mask holds class 0 there.
    Keras' ``fit`` and ``evaluate`` multiply every pixel's loss by its weight,
    and the package's metrics (``segmentation_metrics``, compiled as weighted
    metrics) skip pixels of weight 0, so ignored pixels count nowhere. A Dice
    term sums over all of an image's pixels, ignored ones too: ``train``
    refuses it for such data, so use ``loss="ce"``.

    Args:
        root: the folder, or its ``check_folder`` report.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        image_size: resize to this square, or ``None`` for native size.
        batch_size: examples per batch.
        crop_size: side of the random training crops (train split only).
        classes: class names or ``{name: value}``, instead of ``classes.txt``.
        ignore_value: the pixel value that is no class.
        channels: 1 or 3, or ``None`` to follow the images.
        augment: ``True`` (default for train), ``False`` or an ``AugmentConfig``.
        shuffle: default ``True`` for train.
        seed: seeds shuffling, crops and augmentation.

    Returns:
        A ``tf.data.Dataset`` of ``(float32 (B, H, W, C), int32 (B, H, W))``
        (plus ``float32 (B, H, W)`` weights with an ignore value).

    Raises:
        ValueError: the folder has problems (all listed), or a bad argument.
    """
    report = (
        root
        if isinstance(root, FolderReport)
        else check_folder(
            root,
            classes=classes,
            ignore_value=ignore_value,
            channels=channels,
            crop_size=crop_size if image_size is None else None,
        )
    )
    return _folder_dataset(
        report, split, image_size, batch_size, crop_size, augment, shuffle, seed
    )[0]


def split_batch_size(
    report: FolderReport,
    split: str,
    image_size: int | None,
    batch_size: int,
    crop_size: int | None,
) -> int:
    """The batch size a split gets: 1 for whole images of different sizes."""
    if image_size is not None or (split == "train" and crop_size is not None):
        return batch_size
    shapes = {report.sizes[s] for s in report.splits[split]}
    return batch_size if len(shapes) <= 1 else 1


def _folder_dataset(
    report: FolderReport,
    split: str,
    image_size: int | None,
    batch_size: int,
    crop_size: int | None,
    augment,
    shuffle: bool | None,
    seed: int,
):
    """``(dataset, batch size used)`` for a checked folder."""
    import tensorflow as tf

    from ..data import check_split, finish_pipeline, resize_image, resize_mask

    check_split(split)
    if image_size is not None and not is_whole(image_size, 16):
        raise ValueError(
            f"image_size={image_size!r} must be an integer of at least 16, or None "
            "for native resolution."
        )
    if not is_whole(batch_size, 1):
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
    if crop_size is not None:
        if not is_whole(crop_size, 16):
            raise ValueError(f"crop_size={crop_size!r} must be an integer >= 16.")
        smallest = image_size or min((min(s) for s in report.sizes.values()), default=0)
        if crop_size > smallest:
            raise ValueError(
                f"crop_size={crop_size} is larger than the smallest image side "
                f"({smallest} px){'; image_size resizes first' if image_size else ''}."
                " Use a smaller crop_size (or image_size=None for native size)."
            )
    raise_for_problems(report)
    stems = report.splits[split]
    crop = crop_size if split == "train" else None
    if split == "train" and image_size is None and crop is None:
        if len({report.sizes[s] for s in stems}) > 1:
            raise ValueError(
                f"the train images of {report.root.name} have different sizes; pass "
                "crop_size= (random crops of native size) or image_size= (resize)."
            )
    classes, channels = report.classes, report.channels
    files = [
        (
            str(report.root / "images" / report.pairs[s][0]),
            str(report.root / "masks" / report.pairs[s][1]),
        )
        for s in stems
    ]

    def read(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        image_path, mask_path = files[int(index)]
        return read_image(image_path, channels), read_mask(mask_path, classes)

    def decode(index):
        image, mask = tf.numpy_function(read, [index], (tf.uint8, tf.int32))
        image = tf.image.convert_image_dtype(
            tf.ensure_shape(image, (None, None, channels)), tf.float32
        )
        mask = tf.ensure_shape(mask, (None, None))
        if image_size is not None:
            return resize_image(image, image_size), resize_mask(mask, image_size)
        return image, mask

    ds = tf.data.Dataset.range(len(files)).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE
    )
    batch = split_batch_size(report, split, image_size, batch_size, crop_size)
    ds = finish_pipeline(
        ds,
        split=split,
        batch_size=batch,
        augment=augment,
        shuffle=shuffle,
        seed=seed,
        num_examples=len(files),
        crop_size=crop,
    )
    if classes.ignore_value is not None:
        ds = ds.map(
            lambda x, y: (x, tf.maximum(y, 0), tf.cast(y >= 0, tf.float32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds, batch
