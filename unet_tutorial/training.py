"""Training: one ``train(config)`` that is seeded, resumable and honest about its data.

What ``train`` writes to ``config.output_dir``:

* ``best.keras``: the model of the best epoch by validation mean IoU;
* ``final.keras``: the model after the last epoch;
* ``history.csv``: one row per finished epoch, also across a kill and resume;
* ``snapshots/``: the predictions on a fixed validation batch after every
  epoch (``reference.npz`` holds the images and true masks), for the training
  animation;
* ``backup/``: ``BackupAndRestore``'s state while a run is unfinished;
* ``config.json``: the settings and the data used;
* ``test.json``: the test-split scores of one checkpoint
  (``TrainConfig.test_checkpoint``: the final model after a cosine decay,
  ``best.keras`` otherwise), computed once, after training (checkpoints
  and early decisions only ever look at the validation split).
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .checks import is_whole
from .data import NUM_CLASSES, AugmentConfig, DataInfo, load_dataset
from .evaluation import Evaluation, evaluate
from .losses import LOSSES, get_loss
from .metrics import segmentation_metrics
from .model import build_unet
from .runs import RUN_FILES, RunLock, load_run_model, prepare_run_folder, run_state
from .shapes import check_input_size
from .sources import resolve_source


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy, TensorFlow and Keras; optionally make TensorFlow's ops deterministic.

    With the same seed and ``deterministic=True``, two runs on the same
    machine and software give the same losses. Determinism costs speed on GPUs
    (deterministic kernels), raises for the few ops that have no deterministic
    version, and **turns XLA off**: Keras silently compiles nothing while op
    determinism is on. ``deterministic=False`` turns it off again, so that
    ``jit_compile=True`` really compiles; runs then agree only closely.
    """
    if not is_whole(seed, None):
        raise ValueError(f"seed={seed!r} must be an integer.")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # Python, NumPy and the TensorFlow backend
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()


PRESETS: dict[str, dict] = {
    # Oxford-IIIT Pet on a GPU: the paper's widths (base 64, 31 M parameters).
    "full": dict(
        base_filters=64, depth=4, image_size=128, epochs=40, batch_size=32, learning_rate=1e-3,
        lr_schedule="cosine", loss="ce_dice", jit_compile=True, deterministic=False, mixed_precision=True,
    ),
    # Real pets on two CPU cores in a few minutes (measured in benchmarks/recipe.py).
    "cpu": dict(
        base_filters=16, depth=4, image_size=96, epochs=60, batch_size=8, learning_rate=3e-3,
        lr_schedule="cosine", loss="ce_dice", jitter=True,
    ),
    # The synthetic stand-in learns in about a minute at 64 px.
    "cpu-synthetic": dict(
        base_filters=8, depth=3, image_size=64, epochs=8, batch_size=16, learning_rate=3e-3,
        steps_per_epoch=40, source="synthetic", num_examples=(512, 64, 128),
    ),
}  # fmt: skip
"""Named settings for ``TrainConfig.preset``: the one place where they are written down."""


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
        """``"best"`` or ``"final"``: the checkpoint that ``train`` scores on the test split."""
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
            raise ValueError(f"preset {name!r} is not known; use one of {', '.join(map(repr, PRESETS))}.")
        return cls(**{**PRESETS[name], **overrides})

    @classmethod
    def full_size(cls, **overrides) -> TrainConfig:
        """``TrainConfig.preset("full", **overrides)``: Oxford-IIIT Pet on a GPU."""
        return cls.preset("full", **overrides)

    def validate(self) -> None:
        """Raise ``ValueError`` for a setting that cannot work, naming it."""
        for name in ("base_filters", "depth", "epochs", "batch_size", "snapshot_images"):
            v = getattr(self, name)
            if not is_whole(v, 0 if name == "snapshot_images" else 1):
                raise ValueError(f"{name}={v!r} must be a positive integer.")
        for name in ("steps_per_epoch", "validation_steps"):
            v = getattr(self, name)
            if v is not None and not is_whole(v, 1):
                raise ValueError(f"{name}={v!r} must be a positive integer or None.")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1):
            raise ValueError(f"learning_rate={self.learning_rate!r} must be in (0, 1), e.g. 1e-3.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule={self.lr_schedule!r} must be one of {', '.join(map(repr, LR_SCHEDULES))}.")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} is not known; use one of {', '.join(map(repr, LOSSES))}.")
        if self.test_checkpoint not in ("auto", "best", "final"):
            raise ValueError(f"test_checkpoint={self.test_checkpoint!r} must be 'auto', 'best' or 'final'.")
        if self.on_corrupt not in ("raise", "skip"):
            raise ValueError(f"on_corrupt={self.on_corrupt!r} must be 'raise' or 'skip'.")
        if self.num_examples is not None and (
            len(self.num_examples) != 3 or any(not is_whole(n, 1)
                                               for n in self.num_examples)
        ):  # fmt: skip
            raise ValueError(
                f"num_examples={self.num_examples!r} must be three positive integers (train, validation, test)."
            )
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout!r} must be a rate in [0, 1); the paper used 0.5, 0 turns it off.")
        if self.jit_compile and self.deterministic:
            raise ValueError(
                "jit_compile=True needs deterministic=False: with TensorFlow's op determinism on, Keras turns XLA "
                "off without an error (on the command line, --xla does both)."
            )
        AugmentConfig(min_scale=self.min_scale, jitter=self.jitter, elastic=self.elastic)  # checks them
        check_input_size(self.image_size, self.depth, "same")

    def augment_config(self) -> AugmentConfig | bool:
        """The training split's augmentation: an ``AugmentConfig``, or ``False``."""
        if not self.augment:
            return False
        return AugmentConfig(min_scale=self.min_scale, jitter=self.jitter, elastic=self.elastic)


