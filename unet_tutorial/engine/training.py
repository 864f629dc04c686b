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

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..evaluation import Evaluation, evaluate
from ..fit import compile_and_fit, set_seed, shard_by_data, synchronize_batch_norm
from ..labels import NUM_CLASSES
from ..model import build_unet
from .config import TrainConfig
from .datasets import DataInfo, load_dataset
from .distribute import (
    prepare_multi_worker_fit,
    worker_role,
    worker_scratch_dir,
)
from .runs import (
    RUN_FILES,
    EpochCSVLogger,
    PredictionSnapshots,
    RunLock,
    differing_settings,
    load_run_model,
    prepare_run_folder,
    read_history,
    run_paths,
    run_state,
)
from .sources import resolve_source


@dataclass
class TrainResult:
    """What ``train`` returns.

    Attributes:
        history: per-epoch metrics of *all* finished epochs (also those of an
            earlier, interrupted run), ``{"loss": [...], "val_mean_iou": [...], ...}``.
        epochs_run: the epoch indices this call trained (after a resume, they
            start where the interrupted run stopped).
        model: the trained model (last epoch).
        paths: the files written (``best``, ``final``, ``history``, ``snapshots``,
            ``config``).
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


class _EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def _history_dict(path: Path) -> dict[str, list[float]]:
    rows = read_history(path) if path.exists() else []
    keys = [k for k in (rows[0].keys() if rows else []) if k != "epoch"]
    return {
        "epoch": [int(r["epoch"]) for r in rows],
        **{k: [float(r[k]) for r in rows] for k in keys},
    }


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
    # the data source is decided once, before anything is written, so every split comes
    # from the same data
    data = resolve_source(config.source, config.data_dir)
    strategy = strategy or tf.distribute.get_strategy()
    out = Path(config.output_dir)
    role = worker_role(strategy)
    if not role.is_chief:
        return _train_as_worker(
            config, data, strategy, role, out, callbacks, verbose, overwrite
        )
    # refuses before anything is written
    prepare_run_folder(out, asdict(config), overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        # again, now that no other training can write here
        prepare_run_folder(out, asdict(config))
        return _train_locked(config, data, strategy, out, callbacks, verbose)


class _SafeBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that survives a damaged backup.

    It keeps the previous epoch's state beside the latest one
    (``double_checkpoint``). If the latest is damaged (a kill while it was
    written: a truncated ``latest.weights.h5``, an empty
    ``training_metadata.json``), the run resumes from the previous one; if
    that is damaged or missing too, it starts again from epoch 0. Either way
    it says which file was damaged. A damaged backup never blocks resuming.
    """

    def __init__(self, backup_dir, restore_from=None):
        super().__init__(str(backup_dir), double_checkpoint=True)
        self.restore_from = restore_from

    def on_train_begin(self, logs=None):
        latest = self._weights_path, self._training_metadata_path
        previous = self._prev_weights_path, self._prev_training_metadata_path
        if self.restore_from is not None:
            # a worker restores from the chief's backup (latest, else the one
            # before it) and changes nothing there
            for pair in (latest, previous):
                chief = [str(Path(self.restore_from) / Path(p).name) for p in pair]
                if os.path.exists(chief[0]) and self._try_load(*chief) is None:
                    return
            self.model._initial_epoch = 0
            return
        err = self._try_load(*latest)
        if err is None:
            return
        damaged = f"{self.backup_dir}: {type(err).__name__}: {err}"
        if all(map(os.path.exists, previous)) and self._try_load(*previous) is None:
            # the next backup moves the latest files to .bkp: they must be good ones
            for prev, last in zip(previous, latest, strict=True):
                shutil.copyfile(prev, last)
            print(
                f"NOTE: the latest backup was damaged ({damaged}); resuming from "
                "the epoch before it."
            )
            return
        for path in (*latest, *previous):
            if os.path.exists(path):
                os.remove(path)
        self.model._initial_epoch = 0
        print(
            f"NOTE: the backup was damaged ({damaged}) and no earlier copy is "
            "readable; starting again at epoch 0."
        )

    def _try_load(self, weights: str, metadata: str) -> Exception | None:
        """Restore the state saved in ``weights`` and ``metadata`` (Keras's
        ``_load_model`` on them); the error if they are damaged, else ``None``.
        The callback's own paths are left as they were.
        """
        own = self._weights_path, self._training_metadata_path
        with tempfile.TemporaryDirectory() as tmp:
            if not weights.endswith(".weights.h5") and os.path.exists(weights):
                # Keras loads only files named *.weights.h5, not the .bkp copies
                weights = shutil.copyfile(weights, Path(tmp) / "copy.weights.h5")
            self._weights_path, self._training_metadata_path = str(weights), metadata
            try:
                self._load_model()
            except (OSError, ValueError, KeyError) as err:
                return err
            finally:
                self._weights_path, self._training_metadata_path = own
        return None


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
    """Run ``inner`` only while ``guard`` has seen no NaN: NaN weights are never
    checkpointed or backed up.
    """

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


