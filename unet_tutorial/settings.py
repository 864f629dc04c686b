"""The core's settings, without TensorFlow: ``AugmentConfig`` and ``FitConfig``.

Plain dataclasses, so that the command line can read their defaults (and
answer ``--help``) at once. ``augment_pair`` takes an ``AugmentConfig``,
``compile_and_fit`` a ``FitConfig``; the engine's ``TrainConfig`` is a
``FitConfig`` with the data, model and run settings added.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .checks import check_choice, check_positive_int, check_rate, is_whole

LOSSES = ("ce", "dice", "ce_dice")
"""The loss names ``get_loss`` knows."""

LR_SCHEDULES = ("constant", "cosine")
"""The step-size schedules ``learning_rate_schedule`` knows."""

OPTIMIZERS = ("adam", "adamw")
"""The optimizers ``make_optimizer`` knows."""

PAPER_ELASTIC = 10 / 572
"""The paper's elastic deformation: a 10 px standard deviation on 572 px tiles, as a
share of the side.
"""

PAPER_ELASTIC_PX = 10.0
"""The same in pixels: the standard deviation of the paper's coarse-grid displacements.
"""


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
            ``PAPER_ELASTIC`` (about 0.017); 0 turns it off. On native-resolution
            crops, ``PAPER_ELASTIC_PX / crop_size`` is the paper's 10 px.
        rotate90: random quarter turns (0, 90, 180 or 270 degrees). With
            ``flip`` they give all eight symmetries of a square: right for
            data without an up or down, such as microscope images; wrong for
            pets, who would stand on their heads.
    """

    flip: bool = True
    min_scale: float = 0.75
    jitter: bool = False
    elastic: float = 0.0
    rotate90: bool = False

    def __post_init__(self):
        for name in ("flip", "jitter", "rotate90"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"{name}={getattr(self, name)!r} must be True or False."
                )
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


@dataclass
class FitConfig:
    """Settings of ``compile_and_fit``: how long and how a model learns.

    Attributes:
        epochs: passes over the training split.
        learning_rate: the optimizer's (peak) step size.
        lr_schedule: ``"constant"``, or ``"cosine"``: a linear warm-up over
            the first epoch, then a cosine decay to zero at the last step.
        loss: ``"ce"``, ``"dice"`` or ``"ce_dice"`` (``get_loss``).
        optimizer: ``"adam"`` or ``"adamw"`` (``make_optimizer``).
        weight_decay: decoupled weight decay: every step shrinks each weight by
            ``learning_rate * weight_decay`` of itself; 0: none.
        steps_per_epoch: cap on the batches per epoch (``None``: the whole split).
        validation_steps: cap on the validation batches.
        jit_compile: XLA-compile the train step. Needs TensorFlow's op
            determinism off (``set_seed(..., deterministic=False)``): with it
            on, Keras warns and compiles the step without XLA.
    """

    epochs: int = 5
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    loss: str = "ce_dice"
    optimizer: str = "adam"
    weight_decay: float = 0.0
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    jit_compile: bool = False

    def validate(self) -> None:
        """Raise ``ValueError`` for a setting that cannot work, naming it."""
        check_positive_int("epochs", self.epochs)
        for name in ("steps_per_epoch", "validation_steps"):
            v = getattr(self, name)
            if v is not None and not is_whole(v, 1):
                raise ValueError(f"{name}={v!r} must be a positive integer or None.")
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
            raise ValueError(
                f"learning_rate={self.learning_rate!r} must be in (0, 1), e.g. 1e-3."
            )
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("loss", self.loss, LOSSES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_rate("weight_decay", self.weight_decay, "e.g. 1e-4; 0 turns it off")

    def fit_config(self) -> FitConfig:
        """Only the ``FitConfig`` fields (a ``TrainConfig`` has more)."""
        return FitConfig(**{f.name: getattr(self, f.name) for f in fields(FitConfig)})