LR_SCHEDULES = ("constant", "cosine")


def learning_rate_schedule(peak: float, schedule: str, steps_per_epoch: int, epochs: int):
    """Adam's step size: a number (``"constant"``) or a Keras schedule (``"cosine"``).

    ``"cosine"`` warms up linearly from 0 over the first epoch (Adam's early
    steps, with BN statistics still moving, are the least reliable), then
    decays along a half cosine to 0 at the last step: large steps while the
    model is far off, small ones to settle in a good minimum. On the CPU
    recipe this stops the validation score swinging from epoch to epoch.

    Args:
        peak: the largest step size.
        schedule: ``"constant"`` or ``"cosine"``.
        steps_per_epoch: batches per epoch.
        epochs: epochs of the run.
    """
    if schedule == "constant":
        return peak
    if schedule != "cosine":
        raise ValueError(f"schedule={schedule!r} must be one of {', '.join(map(repr, LR_SCHEDULES))}.")
    warmup = max(1, steps_per_epoch)
    total = max(warmup + 1, steps_per_epoch * epochs)
    return keras.optimizers.schedules.CosineDecay(
        0.0, total - warmup, alpha=0.0, warmup_target=peak, warmup_steps=warmup
    )


class EpochCSVLogger(keras.callbacks.Callback):
    """Append one CSV row per finished epoch; on resume, drop rows of epochs that will rerun.

    ``keras.callbacks.CSVLogger(append=True)`` could write a row twice when a
    run is killed between the logger and the backup; this logger rewrites the
    file at the first epoch of every run so that each epoch appears once.
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        if not self._first:
            return
        self._first = False
        rows = read_history(self.path) if self.path.exists() else []
        kept = [r for r in rows if int(r["epoch"]) < epoch]
        if len(kept) != len(rows) or not self.path.exists():
            self._write(kept, list(rows[0].keys()) if rows else None)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        exists = self.path.exists() and self.path.stat().st_size > 0
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if not exists:
                writer.writeheader()
            writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())

    def _write(self, rows, fields):
        with open(self.path, "w", newline="") as f:
            if fields:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows(rows)


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``history.csv``: ``[{"epoch": "0", "loss": "...", ...}, ...]``.

    A last row cut short (a kill while it was being written) is left out.
    """
    with open(path, newline="") as f:
        return [row for row in csv.DictReader(f) if None not in row.values() and None not in row]


class PredictionSnapshots(keras.callbacks.Callback):
    """Keep the predicted masks on a fixed validation batch after every epoch.

    Writes ``reference.npz`` (``images``, ``masks``) once and
    ``epoch_NNN.npz`` (``pred``: ``uint8 (n, H, W)``) per epoch; the training
    animation reads them with ``load_snapshots``.
    """

    def __init__(self, images: np.ndarray, masks: np.ndarray, directory: str | os.PathLike):
        super().__init__()
        self.images = np.asarray(images, np.float32)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(self.directory / "reference.npz", images=self.images, masks=np.asarray(masks, np.uint8))

    def on_train_begin(self, logs=None):
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        if self._first:  # drop snapshots of epochs that this run will (re)compute, e.g. from an older run
            self._first = False
            for old in self.directory.glob("epoch_*.npz"):
                if int(old.stem.split("_")[1]) >= epoch:
                    old.unlink()

    def on_epoch_end(self, epoch, logs=None):
        logits = self.model.predict(self.images, verbose=0)
        pred = np.argmax(logits, axis=-1).astype(np.uint8)
        np.savez_compressed(self.directory / f"epoch_{epoch:03d}.npz", pred=pred)


