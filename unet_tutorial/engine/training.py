"""Training: one ``train(config)`` that is seeded, resumable and honest about its data.

What ``train`` writes to ``config.output_dir``:

* ``best.keras``: the model of the best epoch by validation mean IoU;
* ``final.keras``: the model after the last epoch;
* ``history.csv``: one row per finished epoch, also across a kill and resume;
* ``snapshots/``: the predictions on a fixed validation batch after every
  epoch (``reference.npz`` holds the images and true masks), for the training
  animation;
* ``backup/``: ``BackupAndRestore``'s state until the run is finished;
* ``config.json``: the settings and the data used;
* ``state.json``: how far the run got, and which epoch ``best.keras`` holds;
* ``test.json``: the test-split scores of one checkpoint
  (``TrainConfig.test_checkpoint``: the final model after a cosine decay,
  ``best.keras`` otherwise), computed once, after training (checkpoints
  and early decisions only ever look at the validation split).

A run goes ``training`` (epochs, each committed by its backup) ->
``trained`` (``final.keras`` saved) -> ``finished`` (``test.json`` written,
the backup deleted). A kill anywhere leaves files that are whole (see
``runs.atomic_write``), and a rerun of the same command completes the step
that was cut without training a finished epoch again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..evaluation import Evaluation, evaluate
from ..fit import compile_and_fit, set_seed, shard_by_data, synchronize_batch_norm
from ..model import build_unet
from .config import TrainConfig
from .distribute import (
    chief_decision,
    prepare_multi_worker_fit,
    worker_role,
    worker_scratch_dir,
)
from .loading import DataInfo, load_dataset
from .runs import (
    RUN_FILES,
    EpochCSVLogger,
    PredictionSnapshots,
    RunFolderError,
    RunLock,
    atomic_copy,
    atomic_write,
    atomic_write_text,
    differing_settings,
    is_whole_test_file,
    load_run_model,
    minor_version,
    no_space_error,
    prepare_run_folder,
    read_history,
    read_state,
    remove_partial_files,
    run_paths,
    run_settings,
    run_state,
    save_model_atomic,
    write_state,
)
from .sources import data_fingerprint, resolve_source, runs_dir
from .targets import (
    model_classes,
    model_input_shape,
    snapshot_examples,
    training_pairs,
)


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
    The folder rules of ``unet_tutorial.engine.runs`` keep runs apart: a finished
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
        callbacks: extra Keras callbacks (a list), or ``None``.
        verbose: Keras' progress display (``"auto"``, 0, 1 or 2).
        overwrite: delete a run already in ``output_dir`` (its files only) and
            train again from scratch.

    Returns:
        A ``TrainResult``.

    Raises:
        ValueError: a bad setting (see ``TrainConfig.validate``) or ``callbacks``.
        RunFolderError: ``output_dir`` cannot take this run (the message says why).
        TrainingDiverged: the loss became NaN or infinite.
    """
    config = config or TrainConfig()
    _check_callbacks(callbacks)
    # the data source is decided once, before anything is written, so every split comes
    # from the same data
    data = resolve_source(config.source, config.data_dir)
    strategy = strategy or tf.distribute.get_strategy()
    out = Path(config.output_dir)
    role = worker_role(strategy)
    agreement = _Agreement(strategy)
    try:
        if not role.is_chief:
            return _train_as_worker(
                config,
                data,
                strategy,
                role,
                out,
                callbacks,
                verbose,
                overwrite,
                agreement,
            )
        return _train_as_chief(
            config, data, strategy, out, callbacks, verbose, overwrite, agreement
        )
    except Exception:
        if not agreement.reached:  # the other workers must not wait for this one
            with contextlib.suppress(Exception):  # the first error is the one to say
                agreement.reach(_Agreement.TRAIN, refused=True)
        raise


def _check_callbacks(callbacks) -> None:
    """Refuse ``callbacks`` that are not ``None`` or a list (or tuple) of Keras
    callbacks, before anything is written.
    """
    if callbacks is None:
        return
    if not isinstance(callbacks, (list, tuple)):
        raise ValueError(
            f"callbacks={callbacks!r} must be a list of Keras callbacks or None, "
            "e.g. callbacks=[keras.callbacks.TerminateOnNaN()]."
        )
    for k, callback in enumerate(callbacks):
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(
                f"callbacks[{k}]={callback!r} is not a Keras callback; pass "
                "instances of keras.callbacks.Callback (e.g. "
                "keras.callbacks.TerminateOnNaN())."
            )


