"""Settings, without TensorFlow: ``TrainConfig`` and its presets, ``AugmentConfig``.

Kept free of TensorFlow so that the command line can read its defaults (and
answer ``--help``) at once; ``unet_tutorial.training`` and
``unet_tutorial.data`` use these classes and re-export them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import is_whole
from .shapes import check_input_size

LOSSES = ("ce", "dice", "ce_dice")
"""The loss names ``get_loss`` knows."""


@dataclass(frozen=True)
class AugmentConfig:
    """Settings of ``augment_pair``.

    Attributes:
        flip: random horizontal flip (pets are left-right symmetric; a
            vertical flip would put them on their backs).
        min_scale: the random crop keeps a square of ``min_scale`` to 1 times
            the side, then resizes it back (a zoom of up to ``1/min_scale``).
        jitter: random brightness, contrast and saturation (image only).
        elastic: the paper's elastic deformation: random displacements on a
            coarse 3 × 3 grid, drawn from a Gaussian with this standard
            deviation (a share of the image side), smoothed to every pixel by
            bicubic interpolation. The paper used 10 px on 572 px tiles,
            ``PAPER_ELASTIC`` (about 0.017); 0 turns it off.
    """

    flip: bool = True
    min_scale: float = 0.75
    jitter: bool = False
    elastic: float = 0.0

    def __post_init__(self):
        if not 0.1 <= self.min_scale <= 1.0:
            raise ValueError(
                f"min_scale={self.min_scale!r} must be in [0.1, 1] (1 turns the crop "
                "off)."
            )
        if not 0.0 <= self.elastic <= 0.2:
            raise ValueError(
                f"elastic={self.elastic!r} must be in [0, 0.2], a share of the side "
                f"(the paper's: {PAPER_ELASTIC:.3f})."
            )


PAPER_ELASTIC = 10 / 572
"""The paper's elastic deformation: a 10 px standard deviation on 572 px tiles, as a
share of the side.
"""


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
class TrainConfig:
    """Settings of a training run.

    The defaults are a small CPU setting. Named settings come from
    ``TrainConfig.preset("full" | "cpu" | "cpu-synthetic")``.

    Attributes:
        base_filters: channels at the top level of the U-Net.
        depth: pooling steps.
        image_size: side length of the training images (a multiple of ``2**depth``).
        epochs: passes over the training split.
        batch_size: global batch size (split across replicas by a strategy).
        learning_rate: Adam's (peak) step size.
        lr_schedule: ``"constant"``, or ``"cosine"``: a linear warm-up over
            the first epoch, then a cosine decay to zero at the last step.
        loss: ``"ce"``, ``"dice"`` or ``"ce_dice"``.
        source: data source (``"auto"``, ``"oxford"``, ``"tfds"``,
            ``"synthetic"`` or a folder; see ``resolve_source``).
        data_dir: tfds data folder.
        output_dir: where checkpoints, history and snapshots go.
        seed: seeds everything (``set_seed``).
        jit_compile: XLA-compile the train step. Needs ``deterministic=False``
            (with op determinism on, Keras turns XLA off without an error).
        deterministic: TensorFlow's deterministic ops (``set_seed``): the
            same seed gives the same run, at some cost in speed on GPUs.
        mixed_precision: ``mixed_float16`` compute (for GPUs with tensor cores).
        steps_per_epoch: cap on the batches per epoch (``None``: the whole split).
        validation_steps: cap on the validation batches.
        num_examples: sizes of the synthetic splits ``(train, validation, test)``.
        augment: paired augmentation of the training split.
        min_scale: the augmentation's random crop keeps ``min_scale`` to 1 of the side.
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
    """

    base_filters: int = 16
    depth: int = 4
    image_size: int = 128
    epochs: int = 5
    batch_size: int = 16
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    loss: str = "ce_dice"
    source: str = "auto"
    data_dir: str | None = None
    output_dir: str = "runs/unet"
    seed: int = 0
    jit_compile: bool = False
    deterministic: bool = True
    mixed_precision: bool = False
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    num_examples: tuple[int, int, int] | None = None
    augment: bool = True
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
        if name not in PRESETS:
            raise ValueError(
                f"preset {name!r} is not known; use one of "
                f"{', '.join(map(repr, PRESETS))}."
            )
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def full_size(cls, **overrides) -> TrainConfig:
        """``TrainConfig.preset("full", **overrides)``: Oxford-IIIT Pet on a GPU."""
        return cls.preset("full", **overrides)

    def validate(self) -> None:
        """Raise ``ValueError`` for a setting that cannot work, naming it."""
        for name in (
            "base_filters",
            "depth",
            "epochs",
            "batch_size",
            "snapshot_images",
        ):
            v = getattr(self, name)
            if not is_whole(v, 0 if name == "snapshot_images" else 1):
                raise ValueError(f"{name}={v!r} must be a positive integer.")
        for name in ("steps_per_epoch", "validation_steps"):
            v = getattr(self, name)
            if v is not None and not is_whole(v, 1):
                raise ValueError(f"{name}={v!r} must be a positive integer or None.")
        if not (
            isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1
        ):
            raise ValueError(
                f"learning_rate={self.learning_rate!r} must be in (0, 1), e.g. 1e-3."
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule={self.lr_schedule!r} must be one of "
                f"{', '.join(map(repr, LR_SCHEDULES))}."
            )
        if self.loss not in LOSSES:
            raise ValueError(
                f"loss={self.loss!r} is not known; use one of "
                f"{', '.join(map(repr, LOSSES))}."
            )
        if self.test_checkpoint not in ("auto", "best", "final"):
            raise ValueError(
                f"test_checkpoint={self.test_checkpoint!r} must be 'auto', 'best' or "
                "'final'."
            )
        if self.on_corrupt not in ("raise", "skip"):
            raise ValueError(
                f"on_corrupt={self.on_corrupt!r} must be 'raise' or 'skip'."
            )
        if self.num_examples is not None and (
            len(self.num_examples) != 3
            or any(not is_whole(n, 1) for n in self.num_examples)
        ):
            raise ValueError(
                f"num_examples={self.num_examples!r} must be three positive integers "
                "(train, validation, test)."
            )
        if (
            isinstance(self.dropout, bool)
            or not isinstance(self.dropout, (int, float))
            or not 0 <= self.dropout < 1
        ):
            raise ValueError(
                f"dropout={self.dropout!r} must be a rate in [0, 1); the paper used "
                "0.5, 0 turns it off."
            )
        if self.jit_compile and self.deterministic:
            raise ValueError(
                "jit_compile=True needs deterministic=False: with TensorFlow's op "
                "determinism on, Keras turns XLA off without an error (on the command "
                "line, --xla does both)."
            )
        # checks them
        AugmentConfig(
            min_scale=self.min_scale, jitter=self.jitter, elastic=self.elastic
        )
        check_input_size(self.image_size, self.depth, "same")

    def augment_config(self) -> AugmentConfig | bool:
        """The training split's augmentation: an ``AugmentConfig``, or ``False``."""
        if not self.augment:
            return False
        return AugmentConfig(
            min_scale=self.min_scale, jitter=self.jitter, elastic=self.elastic
        )


LR_SCHEDULES = ("constant", "cosine")
