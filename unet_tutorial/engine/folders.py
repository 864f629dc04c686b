"""One folder reader: images and masks on disk, checked, split and batched.

What it detects is ``WHAT_IT_READS`` (``images_dir``, ``masks_dir``, ``mask_suffix``
override). ``check_folder`` reports each problem once, at its cause; the loaders
refuse a folder with problems.
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from ..checks import ON_CORRUPT, SPLITS, check_choice, is_whole
from ..labels import CLASS_NAMES, TRIMAP_VALUES
from ..reading import breed_of, check_split, to_rgb8, validation_holdout

WHAT_IT_READS = """\
what it reads (detected; --images, --masks and --mask-suffix override):
  folders: images/, imgs/ or JPEGImages/ with masks/, SegmentationClass/,
    labels/ or annotations/ (Oxford-IIIT Pet: images/ + annotations/trimaps/)
  files: .png .jpg .jpeg .tif .tiff .gif .bmp
  mask names: the image's stem, or with a suffix (_mask, _label, _gt, ...)
  masks: class-index PNG or TIFF; palette PNG or GIF (the index is the class);
    binary 0/255 (JPEG too: thresholded at 128, with a note); RGB colours
    through a colour table; a multi-page TIFF stack (one pair per page)
  255 beside class indices: ignored (the VOC convention)
  classes.txt (optional): lines 'name', 'name VALUE', 'name R G B', 'ignore V'
  split lists (optional): train.txt, validation.txt (or val.txt), test.txt,
    here or in ImageSets/Segmentation/; without test.txt there is no test split;
    without lists, by sorted name: the last 15 % test, the 10 % before validation
  Oxford-IIIT Pet: annotations/trainval.txt and test.txt; validation is held
    out of trainval, about 10 % of every breed
"""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp")
"""File endings the reader reads (any case)."""

IMAGE_DIRS = ("images", "imgs", "JPEGImages")
MASK_DIRS = ("masks", "SegmentationClass", "labels", "annotations")
MASK_NAME_SUFFIXES = ("_mask", "_masks", "_label", "_labels", "_segmentation", "_gt")
"""Suffixes a mask's name may add to its image's name (Carvana: ``_mask``)."""

TEST_SHARE, VALIDATION_SHARE = 0.15, 0.10
_TURNS = {5, 6, 7, 8}  # EXIF orientations that swap width and height
_LIST_FILES = ("train.txt", "val.txt", "validation.txt", "test.txt")  # later wins


def natural_key(stem: str) -> tuple:
    """Sort key that compares runs of digits by value: ``slice_2`` < ``slice_10``."""
    parts = enumerate(re.split(r"(\d+)", stem))  # odd: the runs of digits
    return tuple((0, int(p), p) if i % 2 else (1, 0, p) for i, p in parts if p)


def stem_key(stem: str) -> str:
    """A name as the reader compares it: Unicode NFC (``café`` whether a disk
    stores NFC or NFD, as macOS does)."""
    return unicodedata.normalize("NFC", stem)


def _some(items: Sequence[str], k: int = 8) -> str:
    shown = ", ".join(items[:k])
    return shown + (f", … ({len(items) - k} more)" if len(items) > k else "")


@dataclass(frozen=True)
class Layout:
    """Where a folder keeps its images, masks and split lists."""

    root: Path
    images_dir: Path
    masks_dir: Path
    mask_suffix: str = ""
    lists: dict[str, Path] = field(default_factory=dict)
    oxford: bool = False

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def describe(self) -> str:
        if self.oxford:
            return (
                "Oxford-IIIT Pet: images in images/, trimaps in annotations/trimaps/ "
                "(1 pet, 2 background, 3 border)"
            )
        named = self.mask_suffix and f"<image name>{self.mask_suffix}"
        images, masks = self.rel(self.images_dir), self.rel(self.masks_dir)
        return f"images in {images}/, masks in {masks}/ named {named or 'as its image'}"

    def split_rule(self) -> str:
        if self.oxford:
            return (
                "annotations/trainval.txt (less a validation hold-out of about 10 % "
                "of every breed) and annotations/test.txt"
            )
        if not self.lists:
            return (
                "no split lists, so by sorted name: the last 15 % test, the 10 % "
                "before them validation, the rest train"
            )
        names = ", ".join(self.rel(p) for p in self.lists.values())
        no_test = "" if "test" in self.lists else "; no test list, so no test split"
        return f"split lists {names}{no_test}"


def _image_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]


def _detect_suffix(images: Path, masks: Path) -> str:
    """The mask-name suffix most masks carry beyond an image's name (``""``)."""
    stems = {stem_key(p.stem) for p in _image_files(images)}
    counts = Counter(
        suffix
        for name in (stem_key(p.stem) for p in _image_files(masks))
        for suffix in ("", *MASK_NAME_SUFFIXES)
        if name.endswith(suffix) and name.removesuffix(suffix) in stems
    )
    return counts.most_common(1)[0][0] if counts else ""


def _list_files(root: Path) -> dict[str, Path]:
    for where in (root, root / "ImageSets" / "Segmentation"):
        found = {
            {"val": "validation"}.get(p.stem, p.stem): p
            for p in (where / name for name in _LIST_FILES)
            if p.is_file()
        }
        if found:
            return found
    return {}