class _Agreement:
    """The one point where the workers of a cluster take the chief's decision
    (``chief_decision``): train, or complete a run whose training is over.
    Outside a cluster it only passes the decision through.
    """

    TRAIN, OVER = 1, 2

    def __init__(self, strategy):
        self.strategy = strategy
        self.reached = False

    def reach(self, decision: int, *, refused: bool = False) -> int:
        """The chief's decision; raises ``RunFolderError`` when another worker
        refused.
        """
        self.reached = True
        chief, refusals = chief_decision(self.strategy, decision, refused=refused)
        if refusals and not refused:
            raise RunFolderError(
                f"{refusals} other worker(s) of the cluster could not start this run "
                "(their output says why); nothing was trained. Fix that and start "
                "the same command on every worker again."
            )
        return chief


def _train_as_chief(
    config, data, strategy, out: Path, callbacks, verbose, overwrite, agreement
) -> TrainResult:
    """The chief (or the only process): it writes the run folder, under its lock."""
    # refuses before anything is written; deletes nothing yet (--overwrite clears
    # only once it holds the lock, never under a running training)
    prepare_run_folder(out, _settings(config, data), overwrite=overwrite, clear=False)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        lock = RunLock(out).__enter__()
    except RunFolderError:
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    try:
        # again, now that no other training can write here
        prepare_run_folder(out, _settings(config, data), overwrite=overwrite)
        return _train_locked(
            config, data, strategy, out, callbacks, verbose, agreement=agreement
        )
    finally:
        lock.__exit__(None, None, None)
        if created and not any(out.iterdir()):  # refused before it wrote a file
            out.rmdir()


def _settings(config: TrainConfig, data) -> dict:
    """What a run folder records of ``config`` and of the data it trains on."""
    return run_settings(asdict(config), data_fingerprint(data))


def _crc32(path: str | os.PathLike) -> int:
    """The CRC-32 of a file's bytes (read in pieces)."""
    crc = 0
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            crc = zlib.crc32(piece, crc)
    return crc


FREE_SPACE_MARGIN = 1 << 20
"""Bytes a backup leaves free beyond its weights file (the metadata, the folder)."""


def _weights_file_bytes(model: keras.Model) -> bytes | None:
    """The bytes of ``model.save_weights(...)``'s ``.weights.h5`` file, written in
    memory (Keras' own HDF5 store on a ``BytesIO``); ``None`` if this Keras
    lacks that store.
    """
    import io

    try:
        from keras.src.saving import saving_lib

        buffer = io.BytesIO()
        store = saving_lib.H5IOStore(buffer, mode="w")
        saving_lib._save_state(model, store, None, "", set())
        store.close()
    except (ImportError, AttributeError, TypeError):
        return None
    return buffer.getvalue()


def _variables_size(model: keras.Model) -> int:
    """Bytes of the model's and its optimizer's variables: about the size of its
    weights file.
    """
    variables = list(model.variables)
    if model.optimizer is not None:
        variables += list(model.optimizer.variables)
    dtypes = [np.dtype(keras.backend.standardize_dtype(v.dtype)) for v in variables]
    return sum(
        int(np.prod(v.shape)) * d.itemsize
        for v, d in zip(variables, dtypes, strict=True)
    )


def _check_free_space(path: Path, size: int) -> None:
    """Raise the package's full-disk ``OSError`` (``no_space_error``) unless the
    disk of ``path`` has ``size`` bytes free, and a margin.
    """
    if shutil.disk_usage(path.parent).free < size + FREE_SPACE_MARGIN:
        raise no_space_error(path)


