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
from ..settings import AugmentConfig, FitConfig
from ..shapes import check_input_size

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
}
"""Named settings for ``TrainConfig.preset``: the one place where they are written down.
"""


@dataclass
class TrainConfig(FitConfig):
    """Settings of a training run: a ``FitConfig`` plus data, model, augmentation and
    run settings.

    The defaults are a small CPU setting. Named settings come from
    ``TrainConfig.preset("full" | "cpu" | "cpu-synthetic")``.

    Attributes:
        base_filters: channels at the top level of the U-Net.
        depth: pooling steps.
        image_size: side length of the training images (a multiple of ``2**depth``).
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
        test_checkpoint: which one: ``"best"`` (best validation mean IoU),
            ``"final"``, or ``"auto"``: the final model when the learning rate
            decays to zero (``"cosine"``; the schedule is built to end there,
            and a small validation split picks noise between its last epochs),
            the best one otherwise. Decided before training, never by the test
            score.

    The ``FitConfig`` fields (``epochs``, ``learning_rate``, ``lr_schedule``,
    ``loss``, ``optimizer``, ``weight_decay``, ``steps_per_epoch``,
    ``validation_steps``, ``jit_compile``) come first.
    """

    base_filters: int = 16
    depth: int = 4
    image_size: int = 128
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
                "determinism on, Keras turns XLA off without an error (on the command "
                "line, --xla does both)."
            )
        self.augment_settings()  # AugmentConfig checks its own fields
        check_input_size(self.image_size, self.depth, "same")
        check_training_fits(
            self.image_size,
            self.batch_size,
            self.base_filters,
            self.depth,
            mixed_precision=self.mixed_precision,
        )

    def augment_settings(self) -> AugmentConfig:
        """The ``AugmentConfig`` that this config's flat fields describe."""
        return AugmentConfig(
            **{f.name: getattr(self, f.name) for f in fields(AugmentConfig)}
        )

    def augment_config(self) -> AugmentConfig | bool:
        """The training split's augmentation: an ``AugmentConfig``, or ``False``."""
        return self.augment_settings() if self.augment else False
