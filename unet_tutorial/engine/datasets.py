"""Where batches come from: TensorFlow Datasets, a folder, or the synthetic stand-in.

Every route ends in the core's ``finish_pipeline`` and yields batches of
``(image, mask)`` as described in ``unet_tutorial.data``. Routes:

* ``load_oxford_pets``: TensorFlow Datasets' ``oxford_iiit_pet:4.*.*``.
* ``load_pets_directory``: the official archives, extracted (for example by
  ``download_oxford_pets``).
* ``load_synthetic_pets``: the synthetic stand-in for offline machines.
* ``engine.folders.load_mask_folder``: your own ``images/`` + ``masks/``.
* ``load_dataset``: one entry point that picks a route (``resolve_source``)
  and says which data it used (``DataInfo``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..checks import ON_CORRUPT, check_choice, is_whole
from ..data import (
    SPLITS,
    breed_of,
    check_split,
    finish_pipeline,
    preprocess_pair,
    to_rgb8,
    validation_holdout,
)
from ..labels import CLASS_NAMES, NUM_CLASSES, TRIMAP_VALUES
from ..settings import AugmentConfig
from ..synthetic import make_synthetic_pets
from .sources import (
    HOW_TO_GET_OXFORD,
    OXFORD_TFDS_NAME,
    OXFORD_TFDS_VERSION,
    DataSource,
    DataUnavailableError,
    check_oxford_directory,
    oxford_server_reachable,
    resolve_source,
)

OXFORD_LIST_SIZES = {"trainval": 3680, "test": 3669}
"""Official list sizes; ``train`` and ``validation`` together are the ``trainval`` list.
"""

OXFORD_BREEDS = 37
"""Breeds in the full dataset; a folder with fewer is a subset."""

SYNTHETIC_SPLIT_SIZES = {"train": 512, "validation": 64, "test": 128}
# splits share no image
_SYNTHETIC_SEED_OFFSETS = {
    "train": 0,
    "validation": 2_000_029,
    "test": 1_000_003,
}


def _check_common(split: str, image_size: int, batch_size: int) -> None:
    check_split(split)
    if not is_whole(image_size, 16):
        raise ValueError(
            f"image_size={image_size!r} must be an integer of at least 16 (e.g. 128)."
        )
    if not is_whole(batch_size, 1):
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")


# ------------------------------------------------------------ TensorFlow Datasets route


def check_oxford_version(version: str) -> None:
    """Refuse a TensorFlow Datasets version of ``oxford_iiit_pet`` that cannot load."""
    if not str(version).startswith("4"):
        raise ValueError(
            f"oxford_iiit_pet version {version!r} is not supported: version 3.x no "
            "longer loads on current TensorFlow Datasets (its download URLs are "
            "gone). Use '4.*.*', which reads the same images and trimaps."
        )


def _tfds_holdout(builder) -> tuple[int, set[str]]:
    """``(trainval size, held-out file names)`` of tfds' ``train`` (= ``trainval``)
    split, stratified by breed.
    """
    import tensorflow_datasets as tfds

    skip = {
        "image": tfds.decode.SkipDecoding(),
        "segmentation_mask": tfds.decode.SkipDecoding(),
    }
    ds = builder.as_dataset(split="train", decoders=skip, shuffle_files=False)
    names, labels = [], []
    for name, label in ds.map(
        lambda ex: (ex["file_name"], ex["label"])
    ).as_numpy_iterator():
        names.append(name.decode())
        labels.append(int(label))
    return len(names), validation_holdout(names, labels)


def _tfds_split_size(split: str, data_dir: str | None) -> int:
    """Examples in tfds' ``train`` or ``validation`` split (of a prepared
    ``oxford_iiit_pet``).
    """
    import tensorflow_datasets as tfds

    total, held = _tfds_holdout(
        tfds.builder(f"{OXFORD_TFDS_NAME}:{OXFORD_TFDS_VERSION}", data_dir=data_dir)
    )
    return len(held) if split == "validation" else total - len(held)


def load_oxford_pets(
    split: str = "train",
    image_size: int = 128,
    batch_size: int = 16,
    *,
    data_dir: str | os.PathLike | None = None,
    augment: bool | AugmentConfig | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    version: str = OXFORD_TFDS_VERSION,
    download: bool = True,
) -> tf.data.Dataset:
    """Oxford-IIIT Pet from TensorFlow Datasets, as ``(image, mask)`` batches.

    Uses ``tfds.load("oxford_iiit_pet:4.*.*")``. tfds' ``train`` split is the
    official ``trainval`` list (3,680 images); this function splits it into
    ``"train"`` and a ``"validation"`` hold-out of about 10 % of every breed
    (``validation_holdout``, fixed); ``"test"`` is the official test list
    (3,669). Images are resized bilinearly, trimaps with nearest neighbour and
    mapped ``1 -> 0 pet, 2 -> 1 background, 3 -> 2 border`` (see
    ``trimap_to_labels``; TensorFlow's tutorial names these classes wrongly).

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"``.
        image_size: output side length ``S`` (128 in the book).
        batch_size: examples per batch.
        data_dir: where TensorFlow Datasets keeps (or will keep) the prepared
            data; ``None`` for its default (``~/tensorflow_datasets``).
        augment: paired augmentation; default ``True`` for train only.
        shuffle: default ``True`` for train only.
        seed: seeds shuffling and augmentation.
        version: the tfds version; only ``4.*.*`` works on current tfds.
        download: let tfds download and prepare the data if it is missing.

    Returns:
        A ``tf.data.Dataset`` of ``(float32 (B, S, S, 3), int32 (B, S, S))``.

    Raises:
        ValueError: for a bad split, size, batch size or version.
        DataUnavailableError: if tfds cannot provide the data (not prepared,
            and offline or ``download=False``); decided within seconds, and the
            message lists the ways to get it.
    """
    import tensorflow_datasets as tfds

    _check_common(split, image_size, batch_size)
    check_oxford_version(version)
    data_dir = None if data_dir is None else os.fspath(data_dir)
    name = f"{OXFORD_TFDS_NAME}:{version}"
    try:
        builder = tfds.builder(name, data_dir=data_dir)
        if not builder.is_prepared():
            # tfds would retry an unreachable server for minutes and leave *.tmp.*
            # folders behind
            if not download:
                raise DataUnavailableError(
                    f"{HOW_TO_GET_OXFORD} (it is not prepared and download=False)"
                )
            if not oxford_server_reachable():
                raise DataUnavailableError(
                    f"{HOW_TO_GET_OXFORD} (it is not prepared and the server does not "
                    "answer)"
                )
            builder.download_and_prepare()
        total, held = _tfds_holdout(builder) if split != "test" else (0, set())
        ds = builder.as_dataset(
            split="test" if split == "test" else "train", shuffle_files=False
        )
    except DataUnavailableError:
        raise
    except (
        Exception
    ) as err:  # tfds raises many kinds (network, missing files, assertion)
        raise DataUnavailableError(
            f"{HOW_TO_GET_OXFORD} (TensorFlow Datasets said: {err})"
        ) from err
    if split != "test":
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(sorted(held)), tf.ones(len(held), tf.int32)
            ),
            0,
        )
        keep_held = split == "validation"
        ds = ds.filter(
            lambda ex: tf.equal(table.lookup(ex["file_name"]) == 1, keep_held)
        )
        # a filter hides the size; the pipeline (and a cosine schedule) needs it
        kept = len(held) if keep_held else total - len(held)
        ds = ds.apply(tf.data.experimental.assert_cardinality(kept))
    ds = ds.map(
        lambda ex: preprocess_pair(ex["image"], ex["segmentation_mask"], image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return finish_pipeline(
        ds,
        split=split,
        batch_size=batch_size,
        augment=augment,
        shuffle=shuffle,
        seed=seed,
        num_examples=OXFORD_LIST_SIZES["test" if split == "test" else "trainval"],
    )


# ---------------------------------------------------------------------- directory route


@dataclass(frozen=True)
class PetRecord:
    """One example of the official layout: its name and the two file paths."""

    name: str
    image_path: Path
    trimap_path: Path


def _list_names(list_file: Path) -> list[tuple[int, str]]:
    """``(line number, name)`` of every entry of a split list (UTF-8, a BOM allowed,
    ``#`` comments): the first word of each line.

    Raises:
        ValueError: the file is not UTF-8 (the message names it and the line).
    """
    from .folders import read_text_lines

    return [(lineno, line.split()[0]) for lineno, line in read_text_lines(list_file)]


def _warn_about_shared_names(root: Path) -> None:
    """Warn when an image is listed both in ``test.txt`` and in ``trainval.txt``."""
    import warnings

    lists = [root / "annotations" / f"{name}.txt" for name in ("test", "trainval")]
    if not all(f.is_file() for f in lists):
        return  # a missing list is reported where it is read
    test, trainval = ({name for _, name in _list_names(f)} for f in lists)
    shared = sorted(test & trainval)
    if shared:
        warnings.warn(
            f"{len(shared)} image(s) of {root} are listed in both test.txt and "
            f"trainval.txt (e.g. {shared[0]}): the test scores are not those of unseen "
            "images; remove them from one of the lists",
            stacklevel=3,
        )


def _read_list(root: Path, list_name: str) -> list[tuple[PetRecord, str]]:
    """``(record, breed)`` for every line of ``annotations/<list_name>.txt``, checking
    that its files exist.
    """
    list_file = root / "annotations" / f"{list_name}.txt"
    if not list_file.is_file():
        raise FileNotFoundError(
            f"split file {list_file} is missing; the official layout has it in "
            "annotations/."
        )
    rows = []
    for lineno, name in _list_names(list_file):
        rec = PetRecord(
            name,
            root / "images" / f"{name}.jpg",
            root / "annotations" / "trimaps" / f"{name}.png",
        )
        for path in (rec.image_path, rec.trimap_path):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{list_file.name} line {lineno} names {name!r}, but {path} does "
                    "not exist."
                )
        rows.append((rec, breed_of(name)))
    if not rows:
        raise ValueError(f"{list_file} lists no images.")
    return rows


def read_split_file(root: str | os.PathLike, split: str = "train") -> list[PetRecord]:
    """The examples of a split of a folder in the official layout, in the list's order.

    ``"test"`` is ``annotations/test.txt``. ``"train"`` and ``"validation"``
    split ``annotations/trainval.txt``: ``validation_holdout`` keeps about
    10 % of every breed (the breed is the name without its number) for
    validation, always the same images. Each line is
    ``<name> <class id> <species> <breed id>``; lines starting with ``#``
    are comments. Every named image and trimap must exist.

    Raises:
        FileNotFoundError: the folder, the split file, or a file it names is
            missing; the message names the path.
        ValueError: an unknown split, an empty list, or one that is not UTF-8.

    Warns:
        UserWarning: an image is listed both in ``test.txt`` and in
            ``trainval.txt``.
    """
    root = check_oxford_directory(root)
    check_split(split)
    _warn_about_shared_names(root)
    if split == "test":
        return [rec for rec, _ in _read_list(root, "test")]
    rows = _read_list(root, "trainval")
    held = validation_holdout(
        [rec.name for rec, _ in rows], [breed for _, breed in rows]
    )
    return [rec for rec, _ in rows if (rec.name in held) == (split == "validation")]


@dataclass(frozen=True)
class FolderCounts:
    """What an official-layout folder holds, counted from its split lists.

    Attributes:
        train: images of the ``train`` split (trainval less the hold-out).
        validation: images held out of trainval for validation.
        test: images of the test list.
        breeds: breeds named in the two lists.
    """

    train: int
    validation: int
    test: int
    breeds: int

    @property
    def is_full(self) -> bool:
        """The complete official lists: 3,680 trainval and 3,669 test images of 37
        breeds.
        """
        return (
            self.breeds == OXFORD_BREEDS
            and self.train + self.validation == OXFORD_LIST_SIZES["trainval"]
            and self.test == OXFORD_LIST_SIZES["test"]
        )

    def __str__(self) -> str:
        of = f"of {self.breeds} breeds" if self.breeds != 1 else "of 1 breed"
        return (
            f"{self.train} train / {self.validation} validation / {self.test} test "
            f"images {of}"
        )


def count_directory(root: str | os.PathLike) -> FolderCounts:
    """Count the pets of a folder in the official layout (``FolderCounts``).

    Counted from the split lists, so a subset is never mistaken for the full
    dataset (3,680 trainval and 3,669 test images of 37 breeds).
    """
    root = check_oxford_directory(root)
    trainval, test = _read_list(root, "trainval"), _read_list(root, "test")
    held = validation_holdout(
        [rec.name for rec, _ in trainval], [breed for _, breed in trainval]
    )
    n_val = sum(rec.name in held for rec, _ in trainval)
    breeds = len({breed for _, breed in trainval + test})
    return FolderCounts(len(trainval) - n_val, n_val, len(test), breeds)


def describe_directory(root: str | os.PathLike) -> str:
    """Which pets a folder holds, e.g.
    ``"270 train / 30 validation / 298 test images of 3 breeds"``.
    """
    return str(count_directory(root))


def _too_large(what: str, path: Path, err: Exception) -> str:
    """The message for a file over Pillow's decompression-bomb limit."""
    return (
        f"{what} {path} is too large to decode safely ({err}); shrink it, or leave "
        "it out with on_corrupt='skip' (--on-corrupt skip)"
    )


def _read_pair(
    rec: PetRecord, *, check_only: bool = False
) -> tuple[np.ndarray, np.ndarray] | None:
    """Decode one image (as RGB) and its trimap with Pillow, naming the file on failure.

    With ``check_only`` the image is decoded in Pillow's reduced-size JPEG
    "draft" mode (libjpeg's DCT scaling: it still reads the whole file, so a
    truncated or undecodable image fails the same way, in about half the
    time) and nothing is returned; the trimap is always decoded in full, to
    check its values.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(rec.image_path) as im:
            width, height = im.size
            if check_only and im.format == "JPEG":
                im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            # a few official "jpg" files are PNG, CMYK or have an alpha channel: RGB
            # fixes all; a 16-bit image is scaled to 8 bits, not clipped
            image = to_rgb8(im)
    except Image.DecompressionBombError as err:
        raise ValueError(_too_large("image", rec.image_path, err)) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot decode image {rec.image_path}: {err}") from err
    try:
        with Image.open(rec.trimap_path) as im:
            trimap = np.asarray(im)
    except Image.DecompressionBombError as err:
        raise ValueError(_too_large("trimap", rec.trimap_path, err)) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot decode trimap {rec.trimap_path}: {err}") from err
    if trimap.ndim == 3:
        trimap = trimap[..., 0]
    if (height, width) != trimap.shape:
        raise ValueError(
            f"image {rec.image_path.name} is {width}x{height} but its trimap "
            f"{rec.trimap_path.name} is {trimap.shape[1]}x{trimap.shape[0]}; they must "
            "match."
        )
    # checked before the cast to 8 bits: a 16-bit 257 would otherwise wrap to a
    # valid-looking 1
    bad = np.setdiff1d(np.unique(trimap), list(TRIMAP_VALUES.values()))
    if bad.size:
        raise ValueError(
            f"trimap {rec.trimap_path} has values {bad.tolist()}; Oxford trimaps hold "
            "only 1, 2, 3."
        )
    return None if check_only else (image, trimap.astype(np.uint8))


def _check_pairs(records: list[PetRecord]) -> list[ValueError | None]:
    """``_read_pair(check_only=True)`` for every record, in parallel threads; the error
    (or ``None``) of each.
    """
    from concurrent.futures import ThreadPoolExecutor

    def check(rec: PetRecord) -> ValueError | None:
        try:
            _read_pair(rec, check_only=True)
        except ValueError as err:
            return err
        return None

    # Pillow releases the GIL while it decodes, so threads use every core.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(check, records))


def load_pets_directory(
    root: str | os.PathLike,
    split: str = "train",
    image_size: int = 128,
    batch_size: int = 16,
    *,
    augment: bool | AugmentConfig | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    on_corrupt: str = "raise",
) -> tf.data.Dataset:
    """Oxford-IIIT Pet from the official extracted layout, as ``(image, mask)`` batches.

    Expects ``root/images/<name>.jpg``, ``root/annotations/trimaps/<name>.png``
    and the split lists ``root/annotations/trainval.txt`` and ``test.txt``.
    Every image is checked up front (decoded with Pillow, in parallel
    threads), so a corrupt file is reported by name before training starts
    rather than deep inside ``tf.data``; training then decodes in parallel
    too, in the split file's order. With ``on_corrupt="raise"`` (the
    default) the first corrupt image or trimap (or an image whose trimap has
    another size) stops loading with a ``ValueError`` that names it; with
    ``"skip"`` such examples are left out and listed in a warning. Missing
    files always raise.

    Args:
        root: the folder that holds ``images/`` and ``annotations/``.
        split: ``"train"``, ``"validation"`` (both from the trainval list) or
            ``"test"``.
        image_size: output side length ``S``.
        batch_size: examples per batch.
        augment: default ``True`` for train.
        shuffle: default ``True`` for train.
        seed: seeds shuffling and augmentation.
        on_corrupt: ``"raise"`` or ``"skip"``.

    Returns:
        A ``tf.data.Dataset`` of ``(float32 (B, S, S, 3), int32 (B, S, S))``.
    """
    import warnings

    _check_common(split, image_size, batch_size)
    check_choice("on_corrupt", on_corrupt, ON_CORRUPT)
    records = read_split_file(root, split)
    good, skipped = [], []
    for rec, err in zip(records, _check_pairs(records), strict=True):
        if err is None:
            good.append(rec)
        elif on_corrupt == "raise":
            raise err
        else:
            skipped.append(f"{rec.name} ({err})")
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} corrupt example(s): " + "; ".join(skipped),
            stacklevel=2,
        )
    if not good:
        raise ValueError(f"no readable examples in {root} for split {split!r}.")

    def read(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _read_pair(good[int(index)])

    def decode(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image, trimap = tf.numpy_function(
            read, [index], (tf.uint8, tf.uint8), stateful=False
        )
        return tf.ensure_shape(image, (None, None, 3)), tf.ensure_shape(
            trimap, (None, None)
        )

    # Decoding runs in parallel (Pillow releases the GIL); the order stays the split
    # file's order.
    ds = (
        tf.data.Dataset.range(len(good))
        .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        .map(
            lambda im, tri: preprocess_pair(im, tri, image_size),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    )
    return finish_pipeline(
        ds,
        split=split,
        batch_size=batch_size,
        augment=augment,
        shuffle=shuffle,
        seed=seed,
        num_examples=len(good),
    )


# ---------------------------------------------------------------------- synthetic route


def load_synthetic_pets(
    split: str = "train",
    image_size: int = 128,
    batch_size: int = 16,
    *,
    num_examples: int | None = None,
    augment: bool | AugmentConfig | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
) -> tf.data.Dataset:
    """The synthetic stand-in (``make_synthetic_pets``) through the same pipeline.

    ``"train"``, ``"validation"`` and ``"test"`` are drawn from different
    seeds, so they share no image. This is **not** Oxford-IIIT Pet.

    Args:
        num_examples: images in the split (default 512 train, 64 validation,
            128 test).
        Other arguments as in ``load_oxford_pets``.
    """
    _check_common(split, image_size, batch_size)
    n = SYNTHETIC_SPLIT_SIZES[split] if num_examples is None else num_examples
    images, masks = make_synthetic_pets(
        n, image_size, seed=seed + _SYNTHETIC_SEED_OFFSETS[split]
    )
    return finish_pipeline(
        tf.data.Dataset.from_tensor_slices((images, masks)),
        split=split,
        batch_size=batch_size,
        augment=augment,
        shuffle=shuffle,
        seed=seed,
        num_examples=n,
    )


# ---------------------------------------------------------------------- one entry point


@dataclass(frozen=True)
class DataInfo:
    """Which data a ``load_dataset`` call used, and what a model for it needs.

    Attributes:
        source: the ``source=`` value that loads this data again: ``"tfds"``,
            ``"synthetic"``, or the folder's path.
        kind: ``"tfds"``, ``"directory"`` (Oxford's layout), ``"folder"``
            (``images/`` + ``masks/``) or ``"synthetic"``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        num_examples: examples in the split.
        image_size: side length of the images; ``None``: native size.
        is_stand_in: ``True`` for the synthetic stand-in: results on it are
            not Oxford-IIIT Pet results.
        description: which data exactly, e.g. "Oxford-IIIT Pet, folder
            oxford-pets-subset: 270 train / 30 validation / 298 test images of
            3 breeds".
        notice: a one-line description, printed by ``load_dataset``.
        num_breeds: breeds in the data (``None`` for the stand-in).
        is_full: the complete official splits (37 breeds), where scores are
            Oxford-IIIT Pet results in the usual sense.
        num_classes: classes of the masks (the model's outputs).
        channels: image channels (the model's inputs): 1 grayscale, 3 RGB.
        class_names: the name of each class index.
        ignore_value: the folder's pixel value that is no class; when it is
            set, batches are ``(image, mask, weights)`` with weight 0 there.
        crop_size: side of the random training crops, or ``None``.
        batch_size: the batch size used: 1 for whole images of different
            sizes (validation and test at native size), else as asked.
    """

    source: str
    kind: str
    split: str
    num_examples: int
    image_size: int | None
    is_stand_in: bool
    description: str
    notice: str
    num_breeds: int | None = None
    is_full: bool = False
    num_classes: int = NUM_CLASSES
    channels: int = 3
    class_names: tuple[str, ...] = CLASS_NAMES
    ignore_value: int | None = None
    crop_size: int | None = None
    batch_size: int | None = None


@dataclass(frozen=True)
class SourceFacts:
    """What a resolved source holds: ``describe_source`` in words, and as fields.

    Attributes:
        description: one sentence (``describe_source``).
        num_breeds: breeds (``None`` for the stand-in).
        is_full: the complete official splits of 37 breeds.
    """

    description: str
    num_breeds: int | None
    is_full: bool


def source_facts(
    data: DataSource, num_examples: dict[str, int] | None = None
) -> SourceFacts:
    """Which data a source holds, counted, never assumed (``SourceFacts``).

    Args:
        data: a resolved source (``resolve_source``).
        num_examples: synthetic split sizes ``{"train": n, ...}`` (defaults otherwise).
    """
    if data.kind == "folder":
        from .folders import check_folder

        return SourceFacts(check_folder(data.path).summary(), None, False)
    if data.kind == "directory":
        counts = count_directory(data.path)
        where = Path(data.path).name or Path(data.path).resolve().name or data.path
        return SourceFacts(
            f"Oxford-IIIT Pet, folder {where}: {counts}", counts.breeds, counts.is_full
        )
    if data.kind == "tfds":
        return SourceFacts(
            "Oxford-IIIT Pet 4.x from TensorFlow Datasets: the official trainval list "
            "(3,680 images, split into train and a 10 % validation hold-out) and test "
            f"list (3,669 images) of {OXFORD_BREEDS} breeds",
            OXFORD_BREEDS,
            True,
        )
    given = num_examples or {}
    stand_in = "the SYNTHETIC STAND-IN, not Oxford-IIIT Pet"
    # only some sizes known (one split loaded): name only those
    if given and set(given) != set(SPLITS):
        known = " / ".join(f"{given[s]} {s}" for s in SPLITS if s in given)
        return SourceFacts(f"{stand_in}: {known} generated images", None, False)
    sizes = {**SYNTHETIC_SPLIT_SIZES, **given}
    return SourceFacts(
        f"{stand_in}: {sizes['train']} train / {sizes['validation']} validation / "
        f"{sizes['test']} test generated images",
        None,
        False,
    )


def describe_source(
    data: DataSource, num_examples: dict[str, int] | None = None
) -> str:
    """One sentence on which data a source holds (``source_facts(...).description``).

    A folder is named by its last part (``oxford-pets-subset``), never by a
    path of the machine that loaded it.
    """
    return source_facts(data, num_examples).description


def load_dataset(
    source: str | os.PathLike | DataSource = "auto",
    split: str = "train",
    image_size: int | None = 128,
    batch_size: int = 16,
    *,
    data_dir: str | os.PathLike | None = None,
    augment: bool | AugmentConfig | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    num_examples: int | None = None,
    on_corrupt: str = "raise",
    verbose: bool = True,
    crop_size: int | None = None,
    classes=None,
    ignore_value: int | None = None,
    channels: int | None = None,
) -> tuple[tf.data.Dataset, DataInfo]:
    """Load ``(image, mask)`` batches from the source asked for, and say which one it
    was.

    Args:
        source: ``"auto"``, ``"oxford"``, ``"tfds"``, ``"synthetic"``, a
            folder, or a ``DataSource``; see ``resolve_source`` for the order
            ``"auto"`` tries (``$UNET_TUTORIAL_OXFORD_DIR`` among it). The
            layout of a folder decides its route: ``images/`` + ``masks/`` is
            your own data (``engine.folders``), ``images/`` +
            ``annotations/trimaps/`` is Oxford-IIIT Pet.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        image_size: output side length; ``None`` keeps the native size (a
            folder of images + masks only).
        batch_size: examples per batch.
        data_dir: tfds data folder.
        augment: default ``True`` for train only.
        shuffle: default ``True`` for train only.
        seed: seeds shuffling, augmentation and the synthetic images.
        num_examples: size of a synthetic split (default 512 / 64 / 128).
        on_corrupt: for an Oxford folder: ``"raise"`` at the first corrupt
            file, or ``"skip"`` corrupt examples with a warning.
        verbose: print the one-line notice.
        crop_size: images + masks folder: train on random crops of this side.
        classes: images + masks folder: class names, or ``{name: pixel
            value}``, instead of its ``classes.txt``.
        ignore_value: images + masks folder: the pixel value that is no class.
        channels: images + masks folder: 1 or 3 to convert the images.

    Returns:
        ``(dataset, info)``; ``info.description`` says exactly which data it
        is, ``info.is_stand_in`` whether it is the synthetic stand-in, and
        ``info.num_classes``, ``info.channels``, ``info.class_names`` what a
        model for it needs.

    Raises:
        ValueError: an unknown source or split, a bad setting, or a folder
            with problems (every one listed).
        DataUnavailableError: ``"oxford"`` or ``"tfds"`` was asked for and
            cannot be loaded; the message says how to get it.
    """
    check_choice("on_corrupt", on_corrupt, ON_CORRUPT)
    data = (
        source if isinstance(source, DataSource) else resolve_source(source, data_dir)
    )
    kwargs = dict(augment=augment, shuffle=shuffle, seed=seed)
    if data.kind == "folder":
        return _load_folder(
            data,
            split,
            image_size,
            batch_size,
            crop_size=crop_size,
            classes=classes,
            ignore_value=ignore_value,
            channels=channels,
            verbose=verbose,
            **kwargs,
        )
    _check_common(split, image_size, batch_size)
    only_folder = dict(
        crop_size=crop_size,
        classes=classes,
        ignore_value=ignore_value,
        channels=channels,
    )
    for name, value in only_folder.items():
        if value is not None:
            raise ValueError(
                f"{name}= is for a folder of images/ and masks/; the {data.kind} "
                "source does not take it."
            )
    if data.kind == "tfds":
        ds = load_oxford_pets(
            split, image_size, batch_size, data_dir=data.path, **kwargs
        )
        n = (
            OXFORD_LIST_SIZES["test"]
            if split == "test"
            else _tfds_split_size(split, data.path)
        )
    elif data.kind == "synthetic":
        ds = load_synthetic_pets(
            split, image_size, batch_size, num_examples=num_examples, **kwargs
        )
        n = num_examples or SYNTHETIC_SPLIT_SIZES[split]
    else:
        ds = load_pets_directory(
            data.path, split, image_size, batch_size, on_corrupt=on_corrupt, **kwargs
        )
        n = len(read_split_file(data.path, split))
    facts = source_facts(data, None if num_examples is None else {split: num_examples})
    description = facts.description
    if data.is_stand_in:
        notice = (
            f"Data: {description}; this is the {split} split ({n}). "
            "Results below are not Oxford-IIIT Pet results."
        )
    else:
        notice = f"Data: {description}. This is the {split} split ({n} images)."
    info = DataInfo(
        data.source,
        data.kind,
        split,
        n,
        image_size,
        data.is_stand_in,
        description,
        notice,
        facts.num_breeds,
        facts.is_full,
        batch_size=batch_size,
    )
    _print_notice(info, verbose)
    return ds, info


def _print_notice(info: DataInfo, verbose: bool) -> None:
    if verbose:
        import textwrap

        print(textwrap.fill(info.notice, 78, subsequent_indent="  "))


def _load_folder(
    data: DataSource,
    split: str,
    image_size: int | None,
    batch_size: int,
    *,
    crop_size: int | None,
    classes,
    ignore_value: int | None,
    channels: int | None,
    verbose: bool,
    augment,
    shuffle: bool | None,
    seed: int,
) -> tuple[tf.data.Dataset, DataInfo]:
    """``load_dataset`` for a folder of images + masks (``engine.folders``)."""
    from .folders import _folder_dataset, check_folder

    check_split(split)
    report = check_folder(
        data.path,
        classes=classes,
        ignore_value=ignore_value,
        channels=channels,
        crop_size=crop_size if image_size is None else None,
    )
    ds, used = _folder_dataset(
        report, split, image_size, batch_size, crop_size, augment, shuffle, seed
    )
    n = len(report.splits[split])
    description = report.summary()
    how = ""
    if split == "train" and crop_size is not None:
        how = f", random {crop_size}x{crop_size} crops"
    elif image_size is None:
        how = ", whole images" + (
            " one at a time (their sizes differ)" if used < batch_size else ""
        )
    notice = f"Data: {description}. This is the {split} split ({n} images{how})."
    table = report.classes
    info = DataInfo(
        data.source,
        data.kind,
        split,
        n,
        image_size,
        False,
        description,
        notice,
        None,
        False,
        num_classes=table.num_classes,
        channels=report.channels,
        class_names=table.names,
        ignore_value=table.ignore_value,
        crop_size=crop_size if split == "train" else None,
        batch_size=used,
    )
    _print_notice(info, verbose)
    return ds, info
