"""Training: one ``train(config)`` that is seeded, resumable and honest about its data.

What ``train`` writes to ``config.output_dir``:

* ``best.keras``: the model of the best epoch by validation mean IoU;
* ``final.keras``: the model after the last epoch;
* ``history.csv``: one row per finished epoch, also across a kill and resume;
* ``snapshots/``: the predictions on a fixed validation batch after every
  epoch (``reference.npz`` holds the images and true masks), for the training
  animation;
* ``backup/``: ``BackupAndRestore``'s state while a run is unfinished;
* ``config.json``: the settings and the data used.
"""

from __future__ import annotations

import csv
import json
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .data import NUM_CLASSES, DataInfo, load_dataset
from .losses import LOSSES, get_loss
from .metrics import segmentation_metrics
from .model import build_unet
from .shapes import check_input_size


def set_seed(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow's ops deterministic.

    With the same seed, two runs on the same machine and software give the
    same losses. Determinism costs some speed on GPUs (deterministic kernels);
    ``tf.config.experimental.enable_op_determinism`` raises for the few ops
    that have no deterministic version.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed={seed!r} must be an integer.")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # Python, NumPy and the TensorFlow backend
    tf.config.experimental.enable_op_determinism()


@dataclass
class TrainConfig:
    """Settings of a training run.

    The defaults are the small CPU setting that the offline book uses. For
    Oxford-IIIT Pet on a GPU use ``TrainConfig.full_size()``.

    Attributes:
        base_filters: channels at the top level of the U-Net.
        depth: pooling steps.
        image_size: side length of the training images.
        epochs: passes over the training split.
        batch_size: global batch size (split across replicas by a strategy).
        learning_rate: Adam's step size.
        loss: ``"ce"``, ``"dice"`` or ``"ce_dice"``.
        source: data source for ``load_dataset`` (``"auto"``, ``"oxford"``,
            ``"synthetic"`` or a directory).
        data_dir: tfds data folder.
        output_dir: where checkpoints, history and snapshots go.
        seed: seeds everything (``set_seed``).
        jit_compile: XLA-compile the train step.
        mixed_precision: ``mixed_float16`` compute (for GPUs with tensor cores).
        steps_per_epoch: cap on the batches per epoch (``None``: the whole split).
        validation_steps: cap on the validation batches.
        num_examples: size of the synthetic splits ``(train, test)``.
        augment: paired augmentation of the training split.
        snapshot_images: validation images whose predictions are kept per epoch.
        skip_connections: ``False`` trains the U-Net without its skips (the ablation).
    """

    base_filters: int = 16
    depth: int = 4
    image_size: int = 128
    epochs: int = 5
    batch_size: int = 16
    learning_rate: float = 1e-3
    loss: str = "ce_dice"
    source: str = "auto"
    data_dir: str | None = None
    output_dir: str = "runs/unet"
    seed: int = 0
    jit_compile: bool = False
    mixed_precision: bool = False
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    num_examples: tuple[int, int] | None = None
    augment: bool = True
    snapshot_images: int = 4
    skip_connections: bool = True

    @classmethod
    def full_size(cls, **overrides) -> TrainConfig:
        """The setting for Oxford-IIIT Pet on a GPU.

        Base 64 (the paper's widths, 31 M parameters), 128 px, batch 32, 40
        epochs of Adam at 1e-3 with CE + Dice, XLA and mixed precision. Why:
        from scratch a U-Net needs tens of epochs on 3,680 images; at 128 px
        the border class is 2-3 pixels wide and Dice keeps it from being
        ignored. This targets a 3-class mean IoU of at least 0.75 on the
        official test split, which these offline machines cannot measure.
        """
        settings = dict(
            base_filters=64, image_size=128, epochs=40, batch_size=32, learning_rate=1e-3,
            loss="ce_dice", source="oxford", jit_compile=True, mixed_precision=True,
        )  # fmt: skip
        settings.update(overrides)
        return cls(**settings)

    def validate(self) -> None:
        """Raise ``ValueError`` for a setting that cannot work, naming it."""
        for name in ("base_filters", "depth", "epochs", "batch_size", "snapshot_images"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "snapshot_images" else 1):
                raise ValueError(f"{name}={v!r} must be a positive integer.")
        for name in ("steps_per_epoch", "validation_steps"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"{name}={v!r} must be a positive integer or None.")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1):
            raise ValueError(f"learning_rate={self.learning_rate!r} must be in (0, 1), e.g. 1e-3.")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} is not known; use one of {', '.join(map(repr, LOSSES))}.")
        check_input_size(self.image_size, self.depth, "same")


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
    """Rows of a ``history.csv``: ``[{"epoch": "0", "loss": "...", ...}, ...]``."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


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
    """

    history: dict[str, list[float]]
    epochs_run: list[int]
    model: keras.Model
    paths: dict[str, Path]
    data: DataInfo
    extra: dict = field(default_factory=dict)


