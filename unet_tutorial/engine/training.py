"""Training: one ``train(config)`` that is seeded, resumable and honest about its data.

A run (its files: ``runs.RUN_FILES``) goes ``training`` (each epoch committed by its
backup) -> ``trained`` (``final.keras`` saved) -> ``finished`` (``test.json``
written, the backup deleted). A kill anywhere leaves whole files, and the same
command again completes the cut step without training a finished epoch again."""

from __future__ import annotations

import contextlib
import hashlib
import io
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
from ..files import atomic_write, no_space_error
from ..fit import compile_and_fit, set_seed, shard_by_data, synchronize_batch_norm
from ..model import build_unet
from . import runs
from .config import TrainConfig
from .distribute import (
    chief_decision,
    prepare_multi_worker_fit,
    worker_role,
    worker_scratch_dir,
)
from .loading import DataInfo, load_dataset
from .runs import RunFolderError
from .sources import DataSource, data_fingerprint, resolve_source, runs_dir
from .targets import model_classes, model_input_shape, snapshot_examples, training_pairs


@dataclass
class TrainResult:
    """What ``train`` returns.

    Attributes:
        history: per-epoch metrics of all finished epochs, ``{"loss": [...], ...}``.
        epochs_run: the epochs this call trained.
        model: the trained model (last epoch).
        paths: the run's files (``runs.run_paths``).
        data: the ``DataInfo`` of the training data.
        test: the test-split scores (``None`` if ``evaluate_test`` was off)."""

    history: dict[str, list[float]]
    epochs_run: list[int]
    model: keras.Model
    paths: dict[str, Path]
    data: DataInfo
    test: Evaluation | None = None


def _history_dict(path: Path) -> dict[str, list[float]]:
    rows = runs.read_history(path) if path.exists() else []
    keys = rows[0] if rows else ["epoch"]  # "epoch" first
    return {k: [(int if k == "epoch" else float)(r[k]) for r in rows] for k in keys}


def train(
    config: TrainConfig | None = None,
    *,
    strategy: tf.distribute.Strategy | None = None,
    callbacks: list | None = None,
    verbose: int | str = "auto",
    overwrite: bool = False,
) -> TrainResult:
    """Train a U-Net end to end and return its history and files.

    A killed run resumes from its last finished epoch when started again with the
    same settings; a NaN or infinite loss saves nothing of its epoch.

    Args:
        config: the settings; ``TrainConfig()`` by default.
        strategy: a ``tf.distribute.Strategy``; the default strategy if ``None``.
        callbacks: extra Keras callbacks (a list), or ``None``.
        verbose: Keras' progress display (``"auto"``, 0, 1 or 2).
        overwrite: delete a run already in ``output_dir`` (its files only) first.

    Raises:
        ValueError: a bad setting or ``callbacks``; data without a test split
            while ``evaluate_test`` is on.
        RunFolderError: ``output_dir`` cannot take this run (the message says why).
        TrainingDiverged: the loss became NaN or infinite."""
    config = config or TrainConfig()
    _check_callbacks(callbacks)
    strategy = strategy or tf.distribute.get_strategy()
    # the data source is decided once, before anything is written
    data = resolve_source(config.source, config.data_dir)
    agreement = _Agreement(strategy)
    job = _Job(config, data, strategy, list(callbacks or []), verbose, agreement)
    try:
        out, settings = Path(config.output_dir), _settings(config, data)
        # refuses before anything is written (a worker: what its chief refuses)
        runs.prepare_run_folder(out, settings, overwrite=overwrite, clear=False)
        role = worker_role(strategy)
        if not role.is_chief:
            return _train_as_worker(job, role, overwrite)
        return _train_as_chief(job, settings, overwrite)
    except Exception:
        if not agreement.reached:  # the other workers must not wait for this one
            with contextlib.suppress(Exception):  # the first error is the one to say
                agreement.reach(_TRAIN, refused=True)
        raise