def detect_layout(
    root: str | os.PathLike,
    *,
    images_dir: str | None = None,
    masks_dir: str | None = None,
    mask_suffix: str | None = None,
) -> Layout:
    """Which layout a folder has (see the module's docstring); options override.
    ``FileNotFoundError`` without one images and one masks folder."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory.")
    trimaps = root / "annotations" / "trimaps"
    if images_dir is masks_dir is mask_suffix is None and trimaps.is_dir():
        lists = {s: root / "annotations" / f"{s}.txt" for s in ("trainval", "test")}
        return Layout(root, root / "images", trimaps, "", lists, oxford=True)
    found = []
    options = {"images": (images_dir, IMAGE_DIRS), "masks": (masks_dir, MASK_DIRS)}
    for what, (given, names) in options.items():
        dirs = [root / n for n in names if (root / n).is_dir()]
        dirs = [root / given] if given else [d for d in dirs if _image_files(d)]
        if given and not dirs[0].is_dir():
            raise FileNotFoundError(f"{what}_dir={given!r}: {dirs[0]} is no folder.")
        if len(dirs) != 1:
            raise FileNotFoundError(
                f"{root}: {'no' if not dirs else 'more than one'} {what} folder "
                f"({' or '.join(n + '/' for n in names)}); expected images/<name>.png"
                "|jpg|tif and masks/<name>.png (or pass images_dir= and masks_dir=)."
            )
        found += dirs
    suffix = _detect_suffix(*found) if mask_suffix is None else mask_suffix
    return Layout(root, *found, suffix, _list_files(root))


def is_mask_folder(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds images and masks in a layout this reader detects
    (other than Oxford-IIIT Pet's, which ``resolve_source`` routes itself)."""
    try:
        return not detect_layout(root).oxford
    except (FileNotFoundError, OSError):
        return False


@dataclass(frozen=True)
class ClassTable:
    """Which mask value (or colour) stands for which class.
    ``values``: pixel values (indices for colour masks); ``colors``: RGB -> index."""

    names: tuple[str, ...]
    values: tuple[int, ...]
    ignore_value: int | None = None
    rule: str = ""
    colors: dict | None = None

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def lookup(self, size: int = 256) -> np.ndarray:
        """``int32 (size,)``: class of each value; -1 ignored, -2 no class."""
        size = max(size, max(self.values) + 1, (self.ignore_value or 0) + 1)
        table = np.full(size, -2, np.int32)
        table[list(self.values)] = np.arange(len(self.values), dtype=np.int32)
        if self.ignore_value is not None:
            table[self.ignore_value] = -1
        return table

    def describe(self) -> str:
        """E.g. ``2 classes: membrane (value 0), cell (255)``."""
        pairs = enumerate(zip(self.names, self.values, strict=True))
        parts = [f"{n} ({'value ' if i == 0 else ''}{v})" for i, (n, v) in pairs]
        ignored = "" if (i := self.ignore_value) is None else f"; value {i} ignored"
        return f"{len(self.names)} classes: {_some(parts)}{ignored}"


def read_text_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, text)`` of the non-empty, non-``#`` lines of a UTF-8 file (a
    byte-order mark allowed). A byte that is not UTF-8 raises ``ValueError``."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{path.name} is not UTF-8 (line {line} has the byte "
            f"{data[err.start]:#04x}); save it as UTF-8"
        ) from None
    lines = ((n, line.strip()) for n, line in enumerate(text.splitlines(), 1))
    return [(n, line) for n, line in lines if line and not line.startswith("#")]


def _color_of(parts: list[str]) -> tuple[int, ...] | None:
    rgb = tuple(int(p) for p in parts[-3:] if re.fullmatch(r"\d{1,3}", p))
    return rgb if len(parts) >= 4 and len(rgb) == 3 and max(rgb) <= 255 else None


def parse_colors(lines: Sequence[str], where: str = "classes.txt") -> ClassTable | None:
    """A colour table from ``classes.txt`` lines ``name R G B`` (and ``ignore R G B``);
    ``None`` when the lines are not a colour table. ``ValueError`` when only some
    are, or a colour repeats."""
    lines = [str(line) for line in lines if str(line).split()]
    colors = [_color_of(line.split()) for line in lines]
    if not any(colors):
        return None
    if not all(colors):
        bad = lines[colors.index(None)]
        raise ValueError(f"{where}: {bad!r} has no colour 'R G B' but other lines do.")
    if len(set(colors)) < len(colors):
        raise ValueError(f"{where}: a colour repeats.")
    table, names, ignore = {}, [], None
    for line, rgb in zip(lines, colors, strict=True):
        name = " ".join(line.split()[:-3])
        if name.lower() == "ignore":
            table[rgb] = ignore = 255
        else:
            table[rgb] = len(names)
            names.append(name)
    rule = "the colour table of classes.txt"
    return ClassTable(tuple(names), tuple(range(len(names))), ignore, rule, table)


def parse_classes(
    lines: Sequence[str] | Mapping[str, int], where: str = "classes"
) -> tuple[tuple[str, ...], tuple[int, ...] | None, int | None]:
    """``(names, values or None, ignore value or None)`` from ``classes.txt`` lines
    (``name`` or ``name value``; ``ignore value``) or a ``{name: value}`` mapping.
    ``ValueError`` for mixed entries, a repeated name or value, a bad value."""
    if isinstance(lines, Mapping):
        lines = [f"{name} {value}" for name, value in lines.items()]
    names, values, ignore = [], [], None
    for i, line in enumerate(lines, 1):
        parts, value = str(line).split(), None
        if not parts:
            continue
        if len(parts) > 1 and re.fullmatch(r"-?\d+", parts[-1]):
            value, parts = int(parts[-1]), parts[:-1]
            if not 0 <= value <= 65535:
                raise ValueError(
                    f"{where}, entry {i} ({line!r}): a mask value is 0 to 65535."
                )
        name = " ".join(parts)
        if name.lower() != "ignore":
            names.append(name)
            values.append(value)
        elif value is None:
            raise ValueError(
                f"{where}, entry {i}: 'ignore' needs its pixel value ('ignore 255')."
            )
        else:
            ignore = value
    has = [v is not None for v in values]
    if any(has) and not all(has):
        raise ValueError(
            f"{where}: give every class its pixel value or none of them; "
            f"{names[has.index(False)]!r} has none, {names[has.index(True)]!r} one."
        )
    for what, items in (("name", names), ("value", values if all(has) else [])):
        if repeated := [x for x, k in Counter(items).items() if k > 1]:
            raise ValueError(f"{where}: the class {what} {repeated[0]!r} repeats.")
    if len(names) == 1:
        raise ValueError(f"{where}: a segmentation needs at least 2 classes.")
    return tuple(names), (tuple(values) if names and all(has) else None), ignore


