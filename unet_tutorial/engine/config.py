"""Settings of a run, without TensorFlow: ``TrainConfig`` and its presets.

Kept free of TensorFlow so that the command line can read its defaults (and
answer ``--help``) at once. ``TrainConfig`` is the core's ``FitConfig`` (how
the model learns) with the data, model, augmentation and run settings added;
its fields are flat, so that a preset, the command line and ``config.json``
all name a setting the same way. ``augment_config()`` and ``fit_config()``
hand the core the parts it takes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..checks import ON_CORRUPT, check_choice, check_positive_int, check_rate, is_whole
from ..footprint import check_training_fits
from ..settings import PAPER_ELASTIC_PX, AugmentConfig, FitConfig
from ..shapes import check_input_size, check_padding, nearest_valid_sizes
from .sources import ISBI_DIR_SOURCE

STRATEGIES = ("default", "mirrored", "multiworker")
"""The names ``make_strategy`` (and ``unet-tutorial train --strategy``) accept."""

COLLECTIVES = ("auto", "ring", "nccl")
"""How workers all-reduce: ``"ring"`` over gRPC (CPUs), ``"nccl"`` (NVIDIA GPUs),
``"auto"`` picks (``make_strategy(collective=...)``).
"""

CHECKPOINTS = ("auto", "best", "final")
"""Which checkpoint ``train`` scores on the test split (``test_checkpoint``)."""

PRESETS: dict[str, dict] = {
    # Oxford-IIIT Pet on a GPU: the paper's widths (base 64, 31 M parameters).
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
    # Real pets on two CPU cores in a few minutes (measured in benchmarks/recipe.py).
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
    # The synthetic stand-in learns in about a minute at 64 px.
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
    # The paper's EM experiment (ISBI 2012) on two CPU cores in about 8 minutes:
    # unpadded, native-resolution crops, weight map, elastic + flips + quarter turns.
    # 14 x 60 steps of 4 crops: about half a second a step on 2 cores
    # (benchmarks/isbi.py records the time and the scores).
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
# The same data and budget, aimed at the pixel error alone (benchmarks/isbi.py:
# test pixel error 0.080 against the isbi preset's 0.117 at the argmax): padded
# convolutions on 256 px crops, so every crop pixel is predicted; no weight map
# (it buys Rand error with pixel error); no elastic deformation (its warping costs
# CPU time better spent on steps); 12 epochs.
PRESETS["isbi-padded"] = {
    **PRESETS["isbi"],
    "padding": "same",
    "crop_size": 256,
    "weight_map": False,
    "elastic_px": None,
    "epochs": 12,
}
"""Named settings for ``TrainConfig.preset``: the one place where they are written down.
"""


@dataclass
class TrainConfig(FitConfig):
    """Settings of a training run: a ``FitConfig`` plus data, model, augmentation and
    run settings.

    The defaults are a small CPU setting. Named settings come from
    ``TrainConfig.preset("full" | "cpu" | "cpu-synthetic" | "isbi" | "isbi-padded")``.

    Attributes:
        base_filters: channels at the top level of the U-Net.
        depth: pooling steps.
        image_size: side length of the training images (a valid input size for
            ``depth`` and ``padding``), or ``None``: a folder's images at their
            native size, trained on random ``crop_size`` crops.
        batch_size: global batch size (split across replicas by a strategy).
        source: data source (``"auto"``, ``"oxford"``, ``"tfds"``,
            ``"synthetic"``, a folder, or ``"$UNET_TUTORIAL_OXFORD_DIR"`` for the
            folder that variable names; see ``resolve_source``).
        data_dir: tfds data folder.
        output_dir: where checkpoints, history and snapshots go.
        seed: seeds everything (``set_seed``).
        deterministic: TensorFlow's deterministic ops (``set_seed``): the
            same seed gives the same run, at some cost in speed on GPUs.
        mixed_precision: ``mixed_float16`` compute (for GPUs with tensor cores).
        num_examples: sizes of the synthetic splits ``(train, validation, test)``.
        augment: paired augmentation of the training split; the four fields
            after it are its ``AugmentConfig`` (``augment_config()``).
        flip: random horizontal flips.
        min_scale: the random crop keeps ``min_scale`` to 1 of the side.
        jitter: random brightness, contrast and saturation.
        elastic: the paper's elastic deformation, as a share of the side
            (``AugmentConfig.elastic``; ``PAPER_ELASTIC`` is the paper's; 0: off).
        on_corrupt: a folder's corrupt files: ``"raise"`` or ``"skip"``.
        snapshot_images: validation images whose predictions are kept per epoch.
        skip_connections: ``False`` trains the U-Net without its skips (the ablation).
        dropout: the paper's drop-out at the end of the contracting path
            (``build_unet(dropout=...)``); 0: none.
        evaluate_test: score a checkpoint on the test split once, after training.
        crop_size: side of the random training crops (a folder of images +
            masks): the model's *input* size. With ``padding="valid"`` the
            model predicts a smaller centre (``ut.output_size``), and the
            mask (and weights) of each crop are cut to it, as in the paper.
        padding: ``"same"`` (output = input size) or ``"valid"`` (the
            paper's unpadded convolutions). Validation and test score whole
            images; an unpadded model predicts them by overlap-tile
            (``whole_image_logits``). Its per-epoch validation scores the
            overlap-tile tiles whose output lies wholly inside each image
            (``engine.targets.overlap_tile_batches``). A same-padding model
            sees whole images of any size mirrored up to multiples of
            ``2**depth`` (``engine.targets.pad_whole_images``), the added
            pixels counted nowhere.
        num_classes: the model's outputs; ``None``: the data's (``DataInfo``).
        channels: a folder's image channels (1 or 3; the images are
            converted); ``None``: as the images are.
        ignore_value: a folder's mask value that is no class (left out of
            loss and metrics).
        weight_map: train with the paper's weight map (``unet_weight_map``,
            w0 = 10, sigma = 5 px) as per-pixel weights, computed on every
            training crop: the objects are the connected regions of class 1
            (the cells of the EM folder, whose class 0 is membrane), so the
            thin gaps between touching cells weigh most.
        rotate90: random quarter turns of the training images
            (``AugmentConfig.rotate90``).
        elastic_px: the elastic deformation's standard deviation in pixels of
            the training image or crop (the paper's 10 px is
            ``PAPER_ELASTIC_PX``); when set, it replaces ``elastic``.
        test_checkpoint: which one: ``"best"`` (best validation mean IoU),
            ``"final"``, or ``"auto"``: the final model when the learning rate
            decays to zero (``"cosine"``; the schedule is built to end there,
            and a small validation split picks noise between its last epochs),
            the best one otherwise. Decided before training, never by the test
            score.
        images_dir: a folder's images folder, relative to it (``None``: detected).
        masks_dir: a folder's masks folder, relative to it (``None``: detected).
        mask_suffix: what a mask's name adds to its image's, e.g. ``_mask``.

    The ``FitConfig`` fields (``epochs``, ``learning_rate``, ``lr_schedule``,
    ``loss``, ``optimizer``, ``weight_decay``, ``steps_per_epoch``,
    ``validation_steps``, ``jit_compile``) come first.
    """

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
        """``"best"`` or ``"final"``: the checkpoint that ``train`` scores on the test
        split.
        """
        if self.test_checkpoint != "auto":
            return self.test_checkpoint
        return "final" if self.lr_schedule == "cosine" else "best"

    @classmethod
    def preset(cls, name: str, **overrides) -> TrainConfig:
        """A named setting (``PRESETS``), with ``overrides`` on top.

        * ``"full"``: Oxford-IIIT Pet on a GPU. Base 64 (the paper's widths,
          31 M parameters), 128 px, batch 32, 40 epochs of Adam at 1e-3 with
          a cosine decay, CE + Dice, XLA and mixed precision (so without op
          determinism, which would turn XLA off). From scratch a
          U-Net needs tens of epochs on 3,680 images; at 128 px the border
          class is 2-3 pixels wide and Dice keeps it from being ignored.
        * ``"cpu"``: real pets on a 2-core CPU in about five minutes: base 16
          at 96 px (a 128 px epoch costs 1.8 times as much), batch 8 (twice
          the updates per epoch of batch 16), 60 epochs with a warm-up and
          a cosine decay, flips, zooms and colour jitter; deterministic.
          Chosen by trials on the 3-breed subset; see ``benchmarks/recipe.py``.
        * ``"cpu-synthetic"``: the synthetic stand-in at 64 px, about a minute.
        * ``"isbi-padded"``: the ``"isbi"`` preset aimed at the pixel error: same
          padding on 256 px crops (every crop pixel predicted), no weight map, no
          elastic deformation, 12 epochs (about 7 minutes on two CPU cores).
        * ``"isbi"``: the paper's EM experiment (ISBI 2012 membranes) on two CPU
          cores in about eight minutes: an unpadded base-16 U-Net of depth 3
          on native-resolution 252 px grayscale crops (164 px predicted),
          2 classes, 14 epochs of 60 batches of 4 crops (Adam 1e-3, cosine
          decay), cross-entropy with the paper's weight map, elastic
          deformation of 10 px on a 3 x 3 grid, flips and quarter turns, no
          zoom. ``source`` is ``"$UNET_TUTORIAL_ISBI_DIR"``; pass
          ``source=isbi_source()`` (the variable, else a download, else a
          synthetic stand-in) or a folder.

        Raises:
            ValueError: an unknown name.
        """
        check_choice("preset", name, PRESETS)
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def full_size(cls, **overrides) -> TrainConfig:
        """``TrainConfig.preset("full", **overrides)``: Oxford-IIIT Pet on a GPU."""
        return cls.preset("full", **overrides)

    def validate(self) -> None:
        """Raise ``ValueError`` for a setting that cannot work, naming it."""
        super().validate()
        for name in ("base_filters", "depth", "batch_size"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("snapshot_images", self.snapshot_images, 0)
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
        if self.num_examples is not None and (
            len(self.num_examples) != 3
            or any(not is_whole(n, 1) for n in self.num_examples)
        ):
            raise ValueError(
                f"num_examples={self.num_examples!r} must be three positive integers "
                "(train, validation, test)."
            )
        check_rate("dropout", self.dropout, "the paper used 0.5, 0 turns it off")
        if self.jit_compile and self.deterministic:
            raise ValueError(
                "jit_compile=True needs deterministic=False: with TensorFlow's op "
                "determinism on, Keras only warns and trains without XLA (on the "
                "command line, --xla does both)."
            )
        self._validate_data_settings()
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

    def _validate_data_settings(self) -> None:
        check_padding(self.padding)
        for name in ("crop_size", "num_classes", "channels"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        if self.channels not in (None, 1, 3):
            raise ValueError(f"channels={self.channels!r} must be 1, 3 or None.")
        for name in ("images_dir", "masks_dir", "mask_suffix"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name}={value!r} must be a non-empty name or None.")
        if self.num_classes is not None and self.num_classes < 2:
            raise ValueError(f"num_classes={self.num_classes!r} must be at least 2.")
        if self.image_size is None and self.crop_size is None:
            raise ValueError(
                "image_size=None (a folder's native size) needs crop_size= (--crop-size"
                "), the side of the random training crops, e.g. 252."
            )
        if self.image_size is not None and not is_whole(self.image_size, 16):
            raise ValueError(
                f"image_size={self.image_size!r} must be an integer of at least 16, or "
                "None for a folder's native size (with crop_size)."
            )
        if self.crop_size is not None and self.image_size is not None:
            if self.crop_size > self.image_size:
                raise ValueError(
                    f"crop_size={self.crop_size} is larger than image_size="
                    f"{self.image_size}; crop less, or use image_size=None."
                )
        try:
            check_input_size(self.input_size, self.depth, self.padding)
        except ValueError:
            name = "crop_size" if self.crop_size is not None else "image_size"
            near = nearest_valid_sizes(self.input_size, self.depth, self.padding)
            raise ValueError(
                f"{name}={self.input_size} is the model's input size, and a U-Net "
                f"with depth={self.depth} and padding={self.padding!r} does not take "
                f"it: the nearest valid sizes are {' and '.join(map(str, near))} "
                "(ut.valid_input_sizes(depth, padding) lists them)."
            ) from None
        if self.weight_map and self.loss == "dice":
            raise ValueError(
                "weight_map=True weights every pixel's loss, and the Dice loss is not "
                "per pixel; use loss='ce' (the paper's) or 'ce_dice'."
            )
        if self.elastic_px is not None and self.elastic > 0:
            raise ValueError(
                f"elastic={self.elastic!r} and elastic_px={self.elastic_px!r} both set "
                "the elastic deformation; give one (elastic_px in pixels, elastic as "
                "a share of the side)."
            )

    def augment_settings(self) -> AugmentConfig:
        """The ``AugmentConfig`` that this config's flat fields describe
        (``elastic_px`` becomes a share of the training image's or crop's side).
        """
        settings = {f.name: getattr(self, f.name) for f in fields(AugmentConfig)}
        if self.elastic_px is not None:
            settings["elastic"] = self.elastic_px / self.input_size
        return AugmentConfig(**settings)

    def augment_config(self) -> AugmentConfig | bool:
        """The training split's augmentation: an ``AugmentConfig``, or ``False``."""
        return self.augment_settings() if self.augment else False