def _check_callbacks(callbacks) -> None:
    """Refuse ``callbacks`` that are not ``None`` or a list of Keras callbacks."""
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise ValueError(
            f"callbacks={callbacks!r} must be a list of Keras callbacks or None, "
            "e.g. callbacks=[keras.callbacks.TerminateOnNaN()]."
        )
    for k, callback in enumerate(callbacks or []):
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(
                f"callbacks[{k}]={callback!r} is not a Keras callback; pass "
                "keras.callbacks.Callback instances, e.g. TerminateOnNaN()."
            )


_TRAIN, _OVER = 1, 2  # what every worker does, as the chief decided: train, or complete


class _Agreement:
    """The one point where a cluster's workers take the chief's decision."""

    def __init__(self, strategy):
        self.strategy, self.reached = strategy, False

    def reach(self, decision: int, *, refused: bool = False) -> int:
        """The chief's decision; ``RunFolderError`` when another worker refused."""
        self.reached = True
        chief, refusals = chief_decision(self.strategy, decision, refused=refused)
        if refusals and not refused:
            raise RunFolderError(
                f"{refusals} other worker(s) of the cluster could not start this run "
                "(their output says why); nothing was trained. Fix that and start "
                "the same command on every worker again."
            )
        return chief or decision


@dataclass(frozen=True)
class _Job:
    """One call of ``train``: what each of its steps needs."""

    config: TrainConfig
    data: DataSource
    strategy: tf.distribute.Strategy
    callbacks: list
    verbose: int | str
    agreement: _Agreement