class _SafeBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that survives a kill while it writes and a damaged backup.

    Every file is written atomically, and ``training_metadata.json`` records
    the checksum of the weights it goes with, so that a mismatched or damaged
    pair is recognised (h5py may read a damaged file without an error). It
    keeps the previous epoch's state beside the latest one (``.bkp``). If the
    latest is damaged, the run resumes from the previous one; if that is
    damaged too, from ``best.keras`` (the last epoch whose whole model was
    kept, named in ``state.json``); else it starts again at epoch 0. Each
    time a one-line NOTE says which file was damaged. The backup is kept at
    the end of training: ``train`` deletes it once the run is finished.
    """

    def __init__(self, backup_dir, restore_from=None, run_folder=None):
        super().__init__(
            str(backup_dir), double_checkpoint=True, delete_checkpoint=False
        )
        self.restore_from = restore_from
        self.run_folder = run_folder

    def _save_model(self):
        """Write the latest state beside the old one, then rename it into place."""
        os.makedirs(self.backup_dir, exist_ok=True)
        latest = Path(self._weights_path), Path(self._training_metadata_path)
        previous = (
            Path(self._prev_weights_path),
            Path(self._prev_training_metadata_path),
        )
        # the weights are written in memory first: h5py writing to a full disk
        # can crash the process or fail with its own words, a Python write cannot
        weights = _weights_file_bytes(self.model)
        size = _variables_size(self.model) if weights is None else len(weights)
        _check_free_space(latest[0], size)
        # the old pair is copied to .bkp, then the new pair written (each file
        # atomically): a kill between leaves one pair whose checksum does not match,
        # which is read as damaged, and the other pair whole
        if all(p.exists() for p in latest):
            for src, dst in zip(latest, previous, strict=True):
                atomic_copy(src, dst)
        if weights is None:  # a Keras without the in-memory store: h5py writes it
            save = self.model.save_weights
            atomic_write(latest[0], lambda part: save(str(part), overwrite=True))
            crc = _crc32(latest[0])
        else:
            atomic_write(latest[0], lambda part: part.write_bytes(weights))
            crc = zlib.crc32(weights)
        meta = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights_crc32": crc,
        }
        atomic_write_text(latest[1], json.dumps(meta))

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
                atomic_copy(prev, last)
            print(
                f"NOTE: the latest backup was damaged or incomplete ({damaged}); "
                "resuming from the epoch before it."
            )
            return
        for path in (*latest, *previous):
            if os.path.exists(path):
                os.remove(path)
        epoch = self._restore_best()
        if epoch is not None:
            print(
                f"NOTE: the backup was damaged or incomplete ({damaged}) and so was "
                f"its previous copy; resuming after epoch {epoch}, the last one whose "
                "whole model was kept (best.keras)."
            )
            return
        self.model._initial_epoch = 0
        print(
            f"NOTE: the backup was damaged or incomplete ({damaged}) and no earlier "
            "copy is readable; starting again at epoch 0."
        )

    def _restore_best(self) -> int | None:
        """Load ``best.keras`` (weights and optimizer) and return its epoch, named in
        ``state.json``; ``None`` if there is none, or it is unreadable.
        """
        if self.run_folder is None:
            return None
        record = (read_state(self.run_folder) or {}).get("best") or {}
        best = run_paths(self.run_folder)["best"]
        if not isinstance(record.get("epoch"), int) or not best.is_file():
            return None
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(str(best))
        except (OSError, ValueError, KeyError, RuntimeError):
            return None
        self.model._initial_epoch = record["epoch"] + 1
        return record["epoch"]

    def _try_load(self, weights: str, metadata: str) -> Exception | None:
        """Restore the state saved in ``weights`` and ``metadata`` (Keras's
        ``_load_model`` on them); the error if they are damaged, else ``None``.
        The callback's own paths are left as they were.
        """
        own = self._weights_path, self._training_metadata_path
        there = os.path.exists(weights), os.path.exists(metadata)
        if there[0] != there[1]:
            missing = metadata if there[0] else weights
            return FileNotFoundError(f"{missing} is missing")
        if there[1]:
            try:
                expected = json.loads(Path(metadata).read_text()).get("weights_crc32")
            except (OSError, ValueError, AttributeError) as err:
                return err
            if expected is not None and _crc32(weights) != expected:
                return ValueError(f"{weights} does not match its checksum")
        with tempfile.TemporaryDirectory() as tmp:
            if not weights.endswith(".weights.h5") and os.path.exists(weights):
                # Keras loads only files named *.weights.h5, not the .bkp copies
                weights = shutil.copyfile(weights, Path(tmp) / "copy.weights.h5")
            self._weights_path, self._training_metadata_path = str(weights), metadata
            try:
                self._load_model()
            # h5py raises RuntimeError (e.g. "wrong B-tree signature") or OSError
            except (OSError, ValueError, KeyError, RuntimeError) as err:
                return err
            finally:
                self._weights_path, self._training_metadata_path = own
        return None


class _BestCheckpoint(keras.callbacks.Callback):
    """Keep ``best.keras``: the model of the epoch with the best validation mean IoU.

    It runs after the backup, so an epoch is committed before its model can
    become ``best.keras``; the file is written atomically and its epoch and
    score recorded in ``state.json``. On resume it makes ``best.keras`` agree
    with the history of the finished epochs: the model of an epoch that will
    be trained again is never kept, and when the backup's epoch is the best
    one but its save was cut short, it is saved again from the backup.
    """

    monitor = "val_mean_iou"

    def __init__(self, folder: Path, collective: bool = False):
        super().__init__()
        self.folder = folder
        self.collective = collective
        self.paths = run_paths(folder)
        self.best: float | None = None

    def on_train_begin(self, logs=None):
        start = getattr(self.model, "_initial_epoch", None) or 0
        self.best = self._reconcile(start)

    def on_epoch_end(self, epoch, logs=None):
        score = (logs or {}).get(self.monitor)
        if score is None or not np.isfinite(float(score)):
            return
        if self.best is None or float(score) > self.best:
            self._save(epoch, float(score))

    def _save(self, epoch: int, score: float) -> None:
        save_model_atomic(self.model, self.paths["best"])
        write_state(self.folder, best={"epoch": epoch, self.monitor: score})
        self.best = score

    def _reconcile(self, start: int) -> float | None:
        """The best score of the epochs before ``start``, with ``best.keras`` made to
        hold that epoch's model (or removed when no file can).
        """
        best = self.paths["best"]
        history = self.paths["history"]
        scores = {}
        for row in read_history(history) if history.is_file() else []:
            epoch, score = int(row["epoch"]), float(row.get(self.monitor) or "nan")
            if epoch < start and np.isfinite(score):
                scores[epoch] = score
        state = read_state(self.folder)
        record = (state or {}).get("best") or {}
        if not scores:
            if best.exists():  # the model of an epoch that will be trained again
                best.unlink()
            return None
        top = min(scores, key=lambda e: (-scores[e], e))  # the first of the best
        kept = best.is_file() and record.get("epoch") == top
        if top == start - 1 and (self.collective or not kept):
            # the model restored from the backup is that epoch's. Several workers
            # save it alike (saving is a collective step there), deciding from the
            # history alone, also when the file holds it already
            self._save(top, scores[top])
            return scores[top]
        if kept:
            return scores[top]
        if best.is_file() and state is None:
            return scores[top]  # a run written before state.json existed
        if best.exists():
            best.unlink()
            print(
                f"NOTE: {best} held the model of an epoch that is trained again; it "
                f"is removed, and written again when an epoch beats epoch {top} "
                f"({self.monitor} {scores[top]:.5f})."
            )
        return scores[top]


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
    config, data, strategy, role, out: Path, callbacks, verbose, overwrite, agreement
) -> TrainResult:
    """A non-chief worker: the same training, written to its scratch folder, resumed
    from the chief's backup.
    """
    # refuse what the chief refuses (it decides from the same folder) without changing
    # that folder
    prepare_run_folder(out, _settings(config, data), overwrite=overwrite, clear=False)
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
            agreement=agreement,
            chief=out,
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
    agreement: _Agreement | None = None,
    chief: Path | None = None,
) -> TrainResult:
    """Train into ``out`` (the run folder, or a worker's scratch folder), or complete
    a run whose training is over. ``agreement`` makes every worker of a cluster
    take the chief's decision; ``chief`` is the chief's run folder (for a worker).
    """
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
            **config.folder_options(),
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
        model_classes(config, info)
        whole = val_ds
        train_ds, val_ds = training_pairs(config, train_ds, val_ds)
        # the snapshots: an unpadded model's tiles (and the squares they predict),
        # otherwise the whole validation images, unpadded
        shown = val_ds if config.padding == "valid" else whole
        if config.steps_per_epoch:
            train_ds = train_ds.repeat()
        train_ds, val_ds = shard_by_data(train_ds), shard_by_data(val_ds)
        paths = run_paths(out)
        remove_partial_files(out)
        settings = {
            **_settings(config, data),
            "data": asdict(info),
            "validation": asdict(val_info),
            "replicas": strategy.num_replicas_in_sync,
        }
        # config.json first, and whole: the folder reads as this run from now on
        atomic_write_text(paths["config"], json.dumps(settings, indent=2))
        state = read_state(out) or {}
        write_state(out, state=state.get("state", "training"), settings=settings)
        recorder = _EpochRecorder()
        model = _trained_model(paths)
        trained_now = model is None
        if agreement is not None:
            # the chief's decision, on every worker: a worker that trained while
            # the chief completes the run would wait for it in vain
            decision = agreement.reach(
                _Agreement.TRAIN if trained_now else _Agreement.OVER
            )
            trained_now = decision == _Agreement.TRAIN
            if not trained_now and model is None:  # a worker: the chief's model
                model = load_run_model(run_paths(chief or out)["final"])
        if trained_now:
            model = _fit(
                config,
                info,
                strategy,
                train_ds,
                val_ds,
                paths,
                out,
                callbacks,
                verbose,
                recorder,
                resume_from,
                shown,
            )
            save_model_atomic(model, paths["final"])
            write_state(out, state="trained")
        test = None
        if config.evaluate_test:
            if trained_now or not is_whole_test_file(paths["test"]):
                test = _score_test(config, data, paths)
            else:
                test = read_test_scores(paths["test"])
        # the backup goes before the run is marked finished: a kill between leaves
        # a run whose rerun only writes state.json
        shutil.rmtree(paths["backup"], ignore_errors=True)
        write_state(out, state="finished")
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    return TrainResult(
        _history_dict(paths["history"]), recorder.epochs, model, paths, info, test
    )


def _trained_model(paths: dict[str, Path]) -> keras.Model | None:
    """The model of ``final.keras`` when training is over (a rerun after a kill
    during the test scoring); ``None`` when it still has to train. A damaged
    ``final.keras`` is removed, with a NOTE: the backup makes it again.
    """
    if not paths["final"].exists():
        return None
    try:
        model = load_run_model(paths["final"])
    except ValueError as err:
        paths["final"].unlink()
        print(
            f"NOTE: {err} It is removed and written again from the backup of the last "
            "epoch."
        )
        return None
    print(
        f"NOTE: training of {paths['final'].parent} was over (final.keras); completing "
        "the run without training again."
    )
    return model


def _fit(
    config: TrainConfig,
    info: DataInfo,
    strategy,
    train_ds,
    val_ds,
    paths: dict[str, Path],
    out: Path,
    callbacks,
    verbose,
    recorder: _EpochRecorder,
    resume_from: Path | None,
    shown: tf.data.Dataset,
) -> keras.Model:
    """Build the model and train (or resume) it; return it after the last epoch.

    ``shown`` holds the validation examples whose predictions are kept after
    every epoch.

    Raises:
        TrainingDiverged: the loss became NaN or infinite.
    """
    with strategy.scope():
        model = build_unet(
            model_input_shape(config, info),
            info.num_classes,
            config.base_filters,
            config.depth,
            config.padding,
            skip_connections=config.skip_connections,
            dropout=config.dropout,
        )
        if strategy.num_replicas_in_sync > 1:
            # every replica keeps the same moving statistics
            synchronize_batch_norm(model)
    prepare_multi_worker_fit(model, strategy, train_ds.element_spec)
    guard = _NaNGuard()
    # a NaN epoch is logged: the history says what happened
    cbs = [guard, EpochCSVLogger(paths["history"])]
    if config.snapshot_images:
        # whole images of different sizes are cut to one size
        images, masks = snapshot_examples(shown, config.snapshot_images)
        cbs.append(
            _UnlessDiverged(
                PredictionSnapshots(images, masks, paths["snapshots"]), guard
            )
        )
    # the backup commits an epoch: everything above is written before it, and
    # best.keras only after it (so that best.keras always holds a finished epoch)
    restore_from = run_paths(resume_from)["backup"] if resume_from else None
    backup = _SafeBackup(
        paths["backup"], restore_from, run_folder=None if resume_from else out
    )
    cbs += [
        _UnlessDiverged(backup, guard),
        _UnlessDiverged(
            _BestCheckpoint(out, collective=worker_role(strategy).num_workers > 1),
            guard,
        ),
        recorder,
    ]
    with strategy.scope():  # the optimizer's variables live on every replica
        compile_and_fit(
            model,
            train_ds,
            val_ds,
            config.fit_config(),
            cbs + list(callbacks or []),
            verbose,
            info.class_names,
        )
    if guard.at is not None:
        raise _diverged(config, paths, *guard.at)
    return model


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
        **config.folder_options(),
    )
    which = config.tested_checkpoint()
    which = which if paths[which].is_file() else "final"
    model = load_run_model(paths[which])
    ev = evaluate(model, test_ds, test_info.class_names)  # overlap-tile if unpadded
    atomic_write_text(
        paths["test"],
        json.dumps({"model": which, "data": asdict(test_info), **asdict(ev)}, indent=2),
    )
    return ev


def read_test_scores(path: str | os.PathLike) -> Evaluation:
    """The ``Evaluation`` stored in a run's ``test.json``."""
    stored = json.loads(Path(path).read_text())
    return Evaluation(**{k: stored[k] for k in Evaluation.__dataclass_fields__})


def in_run_cache(config: TrainConfig, name: str = "unet") -> TrainConfig:
    """``config`` with its ``output_dir`` in the run cache (``runs_dir()``), in a
    folder named by ``name`` and by what makes the run.

    The folder is ``runs_dir() / f"{name}-{digest}"``, where the digest covers
    every setting but ``output_dir``, the fingerprint of the data
    (``data_fingerprint``) and the package's major.minor version. So two
    notebooks that ask for the same run, on the same data, with the same
    package, get the same folder, and ``train_or_load`` trains it once; other
    settings, changed data or another version get another folder.

    Args:
        config: the settings.
        name: the first part of the folder's name, e.g. ``"pets"``.

    Returns:
        A copy of ``config``.

    Raises:
        ValueError: a ``name`` that is not a plain folder name.
    """
    import hashlib

    if not isinstance(name, str) or not name or not name.replace("-", "").isalnum():
        raise ValueError(
            f"name={name!r} must be a short plain name of letters, digits and -, "
            "e.g. 'pets'."
        )
    settings = run_settings(
        {**asdict(config), "output_dir": ""},
        data_fingerprint(resolve_source(config.source, config.data_dir)),
    )
    settings["package_version"] = minor_version(settings["package_version"])
    text = json.dumps(settings, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return replace(config, output_dir=str(runs_dir() / f"{name}-{digest}"))


def train_or_load(config: TrainConfig, *, say: bool = True, **kwargs) -> TrainResult:
    """Reuse the finished run in ``config.output_dir`` when it was made by exactly
    these settings, on the same data, by this package's major.minor version;
    otherwise ``train``.

    Re-running a notebook (or opening a chapter that loads another chapter's
    run, see ``in_run_cache``) then costs nothing. A run that was interrupted
    is resumed by ``train``. The result is the same either way (training is
    seeded, and deterministic unless ``config.deterministic`` is off), so it
    does not matter which notebook runs first. A finished run made otherwise
    (other settings, changed data, another version, or one that recorded no
    data) is never reused and never replaced: ``train`` refuses it, after one
    line that says what differs.

    Args:
        config: the settings.
        say: print one line: whether the run was loaded or is being trained.
        **kwargs: passed to ``train`` when it has to train.
    """
    out = Path(config.output_dir)
    data = resolve_source(config.source, config.data_dir)
    if run_state(out) == "finished":
        stored = json.loads((out / RUN_FILES["config"]).read_text())
        changed = differing_settings(stored, _settings(config, data))
        if not changed:
            paths = run_paths(out)
            model = load_run_model(paths["final"])
            test = read_test_scores(paths["test"]) if paths["test"].is_file() else None
            if say:
                print(
                    "Loaded the finished run: trained earlier with these settings, "
                    "on this data."
                )
            return TrainResult(
                _history_dict(paths["history"]),
                [],
                model,
                paths,
                DataInfo(**stored["data"]),
                test,
            )
        print(f"The finished run in {out.name} is not reused: {'; '.join(changed)}.")
    elif say:
        print("No finished run with these settings on this data yet: training it now.")
    return train(config, **kwargs)