def load_snapshots(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(images, true masks, [predictions of epoch 0, 1, ...])`` from a snapshots folder."""
    directory = Path(directory)
    ref_path = directory / "reference.npz"
    if not ref_path.is_file():
        raise FileNotFoundError(f"{ref_path} is missing; train() with snapshot_images > 0 writes it.")
    ref = np.load(ref_path)
    preds = [np.load(p)["pred"] for p in sorted(directory.glob("epoch_*.npz"))]
    return ref["images"], ref["masks"], preds


@dataclass
class TrainResult:
    """What ``train`` returns.

    Attributes:
        history: per-epoch metrics of *all* finished epochs (also those of an
            earlier, interrupted run), ``{"loss": [...], "val_mean_iou": [...], ...}``.
        epochs_run: the epoch indices this call trained (after a resume, they
            start where the interrupted run stopped).
        model: the trained model (last epoch).
        paths: the files written (``best``, ``final``, ``history``, ``snapshots``, ``config``).
        data: the ``DataInfo`` of the training data (is it the stand-in?).
        test: the test-split scores of the checkpoint named by
            ``TrainConfig.tested_checkpoint()`` (``None`` if ``evaluate_test``
            was off).
    """

    history: dict[str, list[float]]
    epochs_run: list[int]
    model: keras.Model
    paths: dict[str, Path]
    data: DataInfo
    test: Evaluation | None = None
    extra: dict = field(default_factory=dict)


class EpochLog(keras.callbacks.Callback):
    """Print one short line per finished epoch: time, loss and the validation scores that matter.

    Keras' own ``verbose=2`` line lists every metric twice; in a notebook this
    log shows the run progressing, epoch by epoch, as it happens, e.g.
    ``epoch  7/40   70 s  loss 1.099 | val mIoU 0.446  acc 0.712  border 0.210``.

    Args:
        metrics: ``{validation metric: short label}`` to show.
    """

    def __init__(self, metrics: dict[str, str] | None = None):
        super().__init__()
        self.metrics = metrics or {"mean_iou": "mIoU", "pixel_accuracy": "acc", "iou_border": "border"}

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        total = self.params.get("epochs", "?")
        elapsed, loss = time.monotonic() - self._start, logs.get("loss", float("nan"))
        head = f"epoch {epoch + 1:>2}/{total} {elapsed:5.0f} s  loss {loss:.3f}"
        scores = [f"{label} {logs[f'val_{m}']:.3f}" for m, label in self.metrics.items() if f"val_{m}" in logs]
        print(head + (" | val " + "  ".join(scores) if scores else ""), flush=True)


class _EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def _history_dict(path: Path) -> dict[str, list[float]]:
    rows = read_history(path) if path.exists() else []
    keys = [k for k in (rows[0].keys() if rows else []) if k != "epoch"]
    return {"epoch": [int(r["epoch"]) for r in rows], **{k: [float(r[k]) for r in rows] for k in keys}}


def train(
    config: TrainConfig | None = None,
    *,
    strategy: tf.distribute.Strategy | None = None,
    callbacks: list | None = None,
    verbose: int | str = "auto",
    overwrite: bool = False,
) -> TrainResult:
    """Train a U-Net end to end and return its history and files.

    The same call trains on one CPU, one GPU, or several replicas: pass a
    ``tf.distribute.Strategy`` (``MirroredStrategy`` for the GPUs of one
    machine, ``MultiWorkerMirroredStrategy`` across machines, ``TPUStrategy``
    on a TPU); the model and optimizer are built in its scope, and Keras
    splits each global batch across the replicas.

    A run that is killed resumes from its last finished epoch when started
    again with the same settings and ``output_dir`` (``BackupAndRestore``).
    The folder rules of ``unet_tutorial.runs`` keep runs apart: a finished
    run is never changed (unless ``overwrite``), a folder with other files is
    refused, an unfinished run resumes only with its own settings, and one
    training at a time writes to a folder.

    When the loss becomes NaN or infinite, training stops at once: nothing
    from that epoch is saved (``best.keras`` keeps the last good checkpoint,
    ``final.keras`` is not written, the backup of the last good epoch stays)
    and ``TrainingDiverged`` is raised.

    Args:
        config: the settings; ``TrainConfig()`` by default.
        strategy: a distribution strategy; the default strategy if ``None``.
        callbacks: extra Keras callbacks.
        verbose: Keras' progress display (``"auto"``, 0, 1 or 2).
        overwrite: delete a run already in ``output_dir`` (its files only) and
            train again from scratch.

    Returns:
        A ``TrainResult``.

    Raises:
        ValueError: a bad setting (see ``TrainConfig.validate``).
        RunFolderError: ``output_dir`` cannot take this run (the message says why).
        TrainingDiverged: the loss became NaN or infinite.
    """
    config = config or TrainConfig()
    config.validate()
    # the data source is decided once, before anything is written, so every split comes from the same data
    data = resolve_source(config.source, config.data_dir)
    strategy = strategy or tf.distribute.get_strategy()
    out = Path(config.output_dir)
    prepare_run_folder(out, asdict(config), overwrite=overwrite)  # refuses before anything is written
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        prepare_run_folder(out, asdict(config))  # again, now that no other training can write here
        return _train_locked(config, data, strategy, out, callbacks, verbose)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says where and what was kept."""


class _NaNGuard(keras.callbacks.Callback):
    """Stop at the first batch whose loss is NaN or infinite, and remember where."""

    def __init__(self):
        super().__init__()
        self.epoch, self.at = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.at is None and loss is not None and not np.isfinite(float(loss)):
            self.at = (self.epoch, batch)
            self.model.stop_training = True


class _UnlessDiverged(keras.callbacks.Callback):
    """Run ``inner`` only while ``guard`` has seen no NaN: NaN weights are never checkpointed or backed up."""

    def __init__(self, inner: keras.callbacks.Callback, guard: _NaNGuard):
        super().__init__()
        self.inner, self.guard = inner, guard

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)