def _train_as_chief(job: _Job, settings: dict, overwrite: bool) -> TrainResult:
    """The chief (or the only process): it writes the run folder, under its lock."""
    out = Path(job.config.output_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with runs.RunLock(out):
            # again, now that no other training can write here (--overwrite clears)
            runs.prepare_run_folder(out, settings, overwrite=overwrite)
            return _train_locked(job, out)
    finally:
        if created and not any(out.iterdir()):  # refused before it wrote a file
            out.rmdir()


def _train_as_worker(job: _Job, role, overwrite: bool) -> TrainResult:
    """A non-chief worker: trains into its scratch folder from the chief's backup."""
    out = Path(job.config.output_dir)
    chief, scratch = runs.run_paths(out), worker_scratch_dir(out, role)
    shutil.rmtree(scratch, ignore_errors=True)  # left by a crash
    scratch.mkdir(parents=True)
    resume = not overwrite and chief["backup"].exists()
    if resume and chief["history"].is_file():  # the same best-so-far as the chief
        shutil.copyfile(chief["history"], runs.run_paths(scratch)["history"])
    own = replace(job.config, output_dir=str(scratch), evaluate_test=False)
    with runs.RunLock(scratch):
        resume_from = out if resume else None
        result = _train_locked(replace(job, config=own), scratch, resume_from, out)
    shutil.rmtree(scratch)
    return replace(result, paths=chief, test=None)


def _settings(config: TrainConfig, data) -> dict:
    """What a run folder records of ``config`` and of the data it trains on."""
    return runs.run_settings(asdict(config), data_fingerprint(data))


FREE_SPACE_MARGIN = 1 << 20
"""Bytes a backup leaves free beyond its weights file (the metadata, the folder)."""


def _weights_file_bytes(model: keras.Model) -> bytes:
    """The bytes of ``model.save_weights``'s file, made in memory: h5py writing to a
    full disk can crash the process, a Python write cannot."""
    try:
        from keras.src.saving import saving_lib

        buffer = io.BytesIO()
        store = saving_lib.H5IOStore(buffer, mode="w")
        saving_lib._save_state(model, store, None, "", set())
        store.close()
        return buffer.getvalue()
    except (ImportError, AttributeError, TypeError):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "backup.weights.h5"
            model.save_weights(path)
            return path.read_bytes()


class _SafeBackup(keras.callbacks.BackupAndRestore):
    """Keras' ``BackupAndRestore(double_checkpoint=True)`` that survives a kill at any
    save and a damaged backup.

    Own code, as Keras writes in place and falls back to its ``.bkp`` copy only on
    ``OSError``: here each file is atomic, the metadata holds the weights' CRC-32,
    and all damage raises ``OSError``. With both copies damaged, training resumes
    after ``best.keras``'s epoch, else at 0. ``restore_from``: a chief's backup."""

    def __init__(self, backup_dir, restore_from=None, run_folder=None):
        super().__init__(
            str(backup_dir), double_checkpoint=True, delete_checkpoint=False
        )
        self.restore_from = restore_from
        self.run_folder = run_folder or Path(backup_dir).parent
        self._damage: str | None = None

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = _weights_file_bytes(self.model)
        latest = Path(self._weights_path)
        if shutil.disk_usage(latest.parent).free < len(weights) + FREE_SPACE_MARGIN:
            raise no_space_error(latest)
        # the old pair is copied to .bkp first: a kill between the files leaves
        # one pair whose checksum does not match and the other one whole
        pairs = (
            (self._weights_path, self._prev_weights_path),
            (self._training_metadata_path, self._prev_training_metadata_path),
        )
        if all(os.path.exists(now) for now, _ in pairs):
            for now, previous in pairs:
                runs.atomic_copy(now, previous)
        atomic_write(latest, lambda part: part.write_bytes(weights))
        meta = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        meta["weights_crc32"] = zlib.crc32(weights)
        runs.atomic_write_text(self._training_metadata_path, json.dumps(meta))

    def _load_model(self):
        weights, meta = Path(self._weights_path), Path(self._training_metadata_path)
        if not weights.exists() and not meta.exists():
            return  # nothing backed up yet: epoch 0
        try:
            crc = json.loads(meta.read_text())["weights_crc32"]
            if zlib.crc32(weights.read_bytes()) != crc:
                raise ValueError(f"{weights.name} does not match its checksum")
            super()._load_model()
        # h5py raises RuntimeError (e.g. "wrong B-tree signature") or OSError
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
            what = f"{self.backup_dir}: {type(err).__name__}: {err}"
            self._damage = self._damage or what
            raise OSError(self._damage) from err

    def on_train_begin(self, logs=None):
        if self.restore_from is not None and Path(self.restore_from).is_dir():
            # a worker: from a copy of the chief's backup, which it never changes
            shutil.copytree(self.restore_from, self.backup_dir, dirs_exist_ok=True)
        try:
            super().on_train_begin(logs)  # the latest copy, else the previous one
        except OSError:
            self._restart()
            return
        if self._damage:
            print(
                f"NOTE: the latest backup was damaged or incomplete ({self._damage}); "
                "resuming from the epoch before it."
            )

    def _restart(self) -> None:
        """Both copies are damaged: resume after ``best.keras``'s epoch, else at 0."""
        shutil.rmtree(self.backup_dir, ignore_errors=True)  # the next save makes it
        epoch = self._restore_best()
        self.model._initial_epoch = 0 if epoch is None else epoch + 1
        then = "no earlier copy is readable; starting again at epoch 0"
        if epoch is not None:
            then = f"so was its previous copy; resuming after epoch {epoch}, the last "
            then += "one whose whole model was kept (best.keras)"
        print(
            f"NOTE: the backup was damaged or incomplete ({self._damage}) and {then}."
        )

    def _restore_best(self) -> int | None:
        """Load ``best.keras`` (weights and optimizer); its epoch, else ``None``."""
        record = (runs.read_state(self.run_folder) or {}).get("best") or {}
        epoch, best = record.get("epoch"), runs.run_paths(self.run_folder)["best"]
        if not isinstance(epoch, int) or not best.is_file():
            return None
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(str(best))
        except (OSError, ValueError, KeyError, RuntimeError):
            return None
        return epoch


class _BestCheckpoint(keras.callbacks.Callback):
    """Keep ``best.keras`` (the epoch with the best validation mean IoU) and its
    epoch and score in ``state.json``; runs after the backup has committed the epoch."""

    monitor = "val_mean_iou"

    def __init__(self, folder: Path, collective: bool = False):
        super().__init__()
        self.folder, self.collective = folder, collective
        self.paths = runs.run_paths(folder)
        self.best: float | None = None

    def on_train_begin(self, logs=None):
        self.best = self._reconcile(getattr(self.model, "_initial_epoch", None) or 0)

    def on_epoch_end(self, epoch, logs=None):
        score = float((logs or {}).get(self.monitor, "nan"))
        if np.isfinite(score) and (self.best is None or score > self.best):
            self._save(epoch, score)

    def _save(self, epoch: int, score: float) -> None:
        runs.save_model_atomic(self.model, self.paths["best"])
        runs.write_state(self.folder, best={"epoch": epoch, self.monitor: score})
        self.best = score

    def _reconcile(self, start: int) -> float | None:
        """The best score before epoch ``start``; ``best.keras`` made to hold that
        epoch's model, or removed (never the model of an epoch trained again)."""
        best, history = self.paths["best"], self.paths["history"]
        scores = {}
        for row in runs.read_history(history) if history.is_file() else []:
            epoch, score = int(row["epoch"]), float(row.get(self.monitor) or "nan")
            if epoch < start and np.isfinite(score):
                scores[epoch] = score
        if not scores:
            best.unlink(missing_ok=True)  # an epoch that will be trained again
            return None
        top = min(scores, key=lambda e: (-scores[e], e))  # the first of the best
        record = (runs.read_state(self.folder) or {}).get("best") or {}
        kept = best.is_file() and record.get("epoch") == top
        if top == start - 1 and (self.collective or not kept):
            # the model restored from the backup is that epoch's; several workers
            # all save it (a collective step), deciding from the history alone
            self._save(top, scores[top])
        elif not kept and best.exists():
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
    """Run ``inner`` only while ``guard`` has seen no NaN: NaN weights are not saved."""

    def __init__(self, inner: keras.callbacks.Callback, guard: _NaNGuard):
        super().__init__()
        self.inner, self.guard = inner, guard

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)