for _name in (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
):
    setattr(_UnlessDiverged, _name, _forward(_name))


def _train_as_worker(
    config, data, strategy, role, out: Path, callbacks, verbose, overwrite
) -> TrainResult:
    """A non-chief worker: the same training, written to its scratch folder, resumed
    from the chief's backup.
    """
    # refuse what the chief refuses (it decides from the same folder) without changing
    # that folder
    prepare_run_folder(out, asdict(config), overwrite=overwrite, clear=False)
    chief, scratch = run_paths(out), worker_scratch_dir(out, role)
    # left by a crash: this worker resumes from the chief's backup
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    resume = not overwrite and chief["backup"].exists()
    if resume and chief["history"].is_file():
        # the same best-so-far as the chief
        shutil.copyfile(chief["history"], run_paths(scratch)["history"])
    own = replace(config, output_dir=str(scratch), evaluate_test=False)
    with RunLock(scratch):
        result = _train_locked(
            own,
            data,
            strategy,
            scratch,
            callbacks,
            verbose,
            resume_from=out if resume else None,
        )
    shutil.rmtree(scratch)
    return TrainResult(
        result.history, result.epochs_run, result.model, chief, result.data, None
    )


def _train_locked(
    config: TrainConfig,
    data,
    strategy,
    out: Path,
    callbacks,
    verbose,
    resume_from: Path | None = None,
) -> TrainResult:
    set_seed(config.seed, config.deterministic)
    previous_policy = keras.mixed_precision.global_policy().name
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        sizes = dict(
            zip(
                ("train", "validation", "test"),
                config.num_examples or (None, None, None),
                strict=True,
            )
        )
        common = dict(
            image_size=config.image_size,
            batch_size=config.batch_size,
            on_corrupt=config.on_corrupt,
        )
        train_ds, info = load_dataset(
            data,
            "train",
            augment=config.augment_config(),
            seed=config.seed,
            num_examples=sizes["train"],
            **common,
        )
        val_ds, val_info = load_dataset(
            data,
            "validation",
            seed=config.seed,
            num_examples=sizes["validation"],
            verbose=False,
            **common,
        )
        if config.steps_per_epoch:
            train_ds = train_ds.repeat()
        train_ds, val_ds = shard_by_data(train_ds), shard_by_data(val_ds)
        with strategy.scope():
            model = build_unet(
                (config.image_size, config.image_size, 3),
                NUM_CLASSES,
                config.base_filters,
                config.depth,
                skip_connections=config.skip_connections,
                dropout=config.dropout,
            )
            if strategy.num_replicas_in_sync > 1:
                # every replica keeps the same moving statistics
                synchronize_batch_norm(model)
        prepare_multi_worker_fit(model, strategy, train_ds.element_spec)
        paths = run_paths(out)
        # a resumed run keeps the best score of its finished epochs; a new run starts
        # afresh
        resuming = run_paths(resume_from or out)["backup"].exists()
        previous = _history_dict(paths["history"]) if resuming else {}
        best_so_far = max(previous.get("val_mean_iou", []), default=None)
        recorder, guard = _EpochRecorder(), _NaNGuard()
        cbs = [
            guard,
            # a NaN epoch is logged: the history says what happened
            EpochCSVLogger(paths["history"]),
            _UnlessDiverged(
                keras.callbacks.ModelCheckpoint(
                    paths["best"],
                    monitor="val_mean_iou",
                    mode="max",
                    save_best_only=True,
                    initial_value_threshold=best_so_far,
                ),
                guard,
            ),
            recorder,
        ]
        if config.snapshot_images:
            images, masks = next(iter(val_ds.unbatch().batch(config.snapshot_images)))
            cbs.append(
                _UnlessDiverged(
                    PredictionSnapshots(
                        images.numpy(), masks.numpy(), paths["snapshots"]
                    ),
                    guard,
                )
            )
        # last, so that an epoch counts as done only once everything above has been
        # written
        restore_from = run_paths(resume_from)["backup"] if resume_from else None
        cbs.append(_UnlessDiverged(_SafeBackup(paths["backup"], restore_from), guard))
        paths["config"].write_text(
            json.dumps(
                {
                    **asdict(config),
                    "data": asdict(info),
                    "validation": asdict(val_info),
                    "replicas": strategy.num_replicas_in_sync,
                },
                indent=2,
            )
        )
        with strategy.scope():  # the optimizer's variables live on every replica
            compile_and_fit(
                model,
                train_ds,
                val_ds,
                config.fit_config(),
                cbs + list(callbacks or []),
                verbose,
            )
        if guard.at is not None:
            raise _diverged(config, paths, *guard.at)
        model.save(paths["final"])
        test = _score_test(config, data, paths) if config.evaluate_test else None
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    return TrainResult(
        _history_dict(paths["history"]), recorder.epochs, model, paths, info, test
    )


