"""Oxford-IIIT Pet for segmentation: loading, preprocessing, paired augmentation.

Every route ends in the same ``tf.data`` pipeline and yields batches of
``(image, mask)``:

* ``image``: ``float32 (batch, S, S, 3)`` in ``[0, 1]``;
* ``mask``: ``int32 (batch, S, S)`` with ``0 = pet``, ``1 = background``,
  ``2 = border`` (see ``CLASS_NAMES``).

Routes:

* ``load_oxford_pets``: TensorFlow Datasets' ``oxford_iiit_pet:4.*.*``.
* ``load_pets_directory``: the official archives, extracted (for example by
  ``download_oxford_pets``).
* ``load_synthetic_pets``: the synthetic stand-in for offline machines.
* ``load_dataset``: one entry point that picks a route and says which.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from .checks import is_whole
from .config import AugmentConfig
from .sources import (
    HOW_TO_GET_OXFORD,
    OXFORD_TFDS_NAME,
    OXFORD_TFDS_VERSION,
    DataSource,
    DataUnavailableError,
    breed_of,
    check_oxford_directory,
    oxford_server_reachable,
    resolve_source,
    validation_holdout,
)
from .synthetic import make_synthetic_pets

CLASS_NAMES = ("pet", "background", "border")
"""Class of each mask value: 0 = pet, 1 = background, 2 = border."""
NUM_CLASSES = len(CLASS_NAMES)

OXFORD_LIST_SIZES = {"trainval": 3680, "test": 3669}
"""Official list sizes; ``train`` and ``validation`` together are the ``trainval`` list.
"""

SYNTHETIC_SPLIT_SIZES = {"train": 512, "validation": 64, "test": 128}
# splits share no image
_SYNTHETIC_SEED_OFFSETS = {
    "train": 0,
    "validation": 2_000_029,
    "test": 1_000_003,
}

SPLITS = ("train", "validation", "test")
"""``train`` and ``validation`` split the official ``trainval`` list (see
``validation_holdout``).
"""


# ------------------------------------------------------------------ labels and resizing


def trimap_to_labels(trimap: tf.Tensor) -> tf.Tensor:
    """Map Oxford trimap values to class indices: 1 -> 0 pet, 2 -> 1 background, 3 -> 2
    border.

    The Oxford-IIIT Pet trimaps store **1 = pet, 2 = background,
    3 = border** (the dataset's README: "1: Foreground 2: Background
    3: Not classified"). TensorFlow's segmentation tutorial subtracts one, as
    here, but then describes the classes in the wrong order; plots and
    per-class metrics must use ``CLASS_NAMES`` =
    ``("pet", "background", "border")``.

    Args:
        trimap: integer tensor of any shape with values in ``{1, 2, 3}``.

    Returns:
        ``int32`` tensor of the same shape with values in ``{0, 1, 2}``.
    """
    return tf.cast(trimap, tf.int32) - 1


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)


def resize_image(image: tf.Tensor, size: int | tuple[int, int]) -> tf.Tensor:
    """Resize an image ``(H, W, C)`` bilinearly to ``float32 (size, size, C)`` (or
    ``size = (h, w)``) in ``[0, 1]``.

    ``uint8`` images are divided by 255; float images are taken to be in ``[0, 1]``
    already.
    """
    image = tf.image.convert_image_dtype(image, tf.float32)  # uint8 / 255
    image = tf.image.resize(image, _hw(size), method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 1.0)


def resize_mask(mask: tf.Tensor, size: int | tuple[int, int]) -> tf.Tensor:
    """Resize a label map ``(H, W)`` or ``(H, W, 1)`` to ``(size, size)`` (or
    ``(h, w)``) with **nearest neighbour**.

    Bilinear resizing would average the labels 1 (pet) and 3 (border) into
    2 (background) along every outline: labels are categories, not intensities.
    Nearest neighbour only ever copies existing values.
    """
    mask = tf.convert_to_tensor(mask)
    if mask.shape.rank == 2:
        mask = mask[..., tf.newaxis]
    mask = tf.image.resize(mask, _hw(size), method="nearest")
    return tf.cast(mask[..., 0], tf.int32)


def preprocess_pair(
    image: tf.Tensor, trimap: tf.Tensor, image_size: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """Raw Oxford pair to model format.

    Args:
        image: ``uint8 (H, W, 3)``.
        trimap: ``uint8 (H, W)`` or ``(H, W, 1)`` with values ``{1, 2, 3}``.
        image_size: output side length ``S``.

    Returns:
        ``(float32 (S, S, 3) in [0, 1], int32 (S, S) in {0, 1, 2})``.
    """
    return resize_image(image, image_size), resize_mask(
        trimap_to_labels(trimap), image_size
    )


# ------------------------------------------------------------------ paired augmentation


def elastic_field(seed: tf.Tensor, size: int, sigma: float, grid: int = 3) -> tf.Tensor:
    """A smooth random displacement field, ``float32 (size, size, 2)`` in pixels (dy,
    dx).

    Draws ``grid × grid`` displacement vectors from a Gaussian with standard
    deviation ``sigma × size`` pixels and interpolates them bicubically to
    every pixel (Ronneberger et al., 2015, section 3.1).

    Args:
        seed: ``int (2,)`` stateless seed.
        size: side of the (square) image.
        sigma: standard deviation as a share of ``size``.
        grid: coarse grid points per side.
    """
    coarse = tf.random.stateless_normal(
        [1, grid, grid, 2], tf.cast(seed, tf.int64), stddev=sigma
    )
    return tf.image.resize(
        coarse * tf.cast(size, tf.float32), [size, size], method="bicubic"
    )[0]


def elastic_warp(
    image: tf.Tensor, mask: tf.Tensor, field: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Move every pixel of an image and its mask by the *same* displacement field.

    Output pixel ``(y, x)`` takes the input at ``(y + dy, x + dx)`` (clamped to
    the border): bilinear for the image, nearest neighbour for the mask, so
    the mask keeps its label set.

    Args:
        image: ``float32 (S, S, C)``.
        mask: ``int32 (S, S)``.
        field: ``float32 (S, S, 2)`` from ``elastic_field``.
    """
    size = tf.shape(mask)[0]
    last = tf.cast(size - 1, tf.float32)
    grid = tf.cast(tf.range(size), tf.float32)
    yy, xx = tf.meshgrid(grid, grid, indexing="ij")
    y = tf.clip_by_value(yy + field[..., 0], 0.0, last)
    x = tf.clip_by_value(xx + field[..., 1], 0.0, last)
    nearest = tf.stack(
        [tf.cast(tf.round(y), tf.int32), tf.cast(tf.round(x), tf.int32)], axis=-1
    )
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]
    y0i, x0i = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1i, x1i = tf.minimum(y0i + 1, size - 1), tf.minimum(x0i + 1, size - 1)

    def at(yi, xi):
        return tf.gather_nd(image, tf.stack([yi, xi], axis=-1))

    top = at(y0i, x0i) * (1 - wx) + at(y0i, x1i) * wx
    bottom = at(y1i, x0i) * (1 - wx) + at(y1i, x1i) * wx
    return top * (1 - wy) + bottom * wy, tf.gather_nd(mask, nearest)