def _clash(ignore: int, what: str, name: str) -> str:
    return (
        f"the ignore value {ignore} is also the {what} of class {name!r}; every pixel "
        "of that class would be left out. Give the ignore value another number"
    )


def _infer_classes(given, found: set[int], ignore_value: int | None, palette: bool):
    """``(ClassTable, None)`` from given classes and mask values, or ``(None, why)``."""
    names, values, ignore = given or ((), None, None)
    if ignore_value is not None and ignore is not None and ignore != ignore_value:
        return None, (
            f"classes.txt declares 'ignore {ignore}' but ignore_value={ignore_value} "
            "was given; keep one"
        )
    ignore = ignore_value if ignore_value is not None else ignore
    if values is not None:
        if ignore in values:
            return None, _clash(ignore, "value", names[values.index(ignore)])
        return ClassTable(names, values, ignore, "values from classes.txt"), None
    real = sorted(found - {ignore})
    binary = set(real) <= {0, 255} and 255 in real
    voc = ignore is None and len(real) > 1 and real[-1] == 255 and not binary
    if voc:
        ignore, real = 255, real[:-1]
    if binary and len(names) in (0, 2):
        rule = "binary masks: 0 -> class 0, 255 -> class 1"
        rule = f"classes.txt names; {rule}" if names else rule
        return ClassTable(names or ("class_0", "class_1"), (0, 255), ignore, rule), None
    n = len(names) or max(real, default=0) + 1
    if names and ignore is not None and 0 <= ignore < n:
        return None, _clash(ignore, "index", names[ignore])
    if names or (n >= 2 and (palette or real == list(range(n)))):
        rule = "palette masks: the index is the class" if palette else "class indices"
        rule = "classes.txt names; the masks hold class indices" if names else rule
        if voc:
            rule += "; value 255 ignored (the VOC convention; classes.txt overrides it)"
        names = names or tuple(f"class_{i}" for i in range(n))
        return ClassTable(names, tuple(range(n)), ignore, rule), None
    return None, (
        f"the masks hold the values {sorted(found)[:20]}: neither class indices 0 … "
        "N-1 without gaps nor binary 0/255; name the classes in classes.txt ('name "
        "value' lines, and 'ignore value' for a value that is no class)"
    )