def _forward_unless_diverged(hook: str):
    """The ``_UnlessDiverged`` method ``hook``: ``inner``'s, unless diverged."""

    def forward(self, *args, **kwargs):
        if self.guard.at is None:
            getattr(self.inner, hook)(*args, **kwargs)

    return forward


for _hook in ("train", "epoch", "train_batch"):
    for _when in ("begin", "end"):
        _name = f"on_{_hook}_{_when}"
        setattr(_UnlessDiverged, _name, _forward_unless_diverged(_name))


@dataclass(frozen=True)
class _FitData:
    """The datasets ``_fit`` trains on, and what they hold."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    shown: tf.data.Dataset  # the examples whose predictions are kept each epoch
    info: DataInfo
    validation_info: DataInfo


def _load_split(config: TrainConfig, data: DataSource, split: str, **kwargs):
    """``load_dataset`` of one split, with ``config``'s size and options."""
    index = ("train", "validation", "test").index(split)
    return load_dataset(
        data,
        split,
        image_size=config.image_size,
        batch_size=config.batch_size,
        num_examples=(config.num_examples or (None,) * 3)[index],
        on_corrupt=config.on_corrupt,
        **config.folder_options(),
        **kwargs,
    )


def _load_fit_data(config: TrainConfig, data: DataSource) -> _FitData:
    """The training and validation splits as ``fit`` takes them."""
    augment, seed = config.augment_config(), config.seed
    train_ds, info = _load_split(config, data, "train", augment=augment, seed=seed)
    if config.evaluate_test and not info.has_test:  # refused before any training
        raise ValueError(
            f"the folder {Path(info.source).name} has no test split; train with "
            "evaluate_test=False (--no-test)."
        )
    val_ds, val_info = _load_split(config, data, "validation", seed=seed, verbose=False)
    model_classes(config, info)
    train_ds, pairs = training_pairs(config, train_ds, val_ds)
    # an unpadded model's tiles (and the squares they predict), else whole images
    shown = pairs if config.padding == "valid" else val_ds
    if config.steps_per_epoch:
        train_ds = train_ds.repeat()
    return _FitData(
        shard_by_data(train_ds), shard_by_data(pairs), shown, info, val_info
    )