def augmentation_params(
    seed: tf.Tensor, config: AugmentConfig = AugmentConfig()
) -> tuple[tf.Tensor, tf.Tensor]:
    """Draw one set of geometric parameters from a stateless ``seed`` (shape ``(2,)``).

    Returns:
        ``(flip, box)``: a boolean scalar and the crop box
        ``[y1, x1, y2, x2]`` in normalised coordinates (as
        ``tf.image.crop_and_resize`` takes it).
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    flip = tf.logical_and(config.flip, tf.random.stateless_uniform([], seeds[0]) < 0.5)
    scale = tf.random.stateless_uniform(
        [], seeds[1], minval=config.min_scale, maxval=1.0
    )
    offset = tf.random.stateless_uniform([2], seeds[2]) * (1.0 - scale)
    box = tf.stack([offset[0], offset[1], offset[0] + scale, offset[1] + scale])
    return flip, box


def apply_geometry(
    image: tf.Tensor, mask: tf.Tensor, flip: tf.Tensor, box: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Apply the *same* flip and crop to an image and its mask.

    The image is resampled bilinearly, the mask with nearest neighbour, so it
    keeps its label set.

    Args:
        image: ``float32 (S, S, 3)``.
        mask: ``int32 (S, S)``.
        flip: boolean scalar.
        box: ``[y1, x1, y2, x2]`` in ``[0, 1]``.

    Returns:
        ``(image, mask)`` with the input shapes and dtypes.
    """
    size = tf.shape(mask)[:2]
    image = tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)
    mask = tf.cond(flip, lambda: tf.reverse(mask, axis=[1]), lambda: mask)
    boxes, index = box[tf.newaxis], tf.zeros([1], tf.int32)
    image = tf.image.crop_and_resize(
        image[tf.newaxis], boxes, index, size, method="bilinear"
    )[0]
    mask_f = tf.cast(mask, tf.float32)[tf.newaxis, ..., tf.newaxis]
    mask = tf.image.crop_and_resize(mask_f, boxes, index, size, method="nearest")[
        0, ..., 0
    ]
    return image, tf.cast(mask, tf.int32)


