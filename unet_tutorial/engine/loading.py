"""Where batches come from: TensorFlow Datasets, a folder, or the synthetic stand-in;
``load_dataset`` picks the route (``resolve_source``) and says which (``DataInfo``)."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from ..checks import ON_CORRUPT, SPLITS, check_choice
from ..data import finish_pipeline, preprocess_pair
from ..labels import CLASS_NAMES, NUM_CLASSES
from ..reading import breed_of, check_split, validation_holdout
from ..settings import AugmentConfig
from ..synthetic import make_synthetic_pets
from .folders import check_folder, check_sizes, folder_dataset, read_split_file
from .sources import (
    HOW_TO_GET_OXFORD,
    OXFORD_TFDS_VERSION,
    DataSource,
    DataUnavailableError,
    oxford_builder,
    oxford_server_reachable,
    resolve_source,
)

OXFORD_LIST_SIZES = {"trainval": 3680, "test": 3669}
"""Official list sizes; ``train`` and ``validation`` together are ``trainval``."""

OXFORD_BREEDS = 37
"""Breeds in the full dataset; a folder with fewer is a subset."""

SYNTHETIC_SPLIT_SIZES = {"train": 512, "validation": 64, "test": 128}
# the synthetic splits are drawn from seeds this far apart, so they share no image
_SYNTHETIC_SEEDS = {"train": 0, "validation": 2_000_029, "test": 1_000_003}


def check_oxford_version(version: str) -> None:
    """Refuse a TensorFlow Datasets version of ``oxford_iiit_pet`` that cannot load."""
    if not str(version).startswith("4"):
        raise ValueError(
            f"oxford_iiit_pet version {version!r} is not supported: 3.x no longer "
            "loads (its download URLs are gone). Use '4.*.*': the same images, trimaps."
        )


def _tfds_holdout(builder, split: str) -> tuple[set[str], int]:
    """``(validation file names, size of split)``; validation is tfds' ``train``'s."""
    import tensorflow_datasets as tfds

    if split == "test":
        return set(), OXFORD_LIST_SIZES["test"]
    decoders = dict.fromkeys(["image", "segmentation_mask"], tfds.decode.SkipDecoding())
    ds = builder.as_dataset(split="train", decoders=decoders, shuffle_files=False)
    rows = ds.map(lambda ex: (ex["file_name"], ex["label"])).as_numpy_iterator()
    names, breeds = zip(*[(name.decode(), int(b)) for name, b in rows], strict=True)
    held = validation_holdout(names, breeds)
    return held, len(held) if split == "validation" else len(names) - len(held)


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

    ``"train"`` and a fixed ``"validation"`` hold-out (``validation_holdout``) split
    the trainval list. Without ``download`` (or a server), ``DataUnavailableError``
    says how to get missing data, within seconds."""
    check_sizes(split, image_size, batch_size)
    check_oxford_version(version)
    try:
        builder = oxford_builder(data_dir, version)
        # tfds would retry an unreachable server for minutes, leaving *.tmp.* folders
        if not builder.is_prepared():
            if not download or not oxford_server_reachable():
                why = "the server does not answer" if download else "download=False"
                raise DataUnavailableError(
                    f"{HOW_TO_GET_OXFORD} (it is not prepared and {why})"
                )
            builder.download_and_prepare()
        held, kept = _tfds_holdout(builder, split)
        tfds_split = "test" if split == "test" else "train"
        ds = builder.as_dataset(split=tfds_split, shuffle_files=False)
    except DataUnavailableError:
        raise
    # tfds raises many kinds (network, missing files, assertion)
    except Exception as err:
        raise DataUnavailableError(
            f"{HOW_TO_GET_OXFORD} (TensorFlow Datasets said: {err})"
        ) from err
    if split != "test":
        keep = split == "validation"
        held_names = tf.constant(sorted(held), tf.string)
        ds = ds.filter(
            lambda ex: tf.equal(tf.reduce_any(ex["file_name"] == held_names), keep)
        )
        # a filter hides the size; the pipeline (and a cosine schedule) needs it
        ds = ds.apply(tf.data.experimental.assert_cardinality(kept))
    ds = ds.map(
        lambda ex: preprocess_pair(ex["image"], ex["segmentation_mask"], image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    options = dict(augment=augment, shuffle=shuffle, seed=seed)
    return finish_pipeline(
        ds, split=split, batch_size=batch_size, num_examples=kept, **options
    )


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
    """The synthetic stand-in (``make_synthetic_pets``), **not** Oxford-IIIT Pet,
    through the same pipeline. Its splits (512, 64, 128 images unless
    ``num_examples``) come from different seeds: they share no image."""
    check_sizes(split, image_size, batch_size)
    n = SYNTHETIC_SPLIT_SIZES[split] if num_examples is None else num_examples
    pairs = make_synthetic_pets(n, image_size, seed=seed + _SYNTHETIC_SEEDS[split])
    ds = tf.data.Dataset.from_tensor_slices(pairs)
    options = dict(augment=augment, shuffle=shuffle, seed=seed)
    return finish_pipeline(
        ds, split=split, batch_size=batch_size, num_examples=n, **options
    )


@dataclass(frozen=True)
class DataInfo:
    """Which data a ``load_dataset`` call used, and what a model for it needs.

    ``source`` loads it again; ``notice``: the line printed; ``is_full``: the official
    Oxford splits, complete; ``ignore_value``: the mask value of no class (batches
    are then ``(image, mask, weights)``); ``batch_size``: 1 for mixed sizes."""

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
    has_test: bool = True


@dataclass(frozen=True)
class SourceFacts:
    """What a resolved source holds: ``describe_source`` in words, and as fields."""

    description: str
    num_breeds: int | None
    is_full: bool


def source_facts(
    data: DataSource, num_examples: dict[str, int] | None = None
) -> SourceFacts:
    """What a source holds, counted, never assumed (``num_examples``: synthetic)."""
    if data.kind == "folder":
        return SourceFacts(check_folder(data.path).summary(), None, False)
    if data.kind == "directory":  # counted from the lists: a subset is named one
        pairs = {s: read_split_file(data.path, s) for s in SPLITS}
        breeds = len({breed_of(p.name) for split in pairs.values() for p in split})
        n = {s: len(split) for s, split in pairs.items()}
        sizes = [n["train"] + n["validation"], n["test"]]
        full = breeds == OXFORD_BREEDS and sizes == list(OXFORD_LIST_SIZES.values())
        where = Path(data.path).name or Path(data.path).resolve().name or data.path
        return SourceFacts(
            f"Oxford-IIIT Pet, folder {where}: {n['train']} train / "
            f"{n['validation']} validation / {n['test']} test images of {breeds} "
            f"breed{'s' if breeds != 1 else ''}",
            breeds,
            full,
        )
    if data.kind == "tfds":
        return SourceFacts(
            "Oxford-IIIT Pet 4.x from TensorFlow Datasets: the official trainval list "
            "(3,680 images, split into train and a 10 % validation hold-out) and test "
            f"list (3,669 images) of {OXFORD_BREEDS} breeds",
            OXFORD_BREEDS,
            True,
        )
    sizes = num_examples or SYNTHETIC_SPLIT_SIZES  # one split loaded: only its size
    known = " / ".join(f"{sizes[s]} {s}" for s in SPLITS if s in sizes)
    stand_in = "the SYNTHETIC STAND-IN, not Oxford-IIIT Pet"
    return SourceFacts(f"{stand_in}: {known} generated images", None, False)


def describe_source(
    data: DataSource, num_examples: dict[str, int] | None = None
) -> str:
    """One sentence on which data a source holds (a folder named by its last part)."""
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
    **folder,
) -> tuple[tf.data.Dataset, DataInfo]:
    """Load ``(image, mask)`` batches from the source asked for, and say which one.

    Args:
        source: as ``resolve_source`` takes it, or a ``DataSource``.
        image_size: output side length; ``None`` keeps a folder's native size.
        augment, shuffle: default ``True`` for train only.
        seed: seeds shuffling, augmentation and the synthetic images.
        num_examples: size of a synthetic split (default 512 / 64 / 128).
        on_corrupt: a folder's unreadable or mismatched pairs: ``"raise"`` or
            ``"skip"`` (left out, named in a warning).
        crop_size: a folder: train on random crops of this side.
        **folder: a folder's other ``check_folder`` options.

    Raises ``ValueError`` for a bad setting or folder, ``DataUnavailableError``
    (saying how to get it) for Oxford data not to be had."""
    check_choice("on_corrupt", on_corrupt, ON_CORRUPT)
    is_resolved = isinstance(source, DataSource)
    data = source if is_resolved else resolve_source(source, data_dir)
    options, how = dict(augment=augment, shuffle=shuffle, seed=seed), ""
    if data.kind in ("folder", "directory"):
        check_split(split)
        native_crop = crop_size if image_size is None else None
        report = check_folder(
            data.path, crop_size=native_crop, on_corrupt=on_corrupt, **folder
        )
        ds, used = folder_dataset(
            report, split, image_size, batch_size, crop_size, augment, shuffle, seed
        )
        n = len(report.splits[split])
        own = SourceFacts(report.summary(), None, False)
        facts = source_facts(data) if data.kind == "directory" else own
        if split == "train" and crop_size is not None:
            how = f", random {crop_size}x{crop_size} crops"
        elif image_size is None:
            one = " one at a time (their sizes differ)" if used < batch_size else ""
            how = f", whole images{one}"
        extra = dict(
            num_classes=report.classes.num_classes,
            channels=report.channels,
            class_names=report.classes.names,
            ignore_value=report.classes.ignore_value,
            crop_size=crop_size if split == "train" else None,
            batch_size=used,
            has_test=report.has_test,
        )
    else:
        for name, value in {"crop_size": crop_size, **folder}.items():
            if value is not None:
                raise ValueError(
                    f"{name}= is for a folder of images and masks; the {data.kind} "
                    "source does not take it."
                )
        if data.kind == "tfds":
            ds = load_oxford_pets(
                split, image_size, batch_size, data_dir=data.path, **options
            )
            n = _tfds_holdout(oxford_builder(data.path), split)[1]
        else:
            ds = load_synthetic_pets(
                split, image_size, batch_size, num_examples=num_examples, **options
            )
            n = num_examples or SYNTHETIC_SPLIT_SIZES[split]
        given = None if num_examples is None else {split: num_examples}
        facts = source_facts(data, given)
        extra = {"batch_size": batch_size}
    notice = f"Data: {facts.description}. This is the {split} split ({n} images{how})."
    if data.is_stand_in:
        notice = f"Data: {facts.description}; this is the {split} split ({n}). "
        notice += "Results below are not Oxford-IIIT Pet results."
    head = (data.source, data.kind, split, n, image_size, data.is_stand_in)
    info = DataInfo(
        *head, facts.description, notice, facts.num_breeds, facts.is_full, **extra
    )
    if verbose:
        print(textwrap.fill(info.notice, 78, subsequent_indent="  "))
    return ds, info