def exif_orientation(im) -> int:
    """The EXIF Orientation tag of a Pillow image (1, upright, if none or damaged)."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # a damaged EXIF block: the pixels as stored
        return 1
    return value if value in range(1, 9) else 1


def _open(path, page: int | None = None):
    from PIL import Image

    im = Image.open(path)
    if page:
        im.seek(page)
    return im


def read_image(
    path: str | os.PathLike, channels: int, page: int | None = None
) -> np.ndarray:
    """``uint8 (H, W, channels)`` of an image (page), upright (EXIF applied); more
    than 8 bits and float images scaled (``to_rgb8``), alpha dropped."""
    from PIL import ImageOps

    with _open(path, page) as im:
        if exif_orientation(im) != 1:
            im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I") or im.mode == "F":  # scaled, not clipped
            return to_rgb8(im)[..., :channels]
        return np.atleast_3d(np.asarray(im.convert("L" if channels == 1 else "RGB")))


JPEG_NEAR = 32
"""A JPEG mask pixel within this of 0 or 255 counts as that level."""
JPEG_MAX_BETWEEN = 0.05
"""A JPEG mask with more of its pixels between the two levels holds more than two."""


class MaskFormatError(ValueError):
    """A mask this reader does not take (the message says why and what to do)."""


def _raw_mask(im, colors: dict | None) -> tuple[np.ndarray, int, str]:
    """``(values (H, W), pixels between levels, format)`` of an open mask."""
    from ..masks import rgb_to_class_mask

    if im.format == "JPEG":  # lossy: binary masks only, thresholded at the midpoint
        grey = np.asarray(im.convert("L"))
        between = int(((grey > JPEG_NEAR) & (grey < 255 - JPEG_NEAR)).sum())
        if between > JPEG_MAX_BETWEEN * grey.size:
            raise MaskFormatError(
                f"a JPEG mask of more than two levels ({between / grey.size:.0%} of "
                "its pixels are grey); JPEG changes class values, so save it as PNG"
            )
        return np.where(grey >= 128, 255, 0), between, "JPEG binary, thresholded at 128"
    array = np.asarray(im)
    kind = {"P": "palette (the index is the class)", "1": "1-bit"}.get(im.mode, "grey")
    if array.ndim == 2:
        return array.astype(np.int64), 0, f"{im.format} {kind}"
    if colors is None:
        raise MaskFormatError(
            f"an {im.mode} mask; a mask holds one class per pixel (grayscale or "
            "palette), or give each colour a class in classes.txt ('name R G B' lines)"
        )
    try:
        rgb = rgb_to_class_mask(array[..., :3], colors)
    except ValueError as err:
        raise MaskFormatError(str(err)) from None
    return rgb.astype(np.int64), 0, f"{im.format} RGB colours"


def read_mask(
    path: str | os.PathLike, classes: ClassTable, page: int | None = None
) -> np.ndarray:
    """``int32 (H, W)`` class indices of a mask (page); -1 where ignored."""
    with _open(path, page) as im:
        raw = _raw_mask(im, classes.colors)[0]
    mask = classes.lookup(int(raw.max()) + 1)[raw]
    if (mask == -2).any():
        bad = np.unique(raw[mask == -2]).tolist()
        raise ValueError(f"{path}: the values {bad[:10]} are not classes.")
    return mask


def _pages(path: Path) -> int:
    if path.suffix.lower() not in (".tif", ".tiff"):
        return 1  # only TIFFs are opened twice (here, a header only)
    with _open(path) as im:
        return getattr(im, "n_frames", 1)


@dataclass(frozen=True)
class Pair:
    """One example: its name, its two files, and the page of a multi-page TIFF."""

    name: str
    image_path: Path
    mask_path: Path
    page: int | None = None


def _by_stem(folder: Path, suffix: str, problems: list[str]):
    """``(stem -> file, other files)``; broken links and repeated stems are problems."""
    found, other = defaultdict(list), []
    for path in sorted(folder.iterdir()):
        rel = f"{folder.name}/{path.name}"
        if path.is_symlink() and not path.exists():
            to = f"(to {os.readlink(path)}, which does not exist)"
            problems.append(f"{rel}: a broken link {to}; fix the link or remove it")
        elif path.name.startswith(".") or not path.is_file():
            continue
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            found[stem_key(path.stem).removesuffix(suffix)].append(path)
        else:
            other.append(rel)
    for files in [f for f in found.values() if len(f) > 1]:
        names = " and ".join(f"{folder.name}/{f.name}" for f in files)
        problems.append(f"{names}: one stem, {len(files)} files; keep one")
    return {s: files[0] for s, files in found.items()}, other


def _pair_up(layout: Layout, problems: list[str], notes: list[str]):
    """``(pairs, images without mask, masks without image)``; a pair per TIFF page."""
    images, other = _by_stem(layout.images_dir, "", problems)
    masks, other_masks = _by_stem(layout.masks_dir, layout.mask_suffix, problems)
    if other := other + other_masks:
        notes.append(f"files that are not images, not read: {_some(other)}")
    pairs = {}
    for stem in sorted(set(images) & set(masks), key=natural_key):
        image, mask = images[stem], masks[stem]
        try:
            n, m = _pages(image), _pages(mask)
        except Exception:  # unreadable: named when it is read
            n = m = 1
        if n != m:
            has = f"{layout.rel(image)} has {n} pages but {layout.rel(mask)} has {m}"
            problems.append(f"{has}; page k of the image needs page k of the mask")
            continue
        for k in range(n):
            name = stem if n == 1 else f"{stem} page {k + 1}"
            pairs[name] = Pair(name, image, mask, None if n == 1 else k)
    without_mask = tuple(sorted(set(images) - set(masks), key=natural_key))
    without_image = tuple(sorted(set(masks) - set(images), key=natural_key))
    return pairs, without_mask, without_image


def _read_list(layout: Layout, path: Path) -> list[tuple[int, str]]:
    """``(line number, name)`` rows: a line less its `` #`` comment (Oxford: word 1)."""
    rows = read_text_lines(path)
    if layout.oxford:
        return [(n, line.split()[0]) for n, line in rows]
    return [(n, stem_key(re.split(r"\s+#", line, maxsplit=1)[0])) for n, line in rows]


def _listed_splits(layout: Layout, order: list[str]):
    """``(splits, problems, notes, missing names)`` from the lists or sorted names."""
    problems, notes, missing = [], [], []
    known, lists = set(order), layout.lists
    if not lists:
        n = len(order)
        if n < 3:
            problems.append(
                f"{n} pair(s): too few to split (train, validation and test need one "
                "each); write train.txt, validation.txt and test.txt"
            )
            return dict.fromkeys(SPLITS, ()), problems, [], []
        n_val = max(1, int(np.floor(VALIDATION_SHARE * n + 0.5)))
        cut = n - n_val - max(1, int(np.floor(TEST_SHARE * n + 0.5)))
        parts = (order[:cut], order[cut : cut + n_val], order[cut + n_val :])
        return dict(zip(SPLITS, map(tuple, parts), strict=True)), problems, [], []
    if layout.oxford:
        if names := [p.name for p in lists.values() if not p.is_file()]:
            problems.append(f"annotations/{' and '.join(names)} missing")
    elif need := [f"{s}.txt" for s in ("train", "validation") if s not in lists]:
        have = ", ".join(p.name for p in lists.values())
        problems.append(
            f"{have} present but {', '.join(need)} missing: write train and "
            "validation lists (and test), or none"
        )
    splits, seen, absent, twice = {}, {}, [], []
    for split, path in lists.items():
        try:
            rows = _read_list(layout, path) if path.is_file() else []
        except ValueError as err:
            problems.append(str(err))
            rows = []
        for lineno, name in rows:
            if name in seen:
                twice.append(
                    f"{name!r} is in {seen[name]} and in {path.name}; one split each"
                )
            elif name in known:
                seen[name] = path.name
            else:
                stem, end = os.path.splitext(name)
                hint = f"; list stems without the file ending: {stem!r}"
                hint = hint if end.lower() in IMAGE_SUFFIXES and stem in known else ""
                absent.append(
                    f"{path.name} line {lineno} names {name!r}, which has no image "
                    f"and mask pair{hint}"
                )
                missing.append(name)
        splits[split] = tuple(n for n, where in seen.items() if where == path.name)
    kinds = ("list lines name no image and mask pair", "names are in two split lists")
    problems += _grouped(dict(zip(kinds, (absent, twice), strict=True)))
    if layout.oxford:
        trainval = splits.pop("trainval", ())
        breeds = [breed_of(n) for n in trainval]
        held = validation_holdout(trainval, breeds) if len(trainval) >= 2 else set()
        splits["train"] = tuple(n for n in trainval if n not in held)
        splits["validation"] = tuple(n for n in trainval if n in held)
    if unlisted := [s for s in order if s not in seen]:
        notes.append(
            f"{len(unlisted)} pair(s) in no split list (not used): {_some(unlisted)}"
        )
    splits = {s: splits.get(s, ()) for s in SPLITS}
    # a split without a list of its own (Oxford's validation, a missing test list)
    # is refused when it is loaded, not here
    listed = [s for s in SPLITS if s == "train" or s in lists]
    if not problems:
        problems += [f"the {s} split is empty" for s in listed if not splits[s]]
    return splits, problems, notes, missing


