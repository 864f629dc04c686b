"""The run folder: what ``train`` writes (history, snapshots), and how a folder is
checked, locked and loaded.

One training run owns one folder::

    config.json    the settings (TrainConfig) and the data it saw; written first
    history.csv    one row per finished epoch
    best.keras     the checkpoint with the best validation mean IoU
    final.keras    the model after the last epoch: its presence means "finished"
    test.json      the test split, scored once, after training
    snapshots/     predictions on a fixed validation batch, per epoch
    backup/        Keras' BackupAndRestore state while the run is unfinished
    run.lock       present while a training writes to the folder

Rules that keep a run from being lost or mixed with another:

* a folder that holds other files than these (hidden files aside) is
  **foreign** and refused;
* a **finished** run is never changed, unless ``overwrite`` is asked for;
* an **unfinished** run resumes only with the same settings;
* one training at a time writes to a folder (``run.lock``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
from pathlib import Path

import keras
import numpy as np

RUN_FILES = {
    "config": "config.json",
    "history": "history.csv",
    "best": "best.keras",
    "final": "final.keras",
    "test": "test.json",
    "snapshots": "snapshots",
    "backup": "backup",
    "lock": "run.lock",
}
"""The names ``train`` writes in a run folder (see the module docstring)."""


def run_paths(folder: str | os.PathLike) -> dict[str, Path]:
    """``{key: folder / name}`` of the files a run leaves behind (``RUN_FILES`` without
    the lock).
    """
    folder = Path(folder)
    return {k: folder / v for k, v in RUN_FILES.items() if k != "lock"}


class EpochCSVLogger(keras.callbacks.Callback):
    """Append one CSV row per finished epoch; on resume, drop rows of epochs that will
    rerun.

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
        # written aside and renamed: a reader (another worker) sees the old file or the
        # new one, never half
        # hidden: never makes the folder foreign
        part = self.path.with_name(f".{self.path.name}.part")
        with open(part, "w", newline="") as f:
            if fields:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows(rows)
        os.replace(part, self.path)


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``history.csv``: ``[{"epoch": "0", "loss": "...", ...}, ...]``.

    A last row cut short (a kill while it was being written) is left out.
    """
    with open(path, newline="") as f:
        return [
            row
            for row in csv.DictReader(f)
            if None not in row.values() and None not in row
        ]


class PredictionSnapshots(keras.callbacks.Callback):
    """Keep the predicted masks on a fixed validation batch after every epoch.

    Writes ``reference.npz`` (``images``, ``masks``) once and
    ``epoch_NNN.npz`` (``pred``: ``uint8 (n, H, W)``) per epoch; the training
    animation reads them with ``load_snapshots``.
    """

    def __init__(
        self, images: np.ndarray, masks: np.ndarray, directory: str | os.PathLike
    ):
        super().__init__()
        self.images = np.asarray(images, np.float32)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            self.directory / "reference.npz",
            images=self.images,
            masks=np.asarray(masks, np.uint8),
        )

    def on_train_begin(self, logs=None):
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        # drop snapshots of epochs that this run will (re)compute, e.g. from an older
        # run
        if self._first:
            self._first = False
            for old in self.directory.glob("epoch_*.npz"):
                if int(old.stem.split("_")[1]) >= epoch:
                    old.unlink()

    def on_epoch_end(self, epoch, logs=None):
        logits = self.model.predict(self.images, verbose=0)
        pred = np.argmax(logits, axis=-1).astype(np.uint8)
        np.savez_compressed(self.directory / f"epoch_{epoch:03d}.npz", pred=pred)


def load_snapshots(
    directory: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(images, true masks, [predictions of epoch 0, 1, ...])`` from a snapshots
    folder.
    """
    directory = Path(directory)
    ref_path = directory / "reference.npz"
    if not ref_path.is_file():
        raise FileNotFoundError(
            f"{ref_path} is missing; train() with snapshot_images > 0 writes it."
        )
    ref = np.load(ref_path)
    preds = [np.load(p)["pred"] for p in sorted(directory.glob("epoch_*.npz"))]
    return ref["images"], ref["masks"], preds


class RunFolderError(ValueError):
    """A run folder cannot be used as asked: the message says why and what to do."""


def run_state(folder: str | os.PathLike) -> str:
    """What a folder holds: ``"empty"``, ``"finished"``, ``"unfinished"`` or
    ``"foreign"``.

    ``"empty"`` also covers a folder that does not exist yet. A folder is
    ``"foreign"`` when it holds a file that is not part of a run, or a
    ``config.json`` that this package did not write.
    """
    folder = Path(folder)
    if not folder.exists():
        return "empty"
    if not folder.is_dir():
        return "foreign"
    # the lock alone is no run; hidden files (.DS_Store, .ipynb_checkpoints) are
    # nobody's work
    names = {p.name for p in folder.iterdir() if not p.name.startswith(".")} - {
        RUN_FILES["lock"]
    }
    if not names:
        return "empty"
    if names - set(RUN_FILES.values()) or "config.json" not in names:
        return "foreign"
    try:
        stored = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return "foreign"
    if (
        not isinstance(stored, dict)
        or not {"base_filters", "image_size", "epochs"} <= stored.keys()
    ):
        return "foreign"
    if "final.keras" in names and "backup" not in names:
        return "finished"
    return "unfinished"