def _train_locked(
    job: _Job, out: Path, resume_from: Path | None = None, chief: Path | None = None
) -> TrainResult:
    """Train into ``out`` (the run or a worker's scratch folder), or complete a run
    whose training is over; ``chief`` is a worker's chief's run folder."""
    config = job.config
    set_seed(config.seed, config.deterministic)
    previous_policy = keras.mixed_precision.global_policy().name
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        fit_data = _load_fit_data(config, job.data)
        paths = runs.run_paths(out)
        runs.remove_partial_files(out)
        settings = {**_settings(config, job.data), "data": asdict(fit_data.info)}
        settings["validation"] = asdict(fit_data.validation_info)
        settings["replicas"] = job.strategy.num_replicas_in_sync
        # config.json first, and whole: the folder reads as this run from now on
        runs.atomic_write_text(paths["config"], json.dumps(settings, indent=2))
        state = (runs.read_state(out) or {}).get("state", "training")
        runs.write_state(out, state=state, settings=settings)
        epochs, model = [], _trained_model(paths)
        # the chief's decision, on every worker: a worker that trained while the
        # chief completes the run would wait for it in vain
        decision = job.agreement.reach(_TRAIN if model is None else _OVER)
        if decision == _OVER and model is None:  # a worker: the chief's model
            model = runs.load_run_model(runs.run_paths(chief or out)["final"])
        if decision == _TRAIN:
            model, epochs = _fit(job, fit_data, out, resume_from)
            runs.save_model_atomic(model, paths["final"])
            runs.write_state(out, state="trained")
        test = None
        if config.evaluate_test:
            kept = decision == _OVER and runs.is_whole_test_file(paths["test"])
            test = read_test_scores(paths["test"]) if kept else _score_test(job, paths)
        # the backup goes before the run is marked finished: a kill between leaves
        # a run whose rerun only writes state.json
        shutil.rmtree(paths["backup"], ignore_errors=True)
        runs.write_state(out, state="finished")
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    history = _history_dict(paths["history"])
    return TrainResult(history, epochs, model, paths, fit_data.info, test)


def _trained_model(paths: dict[str, Path]) -> keras.Model | None:
    """The model of ``final.keras`` when training is over, else ``None``; a damaged
    one is removed (the backup makes it again)."""
    if not paths["final"].exists():
        return None
    try:
        model = runs.load_run_model(paths["final"])
    except ValueError as err:
        paths["final"].unlink()
        print(f"NOTE: {err} It is removed and made again from the last epoch's backup.")
        return None
    print(
        f"NOTE: training of {paths['final'].parent} was over (final.keras); completing "
        "the run without training again."
    )
    return model


def _fit(
    job: _Job, data: _FitData, out: Path, resume_from: Path | None
) -> tuple[keras.Model, list[int]]:
    """Build the model and train (or resume) it; the model and the epochs trained."""
    config, strategy, paths = job.config, job.strategy, runs.run_paths(out)
    with strategy.scope():
        model = build_unet(
            model_input_shape(config, data.info),
            data.info.num_classes,
            config.base_filters,
            config.depth,
            config.padding,
            skip_connections=config.skip_connections,
            dropout=config.dropout,
        )
        if strategy.num_replicas_in_sync > 1:
            synchronize_batch_norm(model)  # every replica keeps the same statistics
    prepare_multi_worker_fit(model, strategy, data.train.element_spec)
    guard = _NaNGuard()
    cbs = [guard, runs.EpochCSVLogger(paths["history"])]  # a NaN epoch is logged too
    if config.snapshot_images:
        images, masks = snapshot_examples(data.shown, config.snapshot_images)
        snapshots = runs.PredictionSnapshots(images, masks, paths["snapshots"])
        cbs.append(_UnlessDiverged(snapshots, guard))
    # the backup commits an epoch: everything above is written before it, and
    # best.keras only after it (so that best.keras always holds a finished epoch)
    restore_from = runs.run_paths(resume_from)["backup"] if resume_from else None
    backup = _SafeBackup(paths["backup"], restore_from, run_folder=resume_from or out)
    best = _BestCheckpoint(out, collective=worker_role(strategy).num_workers > 1)
    cbs += [_UnlessDiverged(backup, guard), _UnlessDiverged(best, guard)]
    with strategy.scope():  # the optimizer's variables live on every replica
        history = compile_and_fit(
            model,
            data.train,
            data.validation,
            config.fit_config(),
            cbs + job.callbacks,
            job.verbose,
            data.info.class_names,
        )
    if guard.at is not None:
        epoch, batch = guard.at
        kept = f"{paths['best']} (the best epoch before it) is kept"
        if not paths["best"].is_file():
            kept = "no checkpoint had been saved yet"
        raise TrainingDiverged(
            f"the loss became NaN or infinite at epoch {epoch}, batch {batch}; "
            f"training stopped. {kept}; final.keras was not written. Lower the "
            f"learning rate (now {config.learning_rate:g}) or check the data, then "
            "train again with --overwrite (train(..., overwrite=True))."
        )
    return model, history.epoch