def _forward(name: str):
    def method(self, *args, **kwargs):
        if self.guard.at is None:
            getattr(self.inner, name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "on_train_batch_begin", "on_train_batch_end"):  # fmt: skip
    setattr(_UnlessDiverged, _name, _forward(_name))


def _train_locked(config: TrainConfig, data, strategy, out: Path, callbacks, verbose) -> TrainResult:
    set_seed(config.seed, config.deterministic)
    previous_policy = keras.mixed_precision.global_policy().name
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        sizes = dict(zip(("train", "validation", "test"), config.num_examples or (None, None, None), strict=True))
        common = dict(image_size=config.image_size, batch_size=config.batch_size, on_corrupt=config.on_corrupt)
        train_ds, info = load_dataset(
            data, "train", augment=config.augment_config(), seed=config.seed, num_examples=sizes["train"], **common
        )
        val_ds, val_info = load_dataset(
            data, "validation", seed=config.seed, num_examples=sizes["validation"], verbose=False, **common
        )
        if config.steps_per_epoch:
            train_ds = train_ds.repeat()
        with strategy.scope():
            model = build_unet(
                (config.image_size, config.image_size, 3),
                NUM_CLASSES,
                config.base_filters,
                config.depth,
                skip_connections=config.skip_connections,
                dropout=config.dropout,
            )
            steps = config.steps_per_epoch or -(-info.num_examples // config.batch_size)
            lr = learning_rate_schedule(config.learning_rate, config.lr_schedule, steps, config.epochs)
            model.compile(
                optimizer=keras.optimizers.Adam(lr),
                loss=get_loss(config.loss, NUM_CLASSES),
                metrics=segmentation_metrics(NUM_CLASSES),
                jit_compile=config.jit_compile,
            )
        paths = {k: out / v for k, v in RUN_FILES.items() if k != "lock"}
        # a resumed run keeps the best score of its finished epochs; a new run starts afresh
        previous = _history_dict(paths["history"]) if paths["backup"].exists() else {}
        best_so_far = max(previous.get("val_mean_iou", []), default=None)
        recorder, guard = _EpochRecorder(), _NaNGuard()
        cbs = [
            guard,
            EpochCSVLogger(paths["history"]),  # a NaN epoch is logged: the history says what happened
            _UnlessDiverged(keras.callbacks.ModelCheckpoint(
                paths["best"], monitor="val_mean_iou", mode="max", save_best_only=True,
                initial_value_threshold=best_so_far,
            ), guard),
            recorder,
        ]  # fmt: skip
        if config.snapshot_images:
            images, masks = next(iter(val_ds.unbatch().batch(config.snapshot_images)))
            cbs.append(_UnlessDiverged(PredictionSnapshots(images.numpy(), masks.numpy(), paths["snapshots"]), guard))
        # last, so that an epoch counts as done only once everything above has been written
        cbs.append(_UnlessDiverged(keras.callbacks.BackupAndRestore(paths["backup"]), guard))
        paths["config"].write_text(
            json.dumps(
                {**asdict(config), "data": asdict(info), "validation": asdict(val_info),
                 "replicas": strategy.num_replicas_in_sync},
                indent=2,
            )
        )  # fmt: skip
        model.fit(
            train_ds,
            epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch,
            validation_data=val_ds,
            validation_steps=config.validation_steps,
            callbacks=cbs + list(callbacks or []),
            verbose=verbose,
            shuffle=False,  # the dataset shuffles itself (seeded)
        )
        if guard.at is not None:
            raise _diverged(config, paths, *guard.at)
        model.save(paths["final"])
        test = _score_test(config, data, paths) if config.evaluate_test else None
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    return TrainResult(_history_dict(paths["history"]), recorder.epochs, model, paths, info, test)


def _diverged(config: TrainConfig, paths: dict[str, Path], epoch: int, batch: int) -> TrainingDiverged:
    kept = (
        f"{paths['best']} (the best epoch before it) is kept" if paths["best"].is_file()
        else "no checkpoint had been saved yet"
    )  # fmt: skip
    return TrainingDiverged(
        f"the loss became NaN or infinite at epoch {epoch}, batch {batch}; training stopped. {kept}; "
        f"final.keras was not written. Lower the learning rate (now {config.learning_rate:g}) or check the "
        "data, then train again with --overwrite (train(..., overwrite=True))."
    )


def _score_test(config: TrainConfig, data, paths: dict[str, Path]) -> Evaluation:
    """Score the chosen checkpoint on the test split, once, and write ``test.json``."""
    from . import losses, metrics  # noqa: F401  (registers the custom objects)

    sizes = config.num_examples or (None, None, None)
    test_ds, test_info = load_dataset(
        data, "test", config.image_size, config.batch_size, num_examples=sizes[2], on_corrupt=config.on_corrupt,
        verbose=False,
    )  # fmt: skip
    which = config.tested_checkpoint()
    which = which if paths[which].is_file() else "final"
    model = load_run_model(paths[which])
    ev = evaluate(model, test_ds)
    paths["test"].write_text(json.dumps({"model": which, "data": asdict(test_info), **asdict(ev)}, indent=2))
    return ev


def read_test_scores(path: str | os.PathLike) -> Evaluation:
    """The ``Evaluation`` stored in a run's ``test.json``."""
    stored = json.loads(Path(path).read_text())
    return Evaluation(**{k: stored[k] for k in Evaluation.__dataclass_fields__})


def train_or_load(config: TrainConfig, *, say: bool = True, **kwargs) -> TrainResult:
    """Reuse a finished run with exactly these settings in ``config.output_dir``; otherwise ``train``.

    Re-running a notebook (or opening the evaluation chapter after the
    training chapter) then costs nothing. A run that was interrupted is
    resumed by ``train``. The result is the same either way (training is
    seeded, and deterministic unless ``config.deterministic`` is off), so it
    does not matter which page runs first. A finished run with *other*
    settings in the folder is never replaced: ``train`` refuses it.

    Args:
        config: the settings.
        say: print whether the run was loaded or is being trained, and where.
        **kwargs: passed to ``train`` when it has to train.
    """
    out = Path(config.output_dir)
    if run_state(out) == "finished":
        stored = json.loads((out / RUN_FILES["config"]).read_text())
        if {k: stored.get(k) for k in asdict(config)} == json.loads(json.dumps(asdict(config))):
            model = load_run_model(out / RUN_FILES["final"])
            paths = {k: out / v for k, v in RUN_FILES.items() if k != "lock"}
            test = read_test_scores(paths["test"]) if paths["test"].is_file() else None
            if say:
                print(f"Loaded the finished run in {out.resolve()} (trained earlier with exactly these settings).")
            return TrainResult(_history_dict(paths["history"]), [], model, paths, DataInfo(**stored["data"]), test)
    if say:
        print(f"No finished run with these settings in {out.resolve()}: training it now.")
    return train(config, **kwargs)