def differing_settings(stored: dict, settings: dict) -> list[str]:
    """``"name: old -> new"`` for every setting in ``settings`` whose stored value
    differs.
    """
    # tuples become lists, as in the stored JSON
    fresh = json.loads(json.dumps(settings))
    return [
        f"{k}: {stored.get(k)!r} -> {v!r}"
        for k, v in fresh.items()
        if k != "output_dir" and stored.get(k) != v
    ]


def prepare_run_folder(
    folder: str | os.PathLike,
    settings: dict,
    *,
    overwrite: bool = False,
    clear: bool = True,
) -> str:
    """Check that a training with ``settings`` may write to ``folder``; clear it if
    ``overwrite``.

    Args:
        folder: the run folder (``TrainConfig.output_dir``).
        settings: the run's settings (``dataclasses.asdict(config)``).
        overwrite: delete a finished or unfinished run found there (only the
            run's own files) and start again.
        clear: with ``overwrite``, whether to delete those files here;
            ``False`` only checks (a non-chief worker, whose chief clears).

    Returns:
        ``"new"`` or ``"resume"`` (an unfinished run with the same settings).

    Raises:
        RunFolderError: a foreign folder; a finished run without
            ``overwrite``; an unfinished run with other settings.
    """
    folder = Path(folder)
    state = run_state(folder)
    if state == "foreign":
        if not folder.is_dir():
            raise RunFolderError(
                f"{folder} is a file, not a folder; name a new folder for the run."
            )
        others = sorted(
            p.name
            for p in folder.iterdir()
            if p.name not in RUN_FILES.values() and not p.name.startswith(".")
        )
        if not others and not (folder / RUN_FILES["config"]).is_file():
            others = ["no config.json"]
        what = (
            f"files that are not part of a run ({', '.join(others[:5])})"
            if others
            else "a config.json that unet-tutorial did not write"
        )
        raise RunFolderError(
            f"{folder} holds {what}; a run would overwrite or mix with them. Name a "
            "new or empty folder (--output / TrainConfig.output_dir)."
        )
    if state == "empty":
        return "new"
    if overwrite:
        if clear:
            clear_run(folder)
        return "new"
    stored = json.loads((folder / RUN_FILES["config"]).read_text())
    if state == "finished":
        raise RunFolderError(
            f"{folder} holds a finished run ({stored.get('epochs')} epochs, "
            "final.keras); it is left as it is. Name another folder, or pass "
            "--overwrite (train(..., overwrite=True)) to train it again from scratch."
        )
    changed = differing_settings(stored, settings)
    if changed:
        raise RunFolderError(
            f"{folder} holds an unfinished run with other settings "
            f"({'; '.join(changed)}). Run with its settings to resume it, name another "
            "folder, or pass --overwrite to start again."
        )
    return "resume"


def clear_run(folder: str | os.PathLike) -> None:
    """Delete the run files in ``folder`` (and nothing else)."""
    folder = Path(folder)
    # config.json last: until it goes, a half-cleared folder still reads as a run, never
    # as foreign
    for name in sorted(RUN_FILES.values(), key=lambda n: n == RUN_FILES["config"]):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


class RunLock:
    """``with RunLock(folder):`` one training at a time writes to a run folder.

    The lock is the file ``run.lock`` (host and process id), created
    atomically. A lock left by a process that no longer runs on this machine
    is taken over, with a notice.
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / RUN_FILES["lock"]

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = f"{socket.gethostname()} {os.getpid()}"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self._holder()
                if holder is None:  # stale: its process is gone
                    print(
                        f"NOTE: removed a stale lock {self.path} (its training is no "
                        "longer running)."
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                raise RunFolderError(
                    f"another training ({holder}) is writing to {self.path.parent}; "
                    f"wait for it to finish, or delete {self.path} if no training runs "
                    "there."
                ) from None
            with os.fdopen(fd, "w") as f:
                f.write(me)
            return self
        raise RunFolderError(
            f"could not take the lock {self.path}; delete it if no training runs there."
        )

    def _holder(self) -> str | None:
        """``"host pid N"`` of a live holder, or ``None`` when the lock is stale."""
        try:
            host, pid = self.path.read_text().split()
            pid = int(pid)
        except (OSError, ValueError):
            return None  # unreadable or half written: treat as stale
        if host != socket.gethostname():
            # cannot check another machine: assume it is alive
            return f"host {host}, pid {pid}"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # exists, owned by someone else
        return f"pid {pid}"

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def load_run_model(path: str | os.PathLike):
    """Load a ``.keras`` model written by ``train`` (registers the package's losses and
    metrics).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a folder, or a file that is not a loadable ``.keras`` model.
    """
    from .. import losses, metrics  # noqa: F401  (registers the custom objects)

    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{path} is a directory; name a .keras file in it (e.g. "
            f"{path / 'best.keras'})."
        )
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as err:  # Keras raises several kinds for a damaged or foreign file
        raise ValueError(
            f"{path} is not a loadable .keras model ({type(err).__name__}: {err})."
        ) from err