def _diverged(
    config: TrainConfig, paths: dict[str, Path], epoch: int, batch: int
) -> TrainingDiverged:
    kept = (
        f"{paths['best']} (the best epoch before it) is kept"
        if paths["best"].is_file()
        else "no checkpoint had been saved yet"
    )
    return TrainingDiverged(
        f"the loss became NaN or infinite at epoch {epoch}, batch {batch}; training "
        f"stopped. {kept}; final.keras was not written. Lower the learning rate (now "
        f"{config.learning_rate:g}) or check the data, then train again with "
        "--overwrite (train(..., overwrite=True))."
    )


def _score_test(config: TrainConfig, data, paths: dict[str, Path]) -> Evaluation:
    """Score the chosen checkpoint on the test split, once, and write ``test.json``."""
    from .. import losses, metrics  # noqa: F401  (registers the custom objects)

    sizes = config.num_examples or (None, None, None)
    test_ds, test_info = load_dataset(
        data,
        "test",
        config.image_size,
        config.batch_size,
        num_examples=sizes[2],
        on_corrupt=config.on_corrupt,
        verbose=False,
    )
    which = config.tested_checkpoint()
    which = which if paths[which].is_file() else "final"
    model = load_run_model(paths[which])
    ev = evaluate(model, test_ds)
    paths["test"].write_text(
        json.dumps({"model": which, "data": asdict(test_info), **asdict(ev)}, indent=2)
    )
    return ev


def read_test_scores(path: str | os.PathLike) -> Evaluation:
    """The ``Evaluation`` stored in a run's ``test.json``."""
    stored = json.loads(Path(path).read_text())
    return Evaluation(**{k: stored[k] for k in Evaluation.__dataclass_fields__})


def train_or_load(config: TrainConfig, *, say: bool = True, **kwargs) -> TrainResult:
    """Reuse a finished run with exactly these settings in ``config.output_dir``;
    otherwise ``train``.

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
        if not differing_settings(stored, asdict(config)):
            paths = run_paths(out)
            model = load_run_model(paths["final"])
            test = read_test_scores(paths["test"]) if paths["test"].is_file() else None
            if say:
                print(
                    f"Loaded the finished run in {out.resolve()} (trained earlier with "
                    "exactly these settings)."
                )
            return TrainResult(
                _history_dict(paths["history"]),
                [],
                model,
                paths,
                DataInfo(**stored["data"]),
                test,
            )
    if say:
        print(
            f"No finished run with these settings in {out.resolve()}: training it now."
        )
    return train(config, **kwargs)