def augment_pair(
    image: tf.Tensor,
    mask: tf.Tensor,
    seed: tf.Tensor,
    config: AugmentConfig = AugmentConfig(),
) -> tuple[tf.Tensor, tf.Tensor]:
    """Randomly flip, zoom and (optionally) deform an image and its mask together, with
    one random draw.

    Drawing the flip separately for image and mask (two calls to
    ``tf.image.random_flip_left_right``) mirrors the image without its mask
    half of the time. Here the parameters are drawn once, from a stateless
    seed, and applied to both: the same seed gives the same result.

    Args:
        image: ``float32 (S, S, 3)`` in ``[0, 1]``.
        mask: ``int32 (S, S)``.
        seed: ``int (2,)`` stateless seed.
        config: which transforms to apply.

    Returns:
        ``(image, mask)``, same shapes; the mask keeps its values, the image
        stays in ``[0, 1]``.
    """
    flip, box = augmentation_params(seed, config)
    image, mask = apply_geometry(image, mask, flip, box)
    if config.elastic > 0:
        field = elastic_field(
            tf.cast(seed, tf.int64) + 13, tf.shape(mask)[0], config.elastic
        )
        image, mask = elastic_warp(image, mask, field)
    if config.jitter:
        s = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64) + 7, 3)
        image = tf.image.stateless_random_brightness(image, 0.1, s[0])
        image = tf.image.stateless_random_contrast(image, 0.8, 1.2, s[1])
        image = tf.image.stateless_random_saturation(image, 0.8, 1.2, s[2])
        image = tf.clip_by_value(image, 0.0, 1.0)
    return image, mask


# ------------------------------------------------------------------ the shared pipeline


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(
            f"split={split!r} is not known; use 'train', 'validation' (held out of the "
            "trainval list) or 'test'."
        )


def _check_common(split: str, image_size: int, batch_size: int) -> None:
    _check_split(split)
    if not is_whole(image_size, 16):
        raise ValueError(
            f"image_size={image_size!r} must be an integer of at least 16 (e.g. 128)."
        )
    if not is_whole(batch_size, 1):
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")


def finish_pipeline(
    ds: tf.data.Dataset,
    *,
    split: str,
    batch_size: int,
    augment: bool | AugmentConfig | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    num_examples: int | None = None,
) -> tf.data.Dataset:
    """Cache, shuffle, augment, batch and prefetch a dataset of preprocessed pairs.

    The order matters: decoding and resizing happen *before* ``cache`` (once),
    random augmentation *after* it (fresh every epoch), and ``prefetch`` last
    so the next batch is prepared while the model trains on this one.

    Args:
        ds: elements ``(float32 (S, S, 3), int32 (S, S))``.
        split: ``"train"`` or ``"test"``; sets the defaults of ``augment``
            and ``shuffle`` (on for train, off for test).
        batch_size: examples per batch.
        augment: ``False``, ``True`` (default ``AugmentConfig``), or a config.
        shuffle: shuffle the examples every epoch.
        seed: seeds the shuffle and the augmentation; the same seed gives the
            same batches in the same order.
        num_examples: size of ``ds``, for a full shuffle buffer (default 1024).

    Returns:
        Batches ``(float32 (B, S, S, 3), int32 (B, S, S))``.
    """
    train = split == "train"
    augment = train if augment is None else augment
    shuffle = train if shuffle is None else shuffle
    ds = ds.cache()
    if shuffle:
        buffer = min(num_examples or 1024, 4096)
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if augment:
        config = augment if isinstance(augment, AugmentConfig) else AugmentConfig()
        # one stateless seed per example, different every epoch, reproducible per `seed`
        seeds = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        ).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda pair, s: augment_pair(pair[0], pair[1], s, config),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# ------------------------------------------------------------ TensorFlow Datasets route


