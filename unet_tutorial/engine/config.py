"""Settings of a run, TensorFlow-free (the command line reads its defaults): the flat
``TrainConfig``, so a preset, an option and ``config.json`` name a setting alike."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..checks import ON_CORRUPT, check_choice, check_positive_int, check_rate, is_whole
from ..footprint import check_training_fits
from ..settings import PAPER_ELASTIC_PX, AugmentConfig, FitConfig
from ..shapes import check_input_size, check_padding
from .sources import ISBI_DIR_SOURCE

STRATEGIES = ("default", "mirrored", "multiworker")
"""The names ``make_strategy`` (and ``unet-tutorial train --strategy``) accept."""

COLLECTIVES = ("auto", "ring", "nccl")
"""How workers all-reduce: ``"ring"`` (CPUs), ``"nccl"`` (NVIDIA GPUs) or ``"auto"``."""

CHECKPOINTS = ("auto", "best", "final")
"""Which checkpoint ``train`` scores on the test split (``test_checkpoint``)."""

PRESETS: dict[str, dict] = {
    "full": dict(
        base_filters=64,
        depth=4,
        image_size=128,
        epochs=40,
        batch_size=32,
        learning_rate=1e-3,
        lr_schedule="cosine",
        loss="ce_dice",
        jit_compile=True,
        deterministic=False,
        mixed_precision=True,
    ),
    "cpu": dict(
        base_filters=16,
        depth=4,
        image_size=96,
        epochs=60,
        batch_size=8,
        learning_rate=3e-3,
        lr_schedule="cosine",
        loss="ce_dice",
        jitter=True,
    ),
    "cpu-synthetic": dict(
        base_filters=8,
        depth=3,
        image_size=64,
        epochs=8,
        batch_size=16,
        learning_rate=3e-3,
        steps_per_epoch=40,
        source="synthetic",
        num_examples=(512, 64, 128),
    ),
    # The paper's EM experiment: 14 x 60 steps of 4 crops, about half a second a step
    # on 2 CPU cores (benchmarks/isbi.py records the time and the scores).
    "isbi": dict(
        source=ISBI_DIR_SOURCE,
        output_dir="runs/isbi",
        padding="valid",
        base_filters=16,
        depth=3,
        image_size=None,
        crop_size=252,
        channels=1,
        num_classes=2,
        batch_size=4,
        epochs=14,
        steps_per_epoch=60,
        learning_rate=1e-3,
        lr_schedule="cosine",
        loss="ce",
        weight_map=True,
        flip=True,
        rotate90=True,
        min_scale=1.0,
        elastic_px=PAPER_ELASTIC_PX,
        snapshot_images=2,
    ),
}
# Aimed at the pixel error alone (benchmarks/isbi.py: 0.080 against isbi's 0.117): the
# weight map buys Rand error with pixel error, elastic warping costs CPU time.
PRESETS["isbi-padded"] = {
    **PRESETS["isbi"],
    "padding": "same",
    "crop_size": 256,
    "weight_map": False,
    "elastic_px": None,
    "epochs": 12,
}


@dataclass
class TrainConfig(FitConfig):
    """Settings of a training run: a ``FitConfig`` plus data, model, augmentation and
    run settings. Its fields follow FitConfig's; named settings: ``TrainConfig.preset``.

    Attributes:
        base_filters: channels at the top level of the U-Net.
        depth: pooling steps.
        image_size: side of the training images; ``None``: a folder's native size.
        batch_size: global batch size (split across replicas by a strategy).
        source: ``"auto"``, ``"oxford"``, ``"tfds"``, ``"synthetic"``, a folder or $VAR.
        data_dir: tfds data folder.
        output_dir: where checkpoints, history and snapshots go.
        seed: seeds everything (``set_seed``).
        deterministic: TensorFlow's deterministic ops (``set_seed``).
        mixed_precision: ``mixed_float16`` compute (for GPUs with tensor cores).
        num_examples: sizes of the synthetic splits ``(train, validation, test)``.
        augment: paired augmentation of the training split (the options below).
        flip: random horizontal flips.
        min_scale: the random crop keeps ``min_scale`` to 1 of the side.
        jitter: random brightness, contrast and saturation.
        elastic: the paper's elastic deformation, as a share of the side (0: off).
        rotate90: random quarter turns of the training images.
        on_corrupt: a folder's corrupt files: ``"raise"`` or ``"skip"``.
        snapshot_images: validation images whose predictions are kept per epoch.
        skip_connections: ``False`` trains the U-Net without its skips (the ablation).
        dropout: the paper's drop-out at the end of the contracting path; 0: none.
        evaluate_test: score a checkpoint on the test split once, after training.
        crop_size: side of a folder's random training crops: the model's input.
        padding: ``"same"`` (output = input size) or ``"valid"`` (the paper's).
        num_classes: the model's outputs; ``None``: the data's.
        channels: a folder's image channels (1 or 3); ``None``: as the images are.
        ignore_value: a folder's mask value that is no class (not scored).
        weight_map: the paper's weight map as per-pixel weights (objects: class 1).
        elastic_px: elastic deformation in pixels (the paper's: 10), not a share.
        test_checkpoint: scored on test: ``"best"``, ``"final"`` or ``"auto"``.
        images_dir: a folder's images folder, relative to it (``None``: detected).
        masks_dir: a folder's masks folder, relative to it (``None``: detected).
        mask_suffix: what a mask's name adds to its image's, e.g. ``_mask``."""

    base_filters: int = 16
    depth: int = 4
    image_size: int | None = 128
    batch_size: int = 16
    source: str = "auto"
    data_dir: str | None = None
    output_dir: str = "runs/unet"
    seed: int = 0
    deterministic: bool = True
    mixed_precision: bool = False
    num_examples: tuple[int, int, int] | None = None
    augment: bool = True
    flip: bool = True
    min_scale: float = 0.75
    jitter: bool = False
    elastic: float = 0.0
    on_corrupt: str = "raise"
    snapshot_images: int = 4
    skip_connections: bool = True
    dropout: float = 0.0
    evaluate_test: bool = True
    test_checkpoint: str = "auto"
    crop_size: int | None = None
    padding: str = "same"
    num_classes: int | None = None
    channels: int | None = None
    ignore_value: int | None = None
    weight_map: bool = False
    rotate90: bool = False
    elastic_px: float | None = None
    images_dir: str | None = None
    masks_dir: str | None = None
    mask_suffix: str | None = None

    @property
    def input_size(self) -> int | None:
        """The model's input side: ``crop_size`` if set, else ``image_size``."""
        return self.crop_size if self.crop_size is not None else self.image_size

    def folder_options(self) -> dict:
        """The ``load_dataset`` options of a folder of images + masks that are set."""
        names = ("crop_size", "ignore_value", "channels", "images_dir", "masks_dir")
        names += ("mask_suffix",)
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def tested_checkpoint(self) -> str:
        """``"best"`` (validation mean IoU) or ``"final"``: scored on test, never chosen
        by the test score. ``"auto"``: final under cosine (decays to 0), else best."""
        if self.test_checkpoint != "auto":
            return self.test_checkpoint
        return "final" if self.lr_schedule == "cosine" else "best"

    @classmethod
    def preset(cls, name: str, **overrides) -> TrainConfig:
        """A named setting (``PRESETS``: full, cpu, cpu-synthetic, isbi, isbi-padded),
        with ``overrides`` on top."""
        check_choice("preset", name, PRESETS)
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def full_size(cls, **overrides) -> TrainConfig:
        """``TrainConfig.preset("full", **overrides)``: Oxford-IIIT Pet on a GPU."""
        return cls.preset("full", **overrides)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming a setting that cannot work (run when made)."""
        super().validate()
        least = dict(base_filters=1, depth=1, batch_size=1, snapshot_images=0)
        optional = dict(image_size=1, crop_size=1, num_classes=2)  # or None
        for name, minimum in {**least, **optional}.items():
            if name in least or getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name), minimum)
        check_choice("channels", self.channels, (None, 1, 3))
        for name in ("images_dir", "masks_dir", "mask_suffix"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name}={value!r} must be a non-empty name or None.")
        if not str(self.output_dir).strip():
            raise ValueError(
                "output_dir (--output) is empty; name a folder (. for the current one)"
            )
        if not is_whole(self.seed, 0) or self.seed >= 2**32:
            raise ValueError(
                f"seed={self.seed!r} (--seed) must be an integer from 0 to 2**32 - 1"
            )
        check_choice("test_checkpoint", self.test_checkpoint, CHECKPOINTS)
        check_choice("on_corrupt", self.on_corrupt, ON_CORRUPT)
        check_padding(self.padding)
        sizes = self.num_examples
        if sizes is not None and (
            len(sizes) != 3 or not all(is_whole(n, 1) for n in sizes)
        ):
            raise ValueError(
                f"num_examples={sizes!r} must be three positive integers "
                "(train, validation, test)."
            )
        check_rate("dropout", self.dropout, "the paper used 0.5, 0 turns it off")
        if self.jit_compile and self.deterministic:
            raise ValueError(
                "jit_compile=True needs deterministic=False: with op determinism on, "
                "Keras trains without XLA (--xla on the command line sets both)."
            )
        if self.image_size is None and self.crop_size is None:
            raise ValueError(
                "image_size=None (a folder's native size) needs crop_size= (--crop-size"
                "), the side of the random training crops, e.g. 252."
            )
        if self.image_size is not None and self.input_size > self.image_size:
            raise ValueError(
                f"crop_size={self.crop_size} is larger than image_size="
                f"{self.image_size}; crop less, or use image_size=None."
            )
        if self.weight_map and self.loss == "dice":
            raise ValueError(
                "weight_map=True weights every pixel's loss, and the Dice loss is not "
                "per pixel; use loss='ce' (the paper's) or 'ce_dice'."
            )
        if self.elastic_px is not None and self.elastic > 0:
            raise ValueError(
                f"elastic={self.elastic!r} and elastic_px={self.elastic_px!r} both set "
                "the elastic deformation; give one (pixels, or a share of the side)."
            )
        name = "crop_size" if self.crop_size is not None else "image_size"
        check_input_size(self.input_size, self.depth, self.padding, name=name)
        self.augment_settings()  # AugmentConfig checks its own fields
        check_training_fits(
            self.input_size,
            self.batch_size,
            self.base_filters,
            self.depth,
            channels=self.channels or 3,
            classes=self.num_classes or 3,
            mixed_precision=self.mixed_precision,
        )

    def augment_settings(self) -> AugmentConfig:
        """The ``AugmentConfig`` of the flat fields (``elastic_px`` as a share)."""
        settings = {f.name: getattr(self, f.name) for f in fields(AugmentConfig)}
        if self.elastic_px is not None:
            settings["elastic"] = self.elastic_px / self.input_size
        return AugmentConfig(**settings)

    def augment_config(self) -> AugmentConfig | bool:
        """The training split's augmentation: an ``AugmentConfig``, or ``False``."""
        return self.augment_settings() if self.augment else False


CPU_STEPS_PER_EPOCH = 34
"""Steps per epoch of the ``"cpu"`` recipe on the full data (the 3-breed subset it was
measured on is 34 batches of 8), so that its minutes do not become hours."""


def recipe_for(data, *, gpu: bool | None = None) -> TrainConfig:
    """The training settings for this data on this machine: ``"full"`` on a GPU with
    Oxford-IIIT Pet, ``"cpu"`` without one (at most ``CPU_STEPS_PER_EPOCH`` steps per
    epoch), ``"cpu-synthetic"`` on the synthetic stand-in. ``data``: a resolved
    source; ``gpu``: the GPU settings (default: whether TensorFlow sees a GPU)."""
    if data.is_stand_in:
        return TrainConfig.preset("cpu-synthetic")
    if gpu is None:
        import tensorflow as tf

        gpu = bool(tf.config.list_physical_devices("GPU"))
    if gpu:
        return TrainConfig.preset(
            "full",
            source=data.source,
            data_dir=data.path if data.kind == "tfds" else None,
        )
    from .loading import source_facts

    steps = CPU_STEPS_PER_EPOCH if source_facts(data).is_full else None
    return TrainConfig.preset("cpu", source=data.source, steps_per_epoch=steps)