@dataclass(frozen=True)
class FolderReport:
    """What ``check_folder`` found; ``print(report)`` gives the readable report.
    ``sizes``: name -> (width, height); ``skipped``: name -> why, left out of
    ``splits``; ``problems`` stop loading, ``notes`` do not."""

    root: Path
    layout: Layout
    pairs: dict[str, tuple[str, str]]
    records: dict[str, Pair]
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
    has_test: bool = True
    mask_formats: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

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
        sizes = _some([f"{w}x{h}" for (w, h) in sorted(self.image_sizes)], 4)
        kind = {1: "grayscale", 3: "RGB"}.get(self.channels, "mixed")
        counts = " / ".join(f"{len(self.splits.get(s, ()))} {s}" for s in SPLITS)
        classes = self.classes.describe() if self.classes else "classes unknown"
        return (
            f"folder {self.root.name}: {len(self.pairs)} image/mask pairs, {counts} "
            f"({self.split_rule}); {kind} images of {sizes} px; {classes}"
        )

    def __str__(self) -> str:
        formats = ", ".join(f"{k} ({n})" for k, n in self.mask_formats.items())
        lines = [
            f"Folder {self.root.name}: {len(self.pairs)} image/mask pairs",
            f"  layout: {self.layout.describe()}",
            f"  masks: {formats or 'none read'}",
            f"  splits ({self.split_rule}):",
        ]
        for split, names in self.splits.items():
            ends = dict.fromkeys(names[:1] + names[-1:])  # first … last, once each
            span = f" ({' … '.join(ends)})" if names else ""
            lines.append(f"    {split:<10} {len(names):>5} pairs{span}")
        lonely = {"images without a mask": self.images_without_mask}
        lonely["masks without an image"] = self.masks_without_image
        lines += [f"  {k} ({len(v)}): {_some(v)}" for k, v in lonely.items() if v]
        if self.image_sizes:
            sizes = [f"{w}x{h} ({n})" for (w, h), n in sorted(self.image_sizes.items())]
            lines.append(f"  image sizes (width x height, pairs): {_some(sizes, 6)}")
        kind = {1: "grayscale (1 channel)", 3: "RGB (3 channels)"}.get(self.channels)
        lines.append(f"  images: {kind or ('mixed' if self.sizes else 'none read')}")
        if (table := self.classes) is not None:
            lines.append(f"  classes ({table.rule}):")
            shares = self.class_shares()
            rows = [(n, table.values[i], shares[n]) for i, n in enumerate(table.names)]
            absent = [f"{n} ({v})" for n, v, k in rows if not k]
            lines += [
                f"    {n:<16} value {v:>5}: {100 * shares[n]:6.2f} % of pixels"
                for n, v, k in rows
                if k or len(absent) < 4
            ]
            if len(absent) >= 4:
                lines.append(f"    in no mask ({len(absent)}): {_some(absent, 6)}")
            if table.ignore_value is not None:
                ignored = f"value {table.ignore_value:>5}: {self.ignored_pixels} pixels"
                lines.append(f"    (ignored)        {ignored}")
        lines += [f"  note: {note}" for note in self.notes]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
        lines += [f"  - {p}" for p in self.problems] or ["No problems found."]
        return "\n".join(lines)


MAX_REFUSAL_LINES = 20


class MissingFilesError(FileNotFoundError, ValueError):
    """A split list names files that are not there: a missing file and a bad list."""


def raise_for_problems(report: FolderReport) -> None:
    """Raise ``ValueError`` for a folder with problems, in at most
    ``MAX_REFUSAL_LINES`` + 2 lines (``MissingFilesError`` where a split list
    names missing files)."""
    if not report.problems:
        return
    shown = [f"  - {p}" for p in report.problems[:MAX_REFUSAL_LINES]]
    if len(report.problems) > MAX_REFUSAL_LINES:
        shown.append(f"  … {len(report.problems) - MAX_REFUSAL_LINES} more")
    raise (MissingFilesError if report.missing else ValueError)(
        f"the folder {report.root.name} cannot be loaded ({len(report.problems)} "
        "problem(s); `unet-tutorial check-data` prints the full report):\n"
        + "\n".join(shown)
    )