def _score_test(job: _Job, paths: dict[str, Path]) -> Evaluation:
    """Score the chosen checkpoint on the test split, once, and write ``test.json``."""
    test_ds, test_info = _load_split(job.config, job.data, "test", verbose=False)
    which = job.config.tested_checkpoint()
    which = which if paths[which].is_file() else "final"
    model = runs.load_run_model(paths[which])
    ev = evaluate(model, test_ds, test_info.class_names)  # overlap-tile if unpadded
    record = {"model": which, "data": asdict(test_info), **asdict(ev)}
    runs.atomic_write_text(paths["test"], json.dumps(record, indent=2))
    return ev


def read_test_scores(path: str | os.PathLike) -> Evaluation:
    """The ``Evaluation`` stored in a run's ``test.json``."""
    stored = json.loads(Path(path).read_text())
    return Evaluation(**{k: stored[k] for k in Evaluation.__dataclass_fields__})


def in_run_cache(config: TrainConfig, name: str = "unet") -> TrainConfig:
    """A copy of ``config`` whose ``output_dir`` is ``runs_dir() / f"{name}-{digest}"``.

    The digest covers every setting but ``output_dir``, the data's fingerprint and
    the package's major.minor version: the same run on the same data, one folder.
    ``ValueError`` for a ``name`` that is not a plain folder name (e.g. ``"pets"``)."""
    if not isinstance(name, str) or not name or not name.replace("-", "").isalnum():
        raise ValueError(
            f"name={name!r} must be a short plain name of letters, digits and -, "
            "e.g. 'pets'."
        )
    data = resolve_source(config.source, config.data_dir)
    settings = {**_settings(config, data), "output_dir": ""}
    settings["package_version"] = runs.minor_version(settings["package_version"])
    text = json.dumps(settings, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return replace(config, output_dir=str(runs_dir() / f"{name}-{digest}"))


def train_or_load(config: TrainConfig, *, say: bool = True, **kwargs) -> TrainResult:
    """Reuse the finished run in ``config.output_dir`` when it was made by exactly
    these settings, on the same data, by this package's major.minor version;
    otherwise ``train`` (which refuses a finished run made otherwise).

    ``say`` prints whether the run was loaded or is being trained; ``kwargs`` go to
    ``train``."""
    out = Path(config.output_dir)
    data = resolve_source(config.source, config.data_dir)
    if runs.run_state(out) == "finished":
        stored = json.loads((out / runs.RUN_FILES["config"]).read_text())
        changed = runs.differing_settings(stored, _settings(config, data))
        if not changed:
            paths = runs.run_paths(out)
            model = runs.load_run_model(paths["final"])
            test = read_test_scores(paths["test"]) if paths["test"].is_file() else None
            if say:
                print(
                    "Loaded the finished run: trained earlier with these settings, "
                    "on this data."
                )
            history = _history_dict(paths["history"])
            info = DataInfo(**stored["data"])
            return TrainResult(history, [], model, paths, info, test)
        print(f"The finished run in {out.name} is not reused: {'; '.join(changed)}.")
    elif say:
        print("No finished run with these settings on this data yet: training it now.")
    return train(config, **kwargs)