CPU_STEPS_PER_EPOCH = 34
"""Steps per epoch of the ``"cpu"`` recipe on more data than the subset it was
measured on: the 270 training images of the 3-breed subset are 34 batches of 8.
On the full 3,312 training images an epoch would be 414 steps, and the
recipe's minutes would become hours; ``recipe_for`` keeps its 34 steps (over
all of the shuffled images).
"""


def recipe_for(data, *, gpu: bool | None = None) -> TrainConfig:
    """The training settings for this data on this machine: the preset that fits.

    * ``"full"`` on a GPU with Oxford-IIIT Pet;
    * ``"cpu"`` without a GPU (on more images than the 3-breed subset it was
      measured on, capped at ``CPU_STEPS_PER_EPOCH`` steps per epoch, so it
      still trains in minutes);
    * ``"cpu-synthetic"`` on the synthetic stand-in.

    Args:
        data: a resolved source (``resolve_source("auto")``).
        gpu: whether to use the GPU settings; default: whether TensorFlow sees
            a GPU.

    Returns:
        ``TrainConfig.preset(name, source=data.source)``, with the cap above.
    """
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
    config = TrainConfig.preset("cpu", source=data.source)
    from .loading import source_facts

    facts = source_facts(data)
    if facts.is_full:
        config.steps_per_epoch = CPU_STEPS_PER_EPOCH
    return config