def _grouped(by_kind: dict[str, list[str]]) -> list[str]:
    """Up to 3 items of a kind one per line, more on one line with a count."""
    out = []
    for k, v in by_kind.items():
        out += [f"{len(v)} {k}: {_some(v, 3)}"] if len(v) > 3 else v
    return out


def _check_pair(layout: Layout, colors, crop: int | None, pair: Pair) -> dict:
    """What one pair holds (``image``: upright size, channels, EXIF orientation;
    ``mask``: size, values, counts, JPEG pixels between levels, format), or why not."""
    from PIL import Image

    def header():  # decoded whole: a truncated file fails here, not in training
        with _open(pair.image_path, pair.page) as im:
            orientation, (width, height) = exif_orientation(im), im.size
            channels = 1 if Image.getmodebase(im.mode) == "L" else 3
            if layout.oxford and im.format == "JPEG":  # libjpeg still reads every byte
                im.draft(im.mode, (max(1, width // 8), max(1, height // 8)))
            im.load()
        size = (height, width) if orientation in _TURNS else (width, height)
        return size, channels, orientation

    def stats():
        with _open(pair.mask_path, pair.page) as im:
            raw, between, kind = _raw_mask(im, colors)
            return im.size, *np.unique(raw, return_counts=True), between, kind

    image, mask = layout.rel(pair.image_path), layout.rel(pair.mask_path)
    page = "" if pair.page is None else f" page {pair.page + 1}"
    out = {"pair": pair, "mask_name": mask}
    for what, name, read in (("image", image, header), ("mask", mask, stats)):
        try:
            out[what] = read()
            continue
        except Image.DecompressionBombError as err:
            out["corrupt"] = (
                f"{name}{page} is too large to decode safely ({err}); shrink it, or "
                "leave it out with on_corrupt='skip' (--on-corrupt skip)"
            )
        except MaskFormatError as err:
            kind = "colour" if "not in the table" in str(err) else "format"
            out[kind] = f"{name}{page}: {err}"
        except Exception as err:  # Pillow raises several kinds
            why = str(err).replace(str(layout.root / name), name)
            out["corrupt"] = f"{name}{page}: cannot be read ({why})"
        return out
    (width, height), _, orientation = out["image"]
    if orientation != 1:
        out["turned"] = f"{image} ({orientation})"
    mask_size = out["mask"][0]
    if mask_size != (width, height):
        out["corrupt"] = (
            f"{image}{page} is {width}x{height} but {mask} is "
            f"{mask_size[0]}x{mask_size[1]}"
        )
        if orientation in _TURNS and mask_size == (height, width):
            out["corrupt"] += (
                f" (its EXIF orientation {orientation} turns the stored {height}x"
                f"{width} pixels upright; draw the mask on the upright image)"
            )
    elif crop is not None and min(width, height) < crop:
        out["small"] = f"{image} is {width}x{height}, smaller than crop_size={crop}"
    return out


def check_folder(
    root: str | os.PathLike,
    *,
    classes: Sequence[str] | Mapping[str, int] | None = None,
    ignore_value: int | None = None,
    channels: int | None = None,
    crop_size: int | None = None,
    images_dir: str | None = None,
    masks_dir: str | None = None,
    mask_suffix: str | None = None,
    on_corrupt: str = "raise",
) -> FolderReport:
    """Read every file of a folder once and report what it holds and every problem.
    ``classes``: names or ``{name: pixel value}`` (instead of ``classes.txt``);
    ``channels``: 1 or 3 (``None``: the images decide); ``crop_size``: report smaller
    images; ``on_corrupt="skip"``: leave unreadable or mismatched pairs out (a note)."""
    check_choice("on_corrupt", on_corrupt, ON_CORRUPT)
    check_choice("channels", channels, (None, 1, 3))
    if ignore_value is not None and not is_whole(ignore_value, 0):
        raise ValueError(f"ignore_value={ignore_value!r} must be a pixel value >= 0.")
    if crop_size is not None and not is_whole(crop_size, 1):
        raise ValueError(f"crop_size={crop_size!r} must be a positive integer.")
    layout = detect_layout(
        root, images_dir=images_dir, masks_dir=masks_dir, mask_suffix=mask_suffix
    )
    given, colors, listed = None, None, layout.root / "classes.txt"
    if classes is not None:
        given = parse_classes(classes, "classes=")
    elif layout.oxford:
        given = CLASS_NAMES, tuple(TRIMAP_VALUES[n] for n in CLASS_NAMES), None
    elif listed.is_file():
        lines = [t for _, t in read_text_lines(listed)]
        colors = parse_colors(lines)
        given = None if colors else parse_classes(lines, "classes.txt")
    problems, notes = [], []
    records, without_mask, without_image = _pair_up(layout, problems, notes)
    if not records and not problems:
        problems.append(f"no image has a mask of the same name ({layout.describe()})")
    splits, split_problems, split_notes, missing = _listed_splits(layout, [*records])
    if not records:  # the cause is named above; no split follows from it
        split_problems, missing = [], []
    check = partial(_check_pair, layout, colors and colors.colors, crop_size)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        checked = list(pool.map(check, records.values()))
    kinds = {
        "corrupt": "files cannot be read, or differ in size from their masks",
        "format": "files are not masks this reader takes",
        "colour": "masks have colours not in the colour table",
        "small": f"images are smaller than crop_size={crop_size}",
    }
    found = {k: [c[k] for c in checked if k in c] for k in kinds}
    corrupt = {c["pair"].name: c["corrupt"] for c in checked if "corrupt" in c}
    if skipped := (corrupt if on_corrupt == "skip" else {}):
        left = f"left out {len(skipped)} unreadable or mismatched pair(s)"
        notes.append(f"{left} (on_corrupt='skip'): {_some(list(skipped))}")
        found["corrupt"] = []
    problems += _grouped({kinds[k]: v for k, v in found.items()})
    good = [c for c in checked if "mask" in c and c["pair"].name not in skipped]
    sizes = {c["pair"].name: c["image"][0] for c in good}
    inferred = {c["image"][1] for c in good}
    if oriented := [c["turned"] for c in good if "turned" in c]:
        notes.append(
            f"{len(oriented)} image(s) have an EXIF orientation tag other than 1 "
            f"and are read upright: {_some(oriented)}; a mask drawn on the stored "
            "pixels lies turned or mirrored, even if its size fits: check an overlay"
        )
    jpeg = [c for c in good if c["mask"][4].startswith("JPEG")]
    if indices_as_jpeg := jpeg and not any(255 in c["mask"][1] for c in jpeg):
        problems.append(
            f"the {len(jpeg)} JPEG mask(s) hold no white, as masks of class indices "
            "would: JPEG masks are read as black and white only; save them as PNG"
        )
    if between := sum(c["mask"][3] for c in good):
        notes.append(
            f"{between} pixels of the JPEG masks were neither near 0 nor "
            "near 255 (JPEG blurs edges); each went to the nearer class"
        )
    channels = channels or (3 if layout.oxford else None)
    if channels is None and len(inferred) > 1:
        grey = [c["pair"].image_path.name for c in good if c["image"][1] == 1]
        rgb = [c["pair"].image_path.name for c in good if c["image"][1] == 3]
        problems.append(
            f"the images mix grayscale ({len(grey)}: {_some(grey, 3)}) and RGB "
            f"({len(rgb)}: {_some(rgb, 3)}); convert them to one kind, or pass "
            "channels=1 or channels=3 (--channels)"
        )
    table, class_pixels, ignored = _classes(  # none follow from indices_as_jpeg
        good, given, colors, ignore_value, [] if indices_as_jpeg else problems
    )
    if table is not None and layout.oxford and classes is None:
        table = replace(table, rule="Oxford-IIIT Pet trimaps")
    has_test = "test" in layout.lists or not layout.lists
    splits = {s: tuple(n for n in v if n not in skipped) for s, v in splits.items()}
    if not has_test:
        notes.append("without a test split, train with evaluate_test=False")
    return FolderReport(
        root=layout.root,
        layout=layout,
        pairs={n: (p.image_path.name, p.mask_path.name) for n, p in records.items()},
        records=records,
        images_without_mask=without_mask,
        masks_without_image=without_image,
        image_sizes=dict(Counter(sizes.values())),
        sizes=sizes,
        channels=channels or (inferred.pop() if len(inferred) == 1 else None),
        classes=table,
        class_pixels=class_pixels,
        ignored_pixels=ignored,
        splits=splits,
        split_rule=layout.split_rule(),
        has_test=has_test,
        mask_formats=dict(Counter(c["mask"][4] for c in good)),
        skipped=skipped,
        missing=tuple(missing),
        problems=tuple(dict.fromkeys(problems + split_problems)),
        notes=tuple(notes + split_notes),
    )


def _classes(good, given, colors, ignore_value, problems):
    """``(class table, class pixels, ignored pixels)`` of the readable masks."""
    if (table := colors) is None:
        found = {int(v) for c in good for v in c["mask"][1]}
        if not found:  # nothing readable: said where it is caused
            return None, {}, 0
        palette = any("palette" in c["mask"][4] for c in good)
        table, problem = _infer_classes(given, found, ignore_value, palette)
        if problem:
            holders = defaultdict(set)  # one pass: masks may hold thousands of values
            for c in good:
                for v in c["mask"][1].tolist():
                    holders[v].add(c["mask_name"])
            where = "; ".join(
                f"value {v}: {_some(sorted(f), 3)}" for v, f in sorted(holders.items())
            )
            problems.append(f"{problem} ({where})")
            return None, {}, 0
    allowed = set(table.values) | {table.ignore_value}
    totals, bad = Counter(), []
    for c in good:
        values, counts = c["mask"][1:3]
        if outside := sorted(int(v) for v in values if int(v) not in allowed):
            why = f"the values {outside[:10]} are not classes ({table.describe()})"
            bad.append(f"{c['mask_name']}: {why}")
        totals.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
    problems += _grouped({"masks hold values that are not classes": bad})
    pixels = {n: totals[v] for n, v in zip(table.names, table.values, strict=True)}
    return table, pixels, totals[table.ignore_value]


def read_split_file(root: str | os.PathLike, split: str = "train") -> list[Pair]:
    """The pairs of a split of an Oxford-layout folder, in the list's order, from
    its lists alone (nothing decoded; ``check_folder`` checks the files). Warns of
    images listed both in ``test.txt`` and ``trainval.txt``."""
    layout = detect_layout(check_oxford_directory(root))
    check_split(split)
    listed = {s: {n for _, n in _read_list(layout, p)} for s, p in layout.lists.items()}
    if shared := sorted(listed["test"] & listed["trainval"]):
        warnings.warn(
            f"{len(shared)} image(s) of {layout.root} are in both test.txt and "
            f"trainval.txt (e.g. {shared[0]}), so not unseen when tested; remove them "
            "from one list",
            stacklevel=2,
        )
    splits = _listed_splits(layout, sorted(listed["test"] | listed["trainval"]))[0]
    images, trimaps = layout.images_dir, layout.masks_dir
    return [Pair(n, images / f"{n}.jpg", trimaps / f"{n}.png") for n in splits[split]]


def load_mask_folder(
    root: str | os.PathLike | FolderReport,
    split: str = "train",
    image_size: int | None = None,
    batch_size: int = 4,
    *,
    crop_size: int | None = None,
    augment=None,
    shuffle: bool | None = None,
    seed: int = 0,
    **check,
):
    """Batches of one split of a folder (or a ``check_folder`` report).
    ``image_size=None`` keeps native size: random ``crop_size`` squares for training,
    whole images (one at a time when sizes differ) otherwise. ``(x, y)`` batches, plus
    weights (0 on ignored pixels) with an ignore value; ``**check``: check_folder's."""
    if not isinstance(root, FolderReport):
        root = check_folder(root, crop_size=None if image_size else crop_size, **check)
    args = (split, image_size, batch_size, crop_size, augment, shuffle, seed)
    return folder_dataset(root, *args)[0]


def load_pets_directory(
    root: str | os.PathLike,
    split: str = "train",
    image_size: int = 128,
    batch_size: int = 16,
    *,
    augment=None,
    shuffle: bool | None = None,
    seed: int = 0,
    on_corrupt: str = "raise",
):
    """Oxford-IIIT Pet from its extracted archives (``images/``, ``annotations/``):
    ``load_mask_folder`` with Oxford's defaults (128 px, batches of 16)."""
    report = check_folder(check_oxford_directory(root), on_corrupt=on_corrupt)
    options = dict(augment=augment, shuffle=shuffle, seed=seed)
    return load_mask_folder(report, split, image_size, batch_size, **options)


def check_sizes(split: str, image_size, batch_size, *, native: bool = False) -> None:
    """Refuse an unknown split, an ``image_size`` below 16 (or ``None``, unless
    ``native``: a folder's own size) or a ``batch_size`` below 1."""
    check_split(split)
    if not (native and image_size is None) and not is_whole(image_size, 16):
        also = ", or None for native resolution" if native else " (e.g. 128)"
        raise ValueError(
            f"image_size={image_size!r} must be an integer of at least 16{also}."
        )
    if not is_whole(batch_size, 1):
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")


def folder_dataset(
    report, split, image_size, batch_size, crop_size, augment, shuffle, seed
):
    """``(dataset, batch size used)`` for a checked folder (``load_mask_folder``)."""
    import tensorflow as tf

    from ..data import finish_pipeline, resize_image, resize_mask

    check_sizes(split, image_size, batch_size, native=True)
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
    if split == "test" and not report.has_test:
        raise ValueError(
            f"the folder {report.root.name} has no test split (no test list): nothing "
            "to score on; add a test list, or train with evaluate_test=False."
        )
    pairs = [report.records[s] for s in report.splits[split]]
    if not pairs:
        raise ValueError(f"the {split} split of {report.root.name} is empty.")
    mixed = len({report.sizes[p.name] for p in pairs}) > 1
    if split == "train" and image_size is None and crop_size is None and mixed:
        raise ValueError(
            f"the train images of {report.root.name} have different sizes; pass "
            "crop_size= (random crops of native size) or image_size= (resize)."
        )
    if n := len(report.skipped):
        why = "; ".join(f"{k} ({v})" for k, v in list(report.skipped.items())[:5])
        warnings.warn(f"skipped {n} corrupt example(s): {why}", stacklevel=3)
    classes, channels = report.classes, report.channels

    def read(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = pairs[int(index)]
        image = read_image(p.image_path, channels, p.page)
        return image, read_mask(p.mask_path, classes, p.page)

    def decode(index):
        image, mask = tf.numpy_function(read, [index], (tf.uint8, tf.int32))
        image = tf.ensure_shape(image, (None, None, channels))
        image = tf.image.convert_image_dtype(image, tf.float32)
        mask = tf.ensure_shape(mask, (None, None))
        if image_size is not None:
            return resize_image(image, image_size), resize_mask(mask, image_size)
        return image, mask

    parallel = tf.data.AUTOTUNE  # Pillow releases the GIL; map keeps the order
    ds = tf.data.Dataset.range(len(pairs)).map(decode, num_parallel_calls=parallel)
    whole = image_size is None and (split != "train" or crop_size is None)
    batch = 1 if whole and mixed else batch_size  # whole images of different sizes
    options = dict(augment=augment, shuffle=shuffle, seed=seed, batch_size=batch)
    options["crop_size"] = crop_size if split == "train" else None
    ds = finish_pipeline(ds, split=split, num_examples=len(pairs), **options)
    if classes.ignore_value is not None:
        ds = ds.map(
            lambda x, y: (x, tf.maximum(y, 0), tf.cast(y >= 0, tf.float32)),
            num_parallel_calls=parallel,
        )
    return ds, batch


def check_oxford_directory(root: str | os.PathLike) -> Path:
    """``root`` as a ``Path`` if it holds the official layout (``images/``,
    ``annotations/trimaps/``, both lists); else ``FileNotFoundError`` naming what is
    missing."""
    root = Path(root).expanduser()
    needed = ("images", "annotations/trimaps", "annotations/trainval.txt")
    needed += ("annotations/test.txt",)
    if missing := ", ".join(n for n in needed if not (root / n).exists()):
        what = "in the official layout" if root.is_dir() else "a directory"
        raise FileNotFoundError(
            f"{root} is not {what}: {missing} missing (expected the extracted "
            "Oxford-IIIT Pet archives: images/<name>.jpg, annotations/trimaps/"
            "<name>.png, annotations/trainval.txt and test.txt; download_oxford_pets() "
            "makes them)."
        )
    return root