def _check_oxford_version(version: str) -> None:
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
    _check_oxford_version(version)
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
        held = _tfds_holdout(builder)[1] if split != "test" else set()
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
    for lineno, line in enumerate(list_file.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = line.split()[0]
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
        ValueError: an unknown split, or an empty list.
    """
    root = check_oxford_directory(root)
    _check_split(split)
    if split == "test":
        return [rec for rec, _ in _read_list(root, "test")]
    rows = _read_list(root, "trainval")
    held = validation_holdout(
        [rec.name for rec, _ in rows], [breed for _, breed in rows]
    )
    return [rec for rec, _ in rows if (rec.name in held) == (split == "validation")]


def describe_directory(root: str | os.PathLike) -> str:
    """Which pets a folder holds, e.g.
    ``"270 train / 30 validation / 298 test images of 3 breeds"``.

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
    return (
        f"{len(trainval) - n_val} train / {n_val} validation / {len(test)} test images "
        + (f"of {breeds} breeds" if breeds != 1 else "of 1 breed")
    )


def _rgb8(im) -> np.ndarray:
    """``uint8 (H, W, 3)`` from a Pillow image of any mode, 16-bit grey scaled rather
    than clipped.
    """
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.asarray(im).astype(np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or grey.max() > 255 else 255.0
        grey = np.clip(np.round(grey * 255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    return np.asarray(im.convert("RGB"))


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
            image = _rgb8(im)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot decode image {rec.image_path}: {err}") from err
    try:
        with Image.open(rec.trimap_path) as im:
            trimap = np.asarray(im)
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
    bad = np.setdiff1d(np.unique(trimap), [1, 2, 3])
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
    if on_corrupt not in ("raise", "skip"):
        raise ValueError(f"on_corrupt={on_corrupt!r} must be 'raise' or 'skip'.")
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
    """Which data a ``load_dataset`` call used.

    Attributes:
        source: the ``source=`` value that loads this data again: ``"tfds"``,
            ``"synthetic"``, or the folder's path.
        kind: ``"tfds"``, ``"directory"`` or ``"synthetic"``.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        num_examples: examples in the split.
        image_size: side length of the images.
        is_stand_in: ``True`` for the synthetic stand-in: results on it are
            not Oxford-IIIT Pet results.
        description: which data exactly, e.g. "Oxford-IIIT Pet, folder
            data/pets: 270 train / 30 validation / 298 test images of 3 breeds".
        notice: a one-line description, printed by ``load_dataset``.
    """

    source: str
    kind: str
    split: str
    num_examples: int
    image_size: int
    is_stand_in: bool
    description: str
    notice: str

    @property
    def is_full_oxford(self) -> bool:
        """``True`` only for the complete official splits (37 breeds), where scores are
        Oxford-IIIT Pet results.
        """
        return is_full_oxford(self.kind, self.description)


def is_full_oxford(kind: str, description: str) -> bool:
    """Whether data of this kind and ``describe_source`` text is the full dataset (tfds,
    or a folder of 37 breeds).
    """
    return kind == "tfds" or "of 37 breeds" in description


def describe_source(
    data: DataSource, num_examples: dict[str, int] | None = None
) -> str:
    """One sentence on which data a source holds (counted, never assumed).

    Args:
        data: a resolved source (``resolve_source``).
        num_examples: synthetic split sizes ``{"train": n, ...}`` (defaults otherwise).
    """
    if data.kind == "directory":
        return f"Oxford-IIIT Pet, folder {data.path}: {describe_directory(data.path)}"
    if data.kind == "tfds":
        return (
            "Oxford-IIIT Pet 4.x from TensorFlow Datasets: the official trainval list "
            "(3,680 images, split into train and a 10 % validation hold-out) and test "
            "list (3,669 images) of 37 breeds"
        )
    given = num_examples or {}
    # only some sizes known (one split loaded): name only those
    if given and set(given) != set(SPLITS):
        known = " / ".join(f"{given[s]} {s}" for s in SPLITS if s in given)
        return f"the SYNTHETIC STAND-IN, not Oxford-IIIT Pet: {known} generated images"
    sizes = {**SYNTHETIC_SPLIT_SIZES, **given}
    return (
        f"the SYNTHETIC STAND-IN, not Oxford-IIIT Pet: {sizes['train']} train / "
        f"{sizes['validation']} validation / {sizes['test']} test generated images"
    )


def load_dataset(
    source: str | os.PathLike | DataSource = "auto",
    split: str = "train",
    image_size: int = 128,
    batch_size: int = 16,
    *,
    data_dir: str | os.PathLike | None = None,
    augment: bool | AugmentConfig | None = None,
    shuffle: bool | None = None,
    seed: int = 0,
    num_examples: int | None = None,
    on_corrupt: str = "raise",
    verbose: bool = True,
) -> tuple[tf.data.Dataset, DataInfo]:
    """Load ``(image, mask)`` batches from the source asked for, and say which one it
    was.

    Args:
        source: ``"auto"``, ``"oxford"``, ``"tfds"``, ``"synthetic"``, a
            folder in the official layout, or a ``DataSource``; see
            ``resolve_source`` for the order ``"auto"`` tries
            (``$UNET_TUTORIAL_OXFORD_DIR`` among it).
        split: ``"train"``, ``"validation"`` (both held out of the trainval
            list) or ``"test"``.
        image_size: output side length.
        batch_size: examples per batch.
        data_dir: tfds data folder.
        augment: default ``True`` for train only.
        shuffle: default ``True`` for train only.
        seed: seeds shuffling, augmentation and the synthetic images.
        num_examples: size of a synthetic split (default 512 / 64 / 128).
        on_corrupt: for a folder: ``"raise"`` at the first corrupt file, or
            ``"skip"`` corrupt examples with a warning.
        verbose: print the one-line notice.

    Returns:
        ``(dataset, info)``; ``info.description`` says exactly which data it
        is, and ``info.is_stand_in`` whether it is the synthetic stand-in.

    Raises:
        ValueError: an unknown source or split, or a bad setting.
        DataUnavailableError: ``"oxford"`` or ``"tfds"`` was asked for and
            cannot be loaded; the message says how to get it.
    """
    _check_common(split, image_size, batch_size)
    if on_corrupt not in ("raise", "skip"):
        raise ValueError(f"on_corrupt={on_corrupt!r} must be 'raise' or 'skip'.")
    data = (
        source if isinstance(source, DataSource) else resolve_source(source, data_dir)
    )
    kwargs = dict(augment=augment, shuffle=shuffle, seed=seed)
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
    description = describe_source(
        data, None if num_examples is None else {split: num_examples}
    )
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
    )
    if verbose:
        import textwrap

        print(textwrap.fill(info.notice, 78, subsequent_indent="  "))
    return ds, info


# ---------------------------------------------------------------------- class imbalance


def class_frequencies(
    dataset: tf.data.Dataset, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Fraction of pixels of each class over a dataset of ``(image, mask)`` batches.

    Returns:
        ``float64 (num_classes,)`` summing to 1.
    """
    counts = np.zeros(num_classes, np.int64)
    for batch in dataset:
        mask = batch[1]
        counts += np.bincount(np.asarray(mask).ravel(), minlength=num_classes)[
            :num_classes
        ]
    total = counts.sum()
    if total == 0:
        raise ValueError("the dataset holds no mask pixels.")
    return counts / total


def class_weights_from_frequencies(frequencies, method: str = "median") -> np.ndarray:
    """Per-class loss weights from pixel frequencies.

    Args:
        frequencies: ``(num_classes,)`` fractions (from ``class_frequencies``).
        method: ``"median"`` (median-frequency balancing: ``median(f) / f``,
            so a typical class keeps weight 1) or ``"inverse"``
            (``1 / (num_classes * f)``). A class that never occurs gets 0.

    Returns:
        ``float32 (num_classes,)``.
    """
    f = np.asarray(frequencies, dtype=np.float64)
    present = f > 0
    if not present.any():
        raise ValueError("all frequencies are zero.")
    w = np.zeros_like(f)
    if method == "median":
        w[present] = np.median(f[present]) / f[present]
    elif method == "inverse":
        w[present] = 1.0 / (len(f) * f[present])
    else:
        raise ValueError(f"method={method!r} must be 'median' or 'inverse'.")
    return w.astype(np.float32)


def add_sample_weights(dataset: tf.data.Dataset, class_weights) -> tf.data.Dataset:
    """Turn ``(image, mask)`` batches into ``(image, mask, weights)`` with per-pixel
    weights.

    Keras' ``fit(class_weight=...)`` gives one weight per *example*, from a
    class label per example; it cannot handle a ``(batch, H, W)`` mask (older
    Keras refuses it, Keras 3.15 fails with a ``TypeError`` or a shape error
    deep inside TensorFlow). Per-pixel *sample weights* of the mask's shape do
    the job: the loss at each pixel is multiplied by its true class's weight.

    Args:
        dataset: batches ``(float32 (B, S, S, 3), int32 (B, S, S))``.
        class_weights: ``(num_classes,)`` weights.

    Returns:
        Batches ``(image, mask, float32 (B, S, S))``.
    """
    table = tf.constant(np.asarray(class_weights, dtype=np.float32))
    return dataset.map(
        lambda x, y: (x, y, tf.gather(table, y)), num_parallel_calls=tf.data.AUTOTUNE
    )