_FILES = {
    "best": "best.keras",
    "final": "final.keras",
    "history": "history.csv",
    "snapshots": "snapshots",
    "config": "config.json",
    "backup": "backup",
}


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
) -> TrainResult:
    """Train a U-Net end to end and return its history and files.

    The same call trains on one CPU, one GPU, or several replicas: pass a
    ``tf.distribute.Strategy`` (``MirroredStrategy`` for the GPUs of one
    machine, ``MultiWorkerMirroredStrategy`` across machines, ``TPUStrategy``
    on a TPU); the model and optimizer are built in its scope, and Keras
    splits each global batch across the replicas.

    A run that is killed resumes from its last finished epoch when started
    again with the same ``output_dir`` (``BackupAndRestore``).

    Args:
        config: the settings; ``TrainConfig()`` by default.
        strategy: a distribution strategy; the default strategy if ``None``.
        callbacks: extra Keras callbacks.
        verbose: Keras' progress display (``"auto"``, 0, 1 or 2).

    Returns:
        A ``TrainResult``.

    Raises:
        ValueError: a bad setting (see ``TrainConfig.validate``).
    """
    config = config or TrainConfig()
    config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    previous_policy = keras.mixed_precision.global_policy().name
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        n_train, n_test = config.num_examples or (None, None)
        common = dict(image_size=config.image_size, batch_size=config.batch_size, data_dir=config.data_dir)
        train_ds, info = load_dataset(
            config.source, "train", augment=config.augment, seed=config.seed, num_examples=n_train, **common
        )
        val_ds, _ = load_dataset(
            info.source if info.source != "directory" else config.source, "test",
            seed=config.seed, num_examples=n_test, verbose=False, **common,
        )  # fmt: skip
        if config.steps_per_epoch:
            train_ds = train_ds.repeat()
        with strategy.scope():
            model = build_unet(
                (config.image_size, config.image_size, 3),
                NUM_CLASSES,
                config.base_filters,
                config.depth,
                skip_connections=config.skip_connections,
            )
            model.compile(
                optimizer=keras.optimizers.Adam(config.learning_rate),
                loss=get_loss(config.loss, NUM_CLASSES),
                metrics=segmentation_metrics(NUM_CLASSES),
                jit_compile=config.jit_compile,
            )
        paths = {k: out / v for k, v in _FILES.items()}
        # a resumed run keeps the best score of its finished epochs; a new run starts afresh
        previous = _history_dict(paths["history"]) if paths["backup"].exists() else {}
        best_so_far = max(previous.get("val_mean_iou", []), default=None)
        recorder = _EpochRecorder()
        cbs = [
            keras.callbacks.TerminateOnNaN(),
            EpochCSVLogger(paths["history"]),
            keras.callbacks.ModelCheckpoint(
                paths["best"], monitor="val_mean_iou", mode="max", save_best_only=True,
                initial_value_threshold=best_so_far,
            ),
            recorder,
        ]  # fmt: skip
        if config.snapshot_images:
            images, masks = next(iter(val_ds.unbatch().batch(config.snapshot_images)))
            cbs.append(PredictionSnapshots(images.numpy(), masks.numpy(), paths["snapshots"]))
        # last, so that an epoch counts as done only once everything above has been written
        cbs.append(keras.callbacks.BackupAndRestore(paths["backup"]))
        paths["config"].write_text(
            json.dumps({**asdict(config), "data": asdict(info), "replicas": strategy.num_replicas_in_sync}, indent=2)
        )
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
        model.save(paths["final"])
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    return TrainResult(_history_dict(paths["history"]), recorder.epochs, model, paths, info)


def train_or_load(config: TrainConfig, **kwargs) -> TrainResult:
    """Reuse a finished run with exactly these settings in ``config.output_dir``; otherwise ``train``.

    Re-running a notebook (or opening the evaluation chapter after the
    training chapter) then costs nothing. A run that was interrupted is
    resumed by ``train``.

    Args:
        config: the settings.
        **kwargs: passed to ``train`` when it has to train.
    """
    out = Path(config.output_dir)
    saved = out / "config.json"
    if (out / "final.keras").is_file() and saved.is_file() and not (out / "backup").exists():
        stored = json.loads(saved.read_text())
        if {k: stored.get(k) for k in asdict(config)} == json.loads(json.dumps(asdict(config))):
            from . import losses, metrics  # noqa: F401  (registers the custom objects)

            model = keras.saving.load_model(out / "final.keras", safe_mode=True)
            paths = {k: out / v for k, v in _FILES.items()}
            return TrainResult(_history_dict(paths["history"]), [], model, paths, DataInfo(**stored["data"]))
    return train(config, **kwargs)
